use crate::common::{Backend, TestApp};
use crate::on_both_backends;
use serde_json::json;
use std::time::Duration;

on_both_backends!(tokens_roles_and_scopes);

async fn tokens_roles_and_scopes(b: Backend) {
    let app = TestApp::spawn(b).await;
    for (lat, lon, email) in
        [(52.1561, 5.3878, "amf@example.org"), (52.09, 5.12, "utr@example.org"), (53.2, 6.56, "gro@example.org")]
    {
        let body = json!({"email": email, "age_confirmed": true, "addresses": [{"lat": lat, "lon": lon, "channels": ["email", "push"]}]});
        assert_eq!(app.post_json("/api/v1/participants", &body).await.0, 202);
    }
    let get = |token: Option<String>, path: &'static str| {
        let mut r = app.client.get(app.at(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        async move {
            let r = r.send().await.unwrap();
            let s = r.status().as_u16();
            (s, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (s, v) = get(None, "/api/v1/stats/participants").await;
    assert_eq!((s, v["error"].as_str()), (401, Some("unauthorized")));
    let (s, _) = get(Some("bn_forged".into()), "/api/v1/stats/participants").await;
    assert_eq!(s, 401);

    let gm = app.staff_token("municipality-officer", "GM0307").await;
    let (s, v) = get(Some(gm.clone()), "/api/v1/stats/participants").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["area"].as_str(), v["counts"]["participants"].as_i64(), v["counts"]["email"].as_i64()),
        (Some("GM0307"), Some(1), Some(1))
    );
    let (s, v) = get(Some(gm.clone()), "/api/v1/stats/participants?municipality=GM0344").await;
    assert_eq!((s, v["error"].as_str()), (403, Some("forbidden")), "a municipality sees only its own");
    let (s, _) = get(Some(gm), "/api/v1/stats/participants?police_unit=RE03").await;
    assert_eq!(s, 403);

    let region = app.staff_token("regional-coordinator", "RE03").await;
    let (s, v) = get(Some(region.clone()), "/api/v1/stats/participants").await;
    assert_eq!((s, v["counts"]["participants"].as_i64()), (200, Some(2)), "Amersfoort and Utrecht are in RE03");
    assert_eq!(get(Some(region.clone()), "/api/v1/stats/participants?municipality=GM0344").await.0, 200);
    assert_eq!(get(Some(region.clone()), "/api/v1/stats/participants?municipality=GM0014").await.0, 403);
    assert_eq!(get(Some(region), "/api/v1/stats/participants?police_unit=RE01").await.0, 403);

    let admin = app.staff_token("admin", "NL").await;
    let (_, v) = get(Some(admin.clone()), "/api/v1/stats/participants").await;
    assert_eq!(v["counts"]["participants"].as_i64(), Some(3));
    let (s, v) = get(Some(admin), "/api/v1/stats/participants?municipality=WK030701").await;
    assert_eq!((s, v["error"].as_str()), (400, Some("unknown_area")));

    let requester = app.staff_token("requester", "RE03").await;
    assert_eq!(get(Some(requester), "/api/v1/stats/participants").await.0, 403);
}

// ---- The staff live feed ends when its access does (security review #19, finding 1) ----

on_both_backends!(the_live_feed_ends_within_the_recheck_when_access_ends, a_revoked_feed_gets_no_tip);

/// A dispatcher account with an API token: (id, token).
async fn dispatcher_with_token(app: &TestApp, scope: &str) -> (i64, String) {
    let (id, _) = crate::console::staff(app, "dispatcher", scope).await;
    let (token, hash) = buurtnet_server::auth::generate_token();
    app.store.create_api_token(id, &hash, 0, i64::MAX).await.unwrap();
    (id, token)
}

async fn open_feed(app: &TestApp, c: &reqwest::Client, token: Option<&str>) -> reqwest::Response {
    let mut req = c.get(app.at("/api/v1/actions/live"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200);
    r
}

/// Whether the stream's body ends (the server closed it) within `wait`.
async fn ends_within(mut resp: reqwest::Response, wait: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) | Ok(Err(_)) => return true,
            Err(_) => return false,
        }
    }
}

