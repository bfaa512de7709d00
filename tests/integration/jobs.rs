//! The jobs table and its runner: two processes (two apps on one database) never run the same
//! job at once, a failing job records its attempts and error and backs off, a job whose runner
//! died is taken over after its lease, and admins see the jobs (API and CLI), failed ones
//! included. Reminders and retention through the runner are checked where they always were
//! (delivery_engine.rs, enquiries.rs).

use crate::alerting::post;
use crate::common::{Backend, TestApp};
use crate::on_both_backends;
use buurtnet_domain::Clock;
use buurtnet_server::jobs::{JobKind, runner};
use buurtnet_store::jobs::JobRow;
use serde_json::{Value, json};
use std::process::Command;

on_both_backends!(
    two_runners_never_run_the_same_job_at_once,
    background_runners_of_two_processes_share_the_jobs,
    a_failing_job_records_attempts_and_error_and_backs_off,
    a_job_whose_runner_died_is_claimed_again_after_its_lease
);

async fn job(app: &TestApp, kind: JobKind) -> JobRow {
    app.store.jobs(false).await.unwrap().into_iter().find(|j| j.kind == kind.name()).unwrap()
}

/// A second app ("process") on the first one's database, its clock at the same time.
async fn second_process(first: &TestApp, configure: impl FnOnce(&mut buurtnet_server::Config)) -> TestApp {
    let second = TestApp::spawn_configured(&first.state.config.database_url, configure).await;
    assert_eq!(second.clock.now(), first.clock.now());
    second
}

fn advance(apps: &[&TestApp], seconds: i64) {
    for app in apps {
        app.clock.advance(chrono::Duration::seconds(seconds));
    }
}

async fn two_runners_never_run_the_same_job_at_once(b: Backend) {
    let a = TestApp::spawn(b).await;
    let b2 = second_process(&a, |_| {}).await;
    // Both schedule the periodic jobs: one row per kind.
    runner::schedule(&a.state).await.unwrap();
    runner::schedule(&b2.state).await.unwrap();
    let jobs = a.store.jobs(false).await.unwrap();
    assert_eq!(jobs.len(), JobKind::ALL.len(), "{jobs:?}");

    // An action open longer than the reminder time: reminded once, whichever runner runs it.
    let dispatcher = a.staff_token("dispatcher", "NL").await;
    let body =
        json!({"kind": "suspect", "status": "exercise", "area": {"areas": ["GM0307"]}, "title": "Oefening", "body": "Test."});
    let (s, v) = post(&a, &dispatcher, "/api/v1/actions", &body).await;
    assert_eq!(s, 201, "{v}");
    let action = v["id"].as_i64().unwrap();
    assert_eq!(post(&a, &dispatcher, &format!("/api/v1/actions/{action}/send"), &json!({})).await.0, 200);

    // Each round every job is due (the longest period is 5 minutes); both runners look at
    // once, and every job runs exactly once.
    for round in 1..=8 {
        let (ran_a, ran_b) = tokio::join!(runner::run_due(&a.state), runner::run_due(&b2.state));
        assert_eq!(ran_a.unwrap() + ran_b.unwrap(), JobKind::ALL.len(), "round {round}: each job ran once");
        for j in a.store.jobs(false).await.unwrap() {
            assert_eq!(j.runs, round, "{j:?}");
            assert_eq!(j.attempts, 0, "{j:?}");
            assert_eq!(j.lease_until, None, "{j:?}");
        }
        advance(&[&a, &b2], 301);
    }
    let reminders = a.store.audit_entries(1000).await.unwrap().into_iter().filter(|e| e.action == "action.reminder").count();
    assert_eq!(reminders, 1, "once per action");

    // The claim itself: many claims at once on one due job, from both processes: one wins.
    let now = a.clock_ms();
    for n in 0..10 {
        let key = format!("race-{n}");
        assert!(a.store.enqueue_job("test.race", &key, "{}", now, now).await.unwrap());
        assert!(!b2.store.enqueue_job("test.race", &key, "{}", now, now).await.unwrap(), "enqueued once");
        let claims = (0..8).map(|i| {
            let store = if i % 2 == 0 { a.store.clone() } else { b2.store.clone() };
            async move { store.claim_job(&["test.race"], now, now + 60_000, &format!("t{i}")).await.unwrap() }
        });
        let won: Vec<JobRow> = futures::future::join_all(claims).await.into_iter().flatten().collect();
        assert_eq!(won.len(), 1, "{won:?}");
        assert_eq!(won[0].key, key);
        let token = won[0].lease_token.clone().unwrap();
        assert!(!a.store.finish_job("test.race", &key, "t-other").await.unwrap(), "only the claim's own token");
        assert!(a.store.finish_job("test.race", &key, &token).await.unwrap(), "a deferred job is deleted when done");
    }
    assert_eq!(a.store.jobs(false).await.unwrap().len(), JobKind::ALL.len());
}

