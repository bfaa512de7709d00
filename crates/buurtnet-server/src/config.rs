//! The one typed configuration, built once at start-up (defaults → TOML file → `BUURTNET_…`
//! environment → command-line flags, in the binary) and passed in. Secrets are redacted in `Debug`.

mod abuse;
mod approval;
mod console;
mod messages;
mod providers;
mod publishing;
mod reports;

pub use abuse::{AbuseLimits, Limit};
pub use approval::ApprovalConfig;
pub use console::ConsoleConfig;
pub use messages::{AlertingConfig, EnquiriesConfig, LinksConfig, ReplicaConfig};
pub use providers::{ProvidersConfig, PushConfig, SmsProviderConfig, VoiceProviderConfig};
pub use publishing::PublishingConfig;
pub use reports::{CostRates, ReportsConfig};

pub use buurtnet_targeting::geocode::GeocoderConfig;
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
    /// Let requests from this machine read `/sandbox` and `/metrics` without an admin token:
    /// only when the server listens on loopback, the peer is loopback and no proxy header is
    /// present. Off by default (a reverse proxy on the same host makes every request local);
    /// `buurtnet demo` turns it on.
    pub local_operator_access: bool,
    /// The host names (`Host` header, any port) this server answers to; any other gets `421`
    /// (against DNS rebinding). Default `localhost`, `127.0.0.1`, `[::1]`; the host of
    /// `public_url` and a specific (not `0.0.0.0`/`::`) bind address are always added. `*`
    /// answers any host name (behind a proxy that checks it), but local operator access still
    /// needs a listed one. A list or one comma-separated text (`BUURTNET_ALLOWED_HOSTS`).
    #[serde(deserialize_with = "providers::host_list")]
    pub allowed_hosts: Option<Vec<String>>,
    /// Mark cookies `Secure` (serve over HTTPS). Default true; the demo turns it off for
    /// plain http on loopback.
    pub secure_cookies: bool,
    /// Folder for this process's own files: the secrets file (unless `secrets_file` is set) and
    /// the targeting replica's snapshot file. Default `buurtnet-data` in the working directory;
    /// made with mode 0700.
    pub data_dir: PathBuf,
    /// The file holding the link-signing keys (never in the database). Default
    /// `{data_dir}/secrets.json`; made on first start with mode 0600. Every process serving the
    /// same database must read the same file.
    pub secrets_file: Option<PathBuf>,
    pub replica: ReplicaConfig,
    pub geocoder: GeocoderConfig,
    pub providers: ProvidersConfig,
    pub alerting: AlertingConfig,
    /// Two-person approval: which actions need a second person before they are sent.
    pub approval: ApprovalConfig,
    pub links: LinksConfig,
    /// Neighbourhood enquiries: reply links, the photo folder and its retention, the teams'
    /// forwarding addresses.
    pub enquiries: EnquiriesConfig,
    /// Web Push: which push services may be called, the VAPID contact, time-outs.
    pub push: PushConfig,
    /// Abuse limits on public endpoints: a table of limits, or `"off"` (load tests only).
    #[serde(deserialize_with = "abuse::abuse_limits_setting")]
    pub abuse_limits: AbuseLimits,
    /// The staff console: sessions, password-reset links, the map's optional tile layer.
    pub console: ConsoleConfig,
    /// The job runner (reminders, retention, pruning): on or off, how often it looks, its lease.
    pub jobs: crate::jobs::JobsConfig,
    /// Reports: the success target per police unit, the recruitment threshold, the cost rates.
    pub reports: ReportsConfig,
    /// CAP 1.2: the sender of our alerts, how long ended actions stay in the feed.
    pub publishing: PublishingConfig,
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
            local_operator_access: false,
            allowed_hosts: None,
            data_dir: PathBuf::from("buurtnet-data"),
            secrets_file: None,
            replica: ReplicaConfig::default(),
            geocoder: GeocoderConfig::default(),
            providers: ProvidersConfig::default(),
            alerting: AlertingConfig::default(),
            approval: ApprovalConfig::default(),
            links: LinksConfig::default(),
            enquiries: EnquiriesConfig::default(),
            push: PushConfig::default(),
            abuse_limits: AbuseLimits::default(),
            console: ConsoleConfig::default(),
            jobs: crate::jobs::JobsConfig::default(),
            reports: ReportsConfig::default(),
            publishing: PublishingConfig::default(),
        }
    }
}

