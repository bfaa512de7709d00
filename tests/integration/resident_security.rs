//! The resident side's answers to the security review of issue #19: host names (DNS
//! rebinding), a share of the live feed per address, linked devices that are single-use,
//! told and undone, caching of personal answers, reply posts to bad links, the app rule on
//! device changes, and no personal data in any log line.

use crate::alerting::{AMERSFOORT, post, resident};
use crate::common::{Backend, TestApp, link_token};
use crate::on_both_backends;
use buurtnet_domain::{Channel, Topic};
use buurtnet_server::config::Limit;
use serde_json::{Value, json};
use std::time::Duration;

on_both_backends!(a_self_service_link_links_one_device_and_the_participant_sees_and_unlinks_it);

async fn get_with_host(app: &TestApp, path: &str, host: &str) -> reqwest::Response {
    app.client.get(app.at(path)).header("host", host).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_our_host_names_are_answered_and_only_they_reach_the_sandbox() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let port = app.url.rsplit(':').next().unwrap().to_string();
    // A rebound name resolves to 127.0.0.1: refused on every route, the sandbox included.
    for path in ["/healthz", "/sandbox/api/messages", "/api/v1/areas", "/mijn", "/console/aanmelden"] {
        let r = get_with_host(&app, path, &format!("rebind.attacker.example:{port}")).await;
        assert_eq!(r.status(), 421, "{path}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "misdirected_request");
    }
    // Loopback's own names, with any port or none.
    for host in [format!("localhost:{port}"), "127.0.0.1".to_string(), format!("[::1]:{port}"), "LOCALHOST".to_string()] {
        assert_eq!(get_with_host(&app, "/sandbox/api/messages", &host).await.status(), 200, "{host}");
    }

    // The public_url's host is ours too; `*` answers any name but never opens the sandbox.
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.public_url = Some("https://alert.example.nl".into());
        c.allowed_hosts = Some(vec!["*".into()]);
    })
    .await;
    assert_eq!(get_with_host(&app, "/sandbox/api/messages", "alert.example.nl").await.status(), 200);
    assert_eq!(get_with_host(&app, "/healthz", "rebind.attacker.example").await.status(), 200);
    assert_eq!(get_with_host(&app, "/sandbox/api/messages", "rebind.attacker.example").await.status(), 404);
    assert_eq!(get_with_host(&app, "/metrics", "rebind.attacker.example").await.status(), 404);

    // A configured list replaces the loopback names (the bind address stays).
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.allowed_hosts = Some(vec!["buurtnet.internal".into()])).await;
    assert_eq!(get_with_host(&app, "/healthz", "buurtnet.internal:8080").await.status(), 200);
    assert_eq!(get_with_host(&app, "/healthz", "localhost").await.status(), 421);
    assert_eq!(app.get_json("/healthz").await.0, 200, "127.0.0.1 is the bind address");
}

/// Opens a resident live feed (for "where I am" in Amersfoort's cell).
async fn open_feed(app: &TestApp) -> reqwest::Response {
    let cell = buurtnet_domain::cell::coarse_id(AMERSFOORT.0, AMERSFOORT.1);
    app.client.get(app.at(&format!("/api/v1/live?cell={cell}"))).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_holds_at_most_its_share_of_live_feeds() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert_eq!(app.state.config.alerting.public_feeds_per_address, 10, "the default");
    let mut open = Vec::new();
    for i in 0..10 {
        let r = open_feed(&app).await;
        assert_eq!(r.status(), 200, "feed {i}");
        open.push(r);
    }
    let r = open_feed(&app).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "too_many_requests");
    drop(open);

    // Opening feeds counts under the app rule as well.
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.abuse_limits.app = Limit { per_ip: 2, per_target: 0, window_seconds: 3600 };
        c.alerting.public_feeds_per_address = 0;
    })
    .await;
    let first = open_feed(&app).await;
    let second = open_feed(&app).await;
    assert_eq!((first.status(), second.status()), (reqwest::StatusCode::OK, reqwest::StatusCode::OK));
    drop((first, second));
    assert_eq!(open_feed(&app).await.status(), 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_changes_and_deletions_count_under_the_app_rule() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.abuse_limits.app = Limit { per_ip: 3, per_target: 0, window_seconds: 3600 };
    })
    .await;
    let patch = || {
        app.client
            .patch(app.at("/api/v1/devices/1"))
            .bearer_auth("guessed-token")
            .json(&json!({"location": {"postcode": "3522 HG", "house_number": "70"}}))
            .send()
    };
    for _ in 0..3 {
        let s = patch().await.unwrap().status();
        assert!(s == 404 || s == 401, "{s}");
    }
    let r = patch().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let r = app.client.delete(app.at("/api/v1/devices/1")).bearer_auth("guessed-token").send().await.unwrap();
    assert_eq!(r.status(), 429);
}

