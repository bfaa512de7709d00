//! The public photos: an action's (at most a few, added to its draft) and an enquiry
//! request's (one, set or replaced while it waits for approval), stored re-encoded as base64
//! JPEG and served under their random ids.

use crate::{Store, StoreError};
use sqlx::FromRow;

/// A stored photo of an action (without its bytes).
#[derive(Debug, Clone, FromRow)]
pub struct PhotoRow {
    pub id: String,
    pub action_id: i64,
    pub position: i64,
    pub width: i64,
    pub height: i64,
}

impl Store {
    /// Adds a photo as the action's next one while it is a draft, unless it has `max` already
    /// (then `false`, and nothing changes). The draft changes: its version goes up and a second
    /// person's approval of it lapses (they did not see this photo).
    pub async fn add_action_photo(
        &self,
        id: &str,
        action_id: i64,
        (width, height): (i64, i64),
        jpeg_base64: &str,
        max: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        Ok(with_pool!(self, |p| {
            async {
                // A write first (see `set_enquiry_photo`).
                let mut tx = p.begin().await?;
                let draft = sqlx::query(
                    "UPDATE actions SET version = version + 1, approved_by = NULL, approved_at = NULL, updated_at = $1
                     WHERE id = $2 AND state = 'draft'",
                )
                .bind(now)
                .bind(action_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if draft == 0 {
                    return Ok(false);
                }
                let added = sqlx::query(
                    "INSERT INTO action_photos (id, action_id, position, width, height, jpeg_base64, created_at)
                     SELECT $1, $2, COUNT(*), $3, $4, $5, $6 FROM action_photos WHERE action_id = $2 HAVING COUNT(*) < $7",
                )
                .bind(id)
                .bind(action_id)
                .bind(width)
                .bind(height)
                .bind(jpeg_base64)
                .bind(now)
                .bind(max)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if added == 0 {
                    // Full: the version and approval stay as they were (rolled back).
                    return Ok(false);
                }
                tx.commit().await?;
                Ok::<bool, sqlx::Error>(true)
            }
            .await
        })?)
    }

    /// An action's photos, in the order they were added.
    pub async fn action_photos(&self, action_id: i64) -> Result<Vec<PhotoRow>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT id, action_id, position, width, height FROM action_photos WHERE action_id = $1 ORDER BY position",
            )
            .bind(action_id)
            .fetch_all(p)
            .await
        })?)
    }

    /// A public photo's JPEG (base64): an action's, or an enquiry request's.
    pub async fn photo_jpeg(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_scalar(
                "SELECT jpeg_base64 FROM action_photos WHERE id = $1
                 UNION ALL SELECT jpeg_base64 FROM enquiry_photos WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await
        })?)
    }

    /// Sets (or replaces) the photo of an enquiry request, only while it waits for approval,
    /// and raises the request's version (an approval of what was there before no longer takes).
    /// Returns false when the enquiry is past that.
    pub async fn set_enquiry_photo(
        &self,
        id: &str,
        enquiry_id: i64,
        size: (i64, i64),
        jpeg_base64: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        Ok(with_pool!(self, |p| {
            async {
                // A write first: on SQLite a transaction that reads and then writes can be
                // refused (busy) when another writer committed in between. The version goes up
                // in the same transaction as the photo changes, so an approval racing with it
                // sees either the old photo at the old version or the new one at the new.
                let mut tx = p.begin().await?;
                let waiting = sqlx::query(
                    "UPDATE enquiries SET version = version + 1, updated_at = $1 WHERE id = $2 AND state = 'requested'",
                )
                .bind(now)
                .bind(enquiry_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if waiting == 0 {
                    // Past approval: nothing changes.
                    return Ok(false);
                }
                sqlx::query("DELETE FROM enquiry_photos WHERE enquiry_id = $1").bind(enquiry_id).execute(&mut *tx).await?;
                sqlx::query(
                    "INSERT INTO enquiry_photos (id, enquiry_id, width, height, jpeg_base64, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id)
                .bind(enquiry_id)
                .bind(size.0)
                .bind(size.1)
                .bind(jpeg_base64)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok::<bool, sqlx::Error>(true)
            }
            .await
        })?)
    }

    /// The photo of an enquiry request: (id, width, height).
    pub async fn enquiry_photo(&self, enquiry_id: i64) -> Result<Option<(String, i64, i64)>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as("SELECT id, width, height FROM enquiry_photos WHERE enquiry_id = $1")
                .bind(enquiry_id)
                .fetch_optional(p)
                .await
        })?)
    }
}
