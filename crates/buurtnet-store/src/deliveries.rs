//! The durable delivery queue: one row per (message, person, device, channel).
//!
//! States: `pending` (waiting for `next_at`) → `sending` (claimed; `next_at` is the end of the
//! claim's lease) → `sent` (the provider took it) → `delivered` / `failed` (a delivery report);
//! or `failed` (refused, failed over), `dead` (retries used up: admins can see and retry it),
//! `expired` (could no longer help). A claim whose worker died is claimed again after its lease
//! with the same id, so the provider sees the same reference.

use crate::{Pool, Store, StoreError};
use buurtnet_domain::Channel;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use sqlx::{FromRow, QueryBuilder};
use std::collections::HashMap;

/// Rows per INSERT statement.
const INSERT_CHUNK: usize = 4000;

/// A claimed delivery with what is needed to send it: the destination is read now (never
/// copied into the queue), so a person who deleted their account in the meantime gets nothing.
#[derive(Debug, Clone, FromRow)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub message_id: i64,
    pub participant_id: i64,
    pub device_id: i64,
    pub channel: String,
    pub attempts: i64,
    pub language: String,
    /// The verified phone number or e-mail address for sms/voice/email.
    pub contact: Option<String>,
    pub endpoint: Option<String>,
    pub p256dh: Option<String>,
    pub auth: Option<String>,
    /// For a device's delivery: the device still exists and is not paused. A device deleted or
    /// paused since the message was sent gets nothing.
    pub device_live: bool,
}

impl ClaimedDelivery {
    pub fn channel(&self) -> Option<Channel> {
        Channel::parse(&self.channel)
    }
}

/// What became of a claimed delivery.
#[derive(Debug, Clone)]
pub struct Finished {
    pub id: i64,
    /// The `attempts` value of the claim: a late answer from a claim that was taken over by
    /// another worker does not overwrite the newer claim's result.
    pub attempts: i64,
    pub state: &'static str,
    pub next_at: i64,
    pub provider_id: Option<String>,
    pub error: Option<String>,
    /// Not tried after all (its provider is paused): the claim's try is given back.
    pub untried: bool,
}

#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct DeliveryRow {
    pub id: i64,
    pub message_id: i64,
    pub participant_id: i64,
    pub device_id: i64,
    pub channel: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub updated_at: i64,
}

/// A delivery target: (participant id or 0, device id or 0, channel).
pub type Target = (i64, i64, Channel);

/// An anonymous device that may be in an area.
#[derive(Debug, Clone, FromRow)]
pub struct DeviceCandidate {
    pub id: i64,
    pub lat: f64,
    pub lon: f64,
    pub cell: i64,
}

/// Device ids read per page when every anonymous device is wanted.
const ANONYMOUS_PAGE: i64 = 16_384;

/// The columns of a [`ClaimedDelivery`], read from `source` (the deliveries table or the
/// claimed rows).
fn claimed_select(source: &str) -> String {
    format!(
        "SELECT d.id, d.message_id, d.participant_id, d.device_id, d.channel, d.attempts,
    COALESCE(p.language, dv.language, 'nl') AS language,
    (SELECT c.value FROM contacts c WHERE c.participant_id = d.participant_id AND d.participant_id <> 0
        AND c.verified_at IS NOT NULL AND c.kind = (CASE WHEN d.channel = 'email' THEN 'email' ELSE 'phone' END)
        AND (d.channel <> 'sms' OR c.mobile)
      ORDER BY c.id LIMIT 1) AS contact,
    dv.endpoint, dv.p256dh, dv.auth, (dv.id IS NOT NULL) AS device_live
  FROM {source} d
  LEFT JOIN participants p ON p.id = d.participant_id AND d.participant_id <> 0
  LEFT JOIN devices dv ON dv.id = d.device_id AND d.device_id <> 0 AND NOT dv.paused"
    )
}

