//! The staff console over HTTP: sign-in with password and TOTP, server-side sessions (idle
//! expiry, sign out everywhere, disabling), CSRF rules, throttling across processes, the
//! password reset by e-mail, the admin pages and the audit log.

use crate::common::{Backend, TestApp, unique};
use crate::on_both_backends;
use buurtnet_server::console::totp;
use serde_json::json;

on_both_backends!(
    sign_in_with_totp_session_and_csrf,
    sessions_end_everywhere_and_on_disable,
    sign_in_is_throttled_across_processes,
    password_reset_by_mail_link,
    admin_pages_and_audit_export,
    every_role_on_every_console_page_from_both_scopes,
);

pub const PASSWORD: &str = "a long test password";

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The value of `name="csrf"` in a page.
pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").unwrap_or_else(|| panic!("no csrf field in {html}"));
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

pub fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let at = html.find(start).unwrap_or_else(|| panic!("no {start} in {html}")) + start.len();
    &html[at..at + html[at..].find(end).unwrap()]
}

pub async fn staff(app: &TestApp, role: &str, scope: &str) -> (i64, String) {
    let email = format!("{}@test.example.org", unique(role));
    let hash = buurtnet_server::auth::hash_password(PASSWORD).unwrap();
    let id = app.store.create_staff_user(&email, &hash, role, scope, 0).await.unwrap();
    (id, email)
}

