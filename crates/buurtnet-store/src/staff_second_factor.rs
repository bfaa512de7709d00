//! Staff second factors (TOTP): the pending secret of an enrolment (per session), confirming
//! it, using a code's step once, counting wrong codes (per session and per account and day),
//! locking and resetting. Secrets arrive here sealed by the server (the store never sees them
//! in clear, except rows written before encryption, which the server seals at start).

use crate::{Store, StoreError};

/// What one wrong code adds up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotpFailures {
    /// Wrong codes given in this session (0 when the session is gone).
    pub session: i64,
    /// Wrong codes of the account since its window of a day began.
    pub day: i64,
}

impl Store {
    /// Puts the (sealed) secret of a new enrolment view on a session still at the password
    /// stage or, for a voluntary enrolment, a full one. Returns whether the session is live.
    pub async fn set_session_pending_totp(&self, token_hash: &str, sealed_secret: &str) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query("UPDATE staff_sessions SET pending_totp_secret = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
                .bind(sealed_secret)
                .bind(token_hash)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Confirms an enrolment: stores the (sealed) secret as the account's second factor with
    /// `step` as its first used step, and ends EVERY session of the account (the caller starts
    /// a new full one), all in one transaction. False when the account has a second factor
    /// already, or it is locked (nothing changes then).
    pub async fn confirm_totp(&self, staff_id: i64, sealed_secret: &str, step: i64, now: i64) -> Result<bool, StoreError> {
        let done = with_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                let n = sqlx::query(
                    "UPDATE staff_users SET totp_secret = $1, totp_enabled_at = $2, totp_last_step = $3,
                            totp_failures = 0, totp_failures_since = NULL
                     WHERE id = $4 AND totp_enabled_at IS NULL AND totp_locked_at IS NULL",
                )
                .bind(sealed_secret)
                .bind(now)
                .bind(step)
                .bind(staff_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n != 1 {
                    return Ok::<bool, sqlx::Error>(false);
                }
                sqlx::query("UPDATE staff_sessions SET revoked_at = $2 WHERE staff_id = $1 AND revoked_at IS NULL")
                    .bind(staff_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }
            .await
        })?;
        Ok(done)
    }

    /// Uses a TOTP step of a confirmed second factor: true only when `step` is later than the
    /// last step used (a code works once, even across processes) and the factor is not locked.
    pub async fn use_totp_step(&self, staff_id: i64, step: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query(
                "UPDATE staff_users SET totp_last_step = $1
                 WHERE id = $2 AND totp_secret IS NOT NULL AND totp_enabled_at IS NOT NULL AND totp_locked_at IS NULL
                   AND (totp_last_step IS NULL OR totp_last_step < $1)",
            )
            .bind(step)
            .bind(staff_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Counts a wrong code, in the session and in the account's window of `window_ms` (a new
    /// window starts with the first wrong code after the last one ended).
    pub async fn record_totp_failure(
        &self,
        staff_id: i64,
        token_hash: &str,
        now: i64,
        window_ms: i64,
    ) -> Result<TotpFailures, StoreError> {
        let counts = with_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                let session: Option<i64> = sqlx::query_scalar(
                    "UPDATE staff_sessions SET totp_failures = totp_failures + 1 WHERE token_hash = $1 RETURNING totp_failures",
                )
                .bind(token_hash)
                .fetch_optional(&mut *tx)
                .await?;
                let day: Option<i64> = sqlx::query_scalar(
                    "UPDATE staff_users SET
                        totp_failures = CASE WHEN totp_failures_since IS NULL OR totp_failures_since <= $2
                                             THEN 1 ELSE totp_failures + 1 END,
                        totp_failures_since = CASE WHEN totp_failures_since IS NULL OR totp_failures_since <= $2
                                                   THEN $3 ELSE totp_failures_since END
                     WHERE id = $1 RETURNING totp_failures",
                )
                .bind(staff_id)
                .bind(now - window_ms)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok::<_, sqlx::Error>(TotpFailures { session: session.unwrap_or(0), day: day.unwrap_or(0) })
            }
            .await
        })?;
        Ok(counts)
    }

    /// Locks an account's second factor (too many wrong codes) and ends its sessions. True only
    /// for the call that locked it (so its owner and the admins are told once).
    pub async fn lock_totp(&self, staff_id: i64, now: i64) -> Result<bool, StoreError> {
        let locked = with_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                let n = sqlx::query("UPDATE staff_users SET totp_locked_at = $1 WHERE id = $2 AND totp_locked_at IS NULL")
                    .bind(now)
                    .bind(staff_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                sqlx::query("UPDATE staff_sessions SET revoked_at = $2 WHERE staff_id = $1 AND revoked_at IS NULL")
                    .bind(staff_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<bool, sqlx::Error>(n == 1)
            }
            .await
        })?;
        Ok(locked)
    }

    /// Removes an account's second factor, its lock and its count of wrong codes (an admin
    /// resets it; the next sign-in enrols anew).
    pub async fn reset_totp(&self, staff_id: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query(
                "UPDATE staff_users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL,
                        totp_locked_at = NULL, totp_failures = 0, totp_failures_since = NULL
                 WHERE id = $1",
            )
            .bind(staff_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Every stored TOTP secret (account id, stored value), to seal the ones still in clear.
    pub async fn staff_totp_secrets(&self) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = with_pool!(self, |p| {
            sqlx::query_as("SELECT id, totp_secret FROM staff_users WHERE totp_secret IS NOT NULL ORDER BY id").fetch_all(p).await
        })?;
        Ok(rows)
    }

    /// Replaces a stored TOTP secret if it is still `old` (another process may have sealed it
    /// already). Returns whether it was replaced.
    pub async fn replace_totp_secret(&self, staff_id: i64, old: &str, new: &str) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query("UPDATE staff_users SET totp_secret = $1 WHERE id = $2 AND totp_secret = $3")
                .bind(new)
                .bind(staff_id)
                .bind(old)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }
}