impl Config {
    /// The folder of reply photos.
    pub fn photo_dir(&self) -> PathBuf {
        self.enquiries.photo_dir.clone().unwrap_or_else(|| self.data_dir.join("reply-photos"))
    }
}

impl Config {
    pub fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.bind)).trim_end_matches('/').to_string()
    }

    /// The VAPID `sub`: `push.vapid_subject`, or `mailto:webpush@{host of public_url}`.
    pub fn vapid_subject(&self) -> String {
        if let Some(s) = &self.push.vapid_subject {
            return s.clone();
        }
        let url = self.public_url();
        let host =
            reqwest::Url::parse(&url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_else(|| "localhost".into());
        format!("mailto:webpush@{}", host.trim_start_matches('[').trim_end_matches(']'))
    }

    /// The CAP `sender` of our alerts: `publishing.cap_sender`, or `buurtnet@{host of public_url}`.
    pub fn cap_sender(&self) -> String {
        if let Some(s) = self.publishing.cap_sender.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            return s.to_string();
        }
        let url = self.public_url();
        let host =
            reqwest::Url::parse(&url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_else(|| "localhost".into());
        format!("buurtnet@{}", host.trim_start_matches('[').trim_end_matches(']'))
    }

    /// The host names of `allowed_hosts`, or its default.
    pub fn allowed_host_names(&self) -> Vec<&str> {
        match &self.allowed_hosts {
            Some(list) => list.iter().map(String::as_str).collect(),
            None => DEFAULT_ALLOWED_HOSTS.to_vec(),
        }
    }

    /// The secrets file (link-signing keys).
    pub fn secrets_path(&self) -> PathBuf {
        self.secrets_file.clone().unwrap_or_else(|| self.data_dir.join("secrets.json"))
    }

    /// The longest time a signed link stays valid, in milliseconds (how long a retired key
    /// must keep verifying).
    pub fn longest_link_ms(&self) -> i64 {
        self.links.verify_email_hours.max(self.links.self_service_hours) * 3_600_000
    }

    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        if !matches!(self.geocoder.kind.as_str(), "offline" | "pdok") {
            return Err(format!("geocoder.kind must be 'offline' or 'pdok', not '{}'", self.geocoder.kind));
        }
        if !(0.0..=10_000.0).contains(&self.geocoder.nearest_area_within_m) {
            return Err("geocoder.nearest_area_within_m must be between 0 and 10000 (metres)".into());
        }
        self.providers.validate()?;
        self.jobs.validate()?;
        if self.cap_sender().chars().any(|c| c.is_whitespace() || ",<&".contains(c)) {
            return Err("publishing.cap_sender may not hold spaces, commas, '<' or '&' (CAP 1.2).".into());
        }
        for (name, limit) in [
            ("register", &self.abuse_limits.register),
            ("resend_code", &self.abuse_limits.resend_code),
            ("self_service_link", &self.abuse_limits.self_service_link),
            ("verify_phone", &self.abuse_limits.verify_phone),
            ("verify_email", &self.abuse_limits.verify_email),
            ("register_device", &self.abuse_limits.register_device),
            ("staff_api", &self.abuse_limits.staff_api),
            ("reply", &self.abuse_limits.reply),
            ("tip", &self.abuse_limits.tip),
            ("app", &self.abuse_limits.app),
            ("emergency", &self.abuse_limits.emergency),
        ] {
            if !(1..=30 * 86_400).contains(&limit.window_seconds) {
                return Err(format!("abuse_limits.{name}.window_seconds must be between 1 and 2592000 (30 days)"));
            }
        }
        if self.links.phone_code_attempts < 1 || self.links.phone_code_daily_budget < 1 || self.links.phone_code_daily_sends < 1 {
            return Err("links.phone_code_attempts, phone_code_daily_budget and phone_code_daily_sends must be at least 1".into());
        }
        if self.database_max_connections == 0 {
            return Err("database_max_connections must be at least 1".into());
        }
        self.push.allow_list()?;
        if let Some(s) = &self.push.vapid_subject
            && !(s.starts_with("mailto:") || s.starts_with("https://"))
        {
            return Err(format!("push.vapid_subject must be a 'mailto:' or 'https://' contact, not '{s}'"));
        }
        if !(100..=120_000).contains(&self.push.timeout_ms) {
            return Err("push.timeout_ms must be between 100 and 120000".into());
        }
        if self.enquiries.max_concurrent_uploads == 0 {
            return Err("enquiries.max_concurrent_uploads must be at least 1".into());
        }
        for h in self.allowed_host_names() {
            if h.trim() != "*" && crate::http::host_check::host_name(h).is_none() {
                return Err(format!("allowed_hosts: '{h}' is not a host name"));
            }
        }
        if self.replica.change_retention_minutes < 1 {
            return Err("replica.change_retention_minutes must be at least 1".into());
        }
        Ok(())
    }
}

