//! The hardening findings, each tried as an attacker (or an unlucky operator) would.

use crate::common::{Backend, TestApp, fresh_database, link_token, sms_code};
use crate::on_both_backends;
use buurtnet_server::config::Limit;
use serde_json::{Value, json};

on_both_backends!(
    sandbox_is_only_for_this_machine_or_admins,
    parallel_code_guesses_never_pass_the_budget,
    code_budget_holds_across_resends,
    abuse_limits_answer_429_and_hold_across_processes,
    limits_can_be_switched_off,
    one_recipient_gets_few_messages_a_day,
    confirmation_endpoints_are_limited_too,
    links_survive_key_rotation_and_copies_cannot_forge,
    push_needs_a_registered_device,
    unreadable_quiet_hours_fail_closed,
    staff_tokens_expire_and_can_be_revoked,
    nul_characters_are_bad_input,
);

fn no_limits(c: &mut buurtnet_server::Config) {
    c.abuse_limits.enabled = false;
}

async fn register_phone(app: &TestApp, phone: &str) -> String {
    let body =
        json!({"phone": phone, "age_confirmed": true, "addresses": [{"lat": 52.1561, "lon": 5.3878, "channels": ["sms"]}]});
    let (s, v) = app.post_json("/api/v1/participants", &body).await;
    assert_eq!(s, 202, "{v}");
    sms_code(app.sandbox(phone).await.last().unwrap()["body"].as_str().unwrap())
}

fn wrong(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

async fn verify(app: &TestApp, phone: &str, code: &str) -> (u16, Value) {
    app.post_json("/api/v1/participants/verify-phone", &json!({"phone": phone, "code": code})).await
}

async fn sandbox_is_only_for_this_machine_or_admins(b: Backend) {
    // With local operator access (the demo), this machine reads the sandbox and the metrics
    // on a loopback bind, unless a proxy header says the request was forwarded.
    let local = TestApp::spawn(b).await;
    for path in ["/sandbox", "/sandbox/api/messages", "/metrics"] {
        assert_eq!(local.client.get(local.at(path)).send().await.unwrap().status(), 200, "{path}");
        for header in ["x-forwarded-for", "forwarded", "x-real-ip", "via"] {
            let r = local.client.get(local.at(path)).header(header, "203.0.113.5").send().await.unwrap();
            assert_eq!(r.status(), 404, "{path} through a proxy ({header})");
        }
    }
    // Without it (the default for `serve`: a proxy on the same host makes everything local),
    // only an admin token opens them.
    let db = fresh_database(b).await;
    let closed = TestApp::spawn_configured(&db, |c| c.local_operator_access = false).await;
    let admin = closed.staff_token("admin", "NL").await;
    for path in ["/sandbox", "/sandbox/api/messages", "/metrics"] {
        assert_eq!(closed.client.get(closed.at(path)).send().await.unwrap().status(), 404, "{path}");
        assert_eq!(closed.client.get(closed.at(path)).bearer_auth(&admin).send().await.unwrap().status(), 200, "{path}");
    }
    // The 404 reads exactly as for a path that does not exist.
    let hidden = closed.client.get(closed.at("/sandbox/api/messages")).send().await.unwrap().text().await.unwrap();
    let nothing = closed.client.get(closed.at("/sandbox/api/nothing-here")).send().await.unwrap().text().await.unwrap();
    assert_eq!(hidden, nothing);

    // A server that listens beyond loopback shows it to admins only; everyone else sees 404.
    let db = fresh_database(b).await;
    let public = TestApp::spawn_configured(&db, |c| c.bind = std::net::SocketAddr::from(([192, 0, 2, 10], c.bind.port()))).await;
    let (s, v) = public.get_json("/sandbox/api/messages").await;
    assert_eq!((s, v["error"].as_str()), (404, Some("not_found")), "{v}");
    assert_eq!(public.client.get(public.at("/sandbox")).send().await.unwrap().status(), 404);
    let dispatcher = public.staff_token("dispatcher", "NL").await;
    let r = public.client.get(public.at("/sandbox/api/messages")).bearer_auth(&dispatcher).send().await.unwrap();
    assert_eq!(r.status(), 404, "a non-admin sees nothing");
    let admin = public.staff_token("admin", "NL").await;
    let r = public.client.get(public.at("/sandbox/api/messages")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), 200, "an admin reads it");
    let r = public.client.get(public.at("/sandbox")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

async fn parallel_code_guesses_never_pass_the_budget(b: Backend) {
    let app = TestApp::spawn_with(b, no_limits).await;
    let phone = "+31611110001";
    let code = register_phone(&app, phone).await;
    let guesses = (0..50).map(|_| verify(&app, phone, wrong(&code)));
    let answers = futures::future::join_all(guesses).await;
    assert!(answers.iter().all(|(s, v)| *s == 400 && v["error"] == "code_invalid"), "{answers:?}");
    let c = app.store.contact("phone", phone).await.unwrap().unwrap();
    assert_eq!(c.code_attempts, 5, "exactly the code's five tries were spent, however parallel");
    assert!(c.verified_at.is_none());
    // The right code no longer helps.
    let (s, v) = verify(&app, phone, &code).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("code_invalid")));
    assert!(app.store.contact("phone", phone).await.unwrap().unwrap().verified_at.is_none());
}

