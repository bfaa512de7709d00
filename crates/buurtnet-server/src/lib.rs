//! buurtnet's server: the HTTP API and web pages, the application services behind them, and
//! the built-in sandbox providers.

pub mod auth;
pub mod config;
pub mod error;
pub mod http;
pub mod i18n;
pub mod services;
pub mod signing;
pub mod state;
pub mod telemetry;
pub mod texts;

pub use config::Config;
pub use state::{App, AppState};

/// Serves HTTP on `listener` until `shutdown` completes. Also keeps the area index in step with
/// the database (another process may have imported new areas).
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let refresher = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = state.areas.refresh(&state.store).await {
                    tracing::warn!(error = %e, "area index refresh failed");
                }
            }
        })
    };
    let result = axum::serve(listener, http::router(state)).with_graceful_shutdown(shutdown).await;
    refresher.abort();
    result
}
