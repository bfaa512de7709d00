//! What reports read: the history a region brought along (imported once, idempotent by its
//! reference, all or nothing), and the figures of live actions, enquiries and participants.
//! Counts only: no texts, no people.

use crate::{Store, StoreError};
use buurtnet_domain::{Channel, ChannelSet};
use sqlx::FromRow;

/// One action of a region's history.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct HistoryAction {
    pub reference: String,
    pub region: String,
    pub municipality: String,
    pub kind: String,
    pub level: String,
    pub sent_at: i64,
    pub closed_at: Option<i64>,
    pub recipients: i64,
    pub outcome: Option<String>,
}

/// One neighbourhood enquiry of a region's history.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct HistoryEnquiry {
    pub reference: String,
    pub municipality: String,
    pub incident_type: String,
    pub occurred_at: i64,
    pub sent_at: i64,
    pub recipients: i64,
    pub replies: i64,
    pub relevant_replies: i64,
}

/// An action sent for real (not an exercise or test), as reports see it.
#[derive(Debug, Clone, FromRow)]
pub struct ReportedAction {
    pub id: i64,
    pub kind: String,
    pub level: String,
    pub state: String,
    pub area: String,
    pub outcome: Option<String>,
    pub created_at: i64,
    pub sent_at: i64,
    pub closed_at: Option<i64>,
}

/// The deliveries of an action's first message on one channel.
#[derive(Debug, Clone, FromRow)]
pub struct ActionChannelCount {
    pub action_id: i64,
    pub channel: String,
    pub total: i64,
    pub delivered: i64,
}

/// Participants in one area: all of them, and those on each channel.
#[derive(Debug, Clone, Default, PartialEq, FromRow)]
pub struct AreaParticipants {
    pub code: String,
    pub participants: i64,
    pub push: i64,
    pub sms: i64,
    pub voice: i64,
    pub email: i64,
}

/// The level of the address column coverage counts are grouped or filtered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverageLevel {
    Neighbourhood,
    District,
    Municipality,
    SafetyRegion,
    PoliceUnit,
    Province,
}

impl CoverageLevel {
    fn column(self) -> &'static str {
        match self {
            CoverageLevel::Neighbourhood => "neighbourhood_code",
            CoverageLevel::District => "district_code",
            CoverageLevel::Municipality => "municipality_code",
            CoverageLevel::SafetyRegion => "safety_region_code",
            CoverageLevel::PoliceUnit => "police_unit_code",
            CoverageLevel::Province => "province_code",
        }
    }
}

const PER_CHANNEL: &str = "COUNT(DISTINCT a.participant_id) AS participants,
    COUNT(DISTINCT CASE WHEN (a.channels & $2) <> 0 THEN a.participant_id END) AS push,
    COUNT(DISTINCT CASE WHEN (a.channels & $3) <> 0 THEN a.participant_id END) AS sms,
    COUNT(DISTINCT CASE WHEN (a.channels & $4) <> 0 THEN a.participant_id END) AS voice,
    COUNT(DISTINCT CASE WHEN (a.channels & $5) <> 0 THEN a.participant_id END) AS email";

fn bit(c: Channel) -> i64 {
    std::iter::once(c).collect::<ChannelSet>().bits()
}

/// How an import went: new references and replaced ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryImported {
    pub added: u64,
    pub replaced: u64,
}

