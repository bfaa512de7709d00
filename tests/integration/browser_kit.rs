//! What every browser test shares: one chromedriver for the whole test process (Debian's
//! `chromium-driver`), a fresh headless Chromium session per test, axe-core run inside the page,
//! and screenshots kept as artefacts under `target/screenshots/`.

use fantoccini::{Client, ClientBuilder};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::sync::OnceCell;

static DRIVER: OnceCell<String> = OnceCell::const_new();

/// The address of the process-wide chromedriver, started on first use. A small shell watchdog
/// ends it when the test process is gone, so no driver outlives the tests.
pub async fn driver_url() -> &'static str {
    DRIVER
        .get_or_init(|| async {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
            assert!(
                std::path::Path::new(&bin).exists(),
                "{bin} is missing; install Debian's chromium and chromium-driver (.ci/run does)"
            );
            // The watchdog lives as long as the test process; nobody waits for it.
            #[allow(clippy::zombie_processes)]
            Command::new("sh")
                .arg("-c")
                .arg(r#""$0" --port="$1" --allowed-ips=127.0.0.1 & d=$!; while kill -0 "$2" 2>/dev/null; do sleep 1; done; kill "$d""#)
                .arg(&bin)
                .arg(port.to_string())
                .arg(std::process::id().to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("sh starts");
            let url = format!("http://127.0.0.1:{port}");
            let probe = reqwest::Client::new();
            for _ in 0..200 {
                if probe.get(format!("{url}/status")).send().await.is_ok_and(|r| r.status().is_success()) {
                    return url;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("chromedriver did not become ready");
        })
        .await
}

/// A new headless Chromium session (its own temporary profile), Dutch by default, with a
/// window of `width` × `height` CSS pixels.
pub async fn browser_sized(width: u32, height: u32) -> Client {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "prefs": {"intl.accept_languages": "nl-NL,nl"},
            "args": ["--headless=new", "--no-sandbox", "--lang=nl-NL", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     format!("--window-size={width},{height}")]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector).capabilities(caps).connect(driver_url().await).await.expect("chromium starts")
}

/// A desktop-sized session.
pub async fn browser() -> Client {
    browser_sized(1280, 900).await
}

/// Runs axe-core (from `web/node_modules`, the committed lock file's version) on the current page
/// and returns its serious and critical violations as `rule: selectors` lines.
pub async fn accessibility_problems(c: &Client) -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/web/node_modules/axe-core/axe.min.js");
    let source = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}; the build runs npm ci in web/"));
    c.execute(&format!("{source}\nwindow.axe = axe; return true;"), vec![]).await.expect("axe-core loads");
    let found = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations
               .filter(v => v.impact === 'serious' || v.impact === 'critical')
               .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))));",
            vec![],
        )
        .await
        .expect("axe-core runs");
    serde_json::from_value(found).expect("a list of strings")
}

/// Saves a screenshot of the current page as `target/screenshots/<name>.png` and checks that it
/// is a real picture.
pub async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("a screenshot");
    assert!(png.len() > 1000 && png.starts_with(b"\x89PNG"), "{name}: not a PNG");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("target/screenshots");
    std::fs::write(dir.join(format!("{name}.png")), &png).expect("screenshot written");
}
