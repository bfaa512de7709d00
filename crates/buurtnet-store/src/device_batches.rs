//! Push deliveries to anonymous devices in batches (see migration 0018): a frozen part of a
//! message's recipients, claimed, sent and completed as one, with a delivery row written only
//! for each device the push did not reach at once.
//!
//! States: `pending` → `sending` (claimed; `next_at` is the end of the claim's lease; a claim
//! whose worker died is claimed again after it) → `done`; or `expired` (the message could no
//! longer help before it was sent).

use crate::deliveries::DeliveryRow;
use crate::{Pool, Store, StoreError};
use sqlx::{FromRow, QueryBuilder};
use std::collections::HashMap;

/// A claimed batch.
#[derive(Debug, Clone)]
pub struct ClaimedBatch {
    pub id: i64,
    pub message_id: i64,
    /// The delivery id of `devices[0]`; device number i has `first_id + i`.
    pub first_id: i64,
    pub devices: Vec<i64>,
    /// This claim's number (1 for the first): a late completion of a claim taken over by
    /// another worker is refused.
    pub attempts: i64,
}

/// Where a device's push goes, read when its batch is sent (a device deleted or paused since
/// gets nothing).
#[derive(Debug, Clone, FromRow)]
pub struct DeviceDestination {
    pub id: i64,
    pub language: String,
    pub endpoint: Option<String>,
    pub p256dh: Option<String>,
    pub auth: Option<String>,
    pub paused: bool,
}

/// A device of a batch that the push did not reach at once: its own delivery row from now on.
#[derive(Debug, Clone)]
pub struct BatchLeftover {
    pub delivery_id: i64,
    pub device_id: i64,
    pub state: &'static str,
    pub next_at: i64,
    pub attempts: i64,
    pub error: Option<String>,
}

/// Device ids as stored: 8 bytes each, little-endian.
pub fn encode(ids: &[i64]) -> Vec<u8> {
    ids.iter().flat_map(|id| id.to_le_bytes()).collect()
}

/// The inverse of [`encode`]; a trailing partial id (never written) is ignored.
pub fn decode(bytes: &[u8]) -> Vec<i64> {
    bytes.chunks_exact(8).map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect()
}

#[derive(FromRow)]
struct BatchRow {
    message_id: i64,
    first_id: i64,
    devices: Vec<u8>,
    state: String,
    attempts: i64,
    updated_at: i64,
}

/// Per (channel, state) counts of batches, merged into `counts`.
fn merge_counts(counts: &mut Vec<(String, String, i64)>, batches: Vec<(String, i64)>) {
    let mut by: HashMap<(String, String), i64> = counts.drain(..).map(|(c, s, n)| ((c, s), n)).collect();
    for (state, n) in batches {
        if n > 0 {
            *by.entry(("push".to_string(), state)).or_default() += n;
        }
    }
    counts.extend(by.into_iter().map(|((c, s), n)| (c, s, n)));
    counts.sort();
}

/// How many devices of batches are in each state: the devices of a done batch that have no row
/// of their own were sent.
const BATCH_COUNTS: &str = "SELECT CASE WHEN state = 'done' THEN 'sent' ELSE state END AS st,
    CAST(SUM(CASE WHEN state = 'done' THEN sent ELSE size END) AS BIGINT) FROM device_batches";

