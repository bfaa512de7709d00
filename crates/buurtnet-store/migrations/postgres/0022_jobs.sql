-- Periodic and deferred work (reminders, retention, pruning, …): one row per job, run by the job
-- runner of whichever process finds it due first (crates/buurtnet-server/src/jobs). A periodic
-- job is one row, (kind, key) unique, rescheduled after every run; a deferred job is deleted
-- once done. `lease_until`/`lease_token` mark a claim: a claim whose runner died is taken again
-- once its lease has run out. `attempts` counts failures in a row (reset by a success);
-- `failed_at` is set when a deferred job has used up its attempts. Times are Unix milliseconds.
CREATE TABLE jobs (
  kind TEXT NOT NULL,
  key TEXT NOT NULL,
  payload TEXT NOT NULL DEFAULT '{}',
  due_at BIGINT NOT NULL,
  lease_until BIGINT,
  lease_token TEXT,
  attempts BIGINT NOT NULL DEFAULT 0,
  runs BIGINT NOT NULL DEFAULT 0,
  last_error TEXT,
  last_started_at BIGINT,
  last_finished_at BIGINT,
  failed_at BIGINT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (kind, key)
);
CREATE INDEX jobs_due ON jobs (due_at);
