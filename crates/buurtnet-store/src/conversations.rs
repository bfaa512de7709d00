//! Neighbourhood conversations: the conversations, their messages and the officials added to
//! them. Who reads what is decided here, in the SQL, for every read and every write:
//!
//! - a member reads a conversation addressed to a neighbourhood of one of their verified homes or
//!   to the street of one, and posts in it; a conversation to a whole neighbourhood they follow
//!   they read only;
//! - a staff member reads, and posts in, only a conversation they were added to: every staff
//!   query joins on `conversation_officials` with their own id, so no handler can show another.
//!
//! Conversation messages are kept in their own table rather than as a third kind of
//! `replies::Answers`: a reply is one resident's message to staff through a personal link, with a
//! handler's status, classification and answer, whereas a conversation message is written by any
//! member or an added official and read by the whole street or neighbourhood.

use crate::neighbourhood_members::VERIFIED_HOMES;

/// Inserts one message in a transaction (`$tx`), for either backend.
macro_rules! insert_message {
    ($tx:expr, $message_id:expr, $conversation_id:expr, $author:expr, $body:expr, $now:expr) => {{
        let (participant, street, staff, official) = match $author {
            Author::Member { participant_id, street } => (Some(*participant_id), street.clone(), None, None),
            Author::Official { staff_user_id, official } => (None, None, Some(*staff_user_id), Some(official.clone())),
        };
        sqlx::query(
            "INSERT INTO conversation_messages (id, conversation_id, participant_id, author_street, staff_user_id, official, body, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind($message_id)
        .bind($conversation_id)
        .bind(participant)
        .bind(street)
        .bind(staff)
        .bind(official)
        .bind($body)
        .bind($now)
        .execute(&mut *$tx)
        .await?;
    }};
}
use crate::{Store, StoreError};
use sqlx::FromRow;

/// Who reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// A participant (a member of the neighbourhood conversations).
    Member(i64),
    /// A staff member (an official once added to a conversation).
    Staff(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ConversationRow {
    pub id: i64,
    pub category: String,
    pub audience: String,
    pub neighbourhood_code: String,
    pub municipality_code: String,
    pub street: Option<String>,
    pub title: String,
    pub started_by_participant: Option<i64>,
    pub started_by_staff: Option<i64>,
    pub closed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A conversation as one reader sees it: whether they may post in it (a follower reads only).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct SeenConversation {
    #[sqlx(flatten)]
    pub conversation: ConversationRow,
    pub may_post: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ConversationMessageRow {
    pub id: i64,
    pub conversation_id: i64,
    pub participant_id: Option<i64>,
    /// The member's display name now (`None`: they left or their account is gone).
    pub author_name: Option<String>,
    pub author_street: Option<String>,
    /// For an official's message: `neighbourhood_officer` or `municipality`.
    pub official: Option<String>,
    pub body: String,
    pub created_at: i64,
}

/// Who writes a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Author {
    /// A member, writing from a home in this street.
    Member { participant_id: i64, street: Option<String> },
    /// An official (`neighbourhood_officer` or `municipality`).
    Official { staff_user_id: i64, official: String },
}

#[derive(Debug, Clone)]
pub struct NewConversation {
    pub category: String,
    pub audience: String,
    pub neighbourhood_code: String,
    pub municipality_code: String,
    pub street: Option<String>,
    pub title: String,
    pub body: String,
    pub author: Author,
    pub now: i64,
}

/// How many conversations of one category a municipality has (never their contents).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ConversationCount {
    pub municipality_code: String,
    pub category: String,
    pub open: i64,
    pub closed: i64,
}

/// Whether a member (`$1`) posts in conversation `c`: one of their verified homes lies in its
/// neighbourhood, or in its street. (`$2`: false, for [`VERIFIED_HOMES`].) Written as `IN`
/// subqueries so that the conversations' indexes drive the query.
fn member_posts() -> String {
    format!(
        "(EXISTS (SELECT 1 FROM neighbourhood_members nm WHERE nm.participant_id = $1)
          AND ((c.audience = 'neighbourhood' AND c.neighbourhood_code IN (SELECT a.neighbourhood_code FROM {VERIFIED_HOMES}))
            OR (c.audience = 'street' AND (c.municipality_code, c.street) IN (SELECT a.municipality_code, ap.street FROM {VERIFIED_HOMES}))))"
    )
}

/// Whether a member (`$1`) reads conversation `c`: they post in it, or it is addressed to a whole
/// neighbourhood they follow.
fn member_reads() -> String {
    format!(
        "({posts} OR (c.audience = 'neighbourhood'
            AND EXISTS (SELECT 1 FROM neighbourhood_members nm WHERE nm.participant_id = $1)
            AND c.neighbourhood_code IN (SELECT f.neighbourhood_code FROM neighbourhood_follows f WHERE f.participant_id = $1)))",
        posts = member_posts()
    )
}

