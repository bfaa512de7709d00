//! The resident web app's JSON endpoints. Every one of them is behind the abuse limits (per
//! client address, counted in the database before any link or token is looked up); none tells
//! whether an e-mail address or phone number is registered (they take none).

use super::{links, views};
use crate::abuse::{self, ClientIp};
use crate::alerting::views::iso;
use crate::error::{AppError, AppResult};
use crate::http::api_devices::authorised_device;
use crate::replies::model::{self as replies, LinkProblem, SubmitError};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use buurtnet_domain::action::ActionKind;
use buurtnet_domain::action_text::ActionContent;
use buurtnet_domain::{Language, NL_BOUNDS};
use buurtnet_geo::target_area::{Member, Shape, parse_area};
use buurtnet_store::DeviceRecord;
use buurtnet_store::actions::ActionRow;
use serde_json::{Value, json};

/// A tip's whole form: five photos of 10 MB and the text.
pub const MAX_TIP_BYTES: usize = 5 * crate::media::MAX_UPLOAD_BYTES + 64 * 1024;

async fn limit_app(state: &AppState, client: &ClientIp) -> AppResult<()> {
    abuse::check(state, "app", &state.config.abuse_limits.app, client, &[]).await
}

/// `GET /api/v1/app/config`: what the page needs to subscribe and to compute its coarse cell
/// in the browser (the bounds and level of the grid), so that no position is ever sent.
#[utoipa::path(get, path = "/app/config", tag = "app",
    summary = "What the resident app needs: the VAPID public key and the coarse grid it computes its 'where I am' cell on in the browser (no position is ever sent)",
    responses((status = 200, description = "The settings", body = views::AppConfig)))]
pub async fn config(State(state): State<AppState>) -> Json<views::AppConfig> {
    Json(views::AppConfig {
        vapid_public_key: state.push.public_key(),
        grid: views::Grid {
            min_lat: NL_BOUNDS.min_lat,
            max_lat: NL_BOUNDS.max_lat,
            min_lon: NL_BOUNDS.min_lon,
            max_lon: NL_BOUNDS.max_lon,
            coarse_level: buurtnet_domain::cell::COARSE_LEVEL,
        },
        coarse_valid_hours: crate::http::api_devices::COARSE_VALID_MS / 3_600_000,
    })
}

/// How an action looks on the phone: `amber` and `alarm` stand out; `exercise` and `test` are
/// marked as such whatever their kind.
fn severity(a: &ActionRow) -> &'static str {
    let kind = ActionKind::parse(&a.kind);
    match a.status.as_str() {
        "exercise" => "exercise",
        "test" => "test",
        _ if matches!(kind, Some(ActionKind::MissingPerson | ActionKind::RunawayChild)) && a.level == "national" => "amber",
        _ if kind.is_some_and(ActionKind::is_alarm) => "alarm",
        _ => "search",
    }
}

fn content(a: &ActionRow) -> AppResult<ActionContent> {
    serde_json::from_str(&a.content).map_err(|_| AppError::Internal(format!("action {} has unreadable content", a.id)))
}

/// How far back the recent actions of a place go.
const RECENT_MS: i64 = 7 * 86_400_000;

/// Whether a device's own place (one of its points, or its still valid coarse cell) overlaps an
/// area. A device linked to an account has no place of its own: its deliveries say what reached
/// it.
async fn place_overlaps(state: &AppState, d: &DeviceRecord, area_json: &str) -> AppResult<bool> {
    let index = state.areas.current();
    let Some(v) = serde_json::from_str::<Value>(area_json).ok() else { return Ok(false) };
    let Ok(area) = parse_area(&v, &index) else { return Ok(false) };
    Ok(match (d.lat, d.lon, d.coarse_cell) {
        (Some(lat), Some(lon), _) => {
            crate::alerting::live::area_holds(&area, lat, lon)
                || state
                    .store
                    .device_places(d.id)
                    .await?
                    .iter()
                    .any(|(lat, lon)| crate::alerting::live::area_holds(&area, *lat, *lon))
        }
        (_, _, Some(cell)) if d.coarse_until.is_some_and(|u| u > state.now_ms()) => {
            buurtnet_targeting::reach::area_coarse_cells(area).is_none_or(|cells| cells.contains(&cell))
        }
        _ => false,
    })
}

fn summary(a: &ActionRow, c: &ActionContent, page: String) -> views::AppActionSummary {
    views::AppActionSummary {
        id: a.id,
        kind: a.kind.clone(),
        status: a.status.clone(),
        state: a.state.clone(),
        severity: severity(a),
        title: views::Both { nl: c.title.clone(), en: c.title_en.clone().unwrap_or_else(|| c.title.clone()) },
        sent_at: a.sent_at.and_then(iso),
        closed_at: a.closed_at.and_then(iso),
        page,
    }
}

