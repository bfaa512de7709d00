//! What the API and the console show of actions, information messages and their deliveries:
//! each view is built in one place (here or in the service beside it) and typed, so the
//! OpenAPI schema is derived from the same type that is served.

use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A time as the API shows it (RFC 3339, UTC).
pub fn iso(ms: i64) -> Option<String> {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms).map(|t| t.to_rfc3339())
}

/// Deliveries by channel and state: `{"sms": {"delivered": 10, "pending": 2}}`.
pub type DeliveryCounts = BTreeMap<String, BTreeMap<String, i64>>;

/// Adds the store's `(channel, state, n)` rows to `counts`.
pub fn add_counts(counts: &mut DeliveryCounts, rows: &[(String, String, i64)]) {
    for (channel, state, n) in rows {
        *counts.entry(channel.clone()).or_default().entry(state.clone()).or_default() += n;
    }
}

/// The SMS a text becomes: its length in characters and segments, and the encoding.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SmsPreview {
    pub text: String,
    /// `gsm7` or `ucs2`.
    #[schema(value_type = String, pattern = "^(gsm7|ucs2)$")]
    pub encoding: buurtnet_domain::sms_text::SmsEncoding,
    pub units: usize,
    pub segments: usize,
}

impl SmsPreview {
    pub fn of(text: &str) -> SmsPreview {
        let m = buurtnet_domain::sms_text::measure(text);
        SmsPreview { text: text.to_string(), encoding: m.encoding, units: m.units, segments: m.segments }
    }
}

/// The texts of an action's first message in one language, per channel.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TextPreview {
    pub title: String,
    pub text: String,
    pub sms: SmsPreview,
    pub voice: String,
    pub voice_characters: usize,
}

impl TextPreview {
    pub fn of(t: &buurtnet_domain::action_text::Texts) -> TextPreview {
        TextPreview {
            title: t.title.clone(),
            text: t.text.clone(),
            sms: SmsPreview::of(&t.sms),
            voice: t.voice.clone(),
            voice_characters: t.voice.chars().count(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Preview {
    pub nl: TextPreview,
    pub en: TextPreview,
}

/// The family's consent as recorded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentView {
    pub by: String,
    pub at: Option<String>,
}

/// Whether a second person must approve, and who did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApprovalView {
    pub second_person_required: bool,
    pub approved_by: Option<i64>,
    pub approved_at: Option<String>,
}

/// One message of an action with its deliveries.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActionMessageView {
    pub id: i64,
    pub kind: String,
    pub created_at: Option<String>,
    pub fanout: String,
    pub recipients: i64,
    pub deliveries: DeliveryCounts,
}

/// What the dispatcher sees of an action.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActionView {
    pub id: i64,
    pub kind: String,
    pub level: String,
    pub status: String,
    pub state: String,
    pub outcome: Option<String>,
    /// The area expression as it was given.
    #[schema(value_type = Object)]
    pub area: serde_json::Value,
    pub title: String,
    pub body: String,
    pub title_en: Option<String>,
    pub body_en: Option<String>,
    pub description: buurtnet_domain::action_text::Description,
    pub callback_phone: Option<String>,
    pub photos: Vec<String>,
    pub consent: Option<ConsentView>,
    pub created_at: Option<String>,
    pub sent_at: Option<String>,
    pub closed_at: Option<String>,
    pub reminder_due: bool,
    pub created_by: i64,
    pub version: i64,
    pub approval: ApprovalView,
    pub preview: Preview,
    pub messages: Vec<ActionMessageView>,
    pub deliveries: DeliveryCounts,
    /// The message a lifecycle step wrote (answers of `send`, `update`, `close`, `cancel`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub message_id: Option<Option<i64>>,
}

/// One action in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActionSummary {
    pub id: i64,
    pub kind: String,
    pub level: String,
    pub status: String,
    pub state: String,
    pub title: String,
    pub created_at: Option<String>,
    pub sent_at: Option<String>,
    pub reminder_due: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActionList {
    pub actions: Vec<ActionSummary>,
}

/// An information message with its deliveries.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageView {
    pub id: i64,
    pub status: String,
    pub title: Option<String>,
    pub body: Option<String>,
    pub title_en: Option<String>,
    pub body_en: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub area: Option<serde_json::Value>,
    pub send_at: Option<String>,
    pub fanout: String,
    pub approval: ApprovalView,
    pub recipients: i64,
    pub deliveries: DeliveryCounts,
}

/// A photo added to a draft action.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PhotoView {
    pub id: String,
    pub url: String,
    pub width: u32,
    pub height: u32,
}

/// A dead letter.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeadLetter {
    pub id: i64,
    pub message_id: i64,
    pub channel: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeadLetters {
    pub deliveries: Vec<DeadLetter>,
}

/// A dead letter put back in the queue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Retried {
    pub id: i64,
    /// Always `pending`.
    pub state: String,
}

/// The dead letters of a message put back in the queue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RetriedOfMessage {
    pub message_id: i64,
    pub retried: u64,
}

/// What became of the SMS gateway's reports.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportsApplied {
    pub applied: u64,
    pub ignored: u64,
    pub failed_over: u64,
}
