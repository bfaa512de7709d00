//! The one typed configuration, built once at start-up (defaults → TOML file → `BUURTNET_…`
//! environment → command-line flags, in the binary) and passed in. Secrets are redacted in `Debug`.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `sqlite://buurtnet.db` (default) or `postgres://user:pass@host/db`.
    pub database_url: String,
    /// Address the HTTP server listens on. Default `127.0.0.1:8080`.
    pub bind: SocketAddr,
    /// Folder with the CBS GeoJSON files. Default `../shared/data/nl` when it exists.
    pub geodata: Option<PathBuf>,
    /// The address people reach this server at, used in links in e-mails and SMS.
    /// Default `http://{bind}`.
    pub public_url: Option<String>,
    /// Log as JSON lines instead of human-readable text.
    pub log_json: bool,
    /// Maximum database connections per process.
    pub database_max_connections: u32,
    /// Mark cookies `Secure` (serve over HTTPS). Default true; the demo turns it off for
    /// plain http on loopback.
    pub secure_cookies: bool,
    /// Folder for this process's own files (the targeting replica's snapshot file). Default
    /// `buurtnet-data` in the working directory, created with mode 0700 when first needed.
    pub data_dir: PathBuf,
    pub replica: ReplicaConfig,
    pub geocoder: GeocoderConfig,
    pub providers: ProvidersConfig,
    pub links: LinksConfig,
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

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeocoderConfig {
    /// `offline` (address table, PC4 centroid fallback) or `pdok` (PDOK Locatieserver first,
    /// then offline).
    pub kind: String,
    /// Base URL of the PDOK Locatieserver.
    pub pdok_url: String,
    /// Time-out for one geocoding request, in milliseconds.
    pub timeout_ms: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProvidersConfig {
    /// `sandbox`: every SMS, call, e-mail and push is recorded and shown at `/sandbox`.
    pub kind: String,
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
}

impl Default for Config {
    fn default() -> Self {
        let shared = PathBuf::from("../shared/data/nl");
        Config {
            database_url: "sqlite://buurtnet.db".into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            geodata: shared.is_dir().then_some(shared),
            public_url: None,
            log_json: false,
            database_max_connections: 10,
            secure_cookies: true,
            data_dir: PathBuf::from("buurtnet-data"),
            replica: ReplicaConfig::default(),
            geocoder: GeocoderConfig::default(),
            providers: ProvidersConfig::default(),
            links: LinksConfig::default(),
        }
    }
}

impl Default for ReplicaConfig {
    fn default() -> Self {
        ReplicaConfig { change_retention_minutes: 60, load: true, snapshot_file: true }
    }
}

impl Default for GeocoderConfig {
    fn default() -> Self {
        GeocoderConfig {
            kind: "offline".into(),
            pdok_url: "https://api.pdok.nl/bzk/locatieserver/search/v3_1".into(),
            timeout_ms: 3000,
        }
    }
}

impl Default for ProvidersConfig {
    fn default() -> Self {
        ProvidersConfig { kind: "sandbox".into() }
    }
}

impl Default for LinksConfig {
    fn default() -> Self {
        LinksConfig { verify_email_hours: 72, self_service_hours: 24, phone_code_minutes: 15, phone_code_attempts: 5 }
    }
}

impl Config {
    pub fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.bind)).trim_end_matches('/').to_string()
    }

    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        if !matches!(self.geocoder.kind.as_str(), "offline" | "pdok") {
            return Err(format!("geocoder.kind must be 'offline' or 'pdok', not '{}'", self.geocoder.kind));
        }
        if self.providers.kind != "sandbox" {
            return Err(format!("providers.kind must be 'sandbox' (real providers come later), not '{}'", self.providers.kind));
        }
        if self.database_max_connections == 0 {
            return Err("database_max_connections must be at least 1".into());
        }
        if self.replica.change_retention_minutes < 1 {
            return Err("replica.change_retention_minutes must be at least 1".into());
        }
        Ok(())
    }
}

/// The database URL with any password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***@{}", &url[..s], &url[at + 1..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("geodata", &self.geodata)
            .field("public_url", &self.public_url)
            .field("log_json", &self.log_json)
            .field("database_max_connections", &self.database_max_connections)
            .field("secure_cookies", &self.secure_cookies)
            .field("data_dir", &self.data_dir)
            .field("replica", &self.replica)
            .field("geocoder", &self.geocoder)
            .field("providers", &self.providers)
            .field("links", &self.links)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show_in_debug() {
        let c = Config { database_url: "postgres://bn:s3cret@db/bn".into(), ..Config::default() };
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("postgres://bn:***@db/bn"));
    }
}