/// Disabling, signing out everywhere, a role change and a scope change each close an open
/// feed within the re-check interval (here 300 ms, by token and by console session); a feed
/// whose access stands stays open.
async fn the_live_feed_ends_within_the_recheck_when_access_ends(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.console.live_recheck_ms = 300).await;
    let now = app.clock_ms();
    let api = reqwest::Client::new();
    let wait = Duration::from_secs(3);

    let (kept, kept_token) = dispatcher_with_token(&app, "GM0307").await;
    let kept_feed = open_feed(&app, &api, Some(&kept_token)).await;

    let (disabled, token) = dispatcher_with_token(&app, "GM0307").await;
    let feed = open_feed(&app, &api, Some(&token)).await;
    app.store.set_staff_disabled(disabled, true, now).await.unwrap();
    assert!(ends_within(feed, wait).await, "disabling the account ends its feed");

    let (demoted, token) = dispatcher_with_token(&app, "GM0307").await;
    let feed = open_feed(&app, &api, Some(&token)).await;
    app.store.set_staff_role(demoted, "handler", "GM0307", now).await.unwrap();
    assert!(ends_within(feed, wait).await, "a role change ends a token's feed");

    let (moved, token) = dispatcher_with_token(&app, "GM0307").await;
    let feed = open_feed(&app, &api, Some(&token)).await;
    app.store.set_staff_role(moved, "dispatcher", "GM0344", now).await.unwrap();
    assert!(ends_within(feed, wait).await, "a scope change ends a token's feed");

    // A console session's feed (the live page): signing out everywhere ends it.
    let (id, email) = crate::console::staff(&app, "regional-coordinator", "RE03").await;
    let c = crate::console::client();
    crate::console::sign_in(&app, &c, &email, None).await;
    let feed = open_feed(&app, &c, None).await;
    app.store.revoke_staff_sessions_of(id, now).await.unwrap();
    assert!(ends_within(feed, wait).await, "signing out everywhere ends the session's feed");

    assert!(!ends_within(kept_feed, Duration::from_millis(1500)).await, "a feed whose access stands stays open");
    assert!(!app.store.staff_user(kept).await.unwrap().unwrap().disabled);
}

