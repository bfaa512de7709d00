//! Urgent actions and the messages sent for them (and information messages), with the fan-out
//! job of each message: claimed under a lease, so a process that dies mid-way leaves it to
//! another, which resumes it (deliveries are unique per message, person, device and channel).

use crate::{Pool, Store, StoreError};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct ActionRow {
    pub id: i64,
    pub kind: String,
    pub level: String,
    pub status: String,
    pub state: String,
    /// The area as the dispatcher gave it (JSON).
    pub area: String,
    /// The dispatcher's texts and description (JSON).
    pub content: String,
    pub outcome: Option<String>,
    pub consent_by: Option<String>,
    pub consent_at: Option<i64>,
    pub created_by: i64,
    pub scope: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    pub reminded_at: Option<i64>,
    pub first_message_id: Option<i64>,
    /// Goes up with every change to the draft (a photo added): an approval names the version
    /// its approver reviewed.
    pub version: i64,
    /// The second person who approved the draft (`approval.second_person`), and when.
    pub approved_by: Option<i64>,
    pub approved_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewAction {
    pub kind: String,
    pub level: String,
    pub status: String,
    pub area: String,
    pub content: String,
    pub consent_by: Option<String>,
    pub consent_at: Option<i64>,
    pub created_by: i64,
    pub scope: String,
    pub now: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub action_id: Option<i64>,
    pub kind: String,
    pub status: String,
    pub priority: i64,
    pub override_quiet: bool,
    pub channels: i64,
    pub topic: String,
    pub area: Option<String>,
    pub scope: String,
    /// The rendered texts per language (JSON).
    pub content: String,
    pub created_by: i64,
    pub created_at: i64,
    pub send_at: i64,
    pub valid_until: i64,
    pub fanout_state: String,
    pub fanout_lease: i64,
    pub fanout_done_at: Option<i64>,
    #[sqlx(default)]
    pub fanout_again_at: Option<i64>,
    /// The delivery counts `(channel, state, n)` as JSON, once the rows were deleted.
    #[sqlx(default)]
    pub delivery_summary: Option<String>,
    pub recipients: i64,
    /// The second person who approved a held information message, and when.
    #[sqlx(default)]
    pub approved_by: Option<i64>,
    #[sqlx(default)]
    pub approved_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub action_id: Option<i64>,
    pub kind: String,
    pub status: String,
    pub priority: i64,
    pub override_quiet: bool,
    pub channels: i64,
    pub topic: String,
    pub area: Option<String>,
    pub scope: String,
    pub content: String,
    pub created_by: i64,
    pub send_at: i64,
    pub valid_until: i64,
}

/// A lifecycle step to write in one transaction.
#[derive(Debug, Clone)]
pub struct ActionStep {
    pub action_id: i64,
    pub from_state: String,
    pub to_state: String,
    pub outcome: Option<String>,
    /// The message the step sends, if any.
    pub message: Option<NewMessage>,
    /// Closing or cancelling: deliveries of earlier messages that have not left yet expire
    /// (they can no longer help).
    pub expire_pending: bool,
    /// The action needs a second person's approval (`approval.second_person`): the step only
    /// takes when it has one (checked in the update itself, so no race slips past it).
    pub needs_approval: bool,
    pub now: i64,
}

pub(crate) const INSERT_MESSAGE: &str = "INSERT INTO messages (id, action_id, kind, status, priority, override_quiet, channels, topic, area, scope, content, created_by, created_at, send_at, valid_until, fanout_state)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'pending')";

macro_rules! bind_message {
    ($q:expr, $id:expr, $m:expr, $now:expr) => {
        $q.bind($id)
            .bind($m.action_id)
            .bind(&$m.kind)
            .bind(&$m.status)
            .bind($m.priority)
            .bind($m.override_quiet)
            .bind($m.channels)
            .bind(&$m.topic)
            .bind(&$m.area)
            .bind(&$m.scope)
            .bind(&$m.content)
            .bind($m.created_by)
            .bind($now)
            .bind($m.send_at)
            .bind($m.valid_until)
    };
}

pub(crate) use bind_message;

/// A new draft action (bound by [`bind_action`]).
pub(crate) const INSERT_ACTION: &str =
    "INSERT INTO actions (id, kind, level, status, state, area, content, consent_by, consent_at, created_by, scope, created_at, updated_at)
     VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7, $8, $9, $10, $11, $11)";

