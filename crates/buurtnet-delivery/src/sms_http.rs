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
//! ([`verify_signature`]: `X-Buurtnet-Signature: t=<unix seconds>,sha256=<hex HMAC-SHA256 of
//! "<t>." and the raw body>`, refused when `t` is more than five minutes off: no replays).
//!
//! Outcomes: 2xx → `Accepted` (unless the answer marks the message `Rejected`); 429/503 →
//! `Retry` with the `Retry-After` wait; other 5xx, time-outs, refused connections → `Retry`;
//! 400 saying the number is invalid ("… is not a number") → `Gone`; other 4xx → `Rejected`.
//!
//! The worker hands over up to [`BATCH`] messages at a time ([`Provider::send_batch`]): they go
//! in one request's `msg` array, each with its own reference, and the answer is read per
//! message. CM refuses a whole request with 400 when some of its messages are invalid, naming
//! them: those fail, the rest are sent again without them; a 4xx naming none splits the batch
//! into single requests, so one bad message never sinks the others.
//!
//! A token bucket (`messages_per_second`) paces the messages inside the adapter (a batch waits
//! for as many permits as it carries, and is never larger than one second's worth): callers
//! simply await [`Provider::send`] or [`Provider::send_batch`].

use crate::http_outcome::{Answer, RateLimiter, classify_status, post_cm_json, says_invalid_number};
use crate::provider::{Destination, Outcome, Outgoing, Provider};
use buurtnet_domain::sms_text;
use futures::FutureExt;
use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use std::collections::HashMap;
use std::time::Duration;

/// The most parts one SMS may take (CM allows up to 8).
pub const MAX_PARTS: usize = 8;

