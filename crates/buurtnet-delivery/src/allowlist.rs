//! Which push services the server may call. A browser hands us its push endpoint (a URL), and
//! we POST to it later: without a list, anyone could make the server call any host (internal
//! services, other people's servers). Only endpoints on hosts of this list are accepted when a
//! device registers, and the provider checks again before every send.

use std::net::IpAddr;

/// The browsers' push services (Chrome/Edge/Opera via FCM, Firefox, Safari, legacy Edge).
pub const DEFAULT_PUSH_HOSTS: &[&str] = &[
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "web.push.apple.com",
    "*.push.apple.com",
    "*.notify.windows.com",
];

/// The longest endpoint URL accepted.
pub const MAX_ENDPOINT_LEN: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// Exactly this host name or IP address (lower case, IPv6 without brackets).
    Exact(String),
    /// Any host name ending in `.{suffix}` (written `*.suffix`); never an IP address.
    Suffix(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    host: HostPattern,
    /// `None`: only the scheme's default port.
    port: Option<u16>,
}

/// The hosts push endpoints may point at: `host`, `host:port`, `*.suffix` or `*.suffix:port`
/// (IPv6 literals as `[::1]:port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushAllowList {
    entries: Vec<Entry>,
}

/// Why an endpoint is refused; `message()` is shown to the person registering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("the endpoint is not a valid URL")]
    NotAUrl,
    #[error("the endpoint is too long")]
    TooLong,
    #[error("the endpoint must use https")]
    NotHttps,
    #[error("the endpoint must not contain a user name or password")]
    Userinfo,
    #[error("the endpoint's host is not a known push service")]
    HostNotAllowed,
    #[error("the endpoint's port is not allowed for this push service")]
    PortNotAllowed,
}

impl EndpointError {
    /// A stable code for field errors.
    pub fn code(self) -> &'static str {
        match self {
            EndpointError::NotAUrl | EndpointError::TooLong => "invalid_endpoint",
            EndpointError::NotHttps => "endpoint_not_https",
            EndpointError::Userinfo => "endpoint_userinfo",
            EndpointError::HostNotAllowed | EndpointError::PortNotAllowed => "push_service_not_allowed",
        }
    }
}

impl Default for PushAllowList {
    fn default() -> Self {
        // The default entries are constants that parse.
        PushAllowList::parse(DEFAULT_PUSH_HOSTS.iter().copied()).unwrap_or(PushAllowList { entries: Vec::new() })
    }
}