/// `serve` starts the runner (unless it is off); with two processes polling, each job still
/// runs once while the (frozen) clock says it is due once.
async fn background_runners_of_two_processes_share_the_jobs(b: Backend) {
    let on = |c: &mut buurtnet_server::Config| {
        c.jobs.enabled = true;
        c.jobs.poll_seconds = 1;
    };
    let a = TestApp::spawn_with(b, on).await;
    let b2 = second_process(&a, on).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let jobs = a.store.jobs(false).await.unwrap();
        if jobs.len() == JobKind::ALL.len() && jobs.iter().all(|j| j.runs >= 1) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the runners did not run every job: {jobs:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // A few more polls of both: nothing is due again, nothing ran twice.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    for j in a.store.jobs(false).await.unwrap() {
        assert_eq!(j.runs, 1, "{j:?}");
    }
    drop(b2);
}

async fn admin_jobs(app: &TestApp, token: Option<&str>, query: &str) -> (u16, Value) {
    let mut r = app.client.get(app.at(&format!("/api/v1/admin/jobs{query}")));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap())
}

fn cli_jobs(database_url: &str, failed: bool) -> String {
    let mut args = vec!["--database-url", database_url, "admin", "jobs"];
    if failed {
        args.push("--failed");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_buurtnet")).args(&args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn a_failing_job_records_attempts_and_error_and_backs_off(b: Backend) {
    let app = TestApp::spawn(b).await;
    let db = app.state.config.database_url.clone();
    app.run_jobs().await;
    assert!(app.store.jobs(true).await.unwrap().is_empty());
    // The abuse counters' table is away: their pruning fails.
    app.store.execute_admin("ALTER TABLE abuse_counters RENAME TO abuse_counters_away").await.unwrap();
    advance(&[&app], 61);
    app.run_jobs().await;
    let failing = job(&app, JobKind::AbuseCounterPruning).await;
    assert_eq!(failing.attempts, 1, "{failing:?}");
    assert!(failing.last_error.as_deref().is_some_and(|e| e.contains("abuse_counters")), "{failing:?}");
    assert_eq!(failing.due_at, app.clock_ms() + 30_000, "backs off 30 s");
    assert_eq!(failing.state(app.clock_ms()), "retrying");
    assert_eq!(failing.runs, 1);
    assert_eq!(job(&app, JobKind::ChangeFeedPruning).await.runs, 2, "other jobs go on");
    // Not again before its backoff ...
    assert_eq!(runner::run_due(&app.state).await.unwrap(), 0);
    assert_eq!(job(&app, JobKind::AbuseCounterPruning).await.attempts, 1);
    // ... then again, and failing again it waits twice as long.
    advance(&[&app], 30);
    app.run_jobs().await;
    let failing = job(&app, JobKind::AbuseCounterPruning).await;
    assert_eq!(failing.attempts, 2, "{failing:?}");
    assert_eq!(failing.due_at, app.clock_ms() + 60_000, "backs off 60 s");
    // Mended (staff API calls count in that table too); the job shows as failed until it
    // runs again.
    app.store.execute_admin("ALTER TABLE abuse_counters_away RENAME TO abuse_counters").await.unwrap();

    // Admins see it: all jobs, or the failed ones only.
    let admin = app.staff_token("admin", "NL").await;
    let (s, v) = admin_jobs(&app, Some(&admin), "").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["jobs"].as_array().unwrap().len(), JobKind::ALL.len(), "{v}");
    let (s, v) = admin_jobs(&app, Some(&admin), "?failed=true").await;
    assert_eq!(s, 200, "{v}");
    let failed = v["jobs"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{v}");
    assert_eq!(failed[0]["kind"], "abuse_counters.prune");
    assert_eq!(failed[0]["state"], "retrying");
    assert_eq!(failed[0]["attempts"], 2);
    assert!(failed[0]["last_error"].as_str().is_some_and(|e| e.contains("abuse_counters")), "{v}");
    assert!(failed[0]["due_at"].as_str().is_some_and(|t| t.starts_with("2026-11-22T12:")), "{v}");
    let (s, v) = admin_jobs(&app, Some(&admin), "?failed=maybe").await;
    assert_eq!(s, 400, "{v}");
    assert!(v["error"].is_string() && v["message"].is_string(), "{v}");
    // Nobody else does.
    for (role, scope) in [("dispatcher", "NL"), ("municipality-officer", "GM0307"), ("admin", "RE03")] {
        let token = app.staff_token(role, scope).await;
        let (s, v) = admin_jobs(&app, Some(&token), "?failed=true").await;
        assert_eq!(s, 403, "{role} {scope}: {v}");
    }
    assert_eq!(admin_jobs(&app, None, "").await.0, 401);
    // The CLI lists the same.
    let all = cli_jobs(&db, false);
    for kind in JobKind::ALL {
        assert!(all.contains(kind.name()), "{all}");
    }
    let failed = cli_jobs(&db, true);
    assert!(failed.contains("abuse_counters.prune") && failed.contains("retrying"), "{failed}");
    assert!(!failed.contains("change_feed.prune"), "{failed}");

    // The next run succeeds and the failure is cleared.
    advance(&[&app], 60);
    app.run_jobs().await;
    let mended = job(&app, JobKind::AbuseCounterPruning).await;
    assert_eq!((mended.attempts, mended.last_error.as_deref(), mended.runs), (0, None, 2), "{mended:?}");
    assert!(app.store.jobs(true).await.unwrap().is_empty());
    assert!(cli_jobs(&db, true).contains("(no failed jobs)"));
}

async fn a_job_whose_runner_died_is_claimed_again_after_its_lease(b: Backend) {
    let a = TestApp::spawn(b).await;
    let b2 = second_process(&a, |_| {}).await;
    a.run_jobs().await;
    advance(&[&a, &b2], 6);
    // A runner claims the reminders job and dies before finishing it.
    let now = a.clock_ms();
    let lease = i64::try_from(a.state.config.jobs.lease_seconds).unwrap() * 1000;
    let claimed = a.store.claim_job(&["action.reminders"], now, now + lease, "dead-runner").await.unwrap().unwrap();
    assert_eq!(claimed.kind, "action.reminders");
    assert_eq!(job(&a, JobKind::ActionReminders).await.state(now), "running");
    let (s, v) = admin_jobs(&a, Some(&a.staff_token("admin", "NL").await), "").await;
    assert_eq!(s, 200);
    let shown = v["jobs"].as_array().unwrap().iter().find(|j| j["kind"] == "action.reminders").cloned().unwrap();
    assert_eq!(shown["state"], "running", "{shown}");
    // The other process leaves it alone while the lease holds ...
    assert_eq!(runner::run_due(&b2.state).await.unwrap(), 0);
    advance(&[&a, &b2], 60);
    runner::run_due(&b2.state).await.unwrap();
    assert_eq!(job(&a, JobKind::ActionReminders).await.runs, 1, "still held");
    // ... and takes it over once the lease has run out.
    advance(&[&a, &b2], lease / 1000);
    runner::run_due(&b2.state).await.unwrap();
    let taken = job(&a, JobKind::ActionReminders).await;
    assert_eq!((taken.runs, taken.lease_until), (2, None), "{taken:?}");
    // The dead runner's late word changes nothing.
    assert!(!a.store.reschedule_job("action.reminders", "", "dead-runner", now, now).await.unwrap());
    assert!(!a.store.fail_job("action.reminders", "", "dead-runner", now, "late", Some(now)).await.unwrap());
    assert_eq!(job(&a, JobKind::ActionReminders).await, taken);
}
