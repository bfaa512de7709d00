//! A CAP 1.2 alert from another system becomes a DRAFT action: a dispatcher checks and sends it
//! in the console; an import never sends. `Alert` makes the draft (the same sender and
//! identifier again find the same draft), `Update` changes it and `Cancel` cancels it while it
//! is a draft; a sent action is never changed by an import (409). The draft is checked as any
//! dispatcher's new action is (texts, area, the caller's scope).

use super::areas;
use crate::alerting::actions::{self, MAX_BODY, MAX_TITLE};
use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::http::StatusCode;
use buurtnet_cap::mapping::{kind_of, language_of, level_of, message_status};
use buurtnet_cap::{Alert, CapError, Info, MsgType};
use buurtnet_domain::action::{ActionKind, ActionState, Step};
use buurtnet_domain::action_text::call_to_action;
use buurtnet_domain::{Language, Operation};
use buurtnet_store::actions::NewAction;
use buurtnet_store::publishing::{CapImport, DraftChange, DraftOutcome};
use serde_json::{Map, Value, json};

/// What an import made or changed.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Imported {
    /// The draft action's id.
    pub id: i64,
    /// `draft`, or `cancelled` after an imported cancellation.
    pub state: String,
}

fn cut(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn refuse_cap(e: CapError) -> AppError {
    match e {
        CapError::TooLarge => AppError::PayloadTooLarge(e.to_string()),
        e => AppError::bad_request(e.code(), e.to_string()),
    }
}

/// The info blocks to read: the Dutch one (else the first) and an English one.
fn pick(alert: &Alert) -> Option<(&Info, Option<&Info>)> {
    let nl = alert.infos.iter().find(|i| language_of(&i.language) == Some(Language::Nl));
    let primary = nl.or_else(|| alert.infos.first())?;
    let en = alert.infos.iter().find(|i| language_of(&i.language) == Some(Language::En) && !std::ptr::eq(*i, primary));
    Some((primary, en))
}

/// The texts of one info block: title, body.
fn texts(info: &Info, kind: Option<ActionKind>, callback: Option<&str>, lang: Language) -> (String, String) {
    let headline = info.headline.clone().unwrap_or_else(|| info.event.clone());
    let title = match kind {
        Some(_) => headline.clone(),
        // Not a kind of ours: an appeal, the event in its title.
        None if !info.event.trim().is_empty() && headline.trim() != info.event.trim() => {
            format!("{}: {}", info.event.trim(), headline.trim())
        }
        None => headline.clone(),
    };
    let mut body = info.description.clone().unwrap_or_else(|| headline.clone());
    // The partner's instruction, unless it is the sentence our texts add anyway.
    if let Some(instruction) = info.instruction.as_deref().map(str::trim).filter(|i| !i.is_empty())
        && instruction != call_to_action(kind.unwrap_or(ActionKind::Other), callback, lang)
    {
        body = format!("{} {instruction}", body.trim_end());
    }
    (cut(&title, MAX_TITLE), cut(&body, MAX_BODY))
}

/// The new action's request body (as a dispatcher would send it) from an alert.
fn request_of(alert: &Alert) -> AppResult<Value> {
    let (primary, en) = pick(alert)
        .ok_or_else(|| AppError::bad_request("missing_info", "The alert has no 'info' block: nothing to alert about."))?;
    let status = message_status(alert.status).ok_or_else(|| {
        AppError::bad_request(
            "invalid_status",
            format!("A CAP alert with status {} is not for residents.", alert.status.as_str()),
        )
    })?;
    let area = areas::from_cap(&primary.areas)
        .or_else(|| alert.infos.iter().find_map(|i| areas::from_cap(&i.areas)))
        .ok_or_else(|| {
            AppError::bad_request(
                "missing_area",
                "The alert has no area we can target: give a polygon, a circle or a geocode named CBS (e.g. GM0307).",
            )
        })?;
    let kind = kind_of(primary).or_else(|| en.and_then(kind_of));
    let callback = primary
        .contact
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty() && c.len() <= 20 && c.chars().all(|ch| ch.is_ascii_digit() || " +-()".contains(ch)));
    let (title, body) = texts(primary, kind, callback, Language::Nl);
    let mut req = Map::new();
    req.insert("kind".into(), kind.unwrap_or(ActionKind::Other).as_str().into());
    req.insert("level".into(), level_of(primary).as_str().into());
    req.insert("status".into(), status.as_str().into());
    req.insert("area".into(), area);
    req.insert("title".into(), title.clone().into());
    req.insert("body".into(), body.clone().into());
    // English texts, unless they only repeat the Dutch ones (as ours do without a translation).
    if let Some(en) = en {
        let (title_en, body_en) = texts(en, kind, callback, Language::En);
        if (title_en.as_str(), body_en.as_str()) != (title.as_str(), body.as_str()) {
            req.insert("title_en".into(), title_en.into());
            req.insert("body_en".into(), body_en.into());
        }
    }
    if let Some(c) = callback {
        req.insert("callback_phone".into(), c.into());
    }
    Ok(Value::Object(req))
}

fn import_of(alert: &Alert, user: &StaffUser, now: i64) -> CapImport {
    CapImport {
        sender: alert.sender.clone(),
        identifier: alert.identifier.clone(),
        msg_type: alert.msg_type.as_str().into(),
        imported_by: user.id,
        now,
    }
}

