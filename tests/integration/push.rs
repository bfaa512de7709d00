//! Web Push: device registration over the API, and sending through the Web Push provider to a
//! fake push service on loopback, whose recorded request is decrypted with the subscription's
//! private key and whose VAPID token is verified against the served public key.

use crate::common::{Backend, TestApp};
use crate::on_both_backends;
use crate::webpush_decrypt::decrypt;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use buurtnet_delivery::provider::{Content, Destination, Outcome, Outgoing, Provider, Urgency};
use buurtnet_delivery::{PushAllowList, WebPush};
use buurtnet_domain::Channel;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand::Rng;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

pub type Log = Arc<Mutex<Vec<Recorded>>>;

/// A push service on 127.0.0.1: `POST /push/{kind}` records the request and answers by kind
/// (`ok…` 201 with `Location`, `gone` 410, `busy` 429 with `Retry-After: 120`, `later` 503 with
/// an HTTP-date `Retry-After` five minutes after the test clock's start, `broken` 500, `slow`
/// 201 after three seconds, anything else 400).
pub async fn fake_push_service() -> (u16, Log) {
    let log: Log = Arc::default();
    let recorder = log.clone();
    let app = axum::Router::new().route(
        "/push/{kind}",
        axum::routing::post(move |Path(kind): Path<String>, headers: HeaderMap, body: Bytes| {
            let log = recorder.clone();
            async move {
                log.lock().unwrap().push(Recorded { path: format!("/push/{kind}"), headers, body: body.to_vec() });
                match kind.as_str() {
                    k if k.starts_with("ok") => (StatusCode::CREATED, [("location", "/messages/m-1")]).into_response(),
                    "gone" => StatusCode::GONE.into_response(),
                    "busy" => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "120")]).into_response(),
                    "later" => {
                        (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "Sun, 22 Nov 2026 12:05:00 GMT")]).into_response()
                    }
                    "broken" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                    "slow" => {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                        StatusCode::CREATED.into_response()
                    }
                    _ => StatusCode::BAD_REQUEST.into_response(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, log)
}

/// A browser's subscription keys: private key, p256dh and auth (base64url).
pub fn browser_keys() -> (p256::SecretKey, String, [u8; 16]) {
    let secret = loop {
        let mut bytes = [0u8; 32];
        rand::rng().fill(&mut bytes);
        if let Ok(k) = p256::SecretKey::from_slice(&bytes) {
            break k;
        }
    };
    let p256dh = B64.encode(secret.public_key().to_encoded_point(false).as_bytes());
    let mut auth = [0u8; 16];
    rand::rng().fill(&mut auth);
    (secret, p256dh, auth)
}

pub fn subscription(endpoint: &str, p256dh: &str, auth: &str) -> Value {
    json!({"endpoint": endpoint, "expirationTime": null, "keys": {"p256dh": p256dh, "auth": auth}})
}

/// The fields a 422 names.
fn fields(v: &Value) -> Vec<String> {
    v["fields"].as_array().map(|a| a.iter().filter_map(|f| f["field"].as_str().map(str::to_string)).collect()).unwrap_or_default()
}

async fn spawn(backend: Backend, port: u16) -> TestApp {
    TestApp::spawn_with(backend, |c| c.push.allowed_hosts = Some(vec![format!("127.0.0.1:{port}")])).await
}

fn outgoing(to: Destination) -> Outgoing {
    let payload =
        json!({"title": "Vermiste persoon", "body": "Kijkt u uit naar een man van 82 in Amersfoort-Centrum.", "tag": "a7"});
    Outgoing {
        delivery_id: 42,
        reference: "bn42".into(),
        thread: "a7".into(),
        channel: Channel::Push,
        to,
        language: "nl".into(),
        content: Content {
            title: "Vermiste persoon".into(),
            text: "Kijkt u uit naar een man van 82 in Amersfoort-Centrum.".into(),
            push_payload: Some(payload.to_string()),
            ..Content::default()
        },
        urgency: Urgency::Alarm,
        time_to_live: Duration::from_secs(3600),
    }
}

fn header<'a>(r: &'a Recorded, name: &str) -> &'a str {
    r.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name} header"))
}

