//! Sending messages to people. For now the built-in sandbox provider: it records every SMS,
//! call, e-mail and push in the database (so every process sees them) and `/sandbox` shows them.

use crate::config::ProvidersConfig;
use buurtnet_store::{Store, StoreError};

pub struct Notifier {
    _kind: String,
}

impl Notifier {
    pub fn from_config(c: &ProvidersConfig) -> Notifier {
        Notifier { _kind: c.kind.clone() }
    }

    pub async fn send_sms(&self, store: &Store, now_ms: i64, to: &str, body: &str) -> Result<(), StoreError> {
        store.record_sandbox_message(now_ms, "sms", to, None, body).await?;
        metrics::counter!("buurtnet_messages_sent_total", "channel" => "sms").increment(1);
        Ok(())
    }

    pub async fn send_email(&self, store: &Store, now_ms: i64, to: &str, subject: &str, body: &str) -> Result<(), StoreError> {
        store.record_sandbox_message(now_ms, "email", to, Some(subject), body).await?;
        metrics::counter!("buurtnet_messages_sent_total", "channel" => "email").increment(1);
        Ok(())
    }
}
