//! The engine's steps driven by hand (a server without workers): fan-outs that resume without
//! duplicates, updates that wait for the start's fan-out, expiry when an action ends, reminders,
//! dead letters, and the live feed.

use crate::alerting::{AMERSFOORT, UTRECHT, get, post, resident};
use crate::common::{Backend, TestApp};
use crate::on_both_backends;
use buurtnet_delivery::sandbox::Sandbox;
use buurtnet_delivery::worker::{NoLinks, Providers, Worker, WorkerConfig};
use buurtnet_domain::{Channel, Topic};
use buurtnet_server::wiring::engine as fanout;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

async fn manual(backend: Backend) -> (TestApp, Worker) {
    manual_with(backend, |_| {}).await
}

/// [`manual`] with more configuration.
async fn manual_with(backend: Backend, configure: impl FnOnce(&mut buurtnet_server::Config)) -> (TestApp, Worker) {
    let app = TestApp::spawn_with(backend, |c| {
        c.alerting.workers = 0;
        configure(c);
    })
    .await;
    let providers = Providers::all(Arc::new(Sandbox::new(app.store.clone(), app.clock.clone())));
    let worker =
        Worker::new(app.store.clone(), app.clock.clone(), providers, Arc::new(NoLinks), WorkerConfig::default(), Arc::default());
    (app, worker)
}

async fn drain(worker: &Worker) -> usize {
    let mut n = 0;
    loop {
        let k = worker.run_once().await.unwrap();
        if k == 0 {
            return n;
        }
        n += k;
    }
}