impl Store {
    /// Writes a message's batches (each a list of device ids, ascending) if the fan-out still
    /// holds its claim (its lease is `lease`), and moves the lease on to `new_lease` — in one
    /// transaction, so a fan-out that lost its claim to another process (its lease ran out)
    /// writes nothing. False when the claim was lost.
    pub async fn insert_device_batches(
        &self,
        message_id: i64,
        priority: i64,
        next_at: i64,
        batches: &[Vec<i64>],
        lease: i64,
        new_lease: i64,
    ) -> Result<bool, StoreError> {
        let batches: Vec<&Vec<i64>> = batches.iter().filter(|b| !b.is_empty()).collect();
        let total: i64 = batches.iter().map(|b| b.len() as i64).sum();
        let first_batch = self.allocate_ids("device_batches", batches.len().max(1) as i64).await?;
        let mut first_id = self.allocate_ids("deliveries", total.max(1)).await?;
        let held = with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let held = sqlx::query(
                "UPDATE messages SET fanout_lease = $1 WHERE id = $2 AND fanout_state = 'running' AND fanout_lease = $3",
            )
            .bind(new_lease)
            .bind(message_id)
            .bind(lease)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if held && !batches.is_empty() {
                for (chunk_no, chunk) in batches.chunks(200).enumerate() {
                    let mut qb = QueryBuilder::new(
                        "INSERT INTO device_batches (id, message_id, first_id, size, lo, hi, devices, state, priority, next_at, updated_at) ",
                    );
                    qb.push_values(chunk.iter().enumerate(), |mut b, (i, ids)| {
                        let id = first_batch + (chunk_no * 200 + i) as i64;
                        b.push_bind(id)
                            .push_bind(message_id)
                            .push_bind(first_id)
                            .push_bind(ids.len() as i64)
                            .push_bind(ids.first().copied().unwrap_or(0))
                            .push_bind(ids.last().copied().unwrap_or(0))
                            .push_bind(encode(ids))
                            .push("'pending'")
                            .push_bind(priority)
                            .push_bind(next_at)
                            .push_bind(next_at);
                        first_id += ids.len() as i64;
                    });
                    qb.build().execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok::<bool, sqlx::Error>(held)
        })?;
        Ok(held)
    }

    /// Every device already in a batch of this message (a fan-out that resumes skips them).
    pub async fn batched_devices(&self, message_id: i64) -> Result<Vec<i64>, StoreError> {
        let blobs: Vec<Vec<u8>> = with_pool!(self, |p| {
            sqlx::query_scalar("SELECT devices FROM device_batches WHERE message_id = $1").bind(message_id).fetch_all(p).await
        })?;
        Ok(blobs.iter().flat_map(|b| decode(b)).collect())
    }

