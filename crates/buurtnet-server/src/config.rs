//! The one typed configuration, built once at start-up (defaults → TOML file → `BUURTNET_…`
//! environment → command-line flags, in the binary) and passed in. Secrets are redacted in `Debug`.

mod approval;

pub use approval::ApprovalConfig;

pub use buurtnet_targeting::geocode::GeocoderConfig;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    #[serde(deserialize_with = "host_list")]
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
    #[serde(deserialize_with = "abuse_limits_setting")]
    pub abuse_limits: AbuseLimits,
    /// The staff console: sessions, password-reset links, the map's optional tile layer.
    pub console: ConsoleConfig,
    /// The job runner (reminders, retention, pruning): on or off, how often it looks, its lease.
    pub jobs: crate::jobs::JobsConfig,
}

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

/// How often one client address and one target (phone number or e-mail address) may call a
/// public endpoint in a fixed window. Counted in the database, so the limits hold across every
/// process that shares it.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// Calls per client IP address per window (0 = no limit).
    pub per_ip: u32,
    /// Calls per phone number or e-mail address per window (0 = no limit).
    pub per_target: u32,
    /// Window length in seconds.
    pub window_seconds: u64,
}

impl Limit {
    const fn new(per_ip: u32, per_target: u32, window_seconds: u64) -> Limit {
        Limit { per_ip, per_target, window_seconds }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AbuseLimits {
    /// `false` (or `BUURTNET_ABUSE_LIMITS=off`) switches every limit off, with a warning at start.
    pub enabled: bool,
    /// Take the client address from the last `X-Forwarded-For` entry (only behind a reverse
    /// proxy that sets it); otherwise the TCP peer address.
    pub trust_x_forwarded_for: bool,
    /// `POST /api/v1/participants` and the sign-up form (targets: its e-mail and phone).
    pub register: Limit,
    /// `POST /api/v1/participants/resend-code` (target: the phone).
    pub resend_code: Limit,
    /// `POST /api/v1/participants/self-service-link` and its form (targets: e-mail, phone).
    pub self_service_link: Limit,
    /// Checking an SMS code (target: the phone), on top of the per-code and per-day budgets.
    pub verify_phone: Limit,
    /// Confirming an e-mail address with its link.
    pub verify_email: Limit,
    /// `POST /api/v1/devices` (registering a Web Push device; per client address only).
    pub register_device: Limit,
    /// Staff API calls per staff account (`per_target`; `per_ip` is not used: staff share
    /// office networks), across every process: a stolen or runaway token cannot flood the
    /// server.
    pub staff_api: Limit,
    /// The public reply page's POSTs and the one-click unsubscribe (per client address; counted
    /// before the link is looked up, so guessing links is limited too).
    pub reply: Limit,
    /// Staff sign-in attempts (password, second factor, password-reset requests) per client
    /// address and per account (the e-mail address typed, known or not).
    pub staff_sign_in: Limit,
    /// The resident web app's tips (`POST /api/v1/app/actions/{link}/tips`): per client
    /// address and per action-page link.
    pub tip: Limit,
    /// The resident web app's action pages and device calls (`/api/v1/app/…`) per client
    /// address; counted before a link or token is looked up, so guessing them is limited too.
    pub app: Limit,
    /// Account messages (codes, links, notices) one phone number or e-mail address receives
    /// per 24 hours over every endpoint together; beyond it nothing more is sent that day
    /// (silently: the caller's answer must not depend on it). 0 = no cap.
    pub messages_per_target_per_day: u32,
}

impl Default for AbuseLimits {
    fn default() -> Self {
        AbuseLimits {
            enabled: true,
            trust_x_forwarded_for: false,
            register: Limit::new(20, 3, 3600),
            resend_code: Limit::new(20, 3, 3600),
            self_service_link: Limit::new(20, 3, 3600),
            verify_phone: Limit::new(60, 20, 3600),
            verify_email: Limit::new(60, 0, 3600),
            register_device: Limit::new(30, 0, 3600),
            staff_api: Limit::new(0, 3000, 60),
            reply: Limit::new(60, 0, 3600),
            staff_sign_in: Limit::new(50, 10, 900),
            tip: Limit::new(30, 10, 3600),
            app: Limit::new(600, 0, 3600),
            messages_per_target_per_day: 10,
        }
    }
}

/// `abuse_limits` may be a table or the word `off`/`on` (`BUURTNET_ABUSE_LIMITS=off`).
fn abuse_limits_setting<'de, D: serde::Deserializer<'de>>(d: D) -> Result<AbuseLimits, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Setting {
        Switch(bool),
        Word(String),
        Table(AbuseLimits),
    }
    match Setting::deserialize(d)? {
        Setting::Table(t) => Ok(t),
        Setting::Switch(enabled) => Ok(AbuseLimits { enabled, ..AbuseLimits::default() }),
        Setting::Word(w) => match w.trim().to_ascii_lowercase().as_str() {
            "off" | "false" | "0" => Ok(AbuseLimits { enabled: false, ..AbuseLimits::default() }),
            "on" | "true" | "1" => Ok(AbuseLimits::default()),
            other => Err(serde::de::Error::custom(format!("abuse_limits must be 'on', 'off' or a table, not '{other}'"))),
        },
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

#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProvidersConfig {
    /// `sandbox`: every SMS, call, e-mail and push is recorded and shown at `/sandbox`;
    /// `live`: the real providers below (SMTP, CM.com SMS and voice).
    pub kind: String,
    /// `smtp://host:25`, `smtp://user:pass@host:587?tls=starttls` or `smtps://user:pass@host:465`
    /// (also read from the plain `BUURTNET_SMTP_URL`). Redacted in logs.
    pub smtp_url: Option<String>,
    /// The `From` of e-mails (its domain also names the `Message-ID`s).
    pub email_from: String,
    /// Time-out of one SMTP command, in milliseconds.
    pub smtp_timeout_ms: u64,
    /// SMTP connections kept open at most.
    pub smtp_pool_size: u32,
    pub sms: SmsProviderConfig,
    pub voice: VoiceProviderConfig,
}

/// SMS through CM.com's Business Messaging API.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsProviderConfig {
    /// Base URL of the gateway (`/v1.0/message` is appended).
    pub url: String,
    /// CM product token (secret).
    pub product_token: String,
    /// Sender name (up to 11 letters/digits) or number.
    pub sender: String,
    /// Requests per second at most (0 = no limit).
    pub messages_per_second: u32,
    /// Shared secret of the status-report webhook (`X-Buurtnet-Signature`; secret).
    pub report_secret: String,
    /// Time-out of one request, in milliseconds.
    pub timeout_ms: u64,
}

/// Text-to-speech calls through CM.com's Voice API (Notification app).
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VoiceProviderConfig {
    /// Base URL (`/voiceapi/v2/Notification` is appended).
    pub url: String,
    /// CM product token (secret).
    pub product_token: String,
    /// The number shown to the callee, international format (`+3188…`; digits alone get a `+`).
    pub caller: String,
    /// Call requests in flight at most.
    pub max_concurrent_calls: usize,
    /// Time-out of one request, in milliseconds.
    pub timeout_ms: u64,
}

impl std::fmt::Debug for SmsProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsProviderConfig")
            .field("url", &self.url)
            .field("product_token", &redact_secret(&self.product_token))
            .field("sender", &self.sender)
            .field("messages_per_second", &self.messages_per_second)
            .field("report_secret", &redact_secret(&self.report_secret))
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

impl std::fmt::Debug for VoiceProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceProviderConfig")
            .field("url", &self.url)
            .field("product_token", &redact_secret(&self.product_token))
            .field("caller", &self.caller)
            .field("max_concurrent_calls", &self.max_concurrent_calls)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// `***` for a set secret, `""` for an empty one (so the log shows whether it is set).
fn redact_secret(s: &str) -> &'static str {
    if s.is_empty() { "" } else { "***" }
}

