//! The built-in sandbox provider of the demo: every SMS, call, e-mail and push is recorded in
//! the database (so every process sees it) and `/sandbox` shows it. Nothing leaves the server.

use crate::provider::{Destination, Outcome, Outgoing, Provider};
use buurtnet_domain::Clock;
use buurtnet_store::Store;
use futures::FutureExt;
use futures::future::BoxFuture;
use std::sync::Arc;

pub struct Sandbox {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl Sandbox {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Sandbox {
        Sandbox { store, clock }
    }
}

impl Provider for Sandbox {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Outcome> {
        async move {
            let recipient = match &msg.to {
                Destination::Phone(p) => p.clone(),
                Destination::Email(e) => e.clone(),
                Destination::Push { .. } => format!("device:{}", msg.reference),
            };
            let body = match msg.channel {
                buurtnet_domain::Channel::Voice => {
                    format!("[{}× {}] {}", msg.content.replays.max(1), msg.language, msg.content.text)
                }
                _ => msg.content.text.clone(),
            };
            let subject = (!msg.content.title.is_empty()).then_some(msg.content.title.as_str());
            let now = self.clock.now().timestamp_millis();
            match self.store.record_sandbox_message(now, msg.channel.as_str(), &recipient, subject, &body).await {
                Ok(id) => Outcome::Accepted { provider_id: Some(format!("sandbox-{id}")) },
                Err(e) => Outcome::Retry { reason: format!("sandbox store: {e}"), retry_after: None },
            }
        }
        .boxed()
    }
}
