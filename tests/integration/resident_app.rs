//! The resident web app's server side: devices that take part without an account ("where I
//! am" by a coarse cell only, or a fixed place by postcode and house number), an action reaching
//! them by real Web Push (payload decrypted), the action page its notification opens, tips with
//! photos, the live feed by coarse cell, linking a device to an account, and the abuse limits.

use crate::alerting::{AMERSFOORT, get, post, settle};
use crate::alerting_live::live_app;
use crate::common::{Backend, TestApp, link_token};
use crate::enquiries::{has_exif, jpeg_with_gps};
use crate::fakes::{FakeCm, SmtpServer};
use crate::on_both_backends;
use crate::push::{browser_keys, fake_push_service, subscription};
use crate::webpush_decrypt::decrypt;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use buurtnet_domain::cell::coarse_id;
use serde_json::{Value, json};
use std::time::Duration;

/// Groningen: far from Amersfoort.
const GRONINGEN: (f64, f64) = (53.2194, 6.5665);

fn suspect_action() -> Value {
    json!({"kind": "suspect", "status": "actual",
           "area": {"circle": {"lat": AMERSFOORT.0, "lon": AMERSFOORT.1, "radius_m": 1500}},
           "title": "Overval op een juwelier", "body": "Twee mannen vluchtten op een scooter richting het station.",
           "title_en": "Robbery at a jeweller",
           "description": {"direction": "richting het station", "do_not_approach": true},
           "callback_phone": "0900-8844"})
}

async fn tip(app: &TestApp, page_token: &str, text: &str, phone: &str, photo: Option<Vec<u8>>) -> reqwest::Response {
    let mut form =
        reqwest::multipart::Form::new().text("text", text.to_string()).text("phone", phone.to_string()).text("lang", "nl");
    if let Some(bytes) = photo {
        form = form.part("photos", reqwest::multipart::Part::bytes(bytes).file_name("tip.jpg").mime_str("image/jpeg").unwrap());
    }
    app.client.post(app.at(&format!("/api/v1/app/actions/{page_token}/tips"))).multipart(form).send().await.unwrap()
}

/// Reads Server-Sent Events until one `event: message` arrives (or the time is up).
async fn next_sse_message(resp: &mut reqwest::Response, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = String::new();
    loop {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk()).await.ok()?.ok()??;
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            if event.lines().any(|l| l == "event: message") {
                let data = event.lines().find_map(|l| l.strip_prefix("data: "))?;
                return serde_json::from_str(data).ok();
            }
        }
    }
}

on_both_backends!(
    a_where_i_am_device_gets_the_action_its_page_and_sends_a_tip,
    a_fixed_place_by_postcode_and_a_device_linked_to_an_account,
    the_app_endpoints_are_behind_the_abuse_limits,
    a_where_i_am_cell_lapses_after_a_day_unless_renewed_and_a_paused_device_gets_nothing,
    a_device_with_several_fixed_places_gets_one_notification_per_message
);

