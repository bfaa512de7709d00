//! Delivering messages to people. The durable queue lives in the database (`deliveries` rows,
//! see `buurtnet-store`); this crate holds what drains it:
//!
//! - [`provider`]: the [`provider::Provider`] trait every channel adapter implements, the
//!   [`provider::Outgoing`] message it is handed and the [`provider::Outcome`] it reports;
//! - one module per adapter: [`sandbox`] (the demo), [`webpush`] (Web Push, with [`allowlist`],
//!   the push services the server may call, and [`push_crypto`], its payload encryption), [`smtp`] (e-mail), [`sms_http`] (CM.com SMS,
//!   delivery reports, webhook signatures), [`voice_http`] (CM.com text-to-speech calls);
//!   [`http_outcome`] maps HTTP answers onto outcomes for the latter two;
//! - [`fanout`]: from a message to its delivery rows (its area's people and devices through the
//!   [`fanout::Audience`] the server passes in, or those its action's first message reached),
//!   written in blocks under a lease;
//! - `worker`: claims due deliveries in batches, sends them, records the outcome (retries with
//!   backoff, failover to the next channel, expiry, dead letters).

pub mod allowlist;
pub mod fanout;
pub mod http_outcome;
pub mod provider;
pub mod push_crypto;
pub mod sandbox;
pub mod sms_http;
pub mod smtp;
pub mod voice_http;
pub mod webpush;
pub mod worker;

pub use allowlist::PushAllowList;
pub use sms_http::{SmsHttp, SmsHttpConfig};
pub use smtp::{Smtp, SmtpConfig};
pub use voice_http::{VoiceHttp, VoiceHttpConfig};
pub use webpush::{VapidKey, WebPush, WebPushSettings};
