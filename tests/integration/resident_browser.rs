//! The resident web app in a real headless Chromium (Debian's `chromium` and `chromedriver`):
//! take part without an account at a fixed place, an action reaching the open page over the
//! live feed (headless Chromium cannot receive real push; the push payload itself is decrypted
//! in `resident_app.rs`), the action page, a tip with a photo, the closing message, the
//! self-service and privacy pages; "where I am" through a recording proxy that proves no request
//! carries the precise position. Every page is screenshotted at 360 × 800 into
//! `target/screenshots/` and checked with axe-core (no serious or critical violations).

use crate::alerting::post;
use crate::browser_kit::{accessibility_problems, screenshot, session, text_containing};
use crate::common::{Backend, TestApp};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// A headless Chromium session as a phone of 360 × 800 CSS pixels (Chromium's windows do not
/// get narrower than 500 pixels, so the phone is emulated), Dutch by default.
async fn phone() -> Client {
    let emulation =
        json!({"mobileEmulation": {"deviceMetrics": {"width": 360, "height": 800, "pixelRatio": 1.0, "touch": true}}});
    session(emulation, "--window-size=600,900").await
}

/// Saves a screenshot as `target/screenshots/resident-{name}.png` (the phone's width).
async fn shot(c: &Client, name: &str) {
    let width = c.execute("return window.innerWidth", vec![]).await.unwrap();
    assert_eq!(width, json!(360), "{name}: a phone-wide window");
    screenshot(c, &format!("resident-{name}")).await;
}

/// axe-core on the page: no serious or critical violations.
async fn axe(c: &Client, name: &str) {
    let problems = accessibility_problems(c).await;
    assert!(problems.is_empty(), "{name}: {problems:#?}");
}

