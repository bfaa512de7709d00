//! Urgent actions and information messages end to end through the API, the fan-out, the
//! delivery workers and the sandbox providers (which record every message in the database).

use crate::common::{Backend, TestApp, oracle_index, unique};
use crate::on_both_backends;
use buurtnet_domain::quiet_hours::{QuietHours, parse_hhmm};
use buurtnet_domain::registration::{AddressDraft, AddressLocation};
use buurtnet_domain::{AddressKind, Channel, ChannelSet, Topic, TopicSet};
use buurtnet_server::services::participants::new_address;
use buurtnet_store::{NewContact, NewParticipant};
use serde_json::{Value, json};
use std::time::Duration;

/// Amersfoort, near the centre (GM0307).
pub const AMERSFOORT: (f64, f64) = (52.1561, 5.3878);
/// Utrecht (GM0344), well outside a circle around Amersfoort.
pub const UTRECHT: (f64, f64) = (52.0907, 5.1214);

pub struct Resident {
    /// The participant id.
    pub id: i64,
    pub email: String,
    pub phone: String,
    pub device: Option<i64>,
}

/// A resident with verified contacts at a point, wanting `channels` for `topics`.
pub async fn resident(
    app: &TestApp,
    at: (f64, f64),
    channels: &[Channel],
    topics: &[Topic],
    language: &str,
    quiet: Vec<QuietHours>,
) -> Resident {
    let email = format!("{}@example.org", unique("r"));
    let n: u64 = rand::random::<u64>() % 100_000_000;
    let phone = format!("+316{n:08}");
    let located = oracle_index().locate(at.0, at.1);
    let draft = AddressDraft {
        kind: AddressKind::Home,
        location: AddressLocation::Point { lat: at.0, lon: at.1 },
        channels: channels.iter().copied().collect::<ChannelSet>(),
        quiet_hours: quiet,
    };
    let address = new_address(&draft, at.0, at.1, false, &located);
    let row = NewParticipant {
        external_id: None,
        language: language.into(),
        topics: topics.iter().copied().collect::<TopicSet>().bits(),
        age_confirmed: true,
        paused: false,
        municipality_code: address.municipality_code.clone(),
        // Signed up now (by the test clock), as a resident would be.
        created_at: app.clock_ms(),
        contacts: vec![
            NewContact { kind: "email".into(), value: email.clone(), mobile: false, verified_at: Some(0) },
            NewContact { kind: "phone".into(), value: phone.clone(), mobile: true, verified_at: Some(0) },
        ],
        addresses: vec![address],
    };
    let id = app.store.insert_participants(&[row]).await.unwrap()[0];
    let device =
        if channels.contains(&Channel::Push) { Some(app.store.add_participant_device(id, 0).await.unwrap()) } else { None };
    Resident { id, email, phone, device }
}

