//! The enquiries API: requests and their approval, replies and their handling, the photo
//! endpoint and monitoring. Handlers are thin; the work is in `crate::enquiries`.

use super::extract::JsonBody;
use crate::auth::StaffUser;
use crate::enquiries::views::{EnquiryList, EnquiryView, RepliesView, ReplyView, TipsView};
use crate::enquiries::{monitoring, replies, requests};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

fn id_of(raw: &str, what: &str) -> AppResult<i64> {
    raw.parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(|| AppError::NotFound(format!("There is no {what} {raw}.")))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StateQuery {
    #[param(pattern = "^(requested|returned|sent|closed)$")]
    state: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    #[param(pattern = "^(new|classified|answered|overdue)$")]
    status: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MonthQuery {
    /// First month, YYYY-MM.
    #[param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    from: Option<String>,
    /// Last month, YYYY-MM.
    #[param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    to: Option<String>,
    /// json (default), csv or html (a simple page).
    #[param(pattern = "^(json|csv|html)$")]
    format: Option<String>,
}

#[utoipa::path(post, path = "/enquiries", tag = "enquiries",
    summary = "Request a neighbourhood enquiry (requesters; lands in the team's queue for another person to approve)",
    request_body = super::requests::NewEnquiry,
    responses((status = 201, description = "The enquiry", body = EnquiryView), (status = 422, description = "Invalid fields")))]
pub async fn create(
    State(state): State<AppState>,
    user: StaffUser,
    JsonBody(body): JsonBody,
) -> AppResult<(StatusCode, Json<EnquiryView>)> {
    Ok((StatusCode::CREATED, Json(requests::create(&state, &user, &body).await?)))
}

#[utoipa::path(get, path = "/enquiries", tag = "enquiries", params(StateQuery),
    summary = "Enquiries within the caller's scope, newest first (state=requested: the team's queue)",
    responses((status = 200, description = "The enquiries", body = EnquiryList), (status = 422, description = "Unknown state")))]
pub async fn list(State(state): State<AppState>, user: StaffUser, Query(q): Query<StateQuery>) -> AppResult<Json<EnquiryList>> {
    Ok(Json(requests::list(&state, &user, q.state.as_deref()).await?))
}

#[utoipa::path(get, path = "/enquiries/{id}", tag = "enquiries", params(("id" = String, Path, description = "The enquiry's id")),
    summary = "One enquiry: fields, state, time from incident to sending, recipients, deliveries, replies",
    responses((status = 200, description = "The enquiry", body = EnquiryView), (status = 404, description = "No such enquiry")))]
pub async fn one(State(state): State<AppState>, user: StaffUser, Path(raw): Path<String>) -> AppResult<Json<EnquiryView>> {
    Ok(Json(requests::view(&state, &user, id_of(&raw, "enquiry")?).await?))
}

#[utoipa::path(post, path = "/enquiries/{id}/approve", tag = "enquiries", params(("id" = String, Path, description = "The enquiry's id")),
    summary = "Approve and send (approvers; never the request's own requester: 403), optionally with edited texts; 'version' is the version of the request reviewed (409 when its texts or photo changed since)",
    request_body = super::requests::ApproveEnquiry,
    responses((status = 200, description = "The enquiry, sent", body = EnquiryView), (status = 404, description = "No such enquiry"),
        (status = 409, description = "Changed or decided meanwhile"), (status = 422, description = "Invalid fields")))]
pub async fn approve(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> AppResult<Json<EnquiryView>> {
    Ok(Json(requests::approve(&state, &user, id_of(&raw, "enquiry")?, &body).await?))
}

#[utoipa::path(post, path = "/enquiries/{id}/return", tag = "enquiries", params(("id" = String, Path, description = "The enquiry's id")),
    summary = "Return a request to its requester with a comment (approvers)",
    request_body = super::requests::ReturnEnquiry,
    responses((status = 200, description = "The enquiry, returned", body = EnquiryView), (status = 404, description = "No such enquiry"),
        (status = 409, description = "Decided meanwhile"), (status = 422, description = "Invalid fields")))]
pub async fn give_back(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> AppResult<Json<EnquiryView>> {
    Ok(Json(requests::give_back(&state, &user, id_of(&raw, "enquiry")?, &body).await?))
}

#[utoipa::path(post, path = "/enquiries/{id}/close", tag = "enquiries", params(("id" = String, Path, description = "The enquiry's id")),
    summary = "Close a sent enquiry: its reply links stop working, the photo retention period starts",
    responses((status = 200, description = "The enquiry, closed", body = EnquiryView), (status = 404, description = "No such enquiry"),
        (status = 409, description = "Not sent")))]
pub async fn close(State(state): State<AppState>, user: StaffUser, Path(raw): Path<String>) -> AppResult<Json<EnquiryView>> {
    Ok(Json(requests::close(&state, &user, id_of(&raw, "enquiry")?).await?))
}

/// `POST /api/v1/enquiries/{id}/photo`: the request's optional photo (the image as the body).
#[utoipa::path(post, path = "/enquiries/{id}/photo", tag = "enquiries", params(("id" = String, Path, description = "The enquiry's id")),
    summary = "Set or replace the request's optional photo while it waits for approval (body: image/jpeg, image/png or image/webp, at most 10 MB; re-encoded, metadata dropped; shown to residents in the e-mail, the push and on the reply page)",
    request_body(content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"))),
    responses((status = 200, description = "The enquiry with its photo", body = EnquiryView), (status = 404, description = "No such enquiry"),
        (status = 409, description = "Already decided"), (status = 422, description = "Not a photo")))]
