//! Web Push devices registered on their own (no account): a browser subscribes with this
//! server's VAPID public key, registers its subscription and a location, and gets a token
//! with which it alone may change or delete the registration. The token is stored only as a
//! keyed hash. Any failure of the token (missing, wrong, another device's) answers 404, as for
//! a device that does not exist, so nothing tells whether a device id exists.

use super::extract::JsonBody;
use crate::abuse::{self, ClientIp};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use buurtnet_delivery::webpush::{parse_auth, parse_p256dh};
use buurtnet_domain::postcode::{HouseNumber, Postcode};
use buurtnet_domain::{FieldErrors, Language, NL_BOUNDS, Topic, TopicSet};
use buurtnet_store::{DeviceChange, DevicePlace, DeviceRecord, NewDevice};
use rand::Rng;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

const FIELDS: &[&str] = &["subscription", "location", "topics", "language", "paused"];

/// `GET /api/v1/push/public-key`: the `applicationServerKey` browsers subscribe with.
#[utoipa::path(get, path = "/push/public-key", tag = "devices",
    summary = "The VAPID public key browsers subscribe with (applicationServerKey)",
    responses((status = 200, description = "The key", body = PublicKey)))]
pub async fn public_key(State(state): State<AppState>) -> Json<PublicKey> {
    Json(PublicKey { public_key: state.push.public_key() })
}

/// The VAPID public key.
#[derive(Serialize, ToSchema)]
pub struct PublicKey {
    /// base64url of the uncompressed P-256 point.
    pub public_key: String,
}

/// A device registered: its id and the token it alone changes or deletes itself with.
#[derive(Serialize, ToSchema)]
pub struct NewDeviceAnswer {
    pub id: i64,
    pub token: String,
}

/// A point (WGS84).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

/// Where a device is alerted for: a point, or the coarse cell of "where I am" while valid.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum DeviceLocation {
    Point(Point),
    Coarse { coarse_cell: i64, valid_until: Option<String> },
}

/// A device as it sees itself (never its keys).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeviceView {
    pub id: i64,
    pub language: String,
    pub topics: Vec<&'static str>,
    pub location: Option<DeviceLocation>,
    pub linked: bool,
    pub paused: bool,
    pub push: bool,
    pub registered_at: Option<String>,
    /// The device's further fixed places.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub more_places: Option<Vec<Point>>,
}

/// A checked `PushSubscription`: endpoint, p256dh, auth.
fn parse_subscription(state: &AppState, v: &Value, errors: &mut FieldErrors) -> Option<(String, String, String)> {
    let Some(obj) = v.as_object() else {
        errors.add("subscription", "invalid_subscription", "Give the browser's PushSubscription (endpoint and keys).");
        return None;
    };
    let endpoint = match obj.get("endpoint").and_then(Value::as_str) {
        None => {
            errors.add("subscription.endpoint", "missing_field", "Give the subscription's endpoint.");
            None
        }
        Some(e) => match state.push.allow_list().check(e) {
            Ok(_) => Some(e.to_string()),
            Err(why) => {
                errors.add("subscription.endpoint", why.code(), format!("This endpoint cannot be used: {why}."));
                None
            }
        },
    };
    match obj.get("expirationTime") {
        None | Some(Value::Null | Value::Number(_)) => {}
        Some(_) => errors.add("subscription.expirationTime", "invalid_expiration", "expirationTime must be a number or null."),
    }
    let keys = obj.get("keys").and_then(Value::as_object);
    if keys.is_none() {
        errors.add("subscription.keys", "missing_field", "Give the subscription's keys (p256dh and auth).");
    }
    let key = |name: &str| keys.and_then(|k| k.get(name)).and_then(Value::as_str);
    let p256dh = match key("p256dh").map(|k| (k, parse_p256dh(k))) {
        Some((k, Ok(_))) => Some(k.trim().to_string()),
        Some((_, Err(e))) => {
            errors.add("subscription.keys.p256dh", "invalid_p256dh", format!("The key is not valid: {e}."));
            None
        }
        None if keys.is_some() => {
            errors.add("subscription.keys.p256dh", "missing_field", "Give the subscription's p256dh key.");
            None
        }
        None => None,
    };
    let auth = match key("auth").map(|k| (k, parse_auth(k))) {
        Some((k, Ok(_))) => Some(k.trim().to_string()),
        Some((_, Err(e))) => {
            errors.add("subscription.keys.auth", "invalid_auth", format!("The secret is not valid: {e}."));
            None
        }
        None if keys.is_some() => {
            errors.add("subscription.keys.auth", "missing_field", "Give the subscription's auth secret.");
            None
        }
        None => None,
    };
    Some((endpoint?, p256dh?, auth?))
}

