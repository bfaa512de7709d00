//! What the alarm neighbours' and the emergency button's API answers, as types. An alarm
//! neighbour is shown by display name and street only: never a contact point, a house number or
//! a participant id. Every answer about the button carries the 112 notice.

pub use crate::resident_app::views::Both;
use serde::Serialize;
use utoipa::ToSchema;

/// `POST /app/devices/{id}/alarm-neighbours/invitations`: a code to give a neighbour.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Invitation {
    /// 8 characters; valid once, until `expires_at`.
    pub code: String,
    pub expires_at: Option<String>,
    pub notice_112: Both,
}

/// One alarm neighbour.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlarmNeighbour {
    /// The pair's id (to end it with `DELETE …/alarm-neighbours/{id}`).
    pub id: i64,
    pub display_name: String,
    /// The street of their home (never the house number).
    pub street: Option<String>,
    pub since: Option<String>,
}

/// `GET /app/devices/{id}/alarm-neighbours`: one's alarm neighbours and the 112 notice.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlarmNeighbours {
    pub alarm_neighbours: Vec<AlarmNeighbour>,
    /// "Call 112 first: this is not an emergency service", in Dutch and English.
    pub notice_112: Both,
}

/// One press of the emergency button.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PressEntry {
    pub id: i64,
    /// How many alarm neighbours the alert went to.
    pub recipients: i64,
    pub pressed_at: Option<String>,
    pub cancelled_at: Option<String>,
}

/// The answer to a press (`202`) or its cancellation: the press and the 112 notice.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Press {
    #[serde(flatten)]
    pub press: PressEntry,
    pub notice_112: Both,
}

/// `GET /app/devices/{id}/emergency`: one's presses, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Presses {
    pub presses: Vec<PressEntry>,
    pub notice_112: Both,
}