impl Store {
    /// Writes deliveries for a message, skipping those it already has (a resumed fan-out or a
    /// failover to a channel that already reached the person). Returns how many were new.
    pub async fn insert_deliveries(
        &self,
        message_id: i64,
        priority: i64,
        next_at: i64,
        targets: &[Target],
    ) -> Result<u64, StoreError> {
        if targets.is_empty() {
            return Ok(0);
        }
        let first = self.allocate_ids("deliveries", targets.len() as i64).await?;
        let mut inserted = 0u64;
        match &self.pool {
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                for (n, chunk) in targets.chunks(INSERT_CHUNK * 4).enumerate() {
                    let base = first + (n * INSERT_CHUNK * 4) as i64;
                    let ids: Vec<i64> = (0..chunk.len() as i64).map(|i| base + i).collect();
                    let people: Vec<i64> = chunk.iter().map(|t| t.0).collect();
                    let devices: Vec<i64> = chunk.iter().map(|t| t.1).collect();
                    let channels: Vec<&str> = chunk.iter().map(|t| t.2.as_str()).collect();
                    inserted += sqlx::query(
                        "INSERT INTO deliveries (id, message_id, participant_id, device_id, channel, state, priority, next_at, updated_at)
                         SELECT i, $1, pid, did, ch, 'pending', $2, $3, $3 FROM unnest($4::bigint[], $5::bigint[], $6::bigint[], $7::text[]) AS t(i, pid, did, ch)
                         ON CONFLICT (message_id, participant_id, device_id, channel) DO NOTHING",
                    )
                    .bind(message_id)
                    .bind(priority)
                    .bind(next_at)
                    .bind(&ids)
                    .bind(&people)
                    .bind(&devices)
                    .bind(&channels)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                tx.commit().await?;
            }
            Pool::Sqlite(p) => {
                let mut tx = p.begin().await?;
                for (n, chunk) in targets.chunks(INSERT_CHUNK).enumerate() {
                    let base = first + (n * INSERT_CHUNK) as i64;
                    let mut qb = QueryBuilder::new(
                        "INSERT INTO deliveries (id, message_id, participant_id, device_id, channel, state, priority, next_at, updated_at) ",
                    );
                    qb.push_values(chunk.iter().enumerate(), |mut b, (i, t)| {
                        b.push_bind(base + i as i64)
                            .push_bind(message_id)
                            .push_bind(t.0)
                            .push_bind(t.1)
                            .push_bind(t.2.as_str())
                            .push("'pending'")
                            .push_bind(priority)
                            .push_bind(next_at)
                            .push_bind(next_at);
                    });
                    qb.push(" ON CONFLICT (message_id, participant_id, device_id, channel) DO NOTHING");
                    inserted += qb.build().execute(&mut *tx).await?.rows_affected();
                }
                tx.commit().await?;
            }
        }
        Ok(inserted)
    }