async fn code_budget_holds_across_resends(b: Backend) {
    let app = TestApp::spawn_with(b, no_limits).await;
    let phone = "+31611110002";
    let mut code = register_phone(&app, phone).await;
    // Two codes of five wrong tries each use up the day's budget of ten.
    for round in 0..2 {
        for _ in 0..5 {
            assert_eq!(verify(&app, phone, wrong(&code)).await.1["error"], "code_invalid", "round {round}");
        }
        assert_eq!(app.post_json("/api/v1/participants/resend-code", &json!({"phone": phone})).await.0, 202);
        code = sms_code(app.sandbox(phone).await.last().unwrap()["body"].as_str().unwrap());
    }
    let (s, v) = verify(&app, phone, &code).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("code_invalid")), "a fresh code does not reset the budget");
    let c = app.store.contact("phone", phone).await.unwrap().unwrap();
    assert_eq!((c.code_attempts, c.code_budget_used), (0, 10), "the third code was never tried: the budget refused it");
    // Sending is budgeted too: five codes a day (one at sign-up, two resends so far, two more).
    let sent_before = app.sandbox(phone).await.len();
    for _ in 0..4 {
        assert_eq!(app.post_json("/api/v1/participants/resend-code", &json!({"phone": phone})).await.0, 202);
    }
    assert_eq!(app.sandbox(phone).await.len(), sent_before + 2, "only two more codes go out today");
    // A day later the budget is back.
    app.clock.advance(chrono::Duration::hours(25));
    assert_eq!(app.post_json("/api/v1/participants/resend-code", &json!({"phone": phone})).await.0, 202);
    let code = sms_code(app.sandbox(phone).await.last().unwrap()["body"].as_str().unwrap());
    assert_eq!(verify(&app, phone, &code).await.0, 200);
    assert!(app.store.contact("phone", phone).await.unwrap().unwrap().verified_at.is_some());
}

fn tight(c: &mut buurtnet_server::Config) {
    c.abuse_limits.register = Limit { per_ip: 100, per_target: 2, window_seconds: 3600 };
    c.abuse_limits.resend_code = Limit { per_ip: 100, per_target: 3, window_seconds: 3600 };
    c.abuse_limits.self_service_link = Limit { per_ip: 4, per_target: 100, window_seconds: 600 };
}

