//! The resident API of alarm neighbours and the emergency button, under
//! `/api/v1/app/devices/{id}/…` with the device's own token (`Authorization: Bearer <device
//! token>`), for members of the neighbourhood conversations. The work is in [`super::alarm`].

use super::alarm;
use super::alarm_views::{AlarmNeighbours, Invitation, Press, Presses};
use super::api::resident_of;
use super::requests::{AcceptAlarmBody, typed};
use crate::abuse::ClientIp;
use crate::error::AppResult;
use crate::http::extract::JsonBody;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};

/// `POST /api/v1/app/devices/{id}/alarm-neighbours/invitations`: a code for a neighbour.
#[utoipa::path(post, path = "/app/devices/{id}/alarm-neighbours/invitations", tag = "neighbourhoods",
    params(("id" = String, Path, description = "The device's id")),
    summary = "A code (8 characters, valid 15 minutes, used once) to invite a neighbour to be one's alarm neighbour (Authorization: Bearer <device token>)",
    responses((status = 201, description = "The code and its expiry", body = Invitation),
        (status = 403, description = "Not linked, no verified home, or not a member"), (status = 404, description = "No such device"),
        (status = 409, description = "The most alarm neighbours already"),
        (status = 422, description = "No home address with a street and house number (`address`)")))]
pub async fn invite(
    State(state): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<(StatusCode, Json<Invitation>)> {
    let (device, r) = resident_of(&state, &client, &id, &headers).await?;
    Ok((StatusCode::CREATED, Json(alarm::invite(&state, &r, device).await?)))
}

/// `POST /api/v1/app/devices/{id}/alarm-neighbours` (`code`): accept an invitation.
#[utoipa::path(post, path = "/app/devices/{id}/alarm-neighbours", tag = "neighbourhoods",
    params(("id" = String, Path, description = "The device's id")),
    summary = "Agree to be alarm neighbours with the neighbour whose code this is (Authorization: Bearer <device token>)",
    request_body = AcceptAlarmBody,
    responses((status = 201, description = "Alarm neighbours now", body = AlarmNeighbours),
        (status = 403, description = "Not linked, no verified home, or not a member"), (status = 404, description = "No such device"),
        (status = 409, description = "Alarm neighbours already, or the most alarm neighbours already"),
        (status = 422, description = "An unknown, expired, used or own code (`code`)")))]
pub async fn accept(
    State(state): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> AppResult<(StatusCode, Json<AlarmNeighbours>)> {
    let (device, r) = resident_of(&state, &client, &id, &headers).await?;
    Ok((StatusCode::CREATED, Json(alarm::accept(&state, &r, device, typed(body)?).await?)))
}

/// `GET /api/v1/app/devices/{id}/alarm-neighbours`: one's alarm neighbours and the 112 notice.
#[utoipa::path(get, path = "/app/devices/{id}/alarm-neighbours", tag = "neighbourhoods",
    params(("id" = String, Path, description = "The device's id")),
    summary = "One's alarm neighbours (display name and street) and the 112 notice (Authorization: Bearer <device token>)",
    responses((status = 200, description = "The alarm neighbours", body = AlarmNeighbours),
        (status = 403, description = "Not linked, no verified home, or not a member"), (status = 404, description = "No such device")))]
pub async fn list(
    State(state): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Json<AlarmNeighbours>> {
    let (device, r) = resident_of(&state, &client, &id, &headers).await?;
    Ok(Json(alarm::list(&state, &r, device).await?))
}

/// `DELETE /api/v1/app/devices/{id}/alarm-neighbours/{pid}`: either side ends it.
#[utoipa::path(delete, path = "/app/devices/{id}/alarm-neighbours/{pid}", tag = "neighbourhoods",
    params(("id" = String, Path, description = "The device's id"), ("pid" = String, Path, description = "The pair's id (from the list)")),
    summary = "Stop being alarm neighbours (either side) (Authorization: Bearer <device token>)",
    responses((status = 204, description = "Ended"), (status = 403, description = "Not a member"),
        (status = 404, description = "No such device, or no such alarm neighbour")))]
pub async fn end(
    State(state): State<AppState>,
    client: ClientIp,
    Path((id, pid)): Path<(String, String)>,
    headers: HeaderMap,
) -> AppResult<StatusCode> {
    let (device, r) = resident_of(&state, &client, &id, &headers).await?;
    alarm::end(&state, &r, device, &pid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/app/devices/{id}/emergency`: the emergency button.
#[utoipa::path(post, path = "/app/devices/{id}/emergency", tag = "neighbourhoods",
    params(("id" = String, Path, description = "The device's id")),
    summary = "Press the emergency button: one's alarm neighbours are alerted at once by push, SMS and voice; this is not 112 (Authorization: Bearer <device token>)",
    responses((status = 202, description = "The press, how many alarm neighbours it goes to, and the 112 notice", body = Press),
        (status = 403, description = "Not linked, no verified home, or not a member"), (status = 404, description = "No such device"),
        (status = 429, description = "Too many presses within the hour")))]
pub async fn press(
    State(state): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<(StatusCode, Json<Press>)> {
    let (device, r) = resident_of(&state, &client, &id, &headers).await?;
    Ok((StatusCode::ACCEPTED, Json(alarm::press(&state, &client, &r, device).await?)))
}

/// `POST /api/v1/app/devices/{id}/emergency/{eid}/cancel`: a false press.
#[utoipa::path(post, path = "/app/devices/{id}/emergency/{eid}/cancel", tag = "neighbourhoods",
    params(("id" = String, Path, description = "The device's id"), ("eid" = String, Path, description = "The press's id")),
    summary = "Cancel a press: its alarm neighbours get a second message that no help is needed (Authorization: Bearer <device token>)",
    responses((status = 200, description = "Cancelled", body = Press), (status = 403, description = "Not a member"),
        (status = 404, description = "No such device, or no such press of one's own"),
        (status = 409, description = "Cancelled already, or too long ago")))]
pub async fn cancel(
    State(state): State<AppState>,
    client: ClientIp,
    Path((id, eid)): Path<(String, String)>,
    headers: HeaderMap,
) -> AppResult<Json<Press>> {
    let (device, r) = resident_of(&state, &client, &id, &headers).await?;
    Ok(Json(alarm::cancel(&state, &r, device, &eid).await?))
}

/// `GET /api/v1/app/devices/{id}/emergency`: one's presses.
#[utoipa::path(get, path = "/app/devices/{id}/emergency", tag = "neighbourhoods",
    params(("id" = String, Path, description = "The device's id")),
    summary = "One's presses of the emergency button, newest first, and the 112 notice (Authorization: Bearer <device token>)",
    responses((status = 200, description = "The presses", body = Presses), (status = 403, description = "Not a member"),
        (status = 404, description = "No such device")))]
pub async fn presses(
    State(state): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Json<Presses>> {
    let (device, r) = resident_of(&state, &client, &id, &headers).await?;
    Ok(Json(alarm::presses(&state, &r, device).await?))
}
