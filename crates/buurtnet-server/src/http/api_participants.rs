//! Participant registration, verification and self-service over JSON.

use super::extract::JsonBody;
use crate::abuse::ClientIp;
use crate::error::{AppError, AppResult};
use crate::services::linked_devices;
use crate::services::participants as svc;
use crate::services::participants::ParticipantExport;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use buurtnet_domain::registration::parse_registration;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A request taken: the same answer whether or not the contact was known.
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    /// Always `accepted`.
    pub status: &'static str,
    pub message: &'static str,
}

/// A contact point confirmed.
#[derive(Serialize, ToSchema)]
pub struct Verified {
    /// Always `verified`.
    pub status: &'static str,
}

fn accepted(message: &'static str) -> (StatusCode, Json<Accepted>) {
    (StatusCode::ACCEPTED, Json(Accepted { status: "accepted", message }))
}

fn text_field<'a>(body: &'a Value, name: &str) -> AppResult<&'a str> {
    body.get(name).and_then(Value::as_str).ok_or_else(|| {
        let mut e = buurtnet_domain::FieldErrors::new();
        e.add(name, "missing_field", format!("Give '{name}' as text."));
        AppError::Validation(e)
    })
}

/// `POST /api/v1/participants`: the same 202 whether or not the contact points were known.
#[utoipa::path(post, path = "/participants", tag = "participants",
    summary = "Register as a resident (the same answer whether or not the e-mail or phone is known)",
    request_body = super::requests::Registration,
    responses((status = 202, description = "Accepted: check e-mail and SMS", body = Accepted), (status = 422, description = "Invalid fields")))]
pub async fn register(
    State(state): State<AppState>,
    client: ClientIp,
    JsonBody(body): JsonBody,
) -> AppResult<(StatusCode, Json<Accepted>)> {
    let draft = parse_registration(&body)?;
    let campaign = body.get("campaign").and_then(serde_json::Value::as_str);
    svc::register(&state, &client, draft, campaign).await?;
    Ok(accepted("Check your e-mail and SMS to confirm your registration."))
}

#[utoipa::path(post, path = "/participants/verify-email", tag = "participants",
    summary = "Confirm an e-mail address with the token of its link",
    request_body = super::requests::TokenBody,
    responses((status = 200, description = "Confirmed", body = Verified), (status = 404, description = "Unknown or expired link"),
        (status = 422, description = "Invalid fields")))]
pub async fn verify_email(
    State(state): State<AppState>,
    client: ClientIp,
    JsonBody(body): JsonBody,
) -> AppResult<Json<Verified>> {
    svc::verify_email(&state, &client, text_field(&body, "token")?).await?;
    Ok(Json(Verified { status: "verified" }))
}

#[utoipa::path(post, path = "/participants/verify-phone", tag = "participants",
    summary = "Confirm a phone number with its 6-digit SMS code",
    request_body = super::requests::VerifyPhone,
    responses((status = 200, description = "Confirmed", body = Verified), (status = 422, description = "Invalid fields")))]
pub async fn verify_phone(
    State(state): State<AppState>,
    client: ClientIp,
    JsonBody(body): JsonBody,
) -> AppResult<Json<Verified>> {
    svc::verify_phone(&state, &client, text_field(&body, "phone")?, text_field(&body, "code")?).await?;
    Ok(Json(Verified { status: "verified" }))
}

#[utoipa::path(post, path = "/participants/resend-code", tag = "participants",
    summary = "Send a new SMS code to an unconfirmed number",
    request_body = super::requests::PhoneBody,
    responses((status = 202, description = "Accepted (the same answer for unknown numbers)", body = Accepted),
        (status = 422, description = "Invalid fields")))]
pub async fn resend_code(
    State(state): State<AppState>,
    client: ClientIp,
    JsonBody(body): JsonBody,
) -> AppResult<(StatusCode, Json<Accepted>)> {
    svc::resend_phone_code(&state, &client, text_field(&body, "phone")?).await?;
    Ok(accepted("If this number is registered and not yet confirmed, a new code is on its way."))
}

#[utoipa::path(post, path = "/participants/self-service-link", tag = "participants",
    summary = "Send a self-service link by e-mail or SMS",
    request_body = super::requests::ContactBody,
    responses((status = 202, description = "Accepted (the same answer for unknown contacts)", body = Accepted),
        (status = 422, description = "Invalid fields")))]
pub async fn self_service_link(
    State(state): State<AppState>,
    client: ClientIp,
    JsonBody(body): JsonBody,
) -> AppResult<(StatusCode, Json<Accepted>)> {
    let email = body.get("email").and_then(Value::as_str);
    let phone = body.get("phone").and_then(Value::as_str);
    svc::request_self_service(&state, &client, email, phone).await?;
    Ok(accepted("If this address or number is registered, a link is on its way."))
}

/// `GET /api/v1/self-service/{token}`: everything stored about me, with my linked devices.
#[utoipa::path(get, path = "/self-service/{token}", tag = "self-service", params(("token" = String, Path, description = "The token of a self-service link")),
    summary = "Everything stored about me (JSON export)",
    responses((status = 200, description = "My data", body = ParticipantExport), (status = 404, description = "Unknown or expired link")))]
pub async fn export(State(state): State<AppState>, Path(token): Path<String>) -> AppResult<Json<ParticipantExport>> {
    let record = svc::self_service_record(&state, &token).await?;
    Ok(Json(linked_devices::export(&state, &record).await?))
}

#[utoipa::path(patch, path = "/self-service/{token}", tag = "self-service", params(("token" = String, Path, description = "The token of a self-service link")),
    summary = "Change language, topics, paused, and channels and quiet hours per address",
    request_body = super::requests::SelfServiceChange,
    responses((status = 200, description = "My data after the change", body = ParticipantExport),
        (status = 404, description = "Unknown or expired link"), (status = 422, description = "Invalid fields")))]
pub async fn update(
    State(state): State<AppState>,
    Path(token): Path<String>,
    JsonBody(body): JsonBody,
) -> AppResult<Json<ParticipantExport>> {
    let record = svc::self_service_record(&state, &token).await?;
    svc::update(&state, &record, &body).await?;
    let record = svc::self_service_record(&state, &token).await?;
    Ok(Json(linked_devices::export(&state, &record).await?))
}

/// `DELETE /api/v1/self-service/{token}/devices/{id}`: unlinks one of my linked devices.
#[utoipa::path(delete, path = "/self-service/{token}/devices/{id}", tag = "self-service",
    params(("token" = String, Path, description = "The token of a self-service link"), ("id" = String, Path, description = "The device's id")),
    summary = "Unlink one of my linked devices",
    responses((status = 204, description = "Unlinked"), (status = 404, description = "Unknown link or device")))]
pub async fn unlink_device(State(state): State<AppState>, Path((token, id)): Path<(String, String)>) -> AppResult<StatusCode> {
    let record = svc::self_service_record(&state, &token).await?;
    linked_devices::unlink(&state, &record, linked_devices::device_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/self-service/{token}", tag = "self-service", params(("token" = String, Path, description = "The token of a self-service link")),
    summary = "Delete everything about me",
    responses((status = 204, description = "Deleted"), (status = 404, description = "Unknown or expired link")))]
pub async fn delete(State(state): State<AppState>, Path(token): Path<String>) -> AppResult<StatusCode> {
    let record = svc::self_service_record(&state, &token).await?;
    svc::delete(&state, &record).await?;
    Ok(StatusCode::NO_CONTENT)
}
