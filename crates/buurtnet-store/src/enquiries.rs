//! Neighbourhood enquiries: the request, its four-eyes approval (written with its message in one
//! transaction), closing, and the monthly figures. Their replies are in [`crate::replies`].

pub use crate::replies::{DirectMessage, NewReply, ReplyPhotoRow, ReplyRow, ReplyTokenRow};

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

impl Store {
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
                "SELECT * FROM enquiries WHERE ($1 IS NULL OR municipality = $1) AND ($2 IS NULL OR state = $2)
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
                 WHERE e.sent_at IS NOT NULL AND e.sent_at >= $1 AND e.sent_at < $2 ORDER BY e.sent_at",
            )
            .bind(from)
            .bind(to)
            .fetch_all(p)
            .await
        })?)
    }
}