async fn a_where_i_am_device_gets_the_action_its_page_and_sends_a_tip(backend: Backend) {
    let cm = FakeCm::start().await;
    let smtp = SmtpServer::start().await;
    let (push_port, pushes) = fake_push_service().await;
    let app = live_app(backend, &cm, &smtp, push_port).await;
    let dispatcher = app.staff_token("dispatcher", "NL").await;

    // The page computes the coarse cell itself and sends only its number.
    let (s, cfg) = app.get_json("/api/v1/app/config").await;
    assert_eq!(s, 200);
    assert_eq!(cfg["grid"]["coarse_level"], 7);
    assert_eq!(cfg["coarse_valid_hours"], 24);
    let register = |name: &'static str, cell: i64| {
        let app = &app;
        async move {
            let (secret, p256dh, auth) = browser_keys();
            let endpoint = format!("http://127.0.0.1:{push_port}/push/ok-{name}");
            let (s, v) = app
                .post_json(
                    "/api/v1/devices",
                    &json!({"subscription": subscription(&endpoint, &p256dh, &B64.encode(auth)), "location": {"coarse_cell": cell}}),
                )
                .await;
            assert_eq!(s, 201, "{v}");
            (v["id"].as_i64().unwrap(), v["token"].as_str().unwrap().to_string(), secret, auth)
        }
    };
    let cell = coarse_id(AMERSFOORT.0, AMERSFOORT.1);
    let (near_id, near_token, secret, auth) = register("near", cell).await;
    let (far_id, ..) = register("far", coarse_id(GRONINGEN.0, GRONINGEN.1)).await;
    let stored = app.store.device(near_id).await.unwrap().unwrap();
    assert_eq!((stored.lat, stored.lon, stored.cell), (None, None, None), "no position is stored");
    assert_eq!(stored.coarse_cell, Some(cell));
    assert_eq!(stored.coarse_until, Some(app.clock_ms() + 24 * 3_600_000));
    assert!(app.store.device(far_id).await.unwrap().is_some());

    // An open "where I am" page follows the live feed by its cell.
    let mut live = app.client.get(app.at(&format!("/api/v1/live?cell={cell}"))).send().await.unwrap();
    assert_eq!(live.status(), 200);
    let mut far_live =
        app.client.get(app.at(&format!("/api/v1/live?cell={}", coarse_id(GRONINGEN.0, GRONINGEN.1)))).send().await.unwrap();

    let (s, v) = post(&app, &dispatcher, "/api/v1/actions", &suspect_action()).await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    // The live feed polls once a second: give it a tick to start before sending.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (s, v) = post(&app, &dispatcher, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
    assert_eq!(s, 200, "{v}");
    settle(&app, &dispatcher, id).await;
    let event = next_sse_message(&mut live, Duration::from_secs(10)).await.expect("the open page gets the action");
    assert_eq!(event["action_id"], id);
    assert_eq!(event["nl"]["title"].as_str().map(|t| t.contains("Overval op een juwelier")), Some(true), "{event}");
    assert!(next_sse_message(&mut far_live, Duration::from_millis(1500)).await.is_none(), "Groningen's page gets nothing");

    // The push: one, to the near device only, decrypted with its subscription's key.
    let got: Vec<_> = pushes.lock().unwrap().clone();
    assert_eq!(got.iter().filter(|r| r.path == "/push/ok-near").count(), 1);
    assert_eq!(got.iter().filter(|r| r.path == "/push/ok-far").count(), 0, "Groningen is not in the area");
    let r = got.iter().find(|r| r.path == "/push/ok-near").unwrap();
    let payload: Value = serde_json::from_slice(&decrypt(&r.body, &secret, &auth).unwrap()).unwrap();
    let tag = payload["tag"].as_str().unwrap();
    assert!(tag.starts_with("bn"), "{payload}");
    assert_eq!(r.headers["topic"].to_str().unwrap(), tag, "the notification's tag is the delivery's reference");
    let page = payload["page"].as_str().expect("the notification opens the action page").to_string();
    let prefix = format!("{}/app/actie/", app.url);
    assert!(page.starts_with(&prefix), "{page}");
    let page_token = page[prefix.len()..].to_string();
    assert!(!page_token.contains(&id.to_string()) || page_token.len() > 40, "not a bare id");

    // The action page: full texts, do-not-approach, call-back number, the area, messages.
    let (s, v) = app.get_json(&format!("/api/v1/app/actions/{page_token}")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["action"]["id"], id);
    assert_eq!(v["action"]["severity"], "search");
    assert_eq!(v["action"]["title"]["nl"], "Overval op een juwelier");
    assert_eq!(v["action"]["title"]["en"], "Robbery at a jeweller");
    assert_eq!(v["action"]["do_not_approach"], true);
    assert_eq!(v["action"]["callback_phone"], "0900-8844");
    assert_eq!(v["area"][0]["circle"]["radius_m"], 1500.0);
    assert_eq!(v["messages"].as_array().unwrap().len(), 1);
    assert_eq!(v["tips_open"], true);
    // A forged or changed link opens nothing.
    let mut forged = page_token.clone();
    forged.pop();
    forged.push(if page_token.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(app.get_json(&format!("/api/v1/app/actions/{forged}")).await.0, 404);

    // The device's recent actions, with its own links.
    let r =
        app.client.get(app.at(&format!("/api/v1/app/devices/{near_id}/actions"))).bearer_auth(&near_token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let list: Value = r.json().await.unwrap();
    assert_eq!(list["actions"][0]["id"], id, "{list}");
    assert!(list["actions"][0]["page"].as_str().unwrap().starts_with("/app/actie/"));
    let r = app.client.get(app.at(&format!("/api/v1/app/devices/{near_id}/actions"))).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(r.status(), 404);

    // A tip with a photo carrying GPS EXIF: anonymous, stripped, only the dispatchers see it.
    let photo = jpeg_with_gps();
    assert!(has_exif(&photo));
    let r = tip(&app, &page_token, "Ik zag de scooter bij de Eem.", "", Some(photo)).await;
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let r = tip(&app, &page_token, "", "", None).await;
    assert_eq!(r.status(), 422);
    // Tips go to the control room's feed, never to residents' feeds.
    let mut raw = String::new();
    let until = tokio::time::Instant::now() + Duration::from_millis(2500);
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(until, live.chunk()).await {
        raw.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!raw.contains("event: tip") && !raw.contains("bij de Eem"), "a tip on a resident feed: {raw}");
    let (s, v) = get(&app, &dispatcher, &format!("/api/v1/actions/{id}/tips")).await;
    assert_eq!(s, 200, "{v}");
    let tips = v["tips"].as_array().unwrap();
    assert_eq!(tips.len(), 1, "{v}");
    assert_eq!(tips[0]["phone"], Value::Null, "anonymous");
    let url = tips[0]["photos"][0]["url"].as_str().unwrap();
    let bytes = app.client.get(url).bearer_auth(&dispatcher).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
    assert!(!has_exif(&bytes), "no EXIF served");
    let r = app.client.get(url).send().await.unwrap();
    assert_eq!(r.status(), 401, "residents never see tip photos");

    // Update and close: the same page shows them; tips close.
    let (s, _) = post(&app, &dispatcher, &format!("/api/v1/actions/{id}/update"), &json!({"body": "De scooter is rood."})).await;
    assert_eq!(s, 200);
    settle(&app, &dispatcher, id).await;
    let (s, _) = post(
        &app,
        &dispatcher,
        &format!("/api/v1/actions/{id}/close"),
        &json!({"outcome": "direct", "body": "De verdachten zijn aangehouden."}),
    )
    .await;
    assert_eq!(s, 200);
    settle(&app, &dispatcher, id).await;
    let (_, v) = app.get_json(&format!("/api/v1/app/actions/{page_token}")).await;
    let kinds: Vec<&str> = v["messages"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["start", "update", "close"], "{v}");
    assert!(v["messages"][2]["nl"]["text"].as_str().unwrap().contains("aangehouden"), "{v}");
    assert_eq!(v["tips_open"], false);
    assert_eq!(v["action"]["state"], "closed");
    let r = tip(&app, &page_token, "Nog iets.", "", None).await;
    assert_eq!(r.status(), 409);
    // One notification per message: three in all to the near device, none twice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let near: Vec<_> = pushes.lock().unwrap().iter().filter(|r| r.path == "/push/ok-near").cloned().collect();
    assert_eq!(near.len(), 3);
    let tags: std::collections::HashSet<String> = near.iter().map(|r| r.headers["topic"].to_str().unwrap().to_string()).collect();
    assert_eq!(tags.len(), 3);
}

async fn a_fixed_place_by_postcode_and_a_device_linked_to_an_account(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.push.allowed_hosts = Some(vec!["127.0.0.1:9".into()])).await;
    let (_, p256dh, auth) = browser_keys();
    let sub = subscription("http://127.0.0.1:9/push/x", &p256dh, &B64.encode(auth));
    let (s, v) = app
        .post_json("/api/v1/devices", &json!({"subscription": sub, "location": {"postcode": "3522 HG", "house_number": "70"}}))
        .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let token = v["token"].as_str().unwrap().to_string();
    let d = app.store.device(id).await.unwrap().unwrap();
    let (lat, lon) = (d.lat.unwrap(), d.lon.unwrap());
    assert!((52.0..52.2).contains(&lat) && (5.0..5.2).contains(&lon), "geocoded in Utrecht: {lat},{lon}");
    assert_eq!(d.coarse_cell, None);
    // Bad places name their field.
    for (location, field) in [
        (json!({"postcode": "12", "house_number": "70"}), "location.postcode"),
        (json!({"coarse_cell": 99999}), "location.coarse_cell"),
        (json!({"coarse_cell": 5, "lat": 52.1}), "location"),
    ] {
        let (s, v) = app.post_json("/api/v1/devices", &json!({"subscription": sub, "location": location})).await;
        assert_eq!(s, 422, "{v}");
        assert_eq!(v["fields"][0]["field"], field, "{v}");
    }
    // Switching to "where I am" drops the point.
    let r = app
        .client
        .patch(app.at(&format!("/api/v1/devices/{id}")))
        .bearer_auth(&token)
        .json(&json!({"location": {"coarse_cell": coarse_id(lat, lon)}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let d = app.store.device(id).await.unwrap().unwrap();
    assert_eq!((d.lat, d.cell, d.coarse_cell), (None, None, Some(coarse_id(lat, lon))));

    // Sign in by e-mail link (the answer is the same for an unknown address), then link.
    let (s, _) =
        app.post_json("/api/v1/participants", &crate::common::example_registration("link@example.org", "0612121212")).await;
    assert_eq!(s, 202);
    let (s1, a1) = app.post_json("/api/v1/participants/self-service-link", &json!({"email": "link@example.org"})).await;
    let (s2, a2) = app.post_json("/api/v1/participants/self-service-link", &json!({"email": "nobody@example.org"})).await;
    assert_eq!((s1, &a1), (s2, &a2), "no answer tells whether an address is registered");
    let mail =
        app.sandbox("link@example.org").await.into_iter().find(|m| m["body"].as_str().unwrap().contains("/mijn/")).unwrap();
    let signin = link_token(mail["body"].as_str().unwrap(), "/mijn/");
    let link = |t: &str| {
        app.client.post(app.at(&format!("/api/v1/app/devices/{id}/link"))).bearer_auth(&token).json(&json!({"token": t})).send()
    };
    assert_eq!(link("forged.token").await.unwrap().status(), 422);
    let r = link(&signin).await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["linked"], true);
    let d = app.store.device(id).await.unwrap().unwrap();
    assert!(d.participant_id.is_some());
    assert_eq!((d.lat, d.coarse_cell), (None, None), "the account's addresses decide now");
    assert!(app.store.audit_entries(20).await.unwrap().iter().any(|e| e.action == "device.link"));
}

async fn the_app_endpoints_are_behind_the_abuse_limits(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.abuse_limits.app = buurtnet_server::config::Limit { per_ip: 3, per_target: 0, window_seconds: 3600 };
        c.abuse_limits.tip = buurtnet_server::config::Limit { per_ip: 100, per_target: 2, window_seconds: 3600 };
    })
    .await;
    for i in 0..3 {
        let (s, _) = app.get_json(&format!("/api/v1/app/actions/guess{i}")).await;
        assert_eq!(s, 404);
    }
    let r = app.client.get(app.at("/api/v1/app/actions/guess4")).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry));
    // Tips: per link, counted before the link is looked up (the page link is made up here).
    for _ in 0..2 {
        assert_eq!(tip(&app, "made-up", "x", "", None).await.status(), 404);
    }
    let r = tip(&app, "made-up", "x", "", None).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(tip(&app, "another", "x", "", None).await.status(), 404, "another link still counts on its own");
}

