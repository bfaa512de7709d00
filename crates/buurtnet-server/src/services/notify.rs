//! Account messages to one person (SMS codes, confirmation and self-service links): sent at
//! once through the same channel adapters as everything else — the sandbox in the demo (which
//! records them at `/sandbox`), the real SMS and e-mail providers otherwise.

use buurtnet_delivery::provider::{Content, Destination, Outcome, Outgoing, Urgency};
use buurtnet_delivery::worker::Providers;
use buurtnet_domain::Channel;
use buurtnet_store::StoreError;
use std::time::Duration;

pub struct Notifier {
    providers: Providers,
}

impl Notifier {
    pub fn new(providers: Providers) -> Notifier {
        Notifier { providers }
    }

    async fn send(&self, channel: Channel, to: Destination, title: &str, text: &str) -> Result<(), StoreError> {
        let reference = format!("acct{}", crate::secrets::random_hex(8));
        let msg = Outgoing {
            delivery_id: 0,
            reference,
            thread: "account".into(),
            channel,
            to,
            language: "nl".into(),
            content: Content { title: title.into(), text: text.into(), ..Content::default() },
            urgency: Urgency::High,
            time_to_live: Duration::from_secs(900),
        };
        let provider = self.providers.get(channel).clone();
        let send = async move {
            match provider.send(&msg).await {
                Outcome::Accepted { .. } => {
                    metrics::counter!("buurtnet_messages_sent_total", "channel" => channel.as_str()).increment(1);
                }
                other => {
                    // Never the number or address; the person can ask again.
                    metrics::counter!("buurtnet_account_messages_failed_total", "channel" => channel.as_str()).increment(1);
                    tracing::warn!(channel = channel.as_str(), provider = provider.name(), outcome = ?other, "an account message could not be sent");
                }
            }
        };
        // A real provider is called in the background: the answer to the request must not take
        // longer for a known contact than for an unknown one. The sandbox only writes a row,
        // and is awaited so that its page shows the message at once.
        if self.providers.get(channel).name() == "sandbox" {
            send.await;
        } else {
            tokio::spawn(send);
        }
        Ok(())
    }

    pub async fn send_sms(&self, to: &str, body: &str) -> Result<(), StoreError> {
        self.send(Channel::Sms, Destination::Phone(to.into()), "", body).await
    }

    pub async fn send_email(&self, to: &str, subject: &str, body: &str) -> Result<(), StoreError> {
        self.send(Channel::Email, Destination::Email(to.into()), subject, body).await
    }
}
