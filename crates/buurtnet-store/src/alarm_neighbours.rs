//! Alarm neighbours and emergency presses (migration 0028): invitation codes (only their keyed
//! hash), the pairs (once, `participant_a < participant_b`), and the presses with the people each
//! went to. A press's message and its delivery rows are written in the press's transaction for
//! exactly those people (like the replies' direct messages): the fan-out only knows areas and
//! first messages, and an alert that must leave at once has no area.

use crate::actions::{INSERT_MESSAGE, NewMessage, bind_message};
use crate::deliveries::Target;
use crate::{Store, StoreError};
use sqlx::FromRow;

/// An invitation as stored.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct InvitationRow {
    pub participant_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// One of a resident's alarm neighbours: the pair's id, the other side and their display name.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AlarmNeighbourRow {
    pub id: i64,
    pub participant_id: i64,
    pub display_name: String,
    pub created_at: i64,
}

/// The address an alert names: a verified home's street, house number and town.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct StreetAddress {
    pub street: String,
    pub house_number: String,
    pub city: Option<String>,
}

/// A press of the emergency button.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct PressRow {
    pub id: i64,
    pub participant_id: i64,
    pub message_id: i64,
    pub recipients: i64,
    pub created_at: i64,
    pub cancelled_at: Option<i64>,
    pub cancel_message_id: Option<i64>,
}

/// The other side of the pairs of participant `$1`, who are still members.
const PAIRS_OF: &str = "alarm_neighbours n JOIN neighbourhood_members o
      ON o.participant_id = CASE WHEN n.participant_a = $1 THEN n.participant_b ELSE n.participant_a END
    WHERE n.participant_a = $1 OR n.participant_b = $1";

