//! The second person's approval of an action draft (`approval.second_person`): one conditional
//! update that itself refuses the draft's creator, anything but a draft, a draft approved
//! already, and a draft that changed since its approver looked at it (its version). And of an
//! information message held for one (`approval.information_municipalities`).

use crate::actions::{INSERT_MESSAGE, NewMessage, bind_message};
use crate::{Store, StoreError};

impl Store {
    /// Records `approver`'s approval of draft `id` as it was at `version`. `false` when it is
    /// no longer a draft, is already approved, was made by `approver` (four eyes), or is no
    /// longer at `version`; the caller reads the action again to say which.
    pub async fn approve_action(&self, id: i64, approver: i64, version: i64, now: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query(
                "UPDATE actions SET approved_by = $1, approved_at = $2, updated_at = $2
                 WHERE id = $3 AND state = 'draft' AND approved_by IS NULL AND created_by <> $1 AND version = $4",
            )
            .bind(approver)
            .bind(now)
            .bind(id)
            .bind(version)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }
}

impl Store {
    /// Writes an information message that waits for a second person (`fanout_state` `held`:
    /// no fan-out claims it) until [`Store::approve_message`].
    pub async fn insert_held_message(&self, m: &NewMessage, now: i64) -> Result<i64, StoreError> {
        let id = self.allocate_ids("messages", 1).await?;
        with_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                bind_message!(sqlx::query(INSERT_MESSAGE), id, m, now).execute(&mut *tx).await?;
                sqlx::query("UPDATE messages SET fanout_state = 'held' WHERE id = $1").bind(id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok::<_, sqlx::Error>(())
            }
            .await
        })?;
        Ok(id)
    }

    /// Releases a held information message for its fan-out (at its send time, or at once when
    /// that has passed), approved by `approver`. `false` when it is not held (any more) or
    /// `approver` wrote it (four eyes, refused by the update itself).
    pub async fn approve_message(&self, id: i64, approver: i64, now: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query(
                "UPDATE messages SET fanout_state = 'pending', approved_by = $1, approved_at = $2
                 WHERE id = $3 AND action_id IS NULL AND fanout_state = 'held' AND created_by <> $1",
            )
            .bind(approver)
            .bind(now)
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }
}