/// A staff member (`$1`) reads and posts only where they were added.
const STAFF_ADDED: &str = "c.id IN (SELECT o.conversation_id FROM conversation_officials o WHERE o.staff_user_id = $1)";

/// The conversations `reader` sees, with `extra` (a condition on `c`, binding from `$3`).
fn seen_sql(reader: Reader, extra: &str) -> String {
    let (reads, posts) = match reader {
        Reader::Member(_) => (member_reads(), member_posts()),
        Reader::Staff(_) => (STAFF_ADDED.to_string(), STAFF_ADDED.to_string()),
    };
    format!(
        "SELECT c.*, CASE WHEN {posts} THEN 1 = 1 ELSE 1 = 0 END AS may_post FROM conversations c
         WHERE ($2 = $2) AND {reads} {extra}"
    )
}

fn reader_id(reader: Reader) -> i64 {
    match reader {
        Reader::Member(id) | Reader::Staff(id) => id,
    }
}

impl Store {
    /// Starts a conversation with its first message; an official who starts one is added to it.
    pub async fn start_conversation(&self, new: &NewConversation) -> Result<i64, StoreError> {
        let id = self.allocate_ids("conversations", 1).await?;
        let message_id = self.allocate_ids("conversation_messages", 1).await?;
        let (participant, staff) = match &new.author {
            Author::Member { participant_id, .. } => (Some(*participant_id), None),
            Author::Official { staff_user_id, .. } => (None, Some(*staff_user_id)),
        };
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query(
                "INSERT INTO conversations (id, category, audience, neighbourhood_code, municipality_code, street, title,
                    started_by_participant, started_by_staff, closed_at, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10, $10)",
            )
            .bind(id)
            .bind(&new.category)
            .bind(&new.audience)
            .bind(&new.neighbourhood_code)
            .bind(&new.municipality_code)
            .bind(&new.street)
            .bind(&new.title)
            .bind(participant)
            .bind(staff)
            .bind(new.now)
            .execute(&mut *tx)
            .await?;
            if let Author::Official { staff_user_id, official } = &new.author {
                sqlx::query(
                    "INSERT INTO conversation_officials (conversation_id, staff_user_id, official, invited_by_participant, added_at)
                     VALUES ($1, $2, $3, NULL, $4)",
                )
                .bind(id)
                .bind(staff_user_id)
                .bind(official)
                .bind(new.now)
                .execute(&mut *tx)
                .await?;
            }
            insert_message!(tx, message_id, id, &new.author, &new.body, new.now);
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(id)
    }

    /// One conversation, if `reader` sees it.
    pub async fn conversation_for(&self, reader: Reader, id: i64) -> Result<Option<SeenConversation>, StoreError> {
        let sql = seen_sql(reader, "AND c.id = $3");
        let row = with_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(reader_id(reader)).bind(false).bind(id).fetch_optional(p).await
        })?;
        Ok(row)
    }

    /// The conversations `reader` sees, newest first.
    pub async fn conversations_for(&self, reader: Reader, limit: i64) -> Result<Vec<SeenConversation>, StoreError> {
        let sql = seen_sql(reader, "ORDER BY c.id DESC LIMIT $3");
        let rows = with_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(reader_id(reader)).bind(false).bind(limit).fetch_all(p).await
        })?;
        Ok(rows)
    }

    /// The messages of a conversation `reader` sees (none otherwise), oldest first.
    pub async fn conversation_messages_for(&self, reader: Reader, id: i64) -> Result<Vec<ConversationMessageRow>, StoreError> {
        let reads = match reader {
            Reader::Member(_) => member_reads(),
            Reader::Staff(_) => STAFF_ADDED.to_string(),
        };
        let sql = format!(
            "SELECT m.id, m.conversation_id, m.participant_id, nm2.display_name AS author_name, m.author_street, m.official,
                    m.body, m.created_at
             FROM conversation_messages m
             JOIN conversations c ON c.id = m.conversation_id
             LEFT JOIN neighbourhood_members nm2 ON nm2.participant_id = m.participant_id
             WHERE ($2 = $2) AND m.conversation_id = $3 AND {reads}
             ORDER BY m.id"
        );
        let rows = with_pool!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(reader_id(reader)).bind(false).bind(id).fetch_all(p).await
        })?;
        Ok(rows)
    }

    /// Adds a message to an open conversation its author may post in; false (nothing stored)
    /// otherwise. The author's right is checked in the same statement.
    pub async fn add_conversation_message(
        &self,
        id: i64,
        author: &Author,
        body: &str,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let message_id = self.allocate_ids("conversation_messages", 1).await?;
        let (reader, street, staff, official) = match author {
            Author::Member { participant_id, street } => (Reader::Member(*participant_id), street.clone(), None, None),
            Author::Official { staff_user_id, official } => {
                (Reader::Staff(*staff_user_id), None, Some(*staff_user_id), Some(official.clone()))
            }
        };
        let posts = match reader {
            Reader::Member(_) => member_posts(),
            Reader::Staff(_) => STAFF_ADDED.to_string(),
        };
        let participant = match reader {
            Reader::Member(p) => Some(p),
            Reader::Staff(_) => None,
        };
        let sql = format!(
            "INSERT INTO conversation_messages (id, conversation_id, participant_id, author_street, staff_user_id, official, body, created_at)
             SELECT $3, c.id, $4, $5, $6, $7, $8, $9 FROM conversations c
             WHERE ($2 = $2) AND c.id = $10 AND c.closed_at IS NULL AND {posts}"
        );
        let stored = with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let n = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(reader_id(reader))
                .bind(false)
                .bind(message_id)
                .bind(participant)
                .bind(&street)
                .bind(staff)
                .bind(&official)
                .bind(body)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 {
                sqlx::query("UPDATE conversations SET updated_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(n == 1)
        })?;
        Ok(stored.then_some(message_id))
    }

    /// Adds officials (staff ids) to a conversation, once each; returns how many were new.
    pub async fn add_conversation_officials(
        &self,
        id: i64,
        staff_ids: &[i64],
        official: &str,
        invited_by_participant: Option<i64>,
        now: i64,
    ) -> Result<u64, StoreError> {
        let mut added = 0;
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            for staff in staff_ids {
                added += sqlx::query(
                    "INSERT INTO conversation_officials (conversation_id, staff_user_id, official, invited_by_participant, added_at)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (conversation_id, staff_user_id) DO NOTHING",
                )
                .bind(id)
                .bind(staff)
                .bind(official)
                .bind(invited_by_participant)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(added)
    }

    /// Closes a conversation its starter (`starter`) started; false otherwise or when closed.
    pub async fn close_conversation(&self, id: i64, starter: Reader, now: i64) -> Result<bool, StoreError> {
        let sql = match starter {
            Reader::Member(_) => {
                "UPDATE conversations SET closed_at = $1, updated_at = $1 WHERE id = $2 AND closed_at IS NULL AND started_by_participant = $3"
            }
            Reader::Staff(_) => {
                "UPDATE conversations SET closed_at = $1, updated_at = $1 WHERE id = $2 AND closed_at IS NULL AND started_by_staff = $3"
            }
        };
        let n = with_pool!(self, |p| {
            sqlx::query(sql).bind(now).bind(id).bind(reader_id(starter)).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// A participant's own messages (conversation, body, time), for their export.
    pub async fn conversation_messages_of_participant(&self, participant_id: i64) -> Result<Vec<(i64, String, i64)>, StoreError> {
        let rows = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT conversation_id, body, created_at FROM conversation_messages WHERE participant_id = $1 ORDER BY id",
            )
            .bind(participant_id)
            .fetch_all(p)
            .await
        })?;
        Ok(rows)
    }

    /// How many conversations each municipality has, per category (open and closed): what a
    /// coordinator or administrator sees.
    pub async fn conversation_counts(&self) -> Result<Vec<ConversationCount>, StoreError> {
        let rows = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT municipality_code, category,
                        SUM(CASE WHEN closed_at IS NULL THEN 1 ELSE 0 END) AS open,
                        SUM(CASE WHEN closed_at IS NULL THEN 0 ELSE 1 END) AS closed
                 FROM conversations GROUP BY municipality_code, category ORDER BY municipality_code, category",
            )
            .fetch_all(p)
            .await
        })?;
        Ok(rows)
    }
}