/// Writes an emergency message, marked fanned out, and its deliveries in a transaction.
macro_rules! insert_alert {
    ($tx:expr, $message_id:expr, $first_delivery:expr, $m:expr, $targets:expr, $now:expr) => {{
        bind_message!(sqlx::query(INSERT_MESSAGE), $message_id, $m, $now).execute(&mut *$tx).await?;
        sqlx::query("UPDATE messages SET fanout_state = 'done', fanout_done_at = $1, recipients = $2 WHERE id = $3")
            .bind($now)
            .bind($targets.len() as i64)
            .bind($message_id)
            .execute(&mut *$tx)
            .await?;
        for (i, t) in $targets.iter().enumerate() {
            sqlx::query(
                "INSERT INTO deliveries (id, message_id, participant_id, device_id, channel, state, priority, next_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $7)
                 ON CONFLICT (message_id, participant_id, device_id, channel) DO NOTHING",
            )
            .bind($first_delivery + i as i64)
            .bind($message_id)
            .bind(t.0)
            .bind(t.1)
            .bind(t.2.as_str())
            .bind($m.priority)
            .bind($now)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

impl Store {
    /// Stores an invitation code's hash.
    pub async fn insert_alarm_invitation(
        &self,
        participant_id: i64,
        code_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, |p| {
            sqlx::query(
                "INSERT INTO alarm_invitations (code_hash, participant_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(code_hash)
            .bind(participant_id)
            .bind(now)
            .bind(expires_at)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn alarm_invitation(&self, code_hash: &str) -> Result<Option<InvitationRow>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as("SELECT participant_id, created_at, expires_at, used_at FROM alarm_invitations WHERE code_hash = $1")
                .bind(code_hash)
                .fetch_optional(p)
                .await
        })?)
    }

    /// Deletes invitations that expired before `before` (kept a while so that a late try reads
    /// "expired" rather than "unknown").
    pub async fn prune_alarm_invitations(&self, before: i64) -> Result<u64, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query("DELETE FROM alarm_invitations WHERE expires_at < $1")
                .bind(before)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?)
    }

    /// Spends an invitation (unused, unexpired, not one's own) and pairs its inviter with
    /// `accepter`, in one transaction. `None` when the code was spent or expired meanwhile.
    pub async fn accept_alarm_invitation(&self, code_hash: &str, accepter: i64, now: i64) -> Result<Option<i64>, StoreError> {
        let id = self.allocate_ids("alarm_neighbours", 1).await?;
        Ok(with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let inviter: Option<i64> = sqlx::query_scalar(
                "UPDATE alarm_invitations SET used_at = $1, used_by = $2
                 WHERE code_hash = $3 AND used_at IS NULL AND expires_at > $1 AND participant_id <> $2 RETURNING participant_id",
            )
            .bind(now)
            .bind(accepter)
            .bind(code_hash)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(inviter) = inviter {
                sqlx::query(
                    "INSERT INTO alarm_neighbours (id, participant_a, participant_b, created_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (participant_a, participant_b) DO NOTHING",
                )
                .bind(id)
                .bind(inviter.min(accepter))
                .bind(inviter.max(accepter))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(inviter)
        })?)
    }

    /// Whether two participants are alarm neighbours.
    pub async fn are_alarm_neighbours(&self, a: i64, b: i64) -> Result<bool, StoreError> {
        let n: i64 = with_pool!(self, |p| {
            sqlx::query_scalar("SELECT COUNT(*) FROM alarm_neighbours WHERE participant_a = $1 AND participant_b = $2")
                .bind(a.min(b))
                .bind(a.max(b))
                .fetch_one(p)
                .await
        })?;
        Ok(n > 0)
    }

    /// One's alarm neighbours who are still members, by display name.
    pub async fn alarm_neighbours_of(&self, participant_id: i64) -> Result<Vec<AlarmNeighbourRow>, StoreError> {
        let sql =
            format!("SELECT n.id, o.participant_id, o.display_name, n.created_at FROM {PAIRS_OF} ORDER BY o.display_name, n.id");
        Ok(with_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(participant_id).fetch_all(p).await)?)
    }

    /// How many pairs a participant is in (members or not).
    pub async fn alarm_pair_count(&self, participant_id: i64) -> Result<i64, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_scalar("SELECT COUNT(*) FROM alarm_neighbours WHERE participant_a = $1 OR participant_b = $1")
                .bind(participant_id)
                .fetch_one(p)
                .await
        })?)
    }

    /// Ends a pair that `participant_id` is one side of (false: no such pair of theirs).
    pub async fn end_alarm_pair(&self, pair_id: i64, participant_id: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query("DELETE FROM alarm_neighbours WHERE id = $1 AND (participant_a = $2 OR participant_b = $2)")
                .bind(pair_id)
                .bind(participant_id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// The alarm neighbours an alert goes to now: members whose registration is not paused.
    pub async fn alarm_recipients(&self, participant_id: i64) -> Result<Vec<i64>, StoreError> {
        let sql = format!(
            "SELECT o.participant_id FROM {PAIRS_OF}
               AND EXISTS (SELECT 1 FROM participants pp WHERE pp.id = o.participant_id AND pp.paused = $2)
             ORDER BY o.participant_id"
        );
        Ok(with_pool!(self, |p| {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.as_str())).bind(participant_id).bind(false).fetch_all(p).await
        })?)
    }

    /// The channels (bits) of a participant's home addresses that they chose and that are
    /// verified, of the addresses not paused, together.
    pub async fn home_channels(&self, participant_id: i64) -> Result<i64, StoreError> {
        let rows: Vec<(i64, i64)> = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT channels, verified_channels FROM addresses WHERE participant_id = $1 AND kind = 'home' AND paused = $2",
            )
            .bind(participant_id)
            .bind(false)
            .fetch_all(p)
            .await
        })?;
        Ok(rows.into_iter().fold(0, |acc, (chosen, verified)| acc | (chosen & verified)))
    }

    /// The street address of one's first verified home that has one.
    pub async fn home_street_address(&self, participant_id: i64) -> Result<Option<StreetAddress>, StoreError> {
        let sql = format!(
            "SELECT ap.street, a.house_number, ap.city FROM {}
               AND ap.street IS NOT NULL AND a.house_number IS NOT NULL
             ORDER BY a.id LIMIT 1",
            crate::neighbourhood_members::VERIFIED_HOMES
        );
        Ok(with_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(participant_id).bind(false).fetch_optional(p).await
        })?)
    }

    /// A press: its message with its deliveries to `targets`, and the people it went to, in
    /// one transaction. Returns the press's id.
    pub async fn insert_emergency_press(
        &self,
        participant_id: i64,
        message: &NewMessage,
        recipients: &[i64],
        targets: &[Target],
        now: i64,
    ) -> Result<i64, StoreError> {
        let press_id = self.allocate_ids("emergency_presses", 1).await?;
        let message_id = self.allocate_ids("messages", 1).await?;
        let first = self.allocate_ids("deliveries", targets.len().max(1) as i64).await?;
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            insert_alert!(tx, message_id, first, message, targets, now);
            sqlx::query(
                "INSERT INTO emergency_presses (id, participant_id, message_id, recipients, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(press_id)
            .bind(participant_id)
            .bind(message_id)
            .bind(recipients.len() as i64)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            for r in recipients {
                sqlx::query("INSERT INTO emergency_recipients (press_id, participant_id) VALUES ($1, $2)")
                    .bind(press_id)
                    .bind(r)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(press_id)
    }

    /// One's presses, newest first.
    pub async fn emergency_presses_of(&self, participant_id: i64, limit: i64) -> Result<Vec<PressRow>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as("SELECT * FROM emergency_presses WHERE participant_id = $1 ORDER BY id DESC LIMIT $2")
                .bind(participant_id)
                .bind(limit)
                .fetch_all(p)
                .await
        })?)
    }

    /// One of one's own presses.
    pub async fn emergency_press(&self, id: i64, participant_id: i64) -> Result<Option<PressRow>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as("SELECT * FROM emergency_presses WHERE id = $1 AND participant_id = $2")
                .bind(id)
                .bind(participant_id)
                .fetch_optional(p)
                .await
        })?)
    }

    /// The people a press went to.
    pub async fn emergency_recipients(&self, press_id: i64) -> Result<Vec<i64>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_scalar("SELECT participant_id FROM emergency_recipients WHERE press_id = $1 ORDER BY participant_id")
                .bind(press_id)
                .fetch_all(p)
                .await
        })?)
    }

    /// Cancels a press of `participant_id` not cancelled yet: the alert's deliveries still
    /// waiting expire, and the cancellation goes to `targets`, in one transaction. False when it
    /// was cancelled already (or is not theirs).
    pub async fn cancel_emergency_press(
        &self,
        press_id: i64,
        participant_id: i64,
        message: &NewMessage,
        targets: &[Target],
        now: i64,
    ) -> Result<bool, StoreError> {
        let message_id = self.allocate_ids("messages", 1).await?;
        let first = self.allocate_ids("deliveries", targets.len().max(1) as i64).await?;
        Ok(with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let alert: Option<i64> = sqlx::query_scalar(
                "UPDATE emergency_presses SET cancelled_at = $1, cancel_message_id = $2
                 WHERE id = $3 AND participant_id = $4 AND cancelled_at IS NULL RETURNING message_id",
            )
            .bind(now)
            .bind(message_id)
            .bind(press_id)
            .bind(participant_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(alert) = alert {
                sqlx::query(
                    "UPDATE deliveries SET state = 'expired', last_error = 'cancelled', updated_at = $1
                     WHERE message_id = $2 AND state = 'pending'",
                )
                .bind(now)
                .bind(alert)
                .execute(&mut *tx)
                .await?;
                insert_alert!(tx, message_id, first, message, targets, now);
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(alert.is_some())
        })?)
    }
}

/// Deletes the messages (and their deliveries) of a participant's presses: their display
/// name and address go with their account.
pub(crate) const DELETE_PRESS_DELIVERIES: &str = "DELETE FROM deliveries WHERE message_id IN
        (SELECT message_id FROM emergency_presses WHERE participant_id = $1
         UNION SELECT cancel_message_id FROM emergency_presses WHERE participant_id = $1 AND cancel_message_id IS NOT NULL)";
pub(crate) const DELETE_PRESS_MESSAGES: &str = "DELETE FROM messages WHERE id IN
        (SELECT message_id FROM emergency_presses WHERE participant_id = $1
         UNION SELECT cancel_message_id FROM emergency_presses WHERE participant_id = $1 AND cancel_message_id IS NOT NULL)";
