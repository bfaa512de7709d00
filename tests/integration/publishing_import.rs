//! CAP 1.2 in: a partner's alert becomes a DRAFT action (never sent by the import), hand-written
//! samples after public examples (an NL-Alert, a Google-style alert with several info blocks,
//! an Update/Cancel chain) import as they should, the same alert twice finds the same draft, a
//! sent action is never changed by an import, and bad CAP is refused (4xx naming the problem)
//! with nothing stored.

use crate::alerting::{AMERSFOORT, UTRECHT, get, post};
use crate::common::{Backend, TestApp};
use crate::on_both_backends;
use serde_json::{Value, json};

const NS: &str = "urn:oasis:names:tc:emergency:cap:1.2";

async fn import(app: &TestApp, token: &str, content_type: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let r = app
        .client
        .post(app.at("/api/v1/cap"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn import_cap(app: &TestApp, token: &str, xml: &str) -> (u16, Value) {
    import(app, token, "application/cap+xml", xml.to_string()).await
}

/// An NL-Alert as the public ones look: Dutch and English, a polygon (lat,lon), a fire.
fn nl_alert() -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="{NS}">
  <identifier>NLA-2026-11-22-0042</identifier>
  <sender>nl-alert@example.nl</sender>
  <sent>2026-11-22T13:05:00+01:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>nl-NL</language>
    <category>Fire</category>
    <event>Brand</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <senderName>Veiligheidsregio Utrecht</senderName>
    <headline>Grote brand bij de Eem</headline>
    <description>Er is een grote brand met veel rook in Amersfoort-Noord.</description>
    <instruction>Sluit ramen en deuren en zet de ventilatie uit.</instruction>
    <contact>0800-1351</contact>
    <area>
      <areaDesc>Amersfoort-Noord</areaDesc>
      <polygon>52.16,5.38 52.16,5.40 52.17,5.40 52.17,5.38 52.16,5.38</polygon>
    </area>
  </info>
  <info>
    <language>en-US</language>
    <category>Fire</category>
    <event>Fire</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <headline>Large fire near the Eem</headline>
    <description>A large fire with much smoke in Amersfoort-Noord.</description>
    <instruction>Close windows and doors and switch off ventilation.</instruction>
    <area>
      <areaDesc>Amersfoort-Noord</areaDesc>
      <polygon>52.16,5.38 52.16,5.40 52.17,5.40 52.17,5.38 52.16,5.38</polygon>
    </area>
  </info>
</alert>"#
    )
}

/// A Google-style alert: a prefix, shuffled elements, three info blocks (Spanish first), a
/// polygon, geocodes of other systems beside a CBS one, no scope, no urgency.
fn google_style() -> String {
    format!(
        r#"<cap:alert xmlns:cap="{NS}">
<cap:sender>alerts@partner.example.com</cap:sender><cap:identifier>urn:oid:2.49.0.1.528.0.2026.1</cap:identifier>
<cap:msgType>Alert</cap:msgType><cap:sent>2026-11-22T12:00:00Z</cap:sent><cap:status>Actual</cap:status>
<cap:info><cap:language>es-US</cap:language><cap:category>Met</cap:category><cap:event>Aviso de inundación</cap:event>
  <cap:severity>Severe</cap:severity><cap:certainty>Likely</cap:certainty><cap:headline>Inundación</cap:headline>
  <cap:area><cap:areaDesc>Amersfoort</cap:areaDesc><cap:polygon>52.15,5.37 52.15,5.39 52.16,5.39 52.15,5.37</cap:polygon></cap:area></cap:info>
<cap:info>
   <cap:area>
      <cap:geocode><cap:valueName>UGC</cap:valueName><cap:value>NLZ001</cap:value></cap:geocode>
      <cap:polygon>
          52.15,5.37   52.15,5.39
          52.16,5.39 52.15,5.37
      </cap:polygon>
      <cap:geocode><cap:valueName>CBS</cap:valueName><cap:value>gm0307</cap:value></cap:geocode>
      <cap:areaDesc>Amersfoort</cap:areaDesc>
   </cap:area>
   <cap:headline>Overstroming langs de Eem</cap:headline>
   <cap:event>Overstromingswaarschuwing</cap:event>
   <cap:language>nl-NL</cap:language>
   <cap:severity>Severe</cap:severity><cap:certainty>Likely</cap:certainty><cap:category>Met</cap:category>
   <cap:description>Het water van de Eem stijgt snel.</cap:description>
</cap:info>
<cap:info><cap:language>en-US</cap:language><cap:category>Met</cap:category><cap:event>Flood Warning</cap:event>
  <cap:severity>Severe</cap:severity><cap:certainty>Likely</cap:certainty><cap:headline>Flooding along the Eem</cap:headline>
  <cap:description>The water of the Eem is rising fast.</cap:description></cap:info>
</cap:alert>"#
    )
}

/// A chain of a safety region's alerts: `msg_type`, with references and a circle of `radius_km`.
fn chain(identifier: &str, msg_type: &str, references: &[&str], headline: &str, radius_km: f64) -> String {
    let refs = if references.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = references.iter().map(|r| format!("vr@example.nl,{r},2026-11-22T12:00:00+01:00")).collect();
        format!("<references>{}</references>", list.join(" "))
    };
    format!(
        r#"<alert xmlns="{NS}"><identifier>{identifier}</identifier><sender>vr@example.nl</sender>
<sent>2026-11-22T12:30:00+01:00</sent><status>Exercise</status><msgType>{msg_type}</msgType><scope>Public</scope>{refs}
<info><language>nl-NL</language><category>CBRNE</category><event>Gaslek</event><urgency>Immediate</urgency>
<severity>Severe</severity><certainty>Observed</certainty><headline>{headline}</headline>
<description>Gaslucht rond het station.</description>
<area><areaDesc>Station</areaDesc><circle>{},{} {radius_km}</circle></area></info></alert>"#,
        AMERSFOORT.0, AMERSFOORT.1
    )
}