/// Checks the VAPID `Authorization` header: `k` is the served key, the ES256 signature
/// verifies with it, `aud` is the endpoint's origin, `exp` within 24 hours of `now` (seconds).
fn check_vapid(authorization: &str, public_key: &str, audience: &str, subject: &str, now: i64) {
    let rest = authorization.strip_prefix("vapid ").unwrap_or_else(|| panic!("not a vapid header: {authorization}"));
    let mut t = None;
    let mut k = None;
    for part in rest.split(',').map(str::trim) {
        if let Some(v) = part.strip_prefix("t=") {
            t = Some(v);
        } else if let Some(v) = part.strip_prefix("k=") {
            k = Some(v);
        }
    }
    let (t, k) = (t.expect("t="), k.expect("k="));
    assert_eq!(k, public_key, "the header names the key browsers subscribed with");
    let parts: Vec<&str> = t.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWS in compact form");
    let jwt_header: Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(jwt_header["alg"], "ES256");
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&B64.decode(public_key).unwrap()).unwrap();
    let signature = p256::ecdsa::Signature::from_slice(&B64.decode(parts[2]).unwrap()).unwrap();
    use p256::ecdsa::signature::Verifier;
    key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature).expect("the VAPID signature verifies");
    let claims: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["aud"], audience);
    assert_eq!(claims["sub"], subject);
    let exp = claims["exp"].as_i64().unwrap();
    assert!(exp > now && exp <= now + 24 * 3600, "exp {exp} within 24 hours of {now}");
}

async fn register(app: &TestApp, body: &Value) -> (u16, Value) {
    app.post_json("/api/v1/devices", body).await
}

