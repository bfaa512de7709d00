//! CAP 1.2 out: every message of a public action is a CAP alert in the public Atom feed and at
//! its own address, valid against the official schema (`xmllint`, Debian's libxml2-utils);
//! suspects, exercises and tests stay out of the public feed; ended actions leave it after the
//! retention; ETag and 304. And export → import gives the same action for every kind and level.

use crate::alerting::{AMERSFOORT, get, post};
use crate::common::{Backend, TestApp};
use crate::on_both_backends;
use buurtnet_cap::{Alert, MsgType, ResponseType, Scope, Status};
use serde_json::{Value, json};
use std::io::Write;

/// Validates a CAP document against `../shared/schemas/CAP-v1.2.xsd` with `xmllint`.
pub fn assert_valid_cap(xml: &str) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(xml.as_bytes()).unwrap();
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--schema", "../shared/schemas/CAP-v1.2.xsd"])
        .arg(file.path())
        .output()
        .expect("xmllint (Debian package libxml2-utils) must be installed; scripts/test installs it");
    assert!(out.status.success(), "not valid CAP 1.2: {}\n{xml}", String::from_utf8_lossy(&out.stderr));
}

pub fn circle(at: (f64, f64), radius_m: f64) -> Value {
    json!({"circle": {"lat": at.0, "lon": at.1, "radius_m": radius_m}})
}

/// Creates and sends an action; its id.
pub async fn sent_action(app: &TestApp, token: &str, body: Value) -> i64 {
    let (s, v) = post(app, token, "/api/v1/actions", &body).await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (s, v) = post(app, token, &format!("/api/v1/actions/{id}/send"), &json!({"consent": {"by": "moeder"}})).await;
    assert_eq!(s, 200, "{v}");
    id
}

