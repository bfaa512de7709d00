//! Urgent actions: creating one (checked field by field), taking it through its lifecycle, and
//! what a dispatcher sees of it (the texts per channel with the SMS length, and the deliveries
//! per channel and state).

use super::content;
use super::views::{
    ActionList, ActionMessageView, ActionSummary, ActionView, ConsentView, DeliveryCounts, Preview, TextPreview, add_counts, iso,
};
use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use buurtnet_domain::action::{
    self, ActionKind, ActionState, Level, MessageKind, MessageStatus, Outcome, Step, overrides_quiet_hours, priority,
};
use buurtnet_domain::action_text::{self, ActionContent, Description};
use buurtnet_domain::{ChannelSet, FieldErrors, Language, Topic};
use buurtnet_geo::AreaIndex;
use buurtnet_geo::target_area::{Member, parse_area};
use buurtnet_store::actions::{ActionRow, ActionStep, NewAction, NewMessage};
use buurtnet_targeting::reach::{Plan, Request};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

pub const MAX_TITLE: usize = 120;
pub const MAX_BODY: usize = 1000;

/// A checked request to create an action.
pub struct NewActionRequest {
    pub kind: ActionKind,
    pub level: Level,
    pub status: MessageStatus,
    pub area: Value,
    pub content: ActionContent,
    pub consent: Option<(String, i64)>,
}

/// A text field of a request body: trimmed, non-empty when required, at most `max` characters.
pub fn text_field(body: &Value, field: &str, max: usize, required: bool, errors: &mut FieldErrors) -> Option<String> {
    match body.get(field) {
        None | Some(Value::Null) if !required => None,
        Some(Value::String(s)) if !s.trim().is_empty() => {
            if s.chars().count() > max {
                errors.add(
                    field,
                    "too_long",
                    format!("'{field}' is at most {max} characters (this one has {}).", s.chars().count()),
                );
                None
            } else {
                Some(s.trim().to_string())
            }
        }
        _ => {
            errors.add(field, "missing_text", format!("Give '{field}' as a text (at most {max} characters)."));
            None
        }
    }
}

fn word<T>(
    body: &Value,
    field: &str,
    parse: fn(&str) -> Option<T>,
    choices: String,
    default: Option<T>,
    errors: &mut FieldErrors,
) -> Option<T> {
    match body.get(field) {
        None | Some(Value::Null) if default.is_some() => default,
        Some(Value::String(s)) => {
            let v = parse(s.trim());
            if v.is_none() {
                errors.add(field, "invalid_value", format!("Unknown {field} '{s}': use one of {choices}."));
            }
            v
        }
        _ => {
            errors.add(field, "invalid_value", format!("Give '{field}': one of {choices}."));
            None
        }
    }
}

/// `{"by": "…", "at": RFC 3339?}`: who in the family agreed, and when (default now).
fn parse_consent(v: Option<&Value>, now: i64, errors: &mut FieldErrors) -> Option<(String, i64)> {
    let v = v.filter(|v| !v.is_null())?;
    let by = v.get("by").and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty() && s.chars().count() <= 200);
    let at = match v.get("at") {
        None | Some(Value::Null) => Some(now),
        Some(a) => a.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| t.timestamp_millis()),
    };
    match (by, at) {
        (Some(by), Some(at)) if at <= now + 60_000 => Some((by.to_string(), at)),
        (None, _) => {
            errors.add(
                "consent.by",
                "missing_consent_by",
                "Say who in the family gave consent (a name or relation, at most 200 characters).",
            );
            None
        }
        _ => {
            errors.add("consent.at", "invalid_time", "Give when consent was given as an RFC 3339 time, not in the future.");
            None
        }
    }
}

