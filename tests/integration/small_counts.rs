//! Counts that would single out a household: dispatchers and admins see exact counts, every
//! other role that may count sees a count under 5 as "< 5" (issue #19, finding 12).

use crate::common::{Backend, TestApp};
use crate::on_both_backends;
use serde_json::{Value, json};

on_both_backends!(small_counts_are_shown_as_fewer_than_five_to_municipality_officers);

async fn register_verified(app: &TestApp, email: &str, lat: f64, lon: f64) {
    let body = json!({"email": email, "age_confirmed": true, "topics": ["urgent"],
        "addresses": [{"lat": lat, "lon": lon, "channels": ["email"]}]});
    assert_eq!(app.post_json("/api/v1/participants", &body).await.0, 202);
    let contact = app.store.contact("email", email).await.unwrap().unwrap();
    app.store.mark_contact_verified(contact.id, 1).await.unwrap();
}

async fn count(app: &TestApp, token: &str, radius_m: u32) -> Value {
    crate::hardening::count(app, token, json!({"circle": {"lat": 52.1561, "lon": 5.3878, "radius_m": radius_m}})).await
}

async fn small_counts_are_shown_as_fewer_than_five_to_municipality_officers(b: Backend) {
    let app = TestApp::spawn(b).await;
    // One household at the centre of Amersfoort, five more people 300 m away.
    register_verified(&app, "one@example.org", 52.1561, 5.3878).await;
    for i in 0..5 {
        register_verified(&app, &format!("more{i}@example.org"), 52.1588, 5.3878 + f64::from(i) * 0.0001).await;
    }
    let dispatcher = app.staff_token("dispatcher", "NL").await;
    let admin = app.staff_token("admin", "NL").await;
    let officer = app.staff_token("municipality-officer", "GM0307").await;

    for token in [&dispatcher, &admin] {
        let c = count(&app, token, 25).await;
        assert_eq!(c["people"], json!(1), "exact for dispatchers and admins: {c}");
        assert_eq!(c["by_channel"]["email"], json!(1), "{c}");
    }
    let c = count(&app, &officer, 25).await;
    assert_eq!(c["people"], json!("< 5"), "a household is not singled out: {c}");
    assert_eq!(c["addresses"], json!("< 5"), "{c}");
    assert_eq!(c["by_channel"]["email"], json!("< 5"), "{c}");
    assert_eq!(c["by_channel"]["sms"], json!("< 5"), "zero is under five too: {c}");
    assert!(c["by_area"].as_array().unwrap().iter().all(|a| a["people"] == json!("< 5")), "{c}");
    assert!(!c.to_string().contains("\"people\":1"), "{c}");

    // Five or more are shown as they are.
    let c = count(&app, &officer, 600).await;
    assert_eq!(c["people"], json!(6), "{c}");
    assert_eq!(c["by_channel"]["email"], json!(6), "{c}");
}
