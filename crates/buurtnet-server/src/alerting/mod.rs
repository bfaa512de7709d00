//! Alerting: urgent actions and information messages, their upkeep jobs, and the live feed of
//! action messages (and of the tips that come back, from `crate::replies`).
//!
//! The flow: an API call writes the action's state and its message in one transaction (so once
//! it answers, nothing can be lost) and wakes this process's fan-out loop; any process's loop
//! (`buurtnet_delivery::fanout`, started by `crate::wiring`) claims the message, resolves its
//! recipients and writes their deliveries in blocks, waking the workers after each; the workers
//! (of any process) claim deliveries in batches and send them through the channel adapters of
//! `buurtnet-delivery`.

pub mod actions;
pub mod approval;
pub mod content;
pub mod engine;
pub mod information;
pub mod live;
pub mod views;
