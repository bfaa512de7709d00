//! Text-to-speech calls through CM.com's Voice API "Notification" app: the callee's phone
//! rings, the text is spoken (repeated as asked), the call ends.
//!
//! `POST {url}/voiceapi/v2/Notification` with the product token in `X-CM-PRODUCTTOKEN`:
//!
//! ```json
//! {"instruction-id": "bn42", "callee": "+31612345678", "caller": "+3188…",
//!  "prompt": "…", "prompt-type": "TTS", "auto-replay": true, "max-replays": 1,
//!  "voice": {"language": "nl-NL", "gender": "Female", "number": 1}}
//! ```
//!
//! `instruction-id` is our reference (it comes back in CM's call events). `Content::replays` is
//! how often the text is spoken in all; CM counts repetitions after the first (`max-replays`,
//! at most 3), played without a key press (`auto-replay`). The language is `nl-NL` or `en-GB`.
//!
//! At most `max_concurrent_calls` requests are in flight: a semaphore permit is held until the
//! provider answers the request. A real call lasts longer than that answer (ringing, speaking);
//! releasing the permit only when the provider reports the call finished (its callback) is later
//! work, so for now this limits requests rather than live calls.
//!
//! Outcomes as for SMS: 2xx → `Accepted`; 429/503 (with `Retry-After`), other 5xx, time-outs →
//! `Retry`; 400 saying the callee is invalid → `Gone`; other 4xx → `Rejected`.

use crate::http_outcome::{Answer, classify_status, post_cm_json};
use crate::provider::{Destination, Outcome, Outgoing, Provider};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// CM's longest prompt, in characters.
pub const MAX_PROMPT_CHARS: usize = 750;
/// CM's highest `max-replays`.
pub const MAX_REPLAYS: u8 = 3;

/// What [`VoiceHttp::new`] needs.
#[derive(Clone)]
pub struct VoiceHttpConfig {
    /// Base URL, e.g. `https://api.cm.com` (`/voiceapi/v2/Notification` is appended).
    pub url: String,
    pub product_token: String,
    /// The number shown to the callee, international format (`+31…`).
    pub caller: String,
    /// Requests in flight at most (see the module documentation).
    pub max_concurrent_calls: usize,
    /// Time-out of one request.
    pub timeout: Duration,
}

impl Default for VoiceHttpConfig {
    fn default() -> Self {
        VoiceHttpConfig {
            url: "https://api.cm.com".into(),
            product_token: String::new(),
            caller: String::new(),
            max_concurrent_calls: 10,
            timeout: Duration::from_secs(15),
        }
    }
}

impl std::fmt::Debug for VoiceHttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceHttpConfig")
            .field("url", &self.url)
            .field("product_token", &"***")
            .field("caller", &self.caller)
            .field("max_concurrent_calls", &self.max_concurrent_calls)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The voice provider.
pub struct VoiceHttp {
    client: reqwest::Client,
    endpoint: String,
    product_token: String,
    caller: String,
    calls: Arc<Semaphore>,
}

impl VoiceHttp {
    pub fn new(config: &VoiceHttpConfig) -> anyhow::Result<VoiceHttp> {
        let base = url::Url::parse(&config.url).map_err(|e| anyhow::anyhow!("invalid voice API URL: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") {
            anyhow::bail!("the voice API URL must be http(s)://");
        }
        if config.max_concurrent_calls == 0 {
            anyhow::bail!("max_concurrent_calls must be at least 1");
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .build()?;
        Ok(VoiceHttp {
            client,
            endpoint: format!("{}/voiceapi/v2/Notification", config.url.trim_end_matches('/')),
            product_token: config.product_token.clone(),
            caller: config.caller.clone(),
            calls: Arc::new(Semaphore::new(config.max_concurrent_calls)),
        })
    }

    /// The TTS voice for a language code (`nl` or `en`; anything else speaks Dutch).
    pub fn voice_language(language: &str) -> &'static str {
        match language.trim().to_ascii_lowercase().as_str() {
            "en" | "en-gb" | "en-us" => "en-GB",
            _ => "nl-NL",
        }
    }

    /// The JSON request for one call (public for tests).
    pub fn request_body(&self, callee: &str, msg: &Outgoing) -> serde_json::Value {
        let plays = msg.content.replays.max(1);
        let repeats = (plays - 1).min(MAX_REPLAYS);
        json!({
            "instruction-id": msg.reference,
            "callee": callee,
            "caller": self.caller,
            "prompt": msg.content.text,
            "prompt-type": "TTS",
            "auto-replay": repeats > 0,
            "max-replays": repeats,
            "voice": { "language": Self::voice_language(&msg.language), "gender": "Female", "number": 1 },
        })
    }

    /// Free call slots right now (for metrics and tests).
    pub fn available_call_slots(&self) -> usize {
        self.calls.available_permits()
    }
}

impl Provider for VoiceHttp {
    fn name(&self) -> &'static str {
        "cm_voice"
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Outcome> {
        async move {
            let Destination::Phone(callee) = &msg.to else {
                return Outcome::Rejected { reason: "cm_voice: not a phone destination".into() };
            };
            if msg.content.text.trim().is_empty() {
                return Outcome::Rejected { reason: "cm_voice: nothing to say".into() };
            }
            if msg.content.text.chars().count() > MAX_PROMPT_CHARS {
                return Outcome::Rejected { reason: format!("cm_voice: text longer than {MAX_PROMPT_CHARS} characters") };
            }
            let body = self.request_body(callee, msg);
            let Ok(_permit) = self.calls.acquire().await else {
                return Outcome::Retry { reason: "cm_voice: shutting down".into(), retry_after: None };
            };
            let Answer { status, headers, text } =
                match post_cm_json("cm_voice", &self.client, &self.endpoint, &self.product_token, &body).await {
                    Ok(a) => a,
                    Err(outcome) => return outcome,
                };
            if !status.is_success() {
                return classify_status("cm_voice", status, &headers, &text);
            }
            let provider_id = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| ["call-id", "id"].iter().find_map(|k| v.get(*k).and_then(|x| x.as_str()).map(str::to_string)));
            Outcome::Accepted { provider_id }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages() {
        assert_eq!(VoiceHttp::voice_language("nl"), "nl-NL");
        assert_eq!(VoiceHttp::voice_language("en"), "en-GB");
        assert_eq!(VoiceHttp::voice_language("fy"), "nl-NL");
    }

    #[test]
    fn token_is_redacted() {
        let c = VoiceHttpConfig { product_token: "t0ken-s3cret".into(), ..VoiceHttpConfig::default() };
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
