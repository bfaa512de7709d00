//! Alerting's upkeep, run by the job runner (see `crate::wiring::jobs`): reminders for actions
//! open too long, the retention of delivery rows, the pruning of idempotency keys; and this
//! process's delivery queue gauges. Starting the fan-out and the workers is the wiring's
//! (`crate::wiring::engine`).

use crate::state::AppState;

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
