//! The staff second factor after the security review (#19): a pending key per enrolment view
//! and session, enrolment ending every other session and announced by e-mail, the password
//! asked again before enrolling from a signed-in session, limits on wrong codes, and secrets
//! sealed in the database (also on a `copy-db` target).

use crate::common::{Backend, TestApp, empty_database, unique};
use crate::console::{
    PASSWORD, between, client, code_now, csrf_of, get_page, location, password_step, post_form, session_csrf, sign_in, staff,
};
use crate::on_both_backends;
use crate::staff::wait_for_mail;

on_both_backends!(
    a_pending_key_belongs_to_one_view_and_enrolment_ends_other_sessions,
    turning_the_second_step_on_asks_for_the_password_again,
    wrong_codes_end_the_session_then_lock_the_second_factor,
    totp_secrets_are_sealed_and_old_clear_ones_keep_working,
    copy_db_never_writes_a_clear_totp_secret,
);

fn key_of(page: &str) -> String {
    between(page, "<code id=\"totp-key\">", "</code>").to_string()
}

/// After an admin reset, someone who knows the password (the attacker) and the owner both
/// reach the enrolment page: each sees a key of their own; the owner's enrolment ends the
/// attacker's session, whose key then gives nothing.
async fn a_pending_key_belongs_to_one_view_and_enrolment_ends_other_sessions(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (id, email) = staff(&app, "dispatcher", "RE03").await;
    let (attacker, owner) = (client(), client());
    for c in [&attacker, &owner] {
        let r = password_step(&app, c, &email, PASSWORD).await;
        assert_eq!(location(&r), "/console/tweede-stap/instellen");
    }
    let (_, page) = get_page(&app, &attacker, "/console/tweede-stap/instellen").await;
    let attacker_key = key_of(&page);
    let attacker_csrf = csrf_of(&page);
    let (_, page) = get_page(&app, &owner, "/console/tweede-stap/instellen").await;
    let first_view = key_of(&page);
    assert_ne!(first_view, attacker_key, "another session sees another key");
    let (_, page) = get_page(&app, &owner, "/console/tweede-stap/instellen").await;
    assert!(page.contains("src=\"data:image/svg+xml;base64,"), "a QR code");
    let owner_key = key_of(&page);
    assert_ne!(owner_key, first_view, "each view of the page makes a new key");
    assert_eq!(owner_key.len(), 32, "the key as text for typing in");
    // Only the key of the latest view counts.
    let r = post_form(
        &app,
        &owner,
        "/console/tweede-stap/instellen",
        &[("csrf", &csrf_of(&page)), ("code", &code_now(&app, &first_view))],
    )
    .await;
    assert_eq!(r.status().as_u16(), 422);
    let r = post_form(
        &app,
        &owner,
        "/console/tweede-stap/instellen",
        &[("csrf", &csrf_of(&page)), ("code", &code_now(&app, &owner_key))],
    )
    .await;
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/console".into()));
    assert_eq!(get_page(&app, &owner, "/console").await.0, 200);

    // The attacker's password-stage session has ended: its key gives nothing.
    let r = post_form(
        &app,
        &attacker,
        "/console/tweede-stap/instellen",
        &[("csrf", &attacker_csrf), ("code", &code_now(&app, &attacker_key))],
    )
    .await;
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/console/aanmelden".into()));
    assert_eq!(location(&attacker.get(app.at("/console")).send().await.unwrap()), "/console/aanmelden");
    app.clock.advance(chrono::Duration::seconds(30));
    let r = password_step(&app, &attacker, &email, PASSWORD).await;
    assert_eq!(location(&r), "/console/tweede-stap", "the account has its owner's second factor now");
    let (_, page) = get_page(&app, &attacker, "/console/tweede-stap").await;
    let r = post_form(
        &app,
        &attacker,
        "/console/tweede-stap",
        &[("csrf", &csrf_of(&page)), ("code", &code_now(&app, &attacker_key))],
    )
    .await;
    assert_eq!(r.status().as_u16(), 422, "the attacker's key is not the account's");

    // The owner is told by e-mail; the enrolment is audited.
    assert!(wait_for_mail(&app, &email, "tweede stap").await, "{:?}", app.sandbox(&email).await);
    let audit = app.store.audit_entries(100).await.unwrap();
    assert!(
        audit.iter().any(|e| e.action == "staff.second_factor_enrolled" && e.target.as_deref() == Some(&format!("staff:{id}")))
    );
}

