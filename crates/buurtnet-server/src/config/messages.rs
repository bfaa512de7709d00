//! Alerting, enquiries, links and the targeting replica (`[alerting]`, `[enquiries]`, `[links]`, `[replica]`).

use serde::Deserialize;
use std::path::PathBuf;

/// Urgent actions, information messages and their delivery.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertingConfig {
    /// Delivery workers in each `serve` process (0: none; `buurtnet worker` runs them
    /// elsewhere). `serve --workers N` overrides it.
    pub workers: usize,
    /// An action still open this many minutes after it was sent reminds its dispatcher.
    pub reminder_minutes: u32,
    /// How long an action's start and updates are worth delivering; later they expire.
    pub validity_minutes: u32,
    /// How long a closing or cancelling message is worth delivering.
    pub closing_validity_minutes: u32,
    /// How long an information message is worth delivering after its send time.
    pub information_validity_minutes: u32,
    /// How long a fan-out's claim holds without progress; a process that died mid-way is
    /// taken over after this.
    pub fanout_lease_seconds: u32,
    /// Delivery rows (who got which message) are deleted this many days after their message
    /// stopped being valid and its action ended; the counts per channel and state are kept.
    pub delivery_retention_days: u32,
    /// Push deliveries to anonymous devices go out in batches of `worker.batch` devices (one
    /// record per batch, a delivery row only for a device the push did not reach at once)
    /// instead of one delivery row per device: what makes a national AMBER Alert to millions
    /// of devices fast. Off: one row per device, like every other delivery.
    pub device_batches: bool,
    /// The delivery workers: batch size, concurrency, lease, retries and backoff.
    pub worker: buurtnet_delivery::worker::WorkerConfig,
    /// Resident live feeds (`/api/v1/live`) one client address (IPv6 per /64) may hold open
    /// in one process at once (0 = no limit per address). Default 10.
    pub public_feeds_per_address: usize,
}

impl Default for AlertingConfig {
    fn default() -> Self {
        AlertingConfig {
            workers: 2,
            reminder_minutes: 30,
            validity_minutes: 360,
            closing_validity_minutes: 1440,
            information_validity_minutes: 2880,
            fanout_lease_seconds: 30,
            delivery_retention_days: 90,
            device_batches: true,
            worker: buurtnet_delivery::worker::WorkerConfig::default(),
            public_feeds_per_address: 10,
        }
    }
}

/// The in-memory targeting replica and its change feed.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplicaConfig {
    /// Change-feed rows older than this many minutes are pruned (by any process, about once a
    /// minute). A replica further behind than that reloads everything. Default 60.
    pub change_retention_minutes: i64,
    /// Load the replica in the background at start. Until it is loaded, counts and recipient
    /// streams read the database. Default true.
    pub load: bool,
    /// Save the replica to `{data_dir}/replica.snapshot` so that a restart loads it in a second
    /// or two and catches up through the change feed. Default true.
    pub snapshot_file: bool,
}

impl Default for ReplicaConfig {
    fn default() -> Self {
        ReplicaConfig { change_retention_minutes: 60, load: true, snapshot_file: true }
    }
}

/// Neighbourhood enquiries.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnquiriesConfig {
    /// How long a resident's personal reply link works, in days.
    pub link_days: i64,
    /// How long an enquiry is worth delivering after it was approved, in hours.
    pub validity_hours: i64,
    /// The folder for reply photos (content-addressed: `ab/cd/<sha256>.jpg`). Default
    /// `{data_dir}/reply-photos`. Every process serving the database must see the same folder.
    pub photo_dir: Option<PathBuf>,
    /// Reply photos are deleted this many days after their enquiry closes (a tip's, after its action closes).
    pub photo_retention_days: i64,
    /// Where a handler forwards a reply: the investigating team's address per scope code
    /// (`GM0307`, `RE09`, `NL`); the enquiry's municipality first, then its requester's scope.
    pub forward_addresses: std::collections::BTreeMap<String, String>,
    /// Replies and tips with photos (up to 52 MB each) read at once per process; more get 503
    /// until one is done. Default 4.
    pub max_concurrent_uploads: usize,
}

impl Default for EnquiriesConfig {
    fn default() -> Self {
        EnquiriesConfig {
            link_days: 14,
            validity_hours: 48,
            photo_dir: None,
            photo_retention_days: 90,
            forward_addresses: std::collections::BTreeMap::new(),
            max_concurrent_uploads: 4,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinksConfig {
    /// How long an e-mail verification link is valid, in hours.
    pub verify_email_hours: i64,
    /// How long a self-service link is valid, in hours.
    pub self_service_hours: i64,
    /// How long an SMS code is valid, in minutes.
    pub phone_code_minutes: i64,
    /// Wrong SMS codes allowed before a new code must be requested.
    pub phone_code_attempts: i64,
    /// Wrong SMS codes allowed per phone number per 24 hours, however many codes are sent.
    pub phone_code_daily_budget: i64,
    /// New SMS codes per phone number per 24 hours.
    pub phone_code_daily_sends: i64,
}

impl Default for LinksConfig {
    fn default() -> Self {
        LinksConfig {
            verify_email_hours: 72,
            self_service_hours: 24,
            phone_code_minutes: 15,
            phone_code_attempts: 5,
            phone_code_daily_budget: 10,
            phone_code_daily_sends: 5,
        }
    }
}