pub struct Got {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

pub async fn get_text(app: &TestApp, path: &str, token: Option<&str>, if_none_match: Option<&str>) -> Got {
    let mut r = app.client.get(app.at(path));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(e) = if_none_match {
        r = r.header("if-none-match", e);
    }
    let r = r.send().await.unwrap();
    Got { status: r.status().as_u16(), headers: r.headers().clone(), body: r.text().await.unwrap() }
}

/// The CAP links of a feed's entries, in order.
fn cap_links(feed: &str) -> Vec<String> {
    feed.split("<link ")
        .skip(1)
        .filter(|l| l.contains("type=\"application/cap+xml\"") && l.contains("rel=\"alternate\""))
        .filter_map(|l| l.split("href=\"").nth(1)?.split('"').next().map(str::to_string))
        .collect()
}

/// Each linked document: fetched without a token, valid, parsed.
async fn documents(app: &TestApp, feed: &str) -> Vec<(String, Alert)> {
    let mut out = Vec::new();
    for link in cap_links(feed) {
        let path = link.strip_prefix(&app.url).unwrap().to_string();
        let got = get_text(app, &path, None, None).await;
        assert_eq!(got.status, 200, "{path}: {}", got.body);
        assert_eq!(got.headers["content-type"], "application/cap+xml");
        assert_valid_cap(&got.body);
        out.push((got.body.clone(), buurtnet_cap::parse(got.body.as_bytes()).unwrap()));
    }
    out
}

on_both_backends!(
    every_message_of_a_public_action_is_a_valid_cap_alert_in_the_feed,
    the_feed_hides_suspects_exercises_and_tests_and_lets_ended_actions_go,
    export_then_import_gives_the_same_action_for_every_kind_and_level,
);

async fn every_message_of_a_public_action_is_a_valid_cap_alert_in_the_feed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.staff_token("dispatcher", "NL").await;
    let (s, v) = post(
        &app,
        &token,
        "/api/v1/actions",
        &json!({"kind": "runaway_child", "level": "regional", "status": "actual", "area": circle(AMERSFOORT, 800.0),
                "title": "Sanne (8) vermist", "body": "Sanne is sinds 14:00 uur vermist bij het Eemplein.",
                "title_en": "Sanne (8) missing", "body_en": "Sanne has been missing near Eemplein since 2 pm.",
                "callback_phone": "0800-6070"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let photo = app
        .client
        .post(app.at(&format!("/api/v1/actions/{id}/photos")))
        .bearer_auth(&token)
        .header("content-type", "image/png")
        .body(crate::enquiries::png(64, 48))
        .send()
        .await
        .unwrap();
    assert_eq!(photo.status(), 201);
    let photo_url = photo.json::<Value>().await.unwrap()["url"].as_str().unwrap().to_string();
    let (s, v) = post(&app, &token, &format!("/api/v1/actions/{id}/send"), &json!({"consent": {"by": "vader"}})).await;
    assert_eq!(s, 200, "{v}");
    app.clock.advance(chrono::Duration::minutes(10));
    let (s, _) =
        post(&app, &token, &format!("/api/v1/actions/{id}/update"), &json!({"body": "Gezien bij de Koppelpoort."})).await;
    assert_eq!(s, 200);
    app.clock.advance(chrono::Duration::minutes(10));
    let (s, _) =
        post(&app, &token, &format!("/api/v1/actions/{id}/close"), &json!({"outcome": "direct", "body": "Sanne is gevonden."}))
            .await;
    assert_eq!(s, 200);

    let feed = get_text(&app, "/api/v1/cap/alerts.atom", None, None).await;
    assert_eq!(feed.status, 200, "{}", feed.body);
    assert!(feed.headers["content-type"].to_str().unwrap().starts_with("application/atom+xml"));
    assert_eq!(feed.headers["cache-control"], "public, max-age=60");
    let etag = feed.headers["etag"].to_str().unwrap().to_string();
    // One entry per CAP message: the all-clear, the update, the alert (newest first).
    let docs = documents(&app, &feed.body).await;
    assert_eq!(docs.len(), 3, "{}", feed.body);
    let (close, update, start) = (&docs[0].1, &docs[1].1, &docs[2].1);
    assert_eq!((start.msg_type, update.msg_type, close.msg_type), (MsgType::Alert, MsgType::Update, MsgType::Update));
    assert_eq!(close.infos[0].response_types, vec![ResponseType::AllClear]);
    assert_eq!(start.infos[0].response_types, vec![ResponseType::Monitor]);
    for (_, a) in &docs {
        assert_eq!((a.status, a.scope), (Status::Actual, Scope::Public));
        assert!(a.sender.starts_with("buurtnet@"), "{}", a.sender);
        let langs: Vec<&str> = a.infos.iter().map(|i| i.language.as_str()).collect();
        assert_eq!(langs, vec!["nl-NL", "en-GB"]);
        assert_eq!(a.infos[0].event, "Vermist kind");
        assert_eq!(a.infos[1].event, "Missing child");
        assert_eq!(a.infos[0].contact.as_deref(), Some("0800-6070"));
        assert_eq!(a.infos[0].headline.as_deref(), Some("Sanne (8) vermist"));
        assert_eq!(a.infos[1].headline.as_deref(), Some("Sanne (8) missing"));
        let area = &a.infos[0].areas[0];
        assert_eq!(area.circles[0].radius_km, 0.8);
        assert!(area.description.contains("Amersfoort"), "{}", area.description);
        assert_eq!(a.infos[0].resources[0].uri.as_deref(), Some(photo_url.as_str()));
    }
    assert_eq!(start.infos[0].description.as_deref(), Some("Sanne is sinds 14:00 uur vermist bij het Eemplein."));
    assert_eq!(start.infos[0].instruction.as_deref(), Some("Ziet u iets? Bel direct 112 of 0800-6070."));
    assert_eq!(update.infos[0].description.as_deref(), Some("Gezien bij de Koppelpoort."));
    assert!(close.infos[0].description.as_deref().unwrap().starts_with("Sanne is gevonden."));
    // The update and the closing refer to every earlier message, by sender, identifier and sent.
    let refs = |a: &Alert| a.references.iter().map(|r| (r.identifier.clone(), r.sent.clone())).collect::<Vec<_>>();
    assert_eq!(refs(update), vec![(start.identifier.clone(), buurtnet_cap::format_time(&start.sent))]);
    assert_eq!(refs(close).len(), 2);
    assert!(start.references.is_empty());
    // Sent times carry an offset; identifiers are unique and stable.
    assert!(docs[2].0.contains(&format!("<sent>{}</sent>", buurtnet_cap::format_time(&start.sent))));
    assert!(docs[2].0.contains("+00:00</sent>"), "{}", docs[2].0);
    let mut ids: Vec<&str> = docs.iter().map(|(_, a)| a.identifier.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    assert!(start.identifier.ends_with(&format!("-{id}-{}", start.identifier.rsplit('-').next().unwrap())));
    let again = get_text(&app, "/api/v1/cap/alerts.atom", None, None).await;
    assert_eq!(again.body, feed.body, "the same feed while nothing changed");
    // ETag: 304 for the same, 200 once something new is published.
    let not_modified = get_text(&app, "/api/v1/cap/alerts.atom", None, Some(&etag)).await;
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.body.is_empty());
    assert_eq!(get_text(&app, "/api/v1/cap/alerts.atom", None, Some("\"other\"")).await.status, 200);
    sent_action(&app, &token, json!({"kind": "gas_leak", "status": "actual", "area": circle(AMERSFOORT, 300.0), "title": "Gaslek", "body": "Ramen dicht."})).await;
    let changed = get_text(&app, "/api/v1/cap/alerts.atom", None, Some(&etag)).await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.headers["etag"].to_str().unwrap(), etag);
    assert_eq!(cap_links(&changed.body).len(), 4);
    // The staff route gives any message's document; the latest by default.
    let latest = get_text(&app, &format!("/api/v1/actions/{id}/cap"), Some(&token), None).await;
    assert_eq!(latest.status, 200);
    assert_eq!(latest.body, docs[0].0);
    assert_eq!(get_text(&app, &format!("/api/v1/actions/{id}/cap"), None, None).await.status, 401);
}

async fn the_feed_hides_suspects_exercises_and_tests_and_lets_ended_actions_go(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.staff_token("dispatcher", "NL").await;
    let area = circle(AMERSFOORT, 500.0);
    let suspect = sent_action(
        &app,
        &token,
        json!({"kind": "suspect", "status": "actual", "area": area, "title": "Overval", "body": "Gezocht na een overval.",
        "description": {"person": {"sex": "male", "age": 30, "clothing": "een groene jas"}}}),
    )
    .await;
    let vehicle = sent_action(
        &app,
        &token,
        json!({"kind": "vehicle", "status": "actual", "area": area, "title": "Auto", "body": "Zwarte auto.",
        "description": {"vehicle": {"plate": "12-ABC-3"}}}),
    )
    .await;
    let exercise = sent_action(
        &app,
        &token,
        json!({"kind": "bomb", "status": "exercise", "area": area, "title": "Oefening bom", "body": "Blijf weg."}),
    )
    .await;
    let test =
        sent_action(&app, &token, json!({"kind": "explosion", "status": "test", "area": area, "title": "Test", "body": "Test."}))
            .await;
    let cancelled = sent_action(
        &app,
        &token,
        json!({"kind": "disaster", "status": "actual", "area": area, "title": "Ramp", "body": "Blijf binnen."}),
    )
    .await;
    let (s, _) = post(&app, &token, &format!("/api/v1/actions/{cancelled}/cancel"), &json!({})).await;
    assert_eq!(s, 200);
    let running = sent_action(&app, &token, json!({"kind": "missing_person", "status": "actual", "area": area, "title": "Piet vermist", "body": "Piet (82) is vermist."})).await;

    let feed = get_text(&app, "/api/v1/cap/alerts.atom", None, None).await.body;
    assert!(!feed.contains("Overval") && !feed.contains("groene jas") && !feed.contains("12-ABC-3"), "{feed}");
    assert!(!feed.contains("Oefening") && !feed.contains("Test"), "{feed}");
    let docs = documents(&app, &feed).await;
    let of = |id: i64| {
        docs.iter().filter(|(_, a)| a.identifier.contains(&format!("-{id}-"))).map(|(_, a)| a.msg_type).collect::<Vec<_>>()
    };
    assert_eq!(of(cancelled), vec![MsgType::Cancel, MsgType::Alert]);
    assert_eq!(of(running), vec![MsgType::Alert]);
    assert_eq!(docs.len(), 3);
    // A suspect's or vehicle's document is not public, even by its identifier; staff see it.
    for hidden in [suspect, vehicle] {
        let staff = get_text(&app, &format!("/api/v1/actions/{hidden}/cap"), Some(&token), None).await;
        assert_eq!(staff.status, 200);
        assert_valid_cap(&staff.body);
        let a = buurtnet_cap::parse(staff.body.as_bytes()).unwrap();
        assert_eq!(a.scope, Scope::Restricted);
        let public = get_text(&app, &format!("/api/v1/cap/alerts/{}.xml", a.identifier), None, None).await;
        assert_eq!(public.status, 404, "{}", public.body);
        assert!(public.body.contains("not_found"), "{}", public.body);
    }
    assert_eq!(get_text(&app, "/api/v1/cap/alerts/nonsense.xml", None, None).await.status, 404);
    assert_eq!(get_text(&app, "/api/v1/cap/alerts/buurtnet@x-1-2", None, None).await.status, 404);
    // Exercises and tests only when asked for.
    for (status, id, expected) in [("exercise", exercise, Status::Exercise), ("test", test, Status::Test)] {
        let feed = get_text(&app, &format!("/api/v1/cap/alerts.atom?status={status}"), None, None).await.body;
        let docs = documents(&app, &feed).await;
        assert_eq!(docs.len(), 1, "{feed}");
        assert_eq!(docs[0].1.status, expected);
        assert!(docs[0].1.identifier.contains(&format!("-{id}-")));
    }
    let bad = get_text(&app, "/api/v1/cap/alerts.atom?status=draft", None, None).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("invalid_status"), "{}", bad.body);
    // An ended action stays 24 hours; a running one stays.
    app.clock.advance(chrono::Duration::hours(23));
    assert_eq!(cap_links(&get_text(&app, "/api/v1/cap/alerts.atom", None, None).await.body).len(), 3);
    app.clock.advance(chrono::Duration::hours(2));
    let later = get_text(&app, "/api/v1/cap/alerts.atom", None, None).await.body;
    let links = cap_links(&later);
    assert_eq!(links.len(), 1, "{later}");
    assert!(links[0].contains(&format!("-{running}-")));
    // Its documents stay at their addresses.
    let (_, old) = &docs[0];
    assert_eq!(get_text(&app, &format!("/api/v1/cap/alerts/{}.xml", old.identifier), None, None).await.status, 200);
}

/// The action's fields an import must give back.
fn fields(v: &Value) -> Value {
    json!({"kind": v["kind"], "level": v["level"], "status": v["status"], "title": v["title"], "body": v["body"],
           "title_en": v["title_en"], "body_en": v["body_en"], "callback_phone": v["callback_phone"]})
}

/// Two areas are the same expression (numbers compared as numbers).
fn same_area(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => (x.as_f64().unwrap() - y.as_f64().unwrap()).abs() < 1e-9,
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_area(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, p)| y.get(k).is_some_and(|q| same_area(p, q)))
        }
        _ => a == b,
    }
}

