//! The HTTP surface: JSON API under `/api/v1`, server-rendered pages, the sandbox, and
//! operations endpoints. Handlers are thin: extract → call a service → map the error.

mod api_alerting;
mod api_areas;
pub(crate) mod api_devices;
mod api_enquiries;
mod api_geocode;
mod api_jobs;
mod api_participants;
mod api_publishing;
mod api_staff;
mod api_targeting;
mod assets;
pub(crate) mod extract;
pub mod host_check;
pub mod openapi;
mod ops;
pub(crate) mod pages;
pub(crate) mod pages_reply;
pub mod panics;
pub mod requests;
pub mod routes;
mod sandbox;

use crate::state::AppState;
use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use std::time::{Duration, Instant};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use extract::RequestId;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub use routes::{Access, ApiRoute, RouteRule, api_routes};

pub fn router(state: AppState) -> Router {
    let mut api = Router::new();
    for (row, _) in routes::table() {
        let (_, paths, handler) = row;
        for path in paths.paths.keys() {
            api = api.route(path, handler.clone());
        }
    }
    let api =
        api.route_layer(middleware::from_fn_with_state(state.clone(), crate::policy::enforce)).fallback(api_staff::not_found);

    let mut app = Router::new()
        .nest("/api/v1", api)
        .merge(pages::routes())
        .merge(pages_reply::routes())
        .merge(crate::console::routes(&state))
        .merge(crate::resident_app::routes())
        .route("/media/{name}", get(api_alerting::media))
        .merge(assets::routes())
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics));
    if state.config.providers.kind == "sandbox" {
        app = app.route("/sandbox", get(sandbox::page)).route("/sandbox/api/messages", get(sandbox::messages));
    }
    app.layer(panics::layer(&state.handler_panics))
        .layer(middleware::from_fn(record_metrics))
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
        // Before anything else: a request naming a host that is not ours (DNS rebinding).
        .layer(middleware::from_fn_with_state(state.clone(), host_check::check))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(api_errors_as_json))
        .with_state(state)
}

/// Every error answer of the JSON API has our shape `{"error", "message"}`, also those made by
/// the framework (unknown method, bad path or query parameters, body too large, time-out).
async fn api_errors_as_json(req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/api/") && !req.uri().path().starts_with("/sandbox/api/") {
        return next.run(req).await;
    }
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.map(|b| String::from_utf8_lossy(&b).trim().to_string()).unwrap_or_default();
    let (code, message) = match status.as_u16() {
        400 if !text.is_empty() && text.len() < 300 => ("bad_request", format!("The request is not valid: {text}")),
        400 => ("bad_request", "The request is not valid.".to_string()),
        404 => ("not_found", "There is nothing at this address.".to_string()),
        405 => ("method_not_allowed", "This method is not allowed here.".to_string()),
        408 => ("timeout", "The request took too long; please try again.".to_string()),
        413 => ("payload_too_large", "The request body is too large (at most 1 MB).".to_string()),
        415 => ("unsupported_media_type", "Send the body as JSON with 'Content-Type: application/json'.".to_string()),
        422 => ("unprocessable", "The request could not be processed.".to_string()),
        s if s >= 500 => ("internal_error", "Something went wrong on our side. It has been logged.".to_string()),
        _ => ("error", status.canonical_reason().unwrap_or("Error").to_string()),
    };
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts.headers.insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let body = serde_json::json!({"error": code, "message": message}).to_string();
    Response::from_parts(parts, axum::body::Body::from(body))
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
    // Most answers carry someone's data (self-service, device exports, reply pages, the
    // console): no browser or proxy keeps them, unless a handler says what may be cached
    // (static assets, icons, public action photos).
    if !h.contains_key(axum::http::header::CACHE_CONTROL) {
        h.insert(axum::http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // Pages that set a policy of their own (the console: its map's tile origin) keep it.
    if !h.contains_key("content-security-policy") {
        h.insert(
            "content-security-policy",
            HeaderValue::from_static("default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"),
        );
    }
    resp
}
