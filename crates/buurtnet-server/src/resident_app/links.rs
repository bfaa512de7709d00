//! The action page's link in a push notification: made for one delivery (signed, so it can be
//! neither guessed nor counted through), it names the delivery and through it the device or
//! person and the action.

use crate::signing::LinkClaims;
use crate::state::AppState;

/// What an action-page token is signed for.
pub const PURPOSE: &str = "action-page";
/// How long an action-page link works.
const DAYS: i64 = 30;

/// The token of one delivery's action page.
pub fn page_token(state: &AppState, delivery_id: i64) -> String {
    state.signer.sign(&LinkClaims { purpose: PURPOSE.into(), id: delivery_id, exp: state.now_ms() + DAYS * 86_400_000 })
}

/// The action page a delivery's notification opens.
pub fn page_url(state: &AppState, delivery_id: i64) -> String {
    format!("{}/app/actie/{}", state.config.public_url(), page_token(state, delivery_id))
}

/// What a page link a device got from the live feed is signed for (see [`action_token`]).
pub const ACTION_PURPOSE: &str = "action-page-action";

/// A page link for an action itself, handed only to a device whose place overlaps the action's
/// area (an open page that heard of it on the live feed, where no delivery reached it).
pub fn action_token(state: &AppState, action_id: i64) -> String {
    state.signer.sign(&LinkClaims { purpose: ACTION_PURPOSE.into(), id: action_id, exp: state.now_ms() + DAYS * 86_400_000 })
}

/// What a valid page link names.
pub enum Target {
    Delivery(i64),
    Action(i64),
}

/// What a page token was made for; `None` when it is not valid (any reason).
pub fn resolve(state: &AppState, token: &str) -> Option<Target> {
    if token.len() > 400 {
        return None;
    }
    let now = state.now_ms();
    if let Ok(c) = state.signer.verify(token, PURPOSE, now) {
        return Some(Target::Delivery(c.id));
    }
    state.signer.verify(token, ACTION_PURPOSE, now).ok().map(|c| Target::Action(c.id))
}