pub async fn add_photo(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Json<EnquiryView>> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    Ok(Json(requests::add_photo(&state, &user, id_of(&raw, "enquiry")?, content_type, body.to_vec()).await?))
}

#[utoipa::path(get, path = "/enquiries/{id}/replies", tag = "enquiries", params(("id" = String, Path, description = "The enquiry's id")), params(StatusQuery),
    summary = "The replies to an enquiry (handlers), each with text, status, classification and photos with an authorised url",
    responses((status = 200, description = "The replies", body = RepliesView), (status = 404, description = "No such enquiry"),
        (status = 422, description = "Unknown status")))]
pub async fn replies_of(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
    Query(q): Query<StatusQuery>,
) -> AppResult<Json<RepliesView>> {
    Ok(Json(replies::list(&state, &user, id_of(&raw, "enquiry")?, q.status.as_deref()).await?))
}

#[utoipa::path(post, path = "/replies/{id}/classify", tag = "enquiries", params(("id" = String, Path, description = "The reply's id")),
    summary = "Classify a reply (handlers)",
    request_body = super::requests::Classify,
    responses((status = 200, description = "The reply", body = ReplyView), (status = 404, description = "No such reply"),
        (status = 422, description = "Invalid fields")))]
pub async fn classify(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> AppResult<Json<ReplyView>> {
    Ok(Json(replies::classify(&state, &user, id_of(&raw, "reply")?, &body).await?))
}

#[utoipa::path(post, path = "/replies/{id}/forward", tag = "enquiries", params(("id" = String, Path, description = "The reply's id")),
    summary = "Forward a reply with its photos by e-mail to the investigating team's configured address (handlers)",
    responses((status = 200, description = "The reply, forwarded", body = ReplyView), (status = 404, description = "No such reply"),
        (status = 422, description = "No forwarding address")))]
pub async fn forward(State(state): State<AppState>, user: StaffUser, Path(raw): Path<String>) -> AppResult<Json<ReplyView>> {
    Ok(Json(replies::forward(&state, &user, id_of(&raw, "reply")?).await?))
}

#[utoipa::path(post, path = "/replies/{id}/answer", tag = "enquiries", params(("id" = String, Path, description = "The reply's id")),
    summary = "The final answer to the resident, by e-mail; the reply is then handled (handlers)",
    request_body = super::requests::Answer,
    responses((status = 200, description = "The reply, answered", body = ReplyView), (status = 404, description = "No such reply"),
        (status = 409, description = "Answered already"), (status = 422, description = "Invalid fields")))]
pub async fn answer(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> AppResult<Json<ReplyView>> {
    Ok(Json(replies::answer(&state, &user, id_of(&raw, "reply")?, &body).await?))
}

#[utoipa::path(get, path = "/actions/{id}/tips", tag = "actions", params(("id" = String, Path, description = "The action's id")),
    summary = "Tips residents reached by the action sent through their own link (the action's control room's dispatchers only)",
    responses((status = 200, description = "Each like a reply, photos with an authorised url", body = TipsView),
        (status = 404, description = "No such action")))]
pub async fn tips(State(state): State<AppState>, user: StaffUser, Path(raw): Path<String>) -> AppResult<Json<TipsView>> {
    Ok(Json(crate::replies::tips::list(&state, &user, id_of(&raw, "action")?).await?))
}

#[utoipa::path(get, path = "/reply-photos/{id}", tag = "enquiries", params(("id" = String, Path, description = "The photo's id")),
    summary = "A reply photo (image/jpeg, Cache-Control: no-store; every view audited)",
    responses((status = 200, description = "The photo", content_type = "image/jpeg", body = Vec<u8>),
        (status = 404, description = "No such photo")))]
pub async fn photo(State(state): State<AppState>, user: StaffUser, Path(id): Path<String>) -> AppResult<Response> {
    let bytes = crate::replies::photos::photo(&state, &user, &id).await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")],
        bytes,
    )
        .into_response())
}

/// The monthly figures.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Monthly {
    pub months: Vec<monitoring::MonthRow>,
}

/// The monthly table as a simple page.
#[derive(askama::Template)]
#[template(path = "monthly.html")]
struct MonthlyPage<'a> {
    rows: &'a [monitoring::MonthRow],
}

/// `GET /api/v1/enquiries/monthly?from=2026-01&to=2026-11&format=json|csv|html`.
#[utoipa::path(get, path = "/enquiries/monthly", tag = "enquiries", params(MonthQuery),
    summary = "Monthly monitoring per municipality: sent, with a reply, reaction %, relevant share, open replies",
    responses((status = 200, description = "The months", content(
        (Monthly = "application/json"), (String = "text/csv"), (String = "text/html"))),
        (status = 422, description = "Invalid month or format")))]
pub async fn monthly(State(state): State<AppState>, user: StaffUser, Query(q): Query<MonthQuery>) -> AppResult<Response> {
    let rows = monitoring::monthly(&state, &user, q.from.as_deref(), q.to.as_deref()).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(Monthly { months: rows }).into_response()),
        Some("csv") => {
            let csv = monitoring::to_csv(&rows).map_err(|e| AppError::Internal(format!("csv: {e}")))?;
            Ok((
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (header::CONTENT_DISPOSITION, "attachment; filename=\"buurtonderzoek-maanden.csv\""),
                ],
                csv,
            )
                .into_response())
        }
        Some("html") => {
            let page = MonthlyPage { rows: &rows }.render().map_err(|e| AppError::Internal(format!("template: {e}")))?;
            Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
        }
        Some(_) => Err(AppError::invalid("format", "invalid_value", "Use format=json, csv or html.")),
    }
}
