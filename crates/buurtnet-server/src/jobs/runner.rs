//! The job runner: a loop in every process that serves the database (`serve`, `worker`; off
//! with `jobs.enabled = false`). Every `jobs.poll_seconds` it claims the due jobs one at a time,
//! runs each kind's handler, and records the outcome: a periodic job is made due again one
//! period later, a deferred job is deleted; a failure counts an attempt, keeps the error and
//! backs off exponentially. A claim holds for `jobs.lease_seconds` and is renewed while the job
//! runs, so a job runs in one process at a time, and a job whose runner died is taken over once
//! its lease has run out. Times come from the injectable clock.

use super::JobKind;
use crate::state::AppState;
use buurtnet_store::jobs::JobRow;
use std::time::Duration;

/// At most this many jobs per look (the rest wait for the next one).
const MAX_PER_POLL: usize = 100;

/// The runner's task in this process; [`Running::stop`] ends it after the job under way.
pub struct Running {
    shutdown: tokio::sync::watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
}

impl Running {
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.handle.await;
    }
}

/// Starts this process's runner, unless `jobs.enabled` is off.
pub fn start(state: &AppState) -> Option<Running> {
    if !state.config.jobs.enabled {
        tracing::info!("the job runner is off in this process (jobs.enabled = false)");
        return None;
    }
    let (tx, rx) = tokio::sync::watch::channel(false);
    let handle = tokio::spawn(run(state.clone(), rx));
    Some(Running { shutdown: tx, handle })
}

/// Makes sure every periodic kind has its row (due now when it is new). Every process does
/// this at start; the rows are unique, so there is one of each however many processes run.
pub async fn schedule(state: &AppState) -> anyhow::Result<()> {
    let now = state.now_ms();
    for kind in JobKind::ALL {
        if kind.period().is_some() && state.store.enqueue_job(kind.name(), "", "{}", now, now).await? {
            tracing::info!(job.kind = kind.name(), "periodic job scheduled");
        }
    }
    Ok(())
}

async fn run(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let poll = Duration::from_secs(state.config.jobs.poll_seconds.max(1));
    let mut scheduled = false;
    loop {
        if *shutdown.borrow() {
            return;
        }
        if !scheduled {
            match schedule(&state).await {
                Ok(()) => scheduled = true,
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "scheduling the periodic jobs failed; trying again"),
            }
        }
        if let Err(e) = run_due(&state).await {
            tracing::warn!(error = %format!("{e:#}"), "the job runner could not claim jobs");
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Claims and runs the jobs due now, one at a time, until none is left (or
/// [`MAX_PER_POLL`]). Returns how many ran (successfully or not).
pub async fn run_due(state: &AppState) -> anyhow::Result<usize> {
    let kinds = JobKind::names();
    let lease = lease(state);
    let mut ran = 0;
    while ran < MAX_PER_POLL {
        let token = crate::secrets::random_hex(8);
        let now = state.now_ms();
        let Some(job) = state.store.claim_job(&kinds, now, now + millis(lease), &token).await? else {
            break;
        };
        run_claimed(state, job, &token).await;
        ran += 1;
    }
    Ok(ran)
}

fn lease(state: &AppState) -> Duration {
    Duration::from_secs(state.config.jobs.lease_seconds.max(1))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Runs one claimed job, renewing its lease meanwhile, and records the outcome. Outcome
/// errors are logged: the claim then runs out and the job is taken up again.
async fn run_claimed(state: &AppState, job: JobRow, token: &str) {
    let started = std::time::Instant::now();
    let result = match JobKind::parse(&job.kind) {
        Some(kind) => with_lease(state, kind, &job, token).await.map(|()| kind),
        None => Err(anyhow::anyhow!("unknown kind of job '{}'", job.kind)),
    };
    let now = state.now_ms();
    let recorded = match &result {
        Ok(kind) => {
            metrics::counter!("buurtnet_jobs_total", "kind" => kind.name(), "outcome" => "done").increment(1);
            tracing::debug!(job.kind = %job.kind, job.key = %job.key, duration_ms = started.elapsed().as_millis() as u64, "job done");
            match kind.period() {
                Some(period) => state.store.reschedule_job(&job.kind, &job.key, token, now, now + millis(period)).await,
                None => state.store.finish_job(&job.kind, &job.key, token).await,
            }
        }
        Err(e) => {
            let attempts = job.attempts + 1;
            let kind = JobKind::parse(&job.kind);
            // Periodic jobs keep backing off; a deferred job is given up after its attempts.
            let retry_at = match kind {
                Some(k) if k.period().is_some() || attempts < k.max_attempts() => Some(now + millis(k.backoff().after(attempts))),
                _ => None,
            };
            metrics::counter!("buurtnet_jobs_total", "kind" => kind.map_or("unknown", JobKind::name), "outcome" => "failed")
                .increment(1);
            tracing::warn!(
                job.kind = %job.kind,
                job.key = %job.key,
                job.attempts = attempts,
                job.given_up = retry_at.is_none(),
                error = %format!("{e:#}"),
                "job failed"
            );
            state.store.fail_job(&job.kind, &job.key, token, now, &format!("{e:#}"), retry_at).await
        }
    };
    match recorded {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(job.kind = %job.kind, job.key = %job.key, "the job's claim was taken over; its outcome is left to the newer claim")
        }
        Err(e) => {
            tracing::warn!(job.kind = %job.kind, job.key = %job.key, error = %e, "recording a job's outcome failed; it runs again after its lease")
        }
    }
}

/// Runs the handler while renewing the claim every third of the lease. Stops (an error) when
/// the claim was taken over, so that two runners never carry on with one job.
async fn with_lease(state: &AppState, kind: JobKind, job: &JobRow, token: &str) -> anyhow::Result<()> {
    let lease = lease(state);
    let work = crate::wiring::jobs::run(state, kind, job);
    tokio::pin!(work);
    let mut renew = tokio::time::interval(lease / 3);
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    renew.tick().await;
    loop {
        tokio::select! {
            r = &mut work => return r,
            _ = renew.tick() => {
                let until = state.now_ms() + millis(lease);
                match state.store.extend_job_lease(&job.kind, &job.key, token, until).await {
                    Ok(true) => {}
                    Ok(false) => anyhow::bail!("the claim on this job was taken over by another runner"),
                    Err(e) => tracing::warn!(job.kind = %job.kind, error = %e, "renewing a job's lease failed"),
                }
            }
        }
    }
}
