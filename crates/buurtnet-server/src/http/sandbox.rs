//! The sandbox: every message the built-in providers "sent", as phones and mailboxes, and as JSON.
//! It holds every resident's verification codes and self-service links, so it exists only
//! while the sandbox providers are configured, and is readable only from this machine on a
//! server that listens on loopback, or by a signed-in admin. Anyone else gets a plain 404.

use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use buurtnet_domain::staff::Role;
use buurtnet_store::SandboxMessage;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct MessagesQuery {
    recipient: Option<String>,
    channel: Option<String>,
    limit: Option<i64>,
}

/// Proof that the caller may read the sandbox.
pub struct SandboxViewer;

impl FromRequestParts<AppState> for SandboxViewer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer_is_local = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>().is_some_and(|c| c.0.ip().is_loopback());
        if state.config.bind.ip().is_loopback() && peer_is_local {
            return Ok(SandboxViewer);
        }
        match StaffUser::from_request_parts(parts, state).await {
            Ok(user) if user.role == Role::Admin => Ok(SandboxViewer),
            _ => Err(AppError::NotFound("Not found.".into())),
        }
    }
}

pub async fn messages(
    State(state): State<AppState>,
    _: SandboxViewer,
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

pub async fn page(State(state): State<AppState>, _: SandboxViewer) -> AppResult<SandboxPage> {
    let all = state.store.sandbox_messages(None, None, 500).await?;
    let (mail, phone): (Vec<_>, Vec<_>) = all.into_iter().partition(|m| m.channel == "email");
    Ok(SandboxPage { phones: group(phone), mailboxes: group(mail) })
}