pub async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> (u16, Value) {
    let r = app.client.post(app.at(path)).bearer_auth(token).json(body).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

pub async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    let r = app.client.get(app.at(path)).bearer_auth(token).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Waits until every message of the action has fanned out and nothing is waiting to leave.
pub async fn settle(app: &TestApp, token: &str, action: i64) -> Value {
    let mut last = Value::Null;
    for _ in 0..400 {
        let (s, v) = get(app, token, &format!("/api/v1/actions/{action}")).await;
        assert_eq!(s, 200, "{v}");
        let messages = v["messages"].as_array().cloned().unwrap_or_default();
        let busy = messages.iter().any(|m| {
            m["fanout"] != "done"
                || m["deliveries"]
                    .as_object()
                    .is_some_and(|chs| chs.values().any(|st| st.get("pending").is_some() || st.get("sending").is_some()))
        });
        if !busy && !messages.is_empty() {
            return v;
        }
        last = v;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the action did not settle: {last}");
}

fn circle(at: (f64, f64), radius_m: f64) -> Value {
    json!({"circle": {"lat": at.0, "lon": at.1, "radius_m": radius_m}})
}

/// The sandbox's messages for one recipient on one channel, oldest first.
async fn got(app: &TestApp, recipient: &str, channel: &str) -> Vec<Value> {
    app.sandbox(recipient).await.into_iter().filter(|m| m["channel"] == channel).collect()
}

on_both_backends!(an_action_reaches_everyone_once_per_message_on_their_channels, bad_actions_are_refused_by_field);

async fn an_action_reaches_everyone_once_per_message_on_their_channels(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.staff_token("dispatcher", "NL").await;
    let near = (AMERSFOORT.0 + 0.002, AMERSFOORT.1);
    let a = resident(&app, AMERSFOORT, &[Channel::Email, Channel::Sms], &[Topic::Urgent], "nl", vec![]).await;
    let b = resident(&app, near, &[Channel::Voice, Channel::Push], &[Topic::Urgent], "en", vec![]).await;
    // Wants information only; and one outside the area.
    let c = resident(&app, AMERSFOORT, &[Channel::Email], &[Topic::Information], "nl", vec![]).await;
    let d = resident(&app, UTRECHT, &[Channel::Email, Channel::Sms], &[Topic::Urgent], "nl", vec![]).await;

    let (s, v) = post(
        &app,
        &token,
        "/api/v1/actions",
        &json!({
            "kind": "missing_person", "status": "actual", "area": circle(AMERSFOORT, 2000.0),
            "title": "Man vermist bij het station", "body": "Sinds 14.00 uur wordt Kees (82) vermist.",
            "title_en": "Man missing near the station",
            "description": {"person": {"sex": "male", "age": 82, "height_cm": 178, "clothing": "een grijze jas"}},
            "callback_phone": "0900-8844",
            "consent": {"by": "dochter"}
        }),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    assert_eq!(v["state"], "draft");
    assert_eq!(
        v["preview"]["nl"]["sms"]["text"].as_str().unwrap().split(". ").next().unwrap(),
        "Vermist: Man vermist bij het station"
    );

    let (s, v) = post(&app, &token, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "active");
    let v = settle(&app, &token, id).await;
    assert_eq!(v["messages"][0]["recipients"], 4, "{v}");

    let (s, v) = post(&app, &token, &format!("/api/v1/actions/{id}/update"), &json!({"body": "Hij is gezien bij de Eem."})).await;
    assert_eq!(s, 200, "{v}");
    settle(&app, &token, id).await;
    let (s, v) =
        post(&app, &token, &format!("/api/v1/actions/{id}/close"), &json!({"outcome": "direct", "body": "Kees is gevonden."}))
            .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "closed");
    let v = settle(&app, &token, id).await;
    for m in v["messages"].as_array().unwrap() {
        assert_eq!(m["recipients"], 4, "every message goes to the same four deliveries: {v}");
    }
    assert_eq!(v["deliveries"]["email"]["sent"], 3, "{v}");
    assert_eq!(v["deliveries"]["push"]["sent"], 3, "{v}");

    // A: e-mail and SMS, in Dutch: start, update, closing — once each.
    let mails = got(&app, &a.email, "email").await;
    assert_eq!(mails.len(), 3, "{mails:?}");
    assert_eq!(mails[0]["subject"], "Vermist: Man vermist bij het station");
    assert!(mails[0]["body"].as_str().unwrap().contains("man, 82 jaar, 1,78 m, draagt een grijze jas"));
    assert!(mails[1]["subject"].as_str().unwrap().starts_with("Update vermist"));
    assert!(mails[2]["body"].as_str().unwrap().contains("Kees is gevonden. Dankzij uw tips"));
    let sms = got(&app, &a.phone, "sms").await;
    assert_eq!(sms.len(), 3);
    assert!(sms[0]["body"].as_str().unwrap().contains("Bel direct 112 of 0900-8844"));
    // B: voice and push, in English.
    let calls = got(&app, &b.phone, "voice").await;
    assert_eq!(calls.len(), 3);
    assert!(
        calls[0]["body"].as_str().unwrap().contains("This is a message from buurtnet. Missing: Man missing near the station")
    );
    let pushes = got(&app, &format!("device:{}", b.device.unwrap()), "push").await;
    assert_eq!(pushes.len(), 3);
    assert!(got(&app, &b.phone, "sms").await.is_empty(), "B did not ask for SMS");
    // C wants no urgent messages, D lives outside the area.
    assert!(app.sandbox(&c.email).await.is_empty());
    assert!(app.sandbox(&d.email).await.is_empty() && app.sandbox(&d.phone).await.is_empty());

    // A closed action sends nothing more.
    let (s, v) = post(&app, &token, &format!("/api/v1/actions/{id}/update"), &json!({"body": "x"})).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["fields"][0]["field"], "state");
    let (s, v) = get(&app, &token, "/api/v1/actions?state=open").await;
    assert_eq!(s, 200);
    assert!(v["actions"].as_array().unwrap().iter().all(|x| x["id"] != id));
    let audit = app.store.audit_entries(50).await.unwrap();
    for step in ["action.create", "action.send", "action.update", "action.close"] {
        assert!(audit.iter().any(|e| e.action == step), "{step} is audited");
    }
}

async fn bad_actions_are_refused_by_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.staff_token("dispatcher", "GM0307").await;
    let ok = json!({"kind": "suspect", "status": "actual", "area": circle(AMERSFOORT, 1000.0), "title": "Inbreker", "body": "Man met rugtas."});
    let field = |v: &Value| {
        v["fields"]
            .as_array()
            .map(|f| f.iter().map(|x| x["field"].as_str().unwrap().to_string()).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    for (change, expect) in [
        (json!({"kind": "fire"}), "kind"),
        (json!({"status": "maybe"}), "status"),
        (json!({"body": "x".repeat(1001)}), "body"),
        // 300 emoji fit the 1,000 characters but not 8 SMS parts (UCS-2): never cut, refused.
        (json!({"body": "🚨".repeat(300)}), "body"),
        (json!({"title": ""}), "title"),
        (json!({"area": {"areas": ["GM0344"]}}), "area"),
        (json!({"area": circle(UTRECHT, 500.0)}), "area"),
        (json!({"level": "national"}), "level"),
        (json!({"description": {"person": {"eyes": "blue"}}}), "description"),
    ] {
        let mut body = ok.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, v) = post(&app, &token, "/api/v1/actions", &body).await;
        assert_eq!(s, 422, "{change}: {v}");
        assert!(field(&v).iter().any(|f| f == expect), "{change}: {v}");
    }
    // Only dispatchers.
    let officer = app.staff_token("municipality-officer", "GM0307").await;
    let (s, _) = post(&app, &officer, "/api/v1/actions", &ok).await;
    assert_eq!(s, 403);
    // A missing person is not sent without the family's consent.
    let mut missing = ok.clone();
    missing["kind"] = json!("runaway_child");
    let (s, v) = post(&app, &token, "/api/v1/actions", &missing).await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (s, v) = post(&app, &token, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
    assert_eq!(s, 422);
    assert_eq!(field(&v), vec!["consent"]);
    let (s, v) = post(
        &app,
        &token,
        &format!("/api/v1/actions/{id}/send"),
        &json!({"consent": {"by": "moeder", "at": "2026-11-22T11:50:00Z"}}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["consent"]["by"], "moeder");
    // Closing needs a known outcome; a sent action cannot be sent again.
    let (s, v) = post(&app, &token, &format!("/api/v1/actions/{id}/close"), &json!({"outcome": "found"})).await;
    assert_eq!((s, field(&v)), (422, vec!["outcome".to_string()]));
    let (s, _) = post(&app, &token, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
    assert_eq!(s, 422);
    // Others' actions are not found; nonsense ids neither.
    let other = app.staff_token("dispatcher", "GM0344").await;
    assert_eq!(get(&app, &other, &format!("/api/v1/actions/{id}")).await.0, 404);
    assert_eq!(get(&app, &token, "/api/v1/actions/abc").await.0, 404);
    assert_eq!(get(&app, &token, "/api/v1/actions?state=weird").await.0, 422);
}

on_both_backends!(a_repeated_request_with_the_same_idempotency_key_sends_once);

async fn a_repeated_request_with_the_same_idempotency_key_sends_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.staff_token("dispatcher", "NL").await;
    let a = resident(&app, AMERSFOORT, &[Channel::Sms], &[Topic::Urgent], "nl", vec![]).await;
    let body = json!({"kind": "vehicle", "status": "exercise", "area": circle(AMERSFOORT, 500.0), "title": "Auto gezocht", "body": "Na een overval.",
                      "description": {"vehicle": {"make": "Volkswagen", "colour": "zwart", "plate": "12-ABC-3"}}});
    let create = |key: &'static str, body: Value| {
        let app = &app;
        let token = token.clone();
        async move {
            let r = app
                .client
                .post(app.at("/api/v1/actions"))
                .bearer_auth(&token)
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.headers().get("idempotent-replayed").is_some(), r.json::<Value>().await.unwrap())
        }
    };
    let (s1, replayed1, v1) = create("create-1", body.clone()).await;
    let (s2, replayed2, v2) = create("create-1", body.clone()).await;
    assert_eq!((s1, s2, replayed1, replayed2), (201, 201, false, true));
    assert_eq!(v1["id"], v2["id"]);
    let mut other = body.clone();
    other["title"] = json!("Iets anders");
    let (s3, _, v3) = create("create-1", other).await;
    assert_eq!(s3, 422, "{v3}");
    let id = v1["id"].as_i64().unwrap();
    for _ in 0..3 {
        let r = app
            .client
            .post(app.at(&format!("/api/v1/actions/{id}/send")))
            .bearer_auth(&token)
            .header("Idempotency-Key", "send-1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }
    let v = settle(&app, &token, id).await;
    assert_eq!(v["messages"].as_array().unwrap().len(), 1, "{v}");
    let sms = got(&app, &a.phone, "sms").await;
    assert_eq!(sms.len(), 1);
    assert!(sms[0]["body"].as_str().unwrap().starts_with("OEFENING - Gezocht voertuig: Auto gezocht"), "{sms:?}");
    assert!(sms[0]["body"].as_str().unwrap().contains("Voertuig: Volkswagen, zwart, kenteken 12-ABC-3."));
}

on_both_backends!(quiet_hours_delay_information_but_not_alarms, information_waits_for_its_send_time_and_stays_in_scope);

async fn quiet_hours_delay_information_but_not_alarms(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // 12:00 UTC is 13:00 in Amsterdam: quiet from 12:00 to 14:00 local on e-mail.
    let quiet =
        vec![QuietHours { channels: vec![Channel::Email], from: parse_hhmm("12:00").unwrap(), to: parse_hhmm("14:00").unwrap() }];
    let a = resident(&app, AMERSFOORT, &[Channel::Email], &[Topic::Urgent, Topic::Information], "nl", quiet).await;
    let dispatcher = app.staff_token("dispatcher", "NL").await;
    let officer = app.staff_token("municipality-officer", "GM0307").await;
    let (s, v) = post(
        &app,
        &officer,
        "/api/v1/messages",
        &json!({"area": {"areas": ["GM0307"]}, "title": "Wegafsluiting", "body": "De Stadsring is dicht."}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let info = v["id"].as_i64().unwrap();
    let (s, v) = post(&app, &dispatcher, "/api/v1/actions", &json!({"kind": "gas_leak", "status": "actual", "area": circle(AMERSFOORT, 800.0), "title": "Gaslek", "body": "Sluit ramen en deuren."})).await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    post(&app, &dispatcher, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
    settle(&app, &dispatcher, id).await;
    let mails = got(&app, &a.email, "email").await;
    assert_eq!(mails.len(), 1, "only the alarm passes quiet hours: {mails:?}");
    assert!(mails[0]["subject"].as_str().unwrap().starts_with("Gaslek"));
    let (s, v) = get(&app, &officer, &format!("/api/v1/messages/{info}")).await;
    assert_eq!(s, 200);
    assert_eq!(v["fanout"], "done", "{v}");
    assert_eq!(v["recipients"], 0, "{v}");
    // Not dropped: when the quiet hours end (14:00 local), the information goes out.
    app.clock.advance(chrono::Duration::minutes(50));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(got(&app, &a.email, "email").await.len(), 1, "still quiet at 13:50");
    app.clock.advance(chrono::Duration::minutes(12));
    let mut mails = Vec::new();
    for _ in 0..200 {
        mails = got(&app, &a.email, "email").await;
        if mails.len() > 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(mails.len(), 2, "the information after the quiet hours: {mails:?}");
    assert_eq!(mails[1]["subject"], "Wegafsluiting");
    // The fan-out records its count just after the worker may already have sent the mail.
    let mut v = Value::Null;
    for _ in 0..200 {
        v = get(&app, &officer, &format!("/api/v1/messages/{info}")).await.1;
        if v["recipients"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(v["recipients"], 1, "{v}");
    // Once, however long it stays valid.
    app.clock.advance(chrono::Duration::hours(25));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(got(&app, &a.email, "email").await.len(), 2);
}

async fn information_waits_for_its_send_time_and_stays_in_scope(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = resident(&app, AMERSFOORT, &[Channel::Email, Channel::Sms, Channel::Push], &[Topic::Information], "en", vec![]).await;
    let officer = app.staff_token("municipality-officer", "GM0307").await;
    let (s, v) =
        post(&app, &officer, "/api/v1/messages", &json!({"area": {"areas": ["GM0344"]}, "title": "x", "body": "y"})).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["fields"][0]["field"], "area");
    let (s, v) = post(
        &app,
        &officer,
        "/api/v1/messages",
        &json!({"area": {"areas": ["GM0307"]}, "title": "x", "body": "y", "send_at": "2020-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!((s, v["fields"][0]["field"].as_str()), (422, Some("send_at")));
    let (s, v) = post(
        &app,
        &officer,
        "/api/v1/messages",
        &json!({"area": {"areas": ["GM0307"]}, "title": "Nieuwsbrief", "body": "Tips tegen inbraak.", "title_en": "Newsletter", "body_en": "Tips against burglary.", "send_at": "2026-11-22T15:00:00+01:00"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(app.sandbox(&a.email).await.is_empty(), "not before its time");
    app.clock.advance(chrono::Duration::hours(2));
    for _ in 0..200 {
        if !got(&app, &a.email, "email").await.is_empty()
            && !got(&app, &format!("device:{}", a.device.unwrap()), "push").await.is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let mails = got(&app, &a.email, "email").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["subject"], "Newsletter");
    assert_eq!(got(&app, &format!("device:{}", a.device.unwrap()), "push").await.len(), 1);
    assert!(got(&app, &a.phone, "sms").await.is_empty(), "information never goes by SMS");
    let (_, v) = get(&app, &officer, &format!("/api/v1/messages/{id}")).await;
    assert_eq!(v["recipients"], 2, "{v}");
    // Another municipality's officer does not see it.
    let other = app.staff_token("municipality-officer", "GM0344").await;
    assert_eq!(get(&app, &other, &format!("/api/v1/messages/{id}")).await.0, 404);
}

on_both_backends!(every_alerting_route_refuses_strangers_and_other_scopes);

/// Without a token every staff route of alerting answers 401; a dispatcher of another
/// municipality finds nothing (404) and can change nothing; roles that may not act get 403;
/// public routes answer 4xx in our error shape to nonsense and store nothing.
async fn every_alerting_route_refuses_strangers_and_other_scopes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let own = app.staff_token("dispatcher", "GM0307").await;
    let other = app.staff_token("dispatcher", "GM0344").await;
    let officer = app.staff_token("municipality-officer", "GM0307").await;
    let (s, v) = post(
        &app,
        &own,
        "/api/v1/actions",
        &json!({"kind": "suspect", "status": "test", "area": circle(AMERSFOORT, 500.0), "title": "x", "body": "y"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (s, v) = post(
        &app,
        &officer,
        "/api/v1/messages",
        &json!({"area": {"areas": ["GM0307"]}, "title": "x", "body": "y", "send_at": "2026-12-01T09:00:00+01:00"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let message = v["id"].as_i64().unwrap();
    let staff_posts = [
        "/api/v1/actions".to_string(),
        format!("/api/v1/actions/{id}/approve"),
        format!("/api/v1/actions/{id}/send"),
        format!("/api/v1/actions/{id}/update"),
        format!("/api/v1/actions/{id}/close"),
        format!("/api/v1/actions/{id}/cancel"),
        format!("/api/v1/actions/{id}/photos"),
        "/api/v1/messages".to_string(),
        "/api/v1/deliveries/1/retry".to_string(),
        format!("/api/v1/messages/{message}/retry-dead"),
    ];
    let staff_gets = [
        "/api/v1/actions".to_string(),
        format!("/api/v1/actions/{id}"),
        "/api/v1/actions/live".to_string(),
        format!("/api/v1/messages/{message}"),
        "/api/v1/deliveries/dead".to_string(),
    ];
    for path in &staff_posts {
        let r = app.client.post(app.at(path)).json(&json!({})).send().await.unwrap();
        assert_eq!(r.status(), 401, "POST {path} without a token");
        let v: Value = r.json().await.unwrap();
        assert!(v["error"].is_string() && v["message"].is_string(), "{path}: {v}");
    }
    for path in &staff_gets {
        assert_eq!(app.client.get(app.at(path)).send().await.unwrap().status(), 401, "GET {path} without a token");
    }
    // Another municipality's dispatcher: the action does not exist for them, in every step.
    for step in ["approve", "send", "update", "close", "cancel"] {
        let (s, v) =
            post(&app, &other, &format!("/api/v1/actions/{id}/{step}"), &json!({"body": "x", "outcome": "none", "version": 1}))
                .await;
        assert_eq!(s, 404, "{step}: {v}");
        assert!(!v.to_string().contains("GM0307"), "nothing of the other scope: {v}");
    }
    let r = app
        .client
        .post(app.at(&format!("/api/v1/actions/{id}/photos")))
        .bearer_auth(&other)
        .header("content-type", "image/png")
        .body(vec![1u8, 2, 3])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let (_, list) = get(&app, &other, "/api/v1/actions").await;
    assert_eq!(list["actions"].as_array().unwrap().len(), 0, "{list}");
    assert_eq!(
        get(&app, &other, &format!("/api/v1/messages/{message}")).await.0,
        403,
        "dispatchers do not read information messages"
    );
    let other_officer = app.staff_token("municipality-officer", "GM0344").await;
    assert_eq!(get(&app, &other_officer, &format!("/api/v1/messages/{message}")).await.0, 404);
    // Roles that may not act.
    assert_eq!(post(&app, &officer, &format!("/api/v1/actions/{id}/send"), &json!({})).await.0, 403);
    assert_eq!(get(&app, &own, "/api/v1/deliveries/dead").await.0, 403);
    let local_admin = app.staff_token("admin", "GM0307").await;
    assert_eq!(get(&app, &local_admin, "/api/v1/deliveries/dead").await.0, 403, "dead letters span every municipality");
    // The action is untouched by all of the above.
    let (_, v) = get(&app, &own, &format!("/api/v1/actions/{id}")).await;
    assert_eq!((v["state"].as_str(), v["messages"].as_array().map(Vec::len)), (Some("draft"), Some(0)));
    // Public routes: nonsense gets a 4xx in our shape.
    for path in ["/api/v1/live", "/api/v1/live?lat=1&lon=1", "/api/v1/live?lat=x&lon=5"] {
        let r = app.client.get(app.at(path)).send().await.unwrap();
        assert_eq!(r.status(), 400, "{path}");
        assert!(r.json::<Value>().await.unwrap()["error"].is_string());
    }
    for name in ["x.jpg", "../secrets.json", "00000000000000000000000000000000.jpg"] {
        assert_eq!(app.client.get(app.at(&format!("/media/{name}"))).send().await.unwrap().status(), 404, "{name}");
    }
    // Without a configured secret the report webhook does not exist.
    assert_eq!(app.client.post(app.at("/api/v1/providers/sms/reports")).body("{}").send().await.unwrap().status(), 404);
}

on_both_backends!(a_staff_token_is_rate_limited_on_its_own);

/// One staff account calling too often gets 429 with `Retry-After`; another account does not
/// notice, and the limit lifts with the next window.
async fn a_staff_token_is_rate_limited_on_its_own(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.abuse_limits.staff_api = buurtnet_server::config::Limit { per_ip: 0, per_target: 5, window_seconds: 60 };
    })
    .await;
    let busy = app.staff_token("dispatcher", "NL").await;
    let calm = app.staff_token("dispatcher", "NL").await;
    for _ in 0..5 {
        assert_eq!(get(&app, &busy, "/api/v1/actions?state=open").await.0, 200);
    }
    let r = app.client.get(app.at("/api/v1/actions?state=open")).bearer_auth(&busy).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let v: Value = r.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("Too many requests"), "{v}");
    assert_eq!(get(&app, &calm, "/api/v1/actions?state=open").await.0, 200, "another account is not limited");
    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(get(&app, &busy, "/api/v1/actions?state=open").await.0, 200, "the next window");
}
