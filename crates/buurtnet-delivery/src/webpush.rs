//! The Web Push channel: RFC 8030 (the push protocol), RFC 8291 (payload encryption,
//! `aes128gcm`) and RFC 8292 (VAPID, identifying this server to the push service).
//!
//! The cryptography is [`crate::push_crypto`]'s (payload encryption, on `ring`) and the `p256`
//! crate's (ECDSA signatures of the VAPID token); this module builds the request, sends it over
//! a pooled HTTP client and maps the push service's answer onto an [`Outcome`].
//!
//! Endpoints and keys identify a device: they are never logged (only the push service's host,
//! at debug level).

use crate::allowlist::PushAllowList;
use crate::provider::{Destination, Outcome, Outgoing, Provider, Urgency};
use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use buurtnet_domain::Clock;
use futures::FutureExt;
use futures::future::BoxFuture;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The largest push message body push services must accept (RFC 8030 §7.2: 4096 bytes), minus
/// the `aes128gcm` header with the 65-byte key id (86 bytes), the padding delimiter (1) and the
/// authentication tag (16): the longest payload that always fits.
pub const MAX_PAYLOAD_BYTES: usize = 4096 - 86 - 1 - 16;

/// How long a VAPID token is valid (RFC 8292 §2: at most 24 hours).
const VAPID_VALIDITY_SECS: u64 = 12 * 3600;

/// A VAPID header is reused for one push service this long (signing one per message would
/// cost a signature per push in a large alert); well within its validity.
const VAPID_REUSE: Duration = Duration::from_secs(3600);

/// The longest `TTL` sent (push services keep messages at most about four weeks and may refuse
/// longer).
const MAX_TTL_SECS: u64 = 28 * 86_400;

/// The longest `Retry-After` honoured; a longer one is cut to this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Decodes base64url with or without padding (browsers send it without).
pub fn decode_base64url(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    URL_SAFE_NO_PAD.decode(s).ok().or_else(|| URL_SAFE.decode(s).ok())
}

/// Why a subscription's keys are unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("p256dh must be an uncompressed P-256 public key (65 bytes, base64url) on the curve")]
    BadP256dh,
    #[error("auth must be 16 bytes, base64url")]
    BadAuth,
}

/// Checks the browser's `p256dh` key: base64url of an uncompressed P-256 point on the curve.
pub fn parse_p256dh(s: &str) -> Result<p256::PublicKey, KeyError> {
    let bytes = decode_base64url(s).ok_or(KeyError::BadP256dh)?;
    if bytes.len() != 65 || bytes[0] != 0x04 {
        return Err(KeyError::BadP256dh);
    }
    p256::PublicKey::from_sec1_bytes(&bytes).map_err(|_| KeyError::BadP256dh)
}

/// Checks the browser's `auth` secret: base64url of 16 bytes.
pub fn parse_auth(s: &str) -> Result<[u8; 16], KeyError> {
    decode_base64url(s).and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok()).ok_or(KeyError::BadAuth)
}

/// This server's VAPID key pair (P-256). The private key lives in the secrets file.
#[derive(Clone)]
pub struct VapidKey {
    key: Arc<SigningKey>,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VapidKey(public {})", self.public_key_base64url())
    }
}

impl VapidKey {
    /// A new random key pair.
    pub fn generate() -> VapidKey {
        loop {
            let mut bytes = [0u8; 32];
            rand::Rng::fill(&mut rand::rng(), &mut bytes);
            // Fails only for zero or a number past the group order (chance about 2^-32).
            if let Ok(key) = VapidKey::from_private_bytes(&bytes) {
                return key;
            }
        }
    }

    /// From the private scalar (32 bytes, big endian).
    pub fn from_private_bytes(bytes: &[u8]) -> Result<VapidKey, String> {
        if bytes.len() != 32 {
            return Err("a VAPID private key is 32 bytes".into());
        }
        SigningKey::from_slice(bytes)
            .map(|key| VapidKey { key: Arc::new(key) })
            .map_err(|_| "the VAPID private key is not a valid P-256 private key".to_string())
    }

