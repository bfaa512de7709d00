//! Participant registration, verification and self-service over JSON.

use super::extract::JsonBody;
use crate::abuse::ClientIp;
use crate::error::{AppError, AppResult};
use crate::services::linked_devices;
use crate::services::participants as svc;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use buurtnet_domain::registration::parse_registration;
use serde_json::{Value, json};

fn accepted(message: &str) -> (StatusCode, Json<Value>) {
    (StatusCode::ACCEPTED, Json(json!({"status": "accepted", "message": message})))
}

fn text_field<'a>(body: &'a Value, name: &str) -> AppResult<&'a str> {
    body.get(name).and_then(Value::as_str).ok_or_else(|| {
        let mut e = buurtnet_domain::FieldErrors::new();
        e.add(name, "missing_field", format!("Give '{name}' as text."));
        AppError::Validation(e)
    })
}

/// `POST /api/v1/participants`: the same 202 whether or not the contact points were known.
pub async fn register(
    State(state): State<AppState>,
    client: ClientIp,
    JsonBody(body): JsonBody,
) -> AppResult<(StatusCode, Json<Value>)> {
    let draft = parse_registration(&body)?;
    svc::register(&state, &client, draft).await?;
    Ok(accepted("Check your e-mail and SMS to confirm your registration."))
}

pub async fn verify_email(State(state): State<AppState>, client: ClientIp, JsonBody(body): JsonBody) -> AppResult<Json<Value>> {
    svc::verify_email(&state, &client, text_field(&body, "token")?).await?;
    Ok(Json(json!({"status": "verified"})))
}

pub async fn verify_phone(State(state): State<AppState>, client: ClientIp, JsonBody(body): JsonBody) -> AppResult<Json<Value>> {
    svc::verify_phone(&state, &client, text_field(&body, "phone")?, text_field(&body, "code")?).await?;
    Ok(Json(json!({"status": "verified"})))
}

pub async fn resend_code(
    State(state): State<AppState>,
    client: ClientIp,
    JsonBody(body): JsonBody,
) -> AppResult<(StatusCode, Json<Value>)> {
    svc::resend_phone_code(&state, &client, text_field(&body, "phone")?).await?;
    Ok(accepted("If this number is registered and not yet confirmed, a new code is on its way."))
}

pub async fn self_service_link(
    State(state): State<AppState>,
    client: ClientIp,
    JsonBody(body): JsonBody,
) -> AppResult<(StatusCode, Json<Value>)> {
    let email = body.get("email").and_then(Value::as_str);
    let phone = body.get("phone").and_then(Value::as_str);
    svc::request_self_service(&state, &client, email, phone).await?;
    Ok(accepted("If this address or number is registered, a link is on its way."))
}

/// `GET /api/v1/self-service/{token}`: everything stored about me, with my linked devices.
pub async fn export(State(state): State<AppState>, Path(token): Path<String>) -> AppResult<Json<Value>> {
    let record = svc::self_service_record(&state, &token).await?;
    Ok(Json(linked_devices::export(&state, &record).await?))
}

pub async fn update(
    State(state): State<AppState>,
    Path(token): Path<String>,
    JsonBody(body): JsonBody,
) -> AppResult<Json<Value>> {
    let record = svc::self_service_record(&state, &token).await?;
    svc::update(&state, &record, &body).await?;
    let record = svc::self_service_record(&state, &token).await?;
    Ok(Json(linked_devices::export(&state, &record).await?))
}

/// `DELETE /api/v1/self-service/{token}/devices/{id}`: unlinks one of my linked devices.
pub async fn unlink_device(State(state): State<AppState>, Path((token, id)): Path<(String, String)>) -> AppResult<StatusCode> {
    let record = svc::self_service_record(&state, &token).await?;
    linked_devices::unlink(&state, &record, linked_devices::device_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete(State(state): State<AppState>, Path(token): Path<String>) -> AppResult<StatusCode> {
    let record = svc::self_service_record(&state, &token).await?;
    svc::delete(&state, &record).await?;
    Ok(StatusCode::NO_CONTENT)
}