async fn abuse_limits_answer_429_and_hold_across_processes(b: Backend) {
    let db = fresh_database(b).await;
    let a = TestApp::spawn_configured(&db, tight).await;
    let secrets = a.secrets_file.clone();
    // A second process on the same database (and the same secrets file, as a deployment has).
    let b2 = TestApp::spawn_configured(&db, |c| {
        tight(c);
        c.secrets_file = Some(secrets);
    })
    .await;
    register_phone(&a, "+31611110003").await;

    // Resends for one number: three per hour, counted across both processes, and the answer is
    // the same for a number nobody registered (no response tells whether it is known).
    for (known, unknown) in [("+31611110003", "+31611119999")] {
        let mut answers = Vec::new();
        for (i, phone) in [known, known, known, known, unknown, unknown, unknown, unknown].iter().enumerate() {
            let app = if i % 2 == 0 { &a } else { &b2 };
            let r =
                app.client.post(app.at("/api/v1/participants/resend-code")).json(&json!({"phone": phone})).send().await.unwrap();
            let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            answers.push((status, retry, body));
        }
        let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
        assert_eq!(statuses, [202, 202, 202, 429, 202, 202, 202, 429], "{answers:?}");
        let (_, retry, body) = &answers[3];
        let secs: u64 = retry.as_deref().unwrap().parse().unwrap();
        assert!((1..=3600).contains(&secs), "Retry-After {secs}");
        assert_eq!(body["error"], "too_many_requests");
        assert_eq!(answers[3].2, answers[7].2, "known and unknown numbers read alike");
        assert_eq!(answers[0].2, answers[4].2);
    }

    // Registration: two tries per e-mail address per hour, whether or not it is registered.
    let reg = |email: &str| json!({"email": email, "age_confirmed": true, "addresses": [{"lat": 52.1561, "lon": 5.3878, "channels": ["email"]}]});
    assert_eq!(a.post_json("/api/v1/participants", &reg("limit@example.org")).await.0, 202);
    assert_eq!(b2.post_json("/api/v1/participants", &reg("limit@example.org")).await.0, 202);
    assert_eq!(a.post_json("/api/v1/participants", &reg("limit@example.org")).await.0, 429);

    // Self-service links: four per client address per ten minutes, across processes and targets.
    for i in 0..4 {
        let app = if i % 2 == 0 { &a } else { &b2 };
        let (s, _) =
            app.post_json("/api/v1/participants/self-service-link", &json!({"email": format!("x{i}@example.org")})).await;
        assert_eq!(s, 202);
    }
    let (s, v) = b2.post_json("/api/v1/participants/self-service-link", &json!({"email": "other@example.org"})).await;
    assert_eq!((s, v["error"].as_str()), (429, Some("too_many_requests")));
    // The web form answers with a page and Retry-After too.
    let r = a.client.get(a.at("/mijn")).send().await.unwrap();
    let html = r.text().await.unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let r = a.client.post(a.at("/mijn")).form(&[("csrf", csrf.as_str()), ("contact", "y@example.org")]).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert!(r.text().await.unwrap().contains("Te veel verzoeken"));
    // After the window the client may ask again.
    a.clock.advance(chrono::Duration::minutes(11));
    b2.clock.advance(chrono::Duration::minutes(11));
    assert_eq!(b2.post_json("/api/v1/participants/self-service-link", &json!({"email": "other@example.org"})).await.0, 202);
    // The counters hold no phone numbers or addresses.
    let keys: Vec<String> = a.store.admin_strings("SELECT key FROM abuse_counters").await.unwrap();
    assert!(!keys.is_empty());
    assert!(keys.iter().all(|k| !k.contains("3161111") && !k.contains('@') && !k.contains("127.0.0.1")), "{keys:?}");
}

async fn limits_can_be_switched_off(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        no_limits(c);
        tight(c);
    })
    .await;
    for _ in 0..6 {
        assert_eq!(app.post_json("/api/v1/participants/resend-code", &json!({"phone": "+31611118888"})).await.0, 202);
    }
}

