//! A reply (or tip) as staff see it in the API, the console and the live feed.

use crate::error::AppResult;
use crate::state::AppState;
use buurtnet_domain::enquiry::is_overdue;
use buurtnet_store::replies::ReplyRow;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A reply photo, with the URL staff see it at.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplyPhotoView {
    pub id: String,
    pub url: String,
    pub width: i64,
    pub height: i64,
    pub bytes: i64,
}

/// One reply (or tip). `enquiry_id` is null for a tip (it answers an action).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplyView {
    pub id: i64,
    pub enquiry_id: Option<i64>,
    pub text: String,
    pub phone: Option<String>,
    pub language: String,
    pub status: String,
    pub classification: Option<String>,
    pub forwarded_at: Option<String>,
    pub answer: Option<String>,
    pub answered_at: Option<String>,
    pub received_at: Option<String>,
    pub overdue: bool,
    pub photos: Vec<ReplyPhotoView>,
}

/// The tips to an action.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TipsView {
    pub action_id: i64,
    pub tips: Vec<ReplyView>,
}

/// Whether a reply waits too long for its final answer.
pub fn overdue(state: &AppState, r: &ReplyRow) -> bool {
    let received = DateTime::<Utc>::from_timestamp_millis(r.created_at).unwrap_or_default();
    is_overdue(received, r.status == "answered", state.clock.now())
}

/// The reply with its photos' addresses.
pub async fn reply_json(state: &AppState, r: &ReplyRow) -> AppResult<ReplyView> {
    use crate::alerting::views::iso;
    let photos = state
        .store
        .reply_photos(r.id)
        .await?
        .into_iter()
        .map(|p| ReplyPhotoView {
            url: format!("{}/api/v1/reply-photos/{}", state.config.public_url(), p.id),
            id: p.id,
            width: p.width,
            height: p.height,
            bytes: p.bytes,
        })
        .collect();
    Ok(ReplyView {
        id: r.id,
        enquiry_id: r.enquiry_id,
        text: r.text.clone(),
        phone: r.phone.clone(),
        language: r.language.clone(),
        status: r.status.clone(),
        classification: r.classification.clone(),
        forwarded_at: r.forwarded_at.and_then(iso),
        answer: r.answer.clone(),
        answered_at: r.answered_at.and_then(iso),
        received_at: iso(r.created_at),
        overdue: overdue(state, r),
        photos,
    })
}
