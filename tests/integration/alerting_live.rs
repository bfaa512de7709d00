//! Actions through the real channel adapters: e-mail to a real SMTP server (aiosmtpd), SMS and
//! voice to a local server speaking CM.com's API; faults of the provider (500s, 429 with
//! Retry-After, a provider down) end in delivery, failover or a dead letter — never a loss.

use crate::alerting::{AMERSFOORT, get, post, resident, settle};
use crate::common::{Backend, TestApp};
use crate::fakes::{FakeCm, SmtpServer};
use crate::on_both_backends;
use crate::push::{browser_keys, fake_push_service, subscription};
use crate::webpush_decrypt::decrypt;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use buurtnet_domain::{Channel, Clock, Topic};
use serde_json::{Value, json};
use std::time::Duration;

const REPORT_SECRET: &str = "report-secret-for-tests";

pub async fn live_app(backend: Backend, cm: &FakeCm, smtp: &SmtpServer, push_port: u16) -> TestApp {
    let (cm_url, smtp_url) = (cm.url.clone(), smtp.url.clone());
    TestApp::spawn_with(backend, move |c| {
        c.push.allowed_hosts = Some(vec![format!("127.0.0.1:{push_port}")]);
        c.providers.kind = "live".into();
        c.providers.smtp_url = Some(smtp_url);
        c.providers.sms.url = cm_url.clone();
        c.providers.sms.product_token = FakeCm::TOKEN.into();
        c.providers.sms.messages_per_second = 0;
        c.providers.sms.report_secret = REPORT_SECRET.into();
        c.providers.voice.url = cm_url;
        c.providers.voice.product_token = FakeCm::TOKEN.into();
        c.providers.voice.caller = "+3188000000".into();
        c.alerting.worker.max_attempts = 3;
        c.alerting.worker.backoff_base_ms = 1000;
        c.alerting.worker.poll_ms = 20;
    })
    .await
}

/// `0031…` as the gateway gets it.
fn cm_number(phone: &str) -> String {
    format!("00{}", phone.trim_start_matches('+'))
}

async fn new_action(app: &TestApp, token: &str, body: Value) -> i64 {
    let (s, v) = post(app, token, "/api/v1/actions", &body).await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_i64().unwrap()
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img).write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
    out
}