on_both_backends!(
    golden_samples_import_as_drafts,
    an_update_and_cancel_chain_changes_only_its_draft,
    bad_cap_is_refused_with_the_problem_named_and_nothing_stored,
);

async fn golden_samples_import_as_drafts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.staff_token("dispatcher", "NL").await;
    let (s, v) = import_cap(&app, &token, &nl_alert()).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["state"], "draft");
    let (_, a) = get(&app, &token, &format!("/api/v1/actions/{}", v["id"])).await;
    // No kind of ours is a fire: an appeal, the event in its title; the partner's instruction kept.
    assert_eq!((a["kind"].as_str(), a["level"].as_str(), a["status"].as_str()), (Some("other"), Some("local"), Some("actual")));
    assert_eq!(a["title"], "Brand: Grote brand bij de Eem");
    assert_eq!(
        a["body"],
        "Er is een grote brand met veel rook in Amersfoort-Noord. Sluit ramen en deuren en zet de ventilatie uit."
    );
    assert_eq!(a["title_en"], "Fire: Large fire near the Eem");
    assert_eq!(a["callback_phone"], "0800-1351");
    assert_eq!(
        a["area"],
        json!({"polygon": {"type": "Polygon", "coordinates": [[[5.38, 52.16], [5.40, 52.16], [5.40, 52.17], [5.38, 52.17], [5.38, 52.16]]]}})
    );
    assert!(a["messages"].as_array().unwrap().is_empty(), "an import never sends");
    // The same alert again: the same draft, nothing new.
    let (s, again) = import_cap(&app, &token, &nl_alert()).await;
    assert_eq!((s, &again["id"]), (200, &v["id"]));
    assert_eq!(app.store.count_rows("actions").await.unwrap(), 1);

    let (s, v) = import_cap(&app, &token, &google_style()).await;
    assert_eq!(s, 201, "{v}");
    let (_, a) = get(&app, &token, &format!("/api/v1/actions/{}", v["id"])).await;
    assert_eq!(a["kind"], "other");
    assert_eq!(a["title"], "Overstromingswaarschuwing: Overstroming langs de Eem");
    assert_eq!(a["body"], "Het water van de Eem stijgt snel.");
    assert_eq!(a["title_en"], "Flood Warning: Flooding along the Eem");
    assert_eq!(a["body_en"], "The water of the Eem is rising fast.");
    assert!(a["callback_phone"].is_null());
    // The polygon (closed as given) and the CBS geocode; the UGC code passed over.
    assert_eq!(
        a["area"],
        json!({"union": [{"polygon": {"type": "Polygon", "coordinates": [[[5.37, 52.15], [5.39, 52.15], [5.39, 52.16], [5.37, 52.15]]]}},
                         {"areas": ["GM0307"]}]})
    );
}