    /// From the private key as base64url (the secrets file's form).
    pub fn from_private_base64url(s: &str) -> Result<VapidKey, String> {
        let bytes = decode_base64url(s).ok_or("the VAPID private key is not base64url")?;
        VapidKey::from_private_bytes(&bytes)
    }

    /// The private key as base64url (for the secrets file only).
    pub fn private_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.to_bytes())
    }

    /// The public key as an uncompressed point, base64url: the `applicationServerKey` browsers
    /// subscribe with, and the `k` of the VAPID header.
    pub fn public_key_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.verifying_key().to_encoded_point(false).as_bytes())
    }

    /// A VAPID token (RFC 8292 §2) for a push service's origin: a JWT with `aud`, `exp` (12
    /// hours after `now`) and `sub`, signed with ES256 (ECDSA P-256 with SHA-256, RFC 7518
    /// §3.4: the signature is r‖s, 64 bytes).
    pub fn token(&self, audience: &str, subject: &str, now: chrono::DateTime<chrono::Utc>) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let exp = now.timestamp() + VAPID_VALIDITY_SECS as i64;
        let claims = URL_SAFE_NO_PAD.encode(serde_json::json!({"aud": audience, "exp": exp, "sub": subject}).to_string());
        let signing_input = format!("{header}.{claims}");
        let signature: Signature = self.key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    /// The `Authorization` header value: `vapid t=<JWT>, k=<public key>`.
    pub fn authorization(&self, audience: &str, subject: &str, now: chrono::DateTime<chrono::Utc>) -> String {
        format!("vapid t={}, k={}", self.token(audience, subject, now), self.public_key_base64url())
    }
}

/// The allow-list the provider checks before every send; shared with whoever may change it
/// (the server holds the same `Arc`).
pub type SharedAllowList = Arc<RwLock<PushAllowList>>;

/// Settings of the Web Push provider.
#[derive(Debug, Clone)]
pub struct WebPushSettings {
    pub vapid: VapidKey,
    /// The VAPID `sub`: a `mailto:` or `https:` contact for the push services' operators.
    pub subject: String,
    /// Time-out of one request (connecting included).
    pub timeout: Duration,
    pub allow_list: SharedAllowList,
    /// For `Retry-After` dates (the VAPID token's times are the real clock's: push services
    /// check them).
    pub clock: Arc<dyn Clock>,
}

/// The Web Push provider. One instance serves every send (pooled connections inside).
pub struct WebPush {
    client: reqwest::Client,
    settings: WebPushSettings,
    vapid_headers: std::sync::Mutex<VapidHeaders>,
}

/// VAPID `Authorization` headers by push-service origin, with when each was made.
type VapidHeaders = std::collections::HashMap<String, (String, std::time::Instant)>;

fn urgency_header(u: Urgency) -> &'static str {
    match u {
        Urgency::Alarm | Urgency::High => "high",
        Urgency::Normal => "normal",
        Urgency::Low => "low",
    }
}

/// A valid RFC 8030 `Topic`: at most 32 characters of the base64url alphabet.
fn valid_topic(t: &str) -> bool {
    !t.is_empty() && t.len() <= 32 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The origin of a URL as the VAPID `aud`: scheme, host and a port only when not the default.
fn origin(url: &url::Url) -> String {
    url.origin().ascii_serialization()
}

/// `Retry-After`: delay seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let v = value.trim();
    let d = if let Ok(secs) = v.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = chrono::DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&chrono::Utc);
        (at - now).to_std().unwrap_or(Duration::ZERO)
    };
    Some(d.min(MAX_RETRY_AFTER))
}

/// The payload sent: the message's push payload, or `{"title", "body"}` from its texts.
fn payload_of(msg: &Outgoing) -> String {
    match &msg.content.push_payload {
        Some(p) => p.clone(),
        None => serde_json::json!({"title": msg.content.title, "body": msg.content.text, "tag": msg.thread}).to_string(),
    }
}