/// From a signed-in session the key is shown only after the password is given again; the
/// enrolment ends the account's other sessions (this browser gets a new one).
async fn turning_the_second_step_on_asks_for_the_password_again(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (_, email) = staff(&app, "requester", "GM0307").await;
    let (c, other) = (client(), client());
    sign_in(&app, &c, &email, None).await;
    sign_in(&app, &other, &email, None).await;
    let (s, page) = get_page(&app, &c, "/console/tweede-stap/aanzetten").await;
    assert_eq!(s, 200);
    assert!(page.contains("name=\"password\"") && !page.contains("totp-key"), "no key before the password: {page}");
    let csrf = session_csrf(&app, &c).await;
    // A code without a key shown first does nothing.
    let r = post_form(&app, &c, "/console/tweede-stap/aanzetten", &[("csrf", &csrf), ("code", "123456")]).await;
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/console/tweede-stap/aanzetten".into()));
    let r = post_form(&app, &c, "/console/tweede-stap/aanzetten", &[("csrf", &csrf), ("password", "not my password")]).await;
    assert_eq!(r.status().as_u16(), 422);
    let page = r.text().await.unwrap();
    assert!(!page.contains("totp-key") && page.contains("klopt niet"), "{page}");
    let r = post_form(&app, &c, "/console/tweede-stap/aanzetten", &[("csrf", &csrf), ("password", PASSWORD)]).await;
    assert_eq!(r.status().as_u16(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("src=\"data:image/svg+xml;base64,"), "{page}");
    let key = key_of(&page);
    let r = post_form(&app, &c, "/console/tweede-stap/aanzetten", &[("csrf", &csrf), ("code", &code_now(&app, &key))]).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(get_page(&app, &c, "/console").await.0, 200, "this browser is signed in anew");
    assert_eq!(get_page(&app, &other, "/console").await.0, 303, "every other session has ended");
    assert!(wait_for_mail(&app, &email, "tweede stap").await);
    app.clock.advance(chrono::Duration::seconds(30));
    assert_eq!(location(&password_step(&app, &client(), &email, PASSWORD).await), "/console/tweede-stap");
}

async fn wrong_code(app: &TestApp, c: &reqwest::Client) -> reqwest::Response {
    let (s, page) = get_page(app, c, "/console/tweede-stap").await;
    assert_eq!(s, 200, "{page}");
    post_form(app, c, "/console/tweede-stap", &[("csrf", &csrf_of(&page)), ("code", "000000")]).await
}

/// The fifth wrong code ends the password-stage session; the tenth of the day locks the second
/// factor (a right code no longer helps) and tells the account and its admins by e-mail, until
/// an admin resets it.
async fn wrong_codes_end_the_session_then_lock_the_second_factor(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.abuse_limits.staff_sign_in = buurtnet_server::config::Limit { per_ip: 1000, per_target: 1000, window_seconds: 600 }
    })
    .await;
    let (id, email) = staff(&app, "dispatcher", "RE03").await;
    let (_, admin_here) = staff(&app, "admin", "RE03").await;
    let (_, admin_elsewhere) = staff(&app, "admin", "GM0014").await;
    let key = sign_in(&app, &client(), &email, None).await.expect("enrolled");

    let first = client();
    assert_eq!(location(&password_step(&app, &first, &email, PASSWORD).await), "/console/tweede-stap");
    for _ in 0..4 {
        assert_eq!(wrong_code(&app, &first).await.status().as_u16(), 422);
    }
    let r = wrong_code(&app, &first).await;
    assert_eq!(r.status().as_u16(), 401, "the fifth wrong code ends the session");
    assert!(r.text().await.unwrap().contains("Te veel verkeerde codes"));
    assert_eq!(location(&first.get(app.at("/console/tweede-stap")).send().await.unwrap()), "/console/aanmelden");

    let second = client();
    assert_eq!(location(&password_step(&app, &second, &email, PASSWORD).await), "/console/tweede-stap");
    for _ in 0..4 {
        assert_eq!(wrong_code(&app, &second).await.status().as_u16(), 422);
    }
    let r = wrong_code(&app, &second).await;
    assert_eq!(r.status().as_u16(), 403, "the tenth wrong code of the day locks the second factor");
    assert!(r.text().await.unwrap().contains("geblokkeerd"));
    assert!(app.store.staff_user(id).await.unwrap().unwrap().totp_locked_at.is_some());

    // A right code no longer helps.
    app.clock.advance(chrono::Duration::seconds(30));
    let third = client();
    assert_eq!(location(&password_step(&app, &third, &email, PASSWORD).await), "/console/tweede-stap");
    let (_, page) = get_page(&app, &third, "/console/tweede-stap").await;
    let r = post_form(&app, &third, "/console/tweede-stap", &[("csrf", &csrf_of(&page)), ("code", &code_now(&app, &key))]).await;
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(get_page(&app, &third, "/console").await.0, 303, "no full session");

    // The account and the admins whose scope covers it are told (once).
    assert!(wait_for_mail(&app, &email, "geblokkeerd").await);
    assert!(wait_for_mail(&app, &admin_here, &format!("staff:{id}")).await);
    assert!(app.sandbox(&admin_elsewhere).await.is_empty(), "an admin of another region is not told");
    assert_eq!(app.sandbox(&email).await.iter().filter(|m| m.to_string().contains("geblokkeerd")).count(), 1);
    let audit = app.store.audit_entries(200).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "staff.second_factor_locked"));
    assert!(audit.iter().any(|e| e.action == "staff.sign_in_ended"));

    // An admin's reset lifts the lock: the next sign-in enrols anew.
    app.store.reset_totp(id).await.unwrap();
    assert!(sign_in(&app, &client(), &email, None).await.is_some());
}

