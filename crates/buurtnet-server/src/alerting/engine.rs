//! Running the engine in a process: the fan-out loops and `N` delivery workers (`buurtnet serve
//! --workers N`, `buurtnet worker`), the channel adapters chosen by the configuration, and the
//! wake-ups that let this process's work start at once (other processes poll).

use crate::state::{App, AppState};
use buurtnet_delivery::sandbox::Sandbox;
use buurtnet_delivery::worker::{Links, Providers, Worker};
use std::sync::Arc;
use tokio::sync::Notify;

/// Wake-ups within this process. Never needed for correctness: every loop also polls.
#[derive(Default)]
pub struct Engine {
    pub wake_fanout: Arc<Notify>,
    pub wake_workers: Arc<Notify>,
}

/// The channel adapters the configuration asks for.
pub fn providers(app: &App) -> anyhow::Result<Providers> {
    match app.config.providers.kind.as_str() {
        "sandbox" => Ok(Providers::all(Arc::new(Sandbox::new(app.store.clone(), app.clock.clone())))),
        other => anyhow::bail!("unknown providers.kind '{other}': use sandbox"),
    }
}

/// Self-service links in e-mails (`List-Unsubscribe`).
struct AppLinks(AppState);

impl Links for AppLinks {
    fn unsubscribe_url(&self, participant_id: i64) -> Option<String> {
        Some(crate::services::participants::self_service_link(&self.0, participant_id))
    }
}

/// The engine's tasks in this process; [`Running::stop`] ends them.
pub struct Running {
    shutdown: tokio::sync::watch::Sender<bool>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Asks every loop to stop after its current batch and waits for them.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for h in self.handles {
            let _ = h.await;
        }
    }
}

/// Starts two fan-out loops and `workers` delivery workers (none when 0).
pub fn start(state: &AppState, workers: usize) -> anyhow::Result<Running> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut handles = Vec::new();
    if workers > 0 {
        let providers = providers(state)?;
        for _ in 0..2 {
            handles.push(tokio::spawn(super::fanout::run(state.clone(), rx.clone())));
        }
        for _ in 0..workers {
            let worker = Arc::new(Worker::new(
                state.store.clone(),
                state.clock.clone(),
                providers.clone(),
                Arc::new(AppLinks(state.clone())),
                state.config.alerting.worker.clone(),
                state.engine.wake_workers.clone(),
            ));
            handles.push(tokio::spawn(worker.run(rx.clone())));
        }
        tracing::info!(workers, providers = %state.config.providers.kind, "delivery engine started");
    }
    Ok(Running { shutdown: tx, handles })
}

/// Upkeep for every serving process: reminders for actions open too long (once per action,
/// across processes), queue metrics, and old idempotency keys.
pub async fn upkeep(state: &AppState, tick: u64) -> anyhow::Result<()> {
    let now = state.now_ms();
    let cutoff = now - i64::from(state.config.alerting.reminder_minutes) * 60_000;
    for (action, dispatcher) in state.store.due_reminders(cutoff, now).await? {
        tracing::warn!(action.id = action, staff.id = dispatcher, "action still open: reminding its dispatcher");
        state
            .store
            .audit(
                now,
                "system",
                "action.reminder",
                Some(&format!("action:{action}")),
                &serde_json::json!({"dispatcher": dispatcher}),
            )
            .await?;
        metrics::counter!("buurtnet_action_reminders_total").increment(1);
    }
    if tick.is_multiple_of(3) {
        let (depth, oldest_ms) = state.store.queue_depth(now).await?;
        metrics::gauge!("buurtnet_delivery_queue_depth").set(depth as f64);
        metrics::gauge!("buurtnet_delivery_oldest_pending_seconds").set(oldest_ms as f64 / 1000.0);
        for (channel, st, n) in state.store.delivery_totals().await? {
            metrics::gauge!("buurtnet_deliveries", "channel" => channel, "state" => st).set(n as f64);
        }
    }
    if tick.is_multiple_of(60) {
        state.store.prune_idempotency_keys(now - 24 * 3600 * 1000).await?;
    }
    Ok(())
}
