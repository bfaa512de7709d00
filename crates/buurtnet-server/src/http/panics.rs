//! A request handler that panics answers 500 with our JSON error shape instead of dropping the
//! connection, and is counted (per process, [`crate::state::App::handler_panics`], and in the
//! metric `buurtnet_handler_panics_total`) so that tests fail on it even where the client got an
//! answer. The panic's own message is not logged here: it may quote the input.

use axum::http::{StatusCode, header};
use axum::response::Response;
use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tower_http::catch_panic::CatchPanicLayer;

/// Panics caught in request handlers of one process.
#[derive(Debug, Default, Clone)]
pub struct HandlerPanics(Arc<AtomicU64>);

impl HandlerPanics {
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The layer: counts the panic, logs that it happened (in the request's span, so with its route
/// and request id) and answers 500.
pub fn layer(
    panics: &HandlerPanics,
) -> CatchPanicLayer<impl Fn(Box<dyn Any + Send + 'static>) -> Response<String> + Clone + Send + Sync + 'static> {
    let counter = panics.0.clone();
    CatchPanicLayer::custom(move |_payload: Box<dyn Any + Send + 'static>| {
        counter.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("buurtnet_handler_panics_total").increment(1);
        tracing::error!("a request handler panicked; answered 500");
        let body =
            serde_json::json!({"error": "internal_error", "message": "Something went wrong on our side. It has been logged."});
        let mut resp = Response::new(body.to_string());
        *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        resp.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
        resp
    })
}