async fn export_then_import_gives_the_same_action_for_every_kind_and_level(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.approval.second_person = vec![]).await;
    let token = app.staff_token("dispatcher", "NL").await;
    let polygon = json!({"polygon": {"type": "Polygon", "coordinates": [[[5.38, 52.15], [5.39, 52.15], [5.395123, 52.161234], [5.38, 52.16], [5.38, 52.15]]]}});
    let areas = [
        circle(AMERSFOORT, 750.0),
        polygon,
        json!({"areas": ["GM0307"]}),
        json!({"union": [circle(AMERSFOORT, 500.0), {"areas": ["GM0344"]}]}),
    ];
    let statuses = ["actual", "exercise", "test"];
    let mut n = 0;
    for kind in ["suspect", "vehicle", "missing_person", "runaway_child", "gas_leak", "bomb", "explosion", "disaster", "other"] {
        for level in ["local", "regional", "national"] {
            n += 1;
            let area = if level == "national" { json!({"areas": ["NL"]}) } else { areas[n % areas.len()].clone() };
            let mut body = json!({"kind": kind, "level": level, "status": statuses[n % 3], "area": area,
                "title": format!("Titel {kind} {level} & <zo>"), "body": format!("Tekst {n}: kijk uit."), "callback_phone": "0900-8844"});
            if n % 2 == 0 {
                body["title_en"] = json!(format!("Title {kind} {level}"));
                body["body_en"] = json!(format!("Text {n}: watch out."));
            }
            let id = sent_action(&app, &token, body).await;
            let (_, original) = get(&app, &token, &format!("/api/v1/actions/{id}")).await;
            let doc = get_text(&app, &format!("/api/v1/actions/{id}/cap"), Some(&token), None).await;
            assert_eq!(doc.status, 200);
            assert_valid_cap(&doc.body);
            let r = app
                .client
                .post(app.at("/api/v1/cap"))
                .bearer_auth(&token)
                .header("content-type", "application/cap+xml")
                .body(doc.body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201, "{kind} {level}");
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["state"], "draft");
            let (s, imported) = get(&app, &token, &format!("/api/v1/actions/{}", v["id"])).await;
            assert_eq!(s, 200);
            assert_eq!(imported["state"], "draft");
            assert_eq!(fields(&imported), fields(&original), "{kind} {level}");
            assert!(
                same_area(&imported["area"], &original["area"]),
                "{kind} {level}: {} vs {}",
                imported["area"],
                original["area"]
            );
        }
    }
}
