//! The wiring: the one place where the capabilities are connected to the machinery that runs
//! them, so that no capability module starts or calls into another's. [`engine`] starts the
//! fan-out and the delivery workers (both in `buurtnet-delivery`) and gives them their hooks:
//! the targeting behind the fan-out's audience ([`audience`]), personal reply links and the
//! action page for the worker; [`jobs`] connects every job kind to the upkeep or retention it
//! runs.

pub mod audience;
pub mod engine;
pub mod jobs;
