//! Every message of an action (its start, each update, its closing, its cancellation) as a CAP
//! 1.2 alert: `Alert`, `Update` (the closing one with `responseType` `AllClear`) or `Cancel`
//! referring to the earlier ones; one `info` per language. Identifiers are stable:
//! `{sender}-{action id}-{message id}`. Whether an action is public is the domain's rule.

use super::areas;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use buurtnet_cap::mapping::{self, KIND_PARAMETER, LEVEL_PARAMETER};
use buurtnet_cap::{Alert, Info, MsgType, NamedValue, Reference, Resource, ResponseType, Scope, format_time};
use buurtnet_domain::Language;
use buurtnet_domain::action::{ActionKind, Level, MessageKind, MessageStatus};
use buurtnet_domain::action_text::{ActionContent, call_to_action};
use buurtnet_store::actions::{ActionRow, MessageRow};
use chrono::{DateTime, FixedOffset};
use serde_json::Value;

/// An action's fields as the domain reads them.
pub struct Parsed {
    pub kind: ActionKind,
    pub level: Level,
    pub status: MessageStatus,
    pub content: ActionContent,
    pub area: Value,
}

pub fn parse_action(a: &ActionRow) -> AppResult<Parsed> {
    let bad = || AppError::Internal(format!("action {} has unreadable stored fields", a.id));
    Ok(Parsed {
        kind: ActionKind::parse(&a.kind).ok_or_else(bad)?,
        level: Level::parse(&a.level).ok_or_else(bad)?,
        status: MessageStatus::parse(&a.status).ok_or_else(bad)?,
        content: serde_json::from_str(&a.content).map_err(|_| bad())?,
        area: serde_json::from_str(&a.area).map_err(|_| bad())?,
    })
}

/// The stable identifier of message `message_id` of action `action_id`.
pub fn identifier(sender: &str, action_id: i64, message_id: i64) -> String {
    format!("{sender}-{action_id}-{message_id}")
}

/// The action and message ids in one of our identifiers.
pub fn ids_of(sender: &str, identifier: &str) -> Option<(i64, i64)> {
    let rest = identifier.strip_prefix(sender)?.strip_prefix('-')?;
    let (a, m) = rest.split_once('-')?;
    Some((a.parse().ok().filter(|i| *i > 0)?, m.parse().ok().filter(|i| *i > 0)?))
}

/// The public URL of a CAP document.
pub fn document_url(state: &AppState, identifier: &str) -> String {
    format!("{}/api/v1/cap/alerts/{identifier}.xml", state.config.public_url())
}

pub fn sent_of(m: &MessageRow) -> AppResult<DateTime<FixedOffset>> {
    DateTime::from_timestamp_millis(m.created_at)
        .map(|t| t.fixed_offset())
        .ok_or_else(|| AppError::Internal(format!("message {} has no valid time", m.id)))
}

/// The text of one language of a stored message.
fn stored_text(m: &MessageRow, lang: Language, field: &str) -> Option<String> {
    let v: Value = serde_json::from_str(&m.content).ok()?;
    v.get(lang.as_str())?.get(field)?.as_str().map(str::to_string)
}

/// The message titles residents saw, per language (the feed's entry titles).
pub fn message_title(m: &MessageRow, lang: Language) -> Option<String> {
    stored_text(m, lang, "title")
}

