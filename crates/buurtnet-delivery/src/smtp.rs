//! E-mail through an SMTP server (lettre, pooled connections, rustls).
//!
//! The server is given as one URL:
//!
//! | URL | transport |
//! |---|---|
//! | `smtp://host:25` | plain SMTP, no TLS, no authentication (a local relay, the tests) |
//! | `smtp://user:pass@host:587?tls=starttls` | STARTTLS, required (port 587 when none is given) |
//! | `smtps://user:pass@host:465` | implicit TLS ("submissions", port 465 when none is given) |
//!
//! User and password are percent-decoded. Credentials on a plain `smtp://` URL without
//! `?tls=starttls` are refused (they would cross the network in the clear).
//!
//! Every message carries a `Message-ID` made from the delivery's reference
//! (`<bn42@example.org>`, the domain of `From`), so a retry after a crash is the same message to
//! the recipient's mail system; `References` names the thread (one action's messages thread
//! together); `List-Unsubscribe` (a page, no one-click POST) when the content
//! has an unsubscribe URL; `Auto-Submitted: auto-generated` (RFC 3834: no auto-replies).
//!
//! Outcomes: 4xx replies, connection errors and time-outs are [`Outcome::Retry`]; a 5xx reply
//! with an enhanced status `5.1.x` (bad destination mailbox: "user unknown", "no such domain",
//! "bad syntax") is [`Outcome::Gone`]; any other 5xx is [`Outcome::Rejected`] (e.g. content
//! refused as spam, message too big: the address itself may still work for a later message).
//! An address that cannot be parsed at all is `Gone`. No address and no server text (which may
//! echo the address) reaches a log or an outcome's reason: only codes.

use crate::provider::{Destination, Outcome, Outgoing, Provider};
use anyhow::{Context, bail};
use futures::FutureExt;
use futures::future::BoxFuture;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::error::Error as _;
use std::time::Duration;

/// What [`Smtp::from_config`] needs (the server's configuration maps onto it).
#[derive(Clone)]
pub struct SmtpConfig {
    /// `smtp://host:port`, `smtp://user:pass@host:587?tls=starttls` or
    /// `smtps://user:pass@host:465` (see the module documentation).
    pub url: String,
    /// The `From` mailbox, e.g. `buurtnet <noreply@buurtnet.example>`.
    pub from: String,
    /// Time-out of one SMTP command (connect, each reply).
    pub timeout: Duration,
    /// Connections kept open to the server at most.
    pub pool_size: u32,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            url: "smtp://127.0.0.1:25".into(),
            from: DEFAULT_FROM.into(),
            timeout: Duration::from_secs(30),
            pool_size: 10,
        }
    }
}

/// The default `From` mailbox.
pub const DEFAULT_FROM: &str = "buurtnet <noreply@localhost>";

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("url", &redact_url_password(&self.url))
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

/// The URL with a password replaced by `***`.
pub fn redact_url_password(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(_) => raw.to_string(),
        Err(_) => "<invalid URL>".into(),
    }
}

/// The SMTP e-mail provider.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// Domain of `From`, for `Message-ID`s.
    domain: String,
}

impl Smtp {
    /// Builds the provider; fails on an invalid URL or `From` mailbox. Connects lazily. Must be
    /// called (and the provider dropped) inside a Tokio runtime: the connection pool runs a task.
    pub fn from_config(config: &SmtpConfig) -> anyhow::Result<Smtp> {
        let (builder, from, domain) = Self::builder(config)?;
        Ok(Smtp { transport: builder.build(), from, domain })
    }

    /// Checks the settings as [`Smtp::from_config`] does, without a runtime or a connection.
    pub fn check_config(config: &SmtpConfig) -> anyhow::Result<()> {
        Self::builder(config).map(|_| ())
    }

