//! SMS through an HTTP gateway speaking CM.com's Business Messaging JSON API.
//!
//! `POST {url}/v1.0/message` with the product token in the `X-CM-PRODUCTTOKEN` header (and, as
//! in CM's examples, in `messages.authentication.productToken`):
//!
//! ```json
//! {"messages": {"authentication": {"productToken": "…"},
//!   "msg": [{"from": "Buurtnet", "to": [{"number": "0031612345678"}], "allowedChannels": ["SMS"],
//!            "body": {"type": "auto", "content": "…"}, "reference": "bn42",
//!            "minimumNumberOfMessageParts": 1, "maximumNumberOfMessageParts": 2}]}}
//! ```
//!
//! Numbers go out in CM's preferred form (`00` + country code, no `+`), converted from our
//! E.164. `allowedChannels` pins the message to SMS (CM would otherwise pick any channel the
//! account has, e.g. WhatsApp).
//!
//! `body.type = auto` lets the gateway choose GSM 7-bit or Unicode; the part limits come from
//! [`buurtnet_domain::sms_text::measure`] (a text longer than 8 parts is refused here, before any
//! cost). The reference comes back in the gateway's status reports
//! ([`parse_status_report`]), which reach us on a webhook signed with a shared secret
//! ([`verify_signature`]: `X-Buurtnet-Signature: sha256=<hex HMAC-SHA256 of the raw body>`).
//!
//! Outcomes: 2xx → `Accepted` (unless the answer marks the message `Rejected`); 429/503 →
//! `Retry` with the `Retry-After` wait; other 5xx, time-outs, refused connections → `Retry`;
//! 400 saying the number is invalid ("… is not a number") → `Gone`; other 4xx → `Rejected`.
//!
//! A token bucket (`messages_per_second`) paces the requests inside the adapter: callers simply
//! await [`Provider::send`].

use crate::http_outcome::{RateLimiter, classify_status, classify_transport, says_invalid_number};
use crate::provider::{Destination, Outcome, Outgoing, Provider};
use buurtnet_domain::sms_text;
use futures::FutureExt;
use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use std::time::Duration;

/// The most parts one SMS may take (CM allows up to 8).
pub const MAX_PARTS: usize = 8;

/// What [`SmsHttp::new`] needs.
#[derive(Clone)]
pub struct SmsHttpConfig {
    /// Base URL of the gateway, e.g. `https://gw.messaging.cm.com` (`/v1.0/message` is appended).
    pub url: String,
    pub product_token: String,
    /// Sender shown on the phone: up to 11 letters/digits or up to 16 digits.
    pub sender: String,
    /// Requests per second at most (0 = no limit).
    pub messages_per_second: u32,
    /// Time-out of one request.
    pub timeout: Duration,
}

impl Default for SmsHttpConfig {
    fn default() -> Self {
        SmsHttpConfig {
            url: "https://gw.messaging.cm.com".into(),
            product_token: String::new(),
            sender: "Buurtnet".into(),
            messages_per_second: 50,
            timeout: Duration::from_secs(10),
        }
    }
}

impl std::fmt::Debug for SmsHttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsHttpConfig")
            .field("url", &self.url)
            .field("product_token", &"***")
            .field("sender", &self.sender)
            .field("messages_per_second", &self.messages_per_second)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The SMS provider.
pub struct SmsHttp {
    client: reqwest::Client,
    endpoint: String,
    product_token: String,
    sender: String,
    limiter: RateLimiter,
}