async fn upload_photo(app: &TestApp, token: &str, action: i64, bytes: Vec<u8>, content_type: &str) -> (u16, Value) {
    let r = app
        .client
        .post(app.at(&format!("/api/v1/actions/{action}/photos")))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn gas_leak() -> Value {
    json!({"kind": "gas_leak", "status": "actual", "area": {"circle": {"lat": AMERSFOORT.0, "lon": AMERSFOORT.1, "radius_m": 1500}},
           "title": "Gaslek Stationsplein", "body": "Sluit ramen en deuren en zet de ventilatie uit.", "title_en": "Gas leak at Stationsplein"})
}

on_both_backends!(sms_calls_and_mail_reach_every_recipient_exactly_once_per_message);

async fn sms_calls_and_mail_reach_every_recipient_exactly_once_per_message(backend: Backend) {
    let cm = FakeCm::start().await;
    let smtp = SmtpServer::start().await;
    let (push_port, pushes) = fake_push_service().await;
    let app = live_app(backend, &cm, &smtp, push_port).await;
    let token = app.staff_token("dispatcher", "NL").await;
    let a = resident(&app, AMERSFOORT, &[Channel::Email, Channel::Sms], &[Topic::Urgent], "nl", vec![]).await;
    let b = resident(&app, AMERSFOORT, &[Channel::Voice], &[Topic::Urgent], "en", vec![]).await;
    // A phone with the app, registered on its own (no account), in English.
    let (browser_secret, p256dh, auth) = browser_keys();
    let endpoint = format!("http://127.0.0.1:{push_port}/push/ok-phone");
    let (s, v) = app
        .post_json(
            "/api/v1/devices",
            &json!({"subscription": subscription(&endpoint, &p256dh, &B64.encode(auth)), "location": {"lat": AMERSFOORT.0, "lon": AMERSFOORT.1},
                    "topics": ["urgent"], "language": "en"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let id = new_action(&app, &token, gas_leak()).await;
    // A photo: re-encoded, sent by push and e-mail, never by SMS or voice.
    let (s, photo) = upload_photo(&app, &token, id, png(1600, 900), "image/png").await;
    assert_eq!(s, 201, "{photo}");
    assert_eq!((photo["width"].as_i64(), photo["height"].as_i64()), (Some(1280), Some(720)));
    let photo_url = photo["url"].as_str().unwrap().to_string();
    let served = app.client.get(&photo_url).send().await.unwrap();
    assert_eq!(served.headers()["content-type"], "image/jpeg");
    assert_eq!(&served.bytes().await.unwrap()[..2], &[0xFF, 0xD8]);
    let (s, v) = upload_photo(&app, &token, id, b"not a picture".to_vec(), "image/png").await;
    assert_eq!((s, v["fields"][0]["field"].as_str()), (422, Some("photo")), "{v}");
    let (s, _) = upload_photo(&app, &token, id, png(10, 10), "text/plain").await;
    assert_eq!(s, 422);
    for _ in 0..2 {
        assert_eq!(upload_photo(&app, &token, id, png(20, 20), "image/png").await.0, 201);
    }
    let (s, v) = upload_photo(&app, &token, id, png(20, 20), "image/png").await;
    assert_eq!((s, v["fields"][0]["code"].as_str()), (422, Some("too_many_photos")), "at most three");
    for (step, body) in [
        ("send", json!({})),
        ("update", json!({"body": "De brandweer meet nog."})),
        ("close", json!({"outcome": "none", "body": "Het lek is gedicht."})),
    ] {
        let (s, v) = post(&app, &token, &format!("/api/v1/actions/{id}/{step}"), &body).await;
        assert_eq!(s, 200, "{step}: {v}");
        settle(&app, &token, id).await;
    }
    let mails = smtp.wait_for(3, Duration::from_secs(20)).await;
    assert_eq!(mails.len(), 3);
    assert!(mails.iter().all(|m| m.rcpt_to.contains(&a.email)));
    assert_eq!(mails[0].subject, "Gaslek: Gaslek Stationsplein");
    assert!(mails[0].text.as_deref().unwrap().contains("Sluit ramen en deuren"));
    assert!(mails[0].html.as_deref().unwrap().contains("Gaslek Stationsplein"));
    assert!(mails[2].subject.starts_with("Afgesloten"));
    let ids: Vec<&str> = mails.iter().map(|m| m.header("Message-ID").unwrap()).collect();
    assert!(ids.iter().all(|i| i.starts_with("<bn")), "{ids:?}");
    assert!(ids[0] != ids[1] && ids[1] != ids[2]);
    let unsubscribe = mails[0].header("List-Unsubscribe").unwrap();
    assert_eq!(unsubscribe, format!("<{}/mijn>", app.url), "the page that asks for a link, never a token");

    let sms = cm.wait_for_sms(3, Duration::from_secs(10)).await;
    assert_eq!(sms.len(), 3);
    assert!(sms.iter().all(|m| m.number == cm_number(&a.phone) && m.reference.starts_with("bn")));
    assert!(sms[0].text.starts_with("Gaslek: Gaslek Stationsplein. Sluit ramen"));
    let calls = cm.wait_for_calls(3, Duration::from_secs(10)).await;
    assert_eq!(calls.len(), 3);
    assert!(calls.iter().all(|c| c.callee == b.phone && c.caller == "+3188000000" && c.language == "en-GB"), "{calls:?}");
    assert!(calls[0].prompt.contains("Gas leak at Stationsplein"));
    // The phone got three pushes, each decrypted with its subscription's private key.
    let got: Vec<_> = pushes.lock().unwrap().iter().filter(|r| r.path == "/push/ok-phone").cloned().collect();
    assert_eq!(got.len(), 3);
    let payloads: Vec<Value> =
        got.iter().map(|r| serde_json::from_slice(&decrypt(&r.body, &browser_secret, &auth).unwrap()).unwrap()).collect();
    assert_eq!(payloads[0]["title"], "Gas leak: Gas leak at Stationsplein");
    assert!(payloads[0]["body"].as_str().unwrap().contains("Sluit ramen"));
    assert_eq!(payloads[0]["thread"], format!("action-{id}"));
    assert_eq!(payloads[0]["image"], photo_url.as_str());
    assert!(mails[0].html.as_deref().unwrap().contains(&format!("<img src=\"{photo_url}\"")));
    assert!(sms.iter().all(|m| !m.text.contains("/media/")) && calls.iter().all(|c| !c.prompt.contains("/media/")));
    // Once sent, no more photos.
    let (s, v) = upload_photo(&app, &token, id, png(10, 10), "image/png").await;
    assert_eq!((s, v["fields"][0]["field"].as_str()), (422, Some("state")));
    for (r, p) in got.iter().zip(&payloads) {
        assert_eq!(p["tag"], r.headers["topic"].to_str().unwrap(), "tag and Topic carry the delivery's reference");
    }
    assert!(payloads[2]["title"].as_str().unwrap().starts_with("Closed"));
    assert!(got.iter().all(|r| r.headers["urgency"] == "high" && r.headers["topic"].to_str().unwrap().starts_with("bn")));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!((cm.sms().len(), cm.calls().len(), smtp.messages().len()), (3, 3, 3), "nothing twice");
    assert_eq!(pushes.lock().unwrap().len(), 3, "nothing twice");

    // Delivery reports move a sent SMS to delivered; an unsigned one is refused.
    let report =
        json!({"messages": {"msg": [{"reference": sms[0].reference, "status": {"code": 2}, "received": "2026-11-22T12:00:01"}]}})
            .to_string();
    let send_report = |sig: Option<String>, body: String| {
        let mut req =
            app.client.post(app.at("/api/v1/providers/sms/reports")).header("content-type", "application/json").body(body);
        if let Some(s) = sig {
            req = req.header("X-Buurtnet-Signature", s);
        }
        req.send()
    };
    assert_eq!(send_report(None, report.clone()).await.unwrap().status(), 401);
    assert_eq!(send_report(Some("sha256=00".into()), report.clone()).await.unwrap().status(), 401);
    let now = app.clock.now().timestamp();
    let stale = buurtnet_delivery::sms_http::sign(REPORT_SECRET.as_bytes(), report.as_bytes(), now - 600);
    assert_eq!(send_report(Some(stale), report.clone()).await.unwrap().status(), 401, "a replayed old report");
    let sig = buurtnet_delivery::sms_http::sign(REPORT_SECRET.as_bytes(), report.as_bytes(), now);
    let r = send_report(Some(sig), report).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["applied"], 1);
    let (_, v) = get(&app, &token, &format!("/api/v1/actions/{id}")).await;
    assert_eq!(v["deliveries"]["sms"]["delivered"], 1, "{v}");
    assert_eq!(v["deliveries"]["sms"]["sent"], 2, "{v}");
}

on_both_backends!(a_failed_sms_report_fails_over_to_email);

/// The gateway took the SMS, but its report says it never reached the phone: the person's
/// e-mail takes over (once, however often the report comes).
async fn a_failed_sms_report_fails_over_to_email(backend: Backend) {
    let cm = FakeCm::start().await;
    let smtp = SmtpServer::start().await;
    let app = live_app(backend, &cm, &smtp, 9).await;
    let token = app.staff_token("dispatcher", "NL").await;
    let a = resident(&app, AMERSFOORT, &[Channel::Sms], &[Topic::Urgent], "nl", vec![]).await;
    let id = new_action(&app, &token, gas_leak()).await;
    post(&app, &token, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
    let sms = cm.wait_for_sms(1, Duration::from_secs(10)).await;
    settle(&app, &token, id).await;
    assert!(smtp.messages().is_empty(), "no e-mail while the SMS seems fine");
    let report = json!({"messages": {"msg": [{"reference": sms[0].reference,
        "status": {"code": 3, "errorCode": 5, "errorDescription": "Unknown subscriber"}}]}})
    .to_string();
    for round in 0..2 {
        let now = app.clock.now().timestamp();
        let sig = buurtnet_delivery::sms_http::sign(REPORT_SECRET.as_bytes(), report.as_bytes(), now);
        let r = app
            .client
            .post(app.at("/api/v1/providers/sms/reports"))
            .header("content-type", "application/json")
            .header("X-Buurtnet-Signature", sig)
            .body(report.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            (v["applied"].as_u64(), v["failed_over"].as_u64()),
            if round == 0 { (Some(1), Some(1)) } else { (Some(0), Some(0)) },
            "{v}"
        );
    }
    let mails = smtp.wait_for(1, Duration::from_secs(10)).await;
    assert!(mails[0].rcpt_to.contains(&a.email), "failed over to e-mail");
    let v = settle(&app, &token, id).await;
    assert_eq!(v["deliveries"]["sms"]["failed"], 1, "{v}");
    assert_eq!(v["deliveries"]["email"]["sent"], 1, "{v}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(smtp.messages().len(), 1, "one e-mail, however often the report came");
}

on_both_backends!(
    failing_sms_is_retried_then_dead_lettered_and_failed_over,
    retry_after_is_honoured_and_a_provider_down_loses_nothing
);

/// Moves the test clock in steps until `done` holds (workers poll every 20 ms).
async fn advance_until(app: &TestApp, step: chrono::Duration, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        app.clock.advance(step);
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    panic!("the condition did not come true");
}

async fn failing_sms_is_retried_then_dead_lettered_and_failed_over(backend: Backend) {
    let cm = FakeCm::start().await;
    let smtp = SmtpServer::start().await;
    let app = live_app(backend, &cm, &smtp, 9).await;
    let token = app.staff_token("dispatcher", "NL").await;
    let admin = app.staff_token("admin", "NL").await;
    // Chose SMS only; has a verified e-mail address too.
    let a = resident(&app, AMERSFOORT, &[Channel::Sms], &[Topic::Urgent], "nl", vec![]).await;
    let id = new_action(&app, &token, gas_leak()).await;
    cm.fail_next(100, 500);
    post(&app, &token, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
    // Three tries (the 2nd and 3rd after their backoff), then a dead letter and the failover.
    for tries in 1..=3 {
        advance_until(&app, chrono::Duration::milliseconds(500), || cm.requests() >= tries).await;
    }
    let mails = smtp.wait_for(1, Duration::from_secs(20)).await;
    assert!(mails[0].rcpt_to.contains(&a.email), "failed over to e-mail");
    let v = settle(&app, &token, id).await;
    assert_eq!(v["deliveries"]["sms"]["dead"], 1, "{v}");
    assert_eq!(v["deliveries"]["email"]["sent"], 1, "{v}");
    let (_, dead) = get(&app, &admin, "/api/v1/deliveries/dead").await;
    let dead = dead["deliveries"].as_array().unwrap().clone();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!((dead[0]["channel"].as_str(), dead[0]["attempts"].as_i64()), (Some("sms"), Some(3)));
    // The gateway works again: an admin retries the dead letter, with the same reference.
    cm.fail_next(0, 500);
    let did = dead[0]["id"].as_i64().unwrap();
    let (s, _) = post(&app, &admin, &format!("/api/v1/deliveries/{did}/retry"), &json!({})).await;
    assert_eq!(s, 200);
    let sms = cm.wait_for_sms(1, Duration::from_secs(10)).await;
    assert_eq!(sms[0].reference, format!("bn{did}"), "the same delivery id after every retry");
    assert_eq!(cm.requests(), 4);

    // An invalid number fails over at once to the person's next channel.
    let b = resident(&app, AMERSFOORT, &[Channel::Sms], &[Topic::Urgent], "nl", vec![]).await;
    app.store
        .execute_admin(&format!("UPDATE contacts SET value = '+3161' WHERE participant_id = {} AND kind = 'phone'", b.id))
        .await
        .unwrap();
    let before = smtp.messages().len();
    let id2 = new_action(&app, &token, gas_leak()).await;
    post(&app, &token, &format!("/api/v1/actions/{id2}/send"), &json!({})).await;
    let mails = smtp.wait_for(before + 1, Duration::from_secs(20)).await;
    assert!(mails.iter().any(|m| m.rcpt_to.contains(&b.email)), "b's e-mail instead of the invalid number");
    let v = settle(&app, &token, id2).await;
    assert_eq!(v["deliveries"]["sms"]["failed"], 1, "{v}");
}

async fn retry_after_is_honoured_and_a_provider_down_loses_nothing(backend: Backend) {
    let cm = FakeCm::start().await;
    let smtp = SmtpServer::start().await;
    let app = live_app(backend, &cm, &smtp, 9).await;
    let token = app.staff_token("dispatcher", "NL").await;
    let a = resident(&app, AMERSFOORT, &[Channel::Sms], &[Topic::Urgent], "nl", vec![]).await;
    cm.rate_limit_next(1, 120);
    let id = new_action(&app, &token, gas_leak()).await;
    post(&app, &token, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
    advance_until(&app, chrono::Duration::milliseconds(100), || cm.requests() >= 1).await;
    // Let the worker record the refusal before the clock moves on (on a loaded machine it may
    // take a moment; recorded later, its Retry-After would count from the later time).
    let mut recorded = false;
    for _ in 0..200 {
        let (_, v) = get(&app, &token, &format!("/api/v1/actions/{id}")).await;
        if v["deliveries"]["sms"]["pending"].as_i64().unwrap_or(0) >= 1 {
            recorded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(recorded, "the refused SMS waits to be retried");
    // The backoff alone would retry after about a second; the gateway asked for 120.
    app.clock.advance(chrono::Duration::seconds(60));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(cm.requests(), 1, "not before Retry-After");
    app.clock.advance(chrono::Duration::seconds(61));
    let sms = cm.wait_for_sms(1, Duration::from_secs(10)).await;
    assert_eq!(sms[0].number, cm_number(&a.phone));

    // The gateway is down for minutes: the delivery waits and goes out when it is back.
    cm.down().await;
    let b = resident(&app, AMERSFOORT, &[Channel::Sms], &[Topic::Urgent], "nl", vec![]).await;
    let id2 = new_action(&app, &token, gas_leak()).await;
    post(&app, &token, &format!("/api/v1/actions/{id2}/send"), &json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.clock.advance(chrono::Duration::seconds(2));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, v) = get(&app, &token, &format!("/api/v1/actions/{id2}")).await;
    assert!(v["deliveries"]["sms"]["pending"].as_i64().unwrap_or(0) >= 1, "waiting to be retried: {v}");
    cm.up().await;
    let before = cm.sms().len();
    advance_until(&app, chrono::Duration::seconds(3), || cm.sms().len() >= before + 2).await;
    let got: Vec<String> = cm.sms().iter().map(|m| m.number.clone()).collect();
    assert!(got.contains(&cm_number(&b.phone)));
    let v = settle(&app, &token, id2).await;
    assert_eq!(v["deliveries"]["sms"]["sent"], 2, "{v}");
}

on_both_backends!(a_provider_down_is_paused_without_using_up_tries);

/// The gateway is down while the clock runs on: after a batch of failures the worker pauses
/// the provider instead of spending every delivery's tries (three here), and when the gateway
/// is back everything goes out.
async fn a_provider_down_is_paused_without_using_up_tries(backend: Backend) {
    let cm = FakeCm::start().await;
    let smtp = SmtpServer::start().await;
    let app = live_app(backend, &cm, &smtp, 9).await;
    let token = app.staff_token("dispatcher", "NL").await;
    let mut phones = Vec::new();
    for _ in 0..25 {
        phones.push(resident(&app, AMERSFOORT, &[Channel::Sms], &[Topic::Urgent], "nl", vec![]).await.phone);
    }
    cm.down().await;
    let id = new_action(&app, &token, gas_leak()).await;
    post(&app, &token, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
    // Three real seconds in which the test clock races on: without the pause the backoff
    // (about a second) would let every delivery use up its three tries.
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        app.clock.advance(chrono::Duration::seconds(3));
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let (_, v) = get(&app, &token, &format!("/api/v1/actions/{id}")).await;
    assert!(v["deliveries"]["sms"].get("dead").is_none(), "no try used up while paused: {v}");
    cm.up().await;
    advance_until(&app, chrono::Duration::seconds(3), || cm.sms().len() >= 25).await;
    let v = settle(&app, &token, id).await;
    assert_eq!(v["deliveries"]["sms"]["sent"], 25, "{v}");
    let got: std::collections::HashSet<String> = cm.sms().iter().map(|m| m.number.clone()).collect();
    assert!(phones.iter().all(|p| got.contains(&cm_number(p))));
    assert_eq!(cm.sms().len(), 25, "each once");
}
