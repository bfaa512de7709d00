use crate::common::{Backend, TestApp, empty_database, example_registration, fresh_database, link_token};
use buurtnet_store::copy::TABLES;
use std::process::Command;

async fn table_counts(app: &TestApp) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for t in TABLES {
        out.push((t.name.to_string(), app.store.count_rows(t.name).await.unwrap()));
    }
    out
}

fn copy(from: &str, to: &str) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_buurtnet")).args(["copy-db", "--from", from, "--to", to]).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// SQLite → PostgreSQL → SQLite: every table, same counts, same content; links signed before
/// still work on the copies for servers that read the same secrets file (the deployment's),
/// and the copies hold nothing that could sign a link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_and_back() {
    let sqlite = fresh_database(Backend::Sqlite).await;
    let app = TestApp::spawn_on(&sqlite).await;
    for i in 0..3 {
        let (s, _) = app
            .post_json("/api/v1/participants", &example_registration(&format!("c{i}@example.org"), &format!("+3161234000{i}")))
            .await;
        assert_eq!(s, 202);
    }
    app.staff_token("admin", "NL").await;
    // An action with its messages and deliveries (a device of its own, so someone is reached).
    let dispatcher = app.staff_token("dispatcher", "NL").await;
    let resident = crate::alerting::resident(
        &app,
        crate::alerting::AMERSFOORT,
        &[buurtnet_domain::Channel::Push],
        &[buurtnet_domain::Topic::Urgent],
        "nl",
        vec![],
    )
    .await;
    assert!(resident.device.is_some());
    let body =
        serde_json::json!({"kind": "other", "status": "test", "area": {"areas": ["GM0307"]}, "title": "Kopie", "body": "Test."});
    let (s, v) = crate::alerting::post(&app, &dispatcher, "/api/v1/actions", &body).await;
    assert_eq!(s, 201, "{v}");
    let action = v["id"].as_i64().unwrap();
    crate::alerting::post(&app, &dispatcher, &format!("/api/v1/actions/{action}/send"), &serde_json::json!({})).await;
    crate::alerting::settle(&app, &dispatcher, action).await;
    // A national draft a second person approved: the approval (and the version) are copied.
    let amber = serde_json::json!({"kind": "missing_person", "level": "national", "status": "test", "title": "Kopie",
                                   "body": "Test.", "consent": {"by": "ouder"}});
    let (s, v) = crate::alerting::post(&app, &dispatcher, "/api/v1/actions", &amber).await;
    assert_eq!(s, 201, "{v}");
    let approved = v["id"].as_i64().unwrap();
    let second = app.staff_token("dispatcher", "NL").await;
    let approve = format!("/api/v1/actions/{approved}/approve");
    let (s, v) = crate::alerting::post(&app, &second, &approve, &serde_json::json!({"version": v["version"]})).await;
    assert_eq!(s, 200, "{v}");
    let approved_by = app.store.action(approved).await.unwrap().unwrap().approved_by;
    assert!(approved_by.is_some());
    // A CAP alert imported as a draft: its import record (keyed by sender and identifier) is copied.
    let cap = app
        .client
        .get(app.at(&format!("/api/v1/actions/{action}/cap")))
        .bearer_auth(&dispatcher)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let imported = app
        .client
        .post(app.at("/api/v1/cap"))
        .bearer_auth(&dispatcher)
        .header("content-type", "application/cap+xml")
        .body(cap)
        .send()
        .await
        .unwrap();
    assert_eq!(imported.status(), 201);
    app.post_json("/api/v1/participants/self-service-link", &serde_json::json!({"email": "c1@example.org"})).await;
    let token = link_token(app.sandbox("c1@example.org").await.last().unwrap()["body"].as_str().unwrap(), "/mijn/");
    let (_, original) = app.get_json(&format!("/api/v1/self-service/{token}")).await;
    let counts = table_counts(&app).await;
    assert!(counts.iter().any(|(t, n)| t == "areas" && *n > 9000));
    for table in ["actions", "messages", "deliveries", "cap_imports"] {
        assert!(counts.iter().any(|(t, n)| t == table && *n >= 1), "{table} has rows to copy: {counts:?}");
    }
    let app_secrets = app.secrets_file.clone();
    drop(app);

    let pg = empty_database(Backend::Postgres).await;
    let (ok, stdout, stderr) = copy(&sqlite, &pg);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("copied 38 tables from sqlite to postgres"), "{stdout}");
    let secrets = app_secrets.clone();
    let on_pg = TestApp::spawn_configured(&pg, |c| c.secrets_file = Some(secrets)).await;
    assert_eq!(table_counts(&on_pg).await, counts);
    assert_eq!(on_pg.store.action(approved).await.unwrap().unwrap().approved_by, approved_by, "the approval is copied");
    let id = |s: &buurtnet_store::Store| {
        let s = s.clone();
        async move { s.get_meta("database_id").await.unwrap() }
    };
    let source = buurtnet_store::Store::connect(&sqlite, &Default::default()).await.unwrap();
    assert_ne!(id(&on_pg.store).await, id(&source).await, "the copy has an identity of its own (replica snapshot files)");
    let (s, copied) = on_pg.get_json(&format!("/api/v1/self-service/{token}")).await;
    assert_eq!(s, 200);
    assert_eq!(copied, original, "the participant reads the same after the copy");
    assert_eq!(on_pg.get_json("/api/v1/areas/at?lat=52.1561&lon=5.3878").await.1["areas"][2]["code"], "GM0307");
    // New ids continue after the copied ones.
    let (s, _) = on_pg.post_json("/api/v1/participants", &example_registration("new@example.org", "+31612349999")).await;
    assert_eq!(s, 202);
    let counts_pg = table_counts(&on_pg).await;

    // Copying into a database that holds data is refused.
    let (ok, _, stderr) = copy(&sqlite, &pg);
    assert!(!ok && stderr.contains("already holds rows"), "{stderr}");
    drop(on_pg);

    let back = empty_database(Backend::Sqlite).await;
    let (ok, stdout, stderr) = copy(&pg, &back);
    assert!(ok, "{stdout}\n{stderr}");
    let secrets = app_secrets.clone();
    let again = TestApp::spawn_configured(&back, |c| c.secrets_file = Some(secrets)).await;
    assert_eq!(table_counts(&again).await, counts_pg);
    assert_eq!(again.get_json(&format!("/api/v1/self-service/{token}")).await.1, original);
    // Whoever holds only the copy cannot use the link, nor forge one from what the copy holds.
    let stranger = TestApp::spawn_on(&back).await;
    let (s, v) = stranger.get_json(&format!("/api/v1/self-service/{token}")).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("link_invalid")));
    assert!(stranger.store.admin_strings("SELECT key FROM meta").await.unwrap().iter().all(|k| !k.contains("secret")));
}
