//! A worker process killed with SIGKILL in the middle of a 50,000-recipient fan-out on
//! PostgreSQL (plus 10,000 anonymous push devices, sent in device batches), with two worker
//! processes sharing the database: after a replacement starts, every recipient and every
//! device has the message; duplicates only for what was in flight at the kill, each carrying
//! the same delivery id (the SMS reference, the push's `Topic` header).

use crate::alerting::{AMERSFOORT, post};
use crate::common::{Backend, TestApp, fresh_database, oracle_index};
use crate::fakes::FakeCm;
use buurtnet_domain::registration::{AddressDraft, AddressLocation};
use buurtnet_domain::{AddressKind, Channel, ChannelSet, Clock, SystemClock, Topic, TopicSet};
use buurtnet_server::services::participants::new_address;
use buurtnet_store::{NewContact, NewParticipant};
use serde_json::json;
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PEOPLE: usize = 50_000;
const DEVICES: usize = 10_000;

/// Anonymous devices around Amersfoort with real subscription keys, pushed to `port`.
fn devices(n: usize, port: u16) -> Vec<buurtnet_store::NewDevice> {
    let (_, p256dh, auth) = crate::push::browser_keys();
    let auth = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, auth);
    (0..n)
        .map(|i| buurtnet_store::NewDevice {
            endpoint: Some(format!("http://127.0.0.1:{port}/push/ok{i}")),
            p256dh: Some(p256dh.clone()),
            auth: Some(auth.clone()),
            token_hash: format!("crash{i}"),
            language: "nl".into(),
            topics: [Topic::Urgent].into_iter().collect::<TopicSet>().bits(),
            place: buurtnet_store::DevicePlace::point(
                AMERSFOORT.0 + (i % 100) as f64 * 0.0002,
                AMERSFOORT.1 + (i / 100) as f64 * 0.0003,
            ),
            extra_places: Vec::new(),
        })
        .collect()
}

fn people(n: usize) -> Vec<NewParticipant> {
    let index = oracle_index();
    (0..n)
        .map(|i| {
            // A grid of 224 × 224 points about 20 m apart around Amersfoort's centre (inside 5 km).
            let (lat, lon) = (AMERSFOORT.0 - 0.02 + (i / 224) as f64 * 0.00018, AMERSFOORT.1 - 0.03 + (i % 224) as f64 * 0.00027);
            let draft = AddressDraft {
                kind: AddressKind::Home,
                location: AddressLocation::Point { lat, lon },
                channels: [Channel::Sms].into_iter().collect::<ChannelSet>(),
                quiet_hours: vec![],
            };
            let address = new_address(&draft, lat, lon, false, &index.locate(lat, lon));
            NewParticipant {
                external_id: None,
                language: "nl".into(),
                topics: [Topic::Urgent].into_iter().collect::<TopicSet>().bits(),
                age_confirmed: true,
                paused: false,
                municipality_code: address.municipality_code.clone(),
                // Signed up just now (the worker process runs on the real clock): not due for the
                // yearly "still with us?" its job runner would otherwise send them.
                created_at: buurtnet_domain::Clock::now(&buurtnet_domain::SystemClock).timestamp_millis(),
                contacts: vec![NewContact {
                    kind: "phone".into(),
                    value: format!("+3165{i:07}"),
                    mobile: true,
                    verified_at: Some(0),
                }],
                addresses: vec![address],
            }
        })
        .collect()
}

struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_worker(config: &std::path::Path, data_dir: &std::path::Path, secrets: &std::path::Path) -> Worker {
    let child = Command::new(env!("CARGO_BIN_EXE_buurtnet"))
        .args(["--config", config.to_str().unwrap(), "worker", "--workers", "2"])
        .env("BUURTNET_DATA_DIR", data_dir)
        .env("BUURTNET_SECRETS_FILE", secrets)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Worker(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_mid_fanout_loses_nothing_on_postgres() {
    let db = fresh_database(Backend::Postgres).await;
    let cm = FakeCm::start().await;
    let (push_port, pushes) = crate::push::fake_push_service().await;
    // The server takes the dispatcher's request; only the worker processes fan out and send.
    let app = TestApp::spawn_configured(&db, |c| c.alerting.workers = 0).await;
    app.clock.set(SystemClock.now());
    for chunk in people(PEOPLE).chunks(10_000) {
        app.store.insert_participants(chunk).await.unwrap();
    }
    app.store.register_anonymous_devices(&devices(DEVICES, push_port), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("worker.toml");
    std::fs::write(
        &config,
        format!(
            r#"database_url = "{db}"
[providers]
kind = "live"
smtp_url = "smtp://127.0.0.1:9"
[providers.sms]
url = "{url}"
product_token = "{token}"
messages_per_second = 0
[providers.voice]
url = "{url}"
product_token = "{token}"
caller = "+3188000000"
[push]
allowed_hosts = "127.0.0.1:{push_port}"
[alerting]
fanout_lease_seconds = 3
[alerting.worker]
lease_seconds = 3
send_timeout_seconds = 1
batch = 200
concurrency = 64
"#,
            url = cm.url,
            token = FakeCm::TOKEN,
        ),
    )
    .unwrap();
    let data = |n: &str| {
        let d = dir.path().join(n);
        std::fs::create_dir_all(&d).unwrap();
        d
    };
    let mut first = start_worker(&config, &data("a"), &app.secrets_file);
    let _second = start_worker(&config, &data("b"), &app.secrets_file);

    let token = app.staff_token("dispatcher", "NL").await;
    let (s, v) = post(
        &app,
        &token,
        "/api/v1/actions",
        &json!({"kind": "suspect", "status": "exercise", "area": {"circle": {"lat": AMERSFOORT.0, "lon": AMERSFOORT.1, "radius_m": 5000}},
                "title": "Crashtest", "body": "Oefening."}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (s, v) = post(&app, &token, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
    assert_eq!(s, 200, "{v}");

    // Kill one worker process (SIGKILL) while the fan-out and sending are under way.
    let started = Instant::now();
    while cm.sms().len() < 5_000 {
        assert!(started.elapsed() < Duration::from_secs(120), "sending did not start: {} messages", cm.sms().len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let at_kill = cm.sms().len();
    let _third = start_worker(&config, &data("c"), &app.secrets_file);

    let reached = loop {
        let sent: Vec<String> =
            app.store.admin_strings("SELECT CAST(COUNT(*) AS TEXT) FROM deliveries WHERE state = 'sent'").await.unwrap();
        let sent: usize = sent[0].parse().unwrap();
        if sent >= PEOPLE {
            break sent;
        }
        assert!(started.elapsed() < Duration::from_secs(240), "only {sent} of {PEOPLE} sent");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(reached, PEOPLE);
    let pushed = loop {
        let paths: std::collections::HashSet<String> = pushes.lock().unwrap().iter().map(|r| r.path.clone()).collect();
        if paths.len() >= DEVICES {
            break paths.len();
        }
        assert!(started.elapsed() < Duration::from_secs(240), "only {} of {DEVICES} devices pushed", paths.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(pushed, DEVICES, "every device has the message");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = cm.sms();
    let mut per_number: HashMap<String, Vec<String>> = HashMap::new();
    for m in &received {
        per_number.entry(m.number.clone()).or_default().push(m.reference.clone());
    }
    assert_eq!(per_number.len(), PEOPLE, "every recipient has the message");
    let duplicates = received.len() - PEOPLE;
    for (number, refs) in &per_number {
        assert!(refs.iter().all(|r| r == &refs[0]), "{number} got different delivery ids: {refs:?}");
    }
    let mut per_device: HashMap<String, Vec<String>> = HashMap::new();
    for r in pushes.lock().unwrap().iter() {
        let topic = r.headers.get("topic").and_then(|t| t.to_str().ok()).unwrap_or("").to_string();
        per_device.entry(r.path.clone()).or_default().push(topic);
    }
    let push_duplicates: usize = per_device.values().map(|t| t.len() - 1).sum();
    for (path, topics) in &per_device {
        assert!(!topics[0].is_empty() && topics.iter().all(|t| t == &topics[0]), "{path} got different delivery ids: {topics:?}");
    }
    // At most what the killed process had claimed: 2 workers × one batch of 200 (deliveries
    // or devices).
    assert!(duplicates + push_duplicates <= 400, "{duplicates} + {push_duplicates} duplicates (killed after {at_kill} messages)");
    eprintln!(
        "crash test: killed after {at_kill} messages; all {PEOPLE} people and {DEVICES} devices reached in {:.1} s; {duplicates} + {push_duplicates} duplicates, each with the same delivery id",
        started.elapsed().as_secs_f64()
    );
}
