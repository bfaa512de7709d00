//! The sandbox: every message the built-in providers "sent", as phones and mailboxes, and as JSON.

use crate::error::AppResult;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::extract::{Query, State};
use buurtnet_store::SandboxMessage;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct MessagesQuery {
    recipient: Option<String>,
    channel: Option<String>,
    limit: Option<i64>,
}

pub async fn messages(State(state): State<AppState>, Query(q): Query<MessagesQuery>) -> AppResult<Json<Vec<SandboxMessage>>> {
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

pub async fn page(State(state): State<AppState>) -> AppResult<SandboxPage> {
    let all = state.store.sandbox_messages(None, None, 500).await?;
    let (mail, phone): (Vec<_>, Vec<_>) = all.into_iter().partition(|m| m.channel == "email");
    Ok(SandboxPage { phones: group(phone), mailboxes: group(mail) })
}