fn is_loopback_host(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn valid_host_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

impl PushAllowList {
    /// Parses entries such as `fcm.googleapis.com`, `*.push.apple.com`, `127.0.0.1:8443` or
    /// `[::1]:9000`; the error names the entry that is wrong.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<PushAllowList, String> {
        let mut out = Vec::new();
        for raw in entries {
            let entry = raw.trim().to_ascii_lowercase();
            if entry.is_empty() {
                continue;
            }
            let bad = || format!("'{raw}' is not a host, host:port or *.domain");
            let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
                let (ip, after) = rest.split_once(']').ok_or_else(bad)?;
                let port = match after {
                    "" => None,
                    p => Some(p.strip_prefix(':').and_then(|p| p.parse::<u16>().ok()).ok_or_else(bad)?),
                };
                ip.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
                (ip.to_string(), port)
            } else if entry.matches(':').count() > 1 {
                // A bare IPv6 address without a port.
                entry.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
                (entry.clone(), None)
            } else {
                match entry.split_once(':') {
                    Some((h, p)) => (h.to_string(), Some(p.parse::<u16>().map_err(|_| bad())?)),
                    None => (entry.clone(), None),
                }
            };
            if port == Some(0) {
                return Err(bad());
            }
            let host = host.trim_end_matches('.').to_string();
            let pattern = if let Some(suffix) = host.strip_prefix("*.") {
                if !valid_host_name(suffix) || !suffix.contains('.') {
                    return Err(format!("'{raw}': a pattern needs a domain of at least two labels after '*.'"));
                }
                HostPattern::Suffix(suffix.to_string())
            } else if host.parse::<IpAddr>().is_ok() || valid_host_name(&host) {
                HostPattern::Exact(host)
            } else {
                return Err(bad());
            };
            out.push(Entry { host: pattern, port });
        }
        Ok(PushAllowList { entries: out })
    }

    /// Parses a comma-separated list (`BUURTNET_PUSH_ALLOWED_HOSTS`).
    pub fn parse_comma_separated(list: &str) -> Result<PushAllowList, String> {
        PushAllowList::parse(list.split(','))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn allows(&self, host: &str, is_ip: bool, port: u16, default_port: u16) -> Result<(), EndpointError> {
        let mut host_known = false;
        for e in &self.entries {
            let host_matches = match &e.host {
                HostPattern::Exact(h) => h == host,
                HostPattern::Suffix(s) => {
                    !is_ip
                        && host.len() > s.len() + 1
                        && host.ends_with(s.as_str())
                        && host[..host.len() - s.len()].ends_with('.')
                }
            };
            if !host_matches {
                continue;
            }
            host_known = true;
            if e.port.unwrap_or(default_port) == port {
                return Ok(());
            }
        }
        Err(if host_known { EndpointError::PortNotAllowed } else { EndpointError::HostNotAllowed })
    }

    /// Checks a push endpoint: https (plain http only for a listed loopback host), no user
    /// name or password, a listed host (IP literals only when listed as such) and port.
    pub fn check(&self, endpoint: &str) -> Result<url::Url, EndpointError> {
        if endpoint.len() > MAX_ENDPOINT_LEN {
            return Err(EndpointError::TooLong);
        }
        let url = url::Url::parse(endpoint).map_err(|_| EndpointError::NotAUrl)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(EndpointError::Userinfo);
        }
        let (host, is_ip) = match url.host() {
            Some(url::Host::Domain(d)) => (d.trim_end_matches('.').to_ascii_lowercase(), false),
            Some(url::Host::Ipv4(ip)) => (ip.to_string(), true),
            Some(url::Host::Ipv6(ip)) => (ip.to_string(), true),
            None => return Err(EndpointError::NotAUrl),
        };
        let default_port = match url.scheme() {
            "https" => 443,
            "http" if is_loopback_host(&host) => 80,
            "http" => return Err(EndpointError::NotHttps),
            _ => return Err(EndpointError::NotHttps),
        };
        let port = url.port().unwrap_or(default_port);
        self.allows(&host, is_ip, port, default_port)?;
        Ok(url)
    }

    /// The host of an endpoint, for debug logs (never the path: it identifies the device).
    pub fn host_of(endpoint: &str) -> String {
        url::Url::parse(endpoint).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_else(|| "?".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_list_takes_the_browsers_push_services() {
        let list = PushAllowList::default();
        assert_eq!(list.entries.len(), DEFAULT_PUSH_HOSTS.len());
        for ok in [
            "https://fcm.googleapis.com/fcm/send/abc:def",
            "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
            "https://web.push.apple.com/QGuQyavX",
            "https://api.push.apple.com/x",
            "https://wns2-db5p.notify.windows.com/w/?token=AQE",
            "https://FCM.googleapis.com./fcm/send/x",
            "https://fcm.googleapis.com:443/fcm/send/x",
        ] {
            assert!(list.check(ok).is_ok(), "{ok}");
        }
        let refused = [
            ("http://fcm.googleapis.com/fcm/send/x", EndpointError::NotHttps),
            ("https://evil.example/fcm.googleapis.com", EndpointError::HostNotAllowed),
            ("https://fcm.googleapis.com.evil.example/x", EndpointError::HostNotAllowed),
            ("https://push.apple.com/x", EndpointError::HostNotAllowed),
            ("https://xpush.apple.com/x", EndpointError::HostNotAllowed),
            ("https://user:pw@fcm.googleapis.com/x", EndpointError::Userinfo),
            ("https://fcm.googleapis.com:8443/x", EndpointError::PortNotAllowed),
            ("https://127.0.0.1/x", EndpointError::HostNotAllowed),
            ("https://[::1]/x", EndpointError::HostNotAllowed),
            ("http://127.0.0.1:8080/x", EndpointError::HostNotAllowed),
            ("ftp://fcm.googleapis.com/x", EndpointError::NotHttps),
            ("not a url", EndpointError::NotAUrl),
        ];
        for (bad, why) in refused {
            assert_eq!(list.check(bad).err(), Some(why), "{bad}");
        }
        assert_eq!(list.check(&format!("https://fcm.googleapis.com/{}", "a".repeat(3000))).err(), Some(EndpointError::TooLong));
    }

    #[test]
    fn a_configured_list_replaces_the_default_and_allows_loopback_http() {
        let list = PushAllowList::parse_comma_separated("127.0.0.1:9000, [::1]:9001,push.example.org,*.push.example.net:8443")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(list.check("http://127.0.0.1:9000/push/1").is_ok());
        assert!(list.check("https://127.0.0.1:9000/push/1").is_ok());
        assert!(list.check("http://[::1]:9001/p").is_ok());
        assert!(list.check("https://push.example.org/p").is_ok());
        assert!(list.check("https://a.push.example.net:8443/p").is_ok());
        assert_eq!(list.check("http://127.0.0.1:9001/p").err(), Some(EndpointError::PortNotAllowed));
        assert_eq!(list.check("http://127.0.0.2:9000/p").err(), Some(EndpointError::HostNotAllowed));
        assert_eq!(list.check("http://push.example.org/p").err(), Some(EndpointError::NotHttps));
        assert_eq!(list.check("https://a.push.example.net/p").err(), Some(EndpointError::PortNotAllowed));
        assert_eq!(list.check("https://fcm.googleapis.com/x").err(), Some(EndpointError::HostNotAllowed));
        for bad in ["*.com", "exa mple.org", "host:port", "host:0", "[zz]:1", "*.*.x.org"] {
            assert!(PushAllowList::parse([bad]).is_err(), "{bad}");
        }
        assert_eq!(PushAllowList::host_of("https://push.example.org/secret/path"), "push.example.org");
    }
}
