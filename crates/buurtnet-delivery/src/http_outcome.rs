//! Shared by the HTTP provider adapters (SMS, voice): turning an HTTP answer or a transport
//! error into an [`Outcome`], and a token-bucket rate limit.

use crate::provider::Outcome;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Longest `Retry-After` we honour; a larger one is capped (the worker decides anyway).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// `Retry-After` in seconds. The HTTP-date form is not read (that would need the wall clock,
/// which this crate takes from the injected `Clock` only): the worker's own backoff applies.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    let secs = value.parse::<u64>().ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

/// Whether an error answer says the phone number itself is invalid (the gateway's wording:
/// CM answers e.g. "Gsm '…' is not a number"; the voice API rejects an invalid `callee`).
pub fn says_invalid_number(body: &str) -> bool {
    let b = body.to_ascii_lowercase();
    b.contains("not a number")
        || b.contains("no phone numbers")
        || (b.contains("invalid")
            && (b.contains("number") || b.contains("callee") || b.contains("recipient") || b.contains("msisdn")))
}

/// Maps a non-success HTTP answer. `provider` names the adapter in the reason; the body is
/// only inspected, never copied into the reason (it may echo the number).
pub fn classify_status(provider: &str, status: StatusCode, headers: &HeaderMap, body: &str) -> Outcome {
    let code = status.as_u16();
    match code {
        429 | 503 => Outcome::Retry { reason: format!("{provider}: HTTP {code}"), retry_after: retry_after(headers) },
        500..=599 => Outcome::Retry { reason: format!("{provider}: HTTP {code}"), retry_after: retry_after(headers) },
        408 => Outcome::Retry { reason: format!("{provider}: HTTP 408"), retry_after: None },
        400 | 404 | 422 if says_invalid_number(body) => {
            Outcome::Gone { reason: format!("{provider}: invalid number (HTTP {code})") }
        }
        _ => Outcome::Rejected { reason: format!("{provider}: HTTP {code}") },
    }
}

/// An HTTP answer as the adapters read it.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body; empty when a successful answer's body could not be read (the provider took
    /// the request; only its answer broke).
    pub text: String,
}

/// POSTs `body` as JSON to a CM.com endpoint with the product token; a transport failure (or an
/// unreadable error answer) is already an [`Outcome`].
pub async fn post_cm_json(
    provider: &str,
    client: &reqwest::Client,
    endpoint: &str,
    product_token: &str,
    body: &serde_json::Value,
) -> Result<Answer, Outcome> {
    let response = client
        .post(endpoint)
        .header("X-CM-PRODUCTTOKEN", product_token)
        .header(reqwest::header::ACCEPT, "application/json")
        .json(body)
        .send()
        .await
        .map_err(|e| classify_transport(provider, &e))?;
    let status = response.status();
    let headers = response.headers().clone();
    let text = match response.text().await {
        Ok(t) => t,
        Err(e) if status.is_success() => {
            tracing::debug!(provider, error = %e.without_url(), "unreadable answer to an accepted request");
            String::new()
        }
        Err(e) => return Err(classify_transport(provider, &e)),
    };
    Ok(Answer { status, headers, text })
}

/// Maps a transport error (connect refused, time-out, broken connection).
pub fn classify_transport(provider: &str, e: &reqwest::Error) -> Outcome {
    let what = if e.is_timeout() {
        "time-out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "broken answer"
    } else {
        "request failed"
    };
    Outcome::Retry { reason: format!("{provider}: {what}"), retry_after: None }
}

/// A token bucket: `rate` permits per second, bursts up to `rate` (one second's worth).
/// Callers wait in arrival order; a waiting caller holds a reservation, so the rate holds
/// however many wait.
pub struct RateLimiter {
    rate: f64,
    state: Mutex<Bucket>,
}

struct Bucket {
    /// May go negative: permits already promised to waiting callers.
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// `per_second` of 0 means no limit.
    pub fn new(per_second: u32) -> RateLimiter {
        let rate = f64::from(per_second);
        RateLimiter { rate, state: Mutex::new(Bucket { tokens: rate, last: Instant::now() }) }
    }

    /// Waits until one more request may go.
    pub async fn acquire(&self) {
        self.acquire_n(1).await
    }

    /// The largest `n` worth asking [`RateLimiter::acquire_n`] for at once (one second's worth;
    /// `usize::MAX` without a limit).
    pub fn burst(&self) -> usize {
        if self.rate <= 0.0 { usize::MAX } else { (self.rate as usize).max(1) }
    }

    /// Waits until `n` more messages may go (a request carrying `n`).
    pub async fn acquire_n(&self, n: usize) {
        if self.rate <= 0.0 || n == 0 {
            return;
        }
        let wait = {
            let mut b = self.state.lock().await;
            let now = Instant::now();
            let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
            b.tokens = (b.tokens + elapsed * self.rate).min(self.rate);
            b.last = now;
            b.tokens -= n as f64;
            if b.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-b.tokens / self.rate) }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let h = HeaderMap::new();
        let mut with_retry = HeaderMap::new();
        with_retry.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(
            classify_status("x", StatusCode::TOO_MANY_REQUESTS, &with_retry, ""),
            Outcome::Retry { reason: "x: HTTP 429".into(), retry_after: Some(Duration::from_secs(7)) }
        );
        assert!(matches!(classify_status("x", StatusCode::INTERNAL_SERVER_ERROR, &h, ""), Outcome::Retry { .. }));
        assert!(matches!(
            classify_status("x", StatusCode::BAD_REQUEST, &h, "Rejected: Gsm '+31' is not a number."),
            Outcome::Gone { .. }
        ));
        assert!(matches!(classify_status("x", StatusCode::BAD_REQUEST, &h, "body missing"), Outcome::Rejected { .. }));
        assert!(matches!(classify_status("x", StatusCode::UNAUTHORIZED, &h, ""), Outcome::Rejected { .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limit_holds() {
        let limiter = RateLimiter::new(10);
        let start = Instant::now();
        for _ in 0..30 {
            limiter.acquire().await;
        }
        // 10 at once, then 20 more at 10/s.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(1990) && took < Duration::from_millis(2100), "{took:?}");
    }
}