macro_rules! bind_action {
    ($q:expr, $id:expr, $a:expr) => {
        $q.bind($id)
            .bind(&$a.kind)
            .bind(&$a.level)
            .bind(&$a.status)
            .bind(&$a.area)
            .bind(&$a.content)
            .bind(&$a.consent_by)
            .bind($a.consent_at)
            .bind($a.created_by)
            .bind(&$a.scope)
            .bind($a.now)
    };
}

pub(crate) use bind_action;

impl Store {
    pub async fn insert_action(&self, a: &NewAction) -> Result<i64, StoreError> {
        let id = self.allocate_ids("actions", 1).await?;
        with_pool!(self, |p| bind_action!(sqlx::query(INSERT_ACTION), id, a).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(id)
    }

    pub async fn action(&self, id: i64) -> Result<Option<ActionRow>, StoreError> {
        Ok(with_pool!(self, |p| sqlx::query_as("SELECT * FROM actions WHERE id = $1").bind(id).fetch_optional(p).await)?)
    }

    /// Actions, newest first; `state` `open` means draft or active; `scope` limits to actions
    /// made within that scope (`None`: all).
    pub async fn actions(&self, state: Option<&str>, scope: Option<&str>, limit: i64) -> Result<Vec<ActionRow>, StoreError> {
        let (a, b) = match state {
            Some("open") => (Some("draft"), Some("active")),
            Some(s) => (Some(s), Some(s)),
            None => (None, None),
        };
        Ok(with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT * FROM actions WHERE ($1 IS NULL OR state = $1 OR state = $2) AND ($3 IS NULL OR scope = $3)
                 ORDER BY id DESC LIMIT $4",
            )
            .bind(a)
            .bind(b)
            .bind(scope)
            .bind(limit)
            .fetch_all(p)
            .await
        })?)
    }

    /// Takes a lifecycle step: the action moves from `from_state` (or nothing happens and
    /// `None` comes back: someone else moved it first), its message is written, and for closing
    /// or cancelling, earlier deliveries that have not left expire. One transaction: once this
    /// returns, the message is durable and its fan-out will run.
    pub async fn step_action(&self, step: &ActionStep) -> Result<Option<Option<i64>>, StoreError> {
        let message_id = match &step.message {
            Some(_) => Some(self.allocate_ids("messages", 1).await?),
            None => None,
        };
        let moved = with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "UPDATE actions SET state = $1, updated_at = $2, outcome = COALESCE($3, outcome),
                    sent_at = CASE WHEN sent_at IS NULL AND $1 = 'active' THEN $2 ELSE sent_at END,
                    closed_at = CASE WHEN $1 IN ('closed', 'cancelled') THEN $2 ELSE closed_at END,
                    first_message_id = COALESCE(first_message_id, $4)
                 WHERE id = $5 AND state = $6 AND ($7 = 0 OR approved_by IS NOT NULL)",
            )
            .bind(&step.to_state)
            .bind(step.now)
            .bind(&step.outcome)
            .bind(if step.from_state == "draft" { message_id } else { None })
            .bind(step.action_id)
            .bind(&step.from_state)
            .bind(i64::from(step.needs_approval))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                if let (Some(id), Some(m)) = (message_id, &step.message) {
                    bind_message!(sqlx::query(INSERT_MESSAGE), id, m, step.now).execute(&mut *tx).await?;
                }
                if step.expire_pending {
                    // What of its start and updates has not left yet: single deliveries and
                    // device batches.
                    for (table, note) in [("deliveries", ", last_error = 'action ended'"), ("device_batches", "")] {
                        let sql = format!(
                            "UPDATE {table} SET state = 'expired', updated_at = $1{note} WHERE state = 'pending' AND message_id IN
                               (SELECT id FROM messages WHERE action_id = $2 AND kind IN ('start', 'update'))"
                        );
                        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(step.now).bind(step.action_id).execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(n == 1)
        })?;
        Ok(moved.then_some(message_id))
    }

    /// Writes a message that belongs to no action (information).
    pub async fn insert_message(&self, m: &NewMessage, now: i64) -> Result<i64, StoreError> {
        let id = self.allocate_ids("messages", 1).await?;
        with_pool!(self, |p| bind_message!(sqlx::query(INSERT_MESSAGE), id, m, now).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(id)
    }

    pub async fn message(&self, id: i64) -> Result<Option<MessageRow>, StoreError> {
        Ok(with_pool!(self, |p| sqlx::query_as("SELECT * FROM messages WHERE id = $1").bind(id).fetch_optional(p).await)?)
    }

    /// The messages of an action, oldest first.
    pub async fn action_messages(&self, action_id: i64) -> Result<Vec<MessageRow>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as("SELECT * FROM messages WHERE action_id = $1 ORDER BY id").bind(action_id).fetch_all(p).await
        })?)
    }

    /// Action messages made at or after `since` (Unix ms), oldest first: the live feed reads a
    /// trailing window, since ids are taken before their transaction commits (a lower id can
    /// appear after a higher one).
    pub async fn recent_action_messages(&self, since: i64, limit: i64) -> Result<Vec<MessageRow>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as("SELECT * FROM messages WHERE created_at >= $1 AND action_id IS NOT NULL ORDER BY id LIMIT $2")
                .bind(since)
                .bind(limit)
                .fetch_all(p)
                .await
        })?)
    }

    pub async fn last_message_id(&self) -> Result<i64, StoreError> {
        Ok(with_pool!(self, |p| sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM messages").fetch_one(p).await)?)
    }

    /// Claims one message whose fan-out is due (its send time has come) or whose last
    /// fan-out's lease ran out, most urgent first; the lease ends at `lease_until`.
    pub async fn claim_fanout(&self, now: i64, lease_until: i64) -> Result<Option<MessageRow>, StoreError> {
        let pick = "SELECT id FROM messages WHERE (fanout_state = 'pending' AND send_at <= $1)
                       OR (fanout_state = 'running' AND fanout_lease < $1)
                       OR (fanout_state = 'done' AND fanout_again_at <= $1)
                    ORDER BY priority, id LIMIT 1";
        let row = match &self.pool {
            Pool::Postgres(p) => {
                let sql = format!(
                    "UPDATE messages SET fanout_state = 'running', fanout_lease = $2, fanout_again_at = NULL WHERE id = ({pick} FOR UPDATE SKIP LOCKED) RETURNING *"
                );
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now).bind(lease_until).fetch_optional(p).await?
            }
            Pool::Sqlite(p) => {
                let sql = format!(
                    "UPDATE messages SET fanout_state = 'running', fanout_lease = $2, fanout_again_at = NULL WHERE id = ({pick}) RETURNING *"
                );
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now).bind(lease_until).fetch_optional(p).await?
            }
        };
        Ok(row)
    }

    /// Keeps a running fan-out's lease (call between blocks): from `lease` (what this fan-out
    /// holds) to `lease_until`. False when the claim is no longer this fan-out's (its lease ran
    /// out and another process took it over).
    pub async fn extend_fanout(&self, id: i64, lease: i64, lease_until: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query("UPDATE messages SET fanout_lease = $1 WHERE id = $2 AND fanout_state = 'running' AND fanout_lease = $3")
                .bind(lease_until)
                .bind(id)
                .bind(lease)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Asks for a finished fan-out to run again at `at` (quiet hours that kept people out end
    /// then); the re-run adds only deliveries not yet written.
    pub async fn fanout_again_at(&self, id: i64, at: i64) -> Result<(), StoreError> {
        with_pool!(self, |p| {
            sqlx::query("UPDATE messages SET fanout_again_at = $1 WHERE id = $2 AND fanout_state = 'done'")
                .bind(at)
                .bind(id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Puts a fan-out back to wait until `at` (e.g. an update whose start is still fanning out).
    pub async fn defer_fanout(&self, id: i64, at: i64) -> Result<(), StoreError> {
        with_pool!(self, |p| {
            sqlx::query("UPDATE messages SET fanout_state = 'pending', send_at = $1 WHERE id = $2")
                .bind(at)
                .bind(id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Marks a fan-out done with the number of deliveries its message has.
    pub async fn finish_fanout(&self, id: i64, now: i64) -> Result<i64, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_scalar(
                "UPDATE messages SET fanout_state = 'done', fanout_done_at = $1,
                    recipients = (SELECT COUNT(*) FROM deliveries WHERE message_id = $2)
                      + (SELECT COALESCE(SUM(size), 0) FROM device_batches WHERE message_id = $2)
                 WHERE id = $2 RETURNING recipients",
            )
            .bind(now)
            .bind(id)
            .fetch_one(p)
            .await
        })?)
    }

    /// Active actions sent before `cutoff` that have not had their reminder: marks them
    /// reminded and returns (id, dispatcher's staff id). Once per action, across processes.
    pub async fn due_reminders(&self, cutoff: i64, now: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as(
                "UPDATE actions SET reminded_at = $1 WHERE state = 'active' AND reminded_at IS NULL AND sent_at < $2
                 RETURNING id, created_by",
            )
            .bind(now)
            .bind(cutoff)
            .fetch_all(p)
            .await
        })?)
    }

    /// Reserves an idempotency key for a staff account. `Ok(None)`: reserved now, go ahead and
    /// [`Store::idempotency_done`] afterwards. `Ok(Some(..))`: seen before: (request hash,
    /// status, response); status 0 means the first request is still running.
    pub async fn idempotency_reserve(
        &self,
        user_id: i64,
        key: &str,
        request_hash: &str,
        now: i64,
    ) -> Result<Option<(String, i64, String)>, StoreError> {
        let inserted = with_pool!(self, |p| {
            sqlx::query(
                "INSERT INTO idempotency_keys (user_id, key, request_hash, status, response, created_at) VALUES ($1, $2, $3, 0, '', $4)
                 ON CONFLICT (user_id, key) DO NOTHING",
            )
            .bind(user_id)
            .bind(key)
            .bind(request_hash)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        if inserted == 1 {
            return Ok(None);
        }
        let row: Option<(String, i64, String)> = with_pool!(self, |p| {
            sqlx::query_as("SELECT request_hash, status, response FROM idempotency_keys WHERE user_id = $1 AND key = $2")
                .bind(user_id)
                .bind(key)
                .fetch_optional(p)
                .await
        })?;
        Ok(Some(row.unwrap_or_else(|| (request_hash.to_string(), 0, String::new()))))
    }

    /// Stores the answer for a reserved key (or releases the key when `status` is 0, so a
    /// request that failed without effect can be repeated).
    pub async fn idempotency_done(&self, user_id: i64, key: &str, status: i64, response: &str) -> Result<(), StoreError> {
        with_pool!(self, |p| {
            if status == 0 {
                sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status = 0")
                    .bind(user_id)
                    .bind(key)
                    .execute(p)
                    .await
                    .map(|r| r.rows_affected())
            } else {
                sqlx::query("UPDATE idempotency_keys SET status = $1, response = $2 WHERE user_id = $3 AND key = $4")
                    .bind(status)
                    .bind(response)
                    .bind(user_id)
                    .bind(key)
                    .execute(p)
                    .await
                    .map(|r| r.rows_affected())
            }
        })?;
        Ok(())
    }

    /// Forgets idempotency keys older than `before`.
    pub async fn prune_idempotency_keys(&self, before: i64) -> Result<u64, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                .bind(before)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?)
    }
}

impl Store {
    /// Records the family's consent for a missing person or runaway child.
    pub async fn record_action_consent(&self, id: i64, by: Option<&str>, at: Option<i64>, now: i64) -> Result<(), StoreError> {
        with_pool!(self, |p| {
            sqlx::query("UPDATE actions SET consent_by = $1, consent_at = $2, updated_at = $3 WHERE id = $4")
                .bind(by)
                .bind(at)
                .bind(now)
                .bind(id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}

pub use crate::photos::PhotoRow;
