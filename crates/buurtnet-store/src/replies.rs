//! Replies: what residents send back — a reply to a neighbourhood enquiry, a tip during an
//! urgent action (later a message in a conversation) — in one model keyed by what it answers
//! ([`Answers`]). With them: the personal reply links (only their SHA-256 kept, one reply per
//! link), the photos' metadata (the bytes live in a folder), the messages a reply causes (the
//! acknowledgement, the handler's answer), each written in one transaction with the change that
//! causes it, and the retention of the photos.

use crate::actions::{INSERT_MESSAGE, NewMessage, bind_message};
use crate::{Store, StoreError};
use sqlx::FromRow;

/// What a reply (or a reply link) answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Answers {
    /// A neighbourhood enquiry: a reply, handled by the enquiry's handlers.
    Enquiry(i64),
    /// An urgent action: a tip, for its control room's dispatchers.
    Action(i64),
}

impl Answers {
    /// The (enquiry_id, action_id) columns.
    fn columns(self) -> (Option<i64>, Option<i64>) {
        match self {
            Answers::Enquiry(id) => (Some(id), None),
            Answers::Action(id) => (None, Some(id)),
        }
    }

    fn from_columns(enquiry_id: Option<i64>, action_id: Option<i64>) -> Option<Answers> {
        match (enquiry_id, action_id) {
            (Some(e), None) => Some(Answers::Enquiry(e)),
            (None, Some(a)) => Some(Answers::Action(a)),
            _ => None,
        }
    }
}

/// The tips of a sent action: keyed by the action itself, open while it is active (residents
/// reached by its first message, or its page, send them; its control room reads them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionTips {
    /// The action's id (what the tips answer).
    pub id: i64,
    pub open: bool,
}

#[derive(Debug, Clone, FromRow)]
pub struct ReplyTokenRow {
    pub token_hash: String,
    pub enquiry_id: Option<i64>,
    pub action_id: Option<i64>,
    pub participant_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

impl ReplyTokenRow {
    /// What the link answers (`None` only for a row the schema's check would refuse).
    pub fn answers(&self) -> Option<Answers> {
        Answers::from_columns(self.enquiry_id, self.action_id)
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct ReplyRow {
    pub id: i64,
    /// Set for a reply to a neighbourhood enquiry.
    pub enquiry_id: Option<i64>,
    /// Set for a tip during an urgent action.
    pub action_id: Option<i64>,
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

impl ReplyRow {
    /// What the reply answers (`None` only for a row the schema's check would refuse).
    pub fn answers(&self) -> Option<Answers> {
        Answers::from_columns(self.enquiry_id, self.action_id)
    }
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

    /// One reply link: (hash, what it answers, participant), made `now`, valid until `expires_at`.
    pub async fn insert_reply_token(
        &self,
        token_hash: &str,
        answers: Answers,
        participant_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.insert_reply_tokens(&[(token_hash.to_string(), answers, participant_id)], now, expires_at).await
    }

    /// Many reply links at once: (hash, what it answers, participant), all made `now`, valid
    /// until `expires_at`.
    pub async fn insert_reply_tokens(
        &self,
        tokens: &[(String, Answers, i64)],
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        for chunk in tokens.chunks(1000) {
            with_pool!(self, |p| {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO reply_tokens (token_hash, enquiry_id, action_id, participant_id, created_at, expires_at) ",
                );
                qb.push_values(chunk, |mut b, (hash, answers, participant)| {
                    let (enquiry, action) = answers.columns();
                    b.push_bind(hash.as_str())
                        .push_bind(enquiry)
                        .push_bind(action)
                        .push_bind(*participant)
                        .push_bind(now)
                        .push_bind(expires_at);
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
                let token: Option<(Option<i64>, Option<i64>, i64)> = sqlx::query_as(
                    "UPDATE reply_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
                 RETURNING enquiry_id, action_id, participant_id",
                )
                .bind(r.now)
                .bind(&r.token_hash)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((enquiry_id, action_id, participant_id)) = token else {
                    return Ok::<_, sqlx::Error>(false);
                };
                sqlx::query(
                    "INSERT INTO replies (id, enquiry_id, action_id, participant_id, text, phone, language, status, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'new', $8, $8)",
                )
                .bind(id)
                .bind(enquiry_id)
                .bind(action_id)
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

    /// Tips (replies to an action) received since `since`, oldest first: (reply id, action id).
    pub async fn recent_tips(&self, since: i64, limit: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT id, action_id FROM replies WHERE created_at >= $1 AND action_id IS NOT NULL ORDER BY id LIMIT $2",
            )
            .bind(since)
            .bind(limit)
            .fetch_all(p)
            .await
        })?)
    }

    /// The replies to an enquiry, oldest first.
    pub async fn replies(&self, enquiry_id: i64) -> Result<Vec<ReplyRow>, StoreError> {
        self.replies_to(Answers::Enquiry(enquiry_id)).await
    }

    /// The replies to an enquiry or the tips to an action, oldest first.
    pub async fn replies_to(&self, answers: Answers) -> Result<Vec<ReplyRow>, StoreError> {
        let sql = match answers {
            Answers::Enquiry(_) => "SELECT * FROM replies WHERE enquiry_id = $1 ORDER BY id",
            Answers::Action(_) => "SELECT * FROM replies WHERE action_id = $1 ORDER BY id",
        };
        let (Answers::Enquiry(id) | Answers::Action(id)) = answers;
        Ok(with_pool!(self, |p| sqlx::query_as(sql).bind(id).fetch_all(p).await)?)
    }

    /// The tips of an action once it has been sent; `None` for a draft or an unknown action.
    pub async fn tips_of_action(&self, action_id: i64) -> Result<Option<ActionTips>, StoreError> {
        let state: Option<String> = with_pool!(self, |p| {
            sqlx::query_scalar("SELECT state FROM actions WHERE id = $1 AND sent_at IS NOT NULL")
                .bind(action_id)
                .fetch_optional(p)
                .await
        })?;
        Ok(state.map(|s| ActionTips { id: action_id, open: s == "active" }))
    }

    /// What a message's recipients answer with their own links: its enquiry, or the action it
    /// starts. `None` for every other message.
    pub async fn answers_of_message(&self, message_id: i64) -> Result<Option<Answers>, StoreError> {
        let enquiry: Option<i64> = with_pool!(self, |p| {
            sqlx::query_scalar("SELECT id FROM enquiries WHERE message_id = $1").bind(message_id).fetch_optional(p).await
        })?;
        if let Some(id) = enquiry {
            return Ok(Some(Answers::Enquiry(id)));
        }
        let action: Option<i64> = with_pool!(self, |p| {
            sqlx::query_scalar("SELECT id FROM actions WHERE first_message_id = $1").bind(message_id).fetch_optional(p).await
        })?;
        Ok(action.map(Answers::Action))
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

    /// Photos of replies to enquiries (and of tips to actions) closed before `closed_before`:
    /// removes their rows and returns the files (SHA-256) no remaining row refers to, for the
    /// caller to delete.
    pub async fn expire_reply_photos(&self, closed_before: i64) -> Result<Vec<String>, StoreError> {
        let gone: Vec<(String, String)> = with_pool!(self, |p| {
            sqlx::query_as(
                "DELETE FROM reply_photos WHERE reply_id IN
                   (SELECT r.id FROM replies r JOIN enquiries e ON e.id = r.enquiry_id WHERE e.closed_at IS NOT NULL AND e.closed_at < $1
                    UNION ALL
                    SELECT r.id FROM replies r JOIN actions a ON a.id = r.action_id WHERE a.closed_at IS NOT NULL AND a.closed_at < $1)
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
