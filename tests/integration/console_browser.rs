//! The staff console in a real headless Chromium (the shared chromedriver of `browser_kit`):
//! a dispatcher signs in with a TOTP second factor (enrolling it), places a circle on the map and
//! sees the live count, previews and sends an action with one confirmation, sees its message in
//! the sandbox and closes it. axe-core finds no serious or critical problem on the pages;
//! screenshots go to `target/screenshots/`.

use crate::alerting::{AMERSFOORT, resident};
use crate::browser_kit::{accessibility_problems, browser, heading_is, screenshot, text_when};
use crate::common::{Backend, TestApp};
use buurtnet_domain::{Channel, Topic};
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::{Client, Locator};
use std::time::Duration;

/// The text of the first element matching `css`, waiting for it (and trying again when the
/// page is replaced meanwhile).
/// The text of the first `css` element, once there.
async fn text_of(c: &Client, css: &str) -> String {
    text_when(c, css, |_| true).await
}

async fn type_into(c: &Client, id: &str, text: &str) {
    let el = c.find(Locator::Id(id)).await.unwrap();
    el.clear().await.unwrap();
    el.send_keys(text).await.unwrap();
}

pub(crate) async fn no_accessibility_problems(c: &Client, page: &str) {
    let problems = accessibility_problems(c).await;
    assert!(problems.is_empty(), "{page}: {problems:#?}");
}