/// The app can be installed: a manifest with a start URL and icons (PNG of 192 and 512 pixels,
/// and the SVG), and a service worker allowed to control the whole site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_is_installable() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let r = app.client.get(app.at("/manifest.webmanifest")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/manifest+json");
    let m: Value = r.json().await.unwrap();
    assert_eq!(
        (m["start_url"].as_str(), m["display"].as_str(), m["short_name"].as_str()),
        (Some("/"), Some("standalone"), Some("buurtnet"))
    );
    for (src, size) in [("/app/icon-192.png", 192), ("/app/icon-512.png", 512)] {
        assert!(m["icons"].as_array().unwrap().iter().any(|i| i["src"] == src), "{m}");
        let bytes = app.client.get(app.at(src)).send().await.unwrap().bytes().await.unwrap();
        let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png).unwrap();
        assert_eq!((img.width(), img.height()), (size, size));
    }
    let svg = app.client.get(app.at("/app/icon.svg")).send().await.unwrap().text().await.unwrap();
    assert!(svg.starts_with("<svg"));
    let r = app.client.get(app.at("/sw.js")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["service-worker-allowed"], "/");
    let sw = r.text().await.unwrap();
    assert!(sw.contains("showNotification") && sw.contains("notificationclick"));
    // The pages, in Dutch and English; sign-up stays where it was.
    for (path, needle) in [
        ("/", "Doe mee in twee minuten"),
        ("/app/meedoen", "Waar ik ben"),
        ("/app/instellingen", "Inloggen met een link"),
        ("/app/privacy", "Je precieze plek sturen we nooit"),
        ("/aanmelden", "Aanmelden"),
        ("/?lang=en", "Take part in two minutes"),
    ] {
        let r = app.client.get(app.at(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(r.text().await.unwrap().contains(needle), "{path}");
    }
}

async fn a_where_i_am_cell_lapses_after_a_day_unless_renewed_and_a_paused_device_gets_nothing(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.push.allowed_hosts = Some(vec!["127.0.0.1:9".into()])).await;
    let dispatcher = app.staff_token("dispatcher", "NL").await;
    let cell = coarse_id(AMERSFOORT.0, AMERSFOORT.1);
    let mut devices = Vec::new();
    for name in ["renewed", "lapsed", "paused"] {
        let (_, p256dh, auth) = browser_keys();
        let sub = subscription(&format!("http://127.0.0.1:9/push/{name}"), &p256dh, &B64.encode(auth));
        let (s, v) = app.post_json("/api/v1/devices", &json!({"subscription": sub, "location": {"coarse_cell": cell}})).await;
        assert_eq!(s, 201, "{v}");
        devices.push((v["id"].as_i64().unwrap(), v["token"].as_str().unwrap().to_string()));
    }
    let patch = |i: usize, body: Value| {
        let (id, token) = devices[i].clone();
        app.client.patch(app.at(&format!("/api/v1/devices/{id}"))).bearer_auth(token).json(&body).send()
    };
    let r = patch(2, json!({"paused": true})).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["paused"], true);
    // 23 hours later the open page renews its cell; two hours after that the other has lapsed.
    app.clock.advance(chrono::Duration::hours(23));
    assert_eq!(patch(0, json!({"location": {"coarse_cell": cell}})).await.unwrap().status(), 200);
    app.clock.advance(chrono::Duration::hours(2));
    let mut action = suspect_action();
    action["description"] = json!({"do_not_approach": true});
    let (s, v) = post(&app, &dispatcher, "/api/v1/actions", &action).await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    assert_eq!(post(&app, &dispatcher, &format!("/api/v1/actions/{id}/send"), &json!({})).await.0, 200);
    settle(&app, &dispatcher, id).await;
    let pushes = |i: usize| {
        let device = devices[i].0;
        let app = &app;
        async move { app.sandbox(&format!("device:{device}")).await.into_iter().filter(|m| m["channel"] == "push").count() }
    };
    assert_eq!(pushes(0).await, 1, "the renewed cell is reached");
    assert_eq!(pushes(1).await, 0, "a cell not renewed for a day has lapsed");
    assert_eq!(pushes(2).await, 0, "a paused device gets nothing");
    // The lapsed device's page still finds the action by opening it (its cell is gone, so no).
    let (lapsed, token) = devices[1].clone();
    let r = app.client.get(app.at(&format!("/api/v1/app/devices/{lapsed}/open/{id}"))).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