impl Default for SmsProviderConfig {
    fn default() -> Self {
        SmsProviderConfig {
            url: "https://gw.messaging.cm.com".into(),
            product_token: String::new(),
            sender: "Buurtnet".into(),
            messages_per_second: 50,
            report_secret: String::new(),
            timeout_ms: 10_000,
        }
    }
}

impl Default for VoiceProviderConfig {
    fn default() -> Self {
        VoiceProviderConfig {
            url: "https://api.cm.com".into(),
            product_token: String::new(),
            caller: String::new(),
            max_concurrent_calls: 10,
            timeout_ms: 15_000,
        }
    }
}

impl ProvidersConfig {
    /// The SMTP provider's settings, when an SMTP URL is configured.
    pub fn smtp(&self) -> Option<buurtnet_delivery::SmtpConfig> {
        let url = self.smtp_url.as_ref().filter(|u| !u.trim().is_empty())?;
        Some(buurtnet_delivery::SmtpConfig {
            url: url.trim().to_string(),
            from: self.email_from.clone(),
            timeout: Duration::from_millis(self.smtp_timeout_ms),
            pool_size: self.smtp_pool_size,
        })
    }

    /// The SMS provider's settings.
    pub fn sms(&self) -> buurtnet_delivery::SmsHttpConfig {
        buurtnet_delivery::SmsHttpConfig {
            url: self.sms.url.clone(),
            product_token: self.sms.product_token.clone(),
            sender: self.sms.sender.clone(),
            messages_per_second: self.sms.messages_per_second,
            timeout: Duration::from_millis(self.sms.timeout_ms),
        }
    }