impl SmsHttp {
    pub fn new(config: &SmsHttpConfig) -> anyhow::Result<SmsHttp> {
        let base = url::Url::parse(&config.url).map_err(|e| anyhow::anyhow!("invalid SMS gateway URL: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") {
            anyhow::bail!("the SMS gateway URL must be http(s)://");
        }
        if config.sender.is_empty() || config.sender.chars().count() > 16 {
            anyhow::bail!("the SMS sender must be 1 to 16 characters");
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .build()?;
        Ok(SmsHttp {
            client,
            endpoint: format!("{}/v1.0/message", config.url.trim_end_matches('/')),
            product_token: config.product_token.clone(),
            sender: config.sender.clone(),
            limiter: RateLimiter::new(config.messages_per_second),
        })
    }

    /// The JSON request for one message (public for tests).
    pub fn request_body(&self, number: &str, text: &str, reference: &str, parts: usize) -> serde_json::Value {
        json!({
            "messages": {
                "authentication": { "productToken": self.product_token },
                "msg": [{
                    "from": self.sender,
                    "to": [{ "number": gateway_number(number) }],
                    "allowedChannels": ["SMS"],
                    "body": { "type": "auto", "content": text },
                    "reference": reference,
                    "minimumNumberOfMessageParts": 1,
                    "maximumNumberOfMessageParts": parts.clamp(1, MAX_PARTS),
                }]
            }
        })
    }
}

/// A number as CM asks for it: `00`, country code, number (`+31612345678` → `0031612345678`).
pub fn gateway_number(e164: &str) -> String {
    match e164.trim().strip_prefix('+') {
        Some(rest) => format!("00{rest}"),
        None => e164.trim().to_string(),
    }
}

/// CM's answer to a send request (only what we read).
#[derive(Deserialize, Default)]
struct SendAnswer {
    #[serde(default)]
    messages: Vec<SendAnswerMessage>,
}

#[derive(Deserialize)]
struct SendAnswerMessage {
    #[serde(default)]
    status: Option<String>,
    #[serde(default, rename = "messageDetails")]
    message_details: Option<String>,
    /// Some gateways give an id of their own.
    #[serde(default, rename = "messageId")]
    message_id: Option<String>,
}

impl Provider for SmsHttp {
    fn name(&self) -> &'static str {
        "cm_sms"
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Outcome> {
        async move {
            let Destination::Phone(number) = &msg.to else {
                return Outcome::Rejected { reason: "cm_sms: not a phone destination".into() };
            };
            let length = sms_text::measure(&msg.content.text);
            if length.segments > MAX_PARTS {
                return Outcome::Rejected { reason: format!("cm_sms: text needs {} parts, at most {MAX_PARTS}", length.segments) };
            }
            let body = self.request_body(number, &msg.content.text, &msg.reference, length.segments);
            self.limiter.acquire().await;
            let answer = self
                .client
                .post(&self.endpoint)
                .header("X-CM-PRODUCTTOKEN", &self.product_token)
                .header(reqwest::header::ACCEPT, "application/json")
                .json(&body)
                .send()
                .await;
            let response = match answer {
                Ok(r) => r,
                Err(e) => return classify_transport("cm_sms", &e),
            };
            let status = response.status();
            let headers = response.headers().clone();
            let text = match response.text().await {
                Ok(t) => t,
                Err(e) if status.is_success() => {
                    // The gateway took the message; only its answer broke.
                    tracing::debug!(delivery = msg.delivery_id, error = %e.without_url(), "cm_sms: unreadable answer to an accepted message");
                    String::new()
                }
                Err(e) => return classify_transport("cm_sms", &e),
            };
            if !status.is_success() {
                return classify_status("cm_sms", status, &headers, &text);
            }
            let parsed: SendAnswer = serde_json::from_str(&text).unwrap_or_default();
            match parsed.messages.first() {
                Some(m) if m.status.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("rejected")) => {
                    if m.message_details.as_deref().is_some_and(says_invalid_number) {
                        Outcome::Gone { reason: "cm_sms: invalid number".into() }
                    } else {
                        Outcome::Rejected { reason: "cm_sms: message rejected by the gateway".into() }
                    }
                }
                Some(m) => Outcome::Accepted { provider_id: m.message_id.clone() },
                None => Outcome::Accepted { provider_id: None },
            }
        }
        .boxed()
    }
}

/// What a delivery report says about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportStatus {
    /// Accepted by the operator, not yet delivered (CM code 0).
    Accepted,
    /// Delivered to the handset (CM code 2).
    Delivered,
    /// Refused by the gateway or operator (CM code 1).
    Rejected { reason: String },
    /// Could not be delivered (CM code 3), e.g. unknown subscriber, phone off too long.
    Failed { reason: String },
    /// A status code we do not know (e.g. read receipts of other channels).
    Other { code: String },
}

/// One delivery report. The phone number in the report is deliberately not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// Our reference (`bn{delivery_id}`).
    pub reference: String,
    pub status: ReportStatus,
    /// When the gateway saw the status (its own format, as given).
    pub received: Option<String>,
}

impl StatusReport {
    /// The delivery id inside a `bn{id}` reference.
    pub fn delivery_id(&self) -> Option<i64> {
        self.reference.strip_prefix("bn")?.parse().ok()
    }
}

/// Why a status report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusReportError {
    #[error("status report is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("status report has no messages.msg")]
    NoMessages,
    #[error("status report message {0} has no reference")]
    NoReference(usize),
}

#[derive(Deserialize)]
struct ReportEnvelope {
    messages: Option<ReportMessages>,
}

#[derive(Deserialize)]
struct ReportMessages {
    msg: Option<OneOrMany>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<ReportMsg>),
    One(Box<ReportMsg>),
}

#[derive(Deserialize)]
struct ReportMsg {
    #[serde(default)]
    received: Option<String>,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    status: Option<ReportMsgStatus>,
}

#[derive(Deserialize)]
struct ReportMsgStatus {
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default, rename = "errorCode")]
    error_code: Option<serde_json::Value>,
    #[serde(default, rename = "errorDescription")]
    error_description: Option<String>,
}

