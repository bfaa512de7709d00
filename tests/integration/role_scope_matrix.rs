//! The role × scope matrix, generated from the API's route table: every route and method is
//! called by every role, once from the scope that owns the data (Amersfoort: RE03 / GM0307) and
//! once from another scope (Groningen: RE01 / GM0014). From the other scope the answer is a
//! refusal (403/404, or 400/415/422 for a body that cannot be read), or an answer holding none of
//! the owner's data (its markers); nothing is changed. Routes that answer without a token are
//! public and only checked for leaks. The table is written to `target/role-scope-matrix.txt`.

use crate::common::{Backend, TestApp};
use crate::on_both_backends;
use buurtnet_domain::staff::Role;
use serde_json::{Value, json};
use std::fmt::Write as _;

on_both_backends!(every_role_on_every_route_from_both_scopes);

const ACTION_MARKER: &str = "MATRIX-ACTION-7f3a";
const ENQUIRY_MARKER: &str = "MATRIX-ENQUIRY-c91e";
const AMERSFOORT: (f64, f64) = (52.1561, 5.3878);

fn scopes(role: Role) -> (&'static str, &'static str) {
    match role {
        Role::MunicipalityOfficer | Role::NeighbourhoodOfficer => ("GM0307", "GM0014"),
        _ => ("RE03", "RE01"),
    }
}

struct Ids {
    action: i64,
    enquiry: i64,
    message: i64,
}

fn concrete(path: &str, ids: &Ids) -> String {
    let id = if path.starts_with("/actions/") {
        ids.action.to_string()
    } else if path.starts_with("/enquiries/") {
        ids.enquiry.to_string()
    } else if path.starts_with("/messages/") {
        ids.message.to_string()
    } else {
        "1".to_string()
    };
    path.replace("{id}", &id).replace("{code}", "GM0307").replace("{token}", "not-a-token")
}

async fn call(app: &TestApp, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let url = app.at(&format!("/api/v1{path}"));
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut r = app.client.request(m, url).timeout(std::time::Duration::from_secs(10));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if matches!(method, "POST" | "PATCH" | "PUT") {
        r = r.json(&json!({}));
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let streaming =
        resp.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|c| c.starts_with("text/event-stream"));
    if streaming {
        // A live feed: read what arrives in a moment (nothing of another scope may).
        let mut resp = resp;
        let mut got = String::new();
        while let Ok(Ok(Some(chunk))) = tokio::time::timeout(std::time::Duration::from_millis(300), resp.chunk()).await {
            got.push_str(&String::from_utf8_lossy(&chunk));
        }
        return (status, got);
    }
    (status, resp.text().await.unwrap_or_default())
}

async fn fingerprint(app: &TestApp, ids: &Ids) -> String {
    let a = app.store.actions(None, None, 100).await.unwrap();
    let states: Vec<String> = a.iter().map(|a| format!("{}:{}:{}", a.id, a.state, a.updated_at)).collect();
    let e = app.store.enquiries(None, None, 100).await.unwrap();
    let es: Vec<String> = e.iter().map(|e| format!("{}:{}:{}", e.id, e.state, e.updated_at)).collect();
    format!("{states:?} {es:?} {}", ids.message)
}

