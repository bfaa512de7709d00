//! No personal data in logs: every log line the test servers of this process wrote (one
//! capturing subscriber for the whole run, see `common::captured_logs`) is scanned for phone
//! numbers, e-mail addresses and postcodes, after a run through the paths that handle them with
//! the national geocoder failing (its request URL holds the postcode and house number).

use crate::common::{Backend, TestApp, captured_logs, link_token};
use serde_json::json;

/// A PDOK Locatieserver that always fails (its outage is logged).
async fn failing_pdok() -> String {
    let router = axum::Router::new()
        .route("/free", axum::routing::get(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "PDOK is down") }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

fn is_local(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"._%+-".contains(&c)
}

/// E-mail addresses in a line (`local@domain.tld`, the top-level domain in letters).
fn emails(line: &str) -> Vec<String> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    for (i, _) in line.match_indices('@') {
        let start = (0..i).rev().take_while(|&j| is_local(b[j])).last();
        let end = (i + 1..b.len()).take_while(|&j| b[j].is_ascii_alphanumeric() || b".-".contains(&b[j])).last();
        if let (Some(s), Some(e)) = (start, end) {
            let domain = line[i + 1..=e].trim_end_matches('.');
            let tld = domain.rsplit('.').next().unwrap_or_default();
            if domain.contains('.') && tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic()) {
                out.push(line[s..=e].to_string());
            }
        }
    }
    out
}

/// Dutch phone numbers in a line: `+31` or `0031` or (URL-encoded) `%2B31` and nine digits, or
/// a mobile `06` and eight digits standing alone.
fn phones(line: &str) -> Vec<String> {
    let digits_after = |at: usize, n: usize| line.as_bytes().get(at..at + n).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let mut out = Vec::new();
    for prefix in ["+31", "0031", "%2B31"] {
        for (i, _) in line.match_indices(prefix) {
            if digits_after(i + prefix.len(), 9) {
                out.push(line[i..i + prefix.len() + 9].to_string());
            }
        }
    }
    let b = line.as_bytes();
    for (i, _) in line.match_indices("06") {
        let alone_before = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        let alone_after = b.get(i + 10).is_none_or(|c| !c.is_ascii_alphanumeric());
        if alone_before && alone_after && digits_after(i + 2, 8) {
            out.push(line[i..i + 10].to_string());
        }
    }
    out
}

/// Dutch postcodes in a line: four digits (not starting with 0), an optional space, two
/// capitals, standing alone (so `2026 UTC` is none).
fn postcodes(line: &str) -> Vec<String> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    for i in 0..b.len() {
        // After a separator, or an URL-encoded `:` (`postcode%3A3811AB`).
        let after_colon = i >= 3 && &b[i - 3..i] == b"%3A";
        if i > 0 && b[i - 1].is_ascii_alphanumeric() && !after_colon {
            continue;
        }
        let Some(d) = b.get(i..i + 4) else { break };
        if !(d.iter().all(u8::is_ascii_digit) && d[0] != b'0') {
            continue;
        }
        let mut j = i + 4;
        if b.get(j) == Some(&b' ') || b.get(j) == Some(&b'+') {
            j += 1;
        }
        let letters = b.get(j..j + 2).is_some_and(|l| l.iter().all(u8::is_ascii_uppercase));
        if letters && b.get(j + 2).is_none_or(|c| !c.is_ascii_alphanumeric()) {
            out.push(line[i..j + 2].to_string());
        }
    }
    out
}

#[test]
fn the_scanners_find_what_they_look_for() {
    assert_eq!(emails("to=an.owner+x@example.org done"), ["an.owner+x@example.org"]);
    assert!(emails("mailto:webpush@localhost, version 1.2@3").is_empty());
    assert_eq!(phones("q=%2B31612345678 and +31 6 and 0612345678."), ["%2B31612345678", "0612345678"]);
    assert!(phones("id=1706123456789").is_empty());
    assert_eq!(postcodes("q=postcode%3A3811AB+and postcode 3522 HG."), ["3811AB", "3522 HG"]);
    assert!(postcodes("at 2026 UTC, 15000 MB, 0123 AB, 3811ABC").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_line_holds_a_phone_an_email_or_an_address() {
    let pdok = failing_pdok().await;
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.geocoder.kind = "pdok".into();
        c.geocoder.pdok_url = pdok;
    })
    .await;
    let (email, phone) = ("logscan.owner@example.org", "+31687654321");
    // Sign-up with a home address by postcode (PDOK fails: the offline table answers).
    let body = json!({"email": email, "phone": phone, "language": "nl", "age_confirmed": true, "topics": ["urgent"],
        "addresses": [{"kind": "home", "postcode": "3811 AB", "house_number": "12", "channels": ["email", "sms"]}]});
    assert_eq!(app.post_json("/api/v1/participants", &body).await.0, 202);
    // Known again, wrong codes, a link, a bad link.
    assert_eq!(app.post_json("/api/v1/participants", &body).await.0, 202);
    app.post_json("/api/v1/participants/verify-phone", &json!({"phone": phone, "code": "000000"})).await;
    app.post_json("/api/v1/participants/resend-code", &json!({"phone": phone})).await;
    app.post_json("/api/v1/participants/self-service-link", &json!({"email": email})).await;
    let mail = app.sandbox(email).await.into_iter().rev().find(|m| m["body"].as_str().unwrap().contains("/mijn/")).unwrap();
    let token = link_token(mail["body"].as_str().unwrap(), "/mijn/");
    assert_eq!(app.get_json(&format!("/api/v1/self-service/{token}")).await.0, 200);
    app.get_json("/api/v1/self-service/not-a-token").await;
    // A device placed by postcode, moved by postcode, linked to the account.
    let (s, v) = app
        .post_json("/api/v1/devices", &json!({"location": {"postcode": "3811 AB", "house_number": "12"}, "language": "nl"}))
        .await;
    assert_eq!(s, 201, "{v}");
    let (id, device_token) = (v["id"].as_i64().unwrap(), v["token"].as_str().unwrap().to_string());
    let r = app
        .client
        .patch(app.at(&format!("/api/v1/devices/{id}")))
        .bearer_auth(&device_token)
        .json(&json!({"location": {"postcode": "3522 HG", "house_number": "70"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .client
        .post(app.at(&format!("/api/v1/app/devices/{id}/link")))
        .bearer_auth(&device_token)
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Sign-up through the page with a mistake in it.
    app.client
        .post(app.at("/aanmelden"))
        .form(&[("email", "page.signup@example.org"), ("phone", "0611223344"), ("postcode", "9999 ZZ")])
        .send()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let logs = captured_logs();
    assert!(logs.contains("PDOK Locatieserver lookup failed"), "the outage was logged (the scan saw the lines)");
    let mut found = Vec::new();
    for line in logs.lines() {
        for hit in emails(line).into_iter().chain(phones(line)).chain(postcodes(line)) {
            found.push(format!("{hit}  in: {line}"));
        }
        for needle in ["huisnummer", "3811AB", "3811+AB", "87654321", "logscan.owner"] {
            if line.contains(needle) {
                found.push(format!("{needle}  in: {line}"));
            }
        }
    }
    assert!(found.is_empty(), "personal data in the logs:\n{}", found.join("\n"));
}