fn scalar(v: &Option<serde_json::Value>) -> Option<String> {
    match v.as_ref()? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses a CM-style JSON status report: `{"messages": {"msg": {…} | [{…}, …]}}`, each with
/// `reference`, `received` and `status: {code, errorCode, errorDescription}` (code `0`
/// accepted, `1` rejected, `2` delivered, `3` failed).
pub fn parse_status_report(body: &[u8]) -> Result<Vec<StatusReport>, StatusReportError> {
    let envelope: ReportEnvelope = serde_json::from_slice(body)?;
    let msgs = match envelope.messages.and_then(|m| m.msg).ok_or(StatusReportError::NoMessages)? {
        OneOrMany::Many(v) => v,
        OneOrMany::One(m) => vec![*m],
    };
    msgs.into_iter()
        .enumerate()
        .map(|(i, m)| {
            let reference = m.reference.filter(|r| !r.is_empty()).ok_or(StatusReportError::NoReference(i))?;
            let (code, reason) = match &m.status {
                Some(s) => {
                    let error = scalar(&s.error_code);
                    let reason = match (error, s.error_description.as_deref().filter(|d| !d.is_empty())) {
                        (Some(c), Some(d)) => format!("{c}: {d}"),
                        (Some(c), None) => c,
                        (None, Some(d)) => d.to_string(),
                        (None, None) => String::new(),
                    };
                    (scalar(&s.code).unwrap_or_default(), reason)
                }
                None => (String::new(), String::new()),
            };
            let status = match code.as_str() {
                "0" => ReportStatus::Accepted,
                "1" => ReportStatus::Rejected { reason },
                "2" => ReportStatus::Delivered,
                "3" => ReportStatus::Failed { reason },
                _ => ReportStatus::Other { code },
            };
            Ok(StatusReport { reference, status, received: m.received.filter(|r| !r.is_empty()) })
        })
        .collect()
}

/// The header carrying a webhook's signature.
pub const SIGNATURE_HEADER: &str = "X-Buurtnet-Signature";

/// Checks `X-Buurtnet-Signature: sha256=<hex>`: HMAC-SHA256 with the shared secret over the raw
/// body, compared in constant time. An empty secret never verifies.
pub fn verify_signature(secret: &[u8], body: &[u8], header: &str) -> bool {
    if secret.is_empty() {
        return false;
    }
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// The header value [`verify_signature`] accepts (for whoever sends signed reports, and tests).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_the_gateway() {
        assert_eq!(gateway_number("+31612345678"), "0031612345678");
        assert_eq!(gateway_number("0031612345678"), "0031612345678");
    }

    #[test]
    fn signature() {
        let body = br#"{"messages":{}}"#;
        let good = sign(b"secret", body);
        assert!(verify_signature(b"secret", body, &good));
        assert!(!verify_signature(b"other", body, &good));
        assert!(!verify_signature(b"secret", b"{}", &good));
        assert!(!verify_signature(b"secret", body, ""));
        assert!(!verify_signature(b"secret", body, good.trim_start_matches("sha256=")));
        assert!(!verify_signature(b"secret", body, "sha256=zz"));
        assert!(!verify_signature(b"", body, &sign(b"", body)));
    }

    #[test]
    fn reports() {
        let one = br#"{"messages":{"msg":{"received":"2026-11-29T18:00:00","to":"0031600000000","reference":"bn42",
            "status":{"code":"2","errorCode":"","errorDescription":""},"operator":"20416"}}}"#;
        let r = parse_status_report(one).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].status, ReportStatus::Delivered);
        assert_eq!(r[0].delivery_id(), Some(42));
        assert!(!format!("{r:?}").contains("0031600000000"));
        let many = br#"{"messages":{"msg":[{"reference":"bn1","status":{"code":3,"errorCode":5,"errorDescription":"Unknown subscriber"}},
            {"reference":"bn2","status":{"code":"1","errorCode":"","errorDescription":"Rejected"}},
            {"reference":"bn3","status":{"code":"0"}}]}}"#;
        let r = parse_status_report(many).unwrap();
        assert_eq!(r[0].status, ReportStatus::Failed { reason: "5: Unknown subscriber".into() });
        assert_eq!(r[1].status, ReportStatus::Rejected { reason: "Rejected".into() });
        assert_eq!(r[2].status, ReportStatus::Accepted);
        assert!(parse_status_report(b"nope").is_err());
        assert!(matches!(parse_status_report(br#"{"messages":{}}"#), Err(StatusReportError::NoMessages)));
        assert!(matches!(
            parse_status_report(br#"{"messages":{"msg":{"status":{"code":"2"}}}}"#),
            Err(StatusReportError::NoReference(0))
        ));
    }
}
