//! What the resident app's API answers, as types (their OpenAPI schemas are derived from them).

use crate::http::api_devices::DeviceView;
use serde::Serialize;
use utoipa::ToSchema;

/// The grid the app computes its coarse "where I am" cell on, in the browser.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Grid {
    pub min_lat: f64,
    pub max_lat: f64,
    pub min_lon: f64,
    pub max_lon: f64,
    pub coarse_level: u32,
}

/// `GET /api/v1/app/config`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppConfig {
    pub vapid_public_key: String,
    pub grid: Grid,
    pub coarse_valid_hours: i64,
}

/// A text in Dutch and English.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Both {
    pub nl: String,
    pub en: String,
}

/// One of a device's recent actions, with its page link.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppActionSummary {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub state: String,
    /// `amber`, `alarm`, `search`, `exercise` or `test`.
    pub severity: &'static str,
    pub title: Both,
    pub sent_at: Option<String>,
    pub closed_at: Option<String>,
    pub page: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecentActions {
    pub actions: Vec<AppActionSummary>,
}

/// Everything stored about a device, with the actions that reached it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeviceExport {
    #[serde(flatten)]
    pub device: DeviceView,
    pub actions: Vec<AppActionSummary>,
}

/// An action page's link.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PageLink {
    pub page: String,
}

/// A tip was stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Received {
    pub received: bool,
}

/// The tip form (multipart).
#[derive(Debug, Clone, ToSchema)]
#[allow(dead_code)]
pub struct TipForm {
    pub text: String,
    pub phone: Option<String>,
    #[schema(pattern = "^(nl|en)$")]
    pub lang: Option<String>,
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    pub photos: Option<Vec<Vec<u8>>>,
}

/// A message's texts in one language.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageTexts {
    pub title: Option<String>,
    pub text: Option<String>,
}

/// A message of the action sent so far.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PageMessage {
    pub id: i64,
    pub kind: String,
    pub nl: MessageTexts,
    pub en: MessageTexts,
    pub sent_at: Option<String>,
}

/// The action as its page shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PageAction {
    pub id: i64,
    pub kind: String,
    pub level: String,
    pub status: String,
    pub state: String,
    pub outcome: Option<String>,
    pub severity: &'static str,
    pub title: Both,
    pub body: Both,
    pub description: buurtnet_domain::action_text::Description,
    pub do_not_approach: bool,
    pub callback_phone: Option<String>,
    pub photos: Vec<String>,
    pub sent_at: Option<String>,
    pub closed_at: Option<String>,
}

/// The action page a notification opens.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActionPage {
    pub action: PageAction,
    /// The area's shapes: `{"circle": {...}}`, `{"polygon": GeoJSON}` or `{"everywhere": true}`.
    #[schema(value_type = Vec<Object>)]
    pub area: serde_json::Value,
    pub messages: Vec<PageMessage>,
    pub tips_open: bool,
}
