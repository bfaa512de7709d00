//! Reading candidate recipients for an area: addresses by cell-id ranges or by area code,
//! filtered by topic, paused and verified channels, streamed in bounded memory.

use crate::{Pool, Store, StoreError};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use sqlx::FromRow;

/// Which addresses to read.
#[derive(Debug, Clone, PartialEq)]
pub enum CandidateFilter {
    /// Cell-id ranges `[lo, hi]` (inclusive), disjoint.
    Cells(Vec<(i64, i64)>),
    /// Addresses whose stored area code at this level column equals the code.
    Code { column: &'static str, code: String },
    /// Every address.
    All,
}

/// The column that stores an address's area of a level (the names are fixed here, never input).
pub fn code_column(level: &str) -> Option<&'static str> {
    Some(match level {
        "neighbourhood" => "neighbourhood_code",
        "district" => "district_code",
        "municipality" => "municipality_code",
        "pc4" => "pc4",
        "safety_region" => "safety_region_code",
        "police_unit" => "police_unit_code",
        "province" => "province_code",
        _ => return None,
    })
}

/// The columns of a [`TargetRow`].
const COLUMNS: &str = "a.id AS address_id, a.participant_id, a.lat, a.lon, a.cell, (a.channels & a.verified_channels) AS channels, \
    a.topics, a.paused, a.quiet_hours, a.neighbourhood_code, a.district_code, a.municipality_code, a.pc4, \
    a.safety_region_code, a.police_unit_code, a.province_code";

impl Store {
    /// Streams the addresses matching `filter` whose owner wants `topic_bit`, is not paused and
    /// has at least one usable channel there.
    pub fn candidates(&self, filter: CandidateFilter, topic_bit: i64) -> BoxStream<'_, Result<TargetRow, StoreError>> {
        let base = "(a.topics & $1) <> 0 AND a.paused = $2 AND (a.channels & a.verified_channels) <> 0";
        match (&self.pool, filter) {
            (_, CandidateFilter::Cells(ranges)) if ranges.is_empty() => futures::stream::empty().boxed(),
            (Pool::Sqlite(p), CandidateFilter::Cells(ranges)) => {
                let json = serde_json::to_string(&ranges).unwrap_or_else(|_| "[]".into());
                let sql = format!(
                    "SELECT {COLUMNS} FROM json_each($3) r JOIN addresses a \
                     ON a.cell BETWEEN json_extract(r.value, '$[0]') AND json_extract(r.value, '$[1]') WHERE {base}"
                );
                sqlx::query_as::<_, TargetRow>(sqlx::AssertSqlSafe(sql))
                    .bind(topic_bit)
                    .bind(false)
                    .bind(json)
                    .fetch(p)
                    .map_err(StoreError::from)
                    .boxed()
            }
            (Pool::Postgres(p), CandidateFilter::Cells(ranges)) => {
                let (lo, hi): (Vec<i64>, Vec<i64>) = ranges.into_iter().unzip();
                let sql = format!(
                    "SELECT {COLUMNS} FROM unnest($3::bigint[], $4::bigint[]) AS r(lo, hi) JOIN addresses a \
                     ON a.cell BETWEEN r.lo AND r.hi WHERE {base}"
                );
                sqlx::query_as::<_, TargetRow>(sqlx::AssertSqlSafe(sql))
                    .bind(topic_bit)
                    .bind(false)
                    .bind(lo)
                    .bind(hi)
                    .fetch(p)
                    .map_err(StoreError::from)
                    .boxed()
            }
            (_, CandidateFilter::Code { column, code }) => {
                let sql = format!("SELECT {COLUMNS} FROM addresses a WHERE a.{column} = $3 AND {base}");
                with_pool!(self, |p| sqlx::query_as::<_, TargetRow>(sqlx::AssertSqlSafe(sql))
                    .bind(topic_bit)
                    .bind(false)
                    .bind(code)
                    .fetch(p)
                    .map_err(StoreError::from)
                    .boxed())
            }
            (_, CandidateFilter::All) => {
                let sql = format!("SELECT {COLUMNS} FROM addresses a WHERE {base}");
                with_pool!(self, |p| sqlx::query_as::<_, TargetRow>(sqlx::AssertSqlSafe(sql))
                    .bind(topic_bit)
                    .bind(false)
                    .fetch(p)
                    .map_err(StoreError::from)
                    .boxed())
            }
        }
    }
}