    /// The batches of a message that reached or are reaching their devices (not expired), in
    /// order: (delivery id of the first device, devices).
    pub async fn reached_batches(&self, message_id: i64, after: i64, limit: i64) -> Result<Vec<(i64, Vec<i64>)>, StoreError> {
        let rows: Vec<(i64, Vec<u8>)> = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT first_id, devices FROM device_batches WHERE message_id = $1 AND first_id > $2 AND state <> 'expired'
                 ORDER BY first_id LIMIT $3",
            )
            .bind(message_id)
            .bind(after)
            .bind(limit)
            .fetch_all(p)
            .await
        })?;
        Ok(rows.into_iter().map(|(f, b)| (f, decode(&b))).collect())
    }

    /// The anonymous devices of a message that have a delivery row of their own (whatever its
    /// state): a batch's leftovers, or devices reached one by one.
    pub async fn devices_with_rows(&self, message_id: i64) -> Result<Vec<i64>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_scalar("SELECT device_id FROM deliveries WHERE message_id = $1 AND participant_id = 0 AND device_id <> 0")
                .bind(message_id)
                .fetch_all(p)
                .await
        })?)
    }

    /// Claims the most urgent due batch — only if no single delivery due now is more urgent —
    /// under a lease until `lease_until`. Safe with many workers in many processes.
    pub async fn claim_device_batch(&self, now: i64, lease_until: i64) -> Result<Option<ClaimedBatch>, StoreError> {
        let pick = "SELECT id FROM device_batches WHERE state IN ('pending', 'sending') AND next_at <= $1
              AND priority <= COALESCE((SELECT MIN(priority) FROM deliveries WHERE state IN ('pending', 'sending') AND next_at <= $1), priority)
            ORDER BY priority, next_at LIMIT 1";
        let update = "UPDATE device_batches SET state = 'sending', next_at = $2, attempts = attempts + 1, updated_at = $1";
        let row: Option<(i64, i64, i64, Vec<u8>, i64)> = match &self.pool {
            Pool::Postgres(p) => {
                let sql = format!(
                    "{update} WHERE id = ({pick} FOR UPDATE SKIP LOCKED) RETURNING id, message_id, first_id, devices, attempts"
                );
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now).bind(lease_until).fetch_optional(p).await?
            }
            Pool::Sqlite(p) => {
                // Looked for first with a read (readers run beside SQLite's one writer), so that
                // a worker finding nothing does not queue for the write lock.
                let due: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(pick)).bind(now).fetch_optional(p).await?;
                match due {
                    None => None,
                    Some(id) => {
                        let sql = format!(
                            "{update} WHERE id = $3 AND state IN ('pending', 'sending') AND next_at <= $1
                             RETURNING id, message_id, first_id, devices, attempts"
                        );
                        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now).bind(lease_until).bind(id).fetch_optional(p).await?
                    }
                }
            }
        };
        Ok(row.map(|(id, message_id, first_id, devices, attempts)| ClaimedBatch {
            id,
            message_id,
            first_id,
            devices: decode(&devices),
            attempts,
        }))
    }

    /// Where the pushes of these devices go now.
    pub async fn device_destinations(&self, ids: &[i64]) -> Result<Vec<DeviceDestination>, StoreError> {
        let select = "SELECT id, language, endpoint, p256dh, auth, paused FROM devices";
        Ok(match &self.pool {
            Pool::Postgres(p) => {
                let sql = format!("{select} WHERE id = ANY($1)");
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(ids).fetch_all(p).await?
            }
            Pool::Sqlite(p) => {
                let json = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
                let sql = format!("{select} WHERE id IN (SELECT value FROM json_each($1))");
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(json).fetch_all(p).await?
            }
        })
    }

    /// Gives a claimed batch back untried, due again at `next_at`.
    pub async fn release_device_batch(&self, batch: &ClaimedBatch, next_at: i64) -> Result<(), StoreError> {
        with_pool!(self, |p| {
            sqlx::query(
                "UPDATE device_batches SET state = 'pending', next_at = $1, attempts = attempts - 1
                 WHERE id = $2 AND attempts = $3 AND state = 'sending'",
            )
            .bind(next_at)
            .bind(batch.id)
            .bind(batch.attempts)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Completes a claimed batch: `state` (`done` or `expired`), how many were sent, and a
    /// delivery row for each leftover — in one transaction, and only while this claim is still
    /// the batch's claim. False when it is not (another worker took the batch over).
    pub async fn finish_device_batch(
        &self,
        batch: &ClaimedBatch,
        priority: i64,
        state: &'static str,
        sent: i64,
        leftovers: &[BatchLeftover],
        now: i64,
    ) -> Result<bool, StoreError> {
        let ok = with_pool!(self, |p| {
            async {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "UPDATE device_batches SET state = $1, sent = $2, updated_at = $3 WHERE id = $4 AND attempts = $5 AND state = 'sending'",
            )
            .bind(state)
            .bind(sent)
            .bind(now)
            .bind(batch.id)
            .bind(batch.attempts)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            for chunk in leftovers.chunks(1000) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO deliveries (id, message_id, participant_id, device_id, channel, state, priority, next_at, attempts, last_error, updated_at) ",
                );
                qb.push_values(chunk, |mut b, l| {
                    b.push_bind(l.delivery_id)
                        .push_bind(batch.message_id)
                        .push("0")
                        .push_bind(l.device_id)
                        .push("'push'")
                        .push_bind(l.state)
                        .push_bind(priority)
                        .push_bind(l.next_at)
                        .push_bind(l.attempts)
                        .push_bind(l.error.as_deref())
                        .push_bind(now);
                });
                qb.push(" ON CONFLICT DO NOTHING");
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<bool, sqlx::Error>(true)
        }
        .await
        })?;
        Ok(ok)
    }

    /// Per (channel, state) counts of a message's batches, merged into its rows' counts.
    pub(crate) async fn add_batch_counts(
        &self,
        message_id: Option<i64>,
        counts: &mut Vec<(String, String, i64)>,
    ) -> Result<(), StoreError> {
        let batches: Vec<(String, i64)> = match message_id {
            Some(m) => with_pool!(self, |p| {
                let sql = format!("{BATCH_COUNTS} WHERE message_id = $1 GROUP BY st");
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(m).fetch_all(p).await
            })?,
            None => with_pool!(self, |p| {
                let sql = format!("{BATCH_COUNTS} GROUP BY st");
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await
            })?,
        };
        merge_counts(counts, batches);
        Ok(())
    }

    /// Devices in batches waiting to be sent, and the earliest due time among them.
    pub(crate) async fn batch_queue(&self, now: i64) -> Result<(i64, Option<i64>), StoreError> {
        let (n, oldest): (Option<i64>, Option<i64>) = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT CAST(SUM(size) AS BIGINT), MIN(CASE WHEN state = 'pending' AND next_at <= $1 THEN next_at END)
                 FROM device_batches WHERE state IN ('pending', 'sending')",
            )
            .bind(now)
            .fetch_one(p)
            .await
        })?;
        Ok((n.unwrap_or(0), oldest))
    }

    /// The delivery with this id when it is a batch's device without a row of its own.
    pub(crate) async fn batch_delivery(&self, id: i64) -> Result<Option<DeliveryRow>, StoreError> {
        let row: Option<BatchRow> = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT message_id, first_id, devices, state, attempts, updated_at FROM device_batches
                 WHERE first_id <= $1 ORDER BY first_id DESC LIMIT 1",
            )
            .bind(id)
            .fetch_optional(p)
            .await
        })?;
        let Some(b) = row else { return Ok(None) };
        let devices = decode(&b.devices);
        let Some(device_id) = usize::try_from(id - b.first_id).ok().and_then(|i| devices.get(i).copied()) else {
            return Ok(None);
        };
        Ok(Some(DeliveryRow {
            id,
            message_id: b.message_id,
            participant_id: 0,
            device_id,
            channel: "push".into(),
            state: if b.state == "done" { "sent".into() } else { b.state },
            attempts: b.attempts,
            last_error: None,
            updated_at: b.updated_at,
        }))
    }

    /// The actions whose batches hold a device: (action id, the device's delivery id).
    pub(crate) async fn batch_device_actions(&self, device_id: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        let rows: Vec<(i64, i64, Vec<u8>)> = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT m.action_id, b.first_id, b.devices FROM device_batches b JOIN messages m ON m.id = b.message_id
                 WHERE b.lo <= $1 AND b.hi >= $1 AND m.action_id IS NOT NULL AND b.state <> 'expired'",
            )
            .bind(device_id)
            .fetch_all(p)
            .await
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(action, first, blob)| {
                let devices = decode(&blob);
                devices.binary_search(&device_id).ok().map(|i| (action, first + i as i64))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_ids_survive_encoding() {
        let ids = vec![1, 2, 300, i64::MAX, 0x0102_0304_0506_0708];
        assert_eq!(decode(&encode(&ids)), ids);
        assert_eq!(encode(&[1]).len(), 8);
        assert!(decode(&[1, 2, 3]).is_empty(), "a partial id is ignored");
    }

    #[test]
    fn batch_counts_merge_with_row_counts() {
        let mut counts = vec![("push".into(), "sent".into(), 3), ("sms".into(), "sent".into(), 2)];
        merge_counts(&mut counts, vec![("sent".into(), 10), ("pending".into(), 5), ("expired".into(), 0)]);
        assert_eq!(
            counts,
            vec![("push".into(), "pending".into(), 5), ("push".into(), "sent".into(), 13), ("sms".into(), "sent".into(), 2)]
        );
    }
}