/// Waits until `f` holds, polling (the browser and the delivery workers run on their own).
async fn until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatcher_signs_in_with_totp_draws_sends_and_closes() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let person = resident(&app, AMERSFOORT, &[Channel::Email], &[Topic::Urgent], "nl", vec![]).await;
    let (_, email) = crate::console::staff(&app, "dispatcher", "RE03").await;
    let c = browser().await;

    // Sign in: password, then enrol the second factor (the key is shown beside the QR code).
    c.goto(&app.at("/console/aanmelden")).await.unwrap();
    if c.find(Locator::Css("h1")).await.is_err() {
        panic!("{} {}", c.current_url().await.unwrap(), c.source().await.unwrap());
    }
    assert_eq!(text_of(&c, "h1").await, "Inloggen");
    no_accessibility_problems(&c, "sign-in").await;
    screenshot(&c, "console-sign-in").await;
    type_into(&c, "email", &email).await;
    type_into(&c, "password", "a long test password").await;
    c.find(Locator::Id("sign-in")).await.unwrap().click().await.unwrap();
    if c.wait().at_most(Duration::from_secs(5)).for_element(Locator::Id("totp-key")).await.is_err() {
        panic!("{}", c.source().await.unwrap());
    }
    let key = text_of(&c, "#totp-key").await;
    assert!(c.find(Locator::Id("qr")).await.is_ok(), "the QR code is shown");
    no_accessibility_problems(&c, "enrolment").await;
    screenshot(&c, "console-enrol").await;
    let code = buurtnet_server::console::totp::code_at(&key, app.clock_ms() / 1000).unwrap();
    type_into(&c, "code", &code).await;
    c.find(Locator::Id("confirm-code")).await.unwrap().click().await.unwrap();
    if c.wait().at_most(Duration::from_secs(5)).for_element(Locator::Id("who-email")).await.is_err() {
        panic!("the second step did not sign in: {} {}", c.current_url().await.unwrap(), c.source().await.unwrap());
    }
    heading_is(&c, "Overzicht").await;
    assert_eq!(text_of(&c, "#who-email").await, email);
    no_accessibility_problems(&c, "dashboard").await;

    // The map: the base layer of area outlines loads; a click places the incident, the typed
    // centre and radius move the circle, and the count follows.
    c.find(Locator::Id("nav-map")).await.unwrap().click().await.unwrap();
    c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#map path.leaflet-interactive")).await.unwrap();
    c.find(Locator::Id("map")).await.unwrap().click().await.unwrap();
    until("a centre from the click", || async {
        !c.find(Locator::Id("lat")).await.unwrap().prop("value").await.unwrap().unwrap_or_default().is_empty()
    })
    .await;
    type_into(&c, "lat", &AMERSFOORT.0.to_string()).await;
    type_into(&c, "lon", &AMERSFOORT.1.to_string()).await;
    type_into(&c, "radius", "1500").await;
    until("the count of one person", || async {
        match c.find(Locator::Id("reach-people")).await {
            Ok(el) => el.attr("data-people").await.ok().flatten().as_deref() == Some("1"),
            Err(_) => false,
        }
    })
    .await;
    let channels = text_of(&c, "#reach-channels").await;
    assert!(channels.contains("email: 1"), "{channels}");
    // Dragging the handle on the circle's edge sizes the circle (the radius field follows).
    let handle = c.find(Locator::Css(".radius-handle")).await.unwrap();
    let drag = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement { element: handle, duration: None, x: 0.0, y: 0.0 })
        .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
        .then(PointerAction::MoveBy { duration: Some(Duration::from_millis(300)), x: 40.0, y: 0.0 })
        .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
    c.perform_actions(drag).await.unwrap();
    let radius: u32 = c.find(Locator::Id("radius")).await.unwrap().prop("value").await.unwrap().unwrap().parse().unwrap();
    assert!(radius > 1500, "dragging outwards made the circle larger: {radius}");

    // Kind, description, previews per channel, then send with one confirmation.
    c.find(Locator::Css("#kind option[value=suspect]")).await.unwrap().click().await.unwrap();
    c.find(Locator::Css("#status option[value=exercise]")).await.unwrap().click().await.unwrap();
    type_into(&c, "title", "Verdachte man op de vlucht").await;
    type_into(&c, "body", "Man, 30 jaar, rode jas, op een fiets richting het station. Niet benaderen.").await;
    c.find(Locator::Id("make-preview")).await.unwrap().click().await.unwrap();
    until("the previews", || async { c.find(Locator::Id("send-box")).await.unwrap().is_displayed().await.unwrap_or(false) })
        .await;
    let parts: u32 = text_of(&c, "#pv-sms-segments").await.parse().unwrap();
    assert!((1..=8).contains(&parts), "the SMS preview counts its parts: {parts}");
    assert!(text_of(&c, "#pv-sms").await.contains("rode jas"));
    assert!(text_of(&c, "#pv-voice").await.contains("rode jas"));
    assert!(!text_of(&c, "#pv-en").await.is_empty(), "the English variant is previewed too");
    no_accessibility_problems(&c, "map").await;
    screenshot(&c, "console-map").await;
    c.find(Locator::Id("send")).await.unwrap().click().await.unwrap();
    assert!(app.store.actions(Some("active"), None, 10).await.unwrap().is_empty(), "nothing is sent before the confirmation");
    c.find(Locator::Id("confirm-send")).await.unwrap().click().await.unwrap();
    until("the live page", || async { c.current_url().await.unwrap().path().starts_with("/console/acties/") }).await;
    let h1 = text_when(&c, "h1", |t| t.starts_with("Actie ")).await;
    assert!(h1.starts_with("Actie ") && h1.contains("Verdachte man"), "{h1}");
    let action = app.store.actions(Some("active"), None, 10).await.unwrap();
    assert_eq!(action.len(), 1);

    // The message reaches the resident (the sandbox shows it).
    until("the alert in the sandbox", || async { !app.sandbox(&person.email).await.is_empty() }).await;
    c.goto(&app.at("/sandbox")).await.unwrap();
    let mailbox = text_of(&c, &format!("div.mailbox[data-recipient='{}']", person.email)).await;
    assert!(mailbox.contains("rode jas"), "{mailbox}");

    // The live page shows the e-mail delivery; closing sends the closing message.
    c.goto(&app.at(&format!("/console/acties/{}", action[0].id))).await.unwrap();
    until("the delivery on the live page", || async {
        let _ = c.refresh().await;
        c.find(Locator::Css("#deliveries tr[data-channel=email]")).await.is_ok()
    })
    .await;
    // A resident's tip (through the link in the alert) appears on the open page by itself,
    // through the live feed (the page's own refresh is every 30 s).
    let alert = app.sandbox(&person.email).await.into_iter().find(|m| m["channel"] == "email").unwrap();
    let link = crate::common::link_token(alert["body"].as_str().unwrap(), &format!("{}/antwoord/", app.url));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (s, v) = crate::enquiries::reply(&app, &link, "Rode jas gezien bij de Kamp, richting station.", "", vec![]).await;
    assert_eq!(s, 201, "{v}");
    for _ in 0..80 {
        if c.find(Locator::Css("#tips li[data-tip]")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(text_of(&c, "#tips li[data-tip]").await.contains("Rode jas gezien"), "the tip arrived live");
    no_accessibility_problems(&c, "action").await;
    screenshot(&c, "console-action").await;
    c.find(Locator::Id("out-indirect")).await.unwrap().click().await.unwrap();
    type_into(&c, "close-body", "De man is aangehouden. Dank voor het uitkijken.").await;
    c.find(Locator::Id("close-action")).await.unwrap().click().await.unwrap();
    text_when(&c, "#state", |t| t == "closed").await;
    assert_eq!(text_of(&c, "#outcome").await, "indirect");
    until("the closing message", || async { app.sandbox(&person.email).await.len() >= 2 }).await;
    let last = app.sandbox(&person.email).await.last().cloned().unwrap();
    assert!(last.to_string().contains("aangehouden"), "{last}");

    // The admin pages, for the record.
    let (admin_id, admin_email) = crate::console::staff(&app, "admin", "NL").await;
    app.store.set_skip_second_factor(admin_id, true).await.unwrap();
    let a = browser().await;
    a.goto(&app.at("/console/aanmelden?lang=en")).await.unwrap();
    assert_eq!(text_of(&a, "h1").await, "Sign in");
    type_into(&a, "email", &admin_email).await;
    type_into(&a, "password", "a long test password").await;
    a.find(Locator::Id("sign-in")).await.unwrap().click().await.unwrap();
    heading_is(&a, "Overview").await;
    a.goto(&app.at("/console/beheer/medewerkers")).await.unwrap();
    assert!(text_of(&a, "#staff").await.contains(&email));
    no_accessibility_problems(&a, "staff").await;
    screenshot(&a, "console-staff").await;
    a.goto(&app.at("/console/beheer/audit")).await.unwrap();
    let audit = text_of(&a, "#audit").await;
    assert!(audit.contains("staff.sign_in") && audit.contains("action."), "{audit}");
    no_accessibility_problems(&a, "audit").await;
    screenshot(&a, "console-audit").await;
    a.close().await.unwrap();
    c.close().await.unwrap();
}

/// Signs in an account that skips the second factor (set here; the TOTP path is proven above).
async fn signed_in(app: &TestApp, role: &str, scope: &str) -> (Client, i64) {
    signed_in_on(app, role, scope, browser().await).await
}

pub(crate) async fn signed_in_on(app: &TestApp, role: &str, scope: &str, c: Client) -> (Client, i64) {
    let (id, email) = crate::console::staff(app, role, scope).await;
    app.store.set_skip_second_factor(id, true).await.unwrap();
    c.goto(&app.at("/console/aanmelden")).await.unwrap();
    type_into(&c, "email", &email).await;
    type_into(&c, "password", "a long test password").await;
    c.find(Locator::Id("sign-in")).await.unwrap().click().await.unwrap();
    heading_is(&c, "Overzicht").await;
    (c, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enquiry_four_eyes_in_the_ui_and_a_handler_answers_a_reply() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let person = resident(&app, AMERSFOORT, &[Channel::Email], &[Topic::Enquiry], "nl", vec![]).await;

    // An approver requests an enquiry through the form…
    let (a, _) = signed_in(&app, "approver", "RE03").await;
    a.find(Locator::Id("nav-enquiries")).await.unwrap().click().await.unwrap();
    a.find(Locator::Css("#incident_type option[value=burglary]")).await.unwrap().click().await.unwrap();
    a.execute("document.getElementById('occurred_at').value = '2026-11-22T10:00'; return true;", vec![]).await.unwrap();
    type_into(&a, "e-lat", &AMERSFOORT.0.to_string()).await;
    type_into(&a, "e-lon", &AMERSFOORT.1.to_string()).await;
    type_into(&a, "description", "Inbraak in een woning aan de Stationsstraat; de daders gingen er op een scooter vandoor.")
        .await;
    type_into(&a, "questions", "Heeft u tussen 9:30 en 10:30 uur iets verdachts gezien of gehoord?").await;
    no_accessibility_problems(&a, "enquiries").await;
    screenshot(&a, "console-enquiries").await;
    a.find(Locator::Id("request-enquiry")).await.unwrap().click().await.unwrap();
    until("the new enquiry's page", || async {
        if let Ok(e) = a.find(Locator::Id("enquiry-error")).await {
            panic!("the request was refused: {}", e.text().await.unwrap());
        }
        a.current_url().await.unwrap().path().starts_with("/console/buurtonderzoek/")
    })
    .await;
    let h1 = text_when(&a, "h1", |t| t.starts_with("Buurtonderzoek ")).await;
    assert!(h1.starts_with("Buurtonderzoek ") && h1.contains("Woninginbraak"), "{h1}");
    assert_eq!(text_of(&a, "#enquiry-state").await, "requested");
    // The request gets a photo (uploaded by the page's script to the API with the session's
    // CSRF token); its GPS position goes, and the page shows it.
    let file = std::env::temp_dir().join(format!("buurtnet-request-photo-{}.jpg", std::process::id()));
    std::fs::write(&file, crate::enquiries::jpeg_with_gps()).unwrap();
    a.find(Locator::Id("request-photo-file")).await.unwrap().send_keys(&file.display().to_string()).await.unwrap();
    a.find(Locator::Id("upload-photo")).await.unwrap().click().await.unwrap();
    until("the photo on the page", || async { a.find(Locator::Id("request-photo-shown")).await.is_ok() }).await;
    no_accessibility_problems(&a, "enquiry-with-photo").await;
    screenshot(&a, "console-enquiry-request-photo").await;
    let _ = std::fs::remove_file(&file);
    let (photo, _, _) =
        app.store.enquiry_photo(app.store.enquiries(None, None, 10).await.unwrap()[0].id).await.unwrap().expect("stored");
    let jpeg = app.client.get(app.at(&format!("/media/{photo}.jpg"))).send().await.unwrap().bytes().await.unwrap();
    assert!(jpeg.starts_with(&[0xFF, 0xD8]) && !jpeg.windows(4).any(|w| w == b"Exif"), "re-encoded without EXIF");
    // …and may not approve it themselves: the page says so and nothing is sent.
    a.find(Locator::Id("approve")).await.unwrap().click().await.unwrap();
    let refusal = text_of(&a, "#enquiry-error").await;
    assert!(refusal.contains("Geweigerd") && refusal.contains("four-eyes"), "{refusal}");
    assert_eq!(text_of(&a, "#enquiry-state").await, "requested");
    let id: i64 = a.current_url().await.unwrap().path().rsplit('/').nth(1).unwrap().parse().unwrap_or(0);
    let id = if id == 0 { app.store.enquiries(None, None, 10).await.unwrap()[0].id } else { id };

    // A requester sees no approval button at all.
    let (r, _) = signed_in(&app, "requester", "RE03").await;
    r.goto(&app.at(&format!("/console/buurtonderzoek/{id}"))).await.unwrap();
    assert_eq!(text_of(&r, "#enquiry-state").await, "requested");
    assert!(r.find(Locator::Id("approve")).await.is_err(), "no approve button for a requester");

    // Another approver approves: it goes out.
    let (b, _) = signed_in(&app, "approver", "RE03").await;
    b.goto(&app.at(&format!("/console/buurtonderzoek/{id}"))).await.unwrap();
    b.find(Locator::Id("approve")).await.unwrap().click().await.unwrap();
    until("the enquiry sent", || async {
        b.find(Locator::Id("enquiry-state")).await.ok().is_some() && text_of(&b, "#enquiry-state").await == "sent"
    })
    .await;

    // The resident replies through the personal link in the mail.
    until("the enquiry mail", || async { app.sandbox(&person.email).await.iter().any(|m| m.to_string().contains("/antwoord/")) })
        .await;
    let mail = app.sandbox(&person.email).await.into_iter().find(|m| m.to_string().contains("/antwoord/")).unwrap();
    let token = crate::common::link_token(mail["body"].as_str().unwrap(), &format!("{}/antwoord/", app.url));
    let (s, v) = crate::enquiries::reply(&app, &token, "Ik zag om 9:45 een scooter met twee mannen wegrijden.", "", vec![]).await;
    assert!(s == 200 || s == 201, "{s} {v}");

    // A handler classifies and answers it in the console; the resident gets the answer.
    let (h, _) = signed_in(&app, "handler", "GM0307").await;
    h.goto(&app.at(&format!("/console/buurtonderzoek/{id}"))).await.unwrap();
    let reply = h.find(Locator::Css("article.reply")).await.unwrap();
    assert!(reply.text().await.unwrap().contains("scooter met twee mannen"));
    let reply_id = reply.attr("data-reply").await.unwrap().unwrap();
    h.find(Locator::Css(&format!("#class-{reply_id} option[value=relevant]"))).await.unwrap().click().await.unwrap();
    h.find(Locator::Id(&format!("classify-{reply_id}"))).await.unwrap().click().await.unwrap();
    until("the classification", || async {
        h.find(Locator::Css(".reply-status")).await.ok().is_some() && text_of(&h, ".reply-status").await == "classified"
    })
    .await;
    no_accessibility_problems(&h, "enquiry").await;
    screenshot(&h, "console-enquiry").await;
    h.find(Locator::Css(&format!("#tpl-{reply_id} option[value=used]"))).await.unwrap().click().await.unwrap();
    h.find(Locator::Id(&format!("answer-button-{reply_id}"))).await.unwrap().click().await.unwrap();
    let answer = text_of(&h, ".reply-answer").await;
    assert!(answer.contains("onderzoeksteam"), "{answer}");
    until("the answer in the sandbox", || async {
        app.sandbox(&person.email).await.iter().any(|m| m.to_string().contains("Uw informatie is doorgegeven"))
    })
    .await;
    let audit: Vec<String> = app.store.audit_entries(200).await.unwrap().into_iter().map(|e| e.action).collect();
    for wanted in ["enquiry.approve_refused", "enquiry.approve", "replies.read", "reply.classify"] {
        assert!(audit.iter().any(|a| a == wanted), "{wanted} in {audit:?}");
    }
    for c in [a, r, b, h] {
        c.close().await.unwrap();
    }
}

/// The console's menu (an admin's has the most items) wraps on a phone: nothing on the page
/// scrolls sideways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_menu_fits_a_phone() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (c, _) = signed_in_on(&app, "admin", "NL", crate::browser_kit::browser_sized(390, 900).await).await;
    let widths = c.execute("return [document.documentElement.scrollWidth, window.innerWidth]", vec![]).await.unwrap();
    let (scroll, inner) = (widths[0].as_f64().unwrap(), widths[1].as_f64().unwrap());
    assert!(inner < 600.0, "not a phone-sized window: {widths}");
    assert!(scroll <= inner, "the console scrolls sideways on a phone: {widths}");
    screenshot(&c, "console-home-phone").await;
    c.close().await.unwrap();
}
