//! The public Atom feed of CAP alerts: one entry per CAP message (the alert, each update, the
//! all-clear or the cancellation) of actions whose kind may be published, of one status
//! (actual unless an exercise or test feed is asked for); an ended action's entries stay
//! `publishing.feed_retention_hours`. Its ETag is a hash of the feed itself.

use super::export;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use buurtnet_cap::atom::{Entry, Feed, to_atom};
use buurtnet_domain::Language;
use buurtnet_domain::action::{ActionKind, MessageStatus};
use chrono::DateTime;
use sha2::{Digest, Sha256};

/// The most entries in one feed.
const MAX_ENTRIES: i64 = 500;

/// The feed and its ETag.
pub struct Rendered {
    pub body: String,
    pub etag: String,
}

/// The feed of `status` (`None`: actual alerts).
pub async fn render(state: &AppState, status: Option<&str>) -> AppResult<Rendered> {
    let status = match status.map(str::trim).filter(|s| !s.is_empty()) {
        None => MessageStatus::Actual,
        Some(s) => MessageStatus::parse(&s.to_ascii_lowercase()).ok_or_else(|| {
            AppError::bad_request("invalid_status", format!("Unknown status '{s}': use {}.", MessageStatus::choices()))
        })?,
    };
    let now = state.now_ms();
    let since = now - i64::from(state.config.publishing.feed_retention_hours) * 3_600_000;
    let rows = state.store.feed_messages(status.as_str(), since, MAX_ENTRIES).await?;
    let mut entries = Vec::new();
    let mut photos_of: Vec<(i64, Vec<String>)> = Vec::new();
    let mut messages_of: Vec<(i64, Vec<buurtnet_store::actions::MessageRow>)> = Vec::new();
    for (m, a) in &rows {
        if !ActionKind::parse(&a.kind).is_some_and(ActionKind::may_be_published) {
            continue;
        }
        if !photos_of.iter().any(|(id, _)| *id == a.id) {
            photos_of.push((a.id, crate::alerting::actions::photo_urls(state, a.id).await?));
            messages_of.push((a.id, state.store.action_messages(a.id).await?));
        }
        let photos = photos_of.iter().find(|(id, _)| *id == a.id).map(|(_, p)| p.as_slice()).unwrap_or_default();
        let all = messages_of.iter().find(|(id, _)| *id == a.id).map(|(_, m)| m.as_slice()).unwrap_or_default();
        let alert = export::alert(state, a, m, all, photos)?;
        let nl = alert.infos.first();
        entries.push(Entry {
            id: export::document_url(state, &alert.identifier),
            title: export::message_title(m, Language::Nl)
                .or_else(|| nl.and_then(|i| i.headline.clone()))
                .unwrap_or_else(|| alert.identifier.clone()),
            updated: alert.sent,
            summary: nl.and_then(|i| i.description.clone()),
            cap_url: export::document_url(state, &alert.identifier),
            categories: vec![alert.msg_type.as_str().into(), alert.status.as_str().into(), a.kind.clone()],
        });
    }
    let base = format!("{}/api/v1/cap/alerts.atom", state.config.public_url());
    let id = if status == MessageStatus::Actual { base } else { format!("{base}?status={}", status.as_str()) };
    let epoch = DateTime::from_timestamp(0, 0).map(|t| t.fixed_offset()).unwrap_or_default();
    let feed = Feed {
        id,
        title: "buurtnet: openbare waarschuwingen / public alerts (CAP 1.2)".into(),
        updated: entries.iter().map(|e| e.updated).max().unwrap_or(epoch),
        author: state.config.cap_sender(),
        entries,
    };
    let body = to_atom(&feed).map_err(|e| AppError::Internal(format!("writing the CAP feed: {e}")))?;
    let hash: String = Sha256::digest(body.as_bytes()).iter().take(16).map(|b| format!("{b:02x}")).collect();
    Ok(Rendered { body, etag: format!("\"{hash}\"") })
}

/// Whether an `If-None-Match` header names `etag` (or `*`); weak tags compare by their value.
pub fn matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/") == etag)
}