async fn send_json(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut req = app.client.request(method, app.at(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn push_is_delivered_encrypted_and_signed(backend: Backend) {
    let (port, log) = fake_push_service().await;
    let app = spawn(backend, port).await;
    let (s, key) = app.get_json("/api/v1/push/public-key").await;
    assert_eq!(s, 200);
    let public_key = key["public_key"].as_str().unwrap().to_string();
    let raw = B64.decode(&public_key).unwrap();
    assert_eq!((raw.len(), raw[0]), (65, 4), "an uncompressed P-256 point");

    let (secret, p256dh, auth) = browser_keys();
    let endpoint = format!("http://127.0.0.1:{port}/push/ok-1");
    let (s, v) = register(
        &app,
        &json!({"subscription": subscription(&endpoint, &p256dh, &B64.encode(auth)),
                "location": {"lat": 52.1561, "lon": 5.3878}, "topics": ["urgent", "enquiry"], "language": "en"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let token = v["token"].as_str().unwrap();
    assert!(B64.decode(token).unwrap().len() >= 16, "a token of at least 128 bits");

    let device = app.store.device(id).await.unwrap().unwrap();
    assert_eq!(device.participant_id, None);
    assert_eq!((device.language.as_str(), device.topics), ("en", 3));
    assert_eq!(device.cell, Some(buurtnet_domain::cell::cell_id(52.1561, 5.3878)));
    let raw_token_stored: i64 = app.store.device_by_token_hash(token).await.unwrap().map_or(0, |_| 1);
    assert_eq!(raw_token_stored, 0, "the token itself is not what is stored");

    // Send to the registered subscription, read back from the database as the worker does.
    let (e, k, a) = app.store.device_push_subscription(id).await.unwrap().unwrap();
    let provider: WebPush = buurtnet_server::push::web_push_provider(&app.state).unwrap();
    assert_eq!(provider.name(), "webpush");
    let outcome = provider.send(&outgoing(Destination::Push { endpoint: e, p256dh: k, auth: a })).await;
    assert_eq!(outcome, Outcome::Accepted { provider_id: Some("/messages/m-1".into()) });

    let recorded = log.lock().unwrap().last().cloned().unwrap();
    assert_eq!(recorded.path, "/push/ok-1");
    assert_eq!(header(&recorded, "ttl"), "3600");
    assert_eq!(header(&recorded, "urgency"), "high");
    assert_eq!(header(&recorded, "topic"), "bn42");
    assert_eq!(header(&recorded, "content-encoding"), "aes128gcm");
    assert_eq!(header(&recorded, "content-type"), "application/octet-stream");
    check_vapid(
        header(&recorded, "authorization"),
        &public_key,
        &format!("http://127.0.0.1:{port}"),
        "mailto:webpush@127.0.0.1",
        app.clock_ms() / 1000,
    );
    assert!(recorded.body.len() <= 4096);
    let plain = decrypt(&recorded.body, &secret, &auth).unwrap();
    let payload: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(payload["title"], "Vermiste persoon");
    assert_eq!(payload["body"], "Kijkt u uit naar een man van 82 in Amersfoort-Centrum.");

    // Without a push payload the provider sends the title and text.
    let mut plain_msg =
        outgoing(Destination::Push { endpoint: endpoint.clone(), p256dh: p256dh.clone(), auth: B64.encode(auth) });
    plain_msg.content.push_payload = None;
    plain_msg.urgency = Urgency::Low;
    assert!(matches!(provider.send(&plain_msg).await, Outcome::Accepted { .. }));
    let recorded = log.lock().unwrap().last().cloned().unwrap();
    assert_eq!(header(&recorded, "urgency"), "low");
    check_vapid(
        header(&recorded, "authorization"),
        &public_key,
        &format!("http://127.0.0.1:{port}"),
        "mailto:webpush@127.0.0.1",
        app.clock_ms() / 1000,
    );
    let payload: Value = serde_json::from_slice(&decrypt(&recorded.body, &secret, &auth).unwrap()).unwrap();
    assert_eq!(payload["title"], "Vermiste persoon");
    assert_eq!(payload["body"].as_str(), Some(plain_msg.content.text.as_str()));
}

async fn push_service_answers_map_to_outcomes(backend: Backend) {
    let (port, log) = fake_push_service().await;
    let app = spawn(backend, port).await;
    let provider = buurtnet_server::push::web_push_provider(&app.state).unwrap();
    let (_, p256dh, auth) = browser_keys();
    let to = |kind: &str| Destination::Push {
        endpoint: format!("http://127.0.0.1:{port}/push/{kind}"),
        p256dh: p256dh.clone(),
        auth: B64.encode(auth),
    };
    assert!(matches!(provider.send(&outgoing(to("gone"))).await, Outcome::Gone { .. }));
    match provider.send(&outgoing(to("busy"))).await {
        Outcome::Retry { retry_after, .. } => assert_eq!(retry_after, Some(Duration::from_secs(120))),
        other => panic!("429 must be Retry, not {other:?}"),
    }
    match provider.send(&outgoing(to("later"))).await {
        Outcome::Retry { retry_after, .. } => assert_eq!(retry_after, Some(Duration::from_secs(300)), "an HTTP date"),
        other => panic!("503 must be Retry, not {other:?}"),
    }
    match provider.send(&outgoing(to("broken"))).await {
        Outcome::Retry { retry_after, .. } => assert_eq!(retry_after, None),
        other => panic!("500 must be Retry, not {other:?}"),
    }
    assert!(matches!(provider.send(&outgoing(to("bad"))).await, Outcome::Rejected { .. }));
    assert_eq!(log.lock().unwrap().len(), 5);

    // A refused connection is worth retrying; its reason never names the endpoint.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    app.state.push.set_allow_list(
        PushAllowList::parse([format!("127.0.0.1:{port}").as_str(), &format!("127.0.0.1:{closed_port}")]).unwrap(),
    );
    let secret_path = format!("http://127.0.0.1:{closed_port}/push/secret-device-path");
    match provider
        .send(&outgoing(Destination::Push { endpoint: secret_path, p256dh: p256dh.clone(), auth: B64.encode(auth) }))
        .await
    {
        Outcome::Retry { reason, .. } => assert!(!reason.contains("secret-device-path"), "{reason}"),
        other => panic!("a refused connection must be Retry, not {other:?}"),
    }

    // A push service that does not answer in time: retry later.
    let impatient =
        WebPush::new(buurtnet_delivery::WebPushSettings { timeout: Duration::from_millis(300), ..provider.settings().clone() })
            .unwrap();
    assert!(matches!(impatient.send(&outgoing(to("slow"))).await, Outcome::Retry { .. }));
    assert_eq!(log.lock().unwrap().len(), 6);
    log.lock().unwrap().pop();

    // A payload over what push services must accept is refused without a request.
    let mut large = outgoing(to("ok-large"));
    large.content.push_payload = Some(json!({"title": "t", "body": "x".repeat(4000)}).to_string());
    assert!(matches!(provider.send(&large).await, Outcome::Rejected { .. }));
    assert_eq!(log.lock().unwrap().len(), 5);

    // The allow-list is checked again before every send: off the list, nothing is sent.
    app.state.push.set_allow_list(PushAllowList::parse(["push.example.org"]).unwrap());
    assert!(matches!(provider.send(&outgoing(to("ok-2"))).await, Outcome::Rejected { .. }));
    assert_eq!(log.lock().unwrap().len(), 5, "no request was made");
    // Bad keys are refused before anything is sent, too.
    app.state.push.set_allow_list(PushAllowList::parse([format!("127.0.0.1:{port}").as_str()]).unwrap());
    let bad_keys = Destination::Push {
        endpoint: format!("http://127.0.0.1:{port}/push/ok-3"),
        p256dh: "AAAA".into(),
        auth: B64.encode(auth),
    };
    assert!(matches!(provider.send(&outgoing(bad_keys)).await, Outcome::Rejected { .. }));
    assert_eq!(log.lock().unwrap().len(), 5);
}

async fn registration_is_validated(backend: Backend) {
    let (port, _log) = fake_push_service().await;
    let app = spawn(backend, port).await;
    let (secret, p256dh, auth) = browser_keys();
    let auth = B64.encode(auth);
    let endpoint = format!("http://127.0.0.1:{port}/push/ok-v");
    let good = json!({"subscription": subscription(&endpoint, &p256dh, &auth), "location": {"lat": 52.09, "lon": 5.12}});
    let with = |key: &str, value: Value| {
        let mut b = good.clone();
        b[key] = value;
        b
    };
    let compressed = B64.encode(secret.public_key().to_encoded_point(true).as_bytes());
    let mut off_curve = B64.decode(&p256dh).unwrap();
    off_curve[64] ^= 1;
    let cases: Vec<(Value, &str)> = vec![
        (with("subscription", json!("yes")), "subscription"),
        (with("subscription", subscription(&endpoint, &compressed, &auth)), "subscription.keys.p256dh"),
        (with("subscription", subscription(&endpoint, &B64.encode(&off_curve), &auth)), "subscription.keys.p256dh"),
        (with("subscription", subscription(&endpoint, &p256dh, &B64.encode([0u8; 15]))), "subscription.keys.auth"),
        (with("subscription", subscription("https://evil.example/push/1", &p256dh, &auth)), "subscription.endpoint"),
        (with("subscription", subscription("http://push.example.org/push/1", &p256dh, &auth)), "subscription.endpoint"),
        (with("subscription", subscription("https://fcm.googleapis.com/fcm/send/x", &p256dh, &auth)), "subscription.endpoint"),
        (
            with("subscription", subscription(&format!("http://u:p@127.0.0.1:{port}/push/1"), &p256dh, &auth)),
            "subscription.endpoint",
        ),
        (with("subscription", json!({"endpoint": endpoint})), "subscription.keys"),
        (with("location", json!({"lat": 48.8566, "lon": 2.3522})), "location"),
        (with("location", json!({"lat": 51.2194, "lon": 4.4025})), "location"),
        (with("location", json!({"lat": "52", "lon": 5.1})), "location"),
        (with("topics", json!(["urgent", "gossip"])), "topics[1]"),
        (with("topics", json!([])), "topics"),
        (with("language", json!("fr")), "language"),
        (with("colour", json!("blue")), "colour"),
    ];
    for (body, field) in cases {
        let (s, v) = register(&app, &body).await;
        assert_eq!(s, 422, "{body} → {v}");
        assert!(fields(&v).iter().any(|f| f == field), "{field} in {v}");
    }
    let (s, v) = register(&app, &good).await;
    assert_eq!(s, 201, "{v}");
    let device = app.store.device(v["id"].as_i64().unwrap()).await.unwrap().unwrap();
    assert_eq!((device.language.as_str(), device.topics), ("nl", 1), "defaults: Dutch, urgent actions");
    // Without a subscription (push blocked in this browser): a device for the open page only.
    let (s, w) = register(&app, &json!({"location": {"lat": 52.09, "lon": 5.12}})).await;
    assert_eq!(s, 201, "{w}");
    let page_only = app.store.device(w["id"].as_i64().unwrap()).await.unwrap().unwrap();
    assert_eq!(page_only.endpoint, None);

    // The same browser registering again (it lost its token) keeps its device id (messages in
    // progress point at it) with a new token; the old token no longer works.
    let (s, again) = register(&app, &good).await;
    assert_eq!(s, 201);
    assert_eq!(again["id"], v["id"], "one device per endpoint, the same id");
    assert_ne!(again["token"], v["token"]);
    let old = app
        .client
        .delete(app.at(&format!("/api/v1/devices/{}", v["id"])))
        .bearer_auth(v["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 404, "the old token was replaced");
}

async fn devices_change_and_delete_themselves_with_their_token(backend: Backend) {
    let (port, _log) = fake_push_service().await;
    let app = spawn(backend, port).await;
    let (_, p256dh, auth) = browser_keys();
    let auth = B64.encode(auth);
    let body = |n: u32| {
        json!({"subscription": subscription(&format!("http://127.0.0.1:{port}/push/ok-{n}"), &p256dh, &auth),
               "location": {"lat": 52.09, "lon": 5.12}, "topics": ["urgent"]})
    };
    let (_, mine) = register(&app, &body(1)).await;
    let (_, other) = register(&app, &body(2)).await;
    let (id, token) = (mine["id"].as_i64().unwrap(), mine["token"].as_str().unwrap());
    let other_token = other["token"].as_str().unwrap();
    let path = format!("/api/v1/devices/{id}");
    let change = json!({"topics": ["urgent", "information"], "language": "en", "location": {"lat": 52.1561, "lon": 5.3878}});

    for wrong in [None, Some("not-the-token"), Some(other_token)] {
        let (s, v) = send_json(&app, reqwest::Method::PATCH, &path, wrong, Some(&change)).await;
        assert_eq!(s, 404, "{wrong:?}: {v}");
        let (s, _) = send_json(&app, reqwest::Method::DELETE, &path, wrong, None).await;
        assert_eq!(s, 404, "{wrong:?}");
    }
    let (s, _) = send_json(&app, reqwest::Method::PATCH, "/api/v1/devices/999999", Some(token), Some(&change)).await;
    assert_eq!(s, 404, "a token opens its own device only");
    assert_eq!(app.store.device(id).await.unwrap().unwrap().topics, 1, "nothing changed");

    let (s, v) = send_json(&app, reqwest::Method::PATCH, &path, Some(token), Some(&change)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["topics"], json!(["urgent", "information"]));
    assert_eq!(v["language"], "en");
    assert!(v.get("endpoint").is_none() && !v.to_string().contains(&p256dh), "keys are not echoed");
    let stored = app.store.device(id).await.unwrap().unwrap();
    assert_eq!(stored.cell, Some(buurtnet_domain::cell::cell_id(52.1561, 5.3878)));

    let bad = json!({"location": {"lat": 50.0, "lon": 10.0}, "subscription": {"endpoint": "https://evil.example/x", "keys": {"p256dh": p256dh, "auth": auth}}});
    let (s, v) = send_json(&app, reqwest::Method::PATCH, &path, Some(token), Some(&bad)).await;
    assert_eq!(s, 422);
    assert!(fields(&v).contains(&"location".to_string()) && fields(&v).contains(&"subscription.endpoint".to_string()), "{v}");

    let new_endpoint = format!("http://127.0.0.1:{port}/push/ok-new");
    let (s, _) = send_json(
        &app,
        reqwest::Method::PATCH,
        &path,
        Some(token),
        Some(&json!({"subscription": subscription(&new_endpoint, &p256dh, &auth)})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(app.store.device_push_subscription(id).await.unwrap().unwrap().0, new_endpoint);

    let (s, _) = send_json(&app, reqwest::Method::DELETE, &path, Some(token), None).await;
    assert_eq!(s, 204);
    assert!(app.store.device(id).await.unwrap().is_none());
    let (s, _) = send_json(&app, reqwest::Method::DELETE, &path, Some(token), None).await;
    assert_eq!(s, 404);
    assert!(app.store.device(other["id"].as_i64().unwrap()).await.unwrap().is_some(), "the other device stays");
}

async fn device_registration_is_rate_limited(backend: Backend) {
    let (port, _log) = fake_push_service().await;
    let app = TestApp::spawn_with(backend, |c| {
        c.push.allowed_hosts = Some(vec![format!("127.0.0.1:{port}")]);
        c.abuse_limits.register_device = buurtnet_server::config::Limit { per_ip: 2, per_target: 0, window_seconds: 3600 };
    })
    .await;
    let (_, p256dh, auth) = browser_keys();
    let body = json!({"subscription": subscription(&format!("http://127.0.0.1:{port}/push/ok"), &p256dh, &B64.encode(auth)),
                      "location": {"lat": 52.09, "lon": 5.12}});
    assert_eq!(register(&app, &body).await.0, 201);
    assert_eq!(register(&app, &body).await.0, 201);
    let r = app.client.post(app.at("/api/v1/devices")).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
}

on_both_backends!(
    push_is_delivered_encrypted_and_signed,
    push_service_answers_map_to_outcomes,
    registration_is_validated,
    devices_change_and_delete_themselves_with_their_token,
    device_registration_is_rate_limited,
);