async fn an_update_and_cancel_chain_changes_only_its_draft(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.staff_token("dispatcher", "NL").await;
    let (s, v) = import_cap(&app, &token, &chain("VR-1", "Alert", &[], "Gaslek bij het station", 0.5)).await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (_, a) = get(&app, &token, &format!("/api/v1/actions/{id}")).await;
    assert_eq!((a["kind"].as_str(), a["status"].as_str()), (Some("gas_leak"), Some("exercise")));
    assert_eq!(a["area"]["circle"]["radius_m"], 500.0);
    let version = a["version"].as_i64().unwrap();

    // Another sender cannot change it, even naming it.
    let other = chain("X-2", "Update", &["VR-1"], "Overgenomen", 3.0)
        .replace("<sender>vr@example.nl</sender>", "<sender>x@example.org</sender>");
    let (s, v) = import_cap(&app, &token, &other).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("unknown_reference")), "{v}");
    let (s, v) = import_cap(&app, &token, &chain("VR-2", "Update", &["VR-1"], "Gaslek: gebied groter", 1.2)).await;
    assert_eq!((s, v["id"].as_i64(), v["state"].as_str()), (200, Some(id), Some("draft")), "{v}");
    let (_, a) = get(&app, &token, &format!("/api/v1/actions/{id}")).await;
    assert_eq!(a["title"], "Gaslek: gebied groter");
    assert_eq!(a["area"]["circle"]["radius_m"], 1200.0);
    assert_eq!(a["version"].as_i64().unwrap(), version + 1);
    // The same update again changes nothing more.
    let (s, _) = import_cap(&app, &token, &chain("VR-2", "Update", &["VR-1"], "Gaslek: anders", 2.0)).await;
    assert_eq!(s, 200);
    assert_eq!(get(&app, &token, &format!("/api/v1/actions/{id}")).await.1["title"], "Gaslek: gebied groter");

    let (s, v) = import_cap(&app, &token, &chain("VR-3", "Cancel", &["VR-1", "VR-2"], "Gaslek", 1.2)).await;
    assert_eq!((s, v["state"].as_str()), (200, Some("cancelled")), "{v}");
    let (_, a) = get(&app, &token, &format!("/api/v1/actions/{id}")).await;
    assert_eq!(a["state"], "cancelled");
    assert!(a["messages"].as_array().unwrap().is_empty(), "a cancelled draft sends nothing");

    // Once a dispatcher sent the imported draft, no import changes it.
    let (s, v) = import_cap(&app, &token, &chain("VR-10", "Alert", &[], "Gaslek Snouckaertlaan", 0.5)).await;
    assert_eq!(s, 201);
    let sent = v["id"].as_i64().unwrap();
    let (s, _) = post(&app, &token, &format!("/api/v1/actions/{sent}/send"), &json!({})).await;
    assert_eq!(s, 200);
    for (identifier, msg_type) in [("VR-11", "Update"), ("VR-12", "Cancel")] {
        let (s, v) = import_cap(&app, &token, &chain(identifier, msg_type, &["VR-10"], "Anders", 3.0)).await;
        assert_eq!(s, 409, "{v}");
        assert!(v["message"].as_str().unwrap().contains("never changes a sent action"), "{v}");
    }
    let (_, a) = get(&app, &token, &format!("/api/v1/actions/{sent}")).await;
    assert_eq!((a["state"].as_str(), a["title"].as_str()), (Some("active"), Some("Gaslek Snouckaertlaan")));
    assert_eq!(app.store.count_rows("cap_imports").await.unwrap(), 4, "VR-1, VR-2, VR-3, VR-10");
}