/// Parses and checks a new action; the area is checked against the caller's scope.
pub fn parse_new(body: &Value, index: &AreaIndex, user: &StaffUser, at: DateTime<Utc>) -> Result<NewActionRequest, FieldErrors> {
    let now = at.timestamp_millis();
    let mut errors = FieldErrors::new();
    if !body.is_object() {
        errors.add("", "invalid_body", "Send a JSON object.");
        return Err(errors);
    }
    let kind = word(body, "kind", ActionKind::parse, ActionKind::choices(), None, &mut errors);
    let level = word(body, "level", Level::parse, Level::choices(), Some(Level::Local), &mut errors);
    let status = word(body, "status", MessageStatus::parse, MessageStatus::choices(), None, &mut errors);
    let title = text_field(body, "title", MAX_TITLE, true, &mut errors);
    let text = text_field(body, "body", MAX_BODY, true, &mut errors);
    let title_en = text_field(body, "title_en", MAX_TITLE, false, &mut errors);
    let body_en = text_field(body, "body_en", MAX_BODY, false, &mut errors);
    let callback_phone = text_field(body, "callback_phone", 20, false, &mut errors);
    if let Some(p) = &callback_phone
        && !p.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
    {
        errors.add("callback_phone", "invalid_phone", "The call-back number may hold digits, spaces, +, - and brackets only.");
    }
    let description: Description = match body.get("description") {
        None | Some(Value::Null) => Description::default(),
        Some(d) => match serde_json::from_value(d.clone()) {
            Ok(d) => d,
            Err(e) => {
                errors.add("description", "invalid_description", format!("The description is not understood: {e}."));
                Description::default()
            }
        },
    };
    for (field, value) in description_texts(&description) {
        if value.chars().count() > 200 {
            errors.add(format!("description.{field}"), "too_long", "At most 200 characters.");
        }
    }
    if let Some(sex) = description.person.as_ref().and_then(|p| p.sex.as_deref())
        && !["male", "female", "unknown"].contains(&sex)
    {
        errors.add("description.person.sex", "invalid_value", "Use male, female or unknown.");
    }
    let consent = parse_consent(body.get("consent"), now, &mut errors);
    // A national action (AMBER Alert) is for the whole country, and only for national staff.
    let area = match (level, body.get("area")) {
        (Some(Level::National), _) => {
            if !user.scope.is_national() {
                errors.add("level", "outside_scope", "Only staff with a national scope can send a national (AMBER) alert.");
            }
            Some(json!({"areas": ["NL"]}))
        }
        (_, Some(a)) => match parse_area(a, index) {
            Ok(parsed) => {
                check_scope(index, parsed, user, at, &mut errors);
                Some(a.clone())
            }
            Err(e) => {
                errors.extend(e);
                None
            }
        },
        (_, None) => {
            errors.add("area", "missing_area", "Give the area: a circle, polygon, area codes or a union.");
            None
        }
    };
    match (kind, level, status, title, text, area) {
        (Some(kind), Some(level), Some(status), Some(title), Some(text), Some(area)) if errors.is_empty() => {
            let content = ActionContent { title, body: text, title_en, body_en, description, callback_phone };
            let render = |lang| action_text::render(kind, status, MessageKind::Start, None, &content, None, lang);
            check_lengths(&[&render(Language::Nl), &render(Language::En)], true, "body", &mut errors);
            if !errors.is_empty() {
                return Err(errors);
            }
            Ok(NewActionRequest { kind, level, status, area, content, consent })
        }
        _ => Err(errors),
    }
}

fn description_texts(d: &Description) -> Vec<(&'static str, &str)> {
    let mut out = Vec::new();
    if let Some(p) = &d.person {
        for (k, v) in
            [("person.build", &p.build), ("person.hair", &p.hair), ("person.clothing", &p.clothing), ("person.sex", &p.sex)]
        {
            if let Some(v) = v {
                out.push((k, v.as_str()));
            }
        }
    }
    if let Some(v) = &d.vehicle {
        for (k, x) in
            [("vehicle.make", &v.make), ("vehicle.model", &v.model), ("vehicle.colour", &v.colour), ("vehicle.plate", &v.plate)]
        {
            if let Some(x) = x {
                out.push((k, x.as_str()));
            }
        }
    }
    if let Some(dir) = &d.direction {
        out.push(("direction", dir.as_str()));
    }
    out
}

