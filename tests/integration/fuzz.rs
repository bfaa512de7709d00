//! Throws random and malformed input at every route of the JSON API (from the server's own route
//! table): random JSON and JSON-shaped bodies with our field names, bad UTF-8, wrong content
//! types, bodies over the limit, random path and query parameters, with and without staff
//! tokens. Strings are any Unicode (multi-byte, combining marks, NUL, right-to-left marks, code
//! shapes with such characters spliced in) and lone surrogates escaped in the JSON text
//! (`"\ud800"`). Every answer must be below 500, every 4xx must be our JSON error shape, and no
//! handler may panic (a caught panic answers 500 and is counted, see `common::TestApp`).

use crate::common::{Backend, TestApp, example_registration, link_token};
use crate::on_both_backends;
use proptest::prelude::*;
use serde_json::{Value, json};

on_both_backends!(no_route_answers_5xx_or_a_foreign_error_shape, every_string_field_takes_any_text);

const FIELDS: &[&str] = &[
    "email",
    "phone",
    "code",
    "token",
    "area",
    "topic",
    "at",
    "language",
    "topics",
    "paused",
    "addresses",
    "age_confirmed",
    "circle",
    "lat",
    "lon",
    "radius_m",
    "override_time_windows",
    "polygon",
    "areas",
    "union",
    "channels",
    "quiet_hours",
    "from",
    "to",
    "kind",
    "postcode",
    "house_number",
    "id",
    "type",
    "coordinates",
];

/// Stand-ins in generated text for lone surrogates, which a Rust string cannot hold: the JSON
/// text of a body gets `\ud800` / `\udfff` in their place.
const LONE_HIGH: char = '\u{e000}';
const LONE_LOW: char = '\u{e001}';

/// Characters that break code counting bytes as characters or trimming ASCII only.
const AWKWARD: &[char] = &[
    '\u{0}',
    '\u{7f}',
    '\u{80}',
    '\u{e9}',
    '\u{301}',
    '\u{5d0}',
    '\u{627}',
    '\u{800}',
    '\u{200b}',
    '\u{200e}',
    '\u{200f}',
    '\u{202e}',
    '\u{2028}',
    '\u{feff}',
    '\u{fffd}',
    '\u{10000}',
    '\u{1f600}',
    '\u{10ffff}',
    LONE_HIGH,
    LONE_LOW,
];

/// Any Unicode text, often one of our codes or values with awkward characters spliced in.
pub fn any_text() -> impl Strategy<Value = String> {
    let shaped = prop::sample::select(vec![
        "GM0307",
        "WK030701",
        "BU03070101",
        "3811",
        "3811AB",
        "3522 HG",
        "70",
        "12-2",
        "NL",
        "RE03",
        "+31612345678",
        "a@b.nl",
        "23:00",
        "urgent",
        "push",
        "nl",
        "home",
        "2026-11-22T23:30:00+01:00",
    ]);
    prop_oneof![
        "\\PC{0,24}",
        any::<String>(),
        prop::collection::vec(prop::sample::select(AWKWARD.to_vec()), 0..8).prop_map(|v| v.into_iter().collect()),
        (shaped, 0..12usize, prop::collection::vec(prop::sample::select(AWKWARD.to_vec()), 1..4)).prop_map(|(s, at, add)| {
            let mut chars: Vec<char> = s.chars().collect();
            let at = at.min(chars.len());
            chars.splice(at..at, add);
            chars.into_iter().collect()
        }),
    ]
}

/// A JSON body's text, with the lone-surrogate stand-ins escaped as such.
pub fn json_text(v: &Value) -> String {
    serde_json::to_string(v).unwrap().replace(LONE_HIGH, "\\ud800").replace(LONE_LOW, "\\udfff")
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop_oneof![any::<f64>(), -200.0..200.0f64]
            .prop_map(|f| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)),
        any_text().prop_map(Value::String),
        any_text().prop_map(Value::String),
        prop::sample::select(vec!["GM0307", "NL", "urgent", "nl", "push", "23:00", "3811AB", "+31612345678", "a@b.nl", "RE03"])
            .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(FIELDS.to_vec()), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Body {
    None,
    Json(Value),
    Bytes(Vec<u8>, &'static str),
    Huge,
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        1 => Just(Body::None),
        6 => json_value().prop_map(Body::Json),
        2 => (prop::collection::vec(any::<u8>(), 0..200), prop::sample::select(vec!["application/json", "text/plain", "application/x-www-form-urlencoded", ""]))
            .prop_map(|(b, ct)| Body::Bytes(b, ct)),
        1 => Just(Body::Huge),
    ]
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        any_text().prop_map(|s| crate::common::urlencode(&s)),
        "[A-Za-z0-9%._~-]{0,40}",
        Just("%FF%FE%00".to_string()),
        prop::sample::select(vec!["GM0307", "BU03070101", "NL", "3811", "x".repeat(5000).leak() as &str])
            .prop_map(str::to_string),
    ]
}

