//! An urgent action's tips: what residents reached by it send back, through the link in its
//! e-mail or push or from its page in the resident app, for its control room's dispatchers only.

use super::Answers;
use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use buurtnet_domain::Operation;
use serde_json::json;

/// How long a tip link made for one tip from the resident app works.
const APP_TIP_LINK_MS: i64 = 3_600_000;

/// `GET /api/v1/actions/{id}/tips`: the tips residents reached by the action sent, newest
/// last, for the dispatchers of the action's control room only.
pub async fn list(state: &AppState, user: &StaffUser, action_id: i64) -> AppResult<super::view::TipsView> {
    user.require(Operation::ReadTips)?;
    let not_found = || AppError::NotFound(format!("There is no action {action_id}."));
    let action = super::access::visible_action(state, user, action_id, not_found).await?;
    let mut out = Vec::new();
    for r in state.store.replies_to(Answers::Action(action.id)).await? {
        out.push(super::view::reply_json(state, &r).await?);
    }
    state.store.audit(state.now_ms(), &user.actor(), "tips.read", Some(&format!("action:{}", action.id)), &json!({})).await?;
    Ok(super::view::TipsView { action_id: action.id, tips: out })
}

/// A one-time tip link for a resident on the action's page (a linked device's participant, or
/// 0 for an anonymous device): the tip is then stored like any reply through a link.
pub async fn app_link(state: &AppState, action_id: i64, participant_id: i64) -> AppResult<String> {
    let (token, hash) = super::links::new_token();
    let now = state.now_ms();
    state.store.insert_reply_token(&hash, Answers::Action(action_id), participant_id, now, now + APP_TIP_LINK_MS).await?;
    Ok(token)
}