/// The area must lie (at least partly) within the caller's scope, as for counting.
fn check_scope(
    index: &AreaIndex,
    area: buurtnet_geo::target_area::TargetArea,
    user: &StaffUser,
    at: DateTime<Utc>,
    errors: &mut FieldErrors,
) {
    for (i, m) in area.members.iter().enumerate() {
        if let Member::Code { code, .. } = m
            && !user.scope.covers(&index.place_of(code))
        {
            errors.add(
                "area",
                "outside_scope",
                format!("{code} (part {}) is outside your scope ({}).", i + 1, user.scope.code()),
            );
            return;
        }
    }
    let plan = Plan::new(Request { area, topic: Topic::Urgent, at, override_time_windows: true }, user.scope.clone(), index);
    if plan.wholly_outside_scope() {
        errors.add("area", "outside_scope", format!("This area lies wholly outside your scope ({}).", user.scope.code()));
    }
}

pub async fn create(state: &AppState, user: &StaffUser, req: NewActionRequest) -> AppResult<i64> {
    let now = state.now_ms();
    let id = state
        .store
        .insert_action(&NewAction {
            kind: req.kind.as_str().into(),
            level: req.level.as_str().into(),
            status: req.status.as_str().into(),
            area: req.area.to_string(),
            content: serde_json::to_string(&req.content).map_err(|e| AppError::Internal(e.to_string()))?,
            consent_by: req.consent.as_ref().map(|c| c.0.clone()),
            consent_at: req.consent.as_ref().map(|c| c.1),
            created_by: user.id,
            scope: user.scope.code().to_string(),
            now,
        })
        .await?;
    state
        .store
        .audit(
            now,
            &user.actor(),
            "action.create",
            Some(&format!("action:{id}")),
            &json!({"kind": req.kind.as_str(), "status": req.status.as_str(), "level": req.level.as_str()}),
        )
        .await?;
    Ok(id)
}

/// An action the caller may see (their own scope's, or any for national staff), else 404.
pub async fn visible(state: &AppState, user: &StaffUser, id: i64) -> AppResult<ActionRow> {
    let a = state.store.action(id).await?.ok_or_else(|| AppError::NotFound(format!("There is no action {id}.")))?;
    if !user.scope.sees_record_of(&a.scope) {
        return Err(AppError::NotFound(format!("There is no action {id}.")));
    }
    Ok(a)
}

struct Parsed {
    kind: ActionKind,
    level: Level,
    status: MessageStatus,
    state: ActionState,
    content: ActionContent,
}

fn parsed(a: &ActionRow) -> AppResult<Parsed> {
    let bad = || AppError::Internal(format!("action {} has unreadable stored fields", a.id));
    Ok(Parsed {
        kind: ActionKind::parse(&a.kind).ok_or_else(bad)?,
        level: Level::parse(&a.level).ok_or_else(bad)?,
        status: MessageStatus::parse(&a.status).ok_or_else(bad)?,
        state: ActionState::parse(&a.state).ok_or_else(bad)?,
        content: serde_json::from_str(&a.content).map_err(|_| bad())?,
    })
}

/// How long a message is worth delivering: starts and updates for hours, the closing message
/// for a day (people want to know how it ended).
fn valid_until(state: &AppState, kind: MessageKind, now: i64) -> i64 {
    let minutes = match kind {
        MessageKind::Close | MessageKind::Cancel => state.config.alerting.closing_validity_minutes,
        _ => state.config.alerting.validity_minutes,
    };
    now + i64::from(minutes) * 60_000
}

