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

/// Serves HTTP on `listener` until `shutdown` completes. Also loads the targeting replica in the
/// background and keeps it in step, prunes the change feed, and keeps the area index in step with
/// the database (another process may have imported new areas).
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The targeting replica: loaded here, never inside a request (counts read the database until
    // it is ready), then kept warm (it also catches up before every count) and saved now and then.
    let replica = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            let mut n: u64 = 0;
            loop {
                tick.tick().await;
                n += 1;
                if (state.config.replica.load || state.live.is_ready())
                    && let Err(e) = state.live.catch_up(&state.store).await
                {
                    tracing::warn!(error = %e, "targeting replica catch-up failed");
                }
                if n.is_multiple_of(600) {
                    state.live.save_in_background();
                }
            }
        })
    };
    let refresher = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            let mut n: u64 = 0;
            loop {
                tick.tick().await;
                n += 1;
                if n.is_multiple_of(60)
                    && let Err(e) = services::live_index::prune_change_feed(&state).await
                {
                    tracing::warn!(error = %e, "pruning the change feed failed");
                }
                if n.is_multiple_of(30)
                    && let Err(e) = state.areas.refresh(&state.store).await
                {
                    tracing::warn!(error = %e, "area index refresh failed");
                }
            }
        })
    };
    let result = axum::serve(listener, http::router(state)).with_graceful_shutdown(shutdown).await;
    refresher.abort();
    replica.abort();
    result
}