impl WebPush {
    pub fn new(settings: WebPushSettings) -> Result<WebPush, String> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            // A redirect could lead anywhere: the allow-list holds for the endpoint only.
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("buurtnet/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client for Web Push: {e}"))?;
        Ok(WebPush { client, settings, vapid_headers: std::sync::Mutex::default() })
    }

    /// The VAPID `Authorization` header for a push service's origin (reused for a while).
    fn vapid_header(&self, audience: &str) -> String {
        let mut cache = match self.vapid_headers.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some((header, made)) = cache.get(audience)
            && made.elapsed() < VAPID_REUSE
        {
            return header.clone();
        }
        let header = self.settings.vapid.authorization(audience, &self.settings.subject, self.settings.clock.now());
        if cache.len() > 64 {
            cache.clear();
        }
        cache.insert(audience.to_string(), (header.clone(), std::time::Instant::now()));
        header
    }

    pub fn settings(&self) -> &WebPushSettings {
        &self.settings
    }

    fn allow_list(&self) -> PushAllowList {
        match self.settings.allow_list.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    async fn send_push(&self, msg: &Outgoing) -> Outcome {
        let Destination::Push { endpoint, p256dh, auth } = &msg.to else {
            return Outcome::Rejected { reason: "the Web Push provider only sends to push subscriptions".into() };
        };
        let url = match self.allow_list().check(endpoint) {
            Ok(u) => u,
            Err(e) => return Outcome::Rejected { reason: format!("push endpoint refused: {e}") },
        };
        let (ua_public, ua_auth) = match (decode_base64url(p256dh), parse_auth(auth)) {
            (Some(k), Ok(a)) if k.len() == 65 && k[0] == 0x04 => (k, a),
            (_, Err(e)) => return Outcome::Rejected { reason: format!("push subscription keys: {e}") },
            _ => return Outcome::Rejected { reason: format!("push subscription keys: {}", KeyError::BadP256dh) },
        };
        let payload = payload_of(msg);
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Outcome::Rejected {
                reason: format!("push payload of {} bytes is over the limit of {MAX_PAYLOAD_BYTES}", payload.len()),
            };
        }
        let body = match crate::push_crypto::encrypt(payload.as_bytes(), &ua_public, &ua_auth) {
            Ok(b) => b,
            Err(e) => return Outcome::Rejected { reason: format!("push payload encryption failed: {e}") },
        };
        let authorization = self.vapid_header(&origin(&url));
        let host = url.host_str().unwrap_or("?").to_string();
        let mut request = self
            .client
            .post(url)
            .header("TTL", msg.time_to_live.as_secs().min(MAX_TTL_SECS).to_string())
            .header("Urgency", urgency_header(msg.urgency))
            .header(reqwest::header::CONTENT_ENCODING, "aes128gcm")
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::AUTHORIZATION, authorization);
        if valid_topic(&msg.reference) {
            request = request.header("Topic", msg.reference.as_str());
        }
        tracing::debug!(push.host = %host, delivery.id = msg.delivery_id, "sending a web push");
        let response = match request.body(body).send().await {
            Ok(r) => r,
            Err(e) => {
                let kind = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "could not connect"
                } else {
                    "request failed"
                };
                // Without the URL: it identifies the device.
                return Outcome::Retry { reason: format!("push service {kind}: {}", e.without_url()), retry_after: None };
            }
        };
        let status = response.status();
        let header =
            |name: reqwest::header::HeaderName| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let outcome = match status.as_u16() {
            200..=202 => Outcome::Accepted { provider_id: header(reqwest::header::LOCATION).filter(|l| l.len() <= 1024) },
            404 | 410 => Outcome::Gone { reason: format!("push subscription is gone ({status})") },
            429 | 500..=599 => Outcome::Retry {
                reason: format!("push service answered {status}"),
                retry_after: header(reqwest::header::RETRY_AFTER).and_then(|v| parse_retry_after(&v, self.settings.clock.now())),
            },
            413 => Outcome::Rejected { reason: "push service refused the payload as too large (413)".into() },
            _ => Outcome::Rejected { reason: format!("push service answered {status}") },
        };
        tracing::debug!(push.host = %host, delivery.id = msg.delivery_id, http.status = status.as_u16(), "web push answered");
        outcome
    }
}

