//! The resident side of the neighbourhood conversations, under `/api/v1/app/devices/{id}/…`
//! with the device's own token (`Authorization: Bearer <device token>`). The device must be
//! linked to a participant with a verified home address (403 says how otherwise). Behind the
//! app's abuse limits like every app endpoint.

use super::membership::{self, Resident};
use super::requests::{FollowBody, InviteBody, JoinBody, MessageBody, NewConversationBody, RenameBody, typed};
use super::{conversations, views};
use crate::abuse::{self, ClientIp};
use crate::error::{AppError, AppResult};
use crate::http::api_devices::authorised_device;
use crate::http::extract::JsonBody;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use buurtnet_store::conversations::Reader;

/// The resident behind the device of a request (after the abuse limits), and the device's id.
pub(super) async fn resident_of(
    state: &AppState,
    client: &ClientIp,
    id: &str,
    headers: &HeaderMap,
) -> AppResult<(i64, Resident)> {
    abuse::check(state, "app", &state.config.abuse_limits.app, client, &[]).await?;
    let device = authorised_device(state, id, headers).await?;
    Ok((device.id, membership::resident(state, &device).await?))
}

/// A conversation id from the path (404 for anything else).
pub(super) fn conversation_id(raw: &str) -> AppResult<i64> {
    raw.trim().parse::<i64>().map_err(|_| AppError::NotFound("No such conversation, or it is not addressed to you.".into()))
}

/// `GET /api/v1/app/devices/{id}/neighbourhood`: one's neighbourhoods, membership and the
/// house rules.
#[utoipa::path(get, path = "/app/devices/{id}/neighbourhood", tag = "neighbourhoods", params(("id" = String, Path, description = "The device's id")),
    summary = "One's neighbourhoods (from one's verified home addresses), membership and the house rules (Authorization: Bearer <device token>)",
    responses((status = 200, description = "The membership", body = views::Membership),
        (status = 403, description = "The device is not linked to a participant with a verified home address"),
        (status = 404, description = "No such device, or not its token")))]
pub async fn membership(
    State(state): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Json<views::Membership>> {
    let (_, r) = resident_of(&state, &client, &id, &headers).await?;
    Ok(Json(membership::view(&state, &r).await?))
}

/// `POST /api/v1/app/devices/{id}/neighbourhood` (`display_name`, `accept_house_rules`): join.
#[utoipa::path(post, path = "/app/devices/{id}/neighbourhood", tag = "neighbourhoods", params(("id" = String, Path, description = "The device's id")),
    summary = "Join the neighbourhood conversations with a display name, accepting the house rules (Authorization: Bearer <device token>)",
    request_body = JoinBody,
    responses((status = 201, description = "Joined", body = views::Membership), (status = 403, description = "Not linked, or no verified home address"),
        (status = 404, description = "No such device"), (status = 409, description = "A member already"), (status = 422, description = "Invalid fields")))]
pub async fn join(
    State(state): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> AppResult<(StatusCode, Json<views::Membership>)> {
    let (_, r) = resident_of(&state, &client, &id, &headers).await?;
    Ok((StatusCode::CREATED, Json(membership::join(&state, &r, typed(body)?).await?)))
}

/// `PATCH /api/v1/app/devices/{id}/neighbourhood` (`display_name`): a new display name.
#[utoipa::path(patch, path = "/app/devices/{id}/neighbourhood", tag = "neighbourhoods", params(("id" = String, Path, description = "The device's id")),
    summary = "Change one's display name (Authorization: Bearer <device token>)",
    request_body = RenameBody,
    responses((status = 200, description = "Changed", body = views::Membership), (status = 403, description = "Not a member"),
        (status = 404, description = "No such device"), (status = 422, description = "Invalid display name")))]
pub async fn rename(
    State(state): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> AppResult<Json<views::Membership>> {
    let (device, r) = resident_of(&state, &client, &id, &headers).await?;
    Ok(Json(membership::rename(&state, &r, device, typed(body)?).await?))
}

/// `DELETE /api/v1/app/devices/{id}/neighbourhood`: leave.
#[utoipa::path(delete, path = "/app/devices/{id}/neighbourhood", tag = "neighbourhoods", params(("id" = String, Path, description = "The device's id")),
    summary = "Leave the neighbourhood conversations (Authorization: Bearer <device token>)",
    responses((status = 204, description = "Left"), (status = 404, description = "No such device, or not a member")))]