async fn every_role_on_every_route_from_both_scopes(b: Backend) {
    let app = TestApp::spawn(b).await;
    let body = json!({"email": "matrix@example.org", "age_confirmed": true,
                      "addresses": [{"lat": AMERSFOORT.0, "lon": AMERSFOORT.1, "channels": ["email"]}]});
    assert_eq!(app.post_json("/api/v1/participants", &body).await.0, 202);

    // The owner's data in Amersfoort: a sent action and a requested enquiry.
    let dispatcher = app.staff_token("dispatcher", "RE03").await;
    let post = |token: String, path: String, body: Value| {
        let c = app.client.clone();
        let url = app.at(&path);
        async move {
            let r = c.post(url).bearer_auth(token).json(&body).send().await.unwrap();
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap())
        }
    };
    let (s, a) = post(
        dispatcher.clone(),
        "/api/v1/actions".into(),
        json!({"kind": "suspect", "status": "exercise", "area": {"circle": {"lat": AMERSFOORT.0, "lon": AMERSFOORT.1, "radius_m": 800}},
               "title": ACTION_MARKER, "body": format!("{ACTION_MARKER} body")}),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    let action = a["id"].as_i64().unwrap();
    let (s, sent) = post(dispatcher.clone(), format!("/api/v1/actions/{action}/send"), json!({})).await;
    assert_eq!(s, 200, "{sent}");
    let message = app.store.action_messages(action).await.unwrap()[0].id;
    let requester = app.staff_token("requester", "RE03").await;
    let (s, e) = post(
        requester,
        "/api/v1/enquiries".into(),
        json!({"incident_type": "burglary", "occurred_at": "2026-11-22T10:00:00Z",
               "location": {"lat": AMERSFOORT.0, "lon": AMERSFOORT.1}, "radius_m": 500,
               "description": format!("Inbraak {ENQUIRY_MARKER}."), "questions": "Heeft u iets gezien?"}),
    )
    .await;
    assert_eq!(s, 201, "{e}");
    let ids = Ids { action, enquiry: e["id"].as_i64().unwrap(), message };

    let routes = buurtnet_server::http::api_routes();
    let mut out = String::new();
    let mut staff_routes = Vec::new();
    for r in &routes {
        for m in r.methods {
            let path = concrete(r.path, &ids);
            let (s, body) = call(&app, m, &path, None).await;
            assert!(s < 500, "{m} {path} without a token: {s} {body}");
            assert!(!body.contains(ACTION_MARKER) && !body.contains(ENQUIRY_MARKER), "{m} {path} leaks without a token: {body}");
            if s == 401 {
                staff_routes.push((*m, r.path, path));
            } else {
                writeln!(out, "{m:<6} {:<34} public ({s})", r.path).unwrap();
            }
        }
    }
    assert!(staff_routes.len() >= 30, "the staff routes were found: {}", staff_routes.len());
    // The policy table names exactly the routes that need a staff sign-in.
    let mut found: Vec<(String, String)> = staff_routes.iter().map(|(m, t, _)| (m.to_string(), t.to_string())).collect();
    let mut table: Vec<(String, String)> =
        buurtnet_server::policy::API_RULES.iter().map(|(m, t, _)| (m.to_string(), t.to_string())).collect();
    found.sort();
    table.sort();
    assert_eq!(found, table, "policy::API_RULES and the routes that ask for a sign-in");

    // Another scope first: refused or empty, and nothing changes.
    let before = fingerprint(&app, &ids).await;
    let mut tokens = Vec::new();
    for role in Role::ALL {
        let (own, other) = scopes(role);
        tokens.push((role, app.staff_token(role.as_str(), own).await, app.staff_token(role.as_str(), other).await));
    }
    let mut allowed_other = 0;
    for (m, template, path) in &staff_routes {
        for (role, _, other) in &tokens {
            let (s, body) = call(&app, m, path, Some(other)).await;
            writeln!(out, "{m:<6} {template:<34} {:<22} other {s}", role.as_str()).unwrap();
            if !buurtnet_server::policy::api_roles(m, template).unwrap().contains(role) {
                assert_eq!(s, 403, "{m} {path} is not for {}: {body}", role.as_str());
            }
            assert!(
                (200..300).contains(&s) || [400, 403, 404, 415, 422].contains(&s),
                "{m} {path} by {} of another scope: {s} {body}",
                role.as_str()
            );
            assert!(
                !body.contains(ACTION_MARKER) && !body.contains(ENQUIRY_MARKER),
                "{m} {path} by {} of another scope shows the owner's data: {body}",
                role.as_str()
            );
            if (200..300).contains(&s) {
                allowed_other += 1;
            }
        }
    }
    assert_eq!(fingerprint(&app, &ids).await, before, "nothing was changed from another scope");

    // The owner's scope: answered (never a server error); roles the route is not for are refused.
    let mut seen_own = std::collections::BTreeMap::new();
    for (m, template, path) in &staff_routes {
        for (role, own, _) in &tokens {
            let (s, body) = call(&app, m, path, Some(own)).await;
            writeln!(out, "{m:<6} {template:<34} {:<22} own   {s}", role.as_str()).unwrap();
            assert!(s < 500 && s != 401, "{m} {path} by {} of its own scope: {s} {body}", role.as_str());
            if !buurtnet_server::policy::api_roles(m, template).unwrap().contains(role) {
                assert_eq!(s, 403, "{m} {path} is not for {}: {body}", role.as_str());
            }
            seen_own.insert((m.to_string(), template.to_string(), role.as_str()), (s, body));
        }
    }
    // Spot checks that the matrix sees the owner's data where the role may read it.
    let own = |m: &str, t: &str, r: Role| seen_own.get(&(m.to_string(), t.to_string(), r.as_str())).cloned().unwrap();
    let (s, body) = own("GET", "/actions/{id}", Role::Dispatcher);
    assert!(s == 200 && body.contains(ACTION_MARKER), "{s} {body}");
    assert_eq!(own("GET", "/actions/{id}", Role::Requester).0, 403);
    let (s, body) = own("GET", "/enquiries/{id}", Role::Approver);
    assert!(s == 200 && body.contains(ENQUIRY_MARKER), "{s} {body}");
    assert_eq!(own("GET", "/enquiries/{id}", Role::Dispatcher).0, 403);
    assert_eq!(own("GET", "/deliveries/dead", Role::Dispatcher).0, 403);

    let _ = allowed_other;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("role-scope-matrix-{b:?}.txt").to_lowercase()), &out);
}