fn query() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (prop::sample::select(vec!["lat", "lon", "level", "parent", "municipality", "police_unit", "x"]), "[0-9a-zA-Z.%-]{0,12}"),
        0..4,
    )
    .prop_map(|kv| {
        if kv.is_empty() {
            String::new()
        } else {
            format!("?{}", kv.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"))
        }
    })
}

async fn no_route_answers_5xx_or_a_foreign_error_shape(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.abuse_limits.enabled = false).await;
    let routes = buurtnet_server::http::api_routes();
    assert!(routes.len() >= 12, "{routes:?}");
    let admin = app.staff_token("admin", "NL").await;
    let officer = app.staff_token("municipality-officer", "GM0307").await;
    assert_eq!(app.post_json("/api/v1/participants", &example_registration("fuzz@example.org", "+31611112222")).await.0, 202);
    app.post_json("/api/v1/participants/self-service-link", &json!({"email": "fuzz@example.org"})).await;
    let self_service = link_token(app.sandbox("fuzz@example.org").await.last().unwrap()["body"].as_str().unwrap(), "/mijn/");

    // The route table and the router agree: every listed method is routed.
    for r in &routes {
        for m in r.methods {
            let path = format!("/api/v1{}", r.path.replace("{code}", "GM0307").replace("{token}", "x").replace("{id}", "1"));
            let resp = app.client.request(m.parse().unwrap(), app.at(&path)).send().await.unwrap();
            assert_ne!(resp.status(), 405, "{m} {path}");
        }
    }

    // A fresh connection per request: a route that answers before reading a large body closes
    // its connection, and a pooled client would then reuse a dead one.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let huge = format!("{{\"email\": \"{}\"}}", "a".repeat(1_200_000));
    let handle = tokio::runtime::Handle::current();
    // Enough cases that every route is drawn: with 300 cases over 45 routes one route went
    // untried in about one run of 18, which failed the check below.
    let cases = (routes.len() as u32 * 20).max(300);
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config { cases, ..Default::default() });
    let methods = vec!["GET", "POST", "PATCH", "DELETE", "PUT"];
    let strategy = (
        0..routes.len(),
        prop::sample::select(methods),
        any::<bool>(),
        prop_oneof![segment(), Just(self_service.clone())],
        query(),
        body(),
        0..4u8,
    );
    let seen = std::sync::Mutex::new(std::collections::BTreeSet::new());
    let result = runner.run(&strategy, |(route, method, listed_method, param, query, body, auth)| {
        let r = routes[route];
        let method = if listed_method { r.methods[0] } else { method };
        let path =
            format!("/api/v1{}{query}", r.path.replace("{code}", &param).replace("{token}", &param).replace("{id}", &param));
        let mut req = client.request(method.parse().unwrap(), app.at(&path));
        req = match auth {
            0 => req,
            1 => req.bearer_auth("bn_garbage"),
            2 => req.bearer_auth(&admin),
            _ => req.bearer_auth(&officer),
        };
        req = match &body {
            Body::None => req,
            Body::Json(v) => req.header("content-type", "application/json").body(json_text(v)),
            Body::Bytes(b, "") => req.body(b.clone()),
            Body::Bytes(b, ct) => req.header("content-type", *ct).body(b.clone()),
            Body::Huge => req.header("content-type", "application/json").body(huge.clone()),
        };
        let huge_body = matches!(body, Body::Huge);
        let answer = tokio::task::block_in_place(|| {
            handle.block_on(async {
                let resp = match req.send().await {
                    Ok(resp) => resp,
                    // A route that never reads its body may answer and close the connection
                    // while a body over the limit is still being sent: not a server fault.
                    Err(e) if huge_body && e.is_request() => return None,
                    Err(e) => panic!("{method} {path}: {e}"),
                };
                let status = resp.status().as_u16();
                let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                // A live feed (Server-Sent Events) never ends: its answer is the status alone.
                if ct.starts_with("text/event-stream") {
                    return Some((status, ct, String::new()));
                }
                Some((status, ct, resp.text().await.unwrap_or_default()))
            })
        });
        let Some((status, content_type, text)) = answer else { return Ok(()) };
        seen.lock().unwrap().insert((r.path, status));
        prop_assert!(status < 500, "{method} {path} answered {status}: {text}");
        if status >= 400 {
            prop_assert!(content_type.starts_with("application/json"), "{method} {path} {status}: {content_type} {text}");
            let v: Value =
                serde_json::from_str(&text).map_err(|e| TestCaseError::fail(format!("{method} {path}: {e}: {text}")))?;
            prop_assert!(v["error"].is_string() && v["message"].is_string(), "{method} {path} {status}: {text}");
            prop_assert!(!text.contains("constraint") && !text.contains("sqlx") && !text.contains("SQLITE"), "{text}");
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let seen = seen.into_inner().unwrap();
    let reached: std::collections::BTreeSet<&str> = seen.iter().map(|(p, _)| *p).collect();
    assert_eq!(reached.len(), routes.len(), "every route was tried: {seen:?}");
    assert!(seen.iter().any(|(_, s)| *s == 413), "bodies over the limit were tried: {seen:?}");
    assert!(seen.iter().any(|(_, s)| *s < 300), "some requests went through: {seen:?}");
    assert_eq!(app.state.handler_panics.count(), 0, "request handlers panicked (see the log)");
}

/// Valid bodies of the routes that take text, each with one string field (in turn, by the drawn
/// index) replaced by any text: multi-byte, combining marks, NUL, right-to-left marks, lone
/// surrogates. With an admin token, so that staff routes read the body.
fn templates() -> Vec<(&'static str, Value)> {
    let area = json!({"union": [{"areas": ["GM0307", "WK030701", "BU03070101", "3811", "RE03", "VR09", "PV26"]},
        {"circle": {"lat": 52.1561, "lon": 5.3878, "radius_m": 500}}]});
    vec![
        ("/api/v1/participants", example_registration("text@example.org", "+31611113333")),
        ("/api/v1/targeting/count", json!({"area": area, "topic": "urgent", "at": "2026-11-22T23:30:00+01:00"})),
        (
            "/api/v1/actions",
            json!({"kind": "suspect", "status": "test", "area": {"areas": ["GM0307"]}, "title": "x", "body": "y"}),
        ),
        ("/api/v1/messages", json!({"area": {"areas": ["GM0307"]}, "title": "Wegafsluiting", "body": "De Stadsring is dicht."})),
        (
            "/api/v1/devices",
            json!({"subscription": {"endpoint": "https://fcm.googleapis.com/fcm/send/x", "keys": {"p256dh": "x", "auth": "y"}},
            "location": {"postcode": "3811 AB", "house_number": "12"}, "topics": ["urgent"], "language": "nl"}),
        ),
        ("/api/v1/participants/verify-phone", json!({"phone": "+31611113333", "code": "123456"})),
        ("/api/v1/participants/self-service-link", json!({"email": "text@example.org", "phone": "06 11113333"})),
    ]
}

/// The `n`-th string leaf of a JSON value (counting round), replaced by `text`.
fn replace_string(v: &mut Value, n: usize, text: &str) {
    fn count(v: &Value) -> usize {
        match v {
            Value::String(_) => 1,
            Value::Array(a) => a.iter().map(count).sum(),
            Value::Object(o) => o.values().map(count).sum(),
            _ => 0,
        }
    }
    fn walk(v: &mut Value, target: usize, i: &mut usize, text: &str) {
        match v {
            Value::String(s) => {
                if *i == target {
                    *s = text.to_string();
                }
                *i += 1;
            }
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, target, i, text)),
            Value::Object(o) => o.values_mut().for_each(|x| walk(x, target, i, text)),
            _ => {}
        }
    }
    let target = n % count(v).max(1);
    walk(v, target, &mut 0, text);
}

