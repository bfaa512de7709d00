use crate::common::{Backend, TestApp, example_registration, link_token, sms_code};
use crate::on_both_backends;
use serde_json::{Value, json};

on_both_backends!(
    register_verify_and_self_service,
    known_contacts_are_never_revealed,
    every_bad_field_is_named_and_nothing_is_stored,
    postcode_falls_back_to_its_area,
    a_point_between_outlines_gets_the_nearest_areas,
    phone_codes_expire_and_limit_attempts,
    self_service_links_expire,
    pdok_geocoder_is_used_when_configured,
);

async fn count(app: &TestApp) -> (i64, i64, i64) {
    (
        app.store.count_rows("participants").await.unwrap(),
        app.store.count_rows("contacts").await.unwrap(),
        app.store.count_rows("addresses").await.unwrap(),
    )
}

async fn register_verify_and_self_service(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (s, v) = app.post_json("/api/v1/participants", &example_registration("a@example.org", "+31612345678")).await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(count(&app).await, (1, 2, 2));

    // The e-mail link confirms the address.
    let mails = app.sandbox("a@example.org").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["subject"], "Bevestig je e-mailadres voor buurtnet");
    let token = link_token(mails[0]["body"].as_str().unwrap(), "/bevestigen/");
    let (s, _) = app.post_json("/api/v1/participants/verify-email", &json!({"token": token})).await;
    assert_eq!(s, 200);
    let (s, v) = app.post_json("/api/v1/participants/verify-email", &json!({"token": format!("{token}x")})).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("link_invalid")));

    // The SMS code confirms the phone.
    let sms = app.sandbox("+31612345678").await;
    assert_eq!(sms.len(), 1);
    let code = sms_code(sms[0]["body"].as_str().unwrap());
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (s, v) = app.post_json("/api/v1/participants/verify-phone", &json!({"phone": "06 12345678", "code": wrong})).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("code_invalid")));
    let (s, _) = app.post_json("/api/v1/participants/verify-phone", &json!({"phone": "06 12345678", "code": code})).await;
    assert_eq!(s, 200);

    // Self-service through a link sent by e-mail.
    let (s, _) = app.post_json("/api/v1/participants/self-service-link", &json!({"email": "a@example.org"})).await;
    assert_eq!(s, 202);
    let mails = app.sandbox("a@example.org").await;
    let token = link_token(mails.last().unwrap()["body"].as_str().unwrap(), "/mijn/");
    let (s, me) = app.get_json(&format!("/api/v1/self-service/{token}")).await;
    assert_eq!(s, 200, "{me}");
    assert!(me["contacts"].as_array().unwrap().iter().all(|c| c["verified"] == true), "{me}");
    let home = &me["addresses"][0];
    assert_eq!(home["postcode"], "3522HG");
    assert_eq!(home["approximate"], false, "3522HG 70 is in the address table");
    assert_eq!(home["areas"]["municipality"], "GM0344");
    assert_eq!(home["areas"]["police_unit"], "RE03");
    assert_eq!(home["channels"], json!(["sms", "email"]));
    assert_eq!(home["quiet_hours"][0]["from"], "23:00");
    assert_eq!(me["addresses"][1]["kind"], "work");
    assert_eq!(me["topics"], json!(["urgent", "enquiry"]));

    // Change: pause, topics, one address's channels.
    let home_id = home["id"].as_i64().unwrap();
    let r = app
        .client
        .patch(app.at(&format!("/api/v1/self-service/{token}")))
        .json(&json!({"paused": true, "topics": ["information"], "language": "en", "addresses": [{"id": home_id, "channels": ["email"]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let me: Value = r.json().await.unwrap();
    assert_eq!(
        (me["paused"].clone(), me["topics"].clone(), me["language"].clone()),
        (json!(true), json!(["information"]), json!("en"))
    );
    assert_eq!(me["addresses"][0]["channels"], json!(["email"]));
    // A bad change changes nothing.
    let r = app
        .client
        .patch(app.at(&format!("/api/v1/self-service/{token}")))
        .json(&json!({"paused": false, "topics": ["weather"], "addresses": [{"id": 999999, "channels": ["sms"]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    let fields: Vec<&str> = body["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"topics[0]") && fields.contains(&"addresses[0].id"), "{fields:?}");
    let (_, me) = app.get_json(&format!("/api/v1/self-service/{token}")).await;
    assert_eq!(me["paused"], true);

    // Delete everything: a hard delete, and the audit log holds no personal data.
    let r = app.client.delete(app.at(&format!("/api/v1/self-service/{token}"))).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(count(&app).await, (0, 0, 0));
    let (s, _) = app.get_json(&format!("/api/v1/self-service/{token}")).await;
    assert_eq!(s, 404);
    let audit = app.store.audit_entries(100).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "participant.deleted_self"));
    let all = serde_json::to_string(&audit).unwrap();
    assert!(!all.contains("example.org") && !all.contains("31612345678"), "{all}");
}

async fn known_contacts_are_never_revealed(b: Backend) {
    let app = TestApp::spawn(b).await;
    let first = app.post_json("/api/v1/participants", &example_registration("known@example.org", "+31611111111")).await;
    let again = app.post_json("/api/v1/participants", &example_registration("known@example.org", "+31622222222")).await;
    assert_eq!(first, again, "the answer must not tell whether the address was known");
    assert_eq!(count(&app).await.0, 1);
    let mails = app.sandbox("known@example.org").await;
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[1]["subject"], "Je bent al aangemeld bij buurtnet");
    assert!(app.sandbox("+31622222222").await.is_empty(), "the newcomer's number gets nothing");
    // Asking for a self-service link for an unknown address answers the same as for a known one.
    let a = app.post_json("/api/v1/participants/self-service-link", &json!({"email": "known@example.org"})).await;
    let b2 = app.post_json("/api/v1/participants/self-service-link", &json!({"email": "stranger@example.org"})).await;
    assert_eq!(a, b2);
    assert!(app.sandbox("stranger@example.org").await.is_empty());
}

async fn every_bad_field_is_named_and_nothing_is_stored(b: Backend) {
    let app = TestApp::spawn(b).await;
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        ("/email", json!("not-an-email"), "email", "invalid_email"),
        ("/phone", json!("0612"), "phone", "invalid_phone"),
        ("/language", json!("fr"), "language", "invalid_language"),
        ("/age_confirmed", json!(false), "age_confirmed", "age_not_confirmed"),
        ("/topics", json!(["weather"]), "topics[0]", "unknown_topic"),
        ("/addresses", json!([]), "addresses", "no_addresses"),
        ("/addresses/0/postcode", json!("0811 AB"), "addresses[0].postcode", "invalid_postcode"),
        ("/addresses/0/postcode", json!("5028 AA"), "addresses[0].postcode", "address_not_found"),
        ("/addresses/0/house_number", json!("twelve"), "addresses[0].house_number", "invalid_house_number"),
        ("/addresses/0/kind", json!("castle"), "addresses[0].kind", "invalid_address_kind"),
        ("/addresses/0/channels", json!(["fax"]), "addresses[0].channels[0]", "unknown_channel"),
        ("/addresses/0/quiet_hours/0/to", json!("7 uur"), "addresses[0].quiet_hours[0].to", "invalid_time"),
        ("/addresses/1/lat", json!(48.85), "addresses[1].lat", "outside_netherlands"),
        // Inside the box around the country but in Belgium.
        ("/addresses/1/lat", json!(51.05), "addresses[1].lat", "outside_netherlands"),
        ("/addresses/1/lon", json!("oost"), "addresses[1].lon", "invalid_coordinate"),
        ("/phone", json!("+31 33 469 5555"), "addresses[0].channels", "sms_needs_mobile"),
    ];
    for (pointer, value, field, code) in cases {
        let mut body = example_registration("x@example.org", "+31612345678");
        if pointer == "/addresses/1/lat" && value == json!(51.05) {
            body["addresses"][1]["lon"] = json!(3.9);
        }
        *body.pointer_mut(pointer).unwrap() = value;
        let (s, v) = app.post_json("/api/v1/participants", &body).await;
        assert_eq!(s, 422, "{pointer}: {v}");
        let found = v["fields"].as_array().unwrap().iter().any(|f| f["field"] == field && f["code"] == code);
        assert!(found, "{pointer}: expected {field}/{code} in {v}");
        assert!(v["fields"].as_array().unwrap().iter().all(|f| !f["message"].as_str().unwrap().is_empty()));
    }
    // Not JSON, or not declared as JSON: 400 with a message.
    let r = app
        .client
        .post(app.at("/api/v1/participants"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_json");
    let r = app.client.post(app.at("/api/v1/participants")).body("email=a").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(count(&app).await, (0, 0, 0), "nothing is half-stored");
    assert_eq!(app.store.count_rows("sandbox_messages").await.unwrap(), 0);
}

async fn postcode_falls_back_to_its_area(b: Backend) {
    let app = TestApp::spawn(b).await;
    let body = json!({"email": "pc@example.org", "age_confirmed": true,
        "addresses": [{"postcode": "3811AB", "house_number": "12", "channels": ["email"]}]});
    let (s, _) = app.post_json("/api/v1/participants", &body).await;
    assert_eq!(s, 202);
    let rec = app
        .store
        .participant(app.store.contact("email", "pc@example.org").await.unwrap().unwrap().participant_id)
        .await
        .unwrap()
        .unwrap();
    let a = &rec.addresses[0];
    assert!(a.approximate, "no exact address point: the PC4 area's interior point, marked approximate");
    assert_eq!(a.pc4.as_deref(), Some("3811"));
    assert_eq!(a.municipality_code.as_deref(), Some("GM0307"));
    assert_eq!(rec.participant.topics, 7, "topics default to all three");
}

/// Issue #19, finding 16: the simplified outlines leave slivers of a few metres between
/// municipalities. 52.097089, 5.332963 lies in none (8 m from GM0351, 2 m from WK032702): it gets
/// the nearest district's chain, marked approximate. A point in the North Sea is still refused,
/// and so is the sliver point with the tolerance set to 0.
async fn a_point_between_outlines_gets_the_nearest_areas(b: Backend) {
    let app = TestApp::spawn(b).await;
    assert!(!crate::common::oracle_index().locate(52.097089, 5.332963).in_netherlands(), "the point lies in a sliver");
    let body = json!({"email": "sliver@example.org", "age_confirmed": true,
        "addresses": [{"lat": 52.097089, "lon": 5.332963, "channels": ["email"]}]});
    let (s, v) = app.post_json("/api/v1/participants", &body).await;
    assert_eq!(s, 202, "{v}");
    let id = app.store.contact("email", "sliver@example.org").await.unwrap().unwrap().participant_id;
    let rec = app.store.participant(id).await.unwrap().unwrap();
    let a = &rec.addresses[0];
    assert!(a.approximate, "areas assigned by nearness are approximate");
    assert_eq!((a.lat, a.lon), (52.097089, 5.332963), "the point itself is kept");
    assert_eq!(a.district_code.as_deref(), Some("WK032702"));
    assert_eq!(a.municipality_code.as_deref(), Some("GM0327"));
    assert!(a.safety_region_code.is_some() && a.police_unit_code.is_some() && a.province_code.is_some(), "{a:?}");

    let sea = json!({"email": "sea@example.org", "age_confirmed": true,
        "addresses": [{"lat": 52.6, "lon": 4.3, "channels": ["email"]}]});
    let (s, v) = app.post_json("/api/v1/participants", &sea).await;
    assert_eq!((s, v["fields"][0]["code"].as_str()), (422, Some("outside_netherlands")), "{v}");
    assert_eq!(v["fields"][0]["field"], "addresses[0].lat");
    assert!(app.store.contact("email", "sea@example.org").await.unwrap().is_none());

    let strict = TestApp::spawn_with(b, |c| c.geocoder.nearest_area_within_m = 0.0).await;
    let (s, v) = strict.post_json("/api/v1/participants", &body).await;
    assert_eq!((s, v["fields"][0]["code"].as_str()), (422, Some("outside_netherlands")), "{v}");
}

async fn phone_codes_expire_and_limit_attempts(b: Backend) {
    let app = TestApp::spawn(b).await;
    let body = json!({"phone": "+31687654321", "age_confirmed": true, "addresses": [{"lat": 52.1561, "lon": 5.3878, "channels": ["sms", "voice"]}]});
    assert_eq!(app.post_json("/api/v1/participants", &body).await.0, 202);
    let code = sms_code(app.sandbox("+31687654321").await[0]["body"].as_str().unwrap());
    // Expired after 15 minutes.
    app.clock.advance(chrono::Duration::minutes(16));
    let (s, v) = app.post_json("/api/v1/participants/verify-phone", &json!({"phone": "+31687654321", "code": code})).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("code_invalid")));
    // A new code; five wrong tries lock it.
    assert_eq!(app.post_json("/api/v1/participants/resend-code", &json!({"phone": "+31687654321"})).await.0, 202);
    let code = sms_code(app.sandbox("+31687654321").await.last().unwrap()["body"].as_str().unwrap());
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..4 {
        app.post_json("/api/v1/participants/verify-phone", &json!({"phone": "+31687654321", "code": wrong})).await;
    }
    let (s, v) = app.post_json("/api/v1/participants/verify-phone", &json!({"phone": "+31687654321", "code": code})).await;
    assert_eq!((s, v["error"].as_str()), (200, None), "four wrong tries still allow the right one: {v}");
    let (s, v) = app.post_json("/api/v1/participants/verify-phone", &json!({"phone": "+31687654321", "code": "12"})).await;
    assert_eq!((s, v["fields"][0]["code"].as_str()), (422, Some("invalid_code_format")));

    let body = json!({"phone": "+31687650000", "age_confirmed": true, "addresses": [{"lat": 52.1561, "lon": 5.3878, "channels": ["sms"]}]});
    assert_eq!(app.post_json("/api/v1/participants", &body).await.0, 202);
    let code = sms_code(app.sandbox("+31687650000").await[0]["body"].as_str().unwrap());
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        app.post_json("/api/v1/participants/verify-phone", &json!({"phone": "+31687650000", "code": wrong})).await;
    }
    let (s, v) = app.post_json("/api/v1/participants/verify-phone", &json!({"phone": "+31687650000", "code": code})).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("code_invalid")), "five wrong tries lock the code");
    assert!(app.store.contact("phone", "+31687650000").await.unwrap().unwrap().verified_at.is_none());
    // The answer reads the same for a number nobody registered and for one already confirmed:
    // it never tells whether a number is known.
    let (_, locked) = app.post_json("/api/v1/participants/verify-phone", &json!({"phone": "+31687650000", "code": code})).await;
    let (_, unknown) = app.post_json("/api/v1/participants/verify-phone", &json!({"phone": "+31687659999", "code": code})).await;
    let (_, confirmed) =
        app.post_json("/api/v1/participants/verify-phone", &json!({"phone": "+31687654321", "code": "123456"})).await;
    assert_eq!(locked, unknown);
    assert_eq!(unknown, confirmed);
}

async fn self_service_links_expire(b: Backend) {
    let app = TestApp::spawn(b).await;
    assert_eq!(app.post_json("/api/v1/participants", &example_registration("exp@example.org", "+31612340000")).await.0, 202);
    app.post_json("/api/v1/participants/self-service-link", &json!({"email": "exp@example.org"})).await;
    let token = link_token(app.sandbox("exp@example.org").await.last().unwrap()["body"].as_str().unwrap(), "/mijn/");
    assert_eq!(app.get_json(&format!("/api/v1/self-service/{token}")).await.0, 200);
    app.clock.advance(chrono::Duration::hours(25));
    let (s, v) = app.get_json(&format!("/api/v1/self-service/{token}")).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("link_expired")));
    // A verification token is no self-service token.
    let verify = link_token(app.sandbox("exp@example.org").await[0]["body"].as_str().unwrap(), "/bevestigen/");
    let (s, v) = app.get_json(&format!("/api/v1/self-service/{verify}")).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("link_invalid")));
}

