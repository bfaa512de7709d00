//! Alarm neighbours and the emergency button through the real server: an invitation code, the
//! neighbour agreeing, the alert reaching exactly one's alarm neighbours (push, SMS and voice as
//! they chose) through the delivery workers and the sandbox, its cancellation, ending the pair;
//! bad codes, non-members and too many presses refused with nothing stored; the alert's queue
//! priority between urgent actions and information.

use crate::common::{Backend, TestApp, link_token, sms_code};
use crate::on_both_backends;
use buurtnet_domain::action::{ActionKind, EMERGENCY_PRIORITY, Level, MessageStatus, priority};
use serde_json::{Value, json};
use std::time::Duration;

on_both_backends!(an_alert_reaches_the_alarm_neighbours_and_nobody_else, bad_codes_non_members_and_too_many_presses_are_refused,);

async fn call(app: &TestApp, method: &str, path: &str, bearer: &str, body: Option<Value>) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut r = app.client.request(m, app.at(&format!("/api/v1{path}"))).bearer_auth(bearer);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A resident: their linked device, participant id and phone number (if any).
struct Res {
    device: i64,
    token: String,
    participant: i64,
    phone: Option<String>,
    /// The participant's self-service link token.
    signin: String,
}

impl Res {
    async fn call(&self, app: &TestApp, method: &str, rest: &str, body: Option<Value>) -> (u16, Value) {
        call(app, method, &format!("/app/devices/{}{rest}", self.device), &self.token, body).await
    }

    fn push(&self) -> String {
        format!("device:{}", self.device)
    }
}

/// A participant with a home address, a confirmed e-mail address (and phone, with SMS and voice
/// for the home), and a device linked to their account; joined as `name` unless `None`.
async fn resident(app: &TestApp, email: &str, phone: Option<&str>, postcode: &str, house: &str, name: Option<&str>) -> Res {
    let channels = if phone.is_some() { json!(["sms", "voice"]) } else { json!(["email"]) };
    let mut body = json!({"email": email, "language": "nl", "age_confirmed": true, "topics": ["urgent"],
        "addresses": [{"kind": "home", "postcode": postcode, "house_number": house, "channels": channels}]});
    if let Some(p) = phone {
        body["phone"] = json!(p);
    }
    let (s, v) = app.post_json("/api/v1/participants", &body).await;
    assert_eq!(s, 202, "{v}");
    let mail = app.sandbox(email).await.into_iter().find(|m| m["body"].as_str().unwrap().contains("/bevestigen/")).unwrap();
    let token = link_token(mail["body"].as_str().unwrap(), "/bevestigen/");
    assert_eq!(app.post_json("/api/v1/participants/verify-email", &json!({"token": token})).await.0, 200);
    if let Some(p) = phone {
        let code = sms_code(app.sandbox(p).await.last().unwrap()["body"].as_str().unwrap());
        assert_eq!(app.post_json("/api/v1/participants/verify-phone", &json!({"phone": p, "code": code})).await.0, 200);
    }
    let (s, v) = app.post_json("/api/v1/devices", &json!({"location": {"postcode": postcode, "house_number": house}})).await;
    assert_eq!(s, 201, "{v}");
    let (device, device_token) = (v["id"].as_i64().unwrap(), v["token"].as_str().unwrap().to_string());
    assert_eq!(app.post_json("/api/v1/participants/self-service-link", &json!({"email": email})).await.0, 202);
    let mail = app.sandbox(email).await.into_iter().find(|m| m["body"].as_str().unwrap().contains("/mijn/")).unwrap();
    let signin = link_token(mail["body"].as_str().unwrap(), "/mijn/");
    let (s, v) = call(app, "POST", &format!("/app/devices/{device}/link"), &device_token, Some(json!({"token": signin}))).await;
    assert_eq!(s, 200, "{v}");
    let (s, me) = app.get_json(&format!("/api/v1/self-service/{signin}")).await;
    assert_eq!(s, 200, "{me}");
    let r =
        Res { device, token: device_token, participant: me["id"].as_i64().unwrap(), phone: phone.map(str::to_string), signin };
    if let Some(name) = name {
        let (s, v) = r.call(app, "POST", "/neighbourhood", Some(json!({"display_name": name, "accept_house_rules": true}))).await;
        assert_eq!(s, 201, "{v}");
    }
    r
}