async fn every_string_field_takes_any_text(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.abuse_limits.enabled = false).await;
    let admin = app.staff_token("admin", "NL").await;
    let handle = tokio::runtime::Handle::current();
    let templates = templates();
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config { cases: 400, ..Default::default() });
    let result = runner.run(&(0..templates.len(), 0..64usize, any_text()), |(t, field, text)| {
        let (route, mut body) = templates[t].clone();
        replace_string(&mut body, field, &text);
        let req =
            app.client.post(app.at(route)).bearer_auth(&admin).header("content-type", "application/json").body(json_text(&body));
        let (status, text) = tokio::task::block_in_place(|| {
            handle.block_on(async {
                let resp = req.send().await.unwrap_or_else(|e| panic!("{route} {body}: the connection failed: {e}"));
                (resp.status().as_u16(), resp.text().await.unwrap_or_default())
            })
        });
        prop_assert!(status < 500, "{route} {body} answered {status}: {text}");
        if status >= 400 {
            let v: Value = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(format!("{route}: {e}: {text}")))?;
            prop_assert!(v["error"].is_string() && v["message"].is_string(), "{route} {status}: {text}");
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert_eq!(app.state.handler_panics.count(), 0, "request handlers panicked (see the log)");
}

/// The served OpenAPI document describes every route of the route table, and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (s, doc) = app.get_json("/api/v1/openapi.json").await;
    assert_eq!(s, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let routes = buurtnet_server::http::api_routes();
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), routes.len());
    for r in &routes {
        for m in r.methods {
            let op = &paths[r.path][m.to_lowercase()];
            assert!(op["summary"].as_str().is_some_and(|s| !s.starts_with("UNDESCRIBED")), "{m} {}: {op}", r.path);
        }
    }
    assert_eq!(paths["/targeting/count"]["post"]["security"][0]["staffToken"], json!([]));
}
