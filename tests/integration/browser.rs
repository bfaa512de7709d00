//! The resident's pages in a real headless Chromium (Debian's `chromium` and `chromedriver`):
//! sign up through the Dutch form, see the mail in the sandbox, open the confirmation link.

use crate::common::{Backend, TestApp};
use fantoccini::{ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn chromedriver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let mut child = Command::new(&bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin} ({e}); install Debian's chromium-driver (.ci/run does)"));
    let url = format!("http://127.0.0.1:{port}");
    let probe = reqwest::Client::new();
    for _ in 0..200 {
        if probe.get(format!("{url}/status")).send().await.is_ok_and(|r| r.status().is_success()) {
            return Driver { child, url, _profile: tempfile::tempdir().unwrap() };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("chromedriver did not become ready");
}

async fn browser(driver: &Driver) -> fantoccini::Client {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "prefs": {"intl.accept_languages": "nl-NL,nl"},
            "args": ["--headless=new", "--no-sandbox", "--lang=nl-NL", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     format!("--user-data-dir={}", driver._profile.path().display())]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector).capabilities(caps).connect(&driver.url).await.expect("chromium starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_and_confirm_in_a_real_browser() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let driver = chromedriver().await;
    let c = browser(&driver).await;

    c.goto(&app.at("/aanmelden")).await.unwrap();
    let h1 = c.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
    assert_eq!(h1, "Aanmelden");
    c.find(Locator::Id("email")).await.unwrap().send_keys("browser@example.org").await.unwrap();
    c.find(Locator::Id("phone")).await.unwrap().send_keys("06 14141414").await.unwrap();
    c.find(Locator::Id("postcode")).await.unwrap().send_keys("3522 HG").await.unwrap();
    c.find(Locator::Id("house_number")).await.unwrap().send_keys("70").await.unwrap();
    for id in ["ch_email", "ch_sms", "age"] {
        c.find(Locator::Id(id)).await.unwrap().click().await.unwrap();
    }
    c.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    let h1 = c.wait().for_element(Locator::Css("h1")).await.unwrap().text().await.unwrap();
    assert_eq!(h1, "Bijna klaar", "{}", c.source().await.unwrap());
    let contact = app.store.contact("email", "browser@example.org").await.unwrap().expect("registered");
    assert!(contact.verified_at.is_none());

    // The sandbox shows the mail as a mailbox; the link in it confirms the address.
    c.goto(&app.at("/sandbox")).await.unwrap();
    let mailbox = c.find(Locator::Css("div.mailbox[data-recipient='browser@example.org']")).await.unwrap();
    let text = mailbox.text().await.unwrap();
    assert!(text.contains("Bevestig je e-mailadres"), "{text}");
    let phone = c.find(Locator::Css("div.phone[data-recipient='+31614141414']")).await.unwrap().text().await.unwrap();
    assert!(phone.contains("Je buurtnet-code is"), "{phone}");
    let png = c.screenshot().await.unwrap();
    assert!(png.len() > 1000 && png.starts_with(b"\x89PNG"));
    let _ = std::fs::write(std::env::temp_dir().join("buurtnet-sandbox.png"), &png);
    let link = text.split_whitespace().find(|w| w.contains("/bevestigen/")).expect("a link").to_string();
    c.goto(&link).await.unwrap();
    assert!(
        app.store.contact("email", "browser@example.org").await.unwrap().unwrap().verified_at.is_none(),
        "opening the link confirms nothing"
    );
    c.find(Locator::Id("confirm")).await.unwrap().click().await.unwrap();
    let body = c.wait().for_element(Locator::Css("p.ok")).await.unwrap().text().await.unwrap();
    assert!(body.contains("Je e-mailadres is bevestigd"), "{body}");
    assert!(app.store.contact("email", "browser@example.org").await.unwrap().unwrap().verified_at.is_some());

    // English is one click away.
    c.goto(&app.at("/aanmelden")).await.unwrap();
    c.find(Locator::LinkText("English")).await.unwrap().click().await.unwrap();
    let h1 = c.wait().for_element(Locator::Css("h1")).await.unwrap().text().await.unwrap();
    assert_eq!(h1, "Sign up");
    c.close().await.unwrap();
}
