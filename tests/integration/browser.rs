//! The resident's pages in a real headless Chromium (Debian's `chromium` and `chromedriver`):
//! sign up through the Dutch form, see the mail in the sandbox, open the confirmation link.

use crate::browser_kit::{accessibility_problems, browser, heading_is, screenshot, text_when};
use crate::common::{Backend, TestApp};
use fantoccini::Locator;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_and_confirm_in_a_real_browser() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = browser().await;

    c.goto(&app.at("/aanmelden")).await.unwrap();
    let h1 = c.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
    assert_eq!(h1, "Aanmelden");
    // The NL Design System stylesheet is bundled and applied (no inline styles under the CSP).
    let theme = c.execute("return getComputedStyle(document.body).getPropertyValue('--utrecht-button-primary-action-background-color') !== '' || getComputedStyle(document.body).getPropertyValue('--basis-text-font-family-default') !== ''", vec![]).await.unwrap();
    assert_eq!(theme, serde_json::json!(true), "the design tokens apply to the page");
    assert_eq!(accessibility_problems(&c).await, Vec::<String>::new());
    screenshot(&c, "sign-up").await;
    c.find(Locator::Id("email")).await.unwrap().send_keys("browser@example.org").await.unwrap();
    c.find(Locator::Id("phone")).await.unwrap().send_keys("06 14141414").await.unwrap();
    c.find(Locator::Id("postcode")).await.unwrap().send_keys("3522 HG").await.unwrap();
    c.find(Locator::Id("house_number")).await.unwrap().send_keys("70").await.unwrap();
    for id in ["ch_email", "ch_sms", "age"] {
        c.find(Locator::Id(id)).await.unwrap().click().await.unwrap();
    }
    c.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    heading_is(&c, "Bijna klaar").await;
    let contact = app.store.contact("email", "browser@example.org").await.unwrap().expect("registered");
    assert!(contact.verified_at.is_none());

    // The sandbox shows the mail as a mailbox; the link in it confirms the address.
    c.goto(&app.at("/sandbox")).await.unwrap();
    let mailbox = c.find(Locator::Css("div.mailbox[data-recipient='browser@example.org']")).await.unwrap();
    let text = mailbox.text().await.unwrap();
    assert!(text.contains("Bevestig je e-mailadres"), "{text}");
    let phone = c.find(Locator::Css("div.phone[data-recipient='+31614141414']")).await.unwrap().text().await.unwrap();
    assert!(phone.contains("Je buurtnet-code is"), "{phone}");
    screenshot(&c, "sandbox").await;
    let link = text.split_whitespace().find(|w| w.contains("/bevestigen/")).expect("a link").to_string();
    c.goto(&link).await.unwrap();
    assert!(
        app.store.contact("email", "browser@example.org").await.unwrap().unwrap().verified_at.is_none(),
        "opening the link confirms nothing"
    );
    c.find(Locator::Id("confirm")).await.unwrap().click().await.unwrap();
    text_when(&c, "p.ok", |t| t.contains("Je e-mailadres is bevestigd")).await;
    assert!(app.store.contact("email", "browser@example.org").await.unwrap().unwrap().verified_at.is_some());

    // English is one click away.
    c.goto(&app.at("/aanmelden")).await.unwrap();
    c.find(Locator::LinkText("English")).await.unwrap().click().await.unwrap();
    heading_is(&c, "Sign up").await;
    c.close().await.unwrap();
}
