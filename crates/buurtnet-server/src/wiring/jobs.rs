//! What each kind of job does: the job kinds (`crate::jobs::kinds`) connected to the
//! capabilities' upkeep and retention functions. Every handler is safe to run twice (also at once, should a lease
//! run out mid-run): it works from the database's state at the time it runs, and what must
//! happen once (a reminder) is claimed by a conditional update in the store.

use crate::alerting::engine;
use crate::jobs::JobKind;
use crate::state::AppState;
use buurtnet_store::jobs::JobRow;

/// Runs one claimed job of `kind`.
pub async fn run(state: &AppState, kind: JobKind, _job: &JobRow) -> anyhow::Result<()> {
    match kind {
        JobKind::ActionReminders => {
            engine::remind_open_actions(state).await?;
        }
        JobKind::DeliveryRetention => {
            engine::delete_old_deliveries(state).await?;
        }
        JobKind::ReplyPhotoRetention => {
            crate::replies::retention::apply_retention(state).await?;
        }
        JobKind::IdempotencyKeyPruning => {
            engine::prune_idempotency_keys(state).await?;
        }
        JobKind::ChangeFeedPruning => {
            buurtnet_targeting::replica::prune_change_feed(
                &state.store,
                state.now_ms(),
                state.config.replica.change_retention_minutes,
            )
            .await?;
        }
        JobKind::AbuseCounterPruning => {
            crate::abuse::prune(state).await?;
        }
        JobKind::QuarterlyReports => {
            crate::reports::quarterly_mail::send_due(state).await?;
        }
        JobKind::ParticipantConfirmation => {
            crate::reports::upkeep::run(state).await?;
        }
    }
    Ok(())
}