/// How long a "where I am" cell holds without being renewed by the open page.
pub const COARSE_VALID_MS: i64 = 24 * 3_600_000;

/// A checked place: `{"lat", "lon"}` (a point on the map), `{"postcode", "house_number"}`
/// (geocoded here to a point), or `{"coarse_cell": N}` ("where I am": the number of a coarse
/// cell the browser computed, see `buurtnet_domain::cell::coarse_id`; no position is sent).
async fn parse_location(state: &AppState, v: &Value, field: &str, errors: &mut FieldErrors) -> Option<DevicePlace> {
    if let Some(c) = v.get("coarse_cell") {
        let cell = c.as_i64().and_then(buurtnet_domain::cell::coarse);
        let Some(cell) = cell else {
            errors.add(format!("{field}.coarse_cell"), "invalid_cell", "Give the number of a coarse cell (0 to 16383).");
            return None;
        };
        if v.as_object().is_some_and(|o| o.len() > 1) {
            errors.add(field, "precise_with_cell", "Send only the coarse cell in \"where I am\" mode, nothing else.");
            return None;
        }
        let b = cell.bounds();
        let areas = state.areas.current();
        let centre = ((b.min_lat + b.max_lat) / 2.0, (b.min_lon + b.max_lon) / 2.0);
        let corners = [(b.min_lat, b.min_lon), (b.min_lat, b.max_lon), (b.max_lat, b.min_lon), (b.max_lat, b.max_lon), centre];
        if !areas.is_empty() && !corners.iter().any(|(lat, lon)| areas.locate(*lat, *lon).in_netherlands()) {
            errors.add(format!("{field}.coarse_cell"), "outside_netherlands", "This cell is not in the Netherlands.");
            return None;
        }
        let id = c.as_i64().unwrap_or_default();
        return Some(DevicePlace::Coarse { cell: id, until: state.now_ms() + COARSE_VALID_MS });
    }
    if v.get("postcode").is_some() || v.get("house_number").is_some() {
        let postcode = v.get("postcode").and_then(Value::as_str).and_then(Postcode::parse);
        let number = v.get("house_number").and_then(|h| match h {
            Value::Number(n) => HouseNumber::parse(&n.to_string()),
            Value::String(s) => HouseNumber::parse(s),
            _ => None,
        });
        if postcode.is_none() {
            errors.add(format!("{field}.postcode"), "invalid_postcode", "Give a Dutch postcode such as 3811 AB.");
        }
        if number.is_none() {
            errors.add(format!("{field}.house_number"), "invalid_house_number", "Give the house number, such as 12 or 12a.");
        }
        let (Some(postcode), Some(number)) = (postcode, number) else { return None };
        let areas = state.areas.current();
        let found = match state.geocoder.geocode(&state.store, &areas, &postcode, &number).await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, "geocoding a device's address failed");
                None
            }
        };
        let Some(g) = found else {
            errors.add(format!("{field}.postcode"), "address_not_found", "We cannot find this postcode.");
            return None;
        };
        crate::services::participants::locate_checked(
            &areas,
            g.lat,
            g.lon,
            state.config.geocoder.nearest_area_within_m,
            &format!("{field}.postcode"),
            errors,
        )?;
        return Some(DevicePlace::point(g.lat, g.lon));
    }
    let number = |name: &str| v.get(name).and_then(Value::as_f64).filter(|x| x.is_finite());
    let (Some(lat), Some(lon)) = (number("lat"), number("lon")) else {
        errors.add(
            field,
            "invalid_location",
            "Give the location as {\"lat\", \"lon\"} (WGS84), {\"postcode\", \"house_number\"} or {\"coarse_cell\"}.",
        );
        return None;
    };
    if !NL_BOUNDS.contains(lat, lon) {
        errors.add(field, "outside_netherlands", "This point is not in the Netherlands.");
        return None;
    }
    let areas = state.areas.current();
    crate::services::participants::locate_checked(&areas, lat, lon, state.config.geocoder.nearest_area_within_m, field, errors)?;
    Some(DevicePlace::point(lat, lon))
}

/// Fixed places a device may have at most.
pub const MAX_PLACES: usize = 3;

/// A device's places: one place (see [`parse_location`]) or a list of up to three fixed places
/// (points or postcodes; "where I am" stands alone): the first and the further ones.
async fn parse_places(state: &AppState, v: &Value, errors: &mut FieldErrors) -> Option<(DevicePlace, Vec<(f64, f64, i64)>)> {
    let Some(list) = v.as_array() else {
        return parse_location(state, v, "location", errors).await.map(|p| (p, Vec::new()));
    };
    if list.is_empty() || list.len() > MAX_PLACES {
        errors.add("location", "place_count", format!("Give 1 to {MAX_PLACES} fixed places."));
        return None;
    }
    let before = errors.len();
    let mut places = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let field = format!("location[{i}]");
        match parse_location(state, item, &field, errors).await {
            Some(DevicePlace::Point { lat, lon, cell }) => places.push((lat, lon, cell)),
            Some(DevicePlace::Coarse { .. }) if list.len() > 1 => {
                errors.add(field, "cell_with_places", "\"Where I am\" cannot be combined with fixed places.");
            }
            Some(coarse) => return Some((coarse, Vec::new())),
            None => {}
        }
    }
    if errors.len() > before {
        return None;
    }
    let (lat, lon, cell) = places.remove(0);
    Some((DevicePlace::Point { lat, lon, cell }, places))
}

