//! The wiring: the one place where the capabilities are connected to the machinery that runs
//! them, so that no capability module starts or calls into another's. [`engine`] starts the
//! fan-out and the delivery workers and gives the worker its hooks (personal reply links, the
//! action page); [`jobs`] connects every job kind to the upkeep or retention it runs.

pub mod engine;
pub mod jobs;