async fn new_action(app: &TestApp, token: &str) -> i64 {
    let (s, v) = post(
        app,
        token,
        "/api/v1/actions",
        &json!({"kind": "suspect", "status": "actual", "area": {"circle": {"lat": AMERSFOORT.0, "lon": AMERSFOORT.1, "radius_m": 3000}},
                "title": "Overval", "body": "Twee mannen op een scooter."}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_i64().unwrap()
}

async fn counts(app: &TestApp, token: &str, id: i64) -> Value {
    get(app, token, &format!("/api/v1/actions/{id}")).await.1
}

on_both_backends!(fanouts_resume_without_duplicates_and_updates_wait_for_the_start, an_ended_action_expires_what_has_not_left);

async fn fanouts_resume_without_duplicates_and_updates_wait_for_the_start(backend: Backend) {
    let (app, worker) = manual(backend).await;
    let token = app.staff_token("dispatcher", "NL").await;
    for i in 0..30 {
        let at = (AMERSFOORT.0 + f64::from(i) * 0.0003, AMERSFOORT.1);
        resident(&app, at, &[Channel::Sms, Channel::Email, Channel::Push], &[Topic::Urgent], "nl", vec![]).await;
    }
    let id = new_action(&app, &token).await;
    let (s, v) = post(&app, &token, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
    assert_eq!(s, 200, "{v}");
    let start = v["message_id"].as_i64().unwrap();
    // Another process claims the start's fan-out and dies with it half done.
    let now = app.clock_ms();
    let claimed = app.store.claim_fanout(now, now + 30_000).await.unwrap().unwrap();
    assert_eq!(claimed.id, start);
    app.store.insert_deliveries(start, claimed.priority, now, &[(1, 0, Channel::Sms)]).await.unwrap();
    // The update is written meanwhile, and waits for the start's fan-out.
    let (s, v) = post(&app, &token, &format!("/api/v1/actions/{id}/update"), &json!({"body": "Ze reden richting A1."})).await;
    assert_eq!(s, 200, "{v}");
    let update = v["message_id"].as_i64().unwrap();
    assert!(fanout::fanout_once(&app.state).await.unwrap(), "the update was claimed");
    assert_eq!(app.store.message(update).await.unwrap().unwrap().fanout_state, "pending", "it waits");
    assert!(!fanout::fanout_once(&app.state).await.unwrap(), "nothing is due while the dead claim holds");
    // The dead claim's lease runs out: the start resumes, skipping what was written.
    app.clock.advance(chrono::Duration::seconds(31));
    assert!(fanout::fanout_once(&app.state).await.unwrap());
    let first = app.store.message(start).await.unwrap().unwrap();
    assert_eq!(first.fanout_state, "done");
    assert_eq!(first.recipients, 90, "30 people × sms, e-mail and one device each");
    // Running it again (as after a crash just before it was marked done) adds nothing.
    app.store
        .execute_admin(&format!("UPDATE messages SET fanout_state = 'running', fanout_lease = 0 WHERE id = {start}"))
        .await
        .unwrap();
    assert!(fanout::fanout_once(&app.state).await.unwrap());
    assert_eq!(app.store.message(start).await.unwrap().unwrap().recipients, 90);
    assert!(fanout::fanout_once(&app.state).await.unwrap(), "the update's turn");
    assert_eq!(app.store.message(update).await.unwrap().unwrap().recipients, 90);
    assert_eq!(drain(&worker).await, 180);
    let v = counts(&app, &token, id).await;
    assert_eq!(v["deliveries"]["sms"]["sent"], 60, "{v}");
    assert_eq!(v["deliveries"]["push"]["sent"], 60, "{v}");
}

async fn an_ended_action_expires_what_has_not_left(backend: Backend) {
    let (app, worker) = manual(backend).await;
    let token = app.staff_token("dispatcher", "NL").await;
    let early = resident(&app, AMERSFOORT, &[Channel::Sms], &[Topic::Urgent], "nl", vec![]).await;
    let late = resident(&app, AMERSFOORT, &[Channel::Email], &[Topic::Urgent], "nl", vec![]).await;
    let id = new_action(&app, &token).await;
    post(&app, &token, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
    assert!(fanout::fanout_once(&app.state).await.unwrap());
    // The SMS leaves; the e-mail is held back (its provider is slow) ...
    app.store.execute_admin("UPDATE deliveries SET next_at = next_at + 600000 WHERE channel = 'email'").await.unwrap();
    assert_eq!(drain(&worker).await, 1);
    // ... and the action is closed before it could leave: it expires, and the closing
    // message goes only to the one the action reached.
    let (s, v) = post(&app, &token, &format!("/api/v1/actions/{id}/close"), &json!({"outcome": "none"})).await;
    assert_eq!(s, 200, "{v}");
    assert!(fanout::fanout_once(&app.state).await.unwrap());
    app.clock.advance(chrono::Duration::minutes(11));
    assert_eq!(drain(&worker).await, 1);
    let v = counts(&app, &token, id).await;
    assert_eq!(v["deliveries"]["email"]["expired"], 1, "{v}");
    assert_eq!(v["deliveries"]["sms"]["sent"], 2, "{v}");
    assert!(app.sandbox(&late.email).await.is_empty());
    let texts: Vec<String> = app.sandbox(&early.phone).await.iter().map(|m| m["body"].as_str().unwrap().to_string()).collect();
    assert_eq!(texts.len(), 2);
    assert!(texts[1].starts_with("Afgesloten: Overval"), "{texts:?}");
    // A message past its validity expires instead of going out late.
    let id = new_action(&app, &token).await;
    post(&app, &token, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
    assert!(fanout::fanout_once(&app.state).await.unwrap());
    app.clock.advance(chrono::Duration::hours(7));
    assert_eq!(drain(&worker).await, 2);
    let v = counts(&app, &token, id).await;
    assert_eq!(v["deliveries"]["sms"]["expired"], 1, "{v}");
}

on_both_backends!(open_actions_remind_their_dispatcher_once, dead_letters_are_shown_to_admins_and_can_be_retried);

async fn open_actions_remind_their_dispatcher_once(backend: Backend) {
    let (app, _worker) = manual(backend).await;
    let token = app.staff_token("dispatcher", "NL").await;
    let id = new_action(&app, &token).await;
    post(&app, &token, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
    app.run_jobs().await;
    assert_eq!(counts(&app, &token, id).await["reminder_due"], false);
    app.clock.advance(chrono::Duration::minutes(31));
    app.run_jobs().await;
    app.run_jobs().await;
    assert_eq!(counts(&app, &token, id).await["reminder_due"], true);
    let (_, list) = get(&app, &token, "/api/v1/actions?state=open").await;
    assert_eq!(list["actions"][0]["reminder_due"], true, "{list}");
    let reminders = app.store.audit_entries(100).await.unwrap().into_iter().filter(|e| e.action == "action.reminder").count();
    assert_eq!(reminders, 1, "once per action");
    // The dispatcher is also told by e-mail, once.
    let email = app.store.admin_strings("SELECT email FROM staff_users WHERE role = 'dispatcher'").await.unwrap()[0].clone();
    let mails = app.sandbox(&email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0]["subject"].as_str().unwrap().contains(&format!("actie {id} staat nog open")), "{mails:?}");
    assert!(mails[0]["body"].as_str().unwrap().contains(&format!("/api/v1/actions/{id}")));
}

async fn dead_letters_are_shown_to_admins_and_can_be_retried(backend: Backend) {
    let (app, worker) = manual(backend).await;
    let token = app.staff_token("dispatcher", "NL").await;
    let admin = app.staff_token("admin", "NL").await;
    let r = resident(&app, AMERSFOORT, &[Channel::Sms], &[Topic::Urgent], "nl", vec![]).await;
    let id = new_action(&app, &token).await;
    post(&app, &token, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
    assert!(fanout::fanout_once(&app.state).await.unwrap());
    app.store
        .execute_admin("UPDATE deliveries SET state = 'dead', attempts = 6, last_error = 'provider answered 500'")
        .await
        .unwrap();
    let (s, v) = get(&app, &admin, "/api/v1/deliveries/dead").await;
    assert_eq!(s, 200);
    let dead = v["deliveries"].as_array().unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["last_error"], "provider answered 500");
    let did = dead[0]["id"].as_i64().unwrap();
    assert_eq!(get(&app, &token, "/api/v1/deliveries/dead").await.0, 403, "admins only");
    assert_eq!(post(&app, &token, &format!("/api/v1/deliveries/{did}/retry"), &json!({})).await.0, 403);
    let (s, v) = post(&app, &admin, &format!("/api/v1/deliveries/{did}/retry"), &json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(post(&app, &admin, &format!("/api/v1/deliveries/{did}/retry"), &json!({})).await.0, 409, "no longer dead");
    assert_eq!(post(&app, &admin, "/api/v1/deliveries/999999/retry", &json!({})).await.0, 404);
    assert_eq!(drain(&worker).await, 1);
    assert_eq!(app.sandbox(&r.phone).await.len(), 1);
    assert!(app.store.audit_entries(50).await.unwrap().iter().any(|e| e.action == "delivery.retry"));

    // After an outage: every dead letter of a message at once.
    let others: Vec<_> =
        futures::future::join_all((0..3).map(|_| resident(&app, AMERSFOORT, &[Channel::Sms], &[Topic::Urgent], "nl", vec![])))
            .await;
    let id2 = new_action(&app, &token).await;
    let (_, v) = post(&app, &token, &format!("/api/v1/actions/{id2}/send"), &json!({})).await;
    let message = v["message_id"].as_i64().unwrap();
    assert!(fanout::fanout_once(&app.state).await.unwrap());
    app.store
        .execute_admin(&format!("UPDATE deliveries SET state = 'dead', attempts = 20 WHERE message_id = {message}"))
        .await
        .unwrap();
    let path = format!("/api/v1/messages/{message}/retry-dead");
    assert_eq!(post(&app, &token, &path, &json!({})).await.0, 403, "admins only");
    assert_eq!(post(&app, &admin, "/api/v1/messages/999999/retry-dead", &json!({})).await.0, 404);
    let (s, v) = post(&app, &admin, &path, &json!({})).await;
    assert_eq!((s, v["retried"].as_u64()), (200, Some(4)), "{v}");
    assert_eq!(drain(&worker).await, 4);
    for o in others.iter().chain([&r]) {
        assert!(!app.sandbox(&o.phone).await.is_empty());
    }
    let (_, v) = post(&app, &admin, &path, &json!({})).await;
    assert_eq!(v["retried"], 0, "nothing dead any more");
    app.clock.advance(chrono::Duration::days(3));
    assert_eq!(post(&app, &admin, &path, &json!({})).await.0, 409, "past its validity");
    assert!(app.store.audit_entries(50).await.unwrap().iter().any(|e| e.action == "delivery.retry_message"));
}

on_both_backends!(the_live_feed_shows_action_messages_where_they_apply);

async fn the_live_feed_shows_action_messages_where_they_apply(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.staff_token("dispatcher", "GM0307").await;
    let other = app.staff_token("dispatcher", "GM0344").await;
    let open = |path: String, bearer: Option<String>| {
        let client = app.client.clone();
        let url = app.at(&path);
        async move {
            let mut req = client.get(url);
            if let Some(t) = bearer {
                req = req.bearer_auth(t);
            }
            req.send().await.unwrap()
        }
    };
    let near = open(format!("/api/v1/live?lat={}&lon={}", AMERSFOORT.0, AMERSFOORT.1), None).await;
    assert_eq!(near.status(), 200);
    assert!(near.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let far = open(format!("/api/v1/live?lat={}&lon={}", UTRECHT.0, UTRECHT.1), None).await;
    let staff = open("/api/v1/actions/live".into(), Some(token.clone())).await;
    let staff_other = open("/api/v1/actions/live".into(), Some(other)).await;
    assert_eq!(open("/api/v1/actions/live".into(), None).await.status(), 401);
    assert_eq!(open("/api/v1/live?lat=abc&lon=5".into(), None).await.status(), 400);
    let id = new_action(&app, &token).await;
    post(&app, &token, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
    let got = crate::common::sse_named(near, "message", 1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["action_id"], id);
    assert_eq!(got[0]["nl"]["title"], "Gezocht: Overval");
    assert_eq!(crate::common::sse_named(staff, "message", 1, Duration::from_secs(10)).await.len(), 1);
    assert!(
        crate::common::sse_named(far, "message", 1, Duration::from_millis(1500)).await.is_empty(),
        "Utrecht is outside the circle"
    );
    assert!(
        crate::common::sse_named(staff_other, "message", 1, Duration::from_millis(500)).await.is_empty(),
        "another municipality's dispatcher"
    );
}

on_both_backends!(old_delivery_rows_are_deleted_but_their_counts_stay);

/// Who got which message is kept only as long as needed: after the retention the rows go, the
/// counts on the action's page stay. An action still open keeps its rows (its closing message
/// needs them).
async fn old_delivery_rows_are_deleted_but_their_counts_stay(backend: Backend) {
    let (app, worker) = manual(backend).await;
    let token = app.staff_token("dispatcher", "NL").await;
    for _ in 0..3 {
        resident(&app, AMERSFOORT, &[Channel::Sms, Channel::Email], &[Topic::Urgent], "nl", vec![]).await;
    }
    let closed = new_action(&app, &token).await;
    let open = new_action(&app, &token).await;
    for id in [closed, open] {
        post(&app, &token, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
        while fanout::fanout_once(&app.state).await.unwrap() {}
    }
    drain(&worker).await;
    let (s, _) =
        post(&app, &token, &format!("/api/v1/actions/{closed}/close"), &json!({"outcome": "none", "body": "Gestopt."})).await;
    assert_eq!(s, 200);
    while fanout::fanout_once(&app.state).await.unwrap() {}
    drain(&worker).await;
    let before = counts(&app, &token, closed).await;
    assert_eq!(before["deliveries"]["sms"]["sent"], 6, "start and closing: {before}");
    let rows = |app: &TestApp| {
        let store = app.store.clone();
        async move { store.admin_strings("SELECT CAST(COUNT(*) AS TEXT) FROM deliveries").await.unwrap()[0].clone() }
    };
    assert_eq!(rows(&app).await, "18");
    // Within the retention nothing goes.
    app.clock.advance(chrono::Duration::days(30));
    app.run_jobs().await;
    assert_eq!(rows(&app).await, "18");
    app.clock.advance(chrono::Duration::days(62));
    app.run_jobs().await;
    assert_eq!(rows(&app).await, "6", "only the open action's rows are left");
    let after = counts(&app, &token, closed).await;
    assert_eq!(after["deliveries"], before["deliveries"], "the counts stay");
    assert_eq!(after["messages"], before["messages"]);
    assert_eq!(counts(&app, &token, open).await["deliveries"]["sms"]["sent"], 3);
}

on_both_backends!(the_sms_rate_limit_holds_for_all_processes_together);

/// Two worker "processes" (each its own SMS adapter with its own pacing) share one database:
/// together they stay within the provider's messages per second, counted in the database.
async fn the_sms_rate_limit_holds_for_all_processes_together(backend: Backend) {
    use buurtnet_delivery::{SmsHttp, SmsHttpConfig};
    use buurtnet_domain::{Clock, SystemClock};
    let cm = crate::fakes::FakeCm::start().await;
    let app = TestApp::spawn_with(backend, |c| c.alerting.workers = 0).await;
    // The rate windows follow the injected clock: let it run.
    app.clock.set(SystemClock.now());
    let clock = app.clock.clone();
    let ticker = tokio::spawn(async move {
        loop {
            clock.set(SystemClock.now());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let token = app.staff_token("dispatcher", "NL").await;
    for _ in 0..40 {
        resident(&app, AMERSFOORT, &[Channel::Sms], &[Topic::Urgent], "nl", vec![]).await;
    }
    let id = new_action(&app, &token).await;
    post(&app, &token, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
    while fanout::fanout_once(&app.state).await.unwrap() {}
    let process = || {
        let sandbox: Arc<dyn buurtnet_delivery::provider::Provider> =
            Arc::new(Sandbox::new(app.store.clone(), app.clock.clone()));
        let sms = Arc::new(SmsHttp::new(&SmsHttpConfig { messages_per_second: 10, ..cm.sms_config() }).unwrap());
        let providers = Providers::new(sandbox.clone(), sms, sandbox.clone(), sandbox);
        let config = WorkerConfig { batch: 10, ..WorkerConfig::default() };
        Worker::new(app.store.clone(), app.clock.clone(), providers, Arc::new(NoLinks), config, Arc::default())
    };
    let (a, b) = (process(), process());
    let started = std::time::Instant::now();
    let run = |w: Worker| async move {
        while started.elapsed() < Duration::from_secs(20) {
            if w.run_once().await.unwrap() == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let (ra, rb) = (tokio::spawn(run(a)), tokio::spawn(run(b)));
    cm.wait_for_sms(40, Duration::from_secs(15)).await;
    let took = started.elapsed();
    ra.abort();
    rb.abort();
    ticker.abort();
    // 10 a second for both together: four windows, more than two seconds (each process pacing
    // only itself would send all 40 within about one).
    assert!(took >= Duration::from_millis(1900), "40 SMS at 10/s took only {took:?}");
    assert_eq!(cm.sms().len(), 40, "each once");
}

/// An anonymous device (pushed through the sandbox, which names it by id).
fn anonymous_device(i: usize, at: (f64, f64), topics: &[Topic], language: &str) -> buurtnet_store::NewDevice {
    buurtnet_store::NewDevice {
        endpoint: Some(format!("https://push.example.org/d{i}")),
        p256dh: Some("k".into()),
        auth: Some("a".into()),
        token_hash: format!("t{i}"),
        language: language.into(),
        topics: topics.iter().copied().collect::<buurtnet_domain::TopicSet>().bits(),
        place: buurtnet_store::DevicePlace::point(at.0, at.1),
        extra_places: Vec::new(),
    }
}

/// Creates and sends a national AMBER Alert (an exercise) and runs its fan-out: (action id,
/// start message id).
async fn send_national_amber(app: &TestApp, token: &str, kind: &str, body: &str) -> (i64, i64) {
    let (s, v) = post(
        app,
        token,
        "/api/v1/actions",
        &json!({"kind": kind, "level": "national", "status": "exercise", "title": "AMBER Alert", "body": body,
                "consent": {"by": "ouder"}}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    // A national action goes out once a second person approved it (`approval.second_person`).
    let second = app.staff_token("dispatcher", "NL").await;
    let (s, v) = post(app, &second, &format!("/api/v1/actions/{id}/approve"), &json!({"version": v["version"]})).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = post(app, token, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
    assert_eq!(s, 200, "{v}");
    while fanout::fanout_once(&app.state).await.unwrap() {}
    (id, v["message_id"].as_i64().unwrap())
}

on_both_backends!(an_amber_alert_reaches_every_anonymous_device_in_the_country);

/// A national AMBER Alert goes to every anonymous device that wants urgent messages, wherever
/// it is, once each — read page by page over more than one page of device ids.
async fn an_amber_alert_reaches_every_anonymous_device_in_the_country(backend: Backend) {
    use buurtnet_store::NewDevice;
    let (app, worker) = manual(backend).await;
    let token = app.staff_token("dispatcher", "NL").await;
    let device = |i: usize, at: (f64, f64), topics: &[Topic]| anonymous_device(i, at, topics, "nl");
    // 20,000 devices in Amersfoort and Utrecht (more than one page), 100 that want no urgent
    // messages.
    let urgent: Vec<NewDevice> =
        (0..20_000).map(|i| device(i, if i % 2 == 0 { AMERSFOORT } else { UTRECHT }, &[Topic::Urgent])).collect();
    for chunk in urgent.chunks(5000) {
        app.store.register_anonymous_devices(chunk, 0).await.unwrap();
    }
    let quiet: Vec<NewDevice> = (20_000..20_100).map(|i| device(i, AMERSFOORT, &[Topic::Information])).collect();
    app.store.register_anonymous_devices(&quiet, 0).await.unwrap();
    let (id, _) = send_national_amber(&app, &token, "missing_person", "Vermist: meisje, 8 jaar.").await;
    let (_, v) = get(&app, &token, &format!("/api/v1/actions/{id}")).await;
    assert_eq!(v["messages"][0]["recipients"], 20_000, "{}", v["messages"]);
    // In batches (the default): every device once, and no delivery row per device.
    let message_id = v["messages"][0]["id"].as_i64().unwrap();
    let mut batched = app.store.batched_devices(message_id).await.unwrap();
    assert_eq!(batched.len(), 20_000);
    batched.sort_unstable();
    batched.dedup();
    assert_eq!(batched.len(), 20_000, "each device once");
    let rows = app.store.admin_strings("SELECT CAST(COUNT(*) AS TEXT) FROM deliveries").await.unwrap();
    assert_eq!(rows[0], "0");
    assert_eq!(drain(&worker).await, 20_000);
    let pushed = app
        .store
        .admin_strings(
            "SELECT CAST(COUNT(DISTINCT recipient) || ' ' || COUNT(*) AS TEXT) FROM sandbox_messages WHERE channel = 'push'",
        )
        .await
        .unwrap();
    assert_eq!(pushed[0], "20000 20000", "each device got its push, once");
    let (_, v) = get(&app, &token, &format!("/api/v1/actions/{id}")).await;
    assert_eq!(v["messages"][0]["deliveries"]["push"]["sent"], 20_000, "{}", v["messages"][0]);
}

on_both_backends!(device_batches_survive_a_dead_worker_and_carry_updates_to_whom_they_reached);

/// Anonymous devices go out in batches: a batch whose worker died is sent again after its
/// lease with the same delivery ids, the dead claim cannot complete it any more, a device gone
/// since the send gets a failed delivery row of its own (and no update), and the action page
/// and a device's recent actions find a batched delivery by its id.
async fn device_batches_survive_a_dead_worker_and_carry_updates_to_whom_they_reached(backend: Backend) {
    use buurtnet_store::NewDevice;
    let (app, worker) = manual(backend).await;
    let token = app.staff_token("dispatcher", "NL").await;
    let devices: Vec<NewDevice> =
        (0..1200).map(|i| anonymous_device(i, AMERSFOORT, &[Topic::Urgent], if i % 2 == 0 { "nl" } else { "en" })).collect();
    app.store.register_anonymous_devices(&devices, 0).await.unwrap();
    let (id, start) = send_national_amber(&app, &token, "runaway_child", "Vermist: jongen, 12 jaar.").await;
    let batched = app.store.batched_devices(start).await.unwrap();
    assert_eq!(batched.len(), 1200);
    // One device is deleted before its push leaves.
    let gone = batched[7];
    assert!(app.store.remove_device(gone, app.clock_ms()).await.unwrap());

    // A worker claims a batch and dies; the lease runs out.
    let now = app.clock_ms();
    let dead = app.store.claim_device_batch(now, now + 1000).await.unwrap().expect("a batch is due");
    assert_eq!(dead.attempts, 1);
    app.clock.advance(chrono::Duration::seconds(2));
    assert_eq!(drain(&worker).await, 1200, "every batch, the dead worker's too");
    assert!(
        !app.store.finish_device_batch(&dead, 0, "done", dead.devices.len() as i64, &[], app.clock_ms()).await.unwrap(),
        "a claim that was taken over cannot complete its batch"
    );
    let pushed = app
        .store
        .admin_strings(
            "SELECT CAST(COUNT(DISTINCT recipient) || ' ' || COUNT(*) AS TEXT) FROM sandbox_messages WHERE channel = 'push'",
        )
        .await
        .unwrap();
    assert_eq!(pushed[0], "1199 1199", "every device still there once; none for the deleted one");
    // The re-sent batch kept its delivery ids: device i of the batch is first_id + i.
    let first_of_dead = dead.first_id;
    let d = app.store.delivery(first_of_dead + 3).await.unwrap().expect("a batched delivery is found by id");
    assert_eq!((d.message_id, d.device_id, d.channel.as_str(), d.state.as_str()), (start, dead.devices[3], "push", "sent"));
    let recipient = format!("device:{}", dead.devices[3]);
    let found = app
        .store
        .admin_strings(&format!("SELECT recipient FROM sandbox_messages WHERE recipient = '{recipient}'"))
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "the dead worker's batch was sent once, by the worker that took it over");
    // The deleted device has a failed row of its own.
    let rows = app
        .store
        .admin_strings("SELECT CAST(device_id AS TEXT) || ' ' || state || ' ' || COALESCE(last_error, '') FROM deliveries")
        .await
        .unwrap();
    assert_eq!(rows, vec![format!("{gone} failed no destination")]);
    let (_, v) = get(&app, &token, &format!("/api/v1/actions/{id}")).await;
    assert_eq!(v["messages"][0]["deliveries"]["push"], json!({"sent": 1199, "failed": 1}), "{}", v["messages"][0]);
    assert_eq!(v["messages"][0]["recipients"], 1200);
    // A device's recent actions find the batch that held it.
    let other = dead.devices[3];
    assert_eq!(app.store.device_actions(other, 10).await.unwrap(), vec![(id, first_of_dead + 3)]);

    // The update goes to the 1,199 devices the start reached, in batches, once each.
    let (s, v) = post(&app, &token, &format!("/api/v1/actions/{id}/update"), &json!({"body": "Gezien bij het station."})).await;
    assert_eq!(s, 200, "{v}");
    let update = v["message_id"].as_i64().unwrap();
    while fanout::fanout_once(&app.state).await.unwrap() {}
    let mut reached = app.store.batched_devices(update).await.unwrap();
    reached.sort_unstable();
    reached.dedup();
    assert_eq!(reached.len(), 1199);
    assert!(!reached.contains(&gone), "nothing for a device the start did not reach");
    assert_eq!(drain(&worker).await, 1199);
    let (_, v) = get(&app, &token, &format!("/api/v1/actions/{id}")).await;
    assert_eq!(v["messages"][1]["deliveries"]["push"], json!({"sent": 1199}), "{}", v["messages"][1]);
    // The device's latest delivery of the action is now the update's.
    let latest = app.store.device_actions(other, 10).await.unwrap();
    assert_eq!(latest.len(), 1);
    assert!(latest[0].1 > first_of_dead + 3);
    assert_eq!(app.store.delivery(latest[0].1).await.unwrap().map(|d| d.message_id), Some(update));

    // Closing the action: a batch of the update still waiting expires.
    let (s, v) = post(&app, &token, &format!("/api/v1/actions/{id}/update"), &json!({"body": "Nog niet gevonden."})).await;
    assert_eq!(s, 200, "{v}");
    while fanout::fanout_once(&app.state).await.unwrap() {}
    let (s, v) =
        post(&app, &token, &format!("/api/v1/actions/{id}/close"), &json!({"outcome": "direct", "body": "Gevonden."})).await;
    assert_eq!(s, 200, "{v}");
    while fanout::fanout_once(&app.state).await.unwrap() {}
    drain(&worker).await;
    let (_, v) = get(&app, &token, &format!("/api/v1/actions/{id}")).await;
    assert_eq!(v["messages"][2]["deliveries"]["push"], json!({"expired": 1199}), "{}", v["messages"][2]);
    assert_eq!(v["messages"][3]["deliveries"]["push"], json!({"sent": 1199}), "the closing message: {}", v["messages"][3]);
}

on_both_backends!(a_device_row_sends_nothing_to_a_device_deleted_or_paused_since);

/// With device batches switched off every device has a delivery row, and a row read when its
/// push is due sends nothing to a device deleted or paused since the send (not even to the
/// sandbox, which needs no subscription): the row fails with "no destination".
async fn a_device_row_sends_nothing_to_a_device_deleted_or_paused_since(backend: Backend) {
    let (app, worker) = manual_with(backend, |c| c.alerting.device_batches = false).await;
    let token = app.staff_token("dispatcher", "NL").await;
    let devices: Vec<_> = (0..20).map(|i| anonymous_device(i, AMERSFOORT, &[Topic::Urgent], "nl")).collect();
    app.store.register_anonymous_devices(&devices, 0).await.unwrap();
    let (id, start) = send_national_amber(&app, &token, "runaway_child", "Vermist: meisje, 9 jaar.").await;
    assert!(app.store.batched_devices(start).await.unwrap().is_empty(), "no batches when switched off");
    let rows = app.store.admin_strings("SELECT CAST(device_id AS TEXT) FROM deliveries ORDER BY device_id").await.unwrap();
    assert_eq!(rows.len(), 20, "a row per device");
    let (gone, paused): (i64, i64) = (rows[3].parse().unwrap(), rows[11].parse().unwrap());
    assert!(app.store.remove_device(gone, app.clock_ms()).await.unwrap());
    let pause = buurtnet_store::DeviceChange { paused: Some(true), ..Default::default() };
    assert!(app.store.update_device(paused, &pause, app.clock_ms()).await.unwrap());
    assert_eq!(drain(&worker).await, 20);
    let pushed = app.store.admin_strings("SELECT recipient FROM sandbox_messages WHERE channel = 'push'").await.unwrap();
    assert_eq!(pushed.len(), 18, "{pushed:?}");
    for device in [gone, paused] {
        assert!(!pushed.contains(&format!("device:{device}")), "nothing for device {device}");
    }
    let failed = app
        .store
        .admin_strings("SELECT CAST(device_id AS TEXT) || ' ' || COALESCE(last_error, '') FROM deliveries WHERE state = 'failed' ORDER BY device_id")
        .await
        .unwrap();
    let mut expected = [(gone, "no destination"), (paused, "no destination")];
    expected.sort_unstable();
    assert_eq!(failed, expected.iter().map(|(d, e)| format!("{d} {e}")).collect::<Vec<_>>());
    let (_, v) = get(&app, &token, &format!("/api/v1/actions/{id}")).await;
    assert_eq!(v["messages"][0]["deliveries"]["push"], json!({"sent": 18, "failed": 2}), "{}", v["messages"][0]);
}

on_both_backends!(finishing_a_claim_records_each_outcome_and_ignores_a_stale_claim);

/// What a worker reports for a claimed batch is written per delivery — state, next try,
/// given-back tries, error and the provider's id — and a report from a claim that was taken
/// over (another `attempts`) changes nothing.
async fn finishing_a_claim_records_each_outcome_and_ignores_a_stale_claim(backend: Backend) {
    use buurtnet_store::deliveries::Finished;
    let (app, _) = manual(backend).await;
    let now = app.clock_ms();
    let targets: Vec<_> = (1..=6).map(|pid| (pid, 0, buurtnet_domain::Channel::Sms)).collect();
    assert_eq!(app.store.insert_deliveries(99, 3, now, &targets).await.unwrap(), 6);
    let mut claimed = app.store.claim_deliveries(now, now + 60_000, 10).await.unwrap();
    claimed.sort_by_key(|d| d.id);
    assert_eq!(claimed.len(), 6);
    let f = |i: usize,
             state: &'static str,
             next_at: i64,
             provider: Option<&str>,
             error: Option<&str>,
             untried: bool,
             attempts: i64| Finished {
        id: claimed[i].id,
        attempts,
        state,
        next_at,
        provider_id: provider.map(str::to_string),
        error: error.map(str::to_string),
        untried,
    };
    let done = vec![
        f(0, "sent", now, Some("cm-1"), None, false, 1),
        f(1, "sent", now, Some("cm-\"2\""), None, false, 1),
        f(2, "sent", now, None, None, false, 1),
        f(3, "pending", now + 4000, None, Some("503 from the gateway"), false, 1),
        f(4, "pending", now + 2000, None, Some("sms paused"), true, 1),
        // A stale report: this claim's attempts were 1, not 7.
        f(5, "failed", now, None, Some("stale"), false, 7),
    ];
    app.store.finish_deliveries(now + 10, &done).await.unwrap();
    // A finished delivery's next try is none: it records the time of its result.
    let finished_at =
        app.store.admin_strings("SELECT DISTINCT CAST(next_at AS TEXT) FROM deliveries WHERE state = 'sent'").await.unwrap();
    assert_eq!(finished_at, vec![(now + 10).to_string()]);
    let rows = app
        .store
        .admin_strings(
            "SELECT state || '|' || CAST(next_at - (SELECT MIN(next_at) FROM deliveries WHERE state = 'sent') AS TEXT) || '|' || CAST(attempts AS TEXT)
                    || '|' || COALESCE(provider_id, '-') || '|' || COALESCE(last_error, '-') FROM deliveries ORDER BY id",
        )
        .await
        .unwrap();
    assert_eq!(
        rows,
        vec![
            "sent|0|1|cm-1|-".to_string(),
            "sent|0|1|cm-\"2\"|-".into(),
            "sent|0|1|-|-".into(),
            "pending|3990|1|-|503 from the gateway".into(),
            "pending|1990|0|-|sms paused".into(),
            "sending|59990|1|-|-".into(),
        ]
    );
}