async fn links_survive_key_rotation_and_copies_cannot_forge(b: Backend) {
    let app = TestApp::spawn_with(b, no_limits).await;
    assert!(app.secrets_file.exists(), "the secrets file is made on first start");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&app.secrets_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let (s, _) =
        app.post_json("/api/v1/participants", &crate::common::example_registration("rot@example.org", "+31611110004")).await;
    assert_eq!(s, 202);
    app.post_json("/api/v1/participants/self-service-link", &json!({"email": "rot@example.org"})).await;
    let old = link_token(app.sandbox("rot@example.org").await.last().unwrap()["body"].as_str().unwrap(), "/mijn/");
    assert_eq!(app.get_json(&format!("/api/v1/self-service/{old}")).await.0, 200);

    // Nothing in the database can sign a link: forging with every stored value fails.
    let values = app.store.admin_strings("SELECT value FROM meta").await.unwrap();
    let participant = app.get_json(&format!("/api/v1/self-service/{old}")).await.1["id"].as_i64().unwrap();
    for v in values.iter().chain(std::iter::once(&String::new())) {
        let forger = buurtnet_server::signing::Signer::new(v.as_bytes());
        let forged =
            forger.sign(&buurtnet_server::signing::LinkClaims { purpose: "self-service".into(), id: participant, exp: i64::MAX });
        let (s, body) = app.get_json(&format!("/api/v1/self-service/{forged}")).await;
        assert_eq!((s, body["error"].as_str()), (400, Some("link_invalid")));
    }

    // Rotation: new links use the new key; the old link keeps working until it expires.
    let hours = 3_600_000;
    let now = app.clock_ms();
    let rotated = buurtnet_server::secrets::rotate(&app.secrets_file, now, 72 * hours).unwrap();
    let new_key = buurtnet_server::signing::Signer::new(&rotated.link_keys[0].bytes());
    let mut fresh = String::new();
    for _ in 0..100 {
        app.post_json("/api/v1/participants/self-service-link", &json!({"email": "rot@example.org"})).await;
        fresh = link_token(app.sandbox("rot@example.org").await.last().unwrap()["body"].as_str().unwrap(), "/mijn/");
        if new_key.verify(&fresh, "self-service", now).is_ok() {
            break;
        }
        app.clock.advance(chrono::Duration::minutes(7));
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(new_key.verify(&fresh, "self-service", app.clock_ms()).is_ok(), "the server picked up the rotated key");
    assert_eq!(app.get_json(&format!("/api/v1/self-service/{old}")).await.0, 200, "the old key still verifies");
    assert_eq!(app.get_json(&format!("/api/v1/self-service/{fresh}")).await.0, 200);

    // A server with another secrets file (say, a copied database elsewhere) accepts neither.
    let db_url = app.state.config.database_url.clone();
    let other = TestApp::spawn_on(&db_url).await;
    assert_ne!(other.secrets_file, app.secrets_file);
    let (s, v) = other.get_json(&format!("/api/v1/self-service/{fresh}")).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("link_invalid")));
}