/// The recent actions of a device, newest first, each with its own page link: those whose
/// messages reached it, and (for devices that follow the live feed only, or moved) the actions
/// of the last seven days whose area overlaps its place. Tests are never shown.
async fn recent_for(state: &AppState, device: &DeviceRecord) -> AppResult<Vec<views::AppActionSummary>> {
    let mut out: Vec<(i64, views::AppActionSummary)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (action_id, delivery_id) in state.store.device_actions(device.id, 20).await? {
        let Some(a) = state.store.action(action_id).await? else { continue };
        seen.insert(a.id);
        let page = format!("/app/actie/{}", links::page_token(state, delivery_id));
        out.push((a.sent_at.unwrap_or(a.created_at), summary(&a, &content(&a)?, page)));
    }
    let since = state.now_ms() - RECENT_MS;
    for a in state.store.actions(None, None, 200).await? {
        let sent = a.sent_at.unwrap_or(0);
        if seen.contains(&a.id) || sent < since || a.status == "test" || !(a.state == "active" || a.state == "closed") {
            continue;
        }
        if place_overlaps(state, device, &a.area).await? {
            let page = format!("/app/actie/{}", links::action_token(state, a.id));
            out.push((sent, summary(&a, &content(&a)?, page)));
        }
    }
    out.sort_by_key(|x| std::cmp::Reverse(x.0));
    Ok(out.into_iter().map(|(_, v)| v).take(20).collect())
}

/// `GET /api/v1/app/devices/{id}/actions` (`Authorization: Bearer <device token>`): the
/// device's recent actions (see [`recent_for`]).
#[utoipa::path(get, path = "/app/devices/{id}/actions", tag = "app", params(("id" = String, Path, description = "The device's id")),
    summary = "The device's recent actions, each with its page link (Authorization: Bearer <device token>)",
    responses((status = 200, description = "The actions", body = views::RecentActions), (status = 404, description = "No such device, or not its token")))]
pub async fn device_actions(
    State(state): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Json<views::RecentActions>> {
    limit_app(&state, &client).await?;
    let device = authorised_device(&state, &id, &headers).await?;
    Ok(Json(views::RecentActions { actions: recent_for(&state, &device).await? }))
}

/// `GET /api/v1/app/devices/{id}` (`Authorization: Bearer <device token>`): everything stored
/// about this device, as a download (GDPR article 15/20): its settings and place and the
/// actions that reached it. The push keys are not shown (they are the browser's).
#[utoipa::path(get, path = "/app/devices/{id}", tag = "app", params(("id" = String, Path, description = "The device's id")),
    summary = "Everything stored about this device, as a download (Authorization: Bearer <device token>)",
    responses((status = 200, description = "The device's settings, places and the actions that reached it", body = views::DeviceExport),
        (status = 404, description = "No such device, or not its token")))]
pub async fn export_device(
    State(state): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Json<views::DeviceExport>> {
    limit_app(&state, &client).await?;
    let device = authorised_device(&state, &id, &headers).await?;
    let v = crate::http::api_devices::view_full(&state, &device).await?;
    Ok(Json(views::DeviceExport { device: v, actions: recent_for(&state, &device).await? }))
}

/// `GET /api/v1/app/devices/{id}/open/{action}` (`Authorization: Bearer <device token>`): the
/// page link of an action the open page heard of on the live feed, if it concerns this device
/// (a delivery reached it, or the area overlaps its place); otherwise 404.
#[utoipa::path(get, path = "/app/devices/{id}/open/{action}", tag = "app",
    params(("id" = String, Path, description = "The device's id"), ("action" = String, Path, description = "The action's id")),
    summary = "The page link of an action the open page heard of on the live feed, if it concerns this device (Authorization: Bearer <device token>)",
    responses((status = 200, description = "The link", body = views::PageLink), (status = 404, description = "Not this device's action")))]
