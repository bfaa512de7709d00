//! The staff console's settings (`[console]`).

use serde::Deserialize;

/// The staff console.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// A session not used for this many minutes ends.
    pub session_idle_minutes: i64,
    /// A session ends this many hours after sign-in however busy it is.
    pub session_max_hours: i64,
    /// How long a password-reset link works, in minutes.
    pub password_reset_minutes: i64,
    /// An open staff live feed (`GET /api/v1/actions/live`) checks its session or API token
    /// again at least this often (and before each tip), and ends when it was revoked, the
    /// account disabled, or its role or scope changed. Default 10 seconds.
    pub live_recheck_ms: u64,
    /// A tile URL for the map's background (e.g. PDOK's BRT achtergrondkaart,
    /// `https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png`);
    /// without one the map draws only the imported area outlines, so it works offline.
    pub tile_url: Option<String>,
    /// Set by `buurtnet demo`: the sign-in page says that the demo accounts skip the second
    /// factor.
    pub demo_notice: bool,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            session_idle_minutes: 30,
            session_max_hours: 12,
            password_reset_minutes: 30,
            live_recheck_ms: 10_000,
            tile_url: None,
            demo_notice: false,
        }
    }
}
