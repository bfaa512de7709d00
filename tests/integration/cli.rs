use crate::common::{Backend, TestApp, fresh_database};
use crate::on_both_backends;
use std::io::Write;
use std::process::{Command, Stdio};

on_both_backends!(admin_accounts_and_tokens);

fn buurtnet(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_buurtnet")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn every_command_has_help() {
    for cmd in [
        &["--help"][..],
        &["serve", "--help"],
        &["demo", "--help"],
        &["migrate", "--help"],
        &["import-areas", "--help"],
        &["import-participants", "--help"],
        &["copy-db", "--help"],
        &["admin", "create-user", "--help"],
        &["admin", "create-token", "--help"],
        &["admin", "list-tokens", "--help"],
        &["admin", "revoke-token", "--help"],
        &["admin", "rotate-link-key", "--help"],
        &["admin", "disable-user", "--help"],
        &["admin", "enable-user", "--help"],
        &["admin", "reset-second-factor", "--help"],
        &["admin", "jobs", "--help"],
    ] {
        let (ok, stdout, _) = buurtnet(cmd);
        assert!(ok && stdout.contains("Usage"), "{cmd:?}");
    }
}

#[test]
fn bad_database_urls_are_clear_errors() {
    let (ok, _, stderr) = buurtnet(&["--database-url", "mysql://x/y", "migrate"]);
    assert!(!ok && stderr.contains("unknown database URL scheme 'mysql'"), "{stderr}");
    let (ok, _, stderr) = buurtnet(&["--database-url", "sqlite:///no/such/folder/b.db", "migrate"]);
    assert!(!ok && stderr.contains("folder /no/such/folder") && stderr.contains("does not exist"), "{stderr}");
    assert!(!std::path::Path::new("/no/such/folder").exists());
    let (ok, _, stderr) = buurtnet(&["--bind", "nowhere", "migrate"]);
    assert!(!ok && stderr.contains("--bind 'nowhere'"), "{stderr}");
}

#[test]
fn configuration_layers_file_then_environment_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("buurtnet.toml");
    std::fs::write(&cfg, "database_url = \"mysql://from-file\"\n").unwrap();
    let (ok, _, stderr) = buurtnet(&["--config", cfg.to_str().unwrap(), "migrate"]);
    assert!(!ok && stderr.contains("'mysql'"), "the file is read: {stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_buurtnet"))
        .args(["--config", cfg.to_str().unwrap(), "migrate"])
        .env("BUURTNET_DATABASE_URL", "oracle://from-env")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("'oracle'"), "the environment beats the file");
    let db = format!("sqlite://{}", dir.path().join("ok.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_buurtnet"))
        .args(["--config", cfg.to_str().unwrap(), "--database-url", &db, "migrate"])
        .env("BUURTNET_DATABASE_URL", "oracle://from-env")
        .output()
        .unwrap();
    assert!(out.status.success(), "the flag beats both: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(&cfg, "databse_url = \"typo\"\n").unwrap();
    let (ok, _, stderr) = buurtnet(&["--config", cfg.to_str().unwrap(), "migrate"]);
    assert!(!ok && stderr.contains("databse_url"), "unknown settings are named: {stderr}");
}