pub async fn open_action(
    State(state): State<AppState>,
    client: ClientIp,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
) -> AppResult<Json<views::PageLink>> {
    limit_app(&state, &client).await?;
    let device = authorised_device(&state, &id, &headers).await?;
    let not_found = || AppError::NotFound("This action does not concern this device.".into());
    let action_id: i64 = action.parse().map_err(|_| not_found())?;
    let a = state.store.action(action_id).await?.ok_or_else(not_found)?;
    if a.status == "test" || !(a.state == "active" || a.state == "closed") {
        return Err(not_found());
    }
    if let Some((_, delivery)) = state.store.device_actions(device.id, 50).await?.into_iter().find(|(x, _)| *x == a.id) {
        return Ok(Json(views::PageLink { page: format!("/app/actie/{}", links::page_token(&state, delivery)) }));
    }
    if !place_overlaps(&state, &device, &a.area).await? {
        return Err(not_found());
    }
    Ok(Json(views::PageLink { page: format!("/app/actie/{}", links::action_token(&state, a.id)) }))
}

/// `POST /api/v1/app/devices/{id}/link` (`Authorization: Bearer <device token>`, body
/// `{"token": "<self-service token>"}` from a sign-in link): the device now gets what the
/// participant's addresses get. A link links one device (then 422 `link_invalid`); the
/// participant is told by e-mail or SMS and sees the device on their own page. 200 with the
/// device.
#[utoipa::path(post, path = "/app/devices/{id}/link", tag = "app", params(("id" = String, Path, description = "The device's id")),
    summary = "Link this device to a participant's account with the token of a sign-in link (Authorization: Bearer <device token>)",
    request_body = crate::http::requests::TokenBody,
    responses((status = 200, description = "The device, now linked", body = crate::http::api_devices::DeviceView),
        (status = 404, description = "No such device, or not its token"), (status = 422, description = "The link is not valid")))]
pub async fn link_device(
    State(state): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
    crate::http::extract::JsonBody(body): crate::http::extract::JsonBody,
) -> AppResult<Json<crate::http::api_devices::DeviceView>> {
    abuse::check(&state, "register_device", &state.config.abuse_limits.register_device, &client, &[]).await?;
    let device = authorised_device(&state, &id, &headers).await?;
    let token = body.get("token").and_then(Value::as_str).unwrap_or_default();
    crate::services::linked_devices::link(&state, &device, token).await?;
    let device = state.store.device(device.id).await?.ok_or_else(|| AppError::NotFound("The device was deleted.".into()))?;
    Ok(Json(crate::http::api_devices::view_full(&state, &device).await?))
}

/// The outline of an area as the page draws it and tests its own position against:
/// circles as they are, polygons (drawn or an imported area's outline) as GeoJSON.
fn shapes(state: &AppState, area: &str) -> Value {
    let index = state.areas.current();
    let Some(parsed) = serde_json::from_str::<Value>(area).ok().and_then(|v| parse_area(&v, &index).ok()) else {
        return json!([]);
    };
    let shape_json = |s: &Shape| match s {
        Shape::Circle { lat, lon, radius_m } => json!({"circle": {"lat": lat, "lon": lon, "radius_m": radius_m}}),
        Shape::Polygon(p) => json!({"polygon": geojson::Geometry::new(geojson::GeometryValue::from(&p.shape))}),
    };
    let list: Vec<Value> = parsed
        .members
        .iter()
        .map(|m| match m {
            Member::Shape(s) => shape_json(s),
            Member::Code { outline: Some(o), .. } => shape_json(&o.shape),
            Member::Code { outline: None, .. } => json!({"everywhere": true}),
        })
        .collect();
    Value::Array(list)
}

/// The action behind an action-page link: (delivery's participant or 0, action).
async fn linked_action(state: &AppState, link: &str) -> AppResult<(i64, ActionRow)> {
    let not_found = || AppError::NotFound("This link is not valid or has expired.".into());
    let (participant_id, action_id) = match links::resolve(state, link).ok_or_else(not_found)? {
        links::Target::Delivery(delivery_id) => {
            let d = state.store.delivery(delivery_id).await?.ok_or_else(not_found)?;
            let m = state.store.message(d.message_id).await?.ok_or_else(not_found)?;
            (d.participant_id, m.action_id.ok_or_else(not_found)?)
        }
        links::Target::Action(action_id) => (0, action_id),
    };
    let a = state.store.action(action_id).await?.ok_or_else(not_found)?;
    Ok((participant_id, a))
}

/// `GET /api/v1/app/actions/{link}`: the action page: the full texts, photos, the description
/// (with "do not approach"), the call-back number, the area's outline, every message sent so far
/// (updates, the closing message) and whether tips are open.
#[utoipa::path(get, path = "/app/actions/{link}", tag = "app", params(("link" = String, Path, description = "A signed action-page link")),
    summary = "The action page a notification opens (the link is signed for one delivery): full texts, photos, description, call-back number, the area, every message so far",
    responses((status = 200, description = "The action page's data", body = views::ActionPage), (status = 404, description = "Not valid or expired")))]