    /// Claims up to `limit` due deliveries, most urgent first, for a lease until `lease_until`
    /// (a claim whose lease ran out is due again). Safe with many workers in many processes:
    /// `FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite runs one writer at a time, so the
    /// select-and-update is a single atomic statement there. (`= ANY(ARRAY(…))` rather than
    /// `IN (…)`: a freshly filled table has no statistics yet, and the planner would scan it
    /// once per claimed id.)
    pub async fn claim_deliveries(&self, now: i64, lease_until: i64, limit: i64) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let pick = "SELECT id FROM deliveries WHERE state IN ('pending', 'sending') AND next_at <= $1 ORDER BY priority, next_at LIMIT $3";
        let claimed: Vec<ClaimedDelivery> = match &self.pool {
            Pool::Postgres(p) => {
                let sql = format!(
                    "WITH claimed AS (
                        UPDATE deliveries SET state = 'sending', next_at = $2, attempts = attempts + 1, updated_at = $1
                        WHERE id = ANY(ARRAY({pick} FOR UPDATE SKIP LOCKED)) RETURNING *)
                     {}",
                    claimed_select("claimed")
                );
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now).bind(lease_until).bind(limit).fetch_all(p).await?
            }
            Pool::Sqlite(p) => {
                let mut tx = p.begin().await?;
                let sql = format!(
                    "UPDATE deliveries SET state = 'sending', next_at = $2, attempts = attempts + 1, updated_at = $1 WHERE id IN ({pick}) RETURNING id"
                );
                let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(now)
                    .bind(lease_until)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                let json = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
                let sql = format!("{} WHERE d.id IN (SELECT value FROM json_each($1))", claimed_select("deliveries"));
                let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(json).fetch_all(&mut *tx).await?;
                tx.commit().await?;
                rows
            }
        };
        Ok(claimed)
    }

    /// Records what became of claimed deliveries, in one transaction: one statement per kind of
    /// outcome (usually one: all sent; a finished delivery's `next_at` becomes `now`), picking
    /// its rows by id from a JSON list and each row's provider id from a JSON object. (A join with a `VALUES` list was planned by SQLite,
    /// without statistics on a fresh table, as a scan of the whole table: a cost that grew with
    /// every message sent.) A result whose claim was taken over by another worker (other
    /// `attempts`) changes nothing.
    pub async fn finish_deliveries(&self, now: i64, done: &[Finished]) -> Result<(), StoreError> {
        type Outcome<'a> = (&'static str, i64, Option<&'a str>, bool, i64);
        let mut groups: HashMap<Outcome<'_>, (Vec<i64>, serde_json::Map<String, serde_json::Value>)> = HashMap::new();
        for f in done {
            // Only a delivery that waits for another try needs its own time; a finished one
            // records the time of its result, so that one batch's results form one group
            // (their own millisecond clocks would split it into dozens of statements).
            let next_at = if f.state == "pending" { f.next_at } else { now };
            let g = groups.entry((f.state, next_at, f.error.as_deref(), f.untried, f.attempts)).or_default();
            g.0.push(f.id);
            if let Some(pid) = &f.provider_id {
                g.1.insert(f.id.to_string(), pid.clone().into());
            }
        }
        // The rows by id, and each row's provider id, from JSON in both dialects.
        let (rows, provider) = match &self.pool {
            Pool::Postgres(_) => (
                "id = ANY(ARRAY(SELECT CAST(jsonb_array_elements_text(CAST($7 AS jsonb)) AS BIGINT)))",
                "CAST($6 AS jsonb) ->> CAST(id AS TEXT)",
            ),
            Pool::Sqlite(_) => ("id IN (SELECT value FROM json_each($7))", "json_extract($6, '$.\"' || id || '\"')"),
        };
        let sql = format!(
            "UPDATE deliveries SET state = $1, next_at = $2, attempts = attempts - $3, last_error = $4, updated_at = $5,
                provider_id = COALESCE({provider}, provider_id)
             WHERE {rows} AND attempts = $8 AND state = 'sending'"
        );
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            for ((state, next_at, error, untried, attempts), (ids, provider_ids)) in &groups {
                sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(*state)
                    .bind(*next_at)
                    .bind(i64::from(*untried))
                    .bind(*error)
                    .bind(now)
                    .bind(serde_json::Value::Object(provider_ids.clone()).to_string())
                    .bind(serde_json::to_string(ids).unwrap_or_else(|_| "[]".into()))
                    .bind(*attempts)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }

    /// The people and devices a message reached or is still reaching (everything but failed,
    /// dead and expired deliveries), by id from `after`, on the channel that (last) reached them.
    pub async fn reached_targets(&self, message_id: i64, after: i64, limit: i64) -> Result<Vec<(i64, Target)>, StoreError> {
        let rows: Vec<(i64, i64, i64, String)> = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT id, participant_id, device_id, channel FROM deliveries
                 WHERE message_id = $1 AND id > $2 AND state IN ('pending', 'sending', 'sent', 'delivered')
                 ORDER BY id LIMIT $3",
            )
            .bind(message_id)
            .bind(after)
            .bind(limit)
            .fetch_all(p)
            .await
        })?;
        Ok(rows.into_iter().filter_map(|(id, pid, did, ch)| Channel::parse(&ch).map(|c| (id, (pid, did, c)))).collect())
    }

    /// Deletes the delivery rows of up to `limit` messages that stopped being valid before
    /// `cutoff` (and whose action, if any, has ended), keeping their counts in
    /// `messages.delivery_summary`. Each message in one transaction. Returns (messages, rows).
    pub async fn archive_deliveries(&self, cutoff: i64, limit: i64) -> Result<(u64, u64), StoreError> {
        let ids: Vec<i64> = with_pool!(self, |p| {
            sqlx::query_scalar(
                "SELECT m.id FROM messages m LEFT JOIN actions a ON a.id = m.action_id
                 WHERE m.valid_until < $1 AND m.delivery_summary IS NULL AND m.fanout_state = 'done'
                   AND (m.action_id IS NULL OR a.state IN ('closed', 'cancelled'))
                 ORDER BY m.id LIMIT $2",
            )
            .bind(cutoff)
            .bind(limit)
            .fetch_all(p)
            .await
        })?;
        let mut rows = 0u64;
        for id in &ids {
            // Counted first (rows and batches); a delivery finishing in between only moves
            // between states of a message that is no longer valid.
            let counts = self.delivery_counts(*id).await?;
            rows += with_pool!(self, |p| {
                let mut tx = p.begin().await?;
                let summary = serde_json::to_string(&counts).unwrap_or_else(|_| "[]".into());
                sqlx::query("UPDATE messages SET delivery_summary = $1 WHERE id = $2")
                    .bind(summary)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let n =
                    sqlx::query("DELETE FROM deliveries WHERE message_id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
                sqlx::query("DELETE FROM device_batches WHERE message_id = $1").bind(id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok::<u64, sqlx::Error>(n)
            })?;
        }
        Ok((ids.len() as u64, rows))
    }

    /// Deliveries per (message, channel, state); after the rows were archived, their counts.
    pub async fn delivery_counts(&self, message_id: i64) -> Result<Vec<(String, String, i64)>, StoreError> {
        let summary: Option<Option<String>> = with_pool!(self, |p| {
            sqlx::query_scalar("SELECT delivery_summary FROM messages WHERE id = $1").bind(message_id).fetch_optional(p).await
        })?;
        if let Some(Some(summary)) = summary {
            return serde_json::from_str(&summary)
                .map_err(|e| StoreError::Corrupt(format!("message {message_id}: delivery summary: {e}")));
        }
        let mut counts = with_pool!(self, |p| {
            sqlx::query_as("SELECT channel, state, COUNT(*) FROM deliveries WHERE message_id = $1 GROUP BY channel, state ORDER BY channel, state")
                .bind(message_id)
                .fetch_all(p)
                .await
        })?;
        self.add_batch_counts(Some(message_id), &mut counts).await?;
        Ok(counts)
    }

    /// Deliveries of all messages per (channel, state): for the metrics.
    pub async fn delivery_totals(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        let mut counts =
            with_pool!(self, |p| sqlx::query_as("SELECT channel, state, COUNT(*) FROM deliveries GROUP BY channel, state")
                .fetch_all(p)
                .await)?;
        self.add_batch_counts(None, &mut counts).await?;
        Ok(counts)
    }

    /// Deliveries waiting to go out (pending or claimed) and the age of the oldest due one.
    pub async fn queue_depth(&self, now: i64) -> Result<(i64, i64), StoreError> {
        let (n, oldest): (i64, Option<i64>) = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT COUNT(*), MIN(CASE WHEN state = 'pending' AND next_at <= $1 THEN next_at END) FROM deliveries WHERE state IN ('pending', 'sending')",
            )
            .bind(now)
            .fetch_one(p)
            .await
        })?;
        let (in_batches, batch_oldest) = self.batch_queue(now).await?;
        let oldest = match (oldest, batch_oldest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok((n + in_batches, oldest.map(|t| (now - t).max(0)).unwrap_or(0)))
    }

    /// The channels a person can be reached on (a verified contact point or a device), whatever
    /// they chose per address: where a message fails over to.
    pub async fn person_channels(&self, participant_id: i64) -> Result<i64, StoreError> {
        let rows: Vec<i64> = with_pool!(self, |p| {
            sqlx::query_scalar("SELECT verified_channels FROM addresses WHERE participant_id = $1 AND paused = $2")
                .bind(participant_id)
                .bind(false)
                .fetch_all(p)
                .await
        })?;
        Ok(rows.into_iter().fold(0, |a, b| a | b))
    }

    /// The push devices of these people.
    pub async fn devices_of(&self, participants: &[i64]) -> Result<Vec<(i64, i64)>, StoreError> {
        if participants.is_empty() {
            return Ok(Vec::new());
        }
        let rows = match &self.pool {
            Pool::Postgres(p) => {
                sqlx::query_as("SELECT participant_id, id FROM devices WHERE participant_id = ANY($1) AND NOT paused")
                    .bind(participants)
                    .fetch_all(p)
                    .await?
            }
            Pool::Sqlite(p) => {
                let json = serde_json::to_string(participants).unwrap_or_else(|_| "[]".into());
                sqlx::query_as("SELECT participant_id, id FROM devices WHERE participant_id IN (SELECT value FROM json_each($1)) AND NOT paused")
                    .bind(json)
                    .fetch_all(p)
                    .await?
            }
        };
        Ok(rows)
    }

    /// Anonymous push devices (no participant) that want the topic, in cell ranges (`None`:
    /// everywhere).
    pub fn anonymous_devices(
        &self,
        ranges: Option<Vec<(i64, i64)>>,
        topic_bit: i64,
    ) -> BoxStream<'_, Result<DeviceCandidate, StoreError>> {
        // Devices without a subscription (live page only) and paused ones get no deliveries.
        let base = "d.participant_id IS NULL AND d.cell IS NOT NULL AND (d.topics & $1) <> 0 AND d.endpoint IS NOT NULL AND NOT d.paused";
        match (&self.pool, ranges) {
            (_, Some(r)) if r.is_empty() => futures::stream::empty().boxed(),
            (Pool::Sqlite(p), Some(ranges)) => {
                let json = serde_json::to_string(&ranges).unwrap_or_else(|_| "[]".into());
                let sql = format!(
                    "SELECT d.id, d.lat, d.lon, d.cell FROM json_each($2) r JOIN devices d
                     ON d.cell BETWEEN json_extract(r.value, '$[0]') AND json_extract(r.value, '$[1]') WHERE {base}"
                );
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(topic_bit)
                    .bind(json)
                    .fetch(p)
                    .map(|r| r.map_err(StoreError::from))
                    .boxed()
            }
            (Pool::Postgres(p), Some(ranges)) => {
                let (lo, hi): (Vec<i64>, Vec<i64>) = ranges.into_iter().unzip();
                let sql = format!(
                    "SELECT d.id, d.lat, d.lon, d.cell FROM unnest($2::bigint[], $3::bigint[]) AS r(lo, hi) JOIN devices d
                     ON d.cell BETWEEN r.lo AND r.hi WHERE {base}"
                );
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(topic_bit)
                    .bind(lo)
                    .bind(hi)
                    .fetch(p)
                    .map(|r| r.map_err(StoreError::from))
                    .boxed()
            }
            // Everywhere (a national alert to millions of devices): pages by ranges of ids
            // (dense: allocated in order), so that no read stays open for the whole scan (on
            // SQLite a long read holds back the write-ahead log the workers write to) and every
            // page is a range of the primary key, whatever index the planner would prefer.
            (_, None) => futures::stream::once(async move { self.max_device_id().await })
                .map_ok(move |max| {
                    futures::stream::try_unfold(0i64, move |after| async move {
                        if after >= max {
                            return Ok::<_, StoreError>(None);
                        }
                        let upto = after.saturating_add(ANONYMOUS_PAGE).min(max);
                        let page = self.anonymous_devices_page(topic_bit, after, upto).await?;
                        Ok(Some((futures::stream::iter(page.into_iter().map(Ok::<_, StoreError>)), upto)))
                    })
                    .try_flatten()
                })
                .try_flatten()
                .boxed(),
        }
    }

    async fn max_device_id(&self) -> Result<i64, StoreError> {
        let max: Option<i64> = with_pool!(self, |p| sqlx::query_scalar("SELECT MAX(id) FROM devices").fetch_one(p).await)?;
        Ok(max.unwrap_or(0))
    }

    /// The anonymous devices wanting the topic with an id in `(after, upto]`. The unary `+`
    /// keeps SQLite's planner on the id range (it would otherwise walk every participant-less
    /// device through the `participant_id` index and sort them, seconds per page).
    async fn anonymous_devices_page(&self, topic_bit: i64, after: i64, upto: i64) -> Result<Vec<DeviceCandidate>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT d.id, d.lat, d.lon, d.cell FROM devices d
                 WHERE d.id > $2 AND d.id <= $3 AND +d.participant_id IS NULL AND d.cell IS NOT NULL AND (d.topics & $1) <> 0
                   AND d.endpoint IS NOT NULL AND NOT d.paused",
            )
            .bind(topic_bit)
            .bind(after)
            .bind(upto)
            .fetch_all(p)
            .await?
        }))
    }

    /// Dead letters (retries used up), newest first.
    pub async fn dead_deliveries(&self, limit: i64) -> Result<Vec<DeliveryRow>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT id, message_id, participant_id, device_id, channel, state, attempts, last_error, updated_at
                 FROM deliveries WHERE state = 'dead' ORDER BY updated_at DESC, id DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(p)
            .await
        })?)
    }

    /// Puts a dead letter back in the queue with fresh tries. False when it was not dead.
    pub async fn retry_delivery(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query("UPDATE deliveries SET state = 'pending', attempts = 0, next_at = $1, updated_at = $1 WHERE id = $2 AND state = 'dead'")
                .bind(now)
                .bind(id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Every dead letter of a message back in the queue with fresh tries; how many.
    pub async fn retry_dead_of_message(&self, message_id: i64, now: i64) -> Result<u64, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_at = $1, updated_at = $1 WHERE message_id = $2 AND state = 'dead'",
            )
            .bind(now)
            .bind(message_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?)
    }

    /// The SMS gateway's delivery report: a sent SMS becomes delivered or failed. False when
    /// there is no such SMS delivery, or it was not sent (a late or repeated report).
    pub async fn report_delivery(&self, id: i64, delivered: bool, error: Option<&str>, now: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query("UPDATE deliveries SET state = $1, last_error = COALESCE($2, last_error), updated_at = $3 WHERE id = $4 AND channel = 'sms' AND state IN ('sent', 'sending')")
                .bind(if delivered { "delivered" } else { "failed" })
                .bind(error)
                .bind(now)
                .bind(id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// A delivery by id: its row, or a device of a batch that has none (sent with its batch,
    /// or still waiting in it).
    /// The distinct queue priorities of a message's deliveries.
    pub async fn delivery_priorities(&self, message_id: i64) -> Result<Vec<i64>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_scalar("SELECT DISTINCT priority FROM deliveries WHERE message_id = $1 ORDER BY priority")
                .bind(message_id)
                .fetch_all(p)
                .await
        })?)
    }

    pub async fn delivery(&self, id: i64) -> Result<Option<DeliveryRow>, StoreError> {
        let row = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT id, message_id, participant_id, device_id, channel, state, attempts, last_error, updated_at FROM deliveries WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await
        })?;
        match row {
            Some(r) => Ok(Some(r)),
            None => self.batch_delivery(id).await,
        }
    }
}