async fn admin_accounts_and_tokens(b: Backend) {
    let db = fresh_database(b).await;
    let create_dispatcher = [
        "--database-url",
        &db,
        "admin",
        "create-user",
        "--email",
        "centralist@politie.example.nl",
        "--role",
        "dispatcher",
        "--scope",
        "RE03",
    ];
    let (ok, stdout, stderr) = buurtnet(&create_dispatcher);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("password (shown once): "), "{stdout}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_buurtnet"))
        .args([
            "--database-url",
            &db,
            "admin",
            "create-user",
            "--email",
            "gemeente@amersfoort.example.nl",
            "--role",
            "municipality-officer",
            "--scope",
            "GM0307",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"a very long secret password\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("shown once"));

    for (args, expect) in [
        (vec!["--role", "boss", "--scope", "NL"], "--role 'boss' is not a role"),
        (vec!["--role", "admin", "--scope", "WK030701"], "--scope 'WK030701' is not a scope"),
        (vec!["--role", "admin", "--scope", "GM9998"], "no such area"),
    ] {
        let mut all = vec!["--database-url", db.as_str(), "admin", "create-user", "--email", "x@example.org"];
        all.extend(args);
        let (ok, _, stderr) = buurtnet(&all);
        assert!(!ok && stderr.contains(expect), "{stderr}");
    }
    let (ok, _, stderr) = buurtnet(&create_dispatcher);
    assert!(!ok && stderr.contains("already exists"), "{stderr}");

    // The e-mail is normalised as create-user does it.
    let (ok, token, stderr) =
        buurtnet(&["--database-url", &db, "admin", "create-token", "--email", " centralist@Politie.Example.NL "]);
    assert!(ok && token.starts_with("bn_"), "{stderr}");
    assert!(stderr.contains("valid until"), "{stderr}");
    let app = TestApp::spawn_on(&db).await;
    let r = app.client.get(app.at("/api/v1/staff/me")).bearer_auth(token.trim()).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let me: serde_json::Value = r.json().await.unwrap();
    assert_eq!((me["role"].as_str(), me["scope"].as_str()), (Some("dispatcher"), Some("RE03")));
    let user = app.store.staff_user_by_email("centralist@politie.example.nl").await.unwrap().unwrap();
    assert!(user.password_hash.starts_with("$argon2id$"));
    let audit = app.store.audit_entries(50).await.unwrap();
    assert!(audit.iter().filter(|e| e.action == "staff.created").count() >= 2);
    assert!(audit.iter().any(|e| e.action == "token.created"));
    assert!(!serde_json::to_string(&audit).unwrap().contains("politie.example.nl"), "no e-mail addresses in the audit log");

    // Tokens are listed (never shown again), and revoking one ends it at once.
    let (ok, list, _) = buurtnet(&["--database-url", &db, "admin", "list-tokens"]);
    assert!(ok && list.contains("centralist@politie.example.nl") && list.contains("valid"), "{list}");
    assert!(!list.contains(token.trim()), "the token itself is never listed");
    let id = list.lines().nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    let (ok, out, stderr) = buurtnet(&["--database-url", &db, "admin", "revoke-token", &id]);
    assert!(ok && out.contains("revoked"), "{stderr}");
    let r = app.client.get(app.at("/api/v1/staff/me")).bearer_auth(token.trim()).send().await.unwrap();
    assert_eq!(r.status(), 401, "a revoked token stops working at once");
    let (ok, _, stderr) = buurtnet(&["--database-url", &db, "admin", "revoke-token", &id]);
    assert!(!ok && stderr.contains("no valid token"), "{stderr}");
    let (ok, list, _) = buurtnet(&["--database-url", &db, "admin", "list-tokens", "--email", "centralist@politie.example.nl"]);
    assert!(ok && list.contains("revoked"), "{list}");
    let (ok, _, stderr) =
        buurtnet(&["--database-url", &db, "admin", "create-token", "--email", "centralist@politie.example.nl", "--days", "0"]);
    assert!(!ok && stderr.contains("--days"), "{stderr}");

    // Disabling an account ends its tokens at once; enabling it does not bring them back.
    let (_, token2, _) = buurtnet(&["--database-url", &db, "admin", "create-token", "--email", "centralist@politie.example.nl"]);
    assert_eq!(app.client.get(app.at("/api/v1/staff/me")).bearer_auth(token2.trim()).send().await.unwrap().status(), 200);
    let (ok, out, stderr) =
        buurtnet(&["--database-url", &db, "admin", "disable-user", "--email", "centralist@Politie.example.nl"]);
    assert!(ok && out.contains("disabled"), "{stderr}");
    assert_eq!(app.client.get(app.at("/api/v1/staff/me")).bearer_auth(token2.trim()).send().await.unwrap().status(), 401);
    let (ok, _, stderr) = buurtnet(&["--database-url", &db, "admin", "enable-user", "--email", "centralist@politie.example.nl"]);
    assert!(ok, "{stderr}");
    assert!(!app.store.staff_user_by_email("centralist@politie.example.nl").await.unwrap().unwrap().disabled);
    assert_eq!(app.client.get(app.at("/api/v1/staff/me")).bearer_auth(token2.trim()).send().await.unwrap().status(), 401);
    let (ok, _, stderr) = buurtnet(&["--database-url", &db, "admin", "reset-second-factor", "--email", "nobody@example.org"]);
    assert!(!ok && stderr.contains("no staff account"), "{stderr}");
}

/// `serve` never creates a database: a mistyped SQLite path or a database nobody migrated is a
/// clear error that says what to run; the file is not created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_missing_or_unmigrated_databases() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("buurnet.db");
    let url = format!("sqlite://{}", typo.display());
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_buurtnet"))
        .args(["--database-url", &url, "--bind", "127.0.0.1:0", "serve"])
        .env("BUURTNET_DATA_DIR", data)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("does not exist") && stderr.contains("buurtnet migrate"), "{stderr}");
    assert!(!typo.exists(), "no empty database was created");
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let empty = crate::common::empty_database(backend).await;
        if backend == Backend::Sqlite {
            // An empty file, as `touch` makes it.
            std::fs::write(empty.trim_start_matches("sqlite://"), b"").unwrap();
        }
        let out = Command::new(env!("CARGO_BIN_EXE_buurtnet"))
            .args(["--database-url", &empty, "--bind", "127.0.0.1:0", "serve"])
            .env("BUURTNET_DATA_DIR", data)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains("never been migrated") && stderr.contains("buurtnet migrate"),
            "{backend:?}: {stderr}"
        );
    }
}

/// `BUURTNET_ABUSE_LIMITS=off` is accepted and said loudly at start, as is the sandbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_limits_off_is_announced() {
    use std::io::{BufRead, BufReader};
    let db = fresh_database(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_buurtnet"))
        .args(["--database-url", &db, "--bind", "127.0.0.1:0", "serve"])
        .env("BUURTNET_ABUSE_LIMITS", "off")
        .env("BUURTNET_DATA_DIR", dir.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stderr.take().unwrap();
    let lines = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let done = line.contains("ABUSE LIMITS ARE OFF");
            seen.push(line);
            if done {
                break;
            }
        }
        seen
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !lines.is_finished() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let seen = lines.join().unwrap().join("\n");
    assert!(seen.contains("ABUSE LIMITS ARE OFF"), "{seen}");
    assert!(seen.contains("SANDBOX PROVIDERS"), "{seen}");
    let (ok, _, stderr) = {
        let out = Command::new(env!("CARGO_BIN_EXE_buurtnet"))
            .args(["--database-url", &db, "migrate"])
            .env("BUURTNET_ABUSE_LIMITS", "sometimes")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert!(!ok && stderr.contains("abuse_limits"), "{stderr}");
}
