//! From an area to its recipients. The area service (the outlines in memory, [`geography`]),
//! importing official outlines ([`area_import`]), finding a place by postcode ([`geocode`]),
//! the live in-memory replica of everyone's addresses and channels with its snapshot file
//! ([`replica`]), and the plan that turns an area, a topic and a time into counts and recipient
//! streams ([`reach`]). No HTTP here: the server and the CLI call it.

pub mod address_book;
pub mod address_import;
pub mod area_import;
pub mod geocode;
pub mod geography;
pub mod place_search;
pub mod reach;
pub mod replica;