pub async fn action_page(
    State(state): State<AppState>,
    client: ClientIp,
    Path(link): Path<String>,
) -> AppResult<Json<views::ActionPage>> {
    limit_app(&state, &client).await?;
    let (_, a) = linked_action(&state, &link).await?;
    let c = content(&a)?;
    let now = state.now_ms();
    let messages = state
        .store
        .action_messages(a.id)
        .await?
        .into_iter()
        .filter(|m| m.send_at <= now)
        .map(|m| {
            let v: Value = serde_json::from_str(&m.content).unwrap_or(Value::Null);
            let texts = |lang: &str| views::MessageTexts {
                title: v[lang]["title"].as_str().map(str::to_string),
                text: v[lang]["text"].as_str().map(str::to_string),
            };
            views::PageMessage {
                id: m.id,
                kind: m.kind.clone(),
                nl: texts("nl"),
                en: texts("en"),
                sent_at: iso(m.send_at.max(m.created_at)),
            }
        })
        .collect();
    let tips_open = state.store.tips_of_action(a.id).await?.is_some_and(|t| t.open);
    let action = views::PageAction {
        id: a.id,
        kind: a.kind.clone(),
        level: a.level.clone(),
        status: a.status.clone(),
        state: a.state.clone(),
        outcome: a.outcome.clone(),
        severity: severity(&a),
        title: views::Both { nl: c.title.clone(), en: c.title_en.clone().unwrap_or_else(|| c.title.clone()) },
        body: views::Both { nl: c.body.clone(), en: c.body_en.clone().unwrap_or_else(|| c.body.clone()) },
        do_not_approach: c.description.do_not_approach,
        description: c.description,
        callback_phone: c.callback_phone,
        photos: crate::alerting::actions::photo_urls(&state, a.id).await?,
        sent_at: a.sent_at.and_then(iso),
        closed_at: a.closed_at.and_then(iso),
    };
    Ok(Json(views::ActionPage { action, area: shapes(&state, &a.area), messages, tips_open }))
}

/// `POST /api/v1/app/actions/{link}/tips` (multipart: `text`, optional `phone`, `lang`,
/// `photos`): a tip to the dispatchers of this action, stored like every reply through a link
/// (`crate::replies`: photos decoded and re-encoded, so EXIF and GPS are gone). Anonymous unless a phone number is
/// given (or the device is linked to an account). 201.
#[utoipa::path(post, path = "/app/actions/{link}/tips", tag = "app", params(("link" = String, Path, description = "A signed action-page link")),
    summary = "A tip for the action's dispatchers (multipart: text, optional phone, lang, photos; photos re-encoded without EXIF); anonymous unless a phone number is given",
    request_body(content = views::TipForm, content_type = "multipart/form-data"),
    responses((status = 201, description = "The tip was received", body = views::Received), (status = 404, description = "Not valid or expired"),
        (status = 409, description = "Tips closed"), (status = 422, description = "Invalid fields")))]
pub async fn send_tip(
    State(state): State<AppState>,
    client: ClientIp,
    Path(link): Path<String>,
    mp: Multipart,
) -> AppResult<(StatusCode, Json<views::Received>)> {
    // Per client address, and per link (one phone cannot flood an action's dispatchers).
    let target = format!("tip-link:{}", crate::auth::token_hash(link.trim()));
    abuse::check(&state, "tip", &state.config.abuse_limits.tip, &client, &[&target]).await?;
    let (participant_id, a) = linked_action(&state, &link).await?;
    let _slot = crate::http::pages_reply::upload_slot(&state)?;
    let (mut form, lang) = crate::http::pages_reply::read_form(mp).await?;
    form.language = lang.as_deref().and_then(Language::parse).unwrap_or(Language::Nl);
    let closed = || AppError::WrongState("Tips for this action are closed. Call 112 in an emergency.".into());
    if !state.store.tips_of_action(a.id).await?.is_some_and(|t| t.open) {
        return Err(closed());
    }
    let token = crate::replies::tips::app_link(&state, a.id, participant_id).await?;
    match replies::submit(&state, &token, form).await {
        Ok(_) => Ok((StatusCode::CREATED, Json(views::Received { received: true }))),
        Err(SubmitError::Invalid(errors)) => Err(AppError::Validation(errors)),
        Err(SubmitError::Link(LinkProblem::Closed | LinkProblem::Expired)) => Err(closed()),
        Err(SubmitError::Link(_)) => Err(AppError::Conflict("The tip could not be stored; try again.".into())),
        Err(SubmitError::Other(e)) => Err(e),
    }
}
