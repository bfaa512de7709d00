//! CAP 1.2: the public Atom feed and documents of our public alerts, a dispatcher's view of any
//! action's CAP document, and the import of CAP alerts as drafts. The work is in
//! `crate::publishing`.

use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::publishing::import::{Imported, is_cap_media_type};
use crate::publishing::{export, feed, import};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use buurtnet_cap::atom::CAP_MEDIA_TYPE;
use buurtnet_domain::Operation;
use serde::Deserialize;

fn cache_control(state: &AppState) -> HeaderValue {
    HeaderValue::from_str(&format!("public, max-age={}", state.config.publishing.cache_seconds))
        .unwrap_or(HeaderValue::from_static("public, max-age=60"))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// `exercise` or `test` for the feed of exercises or tests; without it, actual alerts.
    #[param(pattern = "^(actual|exercise|test)$")]
    status: Option<String>,
}

/// `GET /api/v1/cap/alerts.atom`: the public CAP feed.
#[utoipa::path(get, path = "/cap/alerts.atom", tag = "cap", params(FeedQuery),
    summary = "Atom feed of public CAP 1.2 alerts (alarms, missing persons, runaway children, AMBER Alerts; never suspects or wanted vehicles): one entry per CAP message (Alert, each Update, the AllClear update, the Cancel), linked with rel=alternate type=application/cap+xml; actual alerts unless status=exercise or status=test; an ended action's entries stay publishing.feed_retention_hours (24 h). ETag, 304 on If-None-Match",
    responses((status = 200, description = "The feed", content_type = "application/atom+xml", body = String),
        (status = 304, description = "Not modified since the ETag given"),
        (status = 400, description = "Unknown status")))]
pub async fn alerts_feed(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<FeedQuery>) -> AppResult<Response> {
    let rendered = feed::render(&state, q.status.as_deref()).await?;
    let etag = HeaderValue::from_str(&rendered.etag).map_err(|e| AppError::Internal(format!("etag: {e}")))?;
    let cache = cache_control(&state);
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| feed::matches(v, &rendered.etag)) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag), (header::CACHE_CONTROL, cache)]).into_response());
    }
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/atom+xml; charset=utf-8")),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache),
        ],
        rendered.body,
    )
        .into_response())
}

/// `GET /api/v1/cap/alerts/{identifier}.xml`: one public CAP document.
#[utoipa::path(get, path = "/cap/alerts/{file}", tag = "cap",
    params(("file" = String, Path, description = "The alert's identifier followed by .xml")),
    summary = "One CAP 1.2 alert of a public kind, by '{identifier}.xml'; 404 for any other",
    responses((status = 200, description = "The CAP document", content_type = "application/cap+xml", body = String),
        (status = 404, description = "No public alert with this identifier")))]
pub async fn alert_document(State(state): State<AppState>, Path(file): Path<String>) -> AppResult<Response> {
    let identifier =
        file.strip_suffix(".xml").ok_or_else(|| AppError::NotFound("Ask for a CAP alert as {identifier}.xml.".into()))?;
    let xml = export::public_document(&state, identifier).await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(CAP_MEDIA_TYPE)), (header::CACHE_CONTROL, cache_control(&state))],
        xml,
    )
        .into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// The message's id; without it, the action's latest message.
    #[param(value_type = Option<i64>, minimum = 1)]
    message: Option<String>,
}

/// `GET /api/v1/actions/{id}/cap`: the CAP document of one of an action's messages (any kind).
#[utoipa::path(get, path = "/actions/{id}/cap", tag = "cap",
    params(("id" = String, Path, description = "The action's id"), MessageQuery),
    summary = "The CAP 1.2 alert of one message of an action (its latest unless 'message' is given), of any kind (kinds that are never published have scope Restricted)",
    responses((status = 200, description = "The CAP document", content_type = "application/cap+xml", body = String),
        (status = 404, description = "No such action or message, or nothing sent yet")))]
pub async fn action_document(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
    Query(q): Query<MessageQuery>,
) -> AppResult<Response> {
    user.require(Operation::ManageActions)?;
    let id =
        raw.parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(|| AppError::NotFound(format!("There is no action {raw}.")))?;
    let a = crate::alerting::actions::visible(&state, &user, id).await?;
    let message_id = match q.message.as_deref() {
        Some(m) => m.parse::<i64>().map_err(|_| AppError::NotFound(format!("Action {id} has no message {m}.")))?,
        None => state
            .store
            .action_messages(id)
            .await?
            .last()
            .map(|m| m.id)
            .ok_or_else(|| AppError::NotFound(format!("Action {id} has sent nothing yet: a draft has no CAP alert.")))?,
    };
    let xml = export::document(&state, &a, message_id).await?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, CAP_MEDIA_TYPE)], xml).into_response())
}

/// `POST /api/v1/cap`: a CAP alert from another system becomes a draft action.
#[utoipa::path(post, path = "/cap", tag = "cap",
    summary = "Import a CAP 1.2 alert (Content-Type: application/cap+xml, at most 1 MB) as a DRAFT action, never sent without a dispatcher: Alert makes the draft (the same sender and identifier again answer the same draft with 200), Update changes and Cancel cancels the imported draft it references (409 once that action was sent). event/category map to our kinds (else 'other', the event in the title), areas to circle, polygon and CBS geocodes; the draft is checked as any new action (texts, area, scope)",
    request_body(content = String, content_type = "application/cap+xml", description = "A CAP 1.2 alert"),
    responses((status = 201, description = "The draft made", body = Imported),
        (status = 200, description = "The draft this alert made or changed before, or changed now", body = Imported),
        (status = 400, description = "Not a CAP 1.2 alert we can read (the message names the problem)"),
        (status = 409, description = "The referenced action was sent already"),
        (status = 413, description = "Over 1 MB"), (status = 415, description = "Not application/cap+xml"),
        (status = 422, description = "The draft would not be valid (texts, area, scope)")))]
pub async fn import_alert(
    State(state): State<AppState>,
    user: StaffUser,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    user.require(Operation::ManageActions)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !is_cap_media_type(content_type) {
        let body = serde_json::json!({
            "error": "unsupported_media_type",
            "message": "Send the CAP alert with 'Content-Type: application/cap+xml'.",
        });
        return Ok((StatusCode::UNSUPPORTED_MEDIA_TYPE, Json(body)).into_response());
    }
    let (status, imported) = import::import(&state, &user, &body).await?;
    Ok((status, Json(imported)).into_response())
}