/// The texts of one message of an action, in both languages.
fn texts(
    p: &Parsed,
    kind: MessageKind,
    outcome: Option<Outcome>,
    extra: Option<&str>,
) -> (action_text::Texts, action_text::Texts) {
    let r = |lang| action_text::render(p.kind, p.status, kind, outcome, &p.content, extra, lang);
    (r(Language::Nl), r(Language::En))
}

/// Takes a lifecycle step (`send`, `update`, `close`, `cancel`) with its body.
pub async fn step(state: &AppState, user: &StaffUser, id: i64, step: Step, body: &Value) -> AppResult<StepAnswer> {
    let a = visible(state, user, id).await?;
    let p = parsed(&a)?;
    let (to_state, message_kind) =
        action::transition(p.state, step).map_err(|e| AppError::invalid("state", "not_allowed", e.0))?;
    // Two-person approval (`approval.second_person`): no send without the second person.
    let needs_approval = step == Step::Send && super::approval::needed(state, &a);
    if needs_approval && a.approved_by.is_none() {
        return Err(super::approval::send_refusal(&a));
    }
    let mut errors = FieldErrors::new();
    let now = state.now_ms();
    let mut consent = (a.consent_by.clone(), a.consent_at);
    let (outcome, extra) = match step {
        Step::Send => {
            if let Some((by, at)) = parse_consent(body.get("consent"), now, &mut errors) {
                consent = (Some(by), Some(at));
            }
            if p.kind.needs_family_consent() && consent.0.is_none() {
                errors.add(
                    "consent",
                    "missing_consent",
                    "A missing person or runaway child is never sent without the family's consent: record who gave it (consent.by).",
                );
            }
            (None, None)
        }
        Step::Update => (None, text_field(body, "body", MAX_BODY, true, &mut errors)),
        Step::Close => {
            let o = word(body, "outcome", Outcome::parse, Outcome::choices(), None, &mut errors);
            (o, text_field(body, "body", MAX_BODY, false, &mut errors))
        }
        Step::Cancel => (None, text_field(body, "body", MAX_BODY, false, &mut errors)),
    };
    if let Some(kind) = message_kind {
        let (nl, en) = texts(&p, kind, outcome, extra.as_deref());
        check_lengths(&[&nl, &en], true, "body", &mut errors);
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if step == Step::Send && consent.0 != a.consent_by {
        state.store.record_action_consent(id, consent.0.as_deref(), consent.1, now).await?;
    }
    let photos = photo_urls(state, id).await?;
    let message = message_kind.map(|kind| {
        let (nl, en) = texts(&p, kind, outcome, extra.as_deref());
        let mut push = Map::new();
        push.insert("action_id".into(), id.into());
        push.insert("kind".into(), p.kind.as_str().into());
        push.insert("level".into(), p.level.as_str().into());
        push.insert("status".into(), p.status.as_str().into());
        NewMessage {
            action_id: Some(id),
            kind: kind.as_str().into(),
            status: p.status.as_str().into(),
            priority: priority(Some(p.kind), Some(p.level), p.status),
            override_quiet: overrides_quiet_hours(p.kind, p.level, p.status),
            channels: ChannelSet::from_iter(buurtnet_domain::Channel::ALL).bits(),
            topic: Topic::Urgent.as_str().into(),
            area: (kind == MessageKind::Start).then(|| a.area.clone()),
            scope: a.scope.clone(),
            content: content::stored(&nl, &en, &format!("action-{id}"), true, push, &photos, kind == MessageKind::Start),
            created_by: user.id,
            send_at: now,
            valid_until: valid_until(state, kind, now),
        }
    });
    let written = state
        .store
        .step_action(&ActionStep {
            action_id: id,
            from_state: p.state.as_str().into(),
            to_state: to_state.as_str().into(),
            outcome: outcome.map(|o| o.as_str().to_string()),
            message,
            expire_pending: matches!(step, Step::Close | Step::Cancel),
            needs_approval,
            now,
        })
        .await?;
    let Some(message_id) = written else {
        if needs_approval && state.store.action(id).await?.is_some_and(|a| a.approved_by.is_none()) {
            // The draft changed (a photo added) and its approval lapsed meanwhile.
            return Err(super::approval::send_refusal(&a));
        }
        return Err(AppError::Conflict("This action was changed at the same moment by someone else; reload it.".into()));
    };
    state.engine.wake_fanout.notify_waiters();
    // The step is committed: nothing below may turn it into an error (a client retrying with
    // its Idempotency-Key would send again).
    let details = json!({"message_id": message_id, "outcome": outcome.map(|o| o.as_str()), "consent_recorded_at": consent.1});
    if let Err(e) =
        state.store.audit(now, &user.actor(), &format!("action.{}", step.as_str()), Some(&format!("action:{id}")), &details).await
    {
        tracing::error!(action.id = id, error = %e, "writing the audit entry of an action step failed");
    }
    Ok(match view(state, user, id).await {
        Ok(v) => StepAnswer::Action(Box::new(ActionView { message_id: Some(message_id), ..v })),
        Err(e) => {
            tracing::error!(action.id = id, error = %e, "reading an action after its step failed");
            StepAnswer::Written(StepWritten { id, state: to_state.as_str().to_string(), message_id })
        }
    })
}

/// The answer of a lifecycle step: the action with the message it wrote, or (when reading it
/// back failed after the step was committed) its id, new state and message.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum StepAnswer {
    Action(Box<ActionView>),
    Written(StepWritten),
}

