//! Throws random and malformed input at every route of the JSON API (from the server's own route
//! table): random JSON and JSON-shaped bodies with our field names, bad UTF-8, wrong content
//! types, bodies over the limit, random path and query parameters, with and without staff
//! tokens. Every answer must be below 500, and every 4xx must be our JSON error shape.

use crate::common::{Backend, TestApp, example_registration, link_token};
use crate::on_both_backends;
use proptest::prelude::*;
use serde_json::{Value, json};

on_both_backends!(no_route_answers_5xx_or_a_foreign_error_shape);

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

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop_oneof![any::<f64>(), -200.0..200.0f64]
            .prop_map(|f| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)),
        "\\PC{0,24}".prop_map(Value::String),
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
        "\\PC{0,30}".prop_map(|s| crate::common::urlencode(&s)),
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
            Body::Json(v) => req.json(v),
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
