//! The devices linked to a participant's account (shown on their own page and in their export,
//! unlinked there) and signed links that work once.

use crate::devices::{DEVICE_COLUMNS, DeviceRecord};
use crate::{Store, StoreError};

impl Store {
    /// The devices linked to a participant, oldest first.
    pub async fn participant_devices(&self, participant_id: i64) -> Result<Vec<DeviceRecord>, StoreError> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE participant_id = $1 ORDER BY id");
        let rows = with_pool!(self, |p| sqlx::query_as::<_, DeviceRecord>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(participant_id)
            .fetch_all(p)
            .await)?;
        Ok(rows)
    }

    /// Unlinks a device from a participant: it no longer gets what the participant's addresses
    /// get (it keeps no place of its own, so it gets nothing until it is given one), and push
    /// stops counting as reachable for them when it was their last device. False when the
    /// device is not linked to this participant.
    pub async fn unlink_device(&self, device_id: i64, participant_id: i64, now: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let n =
                sqlx::query("UPDATE devices SET participant_id = NULL, updated_at = $1 WHERE id = $2 AND participant_id = $3")
                    .bind(now)
                    .bind(device_id)
                    .bind(participant_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            if n == 1 {
                sqlx::query(crate::targeting::REFRESH_FLAGS).bind(participant_id).execute(&mut *tx).await?;
                record_change!(tx, participant_id, participant_id, now);
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(n)
        })?;
        Ok(n == 1)
    }

    /// Spends a link that works once (its keyed hash), kept until `expires_at`: true the first
    /// time, false ever after (across every process sharing the database).
    pub async fn spend_link(&self, token_hash: &str, expires_at: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query("INSERT INTO spent_links (token_hash, expires_at) VALUES ($1, $2) ON CONFLICT (token_hash) DO NOTHING")
                .bind(token_hash)
                .bind(expires_at)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Forgets spent links that have expired (they no longer verify anyway).
    pub async fn prune_spent_links(&self, now: i64) -> Result<u64, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query("DELETE FROM spent_links WHERE expires_at < $1").bind(now).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(n)
    }
}