pub(crate) async fn count(app: &TestApp, token: &str, area: Value) -> Value {
    let r = app
        .client
        .post(app.at("/api/v1/targeting/count"))
        .bearer_auth(token)
        .json(&json!({"area": area, "topic": "urgent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn push_needs_a_registered_device(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.staff_token("dispatcher", "NL").await;
    let body = json!({"email": "push@example.org", "age_confirmed": true, "topics": ["urgent"],
        "addresses": [{"lat": 52.2, "lon": 5.5, "channels": ["push", "email"]}]});
    assert_eq!(app.post_json("/api/v1/participants", &body).await.0, 202);
    let area = json!({"circle": {"lat": 52.2, "lon": 5.5, "radius_m": 50}});
    let c = count(&app, &token, area.clone()).await;
    assert_eq!((c["people"].as_u64(), c["by_channel"]["push"].as_u64()), (Some(0), Some(0)), "nothing verified yet: {c}");
    let contact = app.store.contact("email", "push@example.org").await.unwrap().unwrap();
    app.store.mark_contact_verified(contact.id, 1).await.unwrap();
    let c = count(&app, &token, area.clone()).await;
    assert_eq!(
        (c["by_channel"]["email"].as_u64(), c["by_channel"]["push"].as_u64()),
        (Some(1), Some(0)),
        "no device, no push: {c}"
    );
    let device = app.store.add_participant_device(contact.participant_id, 2).await.unwrap();
    let c = count(&app, &token, area.clone()).await;
    assert_eq!(c["by_channel"]["push"].as_u64(), Some(1), "a registered device makes push reachable: {c}");
    assert!(app.store.remove_device(device, 3).await.unwrap());
    let c = count(&app, &token, area).await;
    assert_eq!(c["by_channel"]["push"].as_u64(), Some(0), "{c}");
}

/// Writes quiet hours around the server (as a broken migration or a manual edit might) and
/// announces the change on the feed, as every writer does.
async fn damage_quiet_hours(app: &TestApp, address_id: i64, raw: &str) {
    let pid = app
        .store
        .admin_strings(&format!("SELECT CAST(participant_id AS TEXT) FROM addresses WHERE id = {address_id}"))
        .await
        .unwrap();
    let pid: i64 = pid[0].parse().unwrap();
    app.store.execute_admin(&format!("UPDATE addresses SET quiet_hours = '{raw}' WHERE id = {address_id}")).await.unwrap();
    app.store.execute_admin("UPDATE id_sequences SET next_id = next_id + 1 WHERE name = 'changes'").await.unwrap();
    app.store
        .execute_admin(&format!(
            "INSERT INTO changes (seq, participant_lo, participant_hi, at) SELECT next_id - 1, {pid}, {pid}, 0 FROM id_sequences WHERE name = 'changes'"
        ))
        .await
        .unwrap();
}

async fn unreadable_quiet_hours_fail_closed(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.staff_token("dispatcher", "NL").await;
    // Writing a bad window through self-service is refused, naming the field.
    let body = json!({"email": "quiet@example.org", "age_confirmed": true, "topics": ["urgent"],
        "addresses": [{"lat": 52.21, "lon": 5.51, "channels": ["email"]}]});
    assert_eq!(app.post_json("/api/v1/participants", &body).await.0, 202);
    let contact = app.store.contact("email", "quiet@example.org").await.unwrap().unwrap();
    app.store.mark_contact_verified(contact.id, 1).await.unwrap();
    app.post_json("/api/v1/participants/self-service-link", &json!({"email": "quiet@example.org"})).await;
    let link = link_token(app.sandbox("quiet@example.org").await.last().unwrap()["body"].as_str().unwrap(), "/mijn/");
    let me = app.get_json(&format!("/api/v1/self-service/{link}")).await.1;
    let id = me["addresses"][0]["id"].as_i64().unwrap();
    let r = app
        .client
        .patch(app.at(&format!("/api/v1/self-service/{link}")))
        .json(&json!({"addresses": [{"id": id, "quiet_hours": [{"channels": ["email"], "from": "25:00", "to": "07:00"}]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert!(v["fields"][0]["field"].as_str().unwrap().starts_with("addresses[0].quiet_hours[0]"), "{v}");

    // Damaged stored data (written around the server) is not read as "no quiet hours".
    let area = json!({"circle": {"lat": 52.21, "lon": 5.51, "radius_m": 50}});
    assert_eq!(count(&app, &token, area.clone()).await["people"], 1);
    damage_quiet_hours(&app, id, "{not a window").await;
    let c = count(&app, &token, area.clone()).await;
    assert_eq!(c["people"], 0, "unreadable quiet hours mean quiet on every channel: {c}");
    let r = app
        .client
        .post(app.at("/api/v1/targeting/count"))
        .bearer_auth(&token)
        .json(&json!({"area": area, "topic": "urgent", "override_time_windows": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["people"], 1, "an alarm that overrides quiet hours still reaches them");
    let metrics = app.client.get(app.at("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("buurtnet_unreadable_quiet_hours_total"), "counted");
    // A stored value that is not even a list is unreadable too, not "no quiet hours".
    damage_quiet_hours(&app, id, "{}").await;
    assert_eq!(count(&app, &token, json!({"circle": {"lat": 52.21, "lon": 5.51, "radius_m": 50}})).await["people"], 0);
}

async fn staff_tokens_expire_and_can_be_revoked(b: Backend) {
    let app = TestApp::spawn(b).await;
    let hash = buurtnet_server::auth::hash_password("a long test password").unwrap();
    let user = app.store.create_staff_user("tok@example.org", &hash, "dispatcher", "NL", 0).await.unwrap();
    let now = app.clock_ms();
    let (token, token_hash) = buurtnet_server::auth::generate_token();
    let id = app.store.create_api_token(user, &token_hash, now, now + 3_600_000).await.unwrap();
    let me = |t: String| {
        let app = &app;
        async move { app.client.get(app.at("/api/v1/staff/me")).bearer_auth(t).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(me(token.clone()).await, 200);
    app.clock.advance(chrono::Duration::minutes(61));
    assert_eq!(me(token.clone()).await, 401, "expired");
    let (token, token_hash) = buurtnet_server::auth::generate_token();
    let id2 = app.store.create_api_token(user, &token_hash, app.clock_ms(), app.clock_ms() + 3_600_000).await.unwrap();
    assert_eq!(me(token.clone()).await, 200);
    assert!(app.store.revoke_api_token(id2, app.clock_ms()).await.unwrap());
    assert_eq!(me(token).await, 401, "revoked");
    let listed = app.store.api_tokens(Some("tok@example.org")).await.unwrap();
    assert_eq!(listed.iter().map(|t| t.id).collect::<Vec<_>>(), [id2, id]);
    assert!(listed[0].revoked_at.is_some());
}

async fn one_recipient_gets_few_messages_a_day(b: Backend) {
    // Ten account messages per address per day over every endpoint, however the requests are
    // spread over endpoints, hours and client addresses.
    let app =
        TestApp::spawn_with(b, |c| c.abuse_limits.self_service_link = Limit { per_ip: 0, per_target: 3, window_seconds: 3600 })
            .await;
    let (s, _) =
        app.post_json("/api/v1/participants", &crate::common::example_registration("cap@example.org", "+31611110005")).await;
    assert_eq!(s, 202);
    for _hour in 0..5 {
        for _ in 0..3 {
            let (s, _) = app.post_json("/api/v1/participants/self-service-link", &json!({"email": "cap@example.org"})).await;
            assert_eq!(s, 202);
        }
        app.clock.advance(chrono::Duration::minutes(61));
        if app.clock_ms().rem_euclid(86_400_000) < 61 * 60_000 {
            break; // a new day began: stop before the cap resets
        }
    }
    let mails = app.sandbox("cap@example.org").await;
    assert_eq!(mails.len(), 10, "one verification mail and nine links, then nothing more today");
}

async fn confirmation_endpoints_are_limited_too(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.abuse_limits.verify_phone = Limit { per_ip: 100, per_target: 3, window_seconds: 3600 };
        c.abuse_limits.verify_email = Limit { per_ip: 3, per_target: 0, window_seconds: 3600 };
    })
    .await;
    // Code checks: three per number per hour, known or not, then 429 with Retry-After.
    for phone in ["+31611110006", "+31611119998"] {
        let mut statuses = Vec::new();
        for _ in 0..4 {
            let r = app
                .client
                .post(app.at("/api/v1/participants/verify-phone"))
                .json(&json!({"phone": phone, "code": "123456"}))
                .send()
                .await
                .unwrap();
            statuses.push((r.status().as_u16(), r.headers().contains_key("retry-after")));
        }
        assert_eq!(statuses, [(400, false), (400, false), (400, false), (429, true)], "{phone}");
    }
    // E-mail confirmations: three per client address per hour, over the API and the page.
    for _ in 0..2 {
        assert_eq!(app.post_json("/api/v1/participants/verify-email", &json!({"token": "a.b"})).await.0, 400);
    }
    let html = app.client.get(app.at("/bevestigen/a.b")).send().await.unwrap().text().await.unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let r = app.client.post(app.at("/bevestigen/a.b")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 400, "the third try is still answered");
    let r = app.client.post(app.at("/bevestigen/a.b")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let (s, v) = app.post_json("/api/v1/participants/verify-email", &json!({"token": "a.b"})).await;
    assert_eq!((s, v["error"].as_str()), (429, Some("too_many_requests")));
}

/// PostgreSQL cannot store a NUL (`\0`) in a text: a request holding one is bad input (4xx with
/// the usual error body), never a 500, and nothing is written.
async fn nul_characters_are_bad_input(b: Backend) {
    let app = TestApp::spawn_with(b, no_limits).await;
    let resp = app.client.get(app.at("/api/v1/areas/%00GM0307")).send().await.unwrap();
    let status = resp.status().as_u16();
    let v: Value = resp.json().await.unwrap();
    assert!(status == 400 || status == 404, "{status} {v}");
    assert!(v["error"].is_string() && v["message"].is_string(), "{v}");

    let token = app.staff_token("dispatcher", "GM0307").await;
    let (s, before) = {
        let r = app.client.get(app.at("/api/v1/actions")).bearer_auth(&token).send().await.unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(s, 200, "{before}");
    let body = json!({"kind": "suspect", "status": "actual", "title": "Inbreker\u{0}", "body": "Man met\u{0} rugtas.",
        "area": {"circle": {"lat": 52.1561, "lon": 5.3878, "radius_m": 500.0}}});
    let r = app.client.post(app.at("/api/v1/actions")).bearer_auth(&token).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    assert!((400..500).contains(&status) || status == 201, "{status} {v}");
    assert!(status == 201 || v["error"].is_string(), "{v}");
    let after: Value = app.client.get(app.at("/api/v1/actions")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let grew = after.to_string().len() > before.to_string().len();
    assert_eq!(grew, status == 201, "an action was written only if the answer said so: {status} {v}");
}