/// With the periodic re-check far away (60 s), a tip that arrives after the account was
/// disabled is still not shown nor audited as viewed: the credential is checked before each tip.
async fn a_revoked_feed_gets_no_tip(b: Backend) {
    use crate::alerting::{AMERSFOORT, post, resident};
    use buurtnet_domain::{Channel, Topic};
    let app = TestApp::spawn_with(b, |c| c.console.live_recheck_ms = 60_000).await;
    let (id, dispatcher) = dispatcher_with_token(&app, "GM0307").await;
    let a = resident(&app, AMERSFOORT, &[Channel::Email], &[Topic::Urgent], "nl", vec![]).await;
    let body = json!({"kind": "suspect", "status": "actual",
        "area": {"circle": {"lat": AMERSFOORT.0, "lon": AMERSFOORT.1, "radius_m": 800}},
        "title": "Verdachte man", "body": "Man met rode jas."});
    let (s, v) = post(&app, &dispatcher, "/api/v1/actions", &body).await;
    assert_eq!(s, 201, "{v}");
    let action = v["id"].as_i64().unwrap();
    let (s, v) = post(&app, &dispatcher, &format!("/api/v1/actions/{action}/send"), &json!({})).await;
    assert_eq!(s, 200, "{v}");
    let mut link = None;
    for _ in 0..400 {
        if let Some(m) = app.sandbox(&a.email).await.iter().find(|m| m["channel"] == "email") {
            link = Some(crate::common::link_token(m["body"].as_str().unwrap(), &format!("{}/antwoord/", app.url)));
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let link = link.expect("the action's e-mail carries a tip link");

    let api = reqwest::Client::new();
    let feed = open_feed(&app, &api, Some(&dispatcher)).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    app.store.set_staff_disabled(id, true, app.clock_ms()).await.unwrap();
    let (s, v) = crate::enquiries::reply(&app, &link, "Rode jas gezien bij de Kamp.", "0612345678", vec![]).await;
    assert_eq!(s, 201, "{v}");
    let got = crate::common::sse_named(feed, "tip", 1, Duration::from_secs(4)).await;
    assert!(got.is_empty(), "a disabled account's feed shows no tip: {got:?}");
    let audit = app.store.audit_entries(100).await.unwrap();
    assert!(
        !audit.iter().any(|e| e.action == "tip.view" && e.actor == format!("staff:{id}")),
        "no tip is audited as viewed by a disabled account"
    );
}

// ---- One e-mail normalisation for staff (finding 17) ----

on_both_backends!(staff_addresses_in_mixed_case_work_everywhere, the_password_reset_answers_alike_and_mails_after);

fn buurtnet(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_buurtnet")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

async fn staff_addresses_in_mixed_case_work_everywhere(b: Backend) {
    use crate::console::{PASSWORD, client, csrf_of, get_page, location, password_step, post_form};
    let db = crate::common::fresh_database(b).await;
    // The CLI: create-user stores the normalised address; every other command finds it however
    // it is typed.
    let url = db.as_str();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_buurtnet"))
        .args([
            "--database-url",
            url,
            "admin",
            "create-user",
            "--email",
            "Admin.Hard@EXAMPLE.ORG",
            "--role",
            "handler",
            "--scope",
            "NL",
            "--password-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let app = TestApp::spawn_on(&db).await;
    let stored = app.store.list_staff_users().await.unwrap();
    assert_eq!(stored.iter().map(|u| u.email.as_str()).collect::<Vec<_>>(), ["admin.hard@example.org"]);
    let (ok, token, stderr) = buurtnet(&["--database-url", url, "admin", "create-token", "--email", "Admin.Hard@EXAMPLE.ORG"]);
    assert!(ok && token.trim().starts_with("bn_"), "{stderr}");
    let (ok, list, stderr) = buurtnet(&["--database-url", url, "admin", "list-tokens", "--email", "ADMIN.HARD@example.org"]);
    assert!(ok && list.contains("admin.hard@example.org"), "{list}{stderr}");
    for cmd in ["disable-user", "enable-user", "reset-second-factor"] {
        let (ok, _, stderr) = buurtnet(&["--database-url", url, "admin", cmd, "--email", "Admin.HARD@Example.Org"]);
        assert!(ok, "{cmd}: {stderr}");
    }
    let (ok, _, stderr) = buurtnet(&[
        "--database-url",
        url,
        "admin",
        "create-user",
        "--email",
        "ADMIN.hard@example.org",
        "--role",
        "handler",
        "--scope",
        "NL",
    ]);
    assert!(!ok && stderr.contains("already exists"), "one account per address, whatever the case: {stderr}");

    // Sign-in with the address in other case.
    let r = password_step(&app, &client(), "ADMIN.Hard@example.ORG", PASSWORD).await;
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/console".into()));
    // An account stored in mixed case before this normalisation is found too.
    let hash = buurtnet_server::auth::hash_password(PASSWORD).unwrap();
    app.store.create_staff_user("Old.Style@example.org", &hash, "handler", "NL", 0).await.unwrap();
    let r = password_step(&app, &client(), "old.style@EXAMPLE.org", PASSWORD).await;
    assert_eq!(r.status().as_u16(), 303, "a legacy mixed-case row signs in");

    // Password reset in other case: the mail goes to the stored address.
    let c = client();
    let (_, page) = get_page(&app, &c, "/console/wachtwoord-vergeten").await;
    let r =
        post_form(&app, &c, "/console/wachtwoord-vergeten", &[("csrf", &csrf_of(&page)), ("email", "Admin.Hard@Example.ORG")])
            .await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(wait_for_mail(&app, "admin.hard@example.org", "/console/wachtwoord/").await, "the reset link arrives");

    // The admin pages: a new account in mixed case is stored normalised; the same address in
    // another case is taken.
    let (admin_id, admin_email) = crate::console::staff(&app, "admin", "NL").await;
    app.store.set_skip_second_factor(admin_id, true).await.unwrap();
    let admin = client();
    crate::console::sign_in(&app, &admin, &admin_email, None).await;
    let (_, page) = get_page(&app, &admin, "/console/beheer/medewerkers").await;
    let csrf = csrf_of(&page);
    let form = |email: &'static str| [("email", email), ("role", "handler"), ("scope", "GM0307")];
    let mut first = vec![("csrf", csrf.as_str())];
    first.extend(form("New.Person@Example.ORG"));
    let r = post_form(&app, &admin, "/console/beheer/medewerkers", &first).await;
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
    assert!(app.store.list_staff_users().await.unwrap().iter().any(|u| u.email == "new.person@example.org"));
    let mut again = vec![("csrf", csrf.as_str())];
    again.extend(form("new.PERSON@example.org"));
    let r = post_form(&app, &admin, "/console/beheer/medewerkers", &again).await;
    assert_eq!(r.status().as_u16(), 422, "the same address in another case is taken");
}

/// Waits (up to 5 s) until a sandbox mail to `to` contains `needle`.
pub async fn wait_for_mail(app: &TestApp, to: &str, needle: &str) -> bool {
    for _ in 0..200 {
        if app.sandbox(to).await.iter().any(|m| m.to_string().contains(needle)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

// ---- The password reset answers before it looks anything up (finding 13) ----

/// Known, unknown, disabled and invalid addresses get byte-identical answers (the same code
/// runs before the answer); the writes happen after it: the known address gets its link, and
/// the answer comes even while the tables it writes are locked (it does not wait for them).
async fn the_password_reset_answers_alike_and_mails_after(b: Backend) {
    use crate::console::{client, csrf_of, get_page, post_form};
    use sqlx::Connection;
    // No abuse counters, so that nothing is written before the answer on any path.
    let app = TestApp::spawn_with(b, |c| c.abuse_limits.enabled = false).await;
    let (_, known) = crate::console::staff(&app, "requester", "GM0307").await;
    let (off, disabled) = crate::console::staff(&app, "requester", "GM0307").await;
    app.store.set_staff_disabled(off, true, app.clock_ms()).await.unwrap();
    let c = client();
    let (_, page) = get_page(&app, &c, "/console/wachtwoord-vergeten").await;
    let csrf = csrf_of(&page);
    let mut answers = Vec::new();
    for email in [known.as_str(), "nobody@example.org", disabled.as_str(), "not an address"] {
        let r = post_form(&app, &c, "/console/wachtwoord-vergeten", &[("csrf", &csrf), ("email", email)]).await;
        let status = r.status().as_u16();
        let headers: Vec<String> = r
            .headers()
            .iter()
            .filter(|(k, _)| *k != "date" && *k != "x-request-id")
            .map(|(k, v)| format!("{k}: {v:?}"))
            .collect();
        answers.push((status, headers, r.text().await.unwrap()));
    }
    assert_eq!(answers[0].0, 200);
    for other in &answers[1..] {
        assert_eq!(other, &answers[0], "the same answer for every address");
    }
    assert!(wait_for_mail(&app, &known, "/console/wachtwoord/").await, "the known address gets its link");

    // The writes of a known address (audit entry, link, mail) happen after the answer: it comes
    // at once while another connection holds the tables they need.
    let url = app.state.config.database_url.clone();
    let form = [("csrf", csrf.as_str()), ("email", known.as_str())];
    let request = || post_form(&app, &c, "/console/wachtwoord-vergeten", &form);
    let answered = match b {
        Backend::Sqlite => {
            let mut lock = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query("BEGIN IMMEDIATE").execute(&mut lock).await.unwrap();
            let answered = tokio::time::timeout(Duration::from_secs(3), request()).await;
            sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
            answered
        }
        Backend::Postgres => {
            let mut lock = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query("BEGIN").execute(&mut lock).await.unwrap();
            sqlx::query("LOCK TABLE audit_log, staff_password_resets IN ACCESS EXCLUSIVE MODE").execute(&mut lock).await.unwrap();
            let answered = tokio::time::timeout(Duration::from_secs(3), request()).await;
            sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
            answered
        }
    };
    let r = answered.expect("the answer does not wait for the account's writes");
    assert_eq!(r.text().await.unwrap(), answers[0].2);
    for _ in 0..200 {
        if app.sandbox(&known).await.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(app.sandbox(&known).await.len(), 2, "the second link arrives once the tables are free");
    let audit = app.store.audit_entries(100).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "staff.password_reset_requested"));
    assert!(app.sandbox("nobody@example.org").await.is_empty());
    assert!(app.sandbox(&disabled).await.is_empty());
}
