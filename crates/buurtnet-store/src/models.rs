//! Rows going in and out of the store.

use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct AreaRow {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent_code: Option<String>,
    pub province_code: Option<String>,
    pub inhabitants: Option<i64>,
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
    pub geometry: String,
    pub geometry_simplified: String,
}

#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize)]
pub struct AreaSummary {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent_code: Option<String>,
    pub province_code: Option<String>,
    pub inhabitants: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct AddressPoint {
    pub postcode: String,
    pub house_number: String,
    pub street: Option<String>,
    pub city: Option<String>,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone)]
pub struct NewParticipant {
    pub external_id: Option<String>,
    pub language: String,
    pub topics: i64,
    pub age_confirmed: bool,
    pub paused: bool,
    pub municipality_code: Option<String>,
    pub created_at: i64,
    pub contacts: Vec<NewContact>,
    pub addresses: Vec<NewAddress>,
}

#[derive(Debug, Clone)]
pub struct NewContact {
    pub kind: String,
    pub value: String,
    pub mobile: bool,
    pub verified_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewAddress {
    pub kind: String,
    pub postcode: Option<String>,
    pub house_number: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub approximate: bool,
    pub cell: i64,
    pub neighbourhood_code: Option<String>,
    pub district_code: Option<String>,
    pub municipality_code: Option<String>,
    pub pc4: Option<String>,
    pub safety_region_code: Option<String>,
    pub police_unit_code: Option<String>,
    pub province_code: Option<String>,
    pub channels: i64,
    pub quiet_hours: String,
}

#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct ParticipantRow {
    pub id: i64,
    pub external_id: Option<String>,
    pub language: String,
    pub topics: i64,
    pub age_confirmed: bool,
    pub paused: bool,
    pub municipality_code: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct ContactRow {
    pub id: i64,
    pub participant_id: i64,
    pub kind: String,
    pub value: String,
    pub mobile: bool,
    pub verified_at: Option<i64>,
    pub code_hash: Option<String>,
    pub code_expires_at: Option<i64>,
    pub code_attempts: i64,
    pub code_budget_since: i64,
    pub code_budget_used: i64,
    pub code_sends: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct AddressRow {
    pub id: i64,
    pub participant_id: i64,
    pub kind: String,
    pub postcode: Option<String>,
    pub house_number: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub approximate: bool,
    pub cell: i64,
    pub neighbourhood_code: Option<String>,
    pub district_code: Option<String>,
    pub municipality_code: Option<String>,
    pub pc4: Option<String>,
    pub safety_region_code: Option<String>,
    pub police_unit_code: Option<String>,
    pub province_code: Option<String>,
    pub channels: i64,
    pub quiet_hours: String,
}

/// A participant with everything attached.
#[derive(Debug, Clone)]
pub struct ParticipantRecord {
    pub participant: ParticipantRow,
    pub contacts: Vec<ContactRow>,
    pub addresses: Vec<AddressRow>,
}

/// Which participants a statistics query covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AreaFilter {
    All,
    Municipality(String),
    PoliceUnit(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ParticipantCounts {
    pub participants: i64,
    pub addresses: i64,
    pub push: i64,
    pub sms: i64,
    pub voice: i64,
    pub email: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct StaffUserRow {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub scope: String,
    pub disabled: bool,
    pub created_at: i64,
    /// The confirmed TOTP secret, sealed with the secrets file's TOTP key (`enc1:…`); rows
    /// written before encryption hold it as base32 until the next start seals them.
    pub totp_secret: Option<String>,
    pub totp_enabled_at: Option<i64>,
    pub totp_last_step: Option<i64>,
    /// Demo accounts only: sign in without a second factor.
    pub skip_second_factor: bool,
    /// Set when too many wrong codes locked the second factor (an admin resets it).
    pub totp_locked_at: Option<i64>,
}

/// A staff session as the server sees it: the account it belongs to and its state.
#[derive(Debug, Clone, FromRow)]
pub struct StaffSessionRow {
    pub token_hash: String,
    pub staff_id: i64,
    /// `password` (second factor still due) or `full`.
    pub stage: String,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// The sealed TOTP secret this session is enrolling (shown on its last enrolment page).
    pub pending_totp_secret: Option<String>,
    /// Wrong codes given in this session.
    pub totp_failures: i64,
}

/// Filters of the audit log's browse and export (all optional, combined with AND).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    /// Prefix of the action, e.g. `staff.` or `action.sent`.
    pub action: Option<String>,
    pub target: Option<String>,
    /// Unix ms, inclusive.
    pub from: Option<i64>,
    /// Unix ms, exclusive.
    pub to: Option<i64>,
    /// Entries with ids below this (paging backwards).
    pub before_id: Option<i64>,
}

/// An API token as listed to admins (its secret is never stored: only a hash).
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct ApiTokenRow {
    pub id: i64,
    pub user_id: i64,
    pub email: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub details: String,
}

#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct SandboxMessage {
    pub id: i64,
    pub at: i64,
    pub channel: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
}

/// One imported official area file.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, serde::Serialize)]
pub struct AreaImport {
    pub id: i64,
    pub imported_at: i64,
    pub kind: String,
    pub year: Option<i64>,
    pub file_name: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub source_url: Option<String>,
    /// Comma-separated levels the file replaced.
    pub levels: String,
    pub areas: i64,
}

/// An address's position and the area codes stored for it.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct AddressAreas {
    pub id: i64,
    pub participant_id: i64,
    pub lat: f64,
    pub lon: f64,
    pub neighbourhood_code: Option<String>,
    pub district_code: Option<String>,
    pub municipality_code: Option<String>,
    pub pc4: Option<String>,
    pub safety_region_code: Option<String>,
    pub police_unit_code: Option<String>,
    pub province_code: Option<String>,
}
