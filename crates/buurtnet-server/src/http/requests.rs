//! The request bodies of the JSON API as types, with the constraints the server checks (enums,
//! lengths, ranges, patterns), for the OpenAPI document. The handlers check a body field by
//! field (to answer every wrong field at once, with its own code and message); these types say
//! what passes those checks.

#![allow(dead_code)]

use buurtnet_domain::action::{ActionKind, Level, MessageStatus, Outcome};
use buurtnet_domain::action_text::Description;
use buurtnet_domain::{Channel, Language, Topic};
use serde::Deserialize;
use utoipa::ToSchema;

/// A circle: its centre (WGS84) and radius in metres.
#[derive(Deserialize, ToSchema)]
pub struct Circle {
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    #[schema(minimum = -180, maximum = 180)]
    pub lon: f64,
    #[schema(minimum = 25, maximum = 100000)]
    pub radius_m: f64,
}

/// An area expression: a circle, a GeoJSON polygon, area codes, or a union of these.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Area {
    Circle {
        circle: Circle,
    },
    Polygon {
        /// A GeoJSON Polygon or MultiPolygon (WGS84), at most 10,000 vertices.
        #[schema(value_type = Object)]
        polygon: serde_json::Value,
    },
    Areas {
        /// CBS area codes (GM…, WK…, BU…, RE…, NL).
        #[schema(min_items = 1)]
        areas: Vec<String>,
    },
    Union {
        #[schema(min_items = 1, no_recursion)]
        union: Vec<Area>,
    },
}

/// The family's consent (missing person, runaway child).
#[derive(Deserialize, ToSchema)]
pub struct Consent {
    #[schema(min_length = 1, max_length = 200)]
    pub by: String,
    /// When (RFC 3339, not in the future); default now.
    #[schema(format = DateTime)]
    pub at: Option<String>,
}

/// `POST /actions`: a draft urgent action.
#[derive(Deserialize, ToSchema)]
pub struct NewAction {
    pub kind: ActionKind,
    /// Default `local`; `national` only for staff with a national scope.
    pub level: Option<Level>,
    pub status: MessageStatus,
    pub area: Area,
    #[schema(min_length = 1, max_length = 120)]
    pub title: String,
    #[schema(min_length = 1, max_length = 1000)]
    pub body: String,
    #[schema(max_length = 120)]
    pub title_en: Option<String>,
    #[schema(max_length = 1000)]
    pub body_en: Option<String>,
    #[schema(max_length = 20, pattern = r"^[0-9 +\-()]*$")]
    pub callback_phone: Option<String>,
    pub consent: Option<Consent>,
    pub description: Option<Description>,
}

/// `POST /actions/{id}/approve`: the version of the action looked at.
#[derive(Deserialize, ToSchema)]
pub struct ApproveAction {
    pub version: i64,
}

/// `POST /actions/{id}/send` (an empty body is fine).
#[derive(Deserialize, ToSchema)]
pub struct SendAction {
    pub consent: Option<Consent>,
}

/// `POST /actions/{id}/update`.
#[derive(Deserialize, ToSchema)]
pub struct UpdateAction {
    #[schema(min_length = 1, max_length = 1000)]
    pub body: String,
}

/// `POST /actions/{id}/close`.
#[derive(Deserialize, ToSchema)]
pub struct CloseAction {
    pub outcome: Outcome,
    #[schema(max_length = 1000)]
    pub body: Option<String>,
}

/// `POST /actions/{id}/cancel` (an empty body is fine).
#[derive(Deserialize, ToSchema)]
pub struct CancelAction {
    #[schema(max_length = 1000)]
    pub body: Option<String>,
}

/// `POST /messages`: an information message.
#[derive(Deserialize, ToSchema)]
pub struct NewMessage {
    pub area: Area,
    #[schema(min_length = 1, max_length = 120)]
    pub title: String,
    #[schema(min_length = 1, max_length = 1000)]
    pub body: String,
    #[schema(max_length = 120)]
    pub title_en: Option<String>,
    #[schema(max_length = 1000)]
    pub body_en: Option<String>,
    /// Default `actual`.
    pub status: Option<MessageStatus>,
    /// When to send (RFC 3339, at most 90 days ahead); default now.
    #[schema(format = DateTime)]
    pub send_at: Option<String>,
}

/// `POST /targeting/count`.
#[derive(Deserialize, ToSchema)]
pub struct CountRequest {
    pub area: Area,
    pub topic: Topic,
    #[schema(format = DateTime)]
    pub at: Option<String>,
    pub override_time_windows: Option<bool>,
}

/// Quiet hours: no messages on these channels between `from` and `to` (local time).
#[derive(Deserialize, ToSchema)]
pub struct QuietHours {
    pub channels: Vec<Channel>,
    #[schema(pattern = "^[0-2][0-9]:[0-5][0-9]$")]
    pub from: String,
    #[schema(pattern = "^[0-2][0-9]:[0-5][0-9]$")]
    pub to: String,
}