/// What a step wrote, when the action could not be read back.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepWritten {
    pub id: i64,
    pub state: String,
    pub message_id: Option<i64>,
}

impl StepAnswer {
    /// The message the step wrote.
    pub fn message_id(&self) -> Option<i64> {
        match self {
            StepAnswer::Action(a) => a.message_id.flatten(),
            StepAnswer::Written(w) => w.message_id,
        }
    }
}

/// Push payloads above this many bytes of title and text are refused before sending (the
/// encrypted record holds at most 3,993 bytes, with room left for the other fields).
const MAX_PUSH_TEXT_BYTES: usize = 3_000;

/// Every text must fit every channel it may go on, whole: an SMS is never cut (at most 8
/// parts), a call reads the whole text (at most 750 characters), a push holds it all. A text
/// that does not fit is refused before anything is sent, naming the channel.
pub fn check_lengths(texts: &[&action_text::Texts], sms_and_voice: bool, field: &str, errors: &mut FieldErrors) {
    for t in texts {
        if sms_and_voice {
            let max = buurtnet_delivery::sms_http::MAX_PARTS;
            let m = buurtnet_domain::sms_text::measure(&t.sms);
            if m.segments > max {
                errors.add(
                    field,
                    "sms_too_long",
                    format!(
                        "As an SMS this text needs {} parts; at most {max} are sent, and an SMS is never cut. Shorten it.",
                        m.segments
                    ),
                );
                return;
            }
            let max = buurtnet_delivery::voice_http::MAX_PROMPT_CHARS;
            let n = t.voice.chars().count();
            if n > max {
                errors.add(
                    field,
                    "voice_too_long",
                    format!("Read out by phone this text has {n} characters; a call reads at most {max}. Shorten it."),
                );
                return;
            }
        }
        if t.title.len() + t.text.len() > MAX_PUSH_TEXT_BYTES {
            errors.add(field, "push_too_long", format!("Title and text together are over {MAX_PUSH_TEXT_BYTES} bytes, more than a push notification holds. Shorten them."));
            return;
        }
    }
}

