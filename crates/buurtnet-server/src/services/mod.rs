//! Application services: what the HTTP handlers and the CLI commands call.

pub mod demo;
pub mod geocode;
pub mod geography;
pub mod import;
pub mod linked_devices;
pub mod live_index;
pub mod notify;
pub mod participants;
pub mod targeting;
