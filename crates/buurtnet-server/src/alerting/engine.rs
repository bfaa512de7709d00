//! Running the engine in a process: the fan-out loops and `N` delivery workers (`buurtnet serve
//! --workers N`, `buurtnet worker`), the channel adapters chosen by the configuration, and the
//! wake-ups that let this process's work start at once (other processes poll).

use crate::config::Config;
use crate::state::AppState;
use anyhow::Context;
use buurtnet_delivery::sandbox::Sandbox;
use buurtnet_delivery::worker::{Links, Providers, Worker};
use buurtnet_delivery::{SmsHttp, Smtp, VoiceHttp};
use buurtnet_domain::Clock;
use buurtnet_store::Store;
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

impl buurtnet_delivery::worker::PersonalLinks for AppLinks {
    fn personal(
        &self,
        message_id: i64,
        participant_id: i64,
    ) -> futures::future::BoxFuture<'_, Result<Option<buurtnet_delivery::worker::Personal>, String>> {
        Box::pin(crate::enquiries::links::personal(&self.0, message_id, participant_id))
    }

    fn personal_many<'a>(
        &'a self,
        wants: &'a [(i64, i64)],
    ) -> futures::future::BoxFuture<'a, Result<Vec<Option<buurtnet_delivery::worker::Personal>>, String>> {
        Box::pin(crate::enquiries::links::personal_many(&self.0, wants))
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

/// Starts two fan-out loops and `workers` delivery workers (none when 0).
pub fn start(state: &AppState, workers: usize) -> Running {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut handles = Vec::new();
    if workers > 0 {
        let providers = state.providers.clone();
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
    Running { shutdown: tx, handles }
}

/// Reminds the dispatchers of actions open too long (once per action, across processes: the
/// store marks each reminded in the same statement that finds it): audit log, log line and an
/// e-mail. Run by the job runner (`action.reminders`). Returns how many were reminded.
pub async fn remind_open_actions(state: &AppState) -> anyhow::Result<usize> {
    let now = state.now_ms();
    let cutoff = now - i64::from(state.config.alerting.reminder_minutes) * 60_000;
    let due = state.store.due_reminders(cutoff, now).await?;
    for &(action, dispatcher) in &due {
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
        remind_by_email(state, action, dispatcher).await?;
    }
    Ok(due.len())
}

/// This process's delivery queue gauges (`/metrics` is per process, so every process sets its
/// own; not a job).
pub async fn queue_metrics(state: &AppState) -> anyhow::Result<()> {
    let (depth, oldest_ms) = state.store.queue_depth(state.now_ms()).await?;
    metrics::gauge!("buurtnet_delivery_queue_depth").set(depth as f64);
    metrics::gauge!("buurtnet_delivery_oldest_pending_seconds").set(oldest_ms as f64 / 1000.0);
    for (channel, st, n) in state.store.delivery_totals().await? {
        metrics::gauge!("buurtnet_deliveries", "channel" => channel, "state" => st).set(n as f64);
    }
    Ok(())
}

/// Deletes the delivery rows of up to 100 messages past their retention (their counts are
/// kept on the message). Run by the job runner (`deliveries.retention`).
pub async fn delete_old_deliveries(state: &AppState) -> anyhow::Result<u64> {
    let cutoff = state.now_ms() - i64::from(state.config.alerting.delivery_retention_days) * 86_400_000;
    let (messages, rows) = state.store.archive_deliveries(cutoff, 100).await?;
    if messages > 0 {
        tracing::info!(messages, deliveries = rows, "old delivery rows deleted, their counts kept");
    }
    Ok(messages)
}

/// Forgets idempotency keys of staff requests older than a day. Run by the job runner
/// (`idempotency_keys.prune`).
pub async fn prune_idempotency_keys(state: &AppState) -> anyhow::Result<u64> {
    Ok(state.store.prune_idempotency_keys(state.now_ms() - 24 * 3600 * 1000).await?)
}

/// The reminder also reaches the dispatcher by e-mail (Dutch and English), at their work address;
/// it names the action by id and kind only.
async fn remind_by_email(state: &AppState, action: i64, dispatcher: i64) -> anyhow::Result<()> {
    let (Some(staff), Some(a)) = (state.store.staff_user(dispatcher).await?, state.store.action(action).await?) else {
        return Ok(());
    };
    if staff.disabled {
        return Ok(());
    }
    let minutes = state.config.alerting.reminder_minutes;
    let link = format!("{}/api/v1/actions/{action}", state.config.public_url());
    let subject = format!("Herinnering: actie {action} staat nog open / Reminder: action {action} is still open");
    let body = format!(
        "Uw actie {action} ({kind}) is meer dan {minutes} minuten geleden verstuurd en staat nog open. \
         Stuur een update of sluit haar af met de uitkomst: {link}\n\n\
         Your action {action} ({kind}) was sent more than {minutes} minutes ago and is still open. \
         Send an update or close it with its outcome: {link}\n",
        kind = a.kind
    );
    state.notifier.send_email(&staff.email, &subject, &body).await?;
    Ok(())
}