/// What the dispatcher sees of an action: its fields, the texts per channel (with the SMS
/// length before sending), its messages and their deliveries per channel and state.
pub async fn view(state: &AppState, user: &StaffUser, id: i64) -> AppResult<ActionView> {
    let a = visible(state, user, id).await?;
    let p = parsed(&a)?;
    let (nl, en) = texts(&p, MessageKind::Start, None, None);
    let mut messages = Vec::new();
    let mut totals = DeliveryCounts::new();
    for m in state.store.action_messages(id).await? {
        let counts = state.store.delivery_counts(m.id).await?;
        let mut by_channel = DeliveryCounts::new();
        add_counts(&mut by_channel, &counts);
        add_counts(&mut totals, &counts);
        messages.push(ActionMessageView {
            id: m.id,
            kind: m.kind,
            created_at: iso(m.created_at),
            fanout: m.fanout_state,
            recipients: m.recipients,
            deliveries: by_channel,
        });
    }
    let reminder_due = a.state == "active"
        && a.sent_at.is_some_and(|s| state.now_ms() - s > i64::from(state.config.alerting.reminder_minutes) * 60_000);
    Ok(ActionView {
        id: a.id,
        kind: a.kind.clone(),
        level: a.level.clone(),
        status: a.status.clone(),
        state: a.state.clone(),
        outcome: a.outcome.clone(),
        area: serde_json::from_str::<Value>(&a.area).unwrap_or(Value::Null),
        title: p.content.title,
        body: p.content.body,
        title_en: p.content.title_en,
        body_en: p.content.body_en,
        description: p.content.description,
        callback_phone: p.content.callback_phone,
        photos: photo_urls(state, id).await?,
        consent: a.consent_by.as_ref().map(|by| ConsentView { by: by.clone(), at: a.consent_at.and_then(iso) }),
        created_at: iso(a.created_at),
        sent_at: a.sent_at.and_then(iso),
        closed_at: a.closed_at.and_then(iso),
        reminder_due,
        created_by: a.created_by,
        version: a.version,
        approval: super::approval::describe(state, &a),
        preview: Preview { nl: TextPreview::of(&nl), en: TextPreview::of(&en) },
        messages,
        deliveries: totals,
        message_id: None,
    })
}

/// The public URLs of an action's photos.
pub async fn photo_urls(state: &AppState, action_id: i64) -> AppResult<Vec<String>> {
    let base = state.config.public_url();
    Ok(state.store.action_photos(action_id).await?.into_iter().map(|p| format!("{base}/media/{}.jpg", p.id)).collect())
}

pub fn millis(ms: i64) -> Value {
    DateTime::<Utc>::from_timestamp_millis(ms).map(|t| json!(t.to_rfc3339())).unwrap_or(Value::Null)
}

/// Actions the caller may see; `state` `open` (draft or active), or one state.
pub async fn list(state: &AppState, user: &StaffUser, wanted: Option<&str>) -> AppResult<ActionList> {
    if let Some(w) = wanted
        && w != "open"
        && ActionState::parse(w).is_none()
    {
        return Err(AppError::invalid(
            "state",
            "invalid_value",
            format!("Unknown state '{w}': use open, {}.", ActionState::choices()),
        ));
    }
    let scope = (!user.scope.is_national()).then(|| user.scope.code());
    let rows = state.store.actions(wanted, scope, 200).await?;
    let now = state.now_ms();
    let reminder_ms = i64::from(state.config.alerting.reminder_minutes) * 60_000;
    let actions = rows
        .iter()
        .map(|a| ActionSummary {
            id: a.id,
            kind: a.kind.clone(),
            level: a.level.clone(),
            status: a.status.clone(),
            state: a.state.clone(),
            title: serde_json::from_str::<ActionContent>(&a.content).map(|c| c.title).unwrap_or_default(),
            created_at: iso(a.created_at),
            sent_at: a.sent_at.and_then(iso),
            reminder_due: a.state == "active" && a.sent_at.is_some_and(|s| now - s > reminder_ms),
        })
        .collect();
    Ok(ActionList { actions })
}