    fn builder(config: &SmtpConfig) -> anyhow::Result<(AsyncSmtpTransportBuilder, Mailbox, String)> {
        let from: Mailbox = config.from.parse().with_context(|| format!("invalid e-mail from address '{}'", config.from))?;
        let domain = from.email.domain().to_string();
        let url = url::Url::parse(&config.url).context("invalid SMTP URL")?;
        let host = url.host_str().filter(|h| !h.is_empty()).context("the SMTP URL has no host")?.to_string();
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let mut tls = None;
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref()) {
                ("tls", "starttls") => tls = Some("starttls"),
                ("tls", "none") => tls = Some("none"),
                (k, _) => bail!("unknown SMTP URL parameter '{k}' (known: tls=starttls|none)"),
            }
        }
        let credentials = if url.username().is_empty() {
            None
        } else {
            let user = percent_decode(url.username()).context("SMTP user name is not valid percent-encoded UTF-8")?;
            let pass =
                percent_decode(url.password().unwrap_or("")).context("SMTP password is not valid percent-encoded UTF-8")?;
            Some(Credentials::new(user, pass))
        };
        let builder = match (url.scheme(), tls) {
            ("smtps", None) => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&host).context("SMTP TLS setup")?.port(url.port().unwrap_or(465))
            }
            ("smtp", Some("starttls")) => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)
                .context("SMTP TLS setup")?
                .port(url.port().unwrap_or(587)),
            ("smtp", None | Some("none")) => {
                if credentials.is_some() {
                    bail!("refusing to send SMTP credentials without TLS: use smtps:// or ?tls=starttls");
                }
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host).port(url.port().unwrap_or(25))
            }
            (scheme, _) => {
                bail!("SMTP URL scheme must be smtp:// or smtps://, not '{scheme}://' (tls=starttls only with smtp://)")
            }
        };
        let builder = builder.timeout(Some(config.timeout)).pool_config(PoolConfig::new().max_size(config.pool_size.max(1)));
        let builder = match credentials {
            Some(c) => builder.credentials(c),
            None => builder,
        };
        Ok((builder, from, domain))
    }

    /// Builds the RFC 5322 message for one delivery (public for tests and previews).
    pub fn build_message(&self, msg: &Outgoing) -> Result<Message, Outcome> {
        let Destination::Email(address) = &msg.to else {
            return Err(Outcome::Rejected { reason: "smtp: not an e-mail destination".into() });
        };
        let to: Mailbox = match address.parse() {
            Ok(m) => m,
            Err(_) => return Err(Outcome::Gone { reason: "smtp: invalid e-mail address".into() }),
        };
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(msg.content.title.clone())
            .message_id(Some(format!("<{}@{}>", msg.reference, self.domain)))
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".into()));
        if !msg.thread.is_empty() && msg.thread.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
            builder = builder.references(format!("<{}@{}>", msg.thread, self.domain));
        }
        if let Some(unsubscribe) = msg.content.unsubscribe_url.as_deref().filter(|u| !u.is_empty()) {
            // A URL with characters that would break the header is left out rather than sent broken.
            if unsubscribe.bytes().all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>') {
                // Alert e-mails get no one-click `List-Unsubscribe-Post` (RFC 8058): the page
                // asks who you are first, since they carry no token that would change an
                // account. Enquiries do: their URL holds a token that stops enquiries only.
                builder = builder
                    .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe"), format!("<{unsubscribe}>")));
                if msg.content.one_click_unsubscribe {
                    builder = builder.raw_header(HeaderValue::new(
                        HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                        "List-Unsubscribe=One-Click".into(),
                    ));
                }
            }
        }
        let plain = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(msg.content.text.clone());
        let built = match (&msg.content.html, msg.content.attachments.is_empty()) {
            (Some(html), true) => builder.multipart(
                MultiPart::alternative()
                    .singlepart(plain)
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html.clone())),
            ),
            (None, true) => builder.singlepart(plain),
            (_, false) => {
                let mut mixed = MultiPart::mixed().singlepart(plain);
                for a in &msg.content.attachments {
                    let Ok(ct) = ContentType::parse(&a.content_type) else {
                        return Err(Outcome::Rejected { reason: "smtp: bad attachment content type".into() });
                    };
                    mixed = mixed.singlepart(lettre::message::Attachment::new(a.filename.clone()).body(a.bytes.clone(), ct));
                }
                builder.multipart(mixed)
            }
        };
        built.map_err(|e| Outcome::Rejected { reason: format!("smtp: message could not be built: {}", error_kind(&e)) })
    }
}

