//! The dispatcher's pages: the map to draw an area and send an action, and the live page of an
//! action (deliveries per channel and state, tips, update, close). The map's script calls the
//! JSON API (targeting count, create, send) with the session cookie and its CSRF header; these
//! handlers call the same services as the API.

use super::texts::Ct;
use super::{Console, Shell, render_error};
use crate::alerting::actions;
use crate::error::AppError;
use crate::http::RequestId;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use buurtnet_domain::AreaLevel;
use buurtnet_domain::Operation;
use buurtnet_domain::action::{ActionKind, Outcome, Step};
use serde::Deserialize;
use serde_json::{Value, json};

pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
}

fn kinds(t: Ct) -> Vec<Choice> {
    ActionKind::ALL.iter().map(|k| Choice { value: k.as_str(), label: t.get(k.as_str()) }).collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "console/map.html")]
struct MapPage {
    t: Ct,
    shell: Shell,
    kinds: Vec<Choice>,
    tile_url: String,
}

pub async fn map_page(State(state): State<AppState>, c: Console, rid: RequestId) -> Response {
    if let Err(e) = c.user.require(Operation::ManageActions) {
        return render_error(c.t, e, rid.0);
    }
    let tile_url = state.config.console.tile_url.clone().unwrap_or_default();
    (c.jar, MapPage { t: c.t, shell: c.shell, kinds: kinds(c.t), tile_url }).into_response()
}

#[derive(Deserialize)]
pub struct AreasQuery {
    parent: Option<String>,
}

/// `GET /console/kaart/gebieden[?parent=CODE]`: the map's base layer as GeoJSON (simplified
/// outlines): without a parent the municipalities of the caller's scope, with one its districts
/// or neighbourhoods (only within the scope).
pub async fn map_areas(State(state): State<AppState>, c: Console, Query(q): Query<AreasQuery>) -> Result<Json<Value>, AppError> {
    c.user.require(Operation::ManageActions)?;
    let index = state.areas.current();
    let rows = match q.parent.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => state.store.list_areas(Some(AreaLevel::Municipality.as_str()), None).await?,
        Some(parent) => {
            if !c.user.scope.covers(&index.place_of(parent)) {
                return Err(AppError::NotFound("No such area in your scope.".into()));
            }
            state.store.list_areas(None, Some(parent)).await?
        }
    };
    let mut features = Vec::new();
    for a in rows.iter().filter(|a| c.user.scope.covers(&index.place_of(&a.code))).take(2000) {
        let Some(area) = state.store.get_area(&a.code).await? else { continue };
        let geometry: Value = serde_json::from_str(&area.geometry_simplified).unwrap_or(Value::Null);
        features.push(json!({"type": "Feature", "geometry": geometry,
            "properties": {"code": area.code, "name": area.name, "level": area.level, "inhabitants": area.inhabitants}}));
    }
    Ok(Json(json!({"type": "FeatureCollection", "features": features})))
}

pub struct ChannelLine {
    pub channel: String,
    pub states: String,
}

pub struct TipLine {
    pub id: i64,
    pub text: String,
    pub at: String,
    pub photos: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "console/action.html")]
struct ActionPage {
    t: Ct,
    shell: Shell,
    id: i64,
    title: String,
    kind: String,
    state: String,
    status: String,
    outcome: String,
    sent_at: String,
    reminder_due: bool,
    channels: Vec<ChannelLine>,
    messages: usize,
    tips: Vec<TipLine>,
    error: String,
    is_open: bool,
    is_draft: bool,
    preview_sms: String,
    preview_sms_segments: i64,
    preview_voice: String,
    approval: ApprovalLine,
}

/// The draft's two-person approval, as the page shows it.
pub struct ApprovalLine {
    /// The draft waits for a second person (`approval.second_person`).
    pub waiting: bool,
    /// A second person approved it (by this staff id).
    pub approved_by: String,
    /// The viewer may approve it: they did not make it.
    pub may_approve: bool,
    /// The version shown: the approval form sends it back.
    pub version: i64,
}

/// `GET /console/acties/{id}`: the live action page.
pub async fn action_page(State(state): State<AppState>, c: Console, rid: RequestId, Path(id): Path<i64>) -> Response {
    render_action(&state, c, rid, id, String::new()).await
}