/// The most messages one request carries (CM accepts batches in its `msg` array).
pub const BATCH: usize = 100;

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
    messages_per_second: u32,
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
            messages_per_second: config.messages_per_second,
        })
    }

    /// One entry of the request's `msg` array.
    fn msg_entry(&self, number: &str, text: &str, reference: &str, parts: usize) -> serde_json::Value {
        json!({
            "from": self.sender,
            "to": [{ "number": gateway_number(number) }],
            "allowedChannels": ["SMS"],
            "body": { "type": "auto", "content": text },
            "reference": reference,
            "minimumNumberOfMessageParts": 1,
            "maximumNumberOfMessageParts": parts.clamp(1, MAX_PARTS),
        })
    }

    /// The JSON request for one message (public for tests).
    pub fn request_body(&self, number: &str, text: &str, reference: &str, parts: usize) -> serde_json::Value {
        self.request_of(vec![self.msg_entry(number, text, reference, parts)])
    }

    fn request_of(&self, msgs: Vec<serde_json::Value>) -> serde_json::Value {
        json!({ "messages": { "authentication": { "productToken": self.product_token }, "msg": msgs } })
    }

    /// Posts one request carrying `batch` (each with its checked part count) and reads the
    /// answer.
    async fn post(&self, batch: &[(&Outgoing, &str, usize)]) -> Posted {
        let entries =
            batch.iter().map(|(m, number, parts)| self.msg_entry(number, &m.content.text, &m.reference, *parts)).collect();
        let body = self.request_of(entries);
        self.limiter.acquire_n(batch.len()).await;
        let Answer { status, headers, text } =
            match post_cm_json("cm_sms", &self.client, &self.endpoint, &self.product_token, &body).await {
                Ok(a) => a,
                Err(outcome) => return Posted::Whole(outcome),
            };
        let parsed: SendAnswer = serde_json::from_str(&text).unwrap_or_default();
        let mut refused = HashMap::new();
        let mut ids = HashMap::new();
        for m in parsed.messages {
            let Some(reference) = m.reference else { continue };
            if m.status.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("rejected")) {
                let outcome = if m.message_details.as_deref().is_some_and(says_invalid_number) {
                    Outcome::Gone { reason: "cm_sms: invalid number".into() }
                } else {
                    Outcome::Rejected { reason: "cm_sms: message rejected by the gateway".into() }
                };
                refused.insert(reference, outcome);
            } else {
                ids.insert(reference, m.message_id);
            }
        }
        if status.is_success() {
            return Posted::Taken { refused, ids };
        }
        if status == reqwest::StatusCode::BAD_REQUEST && !refused.is_empty() {
            // CM refuses a whole request when some of its messages are invalid, naming them.
            return Posted::Refused { refused };
        }
        if batch.len() == 1 {
            return Posted::Whole(classify_status("cm_sms", status, &headers, &text));
        }
        match classify_status("cm_sms", status, &headers, &text) {
            // A 4xx naming no message: try each message on its own, so that one bad message
            // cannot sink the others.
            Outcome::Gone { .. } | Outcome::Rejected { .. } => Posted::Split,
            retry => Posted::Whole(retry),
        }
    }

    async fn send_all(&self, msgs: &[Outgoing]) -> Vec<Outcome> {
        let mut outcomes: Vec<Option<Outcome>> = vec![None; msgs.len()];
        let mut todo = Vec::new();
        for (i, msg) in msgs.iter().enumerate() {
            let Destination::Phone(number) = &msg.to else {
                outcomes[i] = Some(Outcome::Rejected { reason: "cm_sms: not a phone destination".into() });
                continue;
            };
            let length = sms_text::measure(&msg.content.text);
            if length.segments > MAX_PARTS {
                outcomes[i] = Some(Outcome::Rejected {
                    reason: format!("cm_sms: text needs {} parts, at most {MAX_PARTS}", length.segments),
                });
                continue;
            }
            todo.push((i, number.as_str(), length.segments));
        }
        // A refused request goes again without the messages it named; at most twice, then
        // one by one.
        let mut round = 0;
        while !todo.is_empty() {
            round += 1;
            let batch: Vec<(&Outgoing, &str, usize)> = todo.iter().map(|&(i, n, p)| (&msgs[i], n, p)).collect();
            match self.post(&batch).await {
                Posted::Whole(outcome) => {
                    for &(i, ..) in &todo {
                        outcomes[i] = Some(outcome.clone());
                    }
                    todo.clear();
                }
                Posted::Taken { mut refused, mut ids } => {
                    for &(i, ..) in &todo {
                        let reference = &msgs[i].reference;
                        outcomes[i] = Some(
                            refused
                                .remove(reference)
                                .unwrap_or_else(|| Outcome::Accepted { provider_id: ids.remove(reference).flatten() }),
                        );
                    }
                    todo.clear();
                }
                Posted::Refused { mut refused } => {
                    todo.retain(|&(i, ..)| match refused.remove(&msgs[i].reference) {
                        Some(outcome) => {
                            outcomes[i] = Some(outcome);
                            false
                        }
                        None => true,
                    });
                    if round >= 2 && !todo.is_empty() {
                        let rest = std::mem::take(&mut todo);
                        for (i, n, p) in rest {
                            outcomes[i] = Some(self.send_one(&msgs[i], n, p).await);
                        }
                    }
                }
                Posted::Split => {
                    for (i, n, p) in std::mem::take(&mut todo) {
                        outcomes[i] = Some(self.send_one(&msgs[i], n, p).await);
                    }
                }
            }
        }
        outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| Outcome::Retry { reason: "cm_sms: no answer for this message".into(), retry_after: None })
            })
            .collect()
    }

    /// One message in a request of its own.
    async fn send_one(&self, msg: &Outgoing, number: &str, parts: usize) -> Outcome {
        let reference = msg.reference.clone();
        match self.post(&[(msg, number, parts)]).await {
            Posted::Whole(o) => o,
            Posted::Taken { mut refused, mut ids } => {
                refused.remove(&reference).unwrap_or_else(|| Outcome::Accepted { provider_id: ids.remove(&reference).flatten() })
            }
            Posted::Refused { mut refused } => {
                refused.remove(&reference).unwrap_or_else(|| Outcome::Rejected { reason: "cm_sms: request refused".into() })
            }
            Posted::Split => Outcome::Rejected { reason: "cm_sms: request refused".into() },
        }
    }
}