fn answer(id: i64, state: &str) -> Imported {
    Imported { id, state: state.into() }
}

/// Imports one CAP document: 201 with a new draft, 200 for a repeat or a change.
pub async fn import(state: &AppState, user: &StaffUser, body: &[u8]) -> AppResult<(StatusCode, Imported)> {
    user.require(Operation::ManageActions)?;
    let alert = buurtnet_cap::parse(body).map_err(refuse_cap)?;
    if let Some((id, _)) = state.store.cap_import(&alert.sender, &alert.identifier).await? {
        let a = actions::visible(state, user, id).await?;
        return Ok((StatusCode::OK, answer(id, &a.state)));
    }
    match alert.msg_type {
        MsgType::Alert => create(state, user, &alert).await,
        MsgType::Update | MsgType::Cancel => change(state, user, &alert).await,
        MsgType::Ack | MsgType::Error => Err(AppError::bad_request(
            "not_an_alert",
            format!("A CAP {} message is not an alert; send an Alert, Update or Cancel.", alert.msg_type.as_str()),
        )),
    }
}

async fn create(state: &AppState, user: &StaffUser, alert: &Alert) -> AppResult<(StatusCode, Imported)> {
    let request = request_of(alert)?;
    let req = actions::parse_new(&request, &state.areas.current(), user, state.clock.now())?;
    let now = state.now_ms();
    let new = NewAction {
        kind: req.kind.as_str().into(),
        level: req.level.as_str().into(),
        status: req.status.as_str().into(),
        area: req.area.to_string(),
        content: serde_json::to_string(&req.content).map_err(|e| AppError::Internal(e.to_string()))?,
        consent_by: None,
        consent_at: None,
        created_by: user.id,
        scope: user.scope.code().to_string(),
        now,
    };
    let (id, created) = state.store.insert_cap_draft(&new, &import_of(alert, user, now)).await?;
    if !created {
        let a = actions::visible(state, user, id).await?;
        return Ok((StatusCode::OK, answer(id, &a.state)));
    }
    let details =
        json!({"kind": req.kind.as_str(), "status": req.status.as_str(), "level": req.level.as_str(), "cap_msg_type": "Alert"});
    state.store.audit(now, &user.actor(), "action.import_cap", Some(&format!("action:{id}")), &details).await?;
    Ok((StatusCode::CREATED, answer(id, "draft")))
}

async fn change(state: &AppState, user: &StaffUser, alert: &Alert) -> AppResult<(StatusCode, Imported)> {
    // Only the sender's own earlier alerts: another sender cannot change them.
    let mut target = None;
    for r in alert.references.iter().rev().filter(|r| r.sender == alert.sender) {
        if let Some((id, _)) = state.store.cap_import(&r.sender, &r.identifier).await? {
            target = Some(id);
            break;
        }
    }
    let id = target.ok_or_else(|| {
        AppError::bad_request(
            "unknown_reference",
            format!(
                "This {} refers to no alert of its sender imported here; its 'references' must name one (sender,identifier,sent).",
                alert.msg_type.as_str()
            ),
        )
    })?;
    let a = actions::visible(state, user, id).await?;
    let sent = || {
        AppError::WrongState(format!(
            "Action {id} is {} already; an imported {} never changes a sent action. Change it in the console.",
            a.state,
            alert.msg_type.as_str()
        ))
    };
    if a.state != ActionState::Draft.as_str() {
        return Err(sent());
    }
    let now = state.now_ms();
    let change = if alert.msg_type == MsgType::Update {
        let request = request_of(alert)?;
        let req = actions::parse_new(&request, &state.areas.current(), user, state.clock.now())?;
        Some(DraftChange {
            kind: req.kind.as_str().into(),
            level: req.level.as_str().into(),
            status: req.status.as_str().into(),
            area: req.area.to_string(),
            content: serde_json::to_string(&req.content).map_err(|e| AppError::Internal(e.to_string()))?,
        })
    } else {
        // The domain's lifecycle: a draft cancelled sends nothing.
        buurtnet_domain::action::transition(ActionState::Draft, Step::Cancel).map_err(|e| AppError::WrongState(e.0))?;
        None
    };
    let outcome = state.store.change_cap_draft(id, change.as_ref(), &import_of(alert, user, now)).await?;
    let new_state = if change.is_some() { "draft" } else { "cancelled" };
    match outcome {
        DraftOutcome::Changed => {
            let details = json!({"cap_msg_type": alert.msg_type.as_str()});
            state.store.audit(now, &user.actor(), "action.import_cap", Some(&format!("action:{id}")), &details).await?;
            Ok((StatusCode::OK, answer(id, new_state)))
        }
        DraftOutcome::AlreadyImported => {
            let a = actions::visible(state, user, id).await?;
            Ok((StatusCode::OK, answer(id, &a.state)))
        }
        DraftOutcome::NotDraft => Err(sent()),
    }
}

/// Whether a `Content-Type` is a CAP document's (`application/cap+xml`, leniently any XML).
pub fn is_cap_media_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    matches!(essence.as_str(), "application/cap+xml" | "application/xml" | "text/xml")
}