/// One address of a registration.
#[derive(Deserialize, ToSchema)]
pub struct Address {
    #[schema(pattern = "^(home|work|other)$")]
    pub kind: Option<String>,
    pub postcode: Option<String>,
    pub house_number: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub channels: Vec<Channel>,
    pub quiet_hours: Option<Vec<QuietHours>>,
}

/// `POST /participants`.
#[derive(Deserialize, ToSchema)]
pub struct Registration {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub external_id: Option<String>,
    pub language: Option<Language>,
    pub age_confirmed: bool,
    pub topics: Option<Vec<Topic>>,
    #[schema(min_items = 1)]
    pub addresses: Vec<Address>,
}

/// A token from a link.
#[derive(Deserialize, ToSchema)]
pub struct TokenBody {
    pub token: String,
}

/// `POST /participants/verify-phone`.
#[derive(Deserialize, ToSchema)]
pub struct VerifyPhone {
    pub phone: String,
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
}

/// `POST /participants/resend-code`.
#[derive(Deserialize, ToSchema)]
pub struct PhoneBody {
    pub phone: String,
}

/// `POST /participants/self-service-link`: an e-mail address or a phone number.
#[derive(Deserialize, ToSchema)]
pub struct ContactBody {
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// One address's change in self-service.
#[derive(Deserialize, ToSchema)]
pub struct AddressChange {
    pub id: i64,
    pub channels: Option<Vec<Channel>>,
    pub quiet_hours: Option<Vec<QuietHours>>,
}

/// `PATCH /self-service/{token}`.
#[derive(Deserialize, ToSchema)]
pub struct SelfServiceChange {
    pub language: Option<Language>,
    pub topics: Option<Vec<Topic>>,
    pub paused: Option<bool>,
    pub addresses: Option<Vec<AddressChange>>,
}

/// The keys of a push subscription.
#[derive(Deserialize, ToSchema)]
pub struct PushKeys {
    /// base64url, an uncompressed P-256 point (65 bytes).
    pub p256dh: String,
    /// base64url, 16 bytes.
    pub auth: String,
}

/// The browser's `PushSubscription.toJSON()`.
#[derive(Deserialize, ToSchema)]
pub struct PushSubscription {
    /// https URL of a push service on the allow-list.
    pub endpoint: String,
    #[serde(rename = "expirationTime")]
    pub expiration_time: Option<f64>,
    pub keys: PushKeys,
}

/// A point in a Dutch municipality (WGS84).
#[derive(Deserialize, ToSchema)]
pub struct Location {
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    #[schema(minimum = -180, maximum = 180)]
    pub lon: f64,
}

/// `POST /devices`.
#[derive(Deserialize, ToSchema)]
pub struct DeviceRegistration {
    pub subscription: Option<PushSubscription>,
    #[schema(value_type = Object)]
    pub location: serde_json::Value,
    /// Default `["urgent"]`.
    pub topics: Option<Vec<Topic>>,
    pub language: Option<Language>,
}

/// `PATCH /devices/{id}`.
#[derive(Deserialize, ToSchema)]
pub struct DeviceChange {
    pub subscription: Option<PushSubscription>,
    #[schema(value_type = Option<Object>)]
    pub location: Option<serde_json::Value>,
    pub topics: Option<Vec<Topic>>,
    pub language: Option<Language>,
    pub paused: Option<bool>,
}

/// `POST /enquiries`.
#[derive(Deserialize, ToSchema)]
pub struct NewEnquiry {
    #[schema(pattern = "^(burglary|attempted_burglary|street_robbery|arson|vandalism|other)$")]
    pub incident_type: String,
    #[schema(format = DateTime)]
    pub occurred_at: String,
    pub location: Location,
    #[schema(minimum = 50, maximum = 5000)]
    pub radius_m: Option<i64>,
    #[schema(min_length = 1, max_length = 2000)]
    pub description: String,
    #[schema(min_length = 1, max_length = 2000)]
    pub questions: String,
}

/// `POST /enquiries/{id}/approve`.
#[derive(Deserialize, ToSchema)]
pub struct ApproveEnquiry {
    pub version: i64,
    #[schema(min_length = 1, max_length = 2000)]
    pub description: Option<String>,
    #[schema(min_length = 1, max_length = 2000)]
    pub questions: Option<String>,
}

/// `POST /enquiries/{id}/return`.
#[derive(Deserialize, ToSchema)]
pub struct ReturnEnquiry {
    #[schema(min_length = 1, max_length = 1000)]
    pub comment: String,
}

/// `POST /replies/{id}/classify`.
#[derive(Deserialize, ToSchema)]
pub struct Classify {
    #[schema(pattern = "^(relevant|relevant_other|not_relevant)$")]
    pub classification: String,
}

/// `POST /replies/{id}/answer`: a free text, a template, or both.
#[derive(Deserialize, ToSchema)]
pub struct Answer {
    #[schema(max_length = 5000)]
    pub body: Option<String>,
    #[schema(pattern = "^(used|other_case|not_relevant)$")]
    pub template: Option<String>,
}