/// One language's info block of a message.
fn info(state: &AppState, p: &Parsed, kind: MessageKind, m: &MessageRow, photos: &[String], lang: Language) -> Info {
    let (urgency, severity, certainty) = mapping::assessment(p.kind, p.level);
    let mut i = Info::new(
        mapping::language_tag(lang),
        mapping::category(p.kind),
        mapping::event(p.kind, lang),
        urgency,
        severity,
        certainty,
    );
    i.response_types = match kind {
        MessageKind::Close => vec![ResponseType::AllClear],
        MessageKind::Cancel => vec![ResponseType::None],
        _ => vec![mapping::response(p.kind)],
    };
    i.sender_name = Some("buurtnet".into());
    let title = match lang {
        Language::En => p.content.title_en.as_deref().filter(|t| !t.trim().is_empty()).unwrap_or(&p.content.title),
        Language::Nl => &p.content.title,
    };
    i.headline = Some(title.trim().to_string());
    let callback = p.content.callback_phone.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let text = stored_text(m, lang, "text").unwrap_or_default();
    if matches!(kind, MessageKind::Start | MessageKind::Update) {
        let instruction = call_to_action(p.kind, callback, lang);
        let description = text.strip_suffix(instruction.as_str()).unwrap_or(&text).trim_end();
        i.description = Some(description.to_string());
        i.instruction = Some(instruction);
    } else {
        i.description = Some(text);
    }
    i.contact = callback.map(str::to_string);
    i.parameters = vec![
        NamedValue { name: KIND_PARAMETER.into(), value: p.kind.as_str().into() },
        NamedValue { name: LEVEL_PARAMETER.into(), value: p.level.as_str().into() },
    ];
    let label = if lang == Language::Nl { "Foto" } else { "Photo" };
    i.resources = photos
        .iter()
        .map(|url| Resource { description: label.into(), mime_type: "image/jpeg".into(), uri: Some(url.clone()) })
        .collect();
    i.areas = areas::to_cap(&p.area, &state.areas.current(), lang);
    i
}

/// The CAP alert of message `m` of action `a`, whose messages (oldest first) are `all`.
pub fn alert(state: &AppState, a: &ActionRow, m: &MessageRow, all: &[MessageRow], photos: &[String]) -> AppResult<Alert> {
    let p = parse_action(a)?;
    let kind = MessageKind::parse(&m.kind).ok_or_else(|| AppError::Internal(format!("message {} has no kind", m.id)))?;
    let sender = state.config.cap_sender();
    let msg_type = match kind {
        MessageKind::Start => MsgType::Alert,
        MessageKind::Cancel => MsgType::Cancel,
        _ => MsgType::Update,
    };
    let mut references = Vec::new();
    if msg_type != MsgType::Alert {
        for earlier in all.iter().filter(|e| e.id < m.id) {
            references.push(Reference {
                sender: sender.clone(),
                identifier: identifier(&sender, a.id, earlier.id),
                sent: format_time(&sent_of(earlier)?),
            });
        }
    }
    let public = p.kind.may_be_published();
    Ok(Alert {
        identifier: identifier(&sender, a.id, m.id),
        sender,
        sent: sent_of(m)?,
        status: mapping::status(p.status),
        msg_type,
        scope: if public { Scope::Public } else { Scope::Restricted },
        restriction: (!public).then(|| "Police and emergency services only: this kind of action is never published.".into()),
        note: None,
        references,
        infos: [Language::Nl, Language::En].iter().map(|l| info(state, &p, kind, m, photos, *l)).collect(),
    })
}

/// The CAP document of message `message_id` of action `a`.
pub async fn document(state: &AppState, a: &ActionRow, message_id: i64) -> AppResult<String> {
    let all = state.store.action_messages(a.id).await?;
    let m = all
        .iter()
        .find(|m| m.id == message_id)
        .ok_or_else(|| AppError::NotFound(format!("Action {} has no message {message_id}.", a.id)))?;
    let photos = crate::alerting::actions::photo_urls(state, a.id).await?;
    let alert = alert(state, a, m, &all, &photos)?;
    buurtnet_cap::to_xml(&alert).map_err(|e| AppError::Internal(format!("writing a CAP document: {e}")))
}

/// A public document by its identifier: only of actions whose kind may be published.
pub async fn public_document(state: &AppState, identifier: &str) -> AppResult<String> {
    let not_found = || AppError::NotFound(format!("There is no public CAP alert '{identifier}'."));
    let (action_id, message_id) = ids_of(&state.config.cap_sender(), identifier).ok_or_else(not_found)?;
    let a = state.store.action(action_id).await?.ok_or_else(not_found)?;
    if !ActionKind::parse(&a.kind).is_some_and(ActionKind::may_be_published) {
        return Err(not_found());
    }
    document(state, &a, message_id).await.map_err(|e| if matches!(e, AppError::NotFound(_)) { not_found() } else { e })
}