/// The host names a server answers to unless `allowed_hosts` says otherwise.
pub const DEFAULT_ALLOWED_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

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
            .field("local_operator_access", &self.local_operator_access)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("data_dir", &self.data_dir)
            .field("secrets_file", &self.secrets_file)
            .field("replica", &self.replica)
            .field("geocoder", &self.geocoder)
            .field("providers", &self.providers)
            .field("approval", &self.approval)
            .field("links", &self.links)
            .field("push", &self.push)
            .field("abuse_limits", &self.abuse_limits)
            .field("console", &self.console)
            .field("jobs", &self.jobs)
            .field("reports", &self.reports)
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

    #[test]
    fn provider_secrets_never_show_in_debug() {
        let mut c = Config::default();
        c.providers.smtp_url = Some("smtps://mailer:sm7p-pass@mail.example.org:465".into());
        c.providers.sms.product_token = "sms-t0ken".into();
        c.providers.sms.report_secret = "rep0rt-secret".into();
        c.providers.voice.product_token = "v0ice-token".into();
        let shown = format!("{c:?}");
        for secret in ["sm7p-pass", "sms-t0ken", "rep0rt-secret", "v0ice-token"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("mailer:***@mail.example.org"), "{shown}");
    }

    #[test]
    fn live_providers_need_their_settings() {
        let mut c = Config::default();
        c.providers.kind = "live".into();
        assert!(c.validate().is_err());
        c.providers.smtp_url = Some("smtp://127.0.0.1:2525".into());
        c.providers.sms.product_token = "t".into();
        c.providers.voice.product_token = "t".into();
        assert!(c.validate().is_err(), "no caller");
        c.providers.voice.caller = "3188".into();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.providers.voice().caller, "+3188");
        c.providers.smtp_url = Some("smtp://user:pw@mail.example.org".into());
        assert!(c.validate().is_err(), "credentials without TLS");
        c.providers.kind = "other".into();
        assert!(c.validate().is_err());
    }

    #[test]
    fn abuse_limits_are_a_word_or_a_table() {
        let off: Config = serde_json::from_value(serde_json::json!({"abuse_limits": "off"})).unwrap();
        assert!(!off.abuse_limits.enabled);
        let table: Config = serde_json::from_value(
            serde_json::json!({"abuse_limits": {"register": {"per_ip": 1, "per_target": 2, "window_seconds": 60}}}),
        )
        .unwrap();
        assert!(table.abuse_limits.enabled);
        assert_eq!(table.abuse_limits.register, Limit::new(1, 2, 60));
        assert_eq!(table.abuse_limits.resend_code, AbuseLimits::default().resend_code);
        assert!(serde_json::from_value::<Config>(serde_json::json!({"abuse_limits": "maybe"})).is_err());
    }

    #[test]
    fn push_hosts_are_a_list_or_a_comma_separated_text() {
        let text: Config =
            serde_json::from_value(serde_json::json!({"push": {"allowed_hosts": "127.0.0.1:9000, push.example.org"}})).unwrap();
        assert_eq!(text.push.allowed_hosts, Some(vec!["127.0.0.1:9000".to_string(), "push.example.org".to_string()]));
        assert!(text.validate().is_ok());
        let list: Config =
            serde_json::from_value(serde_json::json!({"push": {"allowed_hosts": ["*.push.example.org"]}})).unwrap();
        assert!(list.push.allow_list().unwrap().check("https://a.push.example.org/x").is_ok());
        let bad: Config = serde_json::from_value(serde_json::json!({"push": {"allowed_hosts": "exa mple"}})).unwrap();
        assert!(bad.validate().unwrap_err().contains("push.allowed_hosts"));
        assert!(Config::default().push.allow_list().unwrap().check("https://fcm.googleapis.com/fcm/send/x").is_ok());
        let c = Config { public_url: Some("https://alert.example.nl/".into()), ..Config::default() };
        assert_eq!(c.vapid_subject(), "mailto:webpush@alert.example.nl");
        let wrong: Config = serde_json::from_value(serde_json::json!({"push": {"vapid_subject": "ops@example.nl"}})).unwrap();
        assert!(wrong.validate().unwrap_err().contains("vapid_subject"));
    }
}