/// What became of one request.
enum Posted {
    /// The same outcome for every message in it (a transport error, 5xx, 429).
    Whole(Outcome),
    /// Taken: every message not named as refused was accepted (with the gateway's id).
    Taken { refused: HashMap<String, Outcome>, ids: HashMap<String, Option<String>> },
    /// Refused as a whole because of the messages named; the others were not sent.
    Refused { refused: HashMap<String, Outcome> },
    /// Refused as a whole without naming a message.
    Split,
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
    reference: Option<String>,
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
            self.send_all(std::slice::from_ref(msg))
                .await
                .pop()
                .unwrap_or_else(|| Outcome::Retry { reason: "cm_sms: no answer".into(), retry_after: None })
        }
        .boxed()
    }

    /// CM takes many messages in one request; within the rate limit's one-second burst.
    fn batch_limit(&self) -> usize {
        BATCH.min(self.limiter.burst())
    }

    fn send_batch<'a>(&'a self, msgs: &'a [Outgoing]) -> BoxFuture<'a, Vec<Outcome>> {
        self.send_all(msgs).boxed()
    }

    fn messages_per_second(&self) -> u32 {
        self.messages_per_second
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

/// How far a signed report's time may lie from ours (seconds): an older one is a replay.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

fn mac_of(secret: &[u8], timestamp: i64, body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(mac)
}

/// Checks `X-Buurtnet-Signature: t=<unix seconds>,sha256=<hex>`: HMAC-SHA256 with the shared
/// secret over `<t>.` and the raw body, compared in constant time, with `t` at most
/// [`SIGNATURE_TOLERANCE_SECS`] from `now_secs` (so a captured report cannot be replayed
/// later). An empty secret never verifies.
pub fn verify_signature(secret: &[u8], body: &[u8], header: &str, now_secs: i64) -> bool {
    if secret.is_empty() {
        return false;
    }
    let Some((t, sig)) = header.trim().split_once(',') else {
        return false;
    };
    let (Some(t), Some(hex_sig)) = (t.trim().strip_prefix("t="), sig.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let (Ok(timestamp), Ok(sig)) = (t.parse::<i64>(), hex::decode(hex_sig)) else {
        return false;
    };
    if (now_secs - timestamp).abs() > SIGNATURE_TOLERANCE_SECS {
        return false;
    }
    mac_of(secret, timestamp, body).is_some_and(|mac| mac.verify_slice(&sig).is_ok())
}

/// The header value [`verify_signature`] accepts for a report signed at `now_secs` (for
/// whoever sends signed reports, and tests).
pub fn sign(secret: &[u8], body: &[u8], now_secs: i64) -> String {
    match mac_of(secret, now_secs, body) {
        Some(mac) => format!("t={now_secs},sha256={}", hex::encode(mac.finalize().into_bytes())),
        None => String::new(),
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
        let now = 1_800_000_000;
        let good = sign(b"secret", body, now);
        assert!(verify_signature(b"secret", body, &good, now));
        assert!(!verify_signature(b"other", body, &good, now));
        assert!(!verify_signature(b"secret", b"{}", &good, now));
        assert!(!verify_signature(b"secret", body, "", now));
        assert!(!verify_signature(b"secret", body, good.split_once(',').map_or("", |(_, s)| s), now), "no time");
        assert!(!verify_signature(b"secret", body, &format!("t={now},sha256=zz"), now));
        assert!(!verify_signature(b"secret", body, &good, now + SIGNATURE_TOLERANCE_SECS + 1), "too old");
        assert!(!verify_signature(b"", body, &sign(b"", body, now), now));
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
