//! The enquiry request's own photo is checked and re-encoded like a resident's reply photo
//! ([`crate::replies::photos`]).

pub use crate::replies::photos::{MAX_PHOTO_BYTES, reencode};
