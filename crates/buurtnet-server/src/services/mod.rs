//! Application services: what the HTTP handlers and the CLI commands call.

pub mod demo;
pub mod import;
pub mod linked_devices;
pub mod notify;
pub mod participants;