async fn a_device_with_several_fixed_places_gets_one_notification_per_message(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.push.allowed_hosts = Some(vec!["127.0.0.1:9".into()])).await;
    let dispatcher = app.staff_token("dispatcher", "NL").await;
    let (_, p256dh, auth) = browser_keys();
    let sub = subscription("http://127.0.0.1:9/push/places", &p256dh, &B64.encode(auth));
    // Home in Amersfoort, work in Utrecht (by postcode).
    let places = json!([{"lat": AMERSFOORT.0, "lon": AMERSFOORT.1}, {"postcode": "3522 HG", "house_number": "70"}]);
    for (bad, field) in [
        (
            json!([{"lat": 52.1, "lon": 5.1}, {"lat": 52.1, "lon": 5.1}, {"lat": 52.1, "lon": 5.1}, {"lat": 52.1, "lon": 5.1}]),
            "location",
        ),
        (json!([{"lat": 52.1, "lon": 5.1}, {"coarse_cell": coarse_id(AMERSFOORT.0, AMERSFOORT.1)}]), "location[1]"),
        (json!([{"lat": 52.1, "lon": 5.1}, {"postcode": "x", "house_number": "1"}]), "location[1].postcode"),
    ] {
        let (s, v) = app.post_json("/api/v1/devices", &json!({"subscription": sub, "location": bad})).await;
        assert_eq!(s, 422, "{v}");
        assert_eq!(v["fields"][0]["field"], field, "{v}");
    }
    let (s, v) = app.post_json("/api/v1/devices", &json!({"subscription": sub, "location": places})).await;
    assert_eq!(s, 201, "{v}");
    let (id, token) = (v["id"].as_i64().unwrap(), v["token"].as_str().unwrap().to_string());
    let r = app.client.get(app.at(&format!("/api/v1/app/devices/{id}"))).bearer_auth(&token).send().await.unwrap();
    let view: Value = r.json().await.unwrap();
    assert_eq!(view["more_places"].as_array().unwrap().len(), 1, "{view}");
    let utrecht = (view["more_places"][0]["lat"].as_f64().unwrap(), view["more_places"][0]["lon"].as_f64().unwrap());

    let circle = |at: (f64, f64)| json!({"circle": {"lat": at.0, "lon": at.1, "radius_m": 800}});
    let mut sent = 0;
    for (area, title) in
        [(circle(utrecht), "Bij het werk"), (json!({"union": [circle(AMERSFOORT), circle(utrecht)]}), "Bij beide plekken")]
    {
        let mut action = suspect_action();
        action["area"] = area;
        action["title"] = json!(title);
        let (s, v) = post(&app, &dispatcher, "/api/v1/actions", &action).await;
        assert_eq!(s, 201, "{v}");
        let action_id = v["id"].as_i64().unwrap();
        assert_eq!(post(&app, &dispatcher, &format!("/api/v1/actions/{action_id}/send"), &json!({})).await.0, 200);
        settle(&app, &dispatcher, action_id).await;
        sent += 1;
        let pushes: Vec<Value> =
            app.sandbox(&format!("device:{id}")).await.into_iter().filter(|m| m["channel"] == "push").collect();
        assert_eq!(pushes.len(), sent, "one notification per message, however many places are inside: {pushes:#?}");
    }
    // Changing to "where I am" drops every fixed place.
    let r = app
        .client
        .patch(app.at(&format!("/api/v1/devices/{id}")))
        .bearer_auth(&token)
        .json(&json!({"location": {"coarse_cell": coarse_id(AMERSFOORT.0, AMERSFOORT.1)}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["more_places"], json!([]));
    assert!(app.store.device_places(id).await.unwrap().is_empty());
}