fn parse_topics(v: &Value, errors: &mut FieldErrors) -> Option<TopicSet> {
    let Some(list) = v.as_array() else {
        errors.add("topics", "not_a_list", "Topics must be a list of: urgent, enquiry, information.");
        return None;
    };
    let mut set = TopicSet::default();
    let before = errors.len();
    for (i, item) in list.iter().enumerate() {
        match item.as_str().and_then(Topic::parse) {
            Some(t) => set.insert(t),
            None => errors.add(
                format!("topics[{i}]"),
                "unknown_topic",
                format!("Unknown topic {item}; use one of: urgent, enquiry, information."),
            ),
        }
    }
    if errors.len() > before {
        return None;
    }
    if set.is_empty() {
        errors.add("topics", "no_topics", "Choose at least one topic.");
        return None;
    }
    Some(set)
}

fn parse_language(v: &Value, errors: &mut FieldErrors) -> Option<Language> {
    let lang = v.as_str().and_then(Language::parse);
    if lang.is_none() {
        errors.add("language", "invalid_language", "Language must be \"nl\" or \"en\".");
    }
    lang
}

fn body_object(body: &Value, errors: &mut FieldErrors) -> Option<Map<String, Value>> {
    let Some(obj) = body.as_object() else {
        errors.add("body", "not_an_object", "The body must be a JSON object.");
        return None;
    };
    for key in obj.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
        errors.add(key.clone(), "unknown_field", format!("Unknown field; use: {}.", FIELDS.join(", ")));
    }
    Some(obj.clone())
}

/// `POST /api/v1/devices`: 201 `{"id", "token"}`.
#[utoipa::path(post, path = "/devices", tag = "devices",
    summary = "Register a Web Push device for a location (no account); the token lets it change or delete itself",
    request_body = super::requests::DeviceRegistration,
    responses((status = 201, description = "Keep the token, it is shown once", body = NewDeviceAnswer), (status = 422, description = "Invalid fields")))]
pub async fn register(
    State(state): State<AppState>,
    client: ClientIp,
    JsonBody(body): JsonBody,
) -> AppResult<(StatusCode, Json<NewDeviceAnswer>)> {
    abuse::check(&state, "register_device", &state.config.abuse_limits.register_device, &client, &[]).await?;
    let mut errors = FieldErrors::new();
    let obj = body_object(&body, &mut errors).unwrap_or_default();
    // Without a subscription (push blocked or unavailable in this browser) the device follows
    // the live feed while its page is open, and gets no deliveries.
    let subscription = match obj.get("subscription") {
        None | Some(Value::Null) => Some(None),
        Some(v) => parse_subscription(&state, v, &mut errors).map(Some),
    };
    let location = match obj.get("location") {
        None | Some(Value::Null) => {
            errors.add("location", "missing_location", "Give the location to be alerted for.");
            None
        }
        Some(v) => parse_places(&state, v, &mut errors).await,
    };
    let topics = match obj.get("topics") {
        None | Some(Value::Null) => Some(std::iter::once(Topic::Urgent).collect::<TopicSet>()),
        Some(v) => parse_topics(v, &mut errors),
    };
    let language = match obj.get("language") {
        None | Some(Value::Null) => Some(Language::Nl),
        Some(v) => parse_language(v, &mut errors),
    };
    let (Some(subscription), Some((place, extra_places)), Some(topics), Some(language), true) =
        (subscription, location, topics, language, errors.is_empty())
    else {
        return Err(AppError::Validation(errors));
    };
    let mut secret = [0u8; 32];
    rand::rng().fill(&mut secret);
    let token = B64.encode(secret);
    let (endpoint, p256dh, auth) = match subscription {
        Some((e, k, a)) => (Some(e), Some(k), Some(a)),
        None => (None, None, None),
    };
    let device = NewDevice {
        endpoint,
        p256dh,
        auth,
        token_hash: state.signer.device_token_hash(&token),
        language: language.as_str().to_string(),
        topics: topics.bits(),
        place,
        extra_places,
    };
    let id = state.store.register_anonymous_device(&device, state.now_ms()).await?;
    metrics::counter!("buurtnet_devices_registered_total").increment(1);
    tracing::info!(device.id = id, "registered a push device");
    Ok((StatusCode::CREATED, Json(NewDeviceAnswer { id, token })))
}

