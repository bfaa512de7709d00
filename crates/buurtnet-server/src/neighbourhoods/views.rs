//! What the neighbourhood conversations' API answers, as types (their OpenAPI schemas are
//! derived from them). Neighbours see each other's display name and street only: never a
//! contact point, a house number or a participant id.

pub use crate::resident_app::views::Both;
use serde::Serialize;
use utoipa::ToSchema;

/// A neighbourhood one belongs to through a verified home (and its streets there).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberNeighbourhood {
    /// CBS buurt code (`BU…`).
    pub code: String,
    pub name: Option<String>,
    pub streets: Vec<String>,
}

/// `GET`, `POST`, `PATCH /app/devices/{id}/neighbourhood`: one's membership.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Membership {
    /// Whether one has joined (chosen a display name and accepted the house rules).
    pub member: bool,
    pub display_name: Option<String>,
    pub house_rules_accepted_at: Option<String>,
    /// The neighbourhoods of one's verified home addresses.
    pub neighbourhoods: Vec<MemberNeighbourhood>,
    /// Adjacent neighbourhoods one follows read-only.
    pub following: Vec<String>,
    pub house_rules: Both,
}

/// One conversation in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationSummary {
    pub id: i64,
    /// `news`, `help`, `nuisance` or `trouble`.
    pub category: String,
    /// `street` or `neighbourhood`.
    pub audience: String,
    pub neighbourhood: String,
    pub street: Option<String>,
    pub title: String,
    pub closed: bool,
    /// Whether the reader may post in it (a follower of the neighbourhood reads only).
    pub may_post: bool,
    /// Whether the reader started it (and may close it).
    pub started_by_me: bool,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// One message as neighbours and added officials see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationMessage {
    pub id: i64,
    /// The member's display name, or the official's kind ("Wijkagent", "Gemeente").
    pub author: String,
    /// `resident`, `neighbourhood_officer` or `municipality`.
    pub author_kind: String,
    /// The street the member wrote from (never a house number).
    pub street: Option<String>,
    pub body: String,
    pub created_at: Option<String>,
}

/// A conversation with its messages.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationView {
    #[serde(flatten)]
    pub conversation: ConversationSummary,
    pub messages: Vec<ConversationMessage>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationList {
    pub conversations: Vec<ConversationSummary>,
}

/// Something was stored: its id.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

/// An invitation: how many officials were added now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Invited {
    pub official: String,
    pub added: u64,
}

/// How many conversations a municipality has, per category (never their contents).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryCount {
    pub municipality: String,
    pub category: String,
    pub open: i64,
    pub closed: i64,
}

/// `GET /conversations`: the counts in one's scope and the conversations one was added to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffConversations {
    pub counts: Vec<CategoryCount>,
    pub conversations: Vec<ConversationSummary>,
}

/// One of one's own messages, in one's export.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OwnMessage {
    pub conversation: i64,
    pub body: String,
    pub created_at: Option<String>,
}

/// Everything stored about one's membership (GDPR articles 15 and 20).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NeighbourhoodExport {
    pub member: bool,
    pub display_name: Option<String>,
    pub house_rules_accepted_at: Option<String>,
    pub following: Vec<String>,
    pub messages: Vec<OwnMessage>,
    /// One's alarm neighbours (their display names).
    pub alarm_neighbours: Vec<String>,
    /// One's presses of the emergency button.
    pub emergency_presses: Vec<super::alarm_views::PressEntry>,
}
