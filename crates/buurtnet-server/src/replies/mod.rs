//! Replies: what residents send back through their own link — a reply to a neighbourhood
//! enquiry, a tip during an urgent action, later a message in a conversation — in one model
//! keyed by what it answers ([`Answers`]). Here: the links (made by the delivery worker when it
//! sends, see [`links`]), opening a link and storing a reply with its photos and acknowledgement
//! ([`model`]), the photos ([`photos`]), who may read what ([`access`]), the JSON view
//! ([`view`]), an action's tips ([`tips`]), and retention ([`retention`]).
//!
//! What is particular to one kind stays with its capability and uses this one: the handler's
//! work on enquiry replies (classify, forward, answer) in `enquiries::replies`, the live feed of
//! tips in `alerting::live`. This module imports neither.

pub mod access;
pub mod links;
pub mod model;
pub mod photos;
pub mod retention;
pub mod texts;
pub mod tips;
pub mod view;

pub use buurtnet_store::replies::Answers;
