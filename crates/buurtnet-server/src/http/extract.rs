//! Extractors that turn bad input into our own clear errors instead of axum's plain-text ones.

use crate::error::AppError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde_json::Value;

/// A JSON body as a `Value`; syntax errors and wrong content types become 400s with a message.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json"));
        if !is_json {
            return Err(AppError::bad_request(
                "unsupported_media_type",
                "Send the body as JSON with 'Content-Type: application/json'.",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge("The request body is too large (at most 1 MB).".into())
            } else {
                AppError::bad_request("body_unreadable", "The request body could not be read.")
            }
        })?;
        let value = serde_json::from_slice(&bytes).map_err(|e| {
            AppError::bad_request(
                "invalid_json",
                format!("The body is not valid JSON (line {}, column {}): {e}", e.line(), e.column()),
            )
        })?;
        Ok(JsonBody(value))
    }
}

/// The request id set by the request-id layer, shown on error pages.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestId(parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").to_string()))
    }
}

/// Reads a JSON body into its type; a field of the wrong type is a 422 naming it.
pub fn typed<T: serde::de::DeserializeOwned>(body: serde_json::Value) -> crate::error::AppResult<T> {
    if !body.is_object() {
        return Err(crate::error::AppError::bad_request("invalid_body", "The body must be a JSON object."));
    }
    serde_path_to_error::deserialize(body).map_err(|e| {
        let field = e.path().to_string();
        crate::error::AppError::invalid(&field, "invalid_type", format!("This field has the wrong type: {}", e.inner()))
    })
}