/// The kind of a lettre builder error without its text (which may hold an address).
fn error_kind(e: &lettre::error::Error) -> &'static str {
    match e {
        lettre::error::Error::MissingFrom => "no From",
        lettre::error::Error::MissingTo => "no To",
        lettre::error::Error::TooManyFrom => "several From",
        lettre::error::Error::EmailMissingAt
        | lettre::error::Error::EmailMissingLocalPart
        | lettre::error::Error::EmailMissingDomain => "invalid address",
        _ => "other",
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Maps a lettre SMTP error to an outcome, keeping only codes (server text may echo addresses).
pub fn classify_smtp_error(e: &lettre::transport::smtp::Error) -> Outcome {
    let enhanced = e.source().and_then(|s| enhanced_status(&s.to_string()));
    let code = e.status().map(|c| c.to_string());
    let shown = match (&code, &enhanced) {
        (Some(c), Some(x)) => format!("{c} {x}"),
        (Some(c), None) => c.clone(),
        _ => String::new(),
    };
    if e.is_permanent() {
        if enhanced.as_deref().is_some_and(|x| x.starts_with("5.1.")) {
            Outcome::Gone { reason: format!("smtp: mailbox refused ({shown})") }
        } else {
            Outcome::Rejected { reason: format!("smtp: permanent error ({shown})") }
        }
    } else if e.is_transient() {
        Outcome::Retry { reason: format!("smtp: transient error ({shown})"), retry_after: None }
    } else if e.is_timeout() {
        Outcome::Retry { reason: "smtp: time-out".into(), retry_after: None }
    } else if e.is_tls() {
        Outcome::Retry { reason: "smtp: TLS error".into(), retry_after: None }
    } else if e.is_client() {
        Outcome::Rejected { reason: "smtp: client error".into() }
    } else {
        Outcome::Retry { reason: "smtp: connection error".into(), retry_after: None }
    }
}

/// The RFC 3463 enhanced status code (`5.1.1`) at the start of a reply text, if any.
fn enhanced_status(text: &str) -> Option<String> {
    let first = text.split_whitespace().next()?;
    let parts: Vec<&str> = first.split('.').collect();
    let ok = parts.len() == 3
        && matches!(parts[0], "2" | "4" | "5")
        && parts[1..].iter().all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    ok.then(|| first.to_string())
}

impl Provider for Smtp {
    fn name(&self) -> &'static str {
        "smtp"
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Outcome> {
        async move {
            let message = match self.build_message(msg) {
                Ok(m) => m,
                Err(outcome) => return outcome,
            };
            match self.transport.send(message).await {
                Ok(_) => Outcome::Accepted { provider_id: None },
                Err(e) => {
                    let outcome = classify_smtp_error(&e);
                    tracing::debug!(delivery = msg.delivery_id, ?outcome, "smtp send failed");
                    outcome
                }
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let c = |url: &str| SmtpConfig { url: url.into(), ..SmtpConfig::default() };
        assert!(Smtp::check_config(&c("smtp://127.0.0.1:2525")).is_ok());
        assert!(Smtp::check_config(&c("smtps://u:p@mail.example.org")).is_ok());
        assert!(Smtp::check_config(&c("smtp://u:p%40x@mail.example.org:587?tls=starttls")).is_ok());
        assert!(Smtp::check_config(&c("smtp://u:p@mail.example.org")).is_err(), "credentials in the clear");
        assert!(Smtp::check_config(&c("http://mail.example.org")).is_err());
        assert!(Smtp::check_config(&c("smtp://mail.example.org?tls=maybe")).is_err());
        assert!(Smtp::check_config(&SmtpConfig { from: "not an address".into(), ..c("smtp://h") }).is_err());
    }

    #[tokio::test]
    async fn builds_inside_a_runtime() {
        let smtp =
            Smtp::from_config(&SmtpConfig { url: "smtps://u:p@mail.example.org".into(), ..SmtpConfig::default() }).unwrap();
        assert_eq!(smtp.domain, "localhost");
    }

    #[test]
    fn passwords_are_redacted() {
        let c = SmtpConfig { url: "smtps://user:s3cret@mail.example.org:465".into(), ..SmtpConfig::default() };
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("user:***@"), "{shown}");
    }

    #[test]
    fn enhanced_codes() {
        assert_eq!(enhanced_status("5.1.1 <a@b>: user unknown").as_deref(), Some("5.1.1"));
        assert_eq!(enhanced_status("4.7.0 try later").as_deref(), Some("4.7.0"));
        assert_eq!(enhanced_status("user unknown"), None);
        assert_eq!(percent_decode("p%40ss").as_deref(), Some("p@ss"));
    }
}
