//! Abuse limits on public endpoints (`[abuse_limits]`).

use serde::Deserialize;

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
    pub(super) const fn new(per_ip: u32, per_target: u32, window_seconds: u64) -> Limit {
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
    /// Presses of the emergency button (`POST /api/v1/app/devices/{id}/emergency`) per
    /// participant (`per_target`; `per_ip` 0: neighbours may share a network). Default: 3 an
    /// hour (`buurtnet_domain::alarm`); beyond it `429`.
    pub emergency: Limit,
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
            emergency: Limit::new(0, buurtnet_domain::alarm::PRESSES_PER_WINDOW, buurtnet_domain::alarm::PRESS_WINDOW_SECONDS),
            messages_per_target_per_day: 10,
        }
    }
}

/// `abuse_limits` may be a table or the word `off`/`on` (`BUURTNET_ABUSE_LIMITS=off`).
pub(super) fn abuse_limits_setting<'de, D: serde::Deserializer<'de>>(d: D) -> Result<AbuseLimits, D::Error> {
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