pub(crate) const REFRESH_FLAGS: &str = "UPDATE addresses SET
  topics = (SELECT p.topics FROM participants p WHERE p.id = addresses.participant_id),
  paused = (SELECT p.paused FROM participants p WHERE p.id = addresses.participant_id),
  verified_channels =
      CASE WHEN EXISTS (SELECT 1 FROM devices d WHERE d.participant_id = addresses.participant_id) THEN 1 ELSE 0 END
    | CASE WHEN EXISTS (SELECT 1 FROM contacts c WHERE c.participant_id = addresses.participant_id AND c.kind = 'phone' AND c.verified_at IS NOT NULL AND c.mobile) THEN 2 ELSE 0 END
    | CASE WHEN EXISTS (SELECT 1 FROM contacts c WHERE c.participant_id = addresses.participant_id AND c.kind = 'phone' AND c.verified_at IS NOT NULL) THEN 4 ELSE 0 END
    | CASE WHEN EXISTS (SELECT 1 FROM contacts c WHERE c.participant_id = addresses.participant_id AND c.kind = 'email' AND c.verified_at IS NOT NULL) THEN 8 ELSE 0 END
  WHERE participant_id = $1";

/// The verified-channel mask for a new participant's contacts. Push is never in it: only a
/// registered device makes push reachable (see `devices`), and a new participant has none.
pub fn verified_mask(contacts: &[crate::NewContact]) -> i64 {
    let mut mask = 0;
    for c in contacts.iter().filter(|c| c.verified_at.is_some()) {
        match c.kind.as_str() {
            "email" => mask |= 8,
            "phone" => mask |= if c.mobile { 2 | 4 } else { 4 },
            _ => {}
        }
    }
    mask
}

/// One row of the change feed: participants `lo..=hi` changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct Change {
    pub seq: i64,
    pub participant_lo: i64,
    pub participant_hi: i64,
}

pub(crate) const NEXT_CHANGE: &str = "UPDATE id_sequences SET next_id = next_id + 1 WHERE name = 'changes' RETURNING next_id - 1";
pub(crate) const INSERT_CHANGE: &str = "INSERT INTO changes (seq, participant_lo, participant_hi, at) VALUES ($1, $2, $3, $4)";

/// Change-feed rows read at most per call.
pub const FEED_PAGE: i64 = 10_000;

/// The change feed after a position, as one consistent read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Feed {
    /// Rows after the position, in order (at most [`FEED_PAGE`]).
    pub changes: Vec<Change>,
    /// Rows up to this seq have been pruned (0 when never): a reader at a lower position has
    /// a gap and must reload everything.
    pub pruned_through: i64,
}

