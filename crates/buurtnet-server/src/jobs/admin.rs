//! The admins' view of the jobs table: every job with its state, due time, attempts and last
//! error (`GET /api/v1/admin/jobs`, `buurtnet admin jobs`). Jobs are work of the whole
//! deployment, so the API shows them to admins with a national scope only (like area imports).

use crate::alerting::views::iso;
use crate::auth::StaffUser;
use crate::error::AppResult;
use crate::state::AppState;
use buurtnet_domain::Operation;
use buurtnet_store::jobs::JobRow;
use serde::Serialize;
use utoipa::ToSchema;

/// Every job (or, with `failed_only`, those whose last run failed or that were given up).
pub async fn list(state: &AppState, user: &StaffUser, failed_only: bool) -> AppResult<JobList> {
    user.require(Operation::ReadJobs)?;
    let now = state.now_ms();
    let jobs = state.store.jobs(failed_only).await?.iter().map(|j| view(j, now)).collect();
    Ok(JobList { jobs })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobList {
    pub jobs: Vec<JobView>,
}

/// One job as the API shows it (times in RFC 3339).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobView {
    pub kind: String,
    pub key: String,
    pub state: String,
    pub due_at: Option<String>,
    pub attempts: i64,
    pub runs: i64,
    pub last_error: Option<String>,
    pub last_started_at: Option<String>,
    pub last_finished_at: Option<String>,
    pub lease_until: Option<String>,
    pub given_up_at: Option<String>,
}

pub fn view(j: &JobRow, now: i64) -> JobView {
    JobView {
        kind: j.kind.clone(),
        key: j.key.clone(),
        state: j.state(now).to_string(),
        due_at: iso(j.due_at),
        attempts: j.attempts,
        runs: j.runs,
        last_error: j.last_error.clone(),
        last_started_at: j.last_started_at.and_then(iso),
        last_finished_at: j.last_finished_at.and_then(iso),
        lease_until: j.lease_until.filter(|l| *l >= now).and_then(iso),
        given_up_at: j.failed_at.and_then(iso),
    }
}

/// The jobs as a text table (the CLI's `admin jobs`).
pub fn table(jobs: &[JobRow], now: i64) -> String {
    let time = |t: Option<i64>| {
        t.and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_else(|| "-".into())
    };
    let mut out =
        format!("{:<24} {:<10} {:<9} {:<24} {:>8} {:>8}  last error\n", "kind", "key", "state", "due", "attempts", "runs");
    for j in jobs {
        let error = j.last_error.as_deref().unwrap_or("-").replace('\n', " ");
        out.push_str(&format!(
            "{:<24} {:<10} {:<9} {:<24} {:>8} {:>8}  {}\n",
            j.kind,
            if j.key.is_empty() { "-" } else { &j.key },
            j.state(now),
            time(Some(j.due_at)),
            j.attempts,
            j.runs,
            error
        ));
    }
    out
}
