//! One application error type. Client errors carry a stable code and a message a person
//! understands; server errors show a generic message and the detail goes to the log only.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use buurtnet_domain::FieldErrors;
use buurtnet_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("validation failed: {0}")]
    Validation(FieldErrors),
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("not signed in")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// A 409 whose message is ours (never from the database) and is shown: the thing is not in
    /// a state that allows this (e.g. approving an enquiry twice).
    #[error("wrong state: {0}")]
    WrongState(String),
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// An abuse limit was reached; try again after this many seconds.
    #[error("too many requests ({message}); retry after {retry_after_secs} s")]
    TooManyRequests { message: String, retry_after_secs: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::BadRequest { code, message: message.into() }
    }

    /// A 422 naming one field.
    pub fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> AppError {
        let mut f = FieldErrors::new();
        f.add(field, code, message);
        AppError::Validation(f)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) | AppError::WrongState(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation_failed",
            AppError::BadRequest { code, .. } => code,
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::WrongState(_) => "wrong_state",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::Unavailable(_) => "unavailable",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Internal(_) => "internal_error",
        }
    }

    /// The message safe to show: never internal detail.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Validation(_) => "Some fields are not valid; see 'fields'.".into(),
            AppError::BadRequest { message, .. } => message.clone(),
            AppError::Unauthorized(m)
            | AppError::Forbidden(m)
            | AppError::NotFound(m)
            | AppError::PayloadTooLarge(m)
            | AppError::WrongState(m) => m.clone(),
            // The detail of a conflict may come from the database: it goes to the log only.
            AppError::Conflict(_) => "This conflicts with something that already exists.".into(),
            AppError::TooManyRequests { message, .. } => message.clone(),
            AppError::Unavailable(_) => "The service is temporarily unavailable; please try again shortly.".into(),
            AppError::Internal(_) => "Something went wrong on our side. It has been logged.".into(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => AppError::Unavailable(m),
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::InvalidText(_) => AppError::bad_request(
                "invalid_text",
                "The request holds a character that cannot be stored (a NUL, \\0); remove it and try again.".to_string(),
            ),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<FieldErrors> for AppError {
    fn from(e: FieldErrors) -> Self {
        AppError::Validation(e)
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::Internal(format!("{e:#}"))
    }
}

/// Every error answer of the API: `{"error", "message", "fields"?}`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable code, e.g. `validation_failed`.
    pub error: String,
    pub message: String,
    /// Per field (validation errors only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<buurtnet_domain::FieldErrors>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error.code = self.code(), error.detail = %self, "request failed");
        } else if let AppError::Conflict(detail) = &self {
            tracing::info!(error.code = self.code(), error.detail = %detail, "request conflicted");
        }
        let fields = match &self {
            AppError::Validation(fields) => Some(fields.clone()),
            _ => None,
        };
        let body = ErrorBody { error: self.code().to_string(), message: self.public_message(), fields };
        let mut response = (status, Json(body)).into_response();
        if let AppError::TooManyRequests { retry_after_secs, .. } = &self {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(*retry_after_secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(e: AppError) -> (StatusCode, String) {
        let r = e.into_response();
        let status = r.status();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap_or_default();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn database_text_never_reaches_the_client() {
        let leaked = "UNIQUE constraint failed: contacts.kind, contacts.value";
        let (status, body) = body_of(StoreError::Conflict(leaked.into()).into()).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(!body.contains("UNIQUE") && !body.contains("contacts"), "{body}");
        assert!(body.contains("\"error\":\"conflict\""), "{body}");
        let (status, body) = body_of(StoreError::Config("relation \"secret_table\" does not exist".into()).into()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.contains("secret_table"), "{body}");
    }

    #[tokio::test]
    async fn too_many_requests_says_when_to_retry() {
        let r = AppError::TooManyRequests { message: "Too many requests.".into(), retry_after_secs: 42 }.into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("42"));
    }
}
