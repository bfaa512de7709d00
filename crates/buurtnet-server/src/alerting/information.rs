//! Information messages from a municipality to its participants (prevention tips, road
//! closures, the newsletter): now or at a set time, by e-mail and push only, never during
//! quiet hours, at the lowest priority. The same engine as actions delivers them.

use super::actions::{MAX_BODY, MAX_TITLE, millis, text_field};
use super::content;
use super::views::{ApprovalView, DeliveryCounts, MessageView, add_counts, iso};
use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use buurtnet_domain::action::{MessageKind, MessageStatus, priority};
use buurtnet_domain::action_text::render_information;
use buurtnet_domain::{Channel, ChannelSet, FieldErrors, Language, Topic};
use buurtnet_geo::target_area::{Member, parse_area};
use buurtnet_store::actions::{MessageRow, NewMessage};
use buurtnet_targeting::reach::{Plan, Request};
use chrono::DateTime;
use serde_json::{Map, Value, json};

/// How far ahead a message may be planned.
const MAX_AHEAD_MS: i64 = 90 * 24 * 3600 * 1000;

/// `POST /api/v1/messages`: checks and stores the message; its fan-out starts at `send_at`.
pub async fn create(state: &AppState, user: &StaffUser, body: &Value) -> AppResult<MessageView> {
    let index = state.areas.current();
    let now = state.clock.now();
    let now_ms = now.timestamp_millis();
    let mut errors = FieldErrors::new();
    let title = text_field(body, "title", MAX_TITLE, true, &mut errors);
    let text_nl = text_field(body, "body", MAX_BODY, true, &mut errors);
    let title_en = text_field(body, "title_en", MAX_TITLE, false, &mut errors);
    let body_en = text_field(body, "body_en", MAX_BODY, false, &mut errors);
    let status = match body.get("status") {
        None | Some(Value::Null) => Some(MessageStatus::Actual),
        Some(v) => {
            let s = v.as_str().and_then(MessageStatus::parse);
            if s.is_none() {
                errors.add("status", "invalid_value", format!("Use one of {}.", MessageStatus::choices()));
            }
            s
        }
    };
    let send_at = match body.get("send_at") {
        None | Some(Value::Null) => Some(now_ms),
        Some(v) => match v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| t.timestamp_millis()) {
            Some(t) if t < now_ms - 60_000 => {
                errors.add("send_at", "in_the_past", "The send time has passed; leave it out to send now.");
                None
            }
            Some(t) if t > now_ms + MAX_AHEAD_MS => {
                errors.add("send_at", "too_far_ahead", "Plan a message at most 90 days ahead.");
                None
            }
            Some(t) => Some(t.max(now_ms)),
            None => {
                errors.add("send_at", "invalid_time", "Give 'send_at' as an RFC 3339 time, e.g. 2026-12-01T09:00:00+01:00.");
                None
            }
        },
    };
    let area = match body.get("area") {
        Some(a) => match parse_area(a, &index) {
            Ok(parsed) => {
                let outside = parsed
                    .members
                    .iter()
                    .any(|m| matches!(m, Member::Code { code, .. } if !user.scope.covers(&index.place_of(code))));
                let plan = Plan::new(
                    Request { area: parsed, topic: Topic::Information, at: now, override_time_windows: false },
                    user.scope.clone(),
                    &index,
                );
                if outside || plan.wholly_outside_scope() {
                    errors.add("area", "outside_scope", format!("This area lies outside your scope ({}).", user.scope.code()));
                }
                Some(a.clone())
            }
            Err(e) => {
                errors.extend(e);
                None
            }
        },
        None => {
            errors.add("area", "missing_area", "Give the area: your municipality's code, districts, a circle or a polygon.");
            None
        }
    };
    let (Some(title), Some(text_nl), Some(status), Some(send_at), Some(area)) = (title, text_nl, status, send_at, area) else {
        return Err(AppError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let nl = render_information(status, &title, &text_nl, Language::Nl);
    let en =
        render_information(status, title_en.as_deref().unwrap_or(&title), body_en.as_deref().unwrap_or(&text_nl), Language::En);
    let id_hint = format!("info-{}", crate::secrets::random_hex(4));
    let channels: ChannelSet = [Channel::Push, Channel::Email].into_iter().collect();
    let message = NewMessage {
        action_id: None,
        kind: MessageKind::Information.as_str().into(),
        status: status.as_str().into(),
        priority: priority(None, None, status),
        override_quiet: false,
        channels: channels.bits(),
        topic: Topic::Information.as_str().into(),
        area: Some(area.to_string()),
        scope: user.scope.code().to_string(),
        content: content::stored(&nl, &en, &id_hint, false, Map::new(), &[], false),
        created_by: user.id,
        send_at,
        valid_until: send_at + i64::from(state.config.alerting.information_validity_minutes) * 60_000,
    };
    // A municipality in `approval.information_municipalities`: held for a second officer.
    let held = state.config.approval.information_needs_second_person(&user.scope);
    let id = if held {
        state.store.insert_held_message(&message, now_ms).await?
    } else {
        let id = state.store.insert_message(&message, now_ms).await?;
        state.engine.wake_fanout.notify_waiters();
        id
    };
    state
        .store
        .audit(
            now_ms,
            &user.actor(),
            "message.create",
            Some(&format!("message:{id}")),
            &json!({"send_at": millis(send_at), "held_for_approval": held}),
        )
        .await?;
    view(state, user, id).await
}

/// An information message the caller may see (their own scope's, or any for national staff),
/// else 404.
pub async fn visible(state: &AppState, user: &StaffUser, id: i64) -> AppResult<MessageRow> {
    let not_found = || AppError::NotFound(format!("There is no message {id}."));
    let m = state.store.message(id).await?.ok_or_else(not_found)?;
    // A resident's emergency alert (and its cancellation) is between residents: never shown.
    let between_residents = MessageKind::parse(&m.kind).is_some_and(MessageKind::is_between_residents);
    if m.action_id.is_some() || between_residents || !user.scope.sees_record_of(&m.scope) {
        return Err(not_found());
    }
    Ok(m)
}

/// `GET /api/v1/messages/{id}`: an information message with its deliveries per channel and state.
pub async fn view(state: &AppState, user: &StaffUser, id: i64) -> AppResult<MessageView> {
    let m = visible(state, user, id).await?;
    let mut deliveries = DeliveryCounts::new();
    add_counts(&mut deliveries, &state.store.delivery_counts(id).await?);
    let content: Value = serde_json::from_str(&m.content).unwrap_or(Value::Null);
    let text = |lang: &str, key: &str| content[lang][key].as_str().map(str::to_string);
    Ok(MessageView {
        id: m.id,
        status: m.status.clone(),
        title: text("nl", "title"),
        body: text("nl", "text"),
        title_en: text("en", "title"),
        body_en: text("en", "text"),
        area: m.area.as_deref().and_then(|a| serde_json::from_str::<Value>(a).ok()),
        send_at: iso(m.send_at),
        fanout: m.fanout_state.clone(),
        approval: ApprovalView {
            second_person_required: m.fanout_state == "held" || m.approved_by.is_some(),
            approved_by: m.approved_by,
            approved_at: m.approved_at.and_then(iso),
        },
        recipients: m.recipients,
        deliveries,
    })
}