pub async fn get_page(app: &TestApp, c: &reqwest::Client, path: &str) -> (u16, String) {
    let r = c.get(app.at(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

pub async fn post_form(app: &TestApp, c: &reqwest::Client, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    c.post(app.at(path)).form(form).send().await.unwrap()
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

/// Password step: returns where it leads.
pub async fn password_step(app: &TestApp, c: &reqwest::Client, email: &str, password: &str) -> reqwest::Response {
    let (s, page) = get_page(app, c, "/console/aanmelden").await;
    assert_eq!(s, 200);
    let csrf = csrf_of(&page);
    post_form(app, c, "/console/aanmelden", &[("csrf", &csrf), ("email", email), ("password", password)]).await
}

pub fn code_now(app: &TestApp, secret: &str) -> String {
    totp::code_at(secret, app.clock_ms() / 1000).unwrap()
}

/// Signs in fully, enrolling TOTP when due; returns the TOTP secret (if any).
pub async fn sign_in(app: &TestApp, c: &reqwest::Client, email: &str, secret: Option<&str>) -> Option<String> {
    let r = password_step(app, c, email, PASSWORD).await;
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
    match location(&r).as_str() {
        "/console" => None,
        "/console/tweede-stap/instellen" => {
            let (_, page) = get_page(app, c, "/console/tweede-stap/instellen").await;
            let key = between(&page, "<code id=\"totp-key\">", "</code>").to_string();
            let csrf = csrf_of(&page);
            let r = post_form(app, c, "/console/tweede-stap/instellen", &[("csrf", &csrf), ("code", &code_now(app, &key))]).await;
            assert_eq!((r.status().as_u16(), location(&r)), (303, "/console".into()));
            Some(key)
        }
        "/console/tweede-stap" => {
            let secret = secret.expect("a known secret");
            // The code of the next step: the one of this step was used at enrolment.
            app.clock.advance(chrono::Duration::seconds(30));
            let (_, page) = get_page(app, c, "/console/tweede-stap").await;
            let csrf = csrf_of(&page);
            let r = post_form(app, c, "/console/tweede-stap", &[("csrf", &csrf), ("code", &code_now(app, secret))]).await;
            assert_eq!((r.status().as_u16(), location(&r)), (303, "/console".into()));
            Some(secret.to_string())
        }
        other => panic!("unexpected redirect {other}"),
    }
}

/// The session's CSRF token, from a signed-in page.
pub async fn session_csrf(app: &TestApp, c: &reqwest::Client) -> String {
    let (s, page) = get_page(app, c, "/console").await;
    assert_eq!(s, 200, "{page}");
    csrf_of(&page)
}

async fn audit_actions(app: &TestApp) -> Vec<(String, String, Option<String>, String)> {
    app.store.audit_entries(1000).await.unwrap().into_iter().map(|e| (e.actor, e.action, e.target, e.details)).collect()
}

async fn sign_in_with_totp_session_and_csrf(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (id, email) = staff(&app, "dispatcher", "RE03").await;
    let c = client();

    // The console's pages carry a strict CSP (no inline script or style) and no framing.
    let r = c.get(app.at("/console/aanmelden")).send().await.unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    let page = r.text().await.unwrap();
    assert!(page.contains("<h1>Inloggen</h1>") && !page.contains("<style") && !page.contains("<script"), "{page}");

    // Not signed in: pages send to the sign-in page, the API answers 401.
    let r = c.get(app.at("/console")).send().await.unwrap();
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/console/aanmelden".into()));

    // A wrong password: refused, audited by id only.
    let r = password_step(&app, &c, &email, "wrong password!").await;
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.text().await.unwrap().contains("klopt niet"));
    let audit = audit_actions(&app).await;
    let failed = audit.iter().find(|e| e.1 == "staff.sign_in_failed").expect("a failed sign-in is audited");
    assert_eq!(failed.2.as_deref(), Some(format!("staff:{id}").as_str()));
    assert!(audit.iter().all(|e| !e.3.contains(&email) && !e.0.contains(&email)), "no e-mail address in the audit log");

    // A form without its CSRF token is refused.
    let r = post_form(&app, &c, "/console/aanmelden", &[("email", &email), ("password", PASSWORD)]).await;
    assert_eq!(r.status().as_u16(), 400);

    // A dispatcher must enrol a second factor; until then the session is worth nothing.
    let r = password_step(&app, &c, &email, PASSWORD).await;
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/console/tweede-stap/instellen".into()));
    assert_eq!(c.get(app.at("/api/v1/actions")).send().await.unwrap().status().as_u16(), 401);
    assert_eq!(location(&c.get(app.at("/console")).send().await.unwrap()), "/console/tweede-stap");
    let (_, page) = get_page(&app, &c, "/console/tweede-stap/instellen").await;
    assert!(page.contains("src=\"data:image/svg+xml;base64,"), "the QR code is shown");
    let key = between(&page, "<code id=\"totp-key\">", "</code>").to_string();
    let csrf = csrf_of(&page);
    let r = post_form(&app, &c, "/console/tweede-stap/instellen", &[("csrf", &csrf), ("code", "000000")]).await;
    assert_eq!(r.status().as_u16(), 422);
    let code = code_now(&app, &key);
    let r = post_form(&app, &c, "/console/tweede-stap/instellen", &[("csrf", &csrf), ("code", &code)]).await;
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/console".into()));
    let (s, page) = get_page(&app, &c, "/console").await;
    assert_eq!(s, 200);
    assert!(page.contains(&email) && page.contains("Open en recente acties"), "{page}");

    // The same code does not work twice (another browser, same password).
    let c2 = client();
    let r = password_step(&app, &c2, &email, PASSWORD).await;
    assert_eq!(location(&r), "/console/tweede-stap");
    let (_, page) = get_page(&app, &c2, "/console/tweede-stap").await;
    let r = post_form(&app, &c2, "/console/tweede-stap", &[("csrf", &csrf_of(&page)), ("code", &code)]).await;
    assert_eq!(r.status().as_u16(), 422, "a used code is refused");
    assert!(audit_actions(&app).await.iter().any(|e| e.1 == "staff.sign_in_failed" && e.3.contains("code_reused")));

    // The session works for the API too; unsafe methods need the CSRF header and this site.
    let (s, v) = {
        let r = c.get(app.at("/api/v1/actions")).send().await.unwrap();
        (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap())
    };
    assert_eq!(s, 200, "{v}");
    let csrf = session_csrf(&app, &c).await;
    let body = json!({"kind": "suspect", "status": "exercise", "area": {"circle": {"lat": 52.1561, "lon": 5.3878, "radius_m": 500}},
                      "title": "Inbreker", "body": "Man met rugtas."});
    let r = c.post(app.at("/api/v1/actions")).json(&body).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403, "no CSRF header");
    let r = c
        .post(app.at("/api/v1/actions"))
        .header("x-csrf-token", "forged-token-forged-token-forged")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403, "a wrong CSRF header");
    let r = c
        .post(app.at("/api/v1/actions"))
        .header("x-csrf-token", &csrf)
        .header("origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403, "another site");
    let r = c
        .post(app.at("/api/v1/actions"))
        .header("x-csrf-token", &csrf)
        .header("sec-fetch-site", "cross-site")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403, "another site (Sec-Fetch-Site)");
    assert_eq!(app.store.actions(None, None, 10).await.unwrap().len(), 0, "nothing was created by refused requests");
    let r = c.post(app.at("/api/v1/actions")).header("x-csrf-token", &csrf).json(&body).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
    let (_, page) = get_page(&app, &c, "/console").await;
    assert!(page.contains("Inbreker"), "the dashboard lists the new action: {page}");

    // The staff cookie is not read by public routes: the same browser can still use them.
    let r = c
        .post(app.at("/api/v1/participants"))
        .json(&json!({"email": "colleague@example.org", "age_confirmed": true,
                      "addresses": [{"lat": 52.1561, "lon": 5.3878, "channels": ["email"]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202, "a public route with a staff cookie and no CSRF header");

    // Idle for longer than console.session_idle_minutes (30): the session has ended.
    app.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(get_page(&app, &c, "/console").await.0, 200, "used within the idle time");
    app.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(location(&c.get(app.at("/console")).send().await.unwrap()), "/console/aanmelden");
    assert_eq!(c.get(app.at("/api/v1/actions")).send().await.unwrap().status().as_u16(), 401);

    // Signing in again asks for the second factor (enrolled now), then works.
    sign_in(&app, &c, &email, Some(&key)).await;
    assert_eq!(get_page(&app, &c, "/console").await.0, 200);
    let audit = audit_actions(&app).await;
    assert!(audit.iter().filter(|e| e.1 == "staff.sign_in" && e.0 == format!("staff:{id}")).count() >= 2);
}

async fn sessions_end_everywhere_and_on_disable(b: Backend) {
    let app = TestApp::spawn(b).await;
    // A handler needs no second factor: the password alone signs in.
    let (id, email) = staff(&app, "handler", "GM0307").await;
    let (a, bb) = (client(), client());
    assert_eq!(sign_in(&app, &a, &email, None).await, None);
    sign_in(&app, &bb, &email, None).await;
    assert_eq!(get_page(&app, &a, "/console").await.0, 200);
    assert_eq!(get_page(&app, &bb, "/console").await.0, 200);

    // Signing out ends only this session.
    let csrf = session_csrf(&app, &a).await;
    let r = post_form(&app, &a, "/console/afmelden", &[("csrf", &csrf)]).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(get_page(&app, &a, "/console").await.0, 303);
    assert_eq!(get_page(&app, &bb, "/console").await.0, 200);

    // "Sign out everywhere" ends every session of the account.
    sign_in(&app, &a, &email, None).await;
    let csrf = session_csrf(&app, &bb).await;
    let r = post_form(&app, &bb, "/console/overal-afmelden", &[("csrf", &csrf)]).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(get_page(&app, &a, "/console").await.0, 303);
    assert_eq!(get_page(&app, &bb, "/console").await.0, 303);
    assert!(audit_actions(&app).await.iter().any(|e| e.1 == "staff.sign_out_everywhere" && e.0 == format!("staff:{id}")));

    // Disabling the account (by an admin, through the console) ends its sessions and tokens at once.
    sign_in(&app, &a, &email, None).await;
    let (token, token_hash) = buurtnet_server::auth::generate_token();
    app.store.create_api_token(id, &token_hash, 0, i64::MAX).await.unwrap();
    let api = reqwest::Client::new();
    assert_eq!(api.get(app.at("/api/v1/staff/me")).bearer_auth(&token).send().await.unwrap().status().as_u16(), 200);
    let (admin_id, admin_email) = staff(&app, "admin", "NL").await;
    app.store.set_skip_second_factor(admin_id, true).await.unwrap();
    let admin = client();
    sign_in(&app, &admin, &admin_email, None).await;
    let csrf = session_csrf(&app, &admin).await;
    let r = post_form(&app, &admin, &format!("/console/beheer/medewerkers/{id}"), &[("csrf", &csrf), ("op", "disable")]).await;
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
    assert_eq!(get_page(&app, &a, "/console").await.0, 303, "the session ended");
    assert_eq!(api.get(app.at("/api/v1/staff/me")).bearer_auth(&token).send().await.unwrap().status().as_u16(), 401);
    let r = password_step(&app, &client(), &email, PASSWORD).await;
    assert_eq!(r.status().as_u16(), 401, "a disabled account cannot sign in");
    let audit = audit_actions(&app).await;
    assert!(audit.iter().any(|e| e.0 == format!("staff:{admin_id}")
        && e.1 == "staff.disabled"
        && e.2.as_deref() == Some(&format!("staff:{id}"))));
    assert!(audit.iter().any(|e| e.1 == "staff.sign_in_failed" && e.3.contains("disabled")));
}

async fn sign_in_is_throttled_across_processes(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.abuse_limits.staff_sign_in = buurtnet_server::config::Limit { per_ip: 100, per_target: 3, window_seconds: 600 }
    })
    .await;
    // A second process on the same database (and secrets file): the counts are shared.
    let other = TestApp::spawn_configured(&app.state.config.database_url, |c| {
        c.secrets_file = Some(app.secrets_file.clone());
        c.abuse_limits.staff_sign_in = buurtnet_server::config::Limit { per_ip: 100, per_target: 3, window_seconds: 600 };
    })
    .await;
    let (_, email) = staff(&app, "handler", "GM0307").await;
    assert_eq!(password_step(&app, &client(), &email, "wrong one 1").await.status().as_u16(), 401);
    assert_eq!(password_step(&other, &client(), &email, "wrong one 2").await.status().as_u16(), 401);
    assert_eq!(password_step(&app, &client(), &email, "wrong one 3").await.status().as_u16(), 401);
    let r = password_step(&other, &client(), &email, PASSWORD).await;
    assert_eq!(r.status().as_u16(), 429, "the fourth attempt in the window, in another process");
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 600, "{retry}");
    // Another account is not affected; the window passing lifts the limit.
    let (_, email2) = staff(&app, "handler", "GM0307").await;
    assert_eq!(password_step(&app, &client(), &email2, PASSWORD).await.status().as_u16(), 303);
    app.clock.advance(chrono::Duration::seconds(601));
    other.clock.advance(chrono::Duration::seconds(601));
    assert_eq!(password_step(&other, &client(), &email, PASSWORD).await.status().as_u16(), 303);

    // Per client address too.
    let app2 = TestApp::spawn_with(b, |c| {
        c.abuse_limits.staff_sign_in = buurtnet_server::config::Limit { per_ip: 2, per_target: 100, window_seconds: 600 }
    })
    .await;
    for i in 0..2 {
        assert_eq!(password_step(&app2, &client(), &format!("nobody{i}@example.org"), "x").await.status().as_u16(), 401);
    }
    assert_eq!(password_step(&app2, &client(), "nobody9@example.org", "x").await.status().as_u16(), 429);
}

async fn password_reset_by_mail_link(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (id, email) = staff(&app, "requester", "GM0307").await;
    let c = client();
    sign_in(&app, &c, &email, None).await;
    let other = client();
    let (_, page) = get_page(&app, &other, "/console/wachtwoord-vergeten").await;
    let csrf = csrf_of(&page);
    let r = post_form(&app, &other, "/console/wachtwoord-vergeten", &[("csrf", &csrf), ("email", &email)]).await;
    assert_eq!(r.status().as_u16(), 200);
    let same = r.text().await.unwrap();
    // An unknown address gets the same answer and no mail.
    let r = post_form(&app, &other, "/console/wachtwoord-vergeten", &[("csrf", &csrf), ("email", "nobody@example.org")]).await;
    assert_eq!(r.text().await.unwrap(), same);
    assert!(app.sandbox("nobody@example.org").await.is_empty());

    // The link is made and mailed after the answer (so its timing tells nothing): wait for it.
    assert!(crate::staff::wait_for_mail(&app, &email, "/console/wachtwoord/").await);
    let mails = app.sandbox(&email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let text = mails[0]["body"].as_str().unwrap_or_default().to_string() + mails[0]["text"].as_str().unwrap_or_default();
    let link =
        text.split_whitespace().find(|w| w.contains("/console/wachtwoord/")).unwrap_or_else(|| panic!("{mails:?}")).to_string();
    let path = &link[link.find("/console/").unwrap()..];
    let (s, page) = get_page(&app, &other, path).await;
    assert_eq!(s, 200);
    let csrf = csrf_of(&page);
    let r = post_form(&app, &other, path, &[("csrf", &csrf), ("password", "short")]).await;
    assert_eq!(r.status().as_u16(), 422);
    let r = post_form(&app, &other, path, &[("csrf", &csrf), ("password", "a brand new password")]).await;
    assert_eq!(r.status().as_u16(), 200);
    // The link works once; the old password and every session are gone.
    assert_eq!(get_page(&app, &other, path).await.0, 404);
    assert_eq!(get_page(&app, &c, "/console").await.0, 303);
    assert_eq!(password_step(&app, &client(), &email, PASSWORD).await.status().as_u16(), 401);
    let r = password_step(&app, &client(), &email, "a brand new password").await;
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/console".into()));
    let audit = audit_actions(&app).await;
    assert!(audit.iter().any(|e| e.1 == "staff.password_reset" && e.0 == format!("staff:{id}")));
    assert!(audit.iter().all(|e| !e.3.contains(&email)));

    // A requester needs no second factor, but may turn one on; then every sign-in asks for it.
    let v = client();
    let r = password_step(&app, &v, &email, "a brand new password").await;
    assert_eq!(location(&r), "/console");
    let (s, page) = get_page(&app, &v, "/console").await;
    assert!(s == 200 && page.contains("/console/tweede-stap/aanzetten"), "{page}");
    // The password is asked again before the key is shown.
    let (_, page) = get_page(&app, &v, "/console/tweede-stap/aanzetten").await;
    let r =
        post_form(&app, &v, "/console/tweede-stap/aanzetten", &[("csrf", &csrf_of(&page)), ("password", "a brand new password")])
            .await;
    let page = r.text().await.unwrap();
    let key = between(&page, "<code id=\"totp-key\">", "</code>").to_string();
    let csrf = csrf_of(&page);
    let r = post_form(&app, &v, "/console/tweede-stap/aanzetten", &[("csrf", &csrf), ("code", "123456")]).await;
    assert_eq!(r.status().as_u16(), 422);
    let r = post_form(&app, &v, "/console/tweede-stap/aanzetten", &[("csrf", &csrf), ("code", &code_now(&app, &key))]).await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(app.store.staff_user(id).await.unwrap().unwrap().totp_enabled_at.is_some());
    let r = password_step(&app, &client(), &email, "a brand new password").await;
    assert_eq!(location(&r), "/console/tweede-stap", "the second step is asked from now on");
}

async fn admin_pages_and_audit_export(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (admin_id, admin_email) = staff(&app, "admin", "RE03").await;
    let c = client();
    let secret = sign_in(&app, &c, &admin_email, None).await;
    assert!(secret.is_some(), "an admin enrols a second factor");
    let (s, page) = get_page(&app, &c, "/console/beheer/medewerkers").await;
    assert_eq!(s, 200, "{page}");
    let csrf = csrf_of(&page);

    // Create: a scope outside the admin's own is refused naming the field.
    let r = post_form(
        &app,
        &c,
        "/console/beheer/medewerkers",
        &[("csrf", &csrf), ("email", "new@example.org"), ("role", "handler"), ("scope", "GM0014")],
    )
    .await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("scope:"));
    let r = post_form(
        &app,
        &c,
        "/console/beheer/medewerkers",
        &[("csrf", &csrf), ("email", " new@Example.ORG "), ("role", "handler"), ("scope", "GM0307")],
    )
    .await;
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/console/beheer/medewerkers?done=created".into()));
    let new = app.store.staff_user_by_email("new@example.org").await.unwrap().expect("created");
    assert_eq!((new.role.as_str(), new.scope.as_str(), new.disabled), ("handler", "GM0307", false));
    let mails = app.sandbox("new@example.org").await;
    assert!(mails.iter().any(|m| m.to_string().contains("/console/wachtwoord/")), "the new account gets a link: {mails:?}");

    // Change role and scope.
    let r = post_form(
        &app,
        &c,
        &format!("/console/beheer/medewerkers/{}", new.id),
        &[("csrf", &csrf), ("op", "change"), ("role", "approver"), ("scope", "GM0344")],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    let changed = app.store.staff_user(new.id).await.unwrap().unwrap();
    assert_eq!((changed.role.as_str(), changed.scope.as_str()), ("approver", "GM0344"));

    // Accounts outside the admin's scope are neither listed nor changeable.
    let (far, far_email) = staff(&app, "handler", "GM0014").await;
    let (_, page) = get_page(&app, &c, "/console/beheer/medewerkers").await;
    assert!(page.contains("new@example.org") && !page.contains(&far_email), "{page}");
    let r = post_form(&app, &c, &format!("/console/beheer/medewerkers/{far}"), &[("csrf", &csrf), ("op", "disable")]).await;
    assert_eq!(r.status().as_u16(), 404);
    assert!(!app.store.staff_user(far).await.unwrap().unwrap().disabled);

    // Non-admins get no admin pages.
    let (_, handler_email) = staff(&app, "handler", "GM0307").await;
    let h = client();
    sign_in(&app, &h, &handler_email, None).await;
    assert_eq!(get_page(&app, &h, "/console/beheer/medewerkers").await.0, 403);
    assert_eq!(get_page(&app, &h, "/console/beheer/audit").await.0, 403);
    assert_eq!(get_page(&app, &h, "/console/beheer/audit.csv").await.0, 403);

    // The audit log: filter by action, export as CSV (the export is audited).
    let (s, page) = get_page(&app, &c, "/console/beheer/audit?action=staff.created").await;
    assert_eq!(s, 200);
    assert!(page.contains(&format!("staff:{}", new.id)) && !page.contains("staff.changed"), "{page}");
    let r = c.get(app.at("/console/beheer/audit.csv?action=staff.")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("id,at_utc,actor,action,target,details"));
    let rows: Vec<&str> = lines.collect();
    assert!(rows.iter().any(|l| l.contains("staff.created") && l.contains(&format!("staff:{admin_id}"))), "{csv}");
    assert!(rows.iter().any(|l| l.contains("staff.changed")));
    assert!(rows.iter().all(|l| l.contains(",staff.")), "only the filtered actions: {csv}");
    assert!(!csv.contains("example.org"), "no e-mail addresses in the audit log");
    let (_, page) = get_page(&app, &c, "/console/beheer/audit?action=audit.exported").await;
    assert!(page.contains(&format!("staff:{admin_id}")), "{page}");
    let (s, _) = get_page(&app, &c, "/console/beheer/audit?from=2026-13-01").await;
    assert_eq!(s, 422);
    let _ = json!({});
}

/// Every console page × every role × own scope and another: the page rules' roles get the page
/// (and, on the owner's scope, its data); other roles 403; another scope never sees the owner's
/// data (404 on the records, empty lists).
async fn every_role_on_every_console_page_from_both_scopes(b: Backend) {
    use buurtnet_domain::staff::Role;
    let app = TestApp::spawn(b).await;
    let dispatcher = app.staff_token("dispatcher", "RE03").await;
    let requester = app.staff_token("requester", "RE03").await;
    let api = reqwest::Client::new();
    let marker_a = "PAGEMATRIX-ACTION-51";
    let marker_e = "PAGEMATRIX-ENQUIRY-77";
    let a: serde_json::Value = api
        .post(app.at("/api/v1/actions"))
        .bearer_auth(&dispatcher)
        .json(
            &json!({"kind": "suspect", "status": "exercise", "area": {"circle": {"lat": 52.1561, "lon": 5.3878, "radius_m": 500}},
                      "title": marker_a, "body": "Man met rugtas."}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let e: serde_json::Value = api
        .post(app.at("/api/v1/enquiries"))
        .bearer_auth(&requester)
        .json(&json!({"incident_type": "burglary", "occurred_at": "2026-11-22T10:00:00Z", "location": {"lat": 52.1561, "lon": 5.3878},
                      "radius_m": 500, "description": format!("Inbraak {marker_e}."), "questions": "Iets gezien?"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (action, enquiry) = (a["id"].as_i64().unwrap(), e["id"].as_i64().unwrap());
    let pages = [
        "/console".to_string(),
        "/console/kaart".into(),
        "/console/kaart/gebieden".into(),
        format!("/console/acties/{action}"),
        "/console/buurtonderzoek".into(),
        "/console/buurtonderzoek/maandoverzicht".into(),
        format!("/console/buurtonderzoek/{enquiry}"),
        "/console/deelnemers".into(),
        "/console/rapportages".into(),
        "/console/campagnes".into(),
        "/console/rapportages/kwartaal/GM0307/2026-Q3".into(),
        "/console/beheer/medewerkers".into(),
        "/console/beheer/audit".into(),
        "/console/beheer/audit.csv".into(),
    ];
    // Every page that needs an operation and can be read is exercised here.
    for page in buurtnet_server::console::pages() {
        if matches!(page.access, buurtnet_server::console::Access::Needs(_)) && page.methods.contains(&"GET") {
            let tried = pages.iter().any(|p| buurtnet_server::console::page_of(p) == Some(page));
            assert!(tried, "{} untested", page.path);
        }
    }
    for role in Role::ALL {
        let (own, other) = match role {
            Role::MunicipalityOfficer | Role::NeighbourhoodOfficer => ("GM0307", "GM0014"),
            _ => ("RE03", "RE01"),
        };
        for (scope, is_own) in [(own, true), (other, false)] {
            let (id, email) = staff(&app, role.as_str(), scope).await;
            app.store.set_skip_second_factor(id, true).await.unwrap();
            let c = client();
            sign_in(&app, &c, &email, None).await;
            for page in &pages {
                let (s, body) = get_page(&app, &c, page).await;
                let allowed = buurtnet_server::console::page_roles(page).is_none_or(|roles| roles.contains(&role));
                let who = format!("{} ({scope}) on {page}", role.as_str());
                if !allowed {
                    assert_eq!(s, 403, "{who}: {body}");
                } else if is_own
                    || !(page.contains("/acties/")
                        || page.contains(&format!("/buurtonderzoek/{enquiry}"))
                        || page.contains("/kwartaal/GM0307"))
                {
                    assert_eq!(s, 200, "{who}: {body}");
                } else {
                    assert_eq!(s, 404, "{who}: {body}");
                }
                if !is_own {
                    assert!(!body.contains(marker_a) && !body.contains(marker_e), "{who} shows another scope's data: {body}");
                }
                if is_own && allowed && page.contains("/acties/") {
                    assert!(body.contains(marker_a), "{who}");
                }
                if is_own && allowed && page.contains(&format!("/buurtonderzoek/{enquiry}")) {
                    assert!(body.contains(marker_e), "{who}");
                }
            }
        }
    }
}