pub async fn leave(
    State(state): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<StatusCode> {
    let (_, r) = resident_of(&state, &client, &id, &headers).await?;
    membership::leave(&state, &r).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/app/devices/{id}/neighbourhood/follows` (`neighbourhood`): follow an adjacent
/// neighbourhood read-only.
#[utoipa::path(post, path = "/app/devices/{id}/neighbourhood/follows", tag = "neighbourhoods", params(("id" = String, Path, description = "The device's id")),
    summary = "Follow an adjacent neighbourhood read-only (Authorization: Bearer <device token>)",
    request_body = FollowBody,
    responses((status = 200, description = "Followed", body = views::Membership), (status = 403, description = "Not a member"),
        (status = 404, description = "No such device"), (status = 422, description = "Not an adjacent neighbourhood")))]
pub async fn follow(
    State(state): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> AppResult<Json<views::Membership>> {
    let (device, r) = resident_of(&state, &client, &id, &headers).await?;
    Ok(Json(membership::follow(&state, &r, device, typed(body)?).await?))
}

/// `DELETE /api/v1/app/devices/{id}/neighbourhood/follows/{code}`: stop following.
#[utoipa::path(delete, path = "/app/devices/{id}/neighbourhood/follows/{code}", tag = "neighbourhoods",
    params(("id" = String, Path, description = "The device's id"), ("code" = String, Path, description = "The neighbourhood's CBS code")),
    summary = "Stop following a neighbourhood (Authorization: Bearer <device token>)",
    responses((status = 204, description = "No longer followed"), (status = 404, description = "No such device, or not followed")))]
pub async fn unfollow(
    State(state): State<AppState>,
    client: ClientIp,
    Path((id, code)): Path<(String, String)>,
    headers: HeaderMap,
) -> AppResult<StatusCode> {
    let (_, r) = resident_of(&state, &client, &id, &headers).await?;
    membership::unfollow(&state, &r, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/app/devices/{id}/conversations`: the conversations one reads, newest first.
#[utoipa::path(get, path = "/app/devices/{id}/conversations", tag = "neighbourhoods", params(("id" = String, Path, description = "The device's id")),
    summary = "The conversations of one's street and neighbourhood (and of neighbourhoods one follows), newest first (Authorization: Bearer <device token>)",
    responses((status = 200, description = "The conversations", body = views::ConversationList), (status = 403, description = "Not linked, no verified home, or not a member"),
        (status = 404, description = "No such device")))]
pub async fn list(
    State(state): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Json<views::ConversationList>> {
    let (device, r) = resident_of(&state, &client, &id, &headers).await?;
    Ok(Json(conversations::list_for_member(&state, &r, device).await?))
}

/// `POST /api/v1/app/devices/{id}/conversations` (`category`, `audience`, `title`, `body`).
#[utoipa::path(post, path = "/app/devices/{id}/conversations", tag = "neighbourhoods", params(("id" = String, Path, description = "The device's id")),
    summary = "Start a conversation for one's street or neighbourhood (Authorization: Bearer <device token>)",
    request_body = NewConversationBody,
    responses((status = 201, description = "Started", body = views::Created), (status = 403, description = "Not linked, no verified home, or not a member"),
        (status = 404, description = "No such device"), (status = 422, description = "Invalid fields (alarm_neighbours: not yet available)")))]
pub async fn start(
    State(state): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> AppResult<(StatusCode, Json<views::Created>)> {
    let (device, r) = resident_of(&state, &client, &id, &headers).await?;
    let id = conversations::start_as_member(&state, &r, device, typed(body)?).await?;
    Ok((StatusCode::CREATED, Json(views::Created { id })))
}

/// `GET /api/v1/app/devices/{id}/conversations/{cid}`: one conversation with its messages.
#[utoipa::path(get, path = "/app/devices/{id}/conversations/{cid}", tag = "neighbourhoods",
    params(("id" = String, Path, description = "The device's id"), ("cid" = String, Path, description = "The conversation's id")),
    summary = "A conversation with its messages, each with its author's display name and street (Authorization: Bearer <device token>)",
    responses((status = 200, description = "The conversation", body = views::ConversationView), (status = 403, description = "Not a member"),
        (status = 404, description = "No such device, or not a conversation one reads")))]
