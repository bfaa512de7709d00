//! Running the delivery engine in a process: the fan-out loops and `N` delivery workers
//! (`buurtnet serve --workers N`, `buurtnet worker`), the channel adapters chosen by the
//! configuration, the wake-ups that let this process's work start at once (other processes
//! poll), and the hooks the worker calls back into the capabilities through (a recipient's own
//! reply link from `replies`, the resident app's action page from `resident_app`).

use crate::config::Config;
use crate::state::AppState;
use anyhow::Context;
use buurtnet_delivery::fanout::{Fanout, FanoutConfig};
use buurtnet_delivery::sandbox::Sandbox;
use buurtnet_delivery::worker::{Links, Personal, PersonalLinks, Providers, Worker};
use buurtnet_delivery::{SmsHttp, Smtp, VoiceHttp};
use buurtnet_domain::Clock;
use buurtnet_store::Store;
use futures::future::BoxFuture;
use std::sync::Arc;
use tokio::sync::Notify;

/// Wake-ups within this process. Never needed for correctness: every loop also polls.
#[derive(Default)]
pub struct Engine {
    pub wake_fanout: Arc<Notify>,
    pub wake_workers: Arc<Notify>,
}

/// The channel adapters the configuration asks for: the sandbox for every channel, or the
/// real providers (`live`). Builds connection pools: call inside the runtime.
pub fn providers(
    config: &Config,
    store: &Store,
    clock: &Arc<dyn Clock>,
    push: &crate::push::PushSetup,
) -> anyhow::Result<Providers> {
    let p = &config.providers;
    match p.kind.as_str() {
        "sandbox" => Ok(Providers::all(Arc::new(Sandbox::new(store.clone(), clock.clone())))),
        "live" => {
            let smtp = p.smtp().context("providers.kind is live but no providers.smtp_url (BUURTNET_SMTP_URL) is set")?;
            Ok(Providers::new(
                Arc::new(push.provider(clock.clone())?),
                Arc::new(SmsHttp::new(&p.sms())?),
                Arc::new(VoiceHttp::new(&p.voice())?),
                Arc::new(Smtp::from_config(&smtp)?),
            ))
        }
        other => anyhow::bail!("unknown providers.kind '{other}': use sandbox or live"),
    }
}

/// The page behind `List-Unsubscribe`: where a resident asks for their self-service link.
/// Never a signed self-service link: alert e-mails are forwarded, and such a link opens the
/// whole account (export, delete).
struct AppLinks(AppState);

impl PersonalLinks for AppLinks {
    fn personal(&self, message_id: i64, participant_id: i64) -> BoxFuture<'_, Result<Option<Personal>, String>> {
        Box::pin(crate::replies::links::personal(&self.0, message_id, participant_id))
    }

    fn personal_many<'a>(&'a self, wants: &'a [(i64, i64)]) -> BoxFuture<'a, Result<Vec<Option<Personal>>, String>> {
        Box::pin(crate::replies::links::personal_many(&self.0, wants))
    }
}

impl Links for AppLinks {
    fn unsubscribe_url(&self, _participant_id: i64) -> Option<String> {
        Some(format!("{}/mijn", self.0.config.public_url()))
    }

    fn action_page_url(&self, delivery_id: i64) -> Option<String> {
        Some(crate::resident_app::links::page_url(&self.0, delivery_id))
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

/// This process's fan-out: its store and clock, the targeting behind its audience, its settings
/// and wake-ups.
pub fn fanout(state: &AppState) -> Fanout {
    let alerting = &state.config.alerting;
    Fanout {
        store: state.store.clone(),
        clock: state.clock.clone(),
        audience: Arc::new(super::audience::Targeting(state.clone())),
        config: FanoutConfig {
            lease_ms: i64::from(alerting.fanout_lease_seconds) * 1000,
            batch: alerting.worker.batch,
            device_batches: alerting.device_batches,
        },
        wake_fanout: state.engine.wake_fanout.clone(),
        wake_workers: state.engine.wake_workers.clone(),
    }
}

/// Claims one due fan-out and runs it (tests and tools step the fan-out by hand with it).
/// False when there was none.
pub async fn fanout_once(state: &AppState) -> anyhow::Result<bool> {
    fanout(state).fanout_once().await
}

/// Starts two fan-out loops and `workers` delivery workers (none when 0).
pub fn start(state: &AppState, workers: usize) -> Running {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut handles = Vec::new();
    if workers > 0 {
        let providers = state.providers.clone();
        let fanout = Arc::new(fanout(state));
        for _ in 0..2 {
            handles.push(tokio::spawn(fanout.clone().run(rx.clone())));
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
    Running { shutdown: tx, handles }
}