/// A device of the resident app without push (it follows the live feed), and its token.
async fn app_device(app: &TestApp) -> (i64, String) {
    let cell = buurtnet_domain::cell::coarse_id(AMERSFOORT.0, AMERSFOORT.1);
    let (s, v) = app.post_json("/api/v1/devices", &json!({"location": {"coarse_cell": cell}})).await;
    assert_eq!(s, 201, "{v}");
    (v["id"].as_i64().unwrap(), v["token"].as_str().unwrap().to_string())
}

async fn link(app: &TestApp, device: &(i64, String), token: &str) -> (u16, Value) {
    let r = app
        .client
        .post(app.at(&format!("/api/v1/app/devices/{}/link", device.0)))
        .bearer_auth(&device.1)
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// A new self-service token for `email`, from the mail the sandbox recorded.
async fn self_service_token(app: &TestApp, email: &str) -> String {
    app.post_json("/api/v1/participants/self-service-link", &json!({"email": email})).await;
    let mails = app.sandbox(email).await;
    let mail = mails.iter().rev().find(|m| m["body"].as_str().unwrap().contains("/mijn/")).unwrap();
    link_token(mail["body"].as_str().unwrap(), "/mijn/")
}

fn csrf(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    html[start..start + 48].to_string()
}

async fn a_self_service_link_links_one_device_and_the_participant_sees_and_unlinks_it(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (email, phone) = ("owner@example.org", "+31611112222");
    let (s, _) = app.post_json("/api/v1/participants", &crate::common::example_registration(email, phone)).await;
    assert_eq!(s, 202);
    let participant = app.store.contact("email", email).await.unwrap().unwrap().participant_id;
    let token = self_service_token(&app, email).await;
    let mine = app_device(&app).await;
    let strangers = app_device(&app).await;

    // The link links one device; the forwarded copy links nothing more.
    let (s, v) = link(&app, &mine, &token).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = link(&app, &strangers, &token).await;
    assert_eq!((s, v["fields"][0]["code"].as_str()), (422, Some("link_invalid")), "{v}");
    assert_eq!(app.store.device(strangers.0).await.unwrap().unwrap().participant_id, None);

    // The owner is told, in their language, with a way to undo it.
    let told: Vec<Value> = app
        .sandbox(email)
        .await
        .into_iter()
        .filter(|m| m["subject"].as_str().unwrap_or_default().contains("gekoppeld"))
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    let body = told[0]["body"].as_str().unwrap();
    assert!(body.contains("Ontkoppel") && body.contains("/mijn/"), "{body}");

    // The export and the page list the device; the page and the export are not cached.
    let r = app.client.get(app.at(&format!("/api/v1/self-service/{token}"))).send().await.unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    let export: Value = r.json().await.unwrap();
    let devices = export["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1, "{export}");
    assert_eq!(devices[0]["id"], mine.0);
    assert_eq!(devices[0]["push"], false);
    let r = app.client.get(app.at(&format!("/mijn/{token}?lang=nl"))).send().await.unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    assert!(html.contains("Gekoppelde apparaten"), "{html}");
    assert!(html.contains(&format!("name=\"device\" value=\"{}\"", mine.0)), "{html}");

    // Unlinking needs the form's CSRF token.
    let form = |csrf: String| vec![("csrf", csrf), ("action", "unlink".into()), ("device", mine.0.to_string())];
    let r = app
        .client
        .post(app.at(&format!("/mijn/{token}")))
        .form(&form("forged-forged-forged-forged-forged-00".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(app.store.device(mine.0).await.unwrap().unwrap().participant_id, Some(participant));
    let r = app.client.post(app.at(&format!("/mijn/{token}"))).form(&form(csrf(&html))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Het apparaat is ontkoppeld."), "{html}");
    assert!(html.contains("Er is geen apparaat gekoppeld."), "{html}");
    assert_eq!(app.store.device(mine.0).await.unwrap().unwrap().participant_id, None);
    assert!(app.store.audit_entries(20).await.unwrap().iter().any(|e| e.action == "device.unlink"));

    // A new link (signed a moment later) links again; the API unlinks too, only the
    // participant's own devices.
    app.clock.advance(chrono::Duration::seconds(1));
    let token = self_service_token(&app, email).await;
    assert_eq!(link(&app, &strangers, &token).await.0, 200);
    let other = resident(&app, AMERSFOORT, &[Channel::Email], &[Topic::Urgent], "nl", vec![]).await;
    let other_token = self_service_token(&app, &other.email).await;
    let unlink = |t: &str, id: i64| app.client.delete(app.at(&format!("/api/v1/self-service/{t}/devices/{id}"))).send();
    assert_eq!(unlink(&other_token, strangers.0).await.unwrap().status(), 404, "not theirs");
    assert_eq!(unlink(&token, strangers.0).await.unwrap().status(), 204);
    assert_eq!(unlink(&token, strangers.0).await.unwrap().status(), 404);
    assert_eq!(unlink(&token, 0).await.unwrap().status(), 404);
    let (_, export) = app.get_json(&format!("/api/v1/self-service/{token}")).await;
    assert_eq!(export["devices"], json!([]));
    assert_eq!(app.store.device(strangers.0).await.unwrap().unwrap().participant_id, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_with_personal_data_are_not_stored_by_caches() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let device = app_device(&app).await;
    let r = app.client.get(app.at(&format!("/api/v1/app/devices/{}", device.0))).bearer_auth(&device.1).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store", "a device's export");
    let reply_page = app.client.get(app.at("/antwoord/unknown-link")).send().await.unwrap();
    assert_eq!(reply_page.headers()["cache-control"], "no-store", "the reply page");
    let console = app.client.get(app.at("/console/aanmelden")).send().await.unwrap();
    assert_eq!(console.headers()["cache-control"], "no-store", "the console");
    let staff = app.staff_token("admin", "NL").await;
    let r = app.client.get(app.at("/api/v1/staff/me")).bearer_auth(&staff).send().await.unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store", "staff JSON");
    // What is the same for everyone keeps its own caching.
    let icon = app.client.get(app.at("/app/icon.svg")).send().await.unwrap();
    assert_eq!(icon.headers()["cache-control"], "public, max-age=86400");
}

/// The resident set size of this process (the test server runs in it), in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// Posts a multipart reply with `size` bytes of photo to `path` over a plain connection, made
/// as it is sent (the test holds none of it), and returns the answer's status line (empty
/// when the server closed the connection without one).
async fn stream_reply(addr: &str, path: &str, size: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const BOUNDARY: &str = "reviewboundary19";
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nx\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"big.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    );
    let tail = format!("\r\n--{BOUNDARY}--\r\n");
    let chunk = vec![0u8; 64 * 1024];
    let chunks = size / chunk.len();
    let length = head.len() + chunks * chunk.len() + tail.len();
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let reader = tokio::spawn(async move {
        let mut answer = Vec::new();
        let _ = rd.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_string()
    });
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n{head}"
    );
    if wr.write_all(request.as_bytes()).await.is_ok() {
        for _ in 0..chunks {
            if wr.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = wr.write_all(tail.as_bytes()).await;
    }
    drop(wr);
    tokio::time::timeout(Duration::from_secs(30), reader).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_posts_to_a_bad_link_are_refused_before_their_body_is_read() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let addr = app.url.trim_start_matches("http://").to_string();
    let before = rss();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(before));
    let watcher = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss(), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let posts = (0..8).map(|i| {
        let token = format!("{:0>43}", format!("bad{i}"));
        let addr = addr.clone();
        async move { stream_reply(&addr, &format!("/antwoord/{token}"), 40 * 1024 * 1024).await }
    });
    let answers = futures::future::join_all(posts).await;
    watcher.abort();
    for a in &answers {
        assert!(a.starts_with("HTTP/1.1 404"), "{answers:?}");
    }
    let grown = peak.load(std::sync::atomic::Ordering::Relaxed).saturating_sub(before);
    assert!(grown < 50 * 1024 * 1024, "RSS grew by {} MB", grown / (1024 * 1024));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_beyond_the_process_cap_wait_for_a_slot() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.enquiries.max_concurrent_uploads = 2).await;
    let requester = app.staff_token("requester", "GM0307").await;
    let approver = app.staff_token("approver", "GM0307").await;
    let person = resident(&app, AMERSFOORT, &[Channel::Email], &[Topic::Enquiry], "nl", vec![]).await;
    let body = json!({"incident_type": "burglary", "occurred_at": "2026-11-22T10:00:00Z",
           "location": {"lat": AMERSFOORT.0, "lon": AMERSFOORT.1}, "radius_m": 500,
           "description": "Inbraak in een woning aan de Stationsstraat.", "questions": "Heeft u iets gezien?"});
    let (s, e) = post(&app, &requester, "/api/v1/enquiries", &body).await;
    assert_eq!(s, 201, "{e}");
    let (s, v) = post(&app, &approver, &format!("/api/v1/enquiries/{}/approve", e["id"]), &json!({"version": 1})).await;
    assert_eq!(s, 200, "{v}");
    let mut token = None;
    for _ in 0..200 {
        if let Some(m) = app.sandbox(&person.email).await.iter().find(|m| m["body"].as_str().unwrap_or("").contains("/antwoord/"))
        {
            token = Some(link_token(m["body"].as_str().unwrap(), "/antwoord/"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = token.expect("the enquiry's e-mail");
    // Both slots are taken (two uploads in progress): the next one is refused, not buffered.
    let held = app.state.upload_slots.clone().acquire_many_owned(2).await.unwrap();
    let (s, v) = crate::enquiries::reply(&app, &token, "Ik zag een scooter.", "", vec![]).await;
    assert_eq!(s, 503, "{v}");
    drop(held);
    let (s, v) = crate::enquiries::reply(&app, &token, "Ik zag een scooter.", "", vec![]).await;
    assert_eq!(s, 201, "{v}");
}
