//! Staff accounts, API tokens and the audit log.

use crate::{ApiTokenRow, AuditEntry, StaffUserRow, Store, StoreError};

impl Store {
    pub async fn create_staff_user(
        &self,
        email: &str,
        password_hash: &str,
        role: &str,
        scope: &str,
        now: i64,
    ) -> Result<i64, StoreError> {
        let id = self.allocate_ids("staff_users", 1).await?;
        with_pool!(self, |p| {
            sqlx::query("INSERT INTO staff_users (id, email, password_hash, role, scope, disabled, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(id)
                .bind(email)
                .bind(password_hash)
                .bind(role)
                .bind(scope)
                .bind(false)
                .bind(now)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(id)
    }

    pub async fn staff_user(&self, id: i64) -> Result<Option<StaffUserRow>, StoreError> {
        let row =
            with_pool!(self, |p| { sqlx::query_as("SELECT * FROM staff_users WHERE id = $1").bind(id).fetch_optional(p).await })?;
        Ok(row)
    }

    /// Every staff account, by id.
    pub async fn list_staff_users(&self) -> Result<Vec<StaffUserRow>, StoreError> {
        let rows = with_pool!(self, |p| sqlx::query_as("SELECT * FROM staff_users ORDER BY id").fetch_all(p).await)?;
        Ok(rows)
    }

    /// The enabled staff accounts of a role.
    pub async fn staff_with_role(&self, role: &str) -> Result<Vec<StaffUserRow>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as("SELECT * FROM staff_users WHERE role = $1 AND disabled = $2 ORDER BY id")
                .bind(role)
                .bind(false)
                .fetch_all(p)
                .await
        })?)
    }

    /// The account of a normalised address (`buurtnet_domain::staff::normalise_email`). Rows
    /// stored before that normalisation lower-cased the local part are found too.
    pub async fn staff_user_by_email(&self, email: &str) -> Result<Option<StaffUserRow>, StoreError> {
        let row = with_pool!(self, |p| {
            sqlx::query_as("SELECT * FROM staff_users WHERE email = $1 OR LOWER(email) = $1 ORDER BY id LIMIT 1")
                .bind(email)
                .fetch_optional(p)
                .await
        })?;
        Ok(row)
    }

    /// Stores a new token's hash; it is valid until `expires_at` (Unix ms) unless revoked.
    pub async fn create_api_token(&self, user_id: i64, token_hash: &str, now: i64, expires_at: i64) -> Result<i64, StoreError> {
        let id = self.allocate_ids("api_tokens", 1).await?;
        with_pool!(self, |p| {
            sqlx::query("INSERT INTO api_tokens (id, user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(user_id)
                .bind(token_hash)
                .bind(now)
                .bind(expires_at)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(id)
    }

    /// The (enabled) staff user a token hash belongs to, if the token is neither expired nor
    /// revoked at `now`.
    pub async fn staff_user_by_token(&self, token_hash: &str, now: i64) -> Result<Option<StaffUserRow>, StoreError> {
        let row = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT u.* FROM staff_users u JOIN api_tokens t ON t.user_id = u.id
                 WHERE t.token_hash = $1 AND u.disabled = $2 AND t.revoked_at IS NULL AND t.expires_at > $3",
            )
            .bind(token_hash)
            .bind(false)
            .bind(now)
            .fetch_optional(p)
            .await
        })?;
        Ok(row)
    }

    /// Every token (of one account, or all), newest first.
    pub async fn api_tokens(&self, email: Option<&str>) -> Result<Vec<ApiTokenRow>, StoreError> {
        let rows = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT t.id, t.user_id, u.email, t.created_at, t.expires_at, t.revoked_at
                 FROM api_tokens t JOIN staff_users u ON u.id = t.user_id
                 WHERE $1 IS NULL OR u.email = $1 OR LOWER(u.email) = $1 ORDER BY t.id DESC",
            )
            .bind(email)
            .fetch_all(p)
            .await
        })?;
        Ok(rows)
    }

    /// Revokes a token by id; returns whether a live token was revoked.
    pub async fn revoke_api_token(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Appends to the audit log. `target` and `details` must hold no personal data.
    pub async fn audit(
        &self,
        at: i64,
        actor: &str,
        action: &str,
        target: Option<&str>,
        details: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let id = self.allocate_ids("audit_log", 1).await?;
        with_pool!(self, |p| {
            sqlx::query("INSERT INTO audit_log (id, at, actor, action, target, details) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(id)
                .bind(at)
                .bind(actor)
                .bind(action)
                .bind(target)
                .bind(details.to_string())
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn audit_entries(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = with_pool!(self, |p| {
            sqlx::query_as("SELECT * FROM audit_log ORDER BY id DESC LIMIT $1").bind(limit).fetch_all(p).await
        })?;
        Ok(rows)
    }
}
