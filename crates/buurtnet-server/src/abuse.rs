//! Abuse limits for public endpoints: how often one client address and one target (a phone
//! number or e-mail address) may call an endpoint in a fixed window. One mechanism for every
//! public endpoint (registration, codes, links; later devices and tips), counted in the
//! database so that it holds across every process sharing it, answered with 429 and
//! `Retry-After`. Counter keys are keyed hashes: the database never holds the address or number.
//!
//! Targets are counted whether or not they are registered, so a 429 never tells whether an
//! e-mail address or phone number is known.

use crate::config::Limit;
use crate::error::{AppError, AppResult};
use crate::state::App;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::net::{IpAddr, SocketAddr};

/// The client's address, as the abuse limits see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    /// IPv6 clients are counted per /64 (one household or device usually has a whole /64).
    pub fn key(&self) -> String {
        let ip = match self.0 {
            Some(IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(IpAddr::V4).or(self.0),
            other => other,
        };
        match ip {
            Some(IpAddr::V4(v4)) => v4.to_string(),
            Some(IpAddr::V6(v6)) => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            None => "unknown".into(),
        }
    }
}

impl FromRequestParts<crate::AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &crate::AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        if state.config.abuse_limits.trust_x_forwarded_for
            && let Some(forwarded) = forwarded_for(&parts.headers)
        {
            return Ok(ClientIp(Some(forwarded)));
        }
        Ok(ClientIp(peer))
    }
}

/// The client address a trusted proxy appended: the last entry of the last `X-Forwarded-For`
/// line (anything before it came from the client and may be forged).
fn forwarded_for(headers: &axum::http::HeaderMap) -> Option<IpAddr> {
    let last = headers.get_all("x-forwarded-for").iter().next_back()?.to_str().ok()?;
    last.rsplit(',').next()?.trim().parse().ok()
}

/// A fixed window of `seconds` containing `now`: its start and the seconds left in it.
fn window(now: i64, seconds: u64) -> (i64, u64) {
    let window_ms = (seconds.max(1) as i64).saturating_mul(1000);
    let start = now - now.rem_euclid(window_ms);
    (start, ((start + window_ms - now) as u64).div_ceil(1000).max(1))
}

/// Counts one hit of `name` (hashed into a counter key) in the window starting at
/// `window_start`; true when that makes more than `max` (0 = no limit, nothing counted).
async fn over(app: &App, name: &str, window_start: i64, max: u32) -> AppResult<bool> {
    if max == 0 {
        return Ok(false);
    }
    let key = app.signer.counter_key(name);
    Ok(app.store.hit_counter(&key, window_start).await? > i64::from(max))
}

fn target_name(target: &str) -> String {
    target.trim().to_lowercase()
}

/// Counts one account message (code, link, notice) to `target` and says whether it may still
/// be sent today: one cap over every endpoint, so that no number or mailbox can be flooded
/// through several of them. A refusal is silent (logged and counted), never an answer.
pub async fn may_send_to(app: &App, target: &str) -> AppResult<bool> {
    if !app.config.abuse_limits.enabled {
        return Ok(true);
    }
    let (day, _) = window(app.now_ms(), 86_400);
    let name = format!("messages:target:{}", target_name(target));
    if over(app, &name, day, app.config.abuse_limits.messages_per_target_per_day).await? {
        metrics::counter!("buurtnet_abuse_limited_total", "rule" => "messages_per_target", "by" => "target").increment(1);
        tracing::warn!("daily message cap for one recipient reached; not sending");
        return Ok(false);
    }
    Ok(true)
}

/// Counts one call of `rule` by `client` for each of `targets` and refuses with 429 when a limit
/// is exceeded. The client address is counted first; targets only when it passed.
pub async fn check(app: &App, rule: &'static str, limit: &Limit, client: &ClientIp, targets: &[&str]) -> AppResult<()> {
    if !app.config.abuse_limits.enabled {
        return Ok(());
    }
    let (window_start, retry_after_secs) = window(app.now_ms(), limit.window_seconds);
    let refuse = |what: &'static str| {
        metrics::counter!("buurtnet_abuse_limited_total", "rule" => rule, "by" => what).increment(1);
        AppError::TooManyRequests { message: "Too many requests; please wait a while and try again.".into(), retry_after_secs }
    };
    if over(app, &format!("{rule}:ip:{}", client.key()), window_start, limit.per_ip).await? {
        return Err(refuse("ip"));
    }
    for target in targets {
        if over(app, &format!("{rule}:target:{}", target_name(target)), window_start, limit.per_target).await? {
            return Err(refuse("target"));
        }
    }
    Ok(())
}

