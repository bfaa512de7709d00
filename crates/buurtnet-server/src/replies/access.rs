//! Who may read a reply: for a reply to an enquiry, a staff member allowed to read replies whose
//! scope covers the enquiry's municipality (a handler of one municipality never sees another's);
//! for a tip, one allowed to read tips who sees the action's control room. Anything else is
//! "not found" (no hint that it exists).

use super::Answers;
use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use buurtnet_domain::Operation;
use buurtnet_store::actions::ActionRow;

/// Checks that `user` may read what answers `answers`; `not_found` is the error for "no".
pub async fn may_read(state: &AppState, user: &StaffUser, answers: Answers, not_found: impl Fn() -> AppError) -> AppResult<()> {
    match answers {
        Answers::Enquiry(id) => {
            user.require(Operation::ReadReplies)?;
            let e = state.store.enquiry(id).await?.ok_or_else(&not_found)?;
            if !user.scope.covers(&state.areas.current().place_of(&e.municipality)) {
                return Err(not_found());
            }
        }
        Answers::Action(id) => {
            user.require(Operation::ReadTips)?;
            visible_action(state, user, id, &not_found).await?;
        }
    }
    Ok(())
}

/// An action whose tips `user` may read (its control room's), or `not_found`.
pub async fn visible_action(
    state: &AppState,
    user: &StaffUser,
    id: i64,
    not_found: impl Fn() -> AppError,
) -> AppResult<ActionRow> {
    let a = state.store.action(id).await?.ok_or_else(&not_found)?;
    if !user.scope.sees_record_of(&a.scope) {
        return Err(not_found());
    }
    Ok(a)
}
