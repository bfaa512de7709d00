//! Staff console sessions, second factors, password-reset links, account changes and the audit
//! log's browse/export queries. Every session check reads the database, so a revoked session or
//! a disabled account ends at once in every process.

use crate::{AuditEntry, AuditFilter, StaffSessionRow, StaffUserRow, Store, StoreError};

/// A session together with its (enabled) account.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub session: StaffSessionRow,
    pub user: StaffUserRow,
}

impl Store {
    pub async fn create_staff_session(
        &self,
        token_hash: &str,
        staff_id: i64,
        stage: &str,
        csrf_token: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, |p| {
            sqlx::query(
                "INSERT INTO staff_sessions (token_hash, staff_id, stage, csrf_token, created_at, last_seen_at)
                 VALUES ($1, $2, $3, $4, $5, $5)",
            )
            .bind(token_hash)
            .bind(staff_id)
            .bind(stage)
            .bind(csrf_token)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The session with this token hash if it is live at `now`: not revoked, seen after
    /// `idle_since`, created after `created_since`, and its account enabled. Marks it seen at
    /// `now` (one statement, so that idle expiry holds across processes).
    pub async fn live_staff_session(
        &self,
        token_hash: &str,
        now: i64,
        idle_since: i64,
        created_since: i64,
    ) -> Result<Option<LiveSession>, StoreError> {
        let session: Option<StaffSessionRow> = with_pool!(self, |p| {
            sqlx::query_as(
                "UPDATE staff_sessions SET last_seen_at = $2
                 WHERE token_hash = $1 AND revoked_at IS NULL AND last_seen_at > $3 AND created_at > $4
                   AND staff_id IN (SELECT id FROM staff_users WHERE disabled = $5)
                 RETURNING token_hash, staff_id, stage, csrf_token, created_at, last_seen_at, pending_totp_secret, totp_failures",
            )
            .bind(token_hash)
            .bind(now)
            .bind(idle_since)
            .bind(created_since)
            .bind(false)
            .fetch_optional(p)
            .await
        })?;
        let Some(session) = session else { return Ok(None) };
        let Some(user) = self.staff_user(session.staff_id).await? else { return Ok(None) };
        if user.disabled {
            return Ok(None);
        }
        Ok(Some(LiveSession { session, user }))
    }

    pub async fn revoke_staff_session(&self, token_hash: &str, now: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query("UPDATE staff_sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL")
                .bind(token_hash)
                .bind(now)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Ends every session of an account ("sign out everywhere"); returns how many were live.
    pub async fn revoke_staff_sessions_of(&self, staff_id: i64, now: i64) -> Result<u64, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query("UPDATE staff_sessions SET revoked_at = $2 WHERE staff_id = $1 AND revoked_at IS NULL")
                .bind(staff_id)
                .bind(now)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n)
    }

    /// Disables or enables an account. Disabling ends its sessions and API tokens in the same
    /// transaction, so nothing it held works a moment longer. Returns whether the account exists.
    pub async fn set_staff_disabled(&self, staff_id: i64, disabled: bool, now: i64) -> Result<bool, StoreError> {
        let found = with_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                let n = sqlx::query("UPDATE staff_users SET disabled = $1 WHERE id = $2")
                    .bind(disabled)
                    .bind(staff_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if disabled {
                    sqlx::query("UPDATE staff_sessions SET revoked_at = $2 WHERE staff_id = $1 AND revoked_at IS NULL")
                        .bind(staff_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                        .bind(staff_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok::<bool, sqlx::Error>(n == 1)
            }
            .await
        })?;
        Ok(found)
    }

    /// Changes an account's role and scope. Its sessions end (they were granted for the old
    /// role); API tokens stay and carry the new role.
    pub async fn set_staff_role(&self, staff_id: i64, role: &str, scope: &str, now: i64) -> Result<bool, StoreError> {
        let found = with_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                let n = sqlx::query("UPDATE staff_users SET role = $1, scope = $2 WHERE id = $3")
                    .bind(role)
                    .bind(scope)
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
        Ok(found)
    }

    /// Sets a new password hash and ends every session of the account.
    pub async fn set_staff_password(&self, staff_id: i64, password_hash: &str, now: i64) -> Result<(), StoreError> {
        with_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                sqlx::query("UPDATE staff_users SET password_hash = $1 WHERE id = $2")
                    .bind(password_hash)
                    .bind(staff_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE staff_sessions SET revoked_at = $2 WHERE staff_id = $1 AND revoked_at IS NULL")
                    .bind(staff_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            }
            .await
        })?;
        Ok(())
    }

    /// Marks a (demo) account as signing in without a second factor.
    pub async fn set_skip_second_factor(&self, staff_id: i64, skip: bool) -> Result<(), StoreError> {
        with_pool!(self, |p| {
            sqlx::query("UPDATE staff_users SET skip_second_factor = $1 WHERE id = $2")
                .bind(skip)
                .bind(staff_id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn create_password_reset(
        &self,
        token_hash: &str,
        staff_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, |p| {
            sqlx::query(
                "INSERT INTO staff_password_resets (token_hash, staff_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(staff_id)
            .bind(now)
            .bind(expires_at)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The account of an unused, unexpired reset link (without using it).
    pub async fn password_reset_account(&self, token_hash: &str, now: i64) -> Result<Option<i64>, StoreError> {
        let id = with_pool!(self, |p| {
            sqlx::query_scalar(
                "SELECT r.staff_id FROM staff_password_resets r JOIN staff_users u ON u.id = r.staff_id
                 WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2 AND u.disabled = $3",
            )
            .bind(token_hash)
            .bind(now)
            .bind(false)
            .fetch_optional(p)
            .await
        })?;
        Ok(id)
    }

    /// Uses a reset link once: sets the new password hash, ends every session and every other
    /// reset link of the account, all in one transaction. Returns the account, or `None` when
    /// the link is unknown, used, expired or its account disabled.
    pub async fn use_password_reset(&self, token_hash: &str, password_hash: &str, now: i64) -> Result<Option<i64>, StoreError> {
        let id = with_pool!(self, |p| {
            async {
                let mut tx = p.begin().await?;
                let id: Option<i64> = sqlx::query_scalar(
                    "UPDATE staff_password_resets SET used_at = $2
                     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
                       AND staff_id IN (SELECT id FROM staff_users WHERE disabled = $3)
                     RETURNING staff_id",
                )
                .bind(token_hash)
                .bind(now)
                .bind(false)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(id) = id else {
                    return Ok::<Option<i64>, sqlx::Error>(None);
                };
                sqlx::query("UPDATE staff_users SET password_hash = $1 WHERE id = $2")
                    .bind(password_hash)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE staff_sessions SET revoked_at = $2 WHERE staff_id = $1 AND revoked_at IS NULL")
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE staff_password_resets SET used_at = $2 WHERE staff_id = $1 AND used_at IS NULL")
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Some(id))
            }
            .await
        })?;
        Ok(id)
    }

    /// Audit entries matching `filter`, newest first, at most `limit`.
    pub async fn audit_search(&self, filter: &AuditFilter, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let action_prefix = filter.action.as_ref().map(|a| format!("{}%", a.replace('%', "").replace('_', "\\_")));
        let rows = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT * FROM audit_log
                 WHERE ($1 IS NULL OR actor = $1)
                   AND ($2 IS NULL OR action LIKE $2 ESCAPE '\\')
                   AND ($3 IS NULL OR target = $3)
                   AND ($4 IS NULL OR at >= $4)
                   AND ($5 IS NULL OR at < $5)
                   AND ($6 IS NULL OR id < $6)
                 ORDER BY id DESC LIMIT $7",
            )
            .bind(filter.actor.as_deref())
            .bind(action_prefix.as_deref())
            .bind(filter.target.as_deref())
            .bind(filter.from)
            .bind(filter.to)
            .bind(filter.before_id)
            .bind(limit)
            .fetch_all(p)
            .await
        })?;
        Ok(rows)
    }
}
