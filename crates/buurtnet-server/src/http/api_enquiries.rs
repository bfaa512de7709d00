//! The enquiries API: requests and their approval, replies and their handling, the photo
//! endpoint and monitoring. Handlers are thin; the work is in `crate::enquiries`.

use super::extract::JsonBody;
use crate::auth::StaffUser;
use crate::enquiries::{monitoring, replies, requests};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

fn id_of(raw: &str, what: &str) -> AppResult<i64> {
    raw.parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(|| AppError::NotFound(format!("There is no {what} {raw}.")))
}

#[derive(Deserialize)]
pub struct StateQuery {
    state: Option<String>,
}

#[derive(Deserialize)]
pub struct StatusQuery {
    status: Option<String>,
}

#[derive(Deserialize)]
pub struct MonthQuery {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    user: StaffUser,
    JsonBody(body): JsonBody,
) -> AppResult<(StatusCode, Json<Value>)> {
    Ok((StatusCode::CREATED, Json(requests::create(&state, &user, &body).await?)))
}

pub async fn list(State(state): State<AppState>, user: StaffUser, Query(q): Query<StateQuery>) -> AppResult<Json<Value>> {
    Ok(Json(requests::list(&state, &user, q.state.as_deref()).await?))
}

pub async fn one(State(state): State<AppState>, user: StaffUser, Path(raw): Path<String>) -> AppResult<Json<Value>> {
    Ok(Json(requests::view(&state, &user, id_of(&raw, "enquiry")?).await?))
}

pub async fn approve(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> AppResult<Json<Value>> {
    Ok(Json(requests::approve(&state, &user, id_of(&raw, "enquiry")?, &body).await?))
}

pub async fn give_back(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> AppResult<Json<Value>> {
    Ok(Json(requests::give_back(&state, &user, id_of(&raw, "enquiry")?, &body).await?))
}

pub async fn close(State(state): State<AppState>, user: StaffUser, Path(raw): Path<String>) -> AppResult<Json<Value>> {
    Ok(Json(requests::close(&state, &user, id_of(&raw, "enquiry")?).await?))
}

/// `POST /api/v1/enquiries/{id}/photo`: the request's optional photo (the image as the body).
pub async fn add_photo(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Json<Value>> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    Ok(Json(requests::add_photo(&state, &user, id_of(&raw, "enquiry")?, content_type, body.to_vec()).await?))
}

pub async fn replies_of(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
    Query(q): Query<StatusQuery>,
) -> AppResult<Json<Value>> {
    Ok(Json(replies::list(&state, &user, id_of(&raw, "enquiry")?, q.status.as_deref()).await?))
}

pub async fn classify(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> AppResult<Json<Value>> {
    Ok(Json(replies::classify(&state, &user, id_of(&raw, "reply")?, &body).await?))
}

pub async fn forward(State(state): State<AppState>, user: StaffUser, Path(raw): Path<String>) -> AppResult<Json<Value>> {
    Ok(Json(replies::forward(&state, &user, id_of(&raw, "reply")?).await?))
}

pub async fn answer(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody,
) -> AppResult<Json<Value>> {
    Ok(Json(replies::answer(&state, &user, id_of(&raw, "reply")?, &body).await?))
}

pub async fn tips(State(state): State<AppState>, user: StaffUser, Path(raw): Path<String>) -> AppResult<Json<Value>> {
    Ok(Json(crate::replies::tips::list(&state, &user, id_of(&raw, "action")?).await?))
}

pub async fn photo(State(state): State<AppState>, user: StaffUser, Path(id): Path<String>) -> AppResult<Response> {
    let bytes = crate::replies::photos::photo(&state, &user, &id).await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")],
        bytes,
    )
        .into_response())
}

/// The monthly table as a simple page.
#[derive(askama::Template)]
#[template(path = "monthly.html")]
struct MonthlyPage<'a> {
    rows: &'a [monitoring::MonthRow],
}

/// `GET /api/v1/enquiries/monthly?from=2026-01&to=2026-11&format=json|csv|html`.
pub async fn monthly(State(state): State<AppState>, user: StaffUser, Query(q): Query<MonthQuery>) -> AppResult<Response> {
    let rows = monitoring::monthly(&state, &user, q.from.as_deref(), q.to.as_deref()).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(json!({"months": rows})).into_response()),
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