/// A new second factor is stored sealed (not the key); a secret stored in clear before this
/// change still signs in, and is sealed on that use, or by the next start of a server.
async fn totp_secrets_are_sealed_and_old_clear_ones_keep_working(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (id, email) = staff(&app, "dispatcher", "RE03").await;
    let key = sign_in(&app, &client(), &email, None).await.expect("enrolled");
    let stored = app.store.staff_user(id).await.unwrap().unwrap().totp_secret.unwrap();
    assert!(stored.starts_with("enc1:") && !stored.contains(&key), "{stored}");
    let secrets = buurtnet_server::secrets::read(&app.secrets_file).unwrap().unwrap();
    assert_eq!(secrets.totp_seal().unwrap().open(id, &stored).as_deref(), Some(key.as_str()));

    // As a row written before encryption: in clear. It still works, and is sealed on use.
    let set_clear = format!("UPDATE staff_users SET totp_secret = '{key}' WHERE id = {id}");
    app.store.execute_admin(&set_clear).await.unwrap();
    sign_in(&app, &client(), &email, Some(&key)).await;
    let stored = app.store.staff_user(id).await.unwrap().unwrap().totp_secret.unwrap();
    assert!(stored.starts_with("enc1:"), "sealed on use: {stored}");

    // Or by the next start of any server on the database.
    app.store.execute_admin(&set_clear).await.unwrap();
    let secrets_file = app.secrets_file.clone();
    let other = TestApp::spawn_configured(&app.state.config.database_url, |c| c.secrets_file = Some(secrets_file)).await;
    let stored = other.store.staff_user(id).await.unwrap().unwrap().totp_secret.unwrap();
    assert!(stored.starts_with("enc1:"), "sealed at start: {stored}");
    // This process's clock starts where the first one did: move it past the steps used there.
    other.clock.advance(chrono::Duration::seconds(60));
    sign_in(&other, &client(), &email, Some(&key)).await;
}

fn copy_db(from: &str, to: &str, secrets_file: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_buurtnet"))
        .args(["copy-db", "--from", from, "--to", to])
        .env("BUURTNET_SECRETS_FILE", secrets_file)
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// A source still holding a secret in clear (no server of this version started on it) is
/// copied with that secret sealed by the deployment's secrets file, or, without one, not at all.
async fn copy_db_never_writes_a_clear_totp_secret(b: Backend) {
    let source_url = empty_database(Backend::Sqlite).await;
    let source = buurtnet_store::Store::connect(&source_url, &Default::default()).await.unwrap();
    source.migrate().await.unwrap();
    let id = source.create_staff_user("clear@example.org", "x", "dispatcher", "NL", 0).await.unwrap();
    let clear = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    source
        .execute_admin(&format!("UPDATE staff_users SET totp_secret = '{clear}', totp_enabled_at = 1 WHERE id = {id}"))
        .await
        .unwrap();
    source.close().await;

    let dir = std::env::temp_dir().join(unique("buurtnet_copy_secrets"));
    let secrets_path = dir.join("secrets.json");
    let secrets = buurtnet_server::secrets::load_or_create(&secrets_path, 0).unwrap();
    let target_url = empty_database(b).await;
    let (ok, out) = copy_db(&source_url, &target_url, &secrets_path);
    assert!(ok, "{out}");
    let target = buurtnet_store::Store::connect(&target_url, &Default::default()).await.unwrap();
    let stored = target.staff_user(id).await.unwrap().unwrap().totp_secret.unwrap();
    assert!(stored.starts_with("enc1:") && !stored.contains(clear), "{stored}");
    assert_eq!(secrets.totp_seal().unwrap().open(id, &stored).as_deref(), Some(clear), "it opens with the deployment's key");
    target.close().await;

    let without = empty_database(b).await;
    let (ok, out) = copy_db(&source_url, &without, &dir.join("missing.json"));
    assert!(ok && out.contains("not copied"), "{out}");
    let target = buurtnet_store::Store::connect(&without, &Default::default()).await.unwrap();
    let user = target.staff_user(id).await.unwrap().unwrap();
    assert_eq!((user.totp_secret, user.totp_enabled_at), (None, None), "no clear secret on the copy");
    target.close().await;
}