/// The device `id` if the request carries its token; otherwise 404.
pub async fn authorised_device(state: &AppState, id: &str, headers: &HeaderMap) -> AppResult<DeviceRecord> {
    let not_found = || AppError::NotFound("No such device, or the token is not this device's.".into());
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 200)
        .ok_or_else(not_found)?;
    let device = state.store.device_by_token_hash(&state.signer.device_token_hash(token)).await?.ok_or_else(not_found)?;
    if device.id != id {
        return Err(not_found());
    }
    Ok(device)
}

/// [`view`] with the device's further fixed places (`more_places`).
pub async fn view_full(state: &AppState, d: &DeviceRecord) -> AppResult<DeviceView> {
    let mut v = view(d);
    let more = state.store.device_places(d.id).await?.into_iter().map(|(lat, lon)| Point { lat, lon }).collect();
    v.more_places = Some(more);
    Ok(v)
}

pub fn view(d: &DeviceRecord) -> DeviceView {
    use crate::alerting::views::iso;
    DeviceView {
        id: d.id,
        language: d.language.clone(),
        topics: TopicSet::from_bits(d.topics).names(),
        location: match (d.lat, d.lon, d.coarse_cell) {
            (Some(lat), Some(lon), _) => Some(DeviceLocation::Point(Point { lat, lon })),
            (_, _, Some(cell)) => Some(DeviceLocation::Coarse { coarse_cell: cell, valid_until: d.coarse_until.and_then(iso) }),
            _ => None,
        },
        linked: d.participant_id.is_some(),
        paused: d.paused,
        push: d.endpoint.is_some(),
        registered_at: iso(d.created_at),
        more_places: None,
    }
}

/// `PATCH /api/v1/devices/{id}` (`Authorization: Bearer <device token>`): change the
/// subscription, location, topics or language; answers the device (without its keys).
#[utoipa::path(patch, path = "/devices/{id}", tag = "devices", params(("id" = String, Path, description = "The device's id")),
    summary = "Change a device's subscription, location, topics or language (Authorization: Bearer <device token>)",
    request_body = super::requests::DeviceChange,
    responses((status = 200, description = "The device", body = DeviceView), (status = 404, description = "No such device, or not its token"),
        (status = 422, description = "Invalid fields")))]
pub async fn update(
    State(state): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> AppResult<Json<DeviceView>> {
    // Counted before the token is checked (guessing is limited too); each change may cost
    // geocoder calls.
    abuse::check(&state, "app", &state.config.abuse_limits.app, &client, &[]).await?;
    let device = authorised_device(&state, &id, &headers).await?;
    let mut errors = FieldErrors::new();
    let obj = body_object(&body, &mut errors).unwrap_or_default();
    let mut change = DeviceChange::default();
    if let Some(v) = obj.get("subscription") {
        change.subscription = parse_subscription(&state, v, &mut errors);
    }
    if let Some(v) = obj.get("location")
        && let Some((place, extra)) = parse_places(&state, v, &mut errors).await
    {
        change.place = Some(place);
        change.extra_places = extra;
    }
    if let Some(v) = obj.get("topics") {
        change.topics = parse_topics(v, &mut errors).map(TopicSet::bits);
    }
    if let Some(v) = obj.get("language") {
        change.language = parse_language(v, &mut errors).map(|l| l.as_str().to_string());
    }
    if let Some(v) = obj.get("paused") {
        change.paused = v.as_bool();
        if change.paused.is_none() {
            errors.add("paused", "not_a_boolean", "Give true or false.");
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if !state.store.update_device(device.id, &change, state.now_ms()).await? {
        return Err(AppError::NotFound("No such device, or the token is not this device's.".into()));
    }
    let device = state.store.device(device.id).await?.ok_or_else(|| AppError::NotFound("The device was deleted.".into()))?;
    Ok(Json(view_full(&state, &device).await?))
}

/// `DELETE /api/v1/devices/{id}` (`Authorization: Bearer <device token>`): 204.
#[utoipa::path(delete, path = "/devices/{id}", tag = "devices", params(("id" = String, Path, description = "The device's id")),
    summary = "Delete a device (Authorization: Bearer <device token>)",
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such device, or not its token")))]
pub async fn delete(
    State(state): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<StatusCode> {
    abuse::check(&state, "app", &state.config.abuse_limits.app, &client, &[]).await?;
    let device = authorised_device(&state, &id, &headers).await?;
    state.store.remove_device(device.id, state.now_ms()).await?;
    tracing::info!(device.id = device.id, "deleted a push device at its own request");
    Ok(StatusCode::NO_CONTENT)
}
