//! The `Host` a request names must be one this server answers to (`allowed_hosts`, the host of
//! `public_url` and a specific bind address). A page elsewhere that makes its own host name
//! resolve to 127.0.0.1 (DNS rebinding) would otherwise talk to a server on loopback as if it
//! were on the same site, and read what the server shows to this machine. Anything else gets
//! `421 Misdirected Request`, on every route.

use crate::config::Config;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The host name of a `Host` header or URI authority (`name`, `name:port`, `[v6]:port`),
/// lower case, without port and trailing dot.
pub fn host_name(authority: &str) -> Option<String> {
    let a = authority.trim();
    let name = if a.starts_with('[') {
        let end = a.find(']')?;
        let rest = &a[end + 1..];
        if !(rest.is_empty() || rest.strip_prefix(':').is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))) {
            return None;
        }
        &a[..=end]
    } else {
        match a.rsplit_once(':') {
            Some((n, port)) if port.bytes().all(|b| b.is_ascii_digit()) => n,
            Some(_) => return None,
            None => a,
        }
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    (!name.is_empty() && !name.contains(['/', '@', ' '])).then_some(name)
}

/// The host names a request may name, from the configuration.
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    names: Vec<String>,
    any: bool,
}

impl AllowedHosts {
    pub fn from_config(config: &Config) -> AllowedHosts {
        let mut names: Vec<String> = Vec::new();
        let mut any = false;
        for h in config.allowed_host_names() {
            if h.trim() == "*" {
                any = true;
            } else if let Some(n) = host_name(h) {
                names.push(n);
            }
        }
        if let Some(n) = reqwest::Url::parse(&config.public_url()).ok().and_then(|u| u.host_str().and_then(host_name)) {
            names.push(n);
        }
        if !config.bind.ip().is_unspecified() {
            let ip = config.bind.ip();
            names.push(if ip.is_ipv6() { format!("[{ip}]") } else { ip.to_string() });
        }
        names.sort();
        names.dedup();
        AllowedHosts { names, any }
    }

    /// Whether `name` (as [`host_name`] gives it) is listed by name (`*` does not count here).
    pub fn listed(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    fn allows(&self, name: &str) -> bool {
        self.any || self.listed(name)
    }
}

/// The host name a request names: its `Host` header, or (HTTP/2) its URI's authority.
pub fn request_host(headers: &axum::http::HeaderMap, uri: &axum::http::Uri) -> Option<String> {
    match headers.get(header::HOST) {
        Some(v) => v.to_str().ok().and_then(host_name),
        None => uri.authority().map(|a| a.as_str()).and_then(host_name),
    }
}

pub async fn check(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let allowed = request_host(req.headers(), req.uri()).is_some_and(|h| state.allowed_hosts.allows(&h));
    if allowed {
        return next.run(req).await;
    }
    metrics::counter!("buurtnet_misdirected_requests_total").increment(1);
    let body = serde_json::json!({
        "error": "misdirected_request",
        "message": "This server does not answer to this host name.",
    });
    let mut resp = (StatusCode::MISDIRECTED_REQUEST, axum::Json(body)).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_lose_their_port() {
        assert_eq!(host_name("127.0.0.1:8080").as_deref(), Some("127.0.0.1"));
        assert_eq!(host_name("LocalHost").as_deref(), Some("localhost"));
        assert_eq!(host_name("[::1]:80").as_deref(), Some("[::1]"));
        assert_eq!(host_name("alert.example.nl.").as_deref(), Some("alert.example.nl"));
        assert_eq!(host_name("evil.example:x"), None);
        assert_eq!(host_name("[::1]x"), None);
        assert_eq!(host_name(""), None);
    }

    #[test]
    fn the_default_list_is_loopback_and_the_public_url() {
        let c = Config { public_url: Some("https://alert.example.nl".into()), ..Config::default() };
        let a = AllowedHosts::from_config(&c);
        for ok in ["localhost", "127.0.0.1", "[::1]", "alert.example.nl"] {
            assert!(a.allows(ok), "{ok}");
        }
        assert!(!a.allows("rebind.attacker.example"));
        let any = AllowedHosts::from_config(&Config { allowed_hosts: Some(vec!["*".into()]), ..Config::default() });
        assert!(any.allows("whatever.example") && !any.listed("whatever.example"));
    }
}
