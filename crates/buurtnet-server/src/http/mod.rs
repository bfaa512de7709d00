//! The HTTP surface: JSON API under `/api/v1`, server-rendered pages, the sandbox, and
//! operations endpoints. Handlers are thin: extract → call a service → map the error.

mod api_alerting;
mod api_areas;
pub(crate) mod api_devices;
mod api_enquiries;
mod api_jobs;
mod api_participants;
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
mod sandbox;

use crate::resident_app::api as app_api;
use crate::state::AppState;
use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodRouter, get, patch, post};
use std::time::{Duration, Instant};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use extract::RequestId;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// One route of the JSON API: its path template under `/api/v1` and the methods it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiRoute {
    pub path: &'static str,
    pub methods: &'static [&'static str],
}

/// The JSON API's route table: the router is built from it, and tests (and the OpenAPI
/// document) enumerate it, so a route cannot be added without being seen.
fn api_table() -> Vec<(ApiRoute, MethodRouter<AppState>)> {
    let r = |path, methods| ApiRoute { path, methods };
    vec![
        (r("/openapi.json", &["GET"]), get(openapi_document)),
        (r("/areas", &["GET"]), get(api_areas::list)),
        (r("/areas/at", &["GET"]), get(api_areas::at)),
        (r("/areas/{code}", &["GET"]), get(api_areas::one)),
        (r("/admin/area-imports", &["GET"]), get(api_areas::imports)),
        (r("/admin/jobs", &["GET"]), get(api_jobs::list)),
        (r("/participants", &["POST"]), post(api_participants::register)),
        (r("/participants/verify-email", &["POST"]), post(api_participants::verify_email)),
        (r("/participants/verify-phone", &["POST"]), post(api_participants::verify_phone)),
        (r("/participants/resend-code", &["POST"]), post(api_participants::resend_code)),
        (r("/participants/self-service-link", &["POST"]), post(api_participants::self_service_link)),
        (
            r("/self-service/{token}", &["GET", "PATCH", "DELETE"]),
            get(api_participants::export).patch(api_participants::update).delete(api_participants::delete),
        ),
        (r("/self-service/{token}/devices/{id}", &["DELETE"]), axum::routing::delete(api_participants::unlink_device)),
        (r("/staff/me", &["GET"]), get(api_staff::me)),
        (r("/targeting/count", &["POST"]), post(api_targeting::count)),
        (r("/stats/participants", &["GET"]), get(api_staff::participant_stats)),
        (r("/actions", &["GET", "POST"]), get(api_alerting::list_actions).post(api_alerting::create_action)),
        (r("/actions/live", &["GET"]), get(api_alerting::staff_live)),
        (r("/actions/{id}", &["GET"]), get(api_alerting::get_action)),
        (r("/actions/{id}/approve", &["POST"]), post(api_alerting::approve_action)),
        (r("/actions/{id}/send", &["POST"]), post(api_alerting::send_action)),
        (r("/actions/{id}/update", &["POST"]), post(api_alerting::update_action)),
        (r("/actions/{id}/close", &["POST"]), post(api_alerting::close_action)),
        (r("/actions/{id}/cancel", &["POST"]), post(api_alerting::cancel_action)),
        (r("/actions/{id}/tips", &["GET"]), get(api_enquiries::tips)),
        (
            r("/actions/{id}/photos", &["POST"]),
            post(api_alerting::add_photo).layer(axum::extract::DefaultBodyLimit::max(crate::media::MAX_UPLOAD_BYTES + 4096)),
        ),
        (r("/messages", &["POST"]), post(api_alerting::create_message)),
        (r("/messages/{id}", &["GET"]), get(api_alerting::get_message)),
        (r("/messages/{id}/approve", &["POST"]), post(api_alerting::approve_message)),
        (r("/deliveries/dead", &["GET"]), get(api_alerting::dead_letters)),
        (r("/deliveries/{id}/retry", &["POST"]), post(api_alerting::retry_delivery)),
        (r("/messages/{id}/retry-dead", &["POST"]), post(api_alerting::retry_dead_of_message)),
        (r("/live", &["GET"]), get(api_alerting::public_live)),
        (r("/providers/sms/reports", &["POST"]), post(api_alerting::sms_reports)),
        (r("/enquiries", &["GET", "POST"]), get(api_enquiries::list).post(api_enquiries::create)),
        (r("/enquiries/monthly", &["GET"]), get(api_enquiries::monthly)),
        (r("/enquiries/{id}", &["GET"]), get(api_enquiries::one)),
        (r("/enquiries/{id}/approve", &["POST"]), post(api_enquiries::approve)),
        (r("/enquiries/{id}/return", &["POST"]), post(api_enquiries::give_back)),
        (r("/enquiries/{id}/close", &["POST"]), post(api_enquiries::close)),
        (
            r("/enquiries/{id}/photo", &["POST"]),
            post(api_enquiries::add_photo)
                .layer(axum::extract::DefaultBodyLimit::max(crate::enquiries::photos::MAX_PHOTO_BYTES + 4096)),
        ),
        (r("/enquiries/{id}/replies", &["GET"]), get(api_enquiries::replies_of)),
        (r("/replies/{id}/classify", &["POST"]), post(api_enquiries::classify)),
        (r("/replies/{id}/forward", &["POST"]), post(api_enquiries::forward)),
        (r("/replies/{id}/answer", &["POST"]), post(api_enquiries::answer)),
        (r("/reply-photos/{id}", &["GET"]), get(api_enquiries::photo)),
        // Web Push: the VAPID public key and devices registered on their own.
        (r("/push/public-key", &["GET"]), get(api_devices::public_key)),
        (r("/devices", &["POST"]), post(api_devices::register)),
        (r("/devices/{id}", &["PATCH", "DELETE"]), patch(api_devices::update).delete(api_devices::delete)),
        // The resident app (PWA).
        (r("/app/config", &["GET"]), get(app_api::config)),
        (r("/app/devices/{id}", &["GET"]), get(app_api::export_device)),
        (r("/app/devices/{id}/actions", &["GET"]), get(app_api::device_actions)),
        (r("/app/devices/{id}/open/{action}", &["GET"]), get(app_api::open_action)),
        (r("/app/devices/{id}/link", &["POST"]), post(app_api::link_device)),
        (r("/app/actions/{link}", &["GET"]), get(app_api::action_page)),
        (
            r("/app/actions/{link}/tips", &["POST"]),
            post(app_api::send_tip).layer(axum::extract::DefaultBodyLimit::max(app_api::MAX_TIP_BYTES)),
        ),
    ]
}

/// `GET /api/v1/openapi.json`: the OpenAPI 3.1 document, made from the route table.
async fn openapi_document() -> axum::Json<serde_json::Value> {
    axum::Json(openapi::document(&api_routes()))
}

/// Every route of the JSON API (paths relative to `/api/v1`).
pub fn api_routes() -> Vec<ApiRoute> {
    api_table().into_iter().map(|(route, _)| route).collect()
}

pub fn router(state: AppState) -> Router {
    let mut api = Router::new();
    for (route, handler) in api_table() {
        api = api.route(route.path, handler);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_described() {
        let routes = api_routes();
        assert_eq!(openapi::undescribed(&routes), Vec::<String>::new(), "describe these routes in http/openapi.rs");
        let doc = openapi::document(&routes);
        assert_eq!(doc["openapi"], "3.1.0");
        for r in &routes {
            for m in r.methods {
                let op = &doc["paths"][r.path][m.to_lowercase()];
                assert!(op["summary"].is_string() && op["responses"].is_object(), "{m} {}", r.path);
            }
        }
        assert_eq!(doc["paths"].as_object().map(|p| p.len()), Some(routes.len()));
    }
}
