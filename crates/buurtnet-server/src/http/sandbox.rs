//! The sandbox: every message the built-in providers "sent", as phones and mailboxes, and as JSON.
//! It holds every resident's verification codes and self-service links, so it exists only
//! while the sandbox providers are configured, and is readable only from this machine on a
//! server that listens on loopback, or by a signed-in admin. Anyone else gets a plain 404.

use crate::auth::StaffUser;
use crate::error::AppResult;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use buurtnet_domain::Operation;
use buurtnet_store::SandboxMessage;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct MessagesQuery {
    recipient: Option<String>,
    channel: Option<String>,
    limit: Option<i64>,
}

/// Proof that the caller may read operator pages (the sandbox, metrics): a request from this
/// machine when `local_operator_access` is on, the server listens on loopback, the peer is
/// loopback, no proxy header says it was forwarded and its `Host` is a listed name (loopback's
/// or the `public_url`'s, not a rebound one: see `host_check`); or an admin token. Anyone else gets a
/// bare 404, as if there were nothing.
pub struct OperatorAccess;

const PROXY_HEADERS: [&str; 5] = ["forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip", "via"];

impl FromRequestParts<AppState> for OperatorAccess {
    type Rejection = axum::http::StatusCode;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer_is_local = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>().is_some_and(|c| c.0.ip().is_loopback());
        let forwarded = PROXY_HEADERS.iter().any(|h| parts.headers.contains_key(*h));
        let host_listed =
            super::host_check::request_host(&parts.headers, &parts.uri).is_some_and(|h| state.allowed_hosts.listed(&h));
        if state.config.local_operator_access
            && state.config.bind.ip().is_loopback()
            && peer_is_local
            && !forwarded
            && host_listed
            && !state.config.abuse_limits.trust_x_forwarded_for
        {
            return Ok(OperatorAccess);
        }
        match StaffUser::from_request_parts(parts, state).await {
            Ok(user) if user.may(Operation::OperateSystem) => Ok(OperatorAccess),
            _ => Err(axum::http::StatusCode::NOT_FOUND),
        }
    }
}

pub async fn messages(
    State(state): State<AppState>,
    _: OperatorAccess,
    Query(q): Query<MessagesQuery>,
) -> AppResult<Json<Vec<SandboxMessage>>> {
    let limit = q.limit.unwrap_or(500).clamp(1, 10_000);
    Ok(Json(state.store.sandbox_messages(q.recipient.as_deref(), q.channel.as_deref(), limit).await?))
}

pub struct Shown {
    pub channel: String,
    pub subject: String,
    pub body: String,
    pub at: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "sandbox.html")]
pub struct SandboxPage {
    phones: Vec<(String, Vec<Shown>)>,
    mailboxes: Vec<(String, Vec<Shown>)>,
}

fn group(list: Vec<SandboxMessage>) -> Vec<(String, Vec<Shown>)> {
    let mut out: Vec<(String, Vec<Shown>)> = Vec::new();
    for m in list {
        let shown = Shown {
            channel: m.channel,
            subject: m.subject.unwrap_or_default(),
            body: m.body,
            at: chrono::DateTime::from_timestamp_millis(m.at)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default(),
        };
        match out.iter_mut().find(|(r, _)| *r == m.recipient) {
            Some((_, v)) => v.push(shown),
            None => out.push((m.recipient, vec![shown])),
        }
    }
    out
}

pub async fn page(State(state): State<AppState>, _: OperatorAccess) -> AppResult<SandboxPage> {
    let all = state.store.sandbox_messages(None, None, 500).await?;
    let (mail, phone): (Vec<_>, Vec<_>) = all.into_iter().partition(|m| m.channel == "email");
    Ok(SandboxPage { phones: group(phone), mailboxes: group(mail) })
}
