//! Periodic and deferred work as rows of one table (`jobs`), run by a runner in every process
//! that serves the database; a lease makes sure no two runners run the same job at once.
//!
//! - [`kinds`]: every kind of job, with its period and backoff (the one list);
//! - `crate::wiring::jobs`: what each kind does (all idempotent);
//! - [`runner`]: the loop that claims due jobs, runs them and records the outcome;
//! - [`admin`]: the admins' list of jobs (`GET /api/v1/admin/jobs`, `buurtnet admin jobs`).
//!
//! The table itself is `buurtnet_store::jobs`.

pub mod admin;
pub mod kinds;
pub mod runner;

pub use kinds::JobKind;

use serde::Deserialize;

/// The job runner of this process (`[jobs]` in the configuration file, `BUURTNET_JOBS__…`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// Run jobs in this process (`serve` and `worker`). Any number of processes may; each job
    /// runs in one at a time. Default true.
    pub enabled: bool,
    /// How often the runner looks for due jobs, in seconds. Default 5.
    pub poll_seconds: u64,
    /// How long a claim holds, in seconds; the runner renews it while the job runs, so only a
    /// runner that died leaves a job to be taken over, after this. Default 300.
    pub lease_seconds: u64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig { enabled: true, poll_seconds: 5, lease_seconds: 300 }
    }
}

impl JobsConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.poll_seconds == 0 || self.poll_seconds > 3600 {
            return Err("jobs.poll_seconds must be between 1 and 3600".into());
        }
        if self.lease_seconds < 10 || self.lease_seconds > 86_400 {
            return Err("jobs.lease_seconds must be between 10 and 86400".into());
        }
        Ok(())
    }
}
