//! Messages recorded by the built-in sandbox providers (SMS, voice, e-mail, push).

use crate::{SandboxMessage, Store, StoreError};

impl Store {
    pub async fn record_sandbox_message(
        &self,
        at: i64,
        channel: &str,
        recipient: &str,
        subject: Option<&str>,
        body: &str,
    ) -> Result<i64, StoreError> {
        let id = self.allocate_ids("sandbox_messages", 1).await?;
        with_pool!(self, |p| {
            sqlx::query(
                "INSERT INTO sandbox_messages (id, at, channel, recipient, subject, body) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(at)
            .bind(channel)
            .bind(recipient)
            .bind(subject)
            .bind(body)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(id)
    }

    /// Newest first; optionally only for one recipient and/or channel.
    pub async fn sandbox_messages(
        &self,
        recipient: Option<&str>,
        channel: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SandboxMessage>, StoreError> {
        let rows = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT * FROM sandbox_messages WHERE ($1 IS NULL OR recipient = $1) AND ($2 IS NULL OR channel = $2) ORDER BY id DESC LIMIT $3",
            )
            .bind(recipient)
            .bind(channel)
            .bind(limit)
            .fetch_all(p)
            .await
        })?;
        Ok(rows)
    }
}
