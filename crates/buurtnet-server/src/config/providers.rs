//! The channel providers (`[providers]`) and Web Push (`[push]`); secrets redacted in `Debug`.

use serde::Deserialize;
use std::time::Duration;

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

    pub(super) fn validate(&self) -> Result<(), String> {
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
pub(super) fn host_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
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