/// Counts one staff API call by account `staff_id` and refuses with 429 beyond
/// `abuse_limits.staff_api` calls per window.
pub async fn check_staff(app: &App, staff_id: i64) -> AppResult<()> {
    let limit = &app.config.abuse_limits.staff_api;
    if !app.config.abuse_limits.enabled || limit.per_target == 0 {
        return Ok(());
    }
    let (window_start, retry_after_secs) = window(app.now_ms(), limit.window_seconds);
    if over(app, &format!("staff_api:staff:{staff_id}"), window_start, limit.per_target).await? {
        metrics::counter!("buurtnet_abuse_limited_total", "rule" => "staff_api", "by" => "staff").increment(1);
        return Err(AppError::TooManyRequests {
            message: "Too many requests from this account; please wait a moment and try again.".into(),
            retry_after_secs,
        });
    }
    Ok(())
}

/// Drops counters of windows that ended long ago, spent links that expired, and alarm-neighbour
/// invitations a day after they expired (run now and then by every process).
pub async fn prune(app: &App) -> AppResult<u64> {
    let longest = [
        &app.config.abuse_limits.register,
        &app.config.abuse_limits.resend_code,
        &app.config.abuse_limits.self_service_link,
        &app.config.abuse_limits.verify_phone,
        &app.config.abuse_limits.verify_email,
        &app.config.abuse_limits.register_device,
        &app.config.abuse_limits.staff_api,
        &app.config.abuse_limits.reply,
        &app.config.abuse_limits.staff_sign_in,
        &app.config.abuse_limits.tip,
        &app.config.abuse_limits.app,
        &app.config.abuse_limits.emergency,
    ]
    .iter()
    .map(|l| l.window_seconds)
    .max()
    .unwrap_or(3600)
    .max(86_400) as i64;
    // Spent links (a self-service link links one device) are kept only while they verify.
    let spent = app.store.prune_spent_links(app.now_ms()).await?;
    // Alarm-neighbour invitation codes, a day after they expired.
    let invitations = app.store.prune_alarm_invitations(app.now_ms() - 86_400_000).await?;
    Ok(app.store.prune_counters(app.now_ms() - 2 * longest * 1000).await? + spent + invitations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_per_64() {
        let a = ClientIp(Some("2001:db8:1:2:aaaa::1".parse().unwrap_or(IpAddr::from([0u8; 4]))));
        let b = ClientIp(Some("2001:db8:1:2:bbbb::9".parse().unwrap_or(IpAddr::from([0u8; 4]))));
        assert_eq!(a.key(), b.key());
        assert_eq!(ClientIp(Some(IpAddr::from([192, 0, 2, 7]))).key(), "192.0.2.7");
        // IPv4 clients of a dual-stack socket are counted as IPv4, each on its own.
        let mapped = |s: &str| ClientIp(Some(s.parse().unwrap_or(IpAddr::from([0u8; 4])))).key();
        assert_eq!(mapped("::ffff:192.0.2.7"), "192.0.2.7");
        assert_ne!(mapped("::ffff:192.0.2.7"), mapped("::ffff:192.0.2.8"));
    }

    #[test]
    fn only_the_proxy_appended_forwarded_address_counts() {
        let mut h = axum::http::HeaderMap::new();
        h.append("x-forwarded-for", axum::http::HeaderValue::from_static("6.6.6.6, 203.0.113.9"));
        assert_eq!(forwarded_for(&h), Some(IpAddr::from([203, 0, 113, 9])));
        // A proxy that adds its own line: the client's forged first line is ignored.
        h.append("x-forwarded-for", axum::http::HeaderValue::from_static("198.51.100.4"));
        assert_eq!(forwarded_for(&h), Some(IpAddr::from([198, 51, 100, 4])));
        let mut bad = axum::http::HeaderMap::new();
        bad.append("x-forwarded-for", axum::http::HeaderValue::from_static("not an address"));
        assert_eq!(forwarded_for(&bad), None);
    }
}