fn jpeg_file() -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(".jpg").tempfile().unwrap();
    std::fs::write(file.path(), crate::enquiries::jpeg_with_gps()).unwrap();
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn take_part_get_an_action_send_a_tip_and_see_the_close_in_a_real_browser() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let dispatcher = app.staff_token("dispatcher", "NL").await;
    let c = phone().await;

    c.goto(&app.at("/")).await.unwrap();
    assert_eq!(c.find(Locator::Css("h1")).await.unwrap().text().await.unwrap(), "Samen alert in je buurt");
    shot(&c, "01-home").await;
    axe(&c, "home").await;
    c.find(Locator::LinkText("Meedoen zonder account")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("join-form")).await.unwrap();
    shot(&c, "02-take-part").await;
    axe(&c, "take part").await;

    // A fixed place by postcode and house number.
    c.find(Locator::Id("postcode")).await.unwrap().send_keys("3522 HG").await.unwrap();
    c.find(Locator::Id("house_number")).await.unwrap().send_keys("70").await.unwrap();
    // A second place with a postcode that is none: the field says so.
    c.find(Locator::Id("postcode2")).await.unwrap().send_keys("ABC").await.unwrap();
    c.find(Locator::Id("house_number2")).await.unwrap().send_keys("1").await.unwrap();
    c.find(Locator::Id("join-submit")).await.unwrap().click().await.unwrap();
    let error = text_containing(&c, "#postcode2-error", "postcode").await;
    assert_eq!(error, "Vul een Nederlandse postcode in, zoals 3811 AB.", "in Dutch");
    shot(&c, "02-take-part-error").await;
    axe(&c, "take part, with an error").await;
    c.find(Locator::Id("postcode2")).await.unwrap().clear().await.unwrap();
    c.find(Locator::Id("house_number2")).await.unwrap().clear().await.unwrap();
    c.find(Locator::Id("join-submit")).await.unwrap().click().await.unwrap();
    text_containing(&c, "#live-status", "Verbonden").await;
    let summary = c.find(Locator::Id("place-summary")).await.unwrap().text().await.unwrap();
    assert!(summary.contains("vaste plek (3522 HG 70)"), "{summary}");
    shot(&c, "03-home-taking-part").await;
    axe(&c, "home, taking part").await;
    // The service worker controls the whole site.
    let scope = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             navigator.serviceWorker.ready.then(r => done(r.scope), e => done('error: ' + e));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(scope, json!(app.at("/")));
    let device: Value = c.execute("return JSON.parse(localStorage.getItem('buurtnet.device'))", vec![]).await.unwrap();
    let id = device["id"].as_i64().unwrap();
    let stored = app.store.device(id).await.unwrap().unwrap();
    let (lat, lon) = (stored.lat.unwrap(), stored.lon.unwrap());

    // A dispatcher sends an action around that place: it appears on the open page.
    let (s, v) = post(
        &app,
        &dispatcher,
        "/api/v1/actions",
        &json!({"kind": "missing_person", "status": "actual", "level": "national",
                "area": {"circle": {"lat": lat, "lon": lon, "radius_m": 1000}},
                "title": "Meisje (8) vermist", "body": "Sinds 15.00 uur wordt Noor (8) vermist. Ze draagt een gele regenjas.",
                "title_en": "Girl (8) missing",
                "description": {"person": {"sex": "female", "age": 8, "clothing": "een gele regenjas"}},
                "callback_phone": "0800-6080", "consent": {"by": "moeder"}}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let action = v["id"].as_i64().unwrap();
    // A national action goes out once a second person approved it (`approval.second_person`).
    let second = app.staff_token("dispatcher", "NL").await;
    let (s, v) = post(&app, &second, &format!("/api/v1/actions/{action}/approve"), &json!({"version": v["version"]})).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = post(&app, &dispatcher, &format!("/api/v1/actions/{action}/send"), &json!({})).await;
    assert_eq!(s, 200, "{v}");
    text_containing(&c, "#incoming-list", "Meisje (8) vermist").await;
    let label = c.find(Locator::Css("#incoming-list .bn-card-label")).await.unwrap().text().await.unwrap();
    assert_eq!(label, "AMBER ALERT", "an AMBER Alert looks like one on the live feed too");
    shot(&c, "04-home-new-action").await;
    c.find(Locator::Css("#incoming-list button")).await.unwrap().click().await.unwrap();
    let h1 = text_containing(&c, "h1#title", "Meisje").await;
    assert_eq!(h1, "Meisje (8) vermist");
    assert!(c.current_url().await.unwrap().path().starts_with("/app/actie/"));
    assert_eq!(c.find(Locator::Id("severity")).await.unwrap().text().await.unwrap(), "AMBER ALERT");
    let call = c.find(Locator::Id("call-link")).await.unwrap();
    assert_eq!(call.attr("href").await.unwrap().as_deref(), Some("tel:08006080"));
    let inside = c.find(Locator::Id("inside")).await.unwrap().text().await.unwrap();
    assert!(inside.contains("vaste plek ligt binnen het gebied"), "{inside}");
    let map = c.find(Locator::Id("map")).await.unwrap().text().await.unwrap();
    assert_eq!(map, "Het gebied is heel Nederland.", "an AMBER Alert covers the country");
    shot(&c, "05-action").await;
    axe(&c, "action page").await;

    // A tip with a photo.
    let photo = jpeg_file();
    c.find(Locator::Id("tip-text")).await.unwrap().send_keys("Ik zag een meisje in een gele jas bij de bushalte.").await.unwrap();
    c.find(Locator::Id("tip-photos")).await.unwrap().send_keys(&photo.path().display().to_string()).await.unwrap();
    shot(&c, "06-tip-form").await;
    c.find(Locator::Css("#tip-form button[type=submit]")).await.unwrap().click().await.unwrap();
    text_containing(&c, "#tip-ok", "Dank je wel").await;
    let (s, tips) = crate::alerting::get(&app, &dispatcher, &format!("/api/v1/actions/{action}/tips")).await;
    assert_eq!(s, 200);
    assert_eq!(tips["tips"].as_array().unwrap().len(), 1, "{tips}");
    assert_eq!(tips["tips"][0]["photos"].as_array().unwrap().len(), 1, "{tips}");
    assert_eq!(tips["tips"][0]["phone"], Value::Null);

    // The closing message reaches the open page.
    let (s, v) = post(
        &app,
        &dispatcher,
        &format!("/api/v1/actions/{action}/close"),
        &json!({"outcome": "direct", "body": "Noor is gevonden. Dank voor het uitkijken."}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    text_containing(&c, "#messages", "Noor is gevonden").await;
    text_containing(&c, "#state", "afgesloten").await;
    shot(&c, "07-action-closed").await;

    // Self-service: pause, export, delete — each one tap away; and the privacy page.
    c.goto(&app.at("/app/instellingen")).await.unwrap();
    text_containing(&c, "#device-summary", "vaste plek").await;
    shot(&c, "08-settings").await;
    axe(&c, "settings").await;
    c.find(Locator::Id("pause")).await.unwrap().click().await.unwrap();
    text_containing(&c, "#settings-status", "pauze").await;
    assert!(app.store.device(id).await.unwrap().unwrap().paused);
    c.goto(&app.at("/app/privacy")).await.unwrap();
    shot(&c, "09-privacy").await;
    axe(&c, "privacy").await;
    c.goto(&app.at("/app/instellingen")).await.unwrap();
    text_containing(&c, "#device-summary", "pauze").await;
    c.find(Locator::Id("delete")).await.unwrap().click().await.unwrap();
    c.accept_alert().await.unwrap();
    text_containing(&c, "#device-none", "gewist").await;
    assert!(app.store.device(id).await.unwrap().is_none(), "deleted");
    // Offline, the shell still opens (from the service worker's cache).
    let offline = |on: bool| {
        Extension(
            "chromium/network_conditions",
            json!({"network_conditions": {"offline": on, "latency": 0, "download_throughput": -1, "upload_throughput": -1}}),
        )
    };
    c.issue_cmd(offline(true)).await.unwrap();
    c.goto(&app.at("/app/privacy")).await.unwrap();
    let h1 = c.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
    assert_eq!(h1, "Privacy: wat we bewaren en waarom", "the privacy page offline");
    c.issue_cmd(offline(false)).await.unwrap();
    // English is one tap away.
    c.goto(&app.at("/app/privacy?lang=en")).await.unwrap();
    assert_eq!(c.find(Locator::Css("h1")).await.unwrap().text().await.unwrap(), "Privacy: what we keep and why");
    shot(&c, "10-privacy-en").await;
    axe(&c, "privacy (English)").await;
    c.goto(&app.at("/")).await.unwrap();
    assert_eq!(c.find(Locator::Css("h1")).await.unwrap().text().await.unwrap(), "Looking out for each other");
    shot(&c, "10-home-en").await;
    axe(&c, "home (English)").await;
    c.goto(&app.at("/app/koppelen/some-token?lang=nl")).await.unwrap();
    text_containing(&c, "#link-none", "doet nog niet mee").await;
    shot(&c, "10-link-device").await;
    axe(&c, "link this device").await;
    c.close().await.unwrap();
}

/// Everything the browser asked the server, as `METHOD URI BODY`.
type Seen = Arc<Mutex<Vec<String>>>;

/// A proxy on 127.0.0.1 in front of the app that records every request the browser makes
/// (streaming answers, so the live feed passes through).
async fn recording_proxy(upstream: String) -> (String, Seen) {
    use axum::body::Body;
    use axum::extract::Request;
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let handler = move |req: Request| {
        let (log, client, upstream) = (log.clone(), client.clone(), upstream.clone());
        async move {
            let (parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024).await.unwrap_or_default();
            let uri = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
            log.lock().unwrap().push(format!("{} {uri} {}", parts.method, String::from_utf8_lossy(&bytes)));
            let mut out = client.request(parts.method.clone(), format!("{upstream}{uri}")).body(bytes.to_vec());
            for (k, v) in &parts.headers {
                if k != "host" && k != "content-length" {
                    out = out.header(k, v);
                }
            }
            let resp = out.send().await.unwrap();
            let mut b = axum::http::Response::builder().status(resp.status().as_u16());
            for (k, v) in resp.headers() {
                if k != "content-length" && k != "transfer-encoding" {
                    b = b.header(k.as_str(), v.as_bytes());
                }
            }
            let chunks = futures::stream::unfold(resp, |mut r| async move {
                r.chunk().await.ok().flatten().map(|c| (Ok::<_, std::io::Error>(c), r))
            });
            b.body(Body::from_stream(chunks)).unwrap()
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(handler)).await.unwrap() });
    (url, seen)
}

/// A chromedriver extension command: `POST /session/{id}/{path}` with a JSON body.
#[derive(Debug)]
struct Extension(&'static str, Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Extension {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/{}", session.unwrap_or_default(), self.0))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (axum::http::Method::POST, Some(self.1.to_string()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn where_i_am_never_sends_the_precise_position() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let dispatcher = app.staff_token("dispatcher", "NL").await;
    let (url, seen) = recording_proxy(app.url.clone()).await;
    let c = phone().await;
    // The browser's position (Amersfoort, to the metre): only the browser knows it.
    let (lat, lon) = (52.156_123_4, 5.387_812_3);
    // Permissions belong to an origin: open one of its pages first.
    c.goto(&format!("{url}/app/privacy")).await.unwrap();
    c.issue_cmd(Extension("permissions", json!({"descriptor": {"name": "geolocation"}, "state": "granted"}))).await.unwrap();
    c.issue_cmd(Extension("location", json!({"location": {"latitude": lat, "longitude": lon, "altitude": 0}}))).await.unwrap();

    c.goto(&format!("{url}/app/meedoen")).await.unwrap();
    c.find(Locator::Css("label[for=mode-here]")).await.unwrap().click().await.unwrap();
    shot(&c, "11-take-part-where-i-am").await;
    c.find(Locator::Id("join-submit")).await.unwrap().click().await.unwrap();
    text_containing(&c, "#live-status", "Verbonden").await;
    let summary = c.find(Locator::Id("place-summary")).await.unwrap().text().await.unwrap();
    assert!(summary.contains("de buurt waar je nu bent"), "{summary}");
    shot(&c, "12-home-where-i-am").await;
    let device: Value = c.execute("return JSON.parse(localStorage.getItem('buurtnet.device'))", vec![]).await.unwrap();
    let stored = app.store.device(device["id"].as_i64().unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.coarse_cell, Some(buurtnet_domain::cell::coarse_id(lat, lon)));
    assert_eq!((stored.lat, stored.lon), (None, None));

    // An action nearby reaches the page by its cell; the page itself says it is inside.
    let (s, v) = post(
        &app,
        &dispatcher,
        "/api/v1/actions",
        &json!({"kind": "gas_leak", "status": "exercise", "area": {"circle": {"lat": 52.1565, "lon": 5.3880, "radius_m": 400}},
                "title": "Oefening gaslek", "body": "Dit is een oefening. Sluit ramen en deuren."}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let action = v["id"].as_i64().unwrap();
    assert_eq!(post(&app, &dispatcher, &format!("/api/v1/actions/{action}/send"), &json!({})).await.0, 200);
    text_containing(&c, "#incoming-list", "Oefening gaslek").await;
    c.find(Locator::Css("#incoming-list button")).await.unwrap().click().await.unwrap();
    text_containing(&c, "h1#title", "Oefening gaslek").await;
    let severity = c.find(Locator::Id("severity")).await.unwrap().text().await.unwrap();
    assert!(severity.contains("OEFENING"), "an exercise looks like one: {severity}");
    text_containing(&c, "#inside", "binnen het gebied").await;
    let map = c
        .execute("const r = document.querySelector('#map svg').getBoundingClientRect(); return [r.width, r.height]", vec![])
        .await
        .unwrap();
    assert!(map[0].as_f64().unwrap() > 300.0 && map[1].as_f64().unwrap() > 100.0, "the area is drawn: {map}");
    shot(&c, "13-action-exercise-where-i-am").await;
    axe(&c, "action page, where I am").await;

    // Not one request carried the position: neither the coordinates nor anything near them.
    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().any(|r| r.contains("coarse_cell")), "the cell was sent: {seen:#?}");
    for r in &seen {
        for needle in ["52.15", "5.38", "52,15", "5,38", "latitude", "\"lat\""] {
            assert!(!r.contains(needle), "a request carried a position ({needle}): {r}");
        }
    }
    c.close().await.unwrap();
}