pub async fn one(
    State(state): State<AppState>,
    client: ClientIp,
    Path((id, cid)): Path<(String, String)>,
    headers: HeaderMap,
) -> AppResult<Json<views::ConversationView>> {
    let (device, r) = resident_of(&state, &client, &id, &headers).await?;
    Ok(Json(conversations::view_for_member(&state, &r, device, conversation_id(&cid)?).await?))
}

/// `POST /api/v1/app/devices/{id}/conversations/{cid}/messages` (`body`): a reply.
#[utoipa::path(post, path = "/app/devices/{id}/conversations/{cid}/messages", tag = "neighbourhoods",
    params(("id" = String, Path, description = "The device's id"), ("cid" = String, Path, description = "The conversation's id")),
    summary = "Reply in a conversation of one's street or neighbourhood (Authorization: Bearer <device token>)",
    request_body = MessageBody,
    responses((status = 201, description = "Stored", body = views::Created), (status = 403, description = "Not a member, or following only"),
        (status = 404, description = "No such device, or not a conversation one reads"), (status = 409, description = "Closed"),
        (status = 422, description = "Invalid body")))]
pub async fn reply(
    State(state): State<AppState>,
    client: ClientIp,
    Path((id, cid)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> AppResult<(StatusCode, Json<views::Created>)> {
    let (device, r) = resident_of(&state, &client, &id, &headers).await?;
    let id = conversations::post_as_member(&state, &r, device, conversation_id(&cid)?, typed(body)?).await?;
    Ok((StatusCode::CREATED, Json(views::Created { id })))
}

/// `POST /api/v1/app/devices/{id}/conversations/{cid}/invite` (`official`:
/// `neighbourhood_officer` or `municipality`): into a nuisance or trouble conversation.
#[utoipa::path(post, path = "/app/devices/{id}/conversations/{cid}/invite", tag = "neighbourhoods",
    params(("id" = String, Path, description = "The device's id"), ("cid" = String, Path, description = "The conversation's id")),
    summary = "Invite the neighbourhood officer or the municipality into a nuisance or trouble conversation (Authorization: Bearer <device token>)",
    request_body = InviteBody,
    responses((status = 200, description = "Invited", body = views::Invited), (status = 403, description = "Not taking part"),
        (status = 404, description = "No such device, or not a conversation one reads"),
        (status = 409, description = "Closed, or no such official for this neighbourhood yet"),
        (status = 422, description = "Unknown official, or a news or help conversation")))]
pub async fn invite(
    State(state): State<AppState>,
    client: ClientIp,
    Path((id, cid)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> AppResult<Json<views::Invited>> {
    let (device, r) = resident_of(&state, &client, &id, &headers).await?;
    Ok(Json(conversations::invite(&state, &r, device, conversation_id(&cid)?, typed(body)?).await?))
}

/// `POST /api/v1/app/devices/{id}/conversations/{cid}/close`: its starter closes it.
#[utoipa::path(post, path = "/app/devices/{id}/conversations/{cid}/close", tag = "neighbourhoods",
    params(("id" = String, Path, description = "The device's id"), ("cid" = String, Path, description = "The conversation's id")),
    summary = "Close a conversation one started (Authorization: Bearer <device token>)",
    responses((status = 204, description = "Closed"), (status = 403, description = "Not its starter"),
        (status = 404, description = "No such device, or not a conversation one reads"), (status = 409, description = "Closed already")))]
pub async fn close(
    State(state): State<AppState>,
    client: ClientIp,
    Path((id, cid)): Path<(String, String)>,
    headers: HeaderMap,
) -> AppResult<StatusCode> {
    let (device, r) = resident_of(&state, &client, &id, &headers).await?;
    membership::member(&state, &r, device).await?;
    conversations::close(&state, Reader::Member(r.participant_id), conversation_id(&cid)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
