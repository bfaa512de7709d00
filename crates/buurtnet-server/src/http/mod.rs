//! The HTTP surface: JSON API under `/api/v1`, server-rendered pages, the sandbox, and
//! operations endpoints. Handlers are thin: extract → call a service → map the error.

mod api_areas;
mod api_participants;
mod api_staff;
mod api_targeting;
mod extract;
mod ops;
mod pages;
mod sandbox;

use crate::state::AppState;
use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use std::time::{Duration, Instant};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use extract::RequestId;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/areas", get(api_areas::list))
        .route("/areas/at", get(api_areas::at))
        .route("/areas/{code}", get(api_areas::one))
        .route("/participants", post(api_participants::register))
        .route("/participants/verify-email", post(api_participants::verify_email))
        .route("/participants/verify-phone", post(api_participants::verify_phone))
        .route("/participants/resend-code", post(api_participants::resend_code))
        .route("/participants/self-service-link", post(api_participants::self_service_link))
        .route(
            "/self-service/{token}",
            get(api_participants::export).patch(api_participants::update).delete(api_participants::delete),
        )
        .route("/staff/me", get(api_staff::me))
        .route("/targeting/count", post(api_targeting::count))
        .route("/stats/participants", get(api_staff::participant_stats))
        .fallback(api_staff::not_found);

    let mut app = Router::new()
        .nest("/api/v1", api)
        .merge(pages::routes())
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics));
    if state.config.providers.kind == "sandbox" {
        app = app.route("/sandbox", get(sandbox::page)).route("/sandbox/api/messages", get(sandbox::messages));
    }
    app.layer(middleware::from_fn(record_metrics))
        .layer(axum::extract::DefaultBodyLimit::max(1024 * 1024))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // The route template, never the full URL: links carry tokens.
            let route =
                req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
            let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
            tracing::info_span!("request", http.method = %req.method(), http.route = %route, request.id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("buurtnet_http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("buurtnet_http_request_duration_seconds", "route" => route).record(start.elapsed().as_secs_f64());
    resp
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"),
    );
    resp
}
