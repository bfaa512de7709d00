//! The console map in a real headless Chromium: area names come from imported files and are
//! shown as text, never as markup (an area named `<img src=x>` shows those characters in its
//! tooltip; no image element appears).

use crate::browser_kit::{browser, heading_is};
use crate::common::{Backend, TestApp};
use fantoccini::Locator;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_area_name_with_markup_shows_as_text_in_the_map() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let name = "<img src=x id=from-area-name>";
    app.store.execute_admin(&format!("UPDATE areas SET name = '{name}' WHERE level = 'municipality'")).await.unwrap();
    let (id, email) = crate::console::staff(&app, "dispatcher", "RE03").await;
    app.store.set_skip_second_factor(id, true).await.unwrap();
    let c = browser().await;
    c.goto(&app.at("/console/aanmelden")).await.unwrap();
    for (field, text) in [("email", email.as_str()), ("password", "a long test password")] {
        c.find(Locator::Id(field)).await.unwrap().send_keys(text).await.unwrap();
    }
    c.find(Locator::Id("sign-in")).await.unwrap().click().await.unwrap();
    heading_is(&c, "Overzicht").await;
    c.find(Locator::Id("nav-map")).await.unwrap().click().await.unwrap();
    c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#map path.leaflet-interactive")).await.unwrap();

    // Hovering a municipality opens its tooltip.
    let shown = c
        .execute(
            "const p = document.querySelector('#map path.leaflet-interactive');
             const r = p.getBoundingClientRect();
             p.dispatchEvent(new MouseEvent('mouseover', {bubbles: true, clientX: r.left + 1, clientY: r.top + 1}));
             const t = document.querySelector('.leaflet-tooltip');
             return t ? [t.textContent, t.querySelectorAll('*').length, document.querySelectorAll('#from-area-name').length] : null;",
            vec![],
        )
        .await
        .unwrap();
    let shown = shown.as_array().unwrap_or_else(|| panic!("no tooltip opened: {shown}"));
    assert_eq!(shown[0], name, "the name as text");
    assert_eq!(shown[2], 0, "no element made from the name");
    assert!(shown[1].as_u64().unwrap() <= 1, "only the text's own span: {shown:?}");
    c.close().await.unwrap();
}
