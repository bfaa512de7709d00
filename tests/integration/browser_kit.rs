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
            // Up to a minute: the first browser test starts while every other test is busy.
            for _ in 0..1200 {
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
    session(serde_json::json!({}), &format!("--window-size={width},{height}")).await
}

/// A new headless Chromium session with `extra` merged into its `goog:chromeOptions` and one
/// more command-line argument (the window size).
pub async fn session(extra: serde_json::Value, window: &str) -> Client {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut options = serde_json::json!({
        "binary": chromium,
        "prefs": {"intl.accept_languages": "nl-NL,nl"},
        "args": ["--headless=new", "--no-sandbox", "--lang=nl-NL", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 window]
    });
    if let (Some(options), serde_json::Value::Object(extra)) = (options.as_object_mut(), extra) {
        options.extend(extra);
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    // On a loaded 2-core machine Chromium can miss chromedriver's start-up deadline; a new
    // session is cheap, so try a few times before calling it a failure.
    let mut last = None;
    for attempt in 0..3 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector).capabilities(caps.clone()).connect(driver_url().await).await {
            Ok(client) => return client,
            Err(e) => {
                eprintln!("chromium session attempt {attempt} failed: {e}");
                last = Some(e);
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
    panic!("chromium did not start: {last:?}")
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

/// Waits (up to 20 s) until the first `css` element's text satisfies `ok`, and returns it.
/// After a click the old page stays in place until the new one arrives, so a plain
/// `find` can read the old page's element or one that goes stale while it is read.
pub async fn text_when<F: Fn(&str) -> bool>(c: &Client, css: &str, ok: F) -> String {
    let mut last = String::new();
    for _ in 0..200 {
        if let Ok(el) = c.find(fantoccini::Locator::Css(css)).await
            && let Ok(text) = el.text().await
        {
            if ok(&text) {
                return text;
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let source = c.source().await.unwrap_or_default();
    panic!("{css} never got the expected text; last seen {last:?}; page: {source}");
}

/// Waits until the page's `h1` reads `expected`.
pub async fn heading_is(c: &Client, expected: &str) {
    text_when(c, "h1", |t| t == expected).await;
}

/// Waits until the first `css` element's text contains `needle`, and returns the text.
pub async fn text_containing(c: &Client, css: &str, needle: &str) -> String {
    text_when(c, css, |t| t.contains(needle)).await
}
