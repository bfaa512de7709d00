//! Publishing actions as CAP 1.2 alerts (`[publishing]`).

use serde::Deserialize;

/// The CAP export and import.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublishingConfig {
    /// The CAP `sender` of our alerts; with the action and message ids it makes each alert's
    /// stable `identifier`. Default `buurtnet@{host of public_url}`.
    pub cap_sender: Option<String>,
    /// How long the alerts of an ended (closed or cancelled) action stay in the CAP feed, in
    /// hours. Default 24.
    pub feed_retention_hours: u32,
    /// `Cache-Control: public, max-age=…` of the CAP feed and documents, in seconds. Default 60.
    pub cache_seconds: u32,
}

impl Default for PublishingConfig {
    fn default() -> Self {
        PublishingConfig { cap_sender: None, feed_retention_hours: 24, cache_seconds: 60 }
    }
}
