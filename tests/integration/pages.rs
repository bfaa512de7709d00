use crate::common::{Backend, TestApp, link_token};
use crate::on_both_backends;

on_both_backends!(register_by_web_form_with_csrf, self_service_pages);

pub(crate) fn csrf(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    html[start..].split('"').next().unwrap().to_string()
}

pub(crate) async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let r = app.client.get(app.at(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

pub(crate) async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let body: String = form.iter().map(|(k, v)| format!("{k}={}", crate::common::urlencode(v))).collect::<Vec<_>>().join("&");
    let r = app
        .client
        .post(app.at(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn html_of_confirm(app: &TestApp, token: &str) -> String {
    page(app, &format!("/bevestigen/{token}")).await.1
}

async fn register_by_web_form_with_csrf(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (s, html) = page(&app, "/aanmelden").await;
    assert_eq!(s, 200);
    assert!(html.contains("Aanmelden") && html.contains("bel altijd eerst 112"), "Dutch by default");
    let (_, en) = page(&app, "/aanmelden?lang=en").await;
    assert!(en.contains("Sign up") && en.contains("call 112 first"));
    let token = csrf(&en);

    // Without the token: refused, nothing stored.
    let (s, _) =
        post_form(&app, "/aanmelden", &[("email", "web@example.org"), ("csrf", "forged-forged-forged-forged-forged-00")]).await;
    assert_eq!(s, 400);

    // Bad input: the form comes back with the problems in Dutch.
    let (s, html) = post_form(
        &app,
        "/aanmelden",
        &[
            ("csrf", &token),
            ("lang", "nl"),
            ("email", "web@"),
            ("postcode", "0000"),
            ("house_number", "1"),
            ("channels", "email"),
        ],
    )
    .await;
    assert_eq!(s, 422);
    assert!(html.contains("Dit is geen geldig e-mailadres.") && html.contains("Dit is geen Nederlandse postcode"), "{html}");
    assert!(html.contains("value=\"web@\""), "what the person typed stays in the form");
    assert_eq!(app.store.count_rows("participants").await.unwrap(), 0);

    let (s, html) = post_form(
        &app,
        "/aanmelden",
        &[
            ("csrf", &token),
            ("lang", "nl"),
            ("email", "web@example.org"),
            ("phone", "0612121212"),
            ("postcode", "3522 HG"),
            ("house_number", "70"),
            ("channels", "email"),
            ("channels", "sms"),
            ("channels", "voice"),
            ("quiet_voice", "on"),
            ("topics", "urgent"),
            ("topics", "information"),
            ("age_confirmed", "on"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("Bijna klaar"));
    let c = app.store.contact("email", "web@example.org").await.unwrap().unwrap();
    let p = app.store.participant(c.participant_id).await.unwrap().unwrap();
    assert_eq!(p.participant.topics, 1 | 4);
    assert!(p.addresses[0].quiet_hours.contains("\"voice\""), "{}", p.addresses[0].quiet_hours);

    // The link in the e-mail shows a page with a button; opening it (as a mail scanner does)
    // confirms nothing. The button's POST, with the form's CSRF token, confirms.
    let link = link_token(app.sandbox("web@example.org").await[0]["body"].as_str().unwrap(), "/bevestigen/");
    let (s, html) = page(&app, &format!("/bevestigen/{link}")).await;
    assert_eq!(s, 200);
    assert!(html.contains("E-mailadres bevestigen") && html.contains("<button"), "{html}");
    assert!(app.store.contact("email", "web@example.org").await.unwrap().unwrap().verified_at.is_none(), "GET confirms nothing");
    let (s, html) = post_form(&app, &format!("/bevestigen/{link}"), &[("csrf", "forged-forged-forged-forged-forged-1")]).await;
    assert_eq!(s, 400, "a forged CSRF token confirms nothing: {html}");
    assert!(app.store.contact("email", "web@example.org").await.unwrap().unwrap().verified_at.is_none());
    let (s, html) =
        post_form(&app, &format!("/bevestigen/{link}"), &[("csrf", &csrf(&html_of_confirm(&app, &link).await))]).await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("Je e-mailadres is bevestigd"));
    assert!(app.store.contact("email", "web@example.org").await.unwrap().unwrap().verified_at.is_some());
    let garbage = html_of_confirm(&app, "garbage").await;
    let (s, html) = post_form(&app, "/bevestigen/garbage", &[("csrf", &csrf(&garbage))]).await;
    assert_eq!(s, 400);
    assert!(html.contains("Deze link is niet geldig") && html.contains("Verzoek-ID"), "{html}");

    // The SMS code on the phone page.
    let code = crate::common::sms_code(app.sandbox("+31612121212").await[0]["body"].as_str().unwrap());
    let (_, html) = page(&app, "/telefoon").await;
    let (s, html) = post_form(&app, "/telefoon", &[("csrf", &csrf(&html)), ("phone", "06 12121212"), ("code", &code)]).await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("Je telefoonnummer is bevestigd"));
}

async fn self_service_pages(b: Backend) {
    let app = TestApp::spawn(b).await;
    let body = crate::common::example_registration("self@example.org", "+31613131313");
    assert_eq!(app.post_json("/api/v1/participants", &body).await.0, 202);
    let (_, html) = page(&app, "/mijn").await;
    let (s, html) = post_form(&app, "/mijn", &[("csrf", &csrf(&html)), ("contact", "self@example.org")]).await;
    assert_eq!(s, 200);
    assert!(html.contains("hebben we je een link gestuurd"));
    let token = link_token(app.sandbox("self@example.org").await.last().unwrap()["body"].as_str().unwrap(), "/mijn/");
    let (s, html) = page(&app, &format!("/mijn/{token}")).await;
    assert_eq!(s, 200);
    assert!(html.contains("self@example.org") && html.contains("3522HG 70"), "{html}");
    let form_token = csrf(&html);
    let (s, html) = post_form(&app, &format!("/mijn/{token}"), &[("csrf", &form_token), ("action", "pause")]).await;
    assert_eq!(s, 200);
    assert!(html.contains("Gepauzeerd"), "{html}");
    let c = app.store.contact("email", "self@example.org").await.unwrap().unwrap();
    assert!(app.store.participant(c.participant_id).await.unwrap().unwrap().participant.paused);
    let (s, html) = post_form(&app, &format!("/mijn/{token}"), &[("csrf", &form_token), ("action", "delete")]).await;
    assert_eq!(s, 200);
    assert!(html.contains("zijn verwijderd"));
    assert_eq!(app.store.count_rows("participants").await.unwrap(), 0);
}

/// The bundled front end: linked with its hash, cacheable for good under that hash, revalidated
/// otherwise, compressed on request; pages carry a CSP that allows no inline style or script.
#[tokio::test]
async fn bundled_assets_are_served_cacheable_and_compressed() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let r = app.client.get(app.at("/aanmelden")).send().await.unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = r.text().await.unwrap();
    assert!(!html.contains("<style") && !html.contains(" style="), "no inline styles on a page");
    let start = html.find("/assets/base.css?v=").expect("the stylesheet is linked with its hash");
    let href = html[start..].split('"').next().unwrap().to_string();

    let r = app.client.get(app.at(&href)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(r.headers()["cache-control"], "public, max-age=31536000, immutable");
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let css = r.text().await.unwrap();
    assert!(css.contains(".utrecht-button") && css.contains(".voorbeeld-theme"));

    // Without the hash: revalidated; with the ETag: 304 and no body.
    let r = app.client.get(app.at("/assets/base.css")).send().await.unwrap();
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let r = app.client.get(app.at("/assets/base.css")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(r.status(), 304);

    // Compressed when the browser says it can take it (reqwest here sends no Accept-Encoding
    // by itself, so the raw bytes are compared).
    let r = app.client.get(app.at(&href)).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let gz = r.bytes().await.unwrap();
    assert!(gz.len() * 4 < css.len(), "{} compressed bytes of {}", gz.len(), css.len());

    let r = app.client.get(app.at("/assets/nothing-here.js")).send().await.unwrap();
    assert_eq!(r.status(), 404);
}
