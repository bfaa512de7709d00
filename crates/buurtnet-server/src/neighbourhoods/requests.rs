//! The request bodies of the neighbourhood conversations, as types. Every field is optional in
//! the type so that a missing one is answered like a wrong one: a 422 naming the field.

use serde::Deserialize;
use utoipa::ToSchema;

pub use crate::http::extract::typed;

/// `POST /app/devices/{id}/neighbourhood`: join.
#[derive(Debug, Deserialize, ToSchema)]
pub struct JoinBody {
    /// A first name or nickname (letters only, at most 30).
    #[schema(max_length = 30)]
    pub display_name: Option<String>,
    /// Must be `true`: one accepts the house rules.
    pub accept_house_rules: Option<bool>,
}

/// `PATCH /app/devices/{id}/neighbourhood`: a new display name.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RenameBody {
    #[schema(max_length = 30)]
    pub display_name: Option<String>,
}

/// `POST /app/devices/{id}/neighbourhood/follows`: follow an adjacent neighbourhood.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FollowBody {
    /// A CBS buurt code (`BU…`) adjacent to one of one's own neighbourhoods.
    pub neighbourhood: Option<String>,
}

/// `POST /app/devices/{id}/conversations`: a member starts a conversation.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewConversationBody {
    #[schema(pattern = "^(news|help|nuisance|trouble)$")]
    pub category: Option<String>,
    /// `street` or `neighbourhood` (`alarm_neighbours` is not available yet).
    #[schema(pattern = "^(street|neighbourhood|alarm_neighbours)$")]
    pub audience: Option<String>,
    /// With several verified homes: which neighbourhood (`BU…`); otherwise one's own.
    pub neighbourhood: Option<String>,
    #[schema(max_length = 200)]
    pub title: Option<String>,
    #[schema(max_length = 5000)]
    pub body: Option<String>,
}

/// `POST /conversations`: an official opens a conversation for a neighbourhood (or one street
/// of it) in their scope.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StaffConversationBody {
    #[schema(pattern = "^(news|help|nuisance|trouble)$")]
    pub category: Option<String>,
    /// The neighbourhood's CBS code (`BU…`).
    pub audience: Option<String>,
    /// A street in that neighbourhood's municipality, to address that street only.
    #[schema(max_length = 100)]
    pub street: Option<String>,
    #[schema(max_length = 200)]
    pub title: Option<String>,
    #[schema(max_length = 5000)]
    pub body: Option<String>,
}

/// A message in a conversation.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MessageBody {
    #[schema(max_length = 5000)]
    pub body: Option<String>,
}

/// `POST /app/devices/{id}/conversations/{cid}/invite`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InviteBody {
    #[schema(pattern = "^(neighbourhood_officer|municipality)$")]
    pub official: Option<String>,
}

/// `POST /app/devices/{id}/alarm-neighbours`: accept an invitation with its code.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AcceptAlarmBody {
    /// The 8-character code the inviting neighbour was given (spaces and hyphens are ignored).
    #[schema(max_length = 20)]
    pub code: Option<String>,
}