    /// The voice provider's settings.
    pub fn voice(&self) -> buurtnet_delivery::VoiceHttpConfig {
        let caller = self.voice.caller.trim();
        // A number given through the environment may have lost its `+` (parsed as an integer).
        let caller = if !caller.is_empty() && caller.bytes().all(|b| b.is_ascii_digit()) {
            format!("+{caller}")
        } else {
            caller.to_string()
        };
        buurtnet_delivery::VoiceHttpConfig {
            url: self.voice.url.clone(),
            product_token: self.voice.product_token.clone(),
            caller,
            max_concurrent_calls: self.voice.max_concurrent_calls,
            timeout: Duration::from_millis(self.voice.timeout_ms),
        }
    }

    fn validate(&self) -> Result<(), String> {
        match self.kind.as_str() {
            "sandbox" => Ok(()),
            "live" => {
                let smtp = self.smtp().ok_or("providers.kind 'live' needs providers.smtp_url (or BUURTNET_SMTP_URL)")?;
                buurtnet_delivery::Smtp::check_config(&smtp).map_err(|e| format!("providers.smtp_url / email_from: {e:#}"))?;
                if self.sms.product_token.is_empty() || self.voice.product_token.is_empty() {
                    return Err(
                        "providers.kind 'live' needs providers.sms.product_token and providers.voice.product_token".into()
                    );
                }
                if self.voice.caller.trim().is_empty() {
                    return Err("providers.kind 'live' needs providers.voice.caller (the number callees see)".into());
                }
                buurtnet_delivery::SmsHttp::new(&self.sms()).map_err(|e| format!("providers.sms: {e:#}"))?;
                buurtnet_delivery::VoiceHttp::new(&self.voice()).map_err(|e| format!("providers.voice: {e:#}"))?;
                Ok(())
            }
            other => Err(format!("providers.kind must be 'sandbox' or 'live', not '{other}'")),
        }
    }
}

// The SMTP password and the tokens are redacted.
impl std::fmt::Debug for ProvidersConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = self;
        f.debug_struct("ProvidersConfig")
            .field("kind", &c.kind)
            .field("smtp_url", &c.smtp_url.as_deref().map(buurtnet_delivery::smtp::redact_url_password))
            .field("email_from", &c.email_from)
            .field("smtp_timeout_ms", &c.smtp_timeout_ms)
            .field("smtp_pool_size", &c.smtp_pool_size)
            .field("sms", &c.sms)
            .field("voice", &c.voice)
            .finish()
    }
}

/// Web Push settings (`[push]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PushConfig {
    /// The push services endpoints may point at: `host`, `host:port` or `*.domain`, as a list
    /// or one comma-separated text (`BUURTNET_PUSH__ALLOWED_HOSTS` or
    /// `BUURTNET_PUSH_ALLOWED_HOSTS`). Replaces the default: the browsers' push services (FCM,
    /// Mozilla, Apple, Windows). Plain `http` only for listed loopback hosts (tests).
    #[serde(deserialize_with = "host_list")]
    pub allowed_hosts: Option<Vec<String>>,
    /// The VAPID contact (`sub`) push services may write to: `mailto:…` or `https://…`.
    /// Default `mailto:webpush@{host of public_url}`.
    pub vapid_subject: Option<String>,
    /// Time-out of one push request, in milliseconds.
    pub timeout_ms: u64,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig { allowed_hosts: None, vapid_subject: None, timeout_ms: 10_000 }
    }
}

/// A list of hosts, or one comma-separated text (as environment variables give it).
fn host_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Hosts {
        Text(String),
        List(Vec<String>),
    }
    Ok(Some(match Hosts::deserialize(d)? {
        Hosts::Text(t) => t.split(',').map(|h| h.trim().to_string()).filter(|h| !h.is_empty()).collect(),
        Hosts::List(l) => l,
    }))
}

impl PushConfig {
    /// The allow-list these settings give (the default when none is configured).
    pub fn allow_list(&self) -> Result<buurtnet_delivery::PushAllowList, String> {
        match &self.allowed_hosts {
            None => Ok(buurtnet_delivery::PushAllowList::default()),
            Some(hosts) => buurtnet_delivery::PushAllowList::parse(hosts.iter().map(String::as_str))
                .map_err(|e| format!("push.allowed_hosts: {e}")),
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
        }
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

impl Config {
    /// The folder of reply photos.
    pub fn photo_dir(&self) -> PathBuf {
        self.enquiries.photo_dir.clone().unwrap_or_else(|| self.data_dir.join("reply-photos"))
    }
}

impl Default for ReplicaConfig {
    fn default() -> Self {
        ReplicaConfig { change_retention_minutes: 60, load: true, snapshot_file: true }
    }
}

impl Default for ProvidersConfig {
    fn default() -> Self {
        ProvidersConfig {
            kind: "sandbox".into(),
            smtp_url: None,
            email_from: buurtnet_delivery::smtp::DEFAULT_FROM.into(),
            smtp_timeout_ms: 30_000,
            smtp_pool_size: 10,
            sms: SmsProviderConfig::default(),
            voice: VoiceProviderConfig::default(),
        }
    }
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
