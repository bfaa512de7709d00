//! The jobs table: periodic and deferred work, claimed under a lease by the job runner of any
//! process that serves the database (`buurtnet-server`'s `jobs` folder lists the kinds and runs
//! them).
//!
//! A job is named by its kind and a key, unique together: enqueueing the same job twice leaves
//! one row, so a periodic job is one row that is rescheduled after every run, and a deferred job
//! asked for twice runs once. A claim sets `lease_until` and a random `lease_token`; only that
//! claim may record the outcome, so a runner whose lease ran out (and whose job another runner
//! took over) cannot overwrite the newer claim's result. Claims use `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL; on SQLite (one writer at a time) the claim is one conditional `UPDATE`.

use crate::{Pool, Store, StoreError};
use serde::Serialize;
use sqlx::FromRow;

/// One row of the jobs table.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, Serialize)]
pub struct JobRow {
    pub kind: String,
    pub key: String,
    /// What a deferred job works on (JSON); `{}` for periodic jobs.
    pub payload: String,
    /// When it is due next (or again, after a failure).
    pub due_at: i64,
    /// The end of the current claim, if one was made (past: the claim ran out).
    pub lease_until: Option<i64>,
    #[serde(skip)]
    pub lease_token: Option<String>,
    /// Failures in a row; a success sets it back to 0.
    pub attempts: i64,
    /// Successful runs.
    pub runs: i64,
    /// The last failure's message (cleared by a success).
    pub last_error: Option<String>,
    pub last_started_at: Option<i64>,
    pub last_finished_at: Option<i64>,
    /// Set when a deferred job used up its attempts: it is not run again.
    pub failed_at: Option<i64>,
    pub created_at: i64,
}

impl JobRow {
    /// `running` (claimed, lease not run out), `given_up`, `retrying` (failed, due again at
    /// `due_at`) or `waiting`.
    pub fn state(&self, now: i64) -> &'static str {
        if self.failed_at.is_some() {
            "given_up"
        } else if self.lease_until.is_some_and(|l| l >= now) {
            "running"
        } else if self.attempts > 0 {
            "retrying"
        } else {
            "waiting"
        }
    }
}

/// A job is claimable when it is due, not given up, and not under a claim that still holds.
const CLAIMABLE: &str = "due_at <= $1 AND failed_at IS NULL AND (lease_until IS NULL OR lease_until < $1)";

/// The longest error message kept.
const MAX_ERROR_CHARS: usize = 1000;

impl Store {
    /// Adds the job `(kind, key)` due at `due_at`, unless it exists (then nothing changes).
    /// Returns whether it was added. Safe to call from every process at every start.
    pub async fn enqueue_job(&self, kind: &str, key: &str, payload: &str, due_at: i64, now: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query(
                "INSERT INTO jobs (kind, key, payload, due_at, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (kind, key) DO NOTHING",
            )
            .bind(kind)
            .bind(key)
            .bind(payload)
            .bind(due_at)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Claims the job of one of `kinds` that has been due longest (a claim whose lease ran out
    /// is due again) until `lease_until`, under `token`. `None` when none is due. Never hands
    /// the same job to two runners while a claim holds.
    pub async fn claim_job(&self, kinds: &[&str], now: i64, lease_until: i64, token: &str) -> Result<Option<JobRow>, StoreError> {
        let kinds_json = serde_json::to_string(kinds).map_err(|e| StoreError::Config(format!("job kinds: {e}")))?;
        let set = "SET lease_until = $2, lease_token = $3, last_started_at = $1";
        let row = match &self.pool {
            Pool::Postgres(p) => {
                let sql = format!(
                    "UPDATE jobs {set} WHERE (kind, key) = (
                       SELECT kind, key FROM jobs WHERE {CLAIMABLE} AND kind IN (SELECT json_array_elements_text($4::json))
                       ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED)
                     RETURNING *"
                );
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(now)
                    .bind(lease_until)
                    .bind(token)
                    .bind(&kinds_json)
                    .fetch_optional(p)
                    .await?
            }
            Pool::Sqlite(p) => {
                // One statement: SQLite runs one writer at a time, and the condition is checked
                // again on the row it updates.
                let sql = format!(
                    "UPDATE jobs {set} WHERE (kind, key) = (
                       SELECT kind, key FROM jobs WHERE {CLAIMABLE} AND kind IN (SELECT value FROM json_each($4))
                       ORDER BY due_at LIMIT 1)
                     AND {CLAIMABLE}
                     RETURNING *"
                );
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(now)
                    .bind(lease_until)
                    .bind(token)
                    .bind(&kinds_json)
                    .fetch_optional(p)
                    .await?
            }
        };
        Ok(row)
    }

    /// Moves a held claim's lease on (a long run). False when the claim is no longer `token`'s.
    pub async fn extend_job_lease(&self, kind: &str, key: &str, token: &str, lease_until: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query("UPDATE jobs SET lease_until = $1 WHERE kind = $2 AND key = $3 AND lease_token = $4")
                .bind(lease_until)
                .bind(kind)
                .bind(key)
                .bind(token)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Records a successful run of a periodic job and makes it due again at `next_due`. False
    /// when the claim is no longer `token`'s (nothing is changed then).
    pub async fn reschedule_job(&self, kind: &str, key: &str, token: &str, now: i64, next_due: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query(
                "UPDATE jobs SET due_at = $1, lease_until = NULL, lease_token = NULL, attempts = 0, runs = runs + 1,
                        last_error = NULL, last_finished_at = $2
                 WHERE kind = $3 AND key = $4 AND lease_token = $5",
            )
            .bind(next_due)
            .bind(now)
            .bind(kind)
            .bind(key)
            .bind(token)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Removes a deferred job after its successful run. False when the claim is no longer
    /// `token`'s.
    pub async fn finish_job(&self, kind: &str, key: &str, token: &str) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query("DELETE FROM jobs WHERE kind = $1 AND key = $2 AND lease_token = $3")
                .bind(kind)
                .bind(key)
                .bind(token)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Records a failed run: one more attempt, the error (shortened), and either the time to
    /// try again (`retry_at`) or, with `None`, that the job is given up. False when the claim
    /// is no longer `token`'s.
    pub async fn fail_job(
        &self,
        kind: &str,
        key: &str,
        token: &str,
        now: i64,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<bool, StoreError> {
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        let n = with_pool!(self, |p| {
            sqlx::query(
                "UPDATE jobs SET attempts = attempts + 1, last_error = $1, last_finished_at = $2,
                        due_at = COALESCE($3, due_at), failed_at = CASE WHEN $3 IS NULL THEN $2 ELSE NULL END,
                        lease_until = NULL, lease_token = NULL
                 WHERE kind = $4 AND key = $5 AND lease_token = $6",
            )
            .bind(&error)
            .bind(now)
            .bind(retry_at)
            .bind(kind)
            .bind(key)
            .bind(token)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Every job by kind and key; with `failed_only`, those whose last run failed or that were
    /// given up.
    pub async fn jobs(&self, failed_only: bool) -> Result<Vec<JobRow>, StoreError> {
        let filter = if failed_only { "WHERE attempts > 0 OR failed_at IS NOT NULL" } else { "" };
        let sql = format!("SELECT * FROM jobs {filter} ORDER BY kind, key");
        let rows = with_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(p).await)?;
        Ok(rows)
    }
}
