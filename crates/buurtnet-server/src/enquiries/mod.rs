//! Neighbourhood enquiries (digitaal buurtonderzoek, after the Amersfoort Burgernetmail pilot):
//! a requester asks, another person approves (four eyes), the enquiry goes out through the
//! delivery engine to participants near the incident who want enquiries, each with a personal
//! reply link; residents reply (text, photos, a call-back number) without an account — stored
//! in the one replies model ([`crate::replies`]); handlers classify, forward and always answer;
//! monitoring counts it all per month.

pub mod links;
pub mod monitoring;
pub mod photos;
pub mod replies;
pub mod requests;
pub mod texts;
pub mod views;

use crate::auth::StaffUser;
use crate::state::AppState;
use buurtnet_store::enquiries::EnquiryRow;

/// Whether a staff member may see an enquiry (and its replies): its municipality lies within
/// their scope. A handler of one municipality never sees another's.
pub fn visible(state: &AppState, user: &StaffUser, e: &EnquiryRow) -> bool {
    user.scope.covers(&state.areas.current().place_of(&e.municipality))
}
