//! What every channel adapter implements.

use buurtnet_domain::Channel;
use futures::future::BoxFuture;
use std::time::Duration;

/// Where one delivery goes, read from the database just before sending (never stored twice).
#[derive(Clone)]
pub enum Destination {
    /// A phone number in E.164 form (`+31612345678`), for SMS and voice.
    Phone(String),
    /// An e-mail address.
    Email(String),
    /// A Web Push subscription (W3C `PushSubscription`): endpoint URL and the browser's keys
    /// (base64url, as the browser gives them).
    Push { endpoint: String, p256dh: String, auth: String },
}

impl std::fmt::Debug for Destination {
    // Never print personal data: only the kind of destination.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Phone(_) => f.write_str("Phone(***)"),
            Destination::Email(_) => f.write_str("Email(***)"),
            Destination::Push { .. } => f.write_str("Push(***)"),
        }
    }
}

/// How urgent a message is; providers map it onto their own notion (Web Push `Urgency`, SMS
/// priority).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    /// AMBER Alert, alarms (gas leak, bomb, explosion, disaster).
    Alarm,
    /// Other urgent actions.
    High,
    /// Information, enquiries.
    Normal,
    /// Tests.
    Low,
}

/// The texts of one message in the recipient's language, already rendered for its channel.
#[derive(Debug, Clone, Default)]
pub struct Content {
    /// Short title (push title, e-mail subject).
    pub title: String,
    /// The full text (push body, e-mail plain text, SMS text, spoken text for voice).
    pub text: String,
    /// HTML body for e-mail (escaped, complete document); `None` for other channels.
    pub html: Option<String>,
    /// For e-mail: the URL for `List-Unsubscribe` (the resident's self-service page).
    pub unsubscribe_url: Option<String>,
    /// For e-mail: the unsubscribe URL takes a one-click POST (RFC 8058
    /// `List-Unsubscribe-Post`): it carries a token that stops only this kind of message.
    pub one_click_unsubscribe: bool,
    /// For e-mail: files attached (a forwarded reply's photos).
    pub attachments: Vec<Attachment>,
    /// For push: the JSON payload (holds at least `title` and `body`).
    pub push_payload: Option<String>,
    /// For voice: how often the spoken text is repeated.
    pub replays: u8,
}

/// A file attached to an e-mail.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub filename: String,
    /// e.g. `image/jpeg`.
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// One message to one destination on one channel.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The delivery's id; stable across retries and crashes.
    pub delivery_id: i64,
    /// The stable reference given to the provider (SMS `reference`, e-mail `Message-ID` local
    /// part, Web Push `Topic` and notification tag), so a retry after a crash is recognisable
    /// downstream as the same message: `bn{delivery_id}`. For push the tag is per message
    /// (`tag`) so that a later update replaces the notification of the earlier one.
    pub reference: String,
    /// Groups the deliveries of one action or message (push notification tag, e-mail thread).
    pub thread: String,
    pub channel: Channel,
    pub to: Destination,
    /// `nl` or `en`.
    pub language: String,
    pub content: Content,
    pub urgency: Urgency,
    /// How long the message is still worth delivering (Web Push `TTL`).
    pub time_to_live: Duration,
}

/// What became of one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the provider (a delivery report may follow). `provider_id` is the provider's
    /// own id where it gives one.
    Accepted { provider_id: Option<String> },
    /// Failed for now; try again (after `retry_after` if the provider said so, e.g. a 429 or
    /// 503 with `Retry-After`). Timeouts, 5xx, refused connections.
    Retry { reason: String, retry_after: Option<Duration> },
    /// Will never work for this destination (a push subscription answered 404/410: the device
    /// is removed; an invalid number); the worker fails over to the person's next channel.
    Gone { reason: String },
    /// Refused for this message (e.g. 4xx other than 404/410/429); no retry, fail over.
    Rejected { reason: String },
}

/// A channel adapter. One instance serves many concurrent sends (pooled connections inside).
pub trait Provider: Send + Sync {
    /// A short name for logs and metrics (`sandbox`, `webpush`, `smtp`, `cm_sms`, `cm_voice`).
    fn name(&self) -> &'static str;
    /// Sends one message. Must not panic; every failure is an [`Outcome`]. Must be safe to call
    /// twice for the same `delivery_id` (the second call carries the same reference).
    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Outcome>;

    /// How many messages one call of [`Provider::send_batch`] may carry: more than 1 for a
    /// provider whose API takes several messages in one request (CM's SMS API).
    fn batch_limit(&self) -> usize {
        1
    }

    /// The provider's limit in messages per second for all processes together (0: none). The
    /// worker counts sends against it in the database before handing them over; the adapter
    /// may pace its own process as well.
    fn messages_per_second(&self) -> u32 {
        0
    }

    /// Sends up to [`Provider::batch_limit`] messages; one outcome per message, in their order.
    /// The default sends them one by one, concurrently.
    fn send_batch<'a>(&'a self, msgs: &'a [Outgoing]) -> BoxFuture<'a, Vec<Outcome>> {
        Box::pin(futures::future::join_all(msgs.iter().map(|m| self.send(m))))
    }
}
