//! Staff accounts, API tokens and the audit log.

use crate::{AuditEntry, StaffUserRow, Store, StoreError};

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

    pub async fn staff_user_by_email(&self, email: &str) -> Result<Option<StaffUserRow>, StoreError> {
        let row = with_pool!(self, |p| {
            sqlx::query_as("SELECT * FROM staff_users WHERE email = $1").bind(email).fetch_optional(p).await
        })?;
        Ok(row)
    }

    pub async fn create_api_token(&self, user_id: i64, token_hash: &str, now: i64) -> Result<i64, StoreError> {
        let id = self.allocate_ids("api_tokens", 1).await?;
        with_pool!(self, |p| {
            sqlx::query("INSERT INTO api_tokens (id, user_id, token_hash, created_at) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(user_id)
                .bind(token_hash)
                .bind(now)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(id)
    }

    /// The (enabled) staff user a token hash belongs to.
    pub async fn staff_user_by_token(&self, token_hash: &str) -> Result<Option<StaffUserRow>, StoreError> {
        let row = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT u.* FROM staff_users u JOIN api_tokens t ON t.user_id = u.id WHERE t.token_hash = $1 AND u.disabled = $2",
            )
            .bind(token_hash)
            .bind(false)
            .fetch_optional(p)
            .await
        })?;
        Ok(row)
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