async fn bad_cap_is_refused_with_the_problem_named_and_nothing_stored(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.staff_token("dispatcher", "NL").await;
    let local = app.staff_token("dispatcher", "GM0307").await;
    let good = chain("B-1", "Alert", &[], "Gaslek", 0.5);
    let no_area = good
        .replace(&format!("<area><areaDesc>Station</areaDesc><circle>{},{} 0.5</circle></area>", AMERSFOORT.0, AMERSFOORT.1), "");
    assert_ne!(no_area, good);
    let utrecht = good.replace(&format!("{},{} 0.5", AMERSFOORT.0, AMERSFOORT.1), &format!("{},{} 0.5", UTRECHT.0, UTRECHT.1));
    let laughs = format!(
        r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>{}"#,
        good.replace("Gaslek</headline>", "&lol2;</headline>")
    );
    let external = format!(
        r#"<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>{}"#,
        good.replace("Gaslek</headline>", "&x;</headline>")
    );
    let huge = good.replace("Gaslucht rond het station.", &"x".repeat(1024 * 1024));
    let cases: Vec<(&str, &str, String, u16, &str)> = vec![
        ("not XML", "NL", "{\"kind\": \"gas_leak\"}".into(), 400, "not_xml"),
        ("CAP 1.1", "NL", good.replace("cap:1.2", "cap:1.1"), 400, "wrong_namespace"),
        ("no namespace", "NL", good.replace(&format!(" xmlns=\"{NS}\""), ""), 400, "wrong_namespace"),
        ("no sender", "NL", good.replace("<sender>vr@example.nl</sender>", ""), 400, "missing_element"),
        ("no area", "NL", no_area, 400, "missing_area"),
        ("outside scope", "GM0307", utrecht, 422, "validation_failed"),
        ("DTD", "NL", laughs, 400, "dtd_not_allowed"),
        ("external entity", "NL", external, 400, "dtd_not_allowed"),
        ("System", "NL", good.replace("<status>Exercise</status>", "<status>System</status>"), 400, "invalid_status"),
        ("Ack", "NL", good.replace("<msgType>Alert</msgType>", "<msgType>Ack</msgType>"), 400, "not_an_alert"),
        ("bad time", "NL", good.replace("2026-11-22T12:30:00+01:00", "gisteren"), 400, "invalid_value"),
        ("unknown reference", "NL", chain("B-2", "Update", &["nope"], "Gaslek", 0.5), 400, "unknown_reference"),
        ("over 1 MB", "NL", huge, 413, "payload_too_large"),
    ];
    for (what, scope, body, status, code) in cases {
        let token = if scope == "NL" { &token } else { &local };
        let (s, v) = import_cap(&app, token, &body).await;
        assert_eq!(s, status, "{what}: {v}");
        assert_eq!(v["error"], code, "{what}: {v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {v}");
    }
    let (s, v) = import(&app, &token, "application/json", good.clone()).await;
    assert_eq!((s, v["error"].as_str()), (415, Some("unsupported_media_type")), "{v}");
    let officer = app.staff_token("municipality-officer", "GM0307").await;
    assert_eq!(import_cap(&app, &officer, &good).await.0, 403);
    let r = app
        .client
        .post(app.at("/api/v1/cap"))
        .header("content-type", "application/cap+xml")
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Nothing was stored by any of them.
    assert_eq!(app.store.count_rows("actions").await.unwrap(), 0);
    assert_eq!(app.store.count_rows("cap_imports").await.unwrap(), 0);
    // The good one is fine.
    assert_eq!(import_cap(&app, &local, &good).await.0, 201);
}
