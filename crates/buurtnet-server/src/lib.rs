//! buurtnet's server: the HTTP API and web pages, the application services behind them, and
//! the built-in sandbox providers.

pub mod abuse;
pub mod alerting;
pub mod auth;
pub mod config;
pub mod console;
pub mod enquiries;
pub mod error;
pub mod http;
pub mod i18n;
pub mod jobs;
pub mod media;
pub mod neighbourhoods;
pub mod policy;
pub mod publishing;
pub mod push;
pub mod replies;
pub mod reports;
pub mod resident_app;
pub mod secrets;
pub mod services;
pub mod signing;
pub mod state;
pub mod telemetry;
pub mod texts;
pub mod wiring;

pub use config::Config;
pub use state::{App, AppState};

/// Serves HTTP on `listener` until `shutdown` completes. Also loads the targeting replica in the
/// background and keeps it in step, runs this process's job runner ([`jobs`]: reminders,
/// retention, pruning; shared by every process through the jobs table) and the
/// [`housekeeping`] that belongs to this process alone.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The targeting replica: loaded here, never inside a request (counts read the database until
    // it is ready), then kept warm (it also catches up before every count) and saved now and then.
    // Not a job: the replica is this process's own memory and its snapshot file lies in this
    // process's own data folder, so every process catches up and saves its own.
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
    announce_sandbox(&state);
    let engine = wiring::engine::start(&state, state.config.alerting.workers);
    let job_runner = jobs::runner::start(&state);
    let router = http::router(state.clone());
    let live_feed = tokio::spawn(alerting::live::poll(state.clone()));
    let housekeeping = tokio::spawn(housekeeping(state));
    let result = axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    housekeeping.abort();
    live_feed.abort();
    replica.abort();
    engine.stop().await;
    if let Some(runner) = job_runner {
        runner.stop().await;
    }
    result
}

/// Says loudly when the sandbox providers are on (nothing reaches a real phone or mailbox, and
/// the sandbox pages hold every code and link) and when abuse limits are off.
fn announce_sandbox(state: &AppState) {
    if state.config.providers.kind == "sandbox" {
        let readable = if state.config.bind.ip().is_loopback() && state.config.local_operator_access {
            "from this machine (no proxy headers), or by an admin token"
        } else {
            "by an admin token only"
        };
        tracing::warn!(
            sandbox.readable = readable,
            "SANDBOX PROVIDERS: no SMS, call, e-mail or push leaves this server; every message, code and link is kept at /sandbox"
        );
    }
    if !state.config.abuse_limits.enabled {
        tracing::warn!("ABUSE LIMITS ARE OFF: public endpoints can be called without limit (load tests only)");
    }
}

/// Background upkeep of this process alone (shared upkeep is in the jobs table, see [`jobs`]):
/// pick up a changed secrets file (key rotation) every 5 s, keep the area index in memory in
/// step (another process may have imported new areas) and the address book likewise every 30 s, and set this process's
/// delivery queue gauges (its own `/metrics`) every 15 s.
async fn housekeeping(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    let mut n: u64 = 0;
    let path = state.config.secrets_path();
    let mut seen = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    loop {
        tick.tick().await;
        n += 1;
        if n.is_multiple_of(5) {
            let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
            if modified != seen {
                seen = modified;
                reload_secrets(&state, &path);
            }
        }
        if n.is_multiple_of(30)
            && let Err(e) = state.areas.refresh(&state.store).await
        {
            tracing::warn!(error = %e, "area index refresh failed");
        }
        if (n == 1 || n.is_multiple_of(30))
            && let Err(e) = state.geocoder.refresh_book(&state.store).await
        {
            tracing::warn!(error = %e, "address book refresh failed");
        }
        if n.is_multiple_of(15)
            && let Err(e) = alerting::engine::queue_metrics(&state).await
        {
            tracing::warn!(error = %format!("{e:#}"), "reading the delivery queue for its metrics failed");
        }
    }
}

fn reload_secrets(state: &AppState, path: &std::path::Path) {
    match secrets::read(path) {
        Ok(Some(file)) => {
            state.signer.set_keys(file.link_keys.iter().map(secrets::LinkKey::bytes).collect());
            tracing::info!(link_keys.count = file.link_keys.len(), "link-signing keys reloaded");
        }
        Ok(None) => tracing::error!(secrets.file = %path.display(), "the secrets file is gone; keeping the keys in memory"),
        Err(e) => tracing::error!(error = %format!("{e:#}"), "the secrets file cannot be read; keeping the keys in memory"),
    }
}