impl Store {
    /// Change-feed rows after `seq`, in order (at most [`FEED_PAGE`]), and the pruned point, read
    /// in one statement so that a prune between the two cannot go unnoticed.
    pub async fn change_feed(&self, seq: i64) -> Result<Feed, StoreError> {
        let rows: Vec<Change> = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT seq, participant_lo, participant_hi FROM \
                   (SELECT seq, participant_lo, participant_hi FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2) c \
                 UNION ALL SELECT 0, CAST(value AS BIGINT), 0 FROM meta WHERE key = 'changes_pruned_through'",
            )
            .bind(seq)
            .bind(FEED_PAGE)
            .fetch_all(p)
            .await
        })?;
        let mut feed = Feed::default();
        for c in rows {
            if c.seq == 0 {
                feed.pruned_through = c.participant_lo;
            } else {
                feed.changes.push(c);
            }
        }
        feed.changes.sort_unstable_by_key(|c| c.seq);
        Ok(feed)
    }

    /// Change-feed rows after `seq`, in order (at most [`FEED_PAGE`]).
    pub async fn changes_since(&self, seq: i64) -> Result<Vec<Change>, StoreError> {
        Ok(self.change_feed(seq).await?.changes)
    }

    /// Deletes the oldest change-feed rows: the longest run from the start whose rows were all
    /// written before `before` (Unix milliseconds), and records the highest pruned seq as
    /// `changes_pruned_through` in `meta`, in the same transaction. Safe to run from any
    /// process at any time. Returns the pruned point and the number of rows deleted.
    pub async fn prune_changes(&self, before: i64) -> Result<(i64, u64), StoreError> {
        let (through, deleted) = with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            // A write first, so that SQLite takes the write lock at once (no upgrade later).
            sqlx::query(
                "INSERT INTO meta (key, value) \
                 SELECT 'changes_pruned_through', CAST(t AS TEXT) FROM \
                   (SELECT COALESCE((SELECT MIN(seq) - 1 FROM changes WHERE at >= $1), (SELECT MAX(seq) FROM changes)) AS t) x \
                 WHERE t IS NOT NULL \
                 ON CONFLICT (key) DO UPDATE SET value = \
                   CASE WHEN CAST(meta.value AS BIGINT) < CAST(excluded.value AS BIGINT) THEN excluded.value ELSE meta.value END",
            )
            .bind(before)
            .execute(&mut *tx)
            .await?;
            let through: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'changes_pruned_through'")
                .fetch_optional(&mut *tx)
                .await?;
            let through = through.and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
            let deleted =
                sqlx::query("DELETE FROM changes WHERE seq <= $1").bind(through).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok::<_, sqlx::Error>((through, deleted))
        })?;
        Ok((through, deleted))
    }

    /// The newest change-feed sequence number (the pruned point when every row was pruned,
    /// 0 when there never was one).
    pub async fn last_change(&self) -> Result<i64, StoreError> {
        let v: Option<i64> = with_pool!(self, |p| sqlx::query_scalar(
            "SELECT COALESCE((SELECT MAX(seq) FROM changes), \
               (SELECT CAST(value AS BIGINT) FROM meta WHERE key = 'changes_pruned_through'), 0)"
        )
        .fetch_one(p)
        .await)?;
        Ok(v.unwrap_or(0))
    }

    /// Every targeting row of participants `lo..=hi` (all of them with `None`), streamed.
    pub fn targeting_rows(&self, range: Option<(i64, i64)>) -> BoxStream<'_, Result<TargetRow, StoreError>> {
        let (lo, hi) = range.unwrap_or((i64::MIN, i64::MAX));
        // Everything: a plain table scan (a range on the participant index would read the table
        // in participant order, row by row).
        let filter = if range.is_some() { "a.participant_id BETWEEN $1 AND $2" } else { "$1 <= $2" };
        let sql = format!("SELECT {COLUMNS} FROM addresses a WHERE {filter}");
        with_pool!(self, |p| sqlx::query_as::<_, TargetRow>(sqlx::AssertSqlSafe(sql))
            .bind(lo)
            .bind(hi)
            .fetch(p)
            .map_err(StoreError::from)
            .boxed())
    }

    /// Every targeting row of the participants in the ranges `[lo, hi]` (inclusive, disjoint),
    /// in one query: the ranges travel as one JSON parameter (SQLite) or two arrays (PostgreSQL).
    pub fn targeting_rows_in(&self, ranges: &[(i64, i64)]) -> BoxStream<'_, Result<TargetRow, StoreError>> {
        if ranges.is_empty() {
            return futures::stream::empty().boxed();
        }
        match &self.pool {
            Pool::Sqlite(p) => {
                let json = serde_json::to_string(ranges).unwrap_or_else(|_| "[]".into());
                let sql = format!(
                    "SELECT {COLUMNS} FROM json_each($1) r JOIN addresses a \
                     ON a.participant_id BETWEEN json_extract(r.value, '$[0]') AND json_extract(r.value, '$[1]')"
                );
                sqlx::query_as::<_, TargetRow>(sqlx::AssertSqlSafe(sql)).bind(json).fetch(p).map_err(StoreError::from).boxed()
            }
            Pool::Postgres(p) => {
                let (lo, hi): (Vec<i64>, Vec<i64>) = ranges.iter().copied().unzip();
                let sql = format!(
                    "SELECT {COLUMNS} FROM unnest($1::bigint[], $2::bigint[]) AS r(lo, hi) JOIN addresses a \
                     ON a.participant_id BETWEEN r.lo AND r.hi"
                );
                sqlx::query_as::<_, TargetRow>(sqlx::AssertSqlSafe(sql))
                    .bind(lo)
                    .bind(hi)
                    .fetch(p)
                    .map_err(StoreError::from)
                    .boxed()
            }
        }
    }
}

/// An address as targeting reads it: its point, cell, usable channels (chosen and verified),
/// its owner's topics and paused flag, quiet hours and area codes.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct TargetRow {
    pub address_id: i64,
    pub participant_id: i64,
    pub lat: f64,
    pub lon: f64,
    pub cell: i64,
    pub channels: i64,
    pub topics: i64,
    pub paused: bool,
    pub quiet_hours: String,
    pub neighbourhood_code: Option<String>,
    pub district_code: Option<String>,
    pub municipality_code: Option<String>,
    pub pc4: Option<String>,
    pub safety_region_code: Option<String>,
    pub police_unit_code: Option<String>,
    pub province_code: Option<String>,
}