/// The sandbox's messages to `recipient` whose title or body contains `word`.
async fn with_word(app: &TestApp, recipient: &str, word: &str) -> Vec<Value> {
    app.sandbox(recipient)
        .await
        .into_iter()
        .filter(|m| m["subject"].as_str().unwrap_or("").contains(word) || m["body"].as_str().unwrap_or("").contains(word))
        .collect()
}

/// Waits until `recipient` has `n` messages with `word` on `channel`, and returns them.
async fn wait_for(app: &TestApp, recipient: &str, channel: &str, word: &str, n: usize) -> Vec<Value> {
    for _ in 0..400 {
        let got: Vec<Value> = with_word(app, recipient, word).await.into_iter().filter(|m| m["channel"] == channel).collect();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{recipient} did not get {n} {channel} message(s) with {word:?}: {:?}", app.sandbox(recipient).await);
}

fn field(v: &Value) -> (&str, &str) {
    (v["fields"][0]["field"].as_str().unwrap_or(""), v["fields"][0]["code"].as_str().unwrap_or(""))
}

async fn count(app: &TestApp, table: &str) -> i64 {
    app.store.count_rows(table).await.unwrap()
}

async fn an_alert_reaches_the_alarm_neighbours_and_nobody_else(b: Backend) {
    let app = TestApp::spawn(b).await;
    let anne = resident(&app, "anne@example.org", None, "3522HG", "70", Some("Anne")).await; // Jutfaseweg
    let bram = resident(&app, "bram@example.org", Some("+31611110001"), "3522HE", "66", Some("Bram")).await; // Jutfaseweg
    // In the same street, a member with push, SMS and voice too, but not an alarm neighbour.
    let cees = resident(&app, "cees@example.org", Some("+31611110002"), "3522HG", "72", Some("Cees")).await;

    // No alarm neighbours yet; the 112 notice comes with the state.
    let (s, v) = anne.call(&app, "GET", "/alarm-neighbours", None).await;
    assert_eq!((s, v["alarm_neighbours"].clone()), (200, json!([])), "{v}");
    assert!(v["notice_112"]["nl"].as_str().unwrap().starts_with("Bel eerst 112"), "{v}");
    assert!(v["notice_112"]["en"].as_str().unwrap().starts_with("Call 112 first: this is not an emergency service"), "{v}");

    // Anne invites, Bram agrees with the code (typed in lower case with a space).
    let (s, inv) = anne.call(&app, "POST", "/alarm-neighbours/invitations", None).await;
    assert_eq!(s, 201, "{inv}");
    let code = inv["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 8, "{inv}");
    assert!(inv["expires_at"].as_str().unwrap().starts_with("2026-11-22T12:15"), "valid 15 minutes: {inv}");
    let typed = format!("{} {}", code[..4].to_lowercase(), &code[4..]);
    let (s, v) = bram.call(&app, "POST", "/alarm-neighbours", Some(json!({"code": typed}))).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["alarm_neighbours"][0]["display_name"], "Anne", "{v}");
    assert_eq!(v["alarm_neighbours"][0]["street"], "Jutfaseweg", "{v}");
    let (s, v) = anne.call(&app, "GET", "/alarm-neighbours", None).await;
    assert_eq!(s, 200, "{v}");
    let list = v["alarm_neighbours"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{v}");
    assert_eq!((list[0]["display_name"].as_str(), list[0]["street"].as_str()), (Some("Bram"), Some("Jutfaseweg")), "{v}");
    // Never a contact point, a house number or a participant id.
    let shown = v.to_string();
    for secret in ["@example.org", "+3161111", "3522", "\"66\"", "participant"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    let keys: Vec<&String> = list[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["display_name", "id", "since", "street"], "{v}");
    let pair = list[0]["id"].as_i64().unwrap();

    // The press reaches Bram at once on push, SMS and voice, with Anne's name and address.
    let (s, press) = anne.call(&app, "POST", "/emergency", None).await;
    assert_eq!(s, 202, "{press}");
    assert_eq!(press["recipients"], 1, "{press}");
    assert!(press["notice_112"]["nl"].as_str().unwrap().contains("112"), "{press}");
    let press_id = press["id"].as_i64().unwrap();
    let bram_phone = bram.phone.clone().unwrap();
    let push = wait_for(&app, &bram.push(), "push", "Noodmelding", 1).await;
    assert_eq!(push[0]["subject"], "Noodmelding van Anne", "{push:?}");
    assert!(push[0]["body"].as_str().unwrap().contains("Jutfaseweg 70"), "{push:?}");
    let sms = wait_for(&app, &bram_phone, "sms", "NOODMELDING", 1).await;
    assert!(sms[0]["body"].as_str().unwrap().contains("Anne vraagt je hulp, Jutfaseweg 70"), "{sms:?}");
    let voice = wait_for(&app, &bram_phone, "voice", "noodmelding", 1).await;
    assert!(voice[0]["body"].as_str().unwrap().contains("Uw alarmbuur Anne vraagt uw hulp, op Jutfaseweg 70"), "{voice:?}");
    // Nobody else: not Cees in the same street, not Anne herself.
    for to in [cees.push(), cees.phone.clone().unwrap(), anne.push(), "anne@example.org".into(), "cees@example.org".into()] {
        assert!(with_word(&app, &to, "Anne").await.is_empty(), "{to} got the alert");
    }
    // Its delivery rows go just after urgent actions and before exercises and information.
    let (s, list) = anne.call(&app, "GET", "/emergency", None).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!((list["presses"][0]["id"].as_i64(), &list["presses"][0]["recipients"]), (Some(press_id), &json!(1)), "{list}");
    assert!(list["notice_112"]["en"].as_str().unwrap().contains("112"), "{list}");
    let row = app.store.emergency_press(press_id, anne.participant).await.unwrap().unwrap();
    assert_eq!(app.store.delivery_priorities(row.message_id).await.unwrap(), vec![EMERGENCY_PRIORITY]);
    let urgent = priority(Some(ActionKind::Suspect), Some(Level::Local), MessageStatus::Actual);
    let exercise = priority(Some(ActionKind::GasLeak), Some(Level::National), MessageStatus::Exercise);
    let information = priority(None, None, MessageStatus::Actual);
    assert!(urgent < EMERGENCY_PRIORITY && EMERGENCY_PRIORITY < exercise && EMERGENCY_PRIORITY < information);

    // Staff never read it as an information message.
    let admin = app.staff_token("admin", "NL").await;
    let r = app.client.get(app.at(&format!("/api/v1/messages/{}", row.message_id))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);

    // A false press is cancelled: Bram gets the second message; only once.
    assert_eq!(cees.call(&app, "POST", &format!("/emergency/{press_id}/cancel"), None).await.0, 404, "not Cees's press");
    let (s, v) = anne.call(&app, "POST", &format!("/emergency/{press_id}/cancel"), None).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["cancelled_at"].is_string() && v["notice_112"]["nl"].is_string(), "{v}");
    let push = wait_for(&app, &bram.push(), "push", "Ingetrokken", 1).await;
    assert_eq!(push[0]["subject"], "Ingetrokken: noodmelding van Anne", "{push:?}");
    wait_for(&app, &bram_phone, "sms", "ingetrokken", 1).await;
    assert_eq!(anne.call(&app, "POST", &format!("/emergency/{press_id}/cancel"), None).await.0, 409);
    assert_eq!(anne.call(&app, "POST", "/emergency/999999/cancel", None).await.0, 404);
    assert!(with_word(&app, &cees.push(), "Anne").await.is_empty());
    let (_, list) = anne.call(&app, "GET", "/emergency", None).await;
    assert!(list["presses"][0]["cancelled_at"].is_string(), "{list}");

    // Either side ends it (Bram here); a later press reaches nobody.
    assert_eq!(cees.call(&app, "DELETE", &format!("/alarm-neighbours/{pair}"), None).await.0, 404, "not Cees's pair");
    assert_eq!(bram.call(&app, "DELETE", &format!("/alarm-neighbours/{pair}"), None).await.0, 204);
    assert_eq!(anne.call(&app, "DELETE", &format!("/alarm-neighbours/{pair}"), None).await.0, 404);
    let (_, v) = anne.call(&app, "GET", "/alarm-neighbours", None).await;
    assert_eq!(v["alarm_neighbours"], json!([]), "{v}");
    let before = app.sandbox(&bram.push()).await.len() + app.sandbox(&bram_phone).await.len();
    let (s, press) = anne.call(&app, "POST", "/emergency", None).await;
    assert_eq!((s, &press["recipients"]), (202, &json!(0)), "{press}");
    let row = app.store.emergency_press(press["id"].as_i64().unwrap(), anne.participant).await.unwrap().unwrap();
    assert!(app.store.delivery_priorities(row.message_id).await.unwrap().is_empty(), "no deliveries");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.sandbox(&bram.push()).await.len() + app.sandbox(&bram_phone).await.len(), before);

    let audit = app.store.audit_entries(100).await.unwrap();
    for step in ["alarm_neighbours.pair", "emergency.press", "emergency.cancel", "alarm_neighbours.end"] {
        assert!(audit.iter().any(|e| e.action == step), "{step} is audited");
    }
}

async fn bad_codes_non_members_and_too_many_presses_are_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    let anne = resident(&app, "anne@example.org", None, "3522HG", "70", Some("Anne")).await;
    let bram = resident(&app, "bram@example.org", None, "3522HE", "66", Some("Bram")).await;
    let cees = resident(&app, "cees@example.org", None, "3522HG", "72", Some("Cees")).await;
    // Dirk has a verified home and a linked device but did not join.
    let dirk = resident(&app, "dirk@example.org", None, "3522HG", "71", None).await;

    // Unknown, malformed, missing and mistyped codes, each naming `code`.
    for (body, expected) in [
        (json!({}), ("code", "required")),
        (json!({"code": "  "}), ("code", "required")),
        (json!({"code": "ZZZZZZZZ"}), ("code", "unknown_code")),
        (json!({"code": "abc"}), ("code", "unknown_code")),
        (json!({"code": 12345678}), ("code", "invalid_type")),
    ] {
        let (s, v) = bram.call(&app, "POST", "/alarm-neighbours", Some(body)).await;
        assert_eq!((s, field(&v)), (422, expected), "{v}");
    }
    // One's own code; an expired one.
    let (_, inv) = anne.call(&app, "POST", "/alarm-neighbours/invitations", None).await;
    let first = inv["code"].as_str().unwrap().to_string();
    let (s, v) = anne.call(&app, "POST", "/alarm-neighbours", Some(json!({"code": first}))).await;
    assert_eq!((s, field(&v)), (422, ("code", "own_code")), "{v}");
    app.clock.advance(chrono::Duration::minutes(16));
    let (s, v) = bram.call(&app, "POST", "/alarm-neighbours", Some(json!({"code": first}))).await;
    assert_eq!((s, field(&v)), (422, ("code", "code_expired")), "{v}");
    assert_eq!(count(&app, "alarm_neighbours").await, 0, "nothing stored");

    // Someone who is not a member cannot accept, invite, list or press.
    let (_, inv) = anne.call(&app, "POST", "/alarm-neighbours/invitations", None).await;
    let second = inv["code"].as_str().unwrap().to_string();
    let (s, v) = dirk.call(&app, "POST", "/alarm-neighbours", Some(json!({"code": second}))).await;
    assert!(s == 403 && v["message"].as_str().unwrap().contains("/neighbourhood"), "{s} {v}");
    for (method, path) in [("POST", "/alarm-neighbours/invitations"), ("GET", "/alarm-neighbours"), ("POST", "/emergency")] {
        assert_eq!(dirk.call(&app, method, path, None).await.0, 403, "{method} {path}");
    }
    assert_eq!(count(&app, "alarm_neighbours").await, 0);
    assert_eq!(count(&app, "emergency_presses").await, 0);

    // Bram uses the code; then it is used for Cees, and a new one finds them paired already.
    assert_eq!(bram.call(&app, "POST", "/alarm-neighbours", Some(json!({"code": second}))).await.0, 201);
    let (s, v) = cees.call(&app, "POST", "/alarm-neighbours", Some(json!({"code": second}))).await;
    assert_eq!((s, field(&v)), (422, ("code", "code_used")), "{v}");
    let (_, inv) = anne.call(&app, "POST", "/alarm-neighbours/invitations", None).await;
    let third = inv["code"].as_str().unwrap().to_string();
    assert_eq!(bram.call(&app, "POST", "/alarm-neighbours", Some(json!({"code": third}))).await.0, 409);
    assert_eq!(count(&app, "alarm_neighbours").await, 1, "one pair only");
    let (_, v) = cees.call(&app, "GET", "/alarm-neighbours", None).await;
    assert_eq!(v["alarm_neighbours"], json!([]), "{v}");

    // At most 3 presses an hour per participant: the fourth is a 429 saying so, not stored.
    for _ in 0..3 {
        let (s, v) = anne.call(&app, "POST", "/emergency", None).await;
        assert_eq!((s, &v["recipients"]), (202, &json!(1)), "{v}");
    }
    let r = app
        .client
        .post(app.at(&format!("/api/v1/app/devices/{}/emergency", anne.device)))
        .bearer_auth(&anne.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.headers().get("retry-after").is_some());
    let v: Value = r.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("emergency button 3 times"), "{v}");
    assert_eq!(count(&app, "emergency_presses").await, 3);
    let (_, list) = anne.call(&app, "GET", "/emergency", None).await;
    assert_eq!(list["presses"].as_array().unwrap().len(), 3, "{list}");
    // Bram's own budget is his: he can still press.
    assert_eq!(bram.call(&app, "POST", "/emergency", None).await.0, 202);
    // An hour later Anne can press again.
    app.clock.advance(chrono::Duration::minutes(61));
    assert_eq!(anne.call(&app, "POST", "/emergency", None).await.0, 202);

    // Her export holds her alarm neighbours and presses.
    let (s, me) = app.get_json(&format!("/api/v1/self-service/{}", anne.signin)).await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["neighbourhood"]["alarm_neighbours"], json!(["Bram"]), "{me}");
    assert_eq!(me["neighbourhood"]["emergency_presses"].as_array().unwrap().len(), 4, "{me}");
    // Leaving the neighbourhood ends one's alarm neighbours.
    assert_eq!(bram.call(&app, "DELETE", "/neighbourhood", None).await.0, 204);
    assert_eq!(count(&app, "alarm_neighbours").await, 0);
    // Deleting her account deletes her presses and their messages (her name and address).
    let messages = count(&app, "messages").await;
    let r = app.client.delete(app.at(&format!("/api/v1/self-service/{}", anne.signin))).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(count(&app, "emergency_presses").await, 1, "Bram's press stays");
    assert_eq!(count(&app, "messages").await, messages - 4);
    assert_eq!(count(&app, "alarm_invitations").await, 0, "hers went with her account");

    // Invitation codes go a day after they expired (the counters' pruning job).
    assert_eq!(cees.call(&app, "POST", "/alarm-neighbours/invitations", None).await.0, 201);
    app.clock.advance(chrono::Duration::hours(24));
    app.run_jobs().await;
    assert_eq!(count(&app, "alarm_invitations").await, 1, "kept a day after it expired");
    app.clock.advance(chrono::Duration::hours(1));
    app.run_jobs().await;
    assert_eq!(count(&app, "alarm_invitations").await, 0);
}
