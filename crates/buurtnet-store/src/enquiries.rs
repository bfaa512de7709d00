//! Neighbourhood enquiries, the personal reply links sent with them, the replies (and their
//! photos' metadata: the bytes live in a folder), and the messages a reply causes (the
//! acknowledgement, the handler's answer) — each written in one transaction with the change
//! that causes it, so nothing is half-written and nothing lost.

use crate::actions::{INSERT_MESSAGE, NewMessage, bind_message};
use crate::{Store, StoreError};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct EnquiryRow {
    pub id: i64,
    pub scope: String,
    pub municipality: String,
    pub incident_type: String,
    pub occurred_at: i64,
    pub lat: f64,
    pub lon: f64,
    pub radius_m: i64,
    pub description: String,
    pub questions: String,
    pub state: String,
    pub return_comment: Option<String>,
    pub requested_by: i64,
    pub decided_by: Option<i64>,
    pub message_id: Option<i64>,
    /// Set for an urgent action's tip channel (not a neighbourhood enquiry).
    pub action_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub sent_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// Goes up with every change to the request (its texts, its photo): an approval names the
    /// version its approver reviewed and takes only that one.
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct NewEnquiry {
    pub scope: String,
    pub municipality: String,
    pub incident_type: String,
    pub occurred_at: i64,
    pub lat: f64,
    pub lon: f64,
    pub radius_m: i64,
    pub description: String,
    pub questions: String,
    pub requested_by: i64,
    pub now: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct ReplyTokenRow {
    pub token_hash: String,
    pub enquiry_id: i64,
    pub participant_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Debug, Clone, FromRow)]
pub struct ReplyRow {
    pub id: i64,
    pub enquiry_id: i64,
    pub participant_id: i64,
    pub text: String,
    pub phone: Option<String>,
    pub language: String,
    pub status: String,
    pub classification: Option<String>,
    pub forwarded_at: Option<i64>,
    pub answer: Option<String>,
    pub answered_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct ReplyPhotoRow {
    pub id: String,
    pub reply_id: i64,
    pub position: i64,
    pub sha256: String,
    pub width: i64,
    pub height: i64,
    pub bytes: i64,
    pub created_at: i64,
}

/// A reply to store, with its photos (already in the photo folder).
#[derive(Debug, Clone)]
pub struct NewReply {
    pub token_hash: String,
    pub text: String,
    pub phone: Option<String>,
    pub language: String,
    pub photos: Vec<ReplyPhotoRow>,
    pub now: i64,
}

/// A message to exactly one person on one channel (an acknowledgement, an answer): written
/// with its delivery, its fan-out already done.
#[derive(Debug, Clone)]
pub struct DirectMessage {
    pub message: NewMessage,
    pub participant_id: i64,
    pub channel: &'static str,
}

/// One sent enquiry with what monitoring needs.
#[derive(Debug, Clone, FromRow)]
pub struct EnquiryStats {
    pub id: i64,
    pub scope: String,
    pub municipality: String,
    pub occurred_at: i64,
    pub sent_at: i64,
    pub recipients: i64,
    pub replies: i64,
    pub relevant: i64,
    pub classified: i64,
    pub open: i64,
}

/// Writes a direct message and its single delivery inside a transaction.
macro_rules! insert_direct {
    ($tx:expr, $ids:expr, $d:expr, $now:expr) => {{
        let (message_id, delivery_id) = $ids;
        bind_message!(sqlx::query(INSERT_MESSAGE), message_id, $d.message, $now).execute(&mut *$tx).await?;
        sqlx::query("UPDATE messages SET fanout_state = 'done', fanout_done_at = $1, recipients = 1 WHERE id = $2")
            .bind($now)
            .bind(message_id)
            .execute(&mut *$tx)
            .await?;
        sqlx::query(
            "INSERT INTO deliveries (id, message_id, participant_id, device_id, channel, state, priority, next_at, updated_at)
             VALUES ($1, $2, $3, 0, $4, 'pending', $5, $6, $6)",
        )
        .bind(delivery_id)
        .bind(message_id)
        .bind($d.participant_id)
        .bind($d.channel)
        .bind($d.message.priority)
        .bind($now)
        .execute(&mut *$tx)
        .await?;
    }};
}

impl Store {
    async fn direct_ids(&self, d: &Option<DirectMessage>) -> Result<Option<(i64, i64)>, StoreError> {
        Ok(match d {
            Some(_) => Some((self.allocate_ids("messages", 1).await?, self.allocate_ids("deliveries", 1).await?)),
            None => None,
        })
    }

    pub async fn insert_enquiry(&self, e: &NewEnquiry) -> Result<i64, StoreError> {
        let id = self.allocate_ids("enquiries", 1).await?;
        with_pool!(self, |p| {
            sqlx::query(
                "INSERT INTO enquiries (id, scope, municipality, incident_type, occurred_at, lat, lon, radius_m, description, questions,
                    state, requested_by, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'requested', $11, $12, $12)",
            )
            .bind(id)
            .bind(&e.scope)
            .bind(&e.municipality)
            .bind(&e.incident_type)
            .bind(e.occurred_at)
            .bind(e.lat)
            .bind(e.lon)
            .bind(e.radius_m)
            .bind(&e.description)
            .bind(&e.questions)
            .bind(e.requested_by)
            .bind(e.now)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(id)
    }

    pub async fn enquiry(&self, id: i64) -> Result<Option<EnquiryRow>, StoreError> {
        Ok(with_pool!(self, |p| sqlx::query_as("SELECT * FROM enquiries WHERE id = $1").bind(id).fetch_optional(p).await)?)
    }

    /// Enquiries, newest first, optionally of one municipality and in one state.
    pub async fn enquiries(
        &self,
        municipality: Option<&str>,
        state: Option<&str>,
        limit: i64,
    ) -> Result<Vec<EnquiryRow>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT * FROM enquiries WHERE action_id IS NULL AND ($1 IS NULL OR municipality = $1) AND ($2 IS NULL OR state = $2)
                 ORDER BY id DESC LIMIT $3",
            )
            .bind(municipality)
            .bind(state)
            .bind(limit)
            .fetch_all(p)
            .await
        })?)
    }

    /// Approves a request: it becomes `sent` with its message (edited texts included), in one
    /// transaction. `None` when it was no longer a request, `approver` made it (four eyes,
    /// checked here too so that no race can slip past it), or it is no longer at `version` —
    /// the version its approver reviewed (a photo or text changed since).
    #[allow(clippy::too_many_arguments)]
    pub async fn approve_enquiry(
        &self,
        id: i64,
        approver: i64,
        version: i64,
        description: &str,
        questions: &str,
        message: &NewMessage,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let message_id = self.allocate_ids("messages", 1).await?;
        let moved = with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "UPDATE enquiries SET state = 'sent', decided_by = $1, message_id = $2, sent_at = $3, updated_at = $3,
                    description = $4, questions = $5, version = version + 1
                 WHERE id = $6 AND state = 'requested' AND requested_by <> $1 AND version = $7",
            )
            .bind(approver)
            .bind(message_id)
            .bind(now)
            .bind(description)
            .bind(questions)
            .bind(id)
            .bind(version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                bind_message!(sqlx::query(INSERT_MESSAGE), message_id, message, now).execute(&mut *tx).await?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(n == 1)
        })?;
        Ok(moved.then_some(message_id))
    }

    /// Returns a request to its requester with a comment. `false` when it was no longer a
    /// request or `by` made it.
    pub async fn return_enquiry(&self, id: i64, by: i64, comment: &str, now: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query(
                "UPDATE enquiries SET state = 'returned', decided_by = $1, return_comment = $2, updated_at = $3
                 WHERE id = $4 AND state = 'requested' AND requested_by <> $1",
            )
            .bind(by)
            .bind(comment)
            .bind(now)
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Closes a sent enquiry: its links stop working and the photo retention period starts.
    pub async fn close_enquiry(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query("UPDATE enquiries SET state = 'closed', closed_at = $1, updated_at = $1 WHERE id = $2 AND state = 'sent'")
                .bind(now)
                .bind(id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// The tip channel of an urgent action.
    pub async fn tips_of_action(&self, action_id: i64) -> Result<Option<EnquiryRow>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as("SELECT * FROM enquiries WHERE action_id = $1 ORDER BY id LIMIT 1")
                .bind(action_id)
                .fetch_optional(p)
                .await
        })?)
    }

    /// The enquiry (or action tip channel) a message was sent for: (id, action id).
    pub async fn enquiry_of_message(&self, message_id: i64) -> Result<Option<(i64, Option<i64>)>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as("SELECT id, action_id FROM enquiries WHERE message_id = $1").bind(message_id).fetch_optional(p).await
        })?)
    }

    pub async fn insert_reply_token(
        &self,
        token_hash: &str,
        enquiry_id: i64,
        participant_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, |p| {
            sqlx::query(
                "INSERT INTO reply_tokens (token_hash, enquiry_id, participant_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token_hash)
            .bind(enquiry_id)
            .bind(participant_id)
            .bind(now)
            .bind(expires_at)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Many reply tokens at once: (hash, enquiry, participant), all made `now`, valid until
    /// `expires_at`.
    pub async fn insert_reply_tokens(&self, tokens: &[(String, i64, i64)], now: i64, expires_at: i64) -> Result<(), StoreError> {
        for chunk in tokens.chunks(1000) {
            with_pool!(self, |p| {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO reply_tokens (token_hash, enquiry_id, participant_id, created_at, expires_at) ",
                );
                qb.push_values(chunk, |mut b, (hash, enquiry, participant)| {
                    b.push_bind(hash.as_str()).push_bind(*enquiry).push_bind(*participant).push_bind(now).push_bind(expires_at);
                });
                qb.build().execute(p).await.map(|r| r.rows_affected())
            })?;
        }
        Ok(())
    }

    pub async fn reply_token(&self, token_hash: &str) -> Result<Option<ReplyTokenRow>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as("SELECT * FROM reply_tokens WHERE token_hash = $1").bind(token_hash).fetch_optional(p).await
        })?)
    }

    /// Stores a reply through its link (used once: `None` when the link was used meanwhile),
    /// with its photos' rows and the acknowledgement to the resident, in one transaction.
    pub async fn insert_reply(&self, r: &NewReply, ack: Option<DirectMessage>) -> Result<Option<i64>, StoreError> {
        let id = self.allocate_ids("replies", 1).await?;
        let ids = self.direct_ids(&ack).await?;
        let stored = with_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                let token: Option<(i64, i64)> = sqlx::query_as(
                    "UPDATE reply_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
                 RETURNING enquiry_id, participant_id",
                )
                .bind(r.now)
                .bind(&r.token_hash)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((enquiry_id, participant_id)) = token else {
                    return Ok::<_, sqlx::Error>(false);
                };
                sqlx::query(
                    "INSERT INTO replies (id, enquiry_id, participant_id, text, phone, language, status, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 'new', $7, $7)",
                )
                .bind(id)
                .bind(enquiry_id)
                .bind(participant_id)
                .bind(&r.text)
                .bind(&r.phone)
                .bind(&r.language)
                .bind(r.now)
                .execute(&mut *tx)
                .await?;
                for ph in &r.photos {
                    sqlx::query(
                        "INSERT INTO reply_photos (id, reply_id, position, sha256, width, height, bytes, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(&ph.id)
                    .bind(id)
                    .bind(ph.position)
                    .bind(&ph.sha256)
                    .bind(ph.width)
                    .bind(ph.height)
                    .bind(ph.bytes)
                    .bind(r.now)
                    .execute(&mut *tx)
                    .await?;
                }
                if let (Some(d), Some(ids)) = (&ack, ids) {
                    let d = DirectMessage { participant_id, ..d.clone() };
                    insert_direct!(tx, ids, d, r.now);
                }
                tx.commit().await?;
                Ok(true)
            }
            .await
        })?;
        Ok(stored.then_some(id))
    }

    pub async fn reply(&self, id: i64) -> Result<Option<ReplyRow>, StoreError> {
        Ok(with_pool!(self, |p| sqlx::query_as("SELECT * FROM replies WHERE id = $1").bind(id).fetch_optional(p).await)?)
    }

    /// Tips (replies to an action's tip channel) received since `since`, oldest first:
    /// (reply id, action id).
    pub async fn recent_tips(&self, since: i64, limit: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT r.id, e.action_id FROM replies r JOIN enquiries e ON e.id = r.enquiry_id
                 WHERE r.created_at >= $1 AND e.action_id IS NOT NULL ORDER BY r.id LIMIT $2",
            )
            .bind(since)
            .bind(limit)
            .fetch_all(p)
            .await
        })?)
    }

    /// The replies to an enquiry, oldest first.
    pub async fn replies(&self, enquiry_id: i64) -> Result<Vec<ReplyRow>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as("SELECT * FROM replies WHERE enquiry_id = $1 ORDER BY id").bind(enquiry_id).fetch_all(p).await
        })?)
    }

    pub async fn reply_photos(&self, reply_id: i64) -> Result<Vec<ReplyPhotoRow>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as("SELECT * FROM reply_photos WHERE reply_id = $1 ORDER BY position").bind(reply_id).fetch_all(p).await
        })?)
    }

    pub async fn reply_photo(&self, id: &str) -> Result<Option<ReplyPhotoRow>, StoreError> {
        Ok(with_pool!(self, |p| sqlx::query_as("SELECT * FROM reply_photos WHERE id = $1").bind(id).fetch_optional(p).await)?)
    }

    /// Sets a reply's classification; a new reply becomes classified (an answered one stays
    /// answered).
    pub async fn classify_reply(&self, id: i64, classification: &str, now: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query(
                "UPDATE replies SET classification = $1, updated_at = $2,
                    status = CASE WHEN status = 'new' THEN 'classified' ELSE status END WHERE id = $3",
            )
            .bind(classification)
            .bind(now)
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    pub async fn mark_reply_forwarded(&self, id: i64, now: i64) -> Result<(), StoreError> {
        with_pool!(self, |p| {
            sqlx::query("UPDATE replies SET forwarded_at = $1, updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Records the final answer and writes its message to the resident, in one transaction.
    /// `false` when the reply had been answered already.
    pub async fn answer_reply(&self, id: i64, answer: &str, message: DirectMessage, now: i64) -> Result<bool, StoreError> {
        let d = Some(message);
        let ids = self.direct_ids(&d).await?;
        let answered = with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "UPDATE replies SET status = 'answered', answer = $1, answered_at = $2, updated_at = $2 WHERE id = $3 AND status <> 'answered'",
            )
            .bind(answer)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                if let (Some(d), Some(ids)) = (&d, ids) {
                    insert_direct!(tx, ids, d, now);
                }
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(n == 1)
        })?;
        Ok(answered)
    }

    /// Every enquiry sent in `[from, to)` with its recipients and reply counts.
    pub async fn enquiry_stats(&self, from: i64, to: i64) -> Result<Vec<EnquiryStats>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT e.id, e.scope, e.municipality, e.occurred_at, e.sent_at,
                    COALESCE(m.recipients, 0) AS recipients,
                    (SELECT COUNT(*) FROM replies r WHERE r.enquiry_id = e.id) AS replies,
                    (SELECT COUNT(*) FROM replies r WHERE r.enquiry_id = e.id AND r.classification = 'relevant') AS relevant,
                    (SELECT COUNT(*) FROM replies r WHERE r.enquiry_id = e.id AND r.classification IS NOT NULL) AS classified,
                    (SELECT COUNT(*) FROM replies r WHERE r.enquiry_id = e.id AND r.status <> 'answered') AS open
                 FROM enquiries e LEFT JOIN messages m ON m.id = e.message_id
                 WHERE e.action_id IS NULL AND e.sent_at IS NOT NULL AND e.sent_at >= $1 AND e.sent_at < $2 ORDER BY e.sent_at",
            )
            .bind(from)
            .bind(to)
            .fetch_all(p)
            .await
        })?)
    }

    /// Photos of enquiries closed before `closed_before`: removes their rows and returns the
    /// files (SHA-256) no remaining row refers to, for the caller to delete.
    pub async fn expire_reply_photos(&self, closed_before: i64) -> Result<Vec<String>, StoreError> {
        let gone: Vec<(String, String)> = with_pool!(self, |p| {
            sqlx::query_as(
                "DELETE FROM reply_photos WHERE reply_id IN
                   (SELECT r.id FROM replies r JOIN enquiries e ON e.id = r.enquiry_id WHERE e.closed_at IS NOT NULL AND e.closed_at < $1)
                 RETURNING id, sha256",
            )
            .bind(closed_before)
            .fetch_all(p)
            .await
        })?;
        let mut unused = Vec::new();
        for (_, sha) in gone {
            let still: i64 = with_pool!(self, |p| {
                sqlx::query_scalar("SELECT COUNT(*) FROM reply_photos WHERE sha256 = $1").bind(&sha).fetch_one(p).await
            })?;
            if still == 0 && !unused.contains(&sha) {
                unused.push(sha);
            }
        }
        Ok(unused)
    }
}