impl Provider for WebPush {
    fn name(&self) -> &'static str {
        "webpush"
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Outcome> {
        self.send_push(msg).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::elliptic_curve::sec1::ToEncodedPoint;

    #[test]
    fn keys_are_checked() {
        let secret = p256::SecretKey::from_slice(&[7u8; 32]).unwrap_or_else(|e| panic!("{e}"));
        let point = secret.public_key().to_encoded_point(false);
        let good = URL_SAFE_NO_PAD.encode(point.as_bytes());
        assert!(parse_p256dh(&good).is_ok());
        assert!(parse_p256dh(&URL_SAFE.encode(point.as_bytes())).is_ok(), "padding is tolerated");
        let compressed = URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(true).as_bytes());
        assert_eq!(parse_p256dh(&compressed).err(), Some(KeyError::BadP256dh));
        let mut off_curve = point.as_bytes().to_vec();
        off_curve[64] ^= 1;
        assert_eq!(parse_p256dh(&URL_SAFE_NO_PAD.encode(&off_curve)).err(), Some(KeyError::BadP256dh));
        assert_eq!(parse_p256dh("not base64!").err(), Some(KeyError::BadP256dh));
        assert!(parse_auth(&URL_SAFE_NO_PAD.encode([1u8; 16])).is_ok());
        assert_eq!(parse_auth(&URL_SAFE_NO_PAD.encode([1u8; 15])).err(), Some(KeyError::BadAuth));
    }

    #[test]
    fn vapid_keys_round_trip_and_never_show_the_private_half() {
        let k = VapidKey::generate();
        let again = VapidKey::from_private_base64url(&k.private_base64url()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(k.public_key_base64url(), again.public_key_base64url());
        assert_eq!(decode_base64url(&k.public_key_base64url()).map(|b| b.len()), Some(65));
        assert!(!format!("{k:?}").contains(&k.private_base64url()));
        assert!(VapidKey::from_private_bytes(&[0u8; 32]).is_err());
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-22T12:00:00Z").unwrap().to_utc();
        let auth = k.authorization("https://push.example.org", "mailto:ops@example.org", now);
        assert!(auth.starts_with("vapid t=ey") && auth.ends_with(&format!(", k={}", k.public_key_base64url())));
        // The token verifies with the public key and carries the claims of RFC 8292.
        let token = k.token("https://push.example.org", "mailto:ops@example.org", now);
        let (input, sig) = token.rsplit_once('.').unwrap();
        let public = p256::ecdsa::VerifyingKey::from_sec1_bytes(&decode_base64url(&k.public_key_base64url()).unwrap()).unwrap();
        let signature = Signature::from_slice(&decode_base64url(sig).unwrap()).unwrap();
        use p256::ecdsa::signature::Verifier;
        assert!(public.verify(input.as_bytes(), &signature).is_ok());
        let (header, claims) = input.split_once('.').unwrap();
        let header: serde_json::Value = serde_json::from_slice(&decode_base64url(header).unwrap()).unwrap();
        assert_eq!(header["alg"], "ES256");
        let claims: serde_json::Value = serde_json::from_slice(&decode_base64url(claims).unwrap()).unwrap();
        assert_eq!(claims["aud"], "https://push.example.org");
        assert_eq!(claims["sub"], "mailto:ops@example.org");
        assert_eq!(claims["exp"], now.timestamp() + 12 * 3600);
    }

    #[test]
    fn headers_and_answers() {
        assert_eq!(urgency_header(Urgency::Alarm), "high");
        assert_eq!(urgency_header(Urgency::Low), "low");
        assert!(valid_topic("bn123456"));
        assert!(!valid_topic("bn 1") && !valid_topic(&"a".repeat(33)) && !valid_topic(""));
        let u = url::Url::parse("http://127.0.0.1:9000/push/abc").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(origin(&u), "http://127.0.0.1:9000");
        let u = url::Url::parse("https://fcm.googleapis.com:443/fcm/send/x").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(origin(&u), "https://fcm.googleapis.com");
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-22T12:00:00Z").unwrap_or_else(|e| panic!("{e}")).to_utc();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Sun, 22 Nov 2026 12:01:30 GMT", now), Some(Duration::from_secs(90)));
        assert_eq!(parse_retry_after("Sun, 22 Nov 2026 11:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("9999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
