//! `GET /api/v1/geocode`: the map's search, as staff call it, on the real areas and the example
//! address table: every kind of input, scope, bad input, roles, audit and logs.

use crate::common::{Backend, TestApp, captured_logs, oracle_index};
use crate::on_both_backends;
use serde_json::Value;

on_both_backends!(staff_find_places_in_their_scope, a_flood_of_searches_gets_429);

async fn get(app: &TestApp, token: Option<&str>, q: &str) -> (u16, Value) {
    let mut req = app.client.get(app.at("/api/v1/geocode")).query(&[("q", q)]);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn staff_find_places_in_their_scope(b: Backend) {
    let app = TestApp::spawn(b).await;
    // The police unit of Utrecht's Rivierenwijk, where the example addresses are.
    let unit = oracle_index().locate(52.0765, 5.1178).police_unit.expect("a police unit");
    let dispatcher = app.staff_token("dispatcher", &unit).await;
    // The server reads the address table into its book within a second or two.
    let mut tries = 0;
    while app.state.geocoder.book().is_none_or(|b| b.is_empty()) {
        assert!(tries < 100, "the address book did not load");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        tries += 1;
    }
    for q in ["Waalstraat 110 Utrecht", "3522 ST 110", "3522st 110"] {
        let (s, v) = get(&app, Some(&dispatcher), q).await;
        assert_eq!(s, 200, "{q}: {v}");
        let first = &v["results"][0];
        assert_eq!(
            (first["kind"].as_str(), first["label"].as_str()),
            (Some("address"), Some("Waalstraat 110, 3522 ST Utrecht")),
            "{q}: {v}"
        );
        assert!(first["lat"].as_f64().is_some() && first["lon"].as_f64().is_some(), "{v}");
    }
    let (s, v) = get(&app, Some(&dispatcher), "Waalstrat 110").await;
    assert_eq!((s, v["results"][0]["label"].as_str()), (200, Some("Waalstraat 110, 3522 ST Utrecht")), "{v}");
    let (_, v) = get(&app, Some(&dispatcher), "gm0344").await;
    assert_eq!((v["results"][0]["kind"].as_str(), v["results"][0]["code"].as_str()), (Some("area"), Some("GM0344")), "{v}");
    let (_, v) = get(&app, Some(&dispatcher), "3522").await;
    assert_eq!(v["results"][0]["code"].as_str(), Some("3522"), "{v}");
    let (_, v) = get(&app, Some(&dispatcher), "52.0765, 5.1178").await;
    assert_eq!(v["results"][0]["kind"].as_str(), Some("point"), "{v}");

    // Outside the scope: a municipality officer of Amersfoort finds nothing in Utrecht, and is told so.
    let amersfoort = app.staff_token("municipality-officer", "GM0307").await;
    let (s, v) = get(&app, Some(&amersfoort), "Waalstraat 110 Utrecht").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["results"].as_array().map(Vec::len), Some(0), "{v}");
    assert!(v["outside_scope"].as_u64().unwrap_or(0) >= 1, "{v}");
    let (_, v) = get(&app, Some(&amersfoort), "Amersfoort").await;
    assert_eq!(v["results"][0]["code"].as_str(), Some("GM0307"), "{v}");

    // Bad input: a clear 400, and the query never in the logs.
    let (s, v) = get(&app, Some(&dispatcher), "   ").await;
    assert_eq!((s, v["error"].as_str()), (400, Some("empty_query")), "{v}");
    let garbage: String = "Zq%<script>\u{7f}é".chars().cycle().take(1000).collect();
    let (s, v) = get(&app, Some(&dispatcher), &garbage).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("query_too_long")), "{v}");
    let (s, v) = get(&app, Some(&dispatcher), "Qqqzzz 77 Nergenshuizen").await;
    assert_eq!((s, v["results"].as_array().map(Vec::len)), (200, Some(0)), "{v}");
    let logs = captured_logs();
    assert!(
        !logs.contains("Waalstra") && !logs.contains("Qqqzzz") && !logs.contains("Zq%<script>"),
        "the query reached the logs"
    );

    // Staff only, and only roles that draw areas.
    let (s, _) = get(&app, None, "Utrecht").await;
    assert_eq!(s, 401);
    let handler = app.staff_token("handler", &unit).await;
    let (s, v) = get(&app, Some(&handler), "Utrecht").await;
    assert_eq!(s, 403, "{v}");

    // Audited, without what was typed.
    let audit = app.store.audit_entries(200).await.unwrap();
    let searches: Vec<_> = audit.iter().filter(|a| a.action == "places.searched").collect();
    assert!(searches.len() >= 9, "{searches:?}");
    assert!(searches.iter().all(|a| !a.details.contains("Waalstra") && !a.details.contains("3522")), "{searches:?}");
}

/// The search counts under the staff API limit like every staff call: a flood gets 429 in the
/// usual error shape.
async fn a_flood_of_searches_gets_429(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.abuse_limits.staff_api = buurtnet_server::config::Limit { per_ip: 0, per_target: 5, window_seconds: 60 };
    })
    .await;
    let token = app.staff_token("dispatcher", "NL").await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let (s, v) = get(&app, Some(&token), "Amersfoort").await;
        if s == 429 {
            assert_eq!(v["error"].as_str(), Some("too_many_requests"), "{v}");
        }
        statuses.push(s);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 3, "{statuses:?}");
}
