//! Keeping the participant file healthy: once a year a participant is asked whether they still
//! take part; without an answer within the grace period they are paused with a reason. Every
//! change of `paused` refreshes the addresses' copies and goes into the change feed, as the
//! participant's own changes do.

use crate::{Store, StoreError};
use sqlx::FromRow;

/// Someone to ask: their language and a verified e-mail address or mobile number.
#[derive(Debug, Clone, FromRow)]
pub struct ToAsk {
    pub id: i64,
    pub language: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// Where a participant stands in the yearly confirmation.
#[derive(Debug, Clone, Default, PartialEq, FromRow)]
pub struct UpkeepState {
    pub confirmed_at: Option<i64>,
    pub confirm_asked_at: Option<i64>,
    pub paused_reason: Option<String>,
}

impl UpkeepState {
    /// Asked and not answered since.
    pub fn pending(&self) -> bool {
        self.confirm_asked_at.is_some_and(|asked| self.confirmed_at.is_none_or(|c| c < asked))
    }
}

/// Counts of one municipality's participant file.
#[derive(Debug, Clone, Default, PartialEq, FromRow)]
pub struct UpkeepCounts {
    pub participants: i64,
    pub paused_by_themselves: i64,
    pub paused_unconfirmed: i64,
    pub awaiting_confirmation: i64,
    pub confirmed_since: i64,
}

/// The time a participant last said they take part: their confirmation, else their sign-up.
const LAST_YES: &str = "COALESCE(p.confirmed_at, p.created_at)";

impl Store {
    /// Up to `limit` participants (not paused) whose last "yes" lies before `before` and who
    /// were not asked since, with a verified e-mail address or mobile number.
    pub async fn participants_to_ask(&self, before: i64, limit: i64) -> Result<Vec<ToAsk>, StoreError> {
        let sql = format!(
            "SELECT p.id, p.language,
                (SELECT c.value FROM contacts c WHERE c.participant_id = p.id AND c.kind = 'email' AND c.verified_at IS NOT NULL ORDER BY c.id LIMIT 1) AS email,
                (SELECT c.value FROM contacts c WHERE c.participant_id = p.id AND c.kind = 'phone' AND c.mobile AND c.verified_at IS NOT NULL ORDER BY c.id LIMIT 1) AS phone
             FROM participants p
             WHERE NOT p.paused AND {LAST_YES} < $1 AND (p.confirm_asked_at IS NULL OR p.confirm_asked_at < {LAST_YES})
             ORDER BY p.id LIMIT $2"
        );
        Ok(with_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(before).bind(limit).fetch_all(p).await)?)
    }

    /// Records that a participant was asked (only if still not asked since their last "yes").
    pub async fn mark_asked(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query(
                "UPDATE participants SET confirm_asked_at = $1 WHERE id = $2
                 AND (confirm_asked_at IS NULL OR confirm_asked_at < COALESCE(confirmed_at, created_at))",
            )
            .bind(now)
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Pauses (reason `no_confirmation`) everyone asked before `asked_before` who has not
    /// answered; returns their ids.
    pub async fn pause_unconfirmed(&self, asked_before: i64, now: i64) -> Result<Vec<i64>, StoreError> {
        Ok(with_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                let ids: Vec<i64> = sqlx::query_scalar(
                    "UPDATE participants SET paused = TRUE, paused_reason = 'no_confirmation', updated_at = $1
                     WHERE NOT paused AND confirm_asked_at IS NOT NULL AND confirm_asked_at < $2
                       AND (confirmed_at IS NULL OR confirmed_at < confirm_asked_at)
                     RETURNING id",
                )
                .bind(now)
                .bind(asked_before)
                .fetch_all(&mut *tx)
                .await?;
                for id in &ids {
                    sqlx::query(crate::targeting::REFRESH_FLAGS).bind(id).execute(&mut *tx).await?;
                    record_change!(tx, *id, *id, now);
                }
                tx.commit().await?;
                Ok::<_, sqlx::Error>(ids)
            }
            .await
        })?)
    }

    /// The participant says they still take part: confirmed now, and resumed when the system
    /// had paused them for not answering.
    pub async fn confirm_participant(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        Ok(with_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                let n = sqlx::query(
                    "UPDATE participants SET confirmed_at = $1, updated_at = $1,
                        paused = CASE WHEN paused_reason = 'no_confirmation' THEN FALSE ELSE paused END,
                        paused_reason = NULL
                     WHERE id = $2",
                )
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                sqlx::query(crate::targeting::REFRESH_FLAGS).bind(id).execute(&mut *tx).await?;
                record_change!(tx, id, id, now);
                tx.commit().await?;
                Ok::<_, sqlx::Error>(n == 1)
            }
            .await
        })?)
    }

    pub async fn upkeep_state(&self, id: i64) -> Result<UpkeepState, StoreError> {
        let row: Option<UpkeepState> = with_pool!(self, |p| {
            sqlx::query_as("SELECT confirmed_at, confirm_asked_at, paused_reason FROM participants WHERE id = $1")
                .bind(id)
                .fetch_optional(p)
                .await
        })?;
        Ok(row.unwrap_or_default())
    }

    /// The file of one municipality (by the participant's municipality): everyone, paused by
    /// themselves or for not confirming, waiting for an answer, and confirmed since `since`.
    pub async fn upkeep_counts(&self, municipality: &str, since: i64) -> Result<UpkeepCounts, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT COUNT(*) AS participants,
                    COALESCE(SUM(CASE WHEN paused AND paused_reason IS NULL THEN 1 ELSE 0 END), 0) AS paused_by_themselves,
                    COALESCE(SUM(CASE WHEN paused AND paused_reason = 'no_confirmation' THEN 1 ELSE 0 END), 0) AS paused_unconfirmed,
                    COALESCE(SUM(CASE WHEN NOT paused AND confirm_asked_at IS NOT NULL AND (confirmed_at IS NULL OR confirmed_at < confirm_asked_at) THEN 1 ELSE 0 END), 0) AS awaiting_confirmation,
                    COALESCE(SUM(CASE WHEN confirmed_at IS NOT NULL AND confirmed_at >= $2 THEN 1 ELSE 0 END), 0) AS confirmed_since
                 FROM participants WHERE municipality_code = $1",
            )
            .bind(municipality)
            .bind(since)
            .fetch_one(p)
            .await
        })?)
    }
}
