//! Operations: liveness, readiness, metrics.

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

pub async fn healthz() -> &'static str {
    "ok"
}

/// What is ready: 200 while the database answers (counting works, from the database while the
/// targeting replica loads, slower), 503 when it does not.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let replica = if state.live.is_ready() {
        "ready"
    } else if state.config.replica.load {
        "loading"
    } else {
        "off"
    };
    let (status, database) = match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "unreachable")
        }
    };
    (status, Json(json!({"database": database, "targeting_replica": replica, "change_seq": state.live.snapshot().seq})))
}

/// Prometheus metrics: for this machine or an admin token (see `OperatorAccess`); the figures
/// move with what residents do and must not be public.
pub async fn metrics(State(state): State<AppState>, _: super::sandbox::OperatorAccess) -> impl IntoResponse {
    let body = state.metrics.as_ref().map(|h| h.render()).unwrap_or_default();
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
