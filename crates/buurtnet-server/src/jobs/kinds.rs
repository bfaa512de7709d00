//! Every kind of job, in one list: its name in the jobs table, how often it runs, how it backs
//! off after a failure, and what it does. A new kind of periodic or deferred work is added here
//! (and its handler in [`super::handlers`]); nothing else has to know it.
//!
//! Every handler is idempotent: running it twice, or again after a run that died half-way, does
//! no harm (each works from the database's state "now", with conditional updates where something
//! must happen once, e.g. a reminder).
//!
//! Work that is *not* a job, on purpose (it stays in each process, see `crate::serve`):
//! - the targeting replica's catch-up and the saving of its snapshot file: the replica is this
//!   process's own memory, and the snapshot file lies in this process's own `data_dir`;
//! - refreshing the area index and re-reading the secrets file: this process's own memory;
//! - the delivery queue gauges: they are this process's own `/metrics`;
//! - the live feed (SSE) poll: it feeds this process's own listeners;
//! - the fan-out of messages, including information messages planned for later (`send_at`), and
//!   the deliveries themselves: the `messages` and `deliveries` rows already are their own
//!   queue, claimed under a lease with `SKIP LOCKED` by the delivery engine, in priority order,
//!   with a wake-up for the process that wrote them. A second row per message in this table
//!   would only be a copy of their state.

use std::time::Duration;

/// The kinds of job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Actions still open `alerting.reminder_minutes` after they were sent remind their
    /// dispatcher (audit log, log line, e-mail), once per action.
    ActionReminders,
    /// Delivery rows of messages past `alerting.delivery_retention_days` are deleted (their
    /// counts are kept on the message), up to 100 messages a run.
    DeliveryRetention,
    /// Reply photos of enquiries (and actions) closed longer than
    /// `enquiries.photo_retention_days` ago are deleted, files and rows.
    ReplyPhotoRetention,
    /// Idempotency keys of staff requests older than a day are forgotten.
    IdempotencyKeyPruning,
    /// Change-feed rows older than `replica.change_retention_minutes` are deleted.
    ChangeFeedPruning,
    /// Abuse-limit counters of windows long past are deleted.
    AbuseCounterPruning,
    /// After a quarter's end, each municipality's officers get a link to its quarterly report
    /// (once per municipality and quarter).
    QuarterlyReports,
    /// Participants are asked once a year whether they still take part, and paused when they
    /// do not answer in time (`reports.confirm_after_days`, `reports.confirm_grace_days`).
    ParticipantConfirmation,
}

/// How a failed job is tried again: after `first`, then twice as long each time, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The wait after the `attempts`-th failure in a row (1 for the first).
    pub fn after(self, attempts: i64) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        self.first.saturating_mul(2u32.saturating_pow(doublings)).min(self.max)
    }
}

impl JobKind {
    pub const ALL: [JobKind; 8] = [
        JobKind::ActionReminders,
        JobKind::DeliveryRetention,
        JobKind::ReplyPhotoRetention,
        JobKind::IdempotencyKeyPruning,
        JobKind::ChangeFeedPruning,
        JobKind::AbuseCounterPruning,
        JobKind::QuarterlyReports,
        JobKind::ParticipantConfirmation,
    ];

    /// The name in the jobs table (stable: stored rows carry it).
    pub fn name(self) -> &'static str {
        match self {
            JobKind::ActionReminders => "action.reminders",
            JobKind::DeliveryRetention => "deliveries.retention",
            JobKind::ReplyPhotoRetention => "reply_photos.retention",
            JobKind::IdempotencyKeyPruning => "idempotency_keys.prune",
            JobKind::ChangeFeedPruning => "change_feed.prune",
            JobKind::AbuseCounterPruning => "abuse_counters.prune",
            JobKind::QuarterlyReports => "reports.quarterly",
            JobKind::ParticipantConfirmation => "participants.confirmation",
        }
    }

    pub fn parse(name: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// How often a periodic job runs (the same rhythm as before the jobs table); `None` for a
    /// deferred job, which runs once and is then deleted.
    pub fn period(self) -> Option<Duration> {
        Some(match self {
            JobKind::ActionReminders => Duration::from_secs(5),
            JobKind::DeliveryRetention
            | JobKind::ReplyPhotoRetention
            | JobKind::IdempotencyKeyPruning
            | JobKind::QuarterlyReports
            | JobKind::ParticipantConfirmation => Duration::from_secs(300),
            JobKind::ChangeFeedPruning | JobKind::AbuseCounterPruning => Duration::from_secs(60),
        })
    }

    /// How a failed run is retried.
    pub fn backoff(self) -> Backoff {
        match self {
            JobKind::ActionReminders => Backoff { first: Duration::from_secs(5), max: Duration::from_secs(300) },
            _ => Backoff { first: Duration::from_secs(30), max: Duration::from_secs(3600) },
        }
    }

    /// Failures in a row after which a deferred job is given up (kept, with its error, for an
    /// admin to see). Periodic jobs are never given up: they keep backing off.
    pub fn max_attempts(self) -> i64 {
        10
    }

    /// The names of every kind this process can run (a runner claims only those: a newer
    /// version's kinds wait for a process that knows them).
    pub fn names() -> Vec<&'static str> {
        JobKind::ALL.iter().map(|k| k.name()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        let mut names = JobKind::names();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), JobKind::ALL.len());
        for k in JobKind::ALL {
            assert_eq!(JobKind::parse(k.name()), Some(k));
        }
        assert_eq!(JobKind::parse("no.such.job"), None);
    }

    #[test]
    fn backoff_doubles_up_to_its_maximum() {
        let b = Backoff { first: Duration::from_secs(30), max: Duration::from_secs(3600) };
        assert_eq!(b.after(1), Duration::from_secs(30));
        assert_eq!(b.after(2), Duration::from_secs(60));
        assert_eq!(b.after(3), Duration::from_secs(120));
        assert_eq!(b.after(20), Duration::from_secs(3600));
        assert_eq!(b.after(i64::MAX), Duration::from_secs(3600));
        assert_eq!(b.after(0), Duration::from_secs(30));
    }
}
