//! A reply (or tip) as staff see it in the API, the console and the live feed.

use crate::error::AppResult;
use crate::state::AppState;
use buurtnet_domain::enquiry::is_overdue;
use buurtnet_store::replies::ReplyRow;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

fn millis(ms: i64) -> Value {
    DateTime::<Utc>::from_timestamp_millis(ms).map(|t| json!(t.to_rfc3339())).unwrap_or(Value::Null)
}

/// Whether a reply waits too long for its final answer.
pub fn overdue(state: &AppState, r: &ReplyRow) -> bool {
    let received = DateTime::<Utc>::from_timestamp_millis(r.created_at).unwrap_or_default();
    is_overdue(received, r.status == "answered", state.clock.now())
}

/// The reply with its photos' addresses. `enquiry_id` is null for a tip (it answers an action).
pub async fn reply_json(state: &AppState, r: &ReplyRow) -> AppResult<Value> {
    let photos: Vec<Value> = state
        .store
        .reply_photos(r.id)
        .await?
        .iter()
        .map(|p| {
            json!({"id": p.id, "url": format!("{}/api/v1/reply-photos/{}", state.config.public_url(), p.id),
                   "width": p.width, "height": p.height, "bytes": p.bytes})
        })
        .collect();
    Ok(json!({
        "id": r.id,
        "enquiry_id": r.enquiry_id,
        "text": r.text,
        "phone": r.phone,
        "language": r.language,
        "status": r.status,
        "classification": r.classification,
        "forwarded_at": r.forwarded_at.map(millis),
        "answer": r.answer,
        "answered_at": r.answered_at.map(millis),
        "received_at": millis(r.created_at),
        "overdue": overdue(state, r),
        "photos": photos,
    }))
}