async fn render_action(state: &AppState, c: Console, rid: RequestId, id: i64, error: String) -> Response {
    let t = c.t;
    if let Err(e) = c.user.require(Operation::ManageActions) {
        return render_error(t, e, rid.0);
    }
    let v = match actions::view(state, &c.user, id).await {
        Ok(v) => v,
        Err(e) => return render_error(t, e, rid.0),
    };
    let tips = match crate::replies::tips::list(state, &c.user, id).await {
        Ok(v) => v.tips,
        Err(e) => return render_error(t, e, rid.0),
    };
    let channels = v
        .deliveries
        .iter()
        .map(|(ch, states)| ChannelLine {
            channel: ch.clone(),
            states: states.iter().map(|(k, n)| format!("{k}: {n}")).collect::<Vec<_>>().join(", "),
        })
        .collect();
    let tips = tips
        .iter()
        .map(|r| TipLine {
            id: r.id,
            text: r.text.clone(),
            at: super::local_time(r.received_at.as_deref().unwrap_or_default()),
            photos: r.photos.iter().map(|p| p.url.clone()).collect(),
        })
        .collect();
    let state_word = v.state.clone();
    let required = v.approval.second_person_required && state_word == "draft";
    let approved_by = v.approval.approved_by;
    let approval = ApprovalLine {
        waiting: required && approved_by.is_none(),
        approved_by: approved_by.map(|id| id.to_string()).unwrap_or_default(),
        may_approve: required && approved_by.is_none() && v.created_by != c.user.id,
        version: v.version,
    };
    let page = ActionPage {
        t,
        shell: c.shell,
        id,
        title: v.title.clone(),
        kind: v.kind.clone(),
        status: v.status.clone(),
        outcome: v.outcome.clone().unwrap_or_default(),
        sent_at: super::local_time(v.sent_at.as_deref().unwrap_or_default()),
        reminder_due: v.reminder_due,
        channels,
        messages: v.messages.len(),
        tips,
        error,
        is_open: state_word == "active",
        is_draft: state_word == "draft",
        preview_sms: v.preview.nl.sms.text.clone(),
        preview_sms_segments: v.preview.nl.sms.segments as i64,
        preview_voice: v.preview.nl.voice.clone(),
        state: state_word,
        approval,
    };
    (c.jar, page).into_response()
}

#[derive(Deserialize, Default)]
pub struct StepForm {
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    body: String,
}

async fn step_form(state: AppState, c: Console, rid: RequestId, id: i64, step: Step, form: StepForm) -> Response {
    let mut body = json!({});
    if !form.outcome.is_empty() {
        body["outcome"] = json!(form.outcome);
    }
    if !form.body.trim().is_empty() {
        body["body"] = json!(form.body.trim());
    }
    match actions::step(&state, &c.user, id, step, &body).await {
        Ok(_) => Redirect::to(&format!("/console/acties/{id}")).into_response(),
        Err(AppError::Validation(f)) => {
            let error = f.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
            render_action(&state, c, rid, id, error).await
        }
        Err(e) => render_error(c.t, e, rid.0),
    }
}

/// `POST /console/acties/{id}/afsluiten`: close with an outcome (the closing message goes to
/// everyone reached).
pub async fn close(
    State(state): State<AppState>,
    c: Console,
    rid: RequestId,
    Path(id): Path<i64>,
    Form(f): Form<StepForm>,
) -> Response {
    if Outcome::parse(&f.outcome).is_none() {
        let error = format!("outcome: {}", c.t.get("choose_outcome"));
        return render_action(&state, c, rid, id, error).await;
    }
    step_form(state, c, rid, id, Step::Close, f).await
}

/// `POST /console/acties/{id}/bijwerken`: an update to everyone reached.
pub async fn update(
    State(state): State<AppState>,
    c: Console,
    rid: RequestId,
    Path(id): Path<i64>,
    Form(f): Form<StepForm>,
) -> Response {
    step_form(state, c, rid, id, Step::Update, f).await
}

#[derive(Deserialize, Default)]
pub struct ApproveForm {
    /// The version of the draft the page showed.
    #[serde(default)]
    version: String,
}

/// `POST /console/acties/{id}/goedkeuren`: the second person's approval of a draft (as the
/// page showed it). A refusal (own action, changed since, not needed) is said on the page.
pub async fn approve(
    State(state): State<AppState>,
    c: Console,
    rid: RequestId,
    Path(id): Path<i64>,
    Form(f): Form<ApproveForm>,
) -> Response {
    let body = match f.version.trim().parse::<i64>() {
        Ok(v) => json!({"version": v}),
        Err(_) => json!({}),
    };
    match crate::alerting::approval::approve(&state, &c.user, id, &body).await {
        Ok(_) => Redirect::to(&format!("/console/acties/{id}")).into_response(),
        Err(e @ (AppError::Validation(_) | AppError::WrongState(_) | AppError::Forbidden(_))) => {
            let error = match &e {
                AppError::Validation(f) => {
                    f.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
                }
                other => format!("{} ({})", c.t.get("refused"), other.public_message()),
            };
            let status = e.status();
            let mut resp = render_action(&state, c, rid, id, error).await;
            if resp.status().is_success() {
                *resp.status_mut() = status;
            }
            resp
        }
        Err(e) => render_error(c.t, e, rid.0),
    }
}