/// A local HTTP server that answers like the PDOK Locatieserver.
async fn fake_pdok() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::extract::Query;
    use std::collections::HashMap;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let router = axum::Router::new().route(
        "/free",
        axum::routing::get(move |Query(q): Query<HashMap<String, String>>| {
            let seen = seen2.clone();
            async move {
                let query = q.get("q").cloned().unwrap_or_default();
                seen.lock().unwrap().push(query.clone());
                let docs = if query.contains("postcode:3811AB") && query.contains("huisnummer:12") {
                    json!([{"type": "adres", "weergavenaam": "Hof 12, 3811AB Amersfoort", "centroide_ll": "POINT(5.38791 52.15612)", "postcode": "3811AB", "huisnummer": 12}])
                } else {
                    json!([])
                };
                axum::Json(json!({"response": {"numFound": docs.as_array().unwrap().len(), "start": 0, "maxScore": 1.0, "numFoundExact": true, "docs": docs}}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}"), seen)
}

async fn pdok_geocoder_is_used_when_configured(b: Backend) {
    let (pdok_url, seen) = fake_pdok().await;
    let app = TestApp::spawn_with(b, |c| {
        c.geocoder.kind = "pdok".into();
        c.geocoder.pdok_url = pdok_url.clone();
    })
    .await;
    let body = json!({"email": "pdok@example.org", "age_confirmed": true, "addresses": [{"postcode": "3811 AB", "house_number": "12", "channels": ["email"]}]});
    assert_eq!(app.post_json("/api/v1/participants", &body).await.0, 202);
    assert_eq!(seen.lock().unwrap().as_slice(), ["postcode:3811AB and huisnummer:12"]);
    let id = app.store.contact("email", "pdok@example.org").await.unwrap().unwrap().participant_id;
    let a = &app.store.participant(id).await.unwrap().unwrap().addresses[0];
    assert_eq!((a.lat, a.lon, a.approximate), (52.15612, 5.38791, false));
    // Unknown to PDOK: the offline fallback (PC4 area) still places the address.
    let body = json!({"email": "pdok2@example.org", "age_confirmed": true, "addresses": [{"postcode": "3812 AA", "house_number": "1", "channels": ["email"]}]});
    assert_eq!(app.post_json("/api/v1/participants", &body).await.0, 202);
    let id = app.store.contact("email", "pdok2@example.org").await.unwrap().unwrap().participant_id;
    assert!(app.store.participant(id).await.unwrap().unwrap().addresses[0].approximate);
}
