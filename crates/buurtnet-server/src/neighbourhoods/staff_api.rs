//! The staff side of the neighbourhood conversations (`/api/v1/conversations…`, a staff token).
//! An official sees and answers only the conversations they were added to (the store's queries
//! join on the conversation's officials); a regional coordinator or administrator sees counts.

use super::api::conversation_id;
use super::requests::{MessageBody, StaffConversationBody, typed};
use super::{conversations, views};
use crate::auth::StaffUser;
use crate::error::AppResult;
use crate::http::extract::JsonBody;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use buurtnet_store::conversations::Reader;

/// `GET /api/v1/conversations`.
#[utoipa::path(get, path = "/conversations", tag = "neighbourhoods",
    summary = "The counts of neighbourhood conversations per category in one's scope, and the conversations one was added to (officials only)",
    responses((status = 200, description = "Counts and one's conversations", body = views::StaffConversations),
        (status = 401, description = "Not signed in"), (status = 403, description = "Not for this role")))]
pub async fn list(State(state): State<AppState>, user: StaffUser) -> AppResult<Json<views::StaffConversations>> {
    Ok(Json(conversations::list_for_staff(&state, &user).await?))
}

/// `POST /api/v1/conversations` (`category`, `audience`: a neighbourhood's code, optional
/// `street`, `title`, `body`).
#[utoipa::path(post, path = "/conversations", tag = "neighbourhoods",
    summary = "Open a conversation for a neighbourhood (or one street of it) in one's scope, as its participant (neighbourhood officer, municipality)",
    request_body = StaffConversationBody,
    responses((status = 201, description = "Opened", body = views::Created), (status = 401, description = "Not signed in"),
        (status = 403, description = "Not an official"), (status = 422, description = "Invalid fields, or a neighbourhood outside one's scope")))]
pub async fn start(
    State(state): State<AppState>,
    user: StaffUser,
    JsonBody(body): JsonBody,
) -> AppResult<(StatusCode, Json<views::Created>)> {
    let id = conversations::start_as_staff(&state, &user, typed(body)?).await?;
    Ok((StatusCode::CREATED, Json(views::Created { id })))
}

/// `GET /api/v1/conversations/{cid}`: 404 unless one was added to it.
#[utoipa::path(get, path = "/conversations/{cid}", tag = "neighbourhoods", params(("cid" = String, Path, description = "The conversation's id")),
    summary = "A conversation one was added to, with its messages (audited)",
    responses((status = 200, description = "The conversation", body = views::ConversationView), (status = 401, description = "Not signed in"),
        (status = 403, description = "Not for this role"), (status = 404, description = "Not a conversation one was added to")))]
pub async fn one(
    State(state): State<AppState>,
    user: StaffUser,
    Path(cid): Path<String>,
) -> AppResult<Json<views::ConversationView>> {
    Ok(Json(conversations::view_for_staff(&state, &user, conversation_id(&cid)?).await?))
}

/// `POST /api/v1/conversations/{cid}/messages` (`body`).
#[utoipa::path(post, path = "/conversations/{cid}/messages", tag = "neighbourhoods", params(("cid" = String, Path, description = "The conversation's id")),
    summary = "Answer in a conversation one was added to",
    request_body = MessageBody,
    responses((status = 201, description = "Stored", body = views::Created), (status = 401, description = "Not signed in"),
        (status = 403, description = "Not for this role"), (status = 404, description = "Not a conversation one was added to"),
        (status = 409, description = "Closed"), (status = 422, description = "Invalid body")))]
pub async fn reply(
    State(state): State<AppState>,
    user: StaffUser,
    Path(cid): Path<String>,
    JsonBody(body): JsonBody,
) -> AppResult<(StatusCode, Json<views::Created>)> {
    let id = conversations::post_as_staff(&state, &user, conversation_id(&cid)?, typed(body)?).await?;
    Ok((StatusCode::CREATED, Json(views::Created { id })))
}

/// `POST /api/v1/conversations/{cid}/close`: the official who opened it closes it.
#[utoipa::path(post, path = "/conversations/{cid}/close", tag = "neighbourhoods", params(("cid" = String, Path, description = "The conversation's id")),
    summary = "Close a conversation one opened",
    responses((status = 204, description = "Closed"), (status = 401, description = "Not signed in"), (status = 403, description = "Not its starter"),
        (status = 404, description = "Not a conversation one was added to"), (status = 409, description = "Closed already")))]
pub async fn close(State(state): State<AppState>, user: StaffUser, Path(cid): Path<String>) -> AppResult<StatusCode> {
    conversations::close(&state, Reader::Staff(user.id), conversation_id(&cid)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