impl Store {
    /// Stores history actions in one transaction: a reference seen before is replaced.
    pub async fn import_history_actions(&self, rows: &[HistoryAction], now: i64) -> Result<HistoryImported, StoreError> {
        Ok(with_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                let mut out = HistoryImported::default();
                for r in rows {
                    let existed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM history_actions WHERE reference = $1")
                        .bind(&r.reference)
                        .fetch_one(&mut *tx)
                        .await?;
                    sqlx::query(
                        "INSERT INTO history_actions (reference, region, municipality, kind, level, sent_at, closed_at, recipients, outcome, imported_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                         ON CONFLICT (reference) DO UPDATE SET region = excluded.region, municipality = excluded.municipality,
                           kind = excluded.kind, level = excluded.level, sent_at = excluded.sent_at, closed_at = excluded.closed_at,
                           recipients = excluded.recipients, outcome = excluded.outcome, imported_at = excluded.imported_at",
                    )
                    .bind(&r.reference)
                    .bind(&r.region)
                    .bind(&r.municipality)
                    .bind(&r.kind)
                    .bind(&r.level)
                    .bind(r.sent_at)
                    .bind(r.closed_at)
                    .bind(r.recipients)
                    .bind(&r.outcome)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    if existed > 0 {
                        out.replaced += 1;
                    } else {
                        out.added += 1;
                    }
                }
                tx.commit().await?;
                Ok::<_, sqlx::Error>(out)
            }
            .await
        })?)
    }

    /// Stores history enquiries in one transaction: a reference seen before is replaced.
    pub async fn import_history_enquiries(&self, rows: &[HistoryEnquiry], now: i64) -> Result<HistoryImported, StoreError> {
        Ok(with_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                let mut out = HistoryImported::default();
                for r in rows {
                    let existed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM history_enquiries WHERE reference = $1")
                        .bind(&r.reference)
                        .fetch_one(&mut *tx)
                        .await?;
                    sqlx::query(
                        "INSERT INTO history_enquiries (reference, municipality, incident_type, occurred_at, sent_at, recipients, replies, relevant_replies, imported_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                         ON CONFLICT (reference) DO UPDATE SET municipality = excluded.municipality,
                           incident_type = excluded.incident_type, occurred_at = excluded.occurred_at, sent_at = excluded.sent_at,
                           recipients = excluded.recipients, replies = excluded.replies,
                           relevant_replies = excluded.relevant_replies, imported_at = excluded.imported_at",
                    )
                    .bind(&r.reference)
                    .bind(&r.municipality)
                    .bind(&r.incident_type)
                    .bind(r.occurred_at)
                    .bind(r.sent_at)
                    .bind(r.recipients)
                    .bind(r.replies)
                    .bind(r.relevant_replies)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    if existed > 0 {
                        out.replaced += 1;
                    } else {
                        out.added += 1;
                    }
                }
                tx.commit().await?;
                Ok::<_, sqlx::Error>(out)
            }
            .await
        })?)
    }

    /// History actions sent in `[from, to)`.
    pub async fn history_actions(&self, from: i64, to: i64) -> Result<Vec<HistoryAction>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT reference, region, municipality, kind, level, sent_at, closed_at, recipients, outcome
                 FROM history_actions WHERE sent_at >= $1 AND sent_at < $2 ORDER BY sent_at",
            )
            .bind(from)
            .bind(to)
            .fetch_all(p)
            .await
        })?)
    }

    /// History enquiries sent in `[from, to)`.
    pub async fn history_enquiries(&self, from: i64, to: i64) -> Result<Vec<HistoryEnquiry>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT reference, municipality, incident_type, occurred_at, sent_at, recipients, replies, relevant_replies
                 FROM history_enquiries WHERE sent_at >= $1 AND sent_at < $2 ORDER BY sent_at",
            )
            .bind(from)
            .bind(to)
            .fetch_all(p)
            .await
        })?)
    }

    /// Actions sent for real in `[from, to)` (exercises and tests are no figures).
    pub async fn reported_actions(&self, from: i64, to: i64) -> Result<Vec<ReportedAction>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT id, kind, level, state, area, outcome, created_at, sent_at, closed_at FROM actions
                 WHERE status = 'actual' AND sent_at IS NOT NULL AND sent_at >= $1 AND sent_at < $2 ORDER BY sent_at",
            )
            .bind(from)
            .bind(to)
            .fetch_all(p)
            .await
        })?)
    }

    /// Per action sent for real in `[from, to)` and channel: its first message's deliveries, and
    /// those that reached the provider or were confirmed.
    pub async fn reported_action_channels(&self, from: i64, to: i64) -> Result<Vec<ActionChannelCount>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT a.id AS action_id, d.channel, COUNT(*) AS total,
                    SUM(CASE WHEN d.state IN ('sent', 'delivered') THEN 1 ELSE 0 END) AS delivered
                 FROM actions a JOIN deliveries d ON d.message_id = a.first_message_id
                 WHERE a.status = 'actual' AND a.sent_at IS NOT NULL AND a.sent_at >= $1 AND a.sent_at < $2
                 GROUP BY a.id, d.channel",
            )
            .bind(from)
            .bind(to)
            .fetch_all(p)
            .await
        })?)
    }

    /// Participants (not paused) per area of one level, in one municipality or the whole
    /// country, with those on each channel (an address's channels). A participant with two
    /// addresses in one area counts once.
    pub async fn participants_per_area(
        &self,
        level: CoverageLevel,
        municipality: Option<&str>,
    ) -> Result<Vec<AreaParticipants>, StoreError> {
        let col = level.column();
        let sql = format!(
            "SELECT a.{col} AS code, {PER_CHANNEL}
             FROM addresses a JOIN participants p ON p.id = a.participant_id
             WHERE NOT p.paused AND a.{col} IS NOT NULL AND ($1 = '' OR a.municipality_code = $1)
             GROUP BY a.{col}"
        );
        let gm = municipality.unwrap_or("");
        Ok(with_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(gm)
                .bind(bit(Channel::Push))
                .bind(bit(Channel::Sms))
                .bind(bit(Channel::Voice))
                .bind(bit(Channel::Email))
                .fetch_all(p)
                .await
        })?)
    }
}

impl Store {
    /// Participants (not paused) with an address in one area (`None`: the whole country), each
    /// once, with those on each channel.
    pub async fn participants_within(&self, area: Option<(CoverageLevel, &str)>) -> Result<AreaParticipants, StoreError> {
        let (col, code) = area.map(|(l, c)| (l.column(), c)).unwrap_or(("municipality_code", ""));
        let sql = format!(
            "SELECT $1 AS code, {PER_CHANNEL}
             FROM addresses a JOIN participants p ON p.id = a.participant_id
             WHERE NOT p.paused AND ($1 = '' OR a.{col} = $1)"
        );
        Ok(with_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(code)
                .bind(bit(Channel::Push))
                .bind(bit(Channel::Sms))
                .bind(bit(Channel::Voice))
                .bind(bit(Channel::Email))
                .fetch_one(p)
                .await
        })?)
    }

    /// For every answered reply to an enquiry sent in `[from, to)`: its enquiry and the time
    /// from its arrival to its answer, in milliseconds.
    pub async fn reply_handling_times(&self, from: i64, to: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT r.enquiry_id, r.answered_at - r.created_at FROM replies r JOIN enquiries e ON e.id = r.enquiry_id
                 WHERE r.answered_at IS NOT NULL AND e.sent_at IS NOT NULL AND e.sent_at >= $1 AND e.sent_at < $2",
            )
            .bind(from)
            .bind(to)
            .fetch_all(p)
            .await
        })?)
    }
}

impl Store {
    /// Participants (not paused) with an address in `municipality` who signed up before `at`.
    pub async fn participants_created_before(&self, municipality: &str, at: i64) -> Result<i64, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_scalar(
                "SELECT COUNT(DISTINCT a.participant_id) FROM addresses a JOIN participants p ON p.id = a.participant_id
                 WHERE NOT p.paused AND a.municipality_code = $1 AND p.created_at < $2",
            )
            .bind(municipality)
            .bind(at)
            .fetch_one(p)
            .await
        })?)
    }
}
