//! Four eyes bound to what was seen: an enquiry request approved only at the version its
//! approver reviewed (a photo swapped since is refused, never sent unseen), and two-person
//! approval of actions (`approval.second_person`; by default national AMBER Alerts) — through
//! the API, the console and the store's own conditional update.

use crate::alerting::{AMERSFOORT, get, post, resident};
use crate::common::{Backend, TestApp};
use crate::console::{client, csrf_of, session_csrf, sign_in, staff};
use crate::on_both_backends;
use serde_json::{Value, json};

on_both_backends!(
    a_request_changed_after_review_is_refused_and_the_reviewed_version_is_sent,
    a_national_action_waits_for_a_second_person,
    a_draft_changed_after_approval_needs_approving_again,
    which_actions_need_a_second_person_is_configured_by_kind_and_level,
    the_console_approves_what_it_showed,
    information_of_a_listed_municipality_waits_for_a_second_officer,
);

const MARKER: &str = "APPROVAL-MARKER-5d2e";

fn request() -> Value {
    json!({"incident_type": "burglary", "occurred_at": "2026-11-22T10:00:00Z",
           "location": {"lat": AMERSFOORT.0, "lon": AMERSFOORT.1}, "radius_m": 500,
           "description": "Inbraak in een woning aan de Stationsstraat.", "questions": "Heeft u iets gezien?"})
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 40]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img).write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
    out
}

async fn put_photo(app: &TestApp, token: &str, id: i64, content_type: &str, bytes: Vec<u8>) -> (u16, Value) {
    let r = app
        .client
        .post(app.at(&format!("/api/v1/enquiries/{id}/photo")))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn enquiry_messages(app: &TestApp) -> usize {
    app.store.admin_strings("SELECT id FROM messages WHERE kind = 'enquiry'").await.unwrap().len()
}

async fn audited(app: &TestApp, action: &str) -> Vec<(String, String)> {
    let entries = app.store.audit_entries(1000).await.unwrap();
    entries.into_iter().filter(|e| e.action == action).map(|e| (e.actor, e.details)).collect()
}

/// The approver reviews a request; a requester of the team then swaps its photo. Approving what
/// was reviewed is refused with a clear 409 and nothing is sent; the approver looks again and
/// approves the new version, which goes out with the photo they saw.
async fn a_request_changed_after_review_is_refused_and_the_reviewed_version_is_sent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let requester = app.staff_token("requester", "GM0307").await;
    let colleague = app.staff_token("requester", "GM0307").await;
    let approver = app.staff_token("approver", "GM0307").await;
    let (s, e) = post(&app, &requester, "/api/v1/enquiries", &request()).await;
    assert_eq!(s, 201, "{e}");
    let id = e["id"].as_i64().unwrap();
    let (s, v) = put_photo(&app, &requester, id, "image/jpeg", crate::enquiries::jpeg_with_gps()).await;
    assert_eq!(s, 200, "{v}");

    // The approver's view carries the version they review.
    let (s, reviewed) = get(&app, &approver, &format!("/api/v1/enquiries/{id}")).await;
    assert_eq!(s, 200, "{reviewed}");
    let version = reviewed["version"].as_i64().expect("a version");
    let seen_photo = reviewed["photo"]["url"].as_str().unwrap().to_string();

    // Another requester of the team swaps the photo after the review.
    let (s, swapped) = put_photo(&app, &colleague, id, "image/png", png(200, 150)).await;
    assert_eq!(s, 200, "{swapped}");
    assert!(swapped["version"].as_i64().unwrap() > version, "a new photo is a new version: {swapped}");
    let new_photo = swapped["photo"]["url"].as_str().unwrap().to_string();
    assert_ne!(new_photo, seen_photo);

    // Approving what was reviewed: 409, said plainly; nothing sent, still waiting.
    let (s, v) = post(&app, &approver, &format!("/api/v1/enquiries/{id}/approve"), &json!({"version": version})).await;
    assert_eq!((s, v["error"].as_str()), (409, Some("wrong_state")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("changed after you opened it"), "{v}");
    // Without a version: which one was reviewed is not known, so nothing is approved.
    let (s, v) = post(&app, &approver, &format!("/api/v1/enquiries/{id}/approve"), &json!({})).await;
    assert_eq!((s, v["fields"][0]["field"].as_str()), (422, Some("version")), "{v}");
    let (_, now) = get(&app, &approver, &format!("/api/v1/enquiries/{id}")).await;
    assert_eq!(now["state"], "requested", "{now}");
    assert_eq!(enquiry_messages(&app).await, 0, "nothing went out");
    assert!(audited(&app, "enquiry.approve_refused").await.iter().any(|(_, d)| d.contains("changed")));

    // The store's update itself takes only the reviewed version (a race past the check above).
    let row = app.store.enquiry(id).await.unwrap().unwrap();
    let stale = buurtnet_store::actions::NewMessage {
        action_id: None,
        kind: "enquiry".into(),
        status: "test".into(),
        priority: 6,
        override_quiet: false,
        channels: 0,
        topic: "enquiry".into(),
        area: None,
        scope: row.scope.clone(),
        content: "{}".into(),
        created_by: -5,
        send_at: 0,
        valid_until: 0,
    };
    let took =
        app.store.approve_enquiry(id, -5, version, &row.description, &row.questions, &stale, app.clock_ms()).await.unwrap();
    assert_eq!(took, None, "the approving update refuses a stale version");
    assert_eq!(enquiry_messages(&app).await, 0);

    // Looking again and approving what it says now: sent, with the photo that was seen.
    let (s, sent) = post(&app, &approver, &format!("/api/v1/enquiries/{id}/approve"), &json!({"version": now["version"]})).await;
    assert_eq!((s, sent["state"].as_str()), (200, Some("sent")), "{sent}");
    let message = app.store.enquiry(id).await.unwrap().unwrap().message_id.unwrap();
    let content = app.store.message(message).await.unwrap().unwrap().content;
    let photo_id = |url: &str| url.rsplit('/').next().unwrap().trim_end_matches(".jpg").to_string();
    assert!(content.contains(&photo_id(&new_photo)), "the approved photo goes out");
    assert!(!content.contains(&photo_id(&seen_photo)), "the swapped-out photo does not");
}

/// Creates a draft; returns its view.
async fn draft(app: &TestApp, token: &str, body: Value) -> Value {
    let (s, v) = post(app, token, "/api/v1/actions", &body).await;
    assert_eq!(s, 201, "{v}");
    v
}

fn amber() -> Value {
    json!({"kind": "missing_person", "level": "national", "status": "exercise", "title": MARKER,
           "body": "Vermist: meisje, 8 jaar, gele regenjas.", "consent": {"by": "moeder"}})
}

fn local(kind: &str) -> Value {
    json!({"kind": kind, "status": "exercise", "area": {"circle": {"lat": AMERSFOORT.0, "lon": AMERSFOORT.1, "radius_m": 800}},
           "title": MARKER, "body": "Let op: verdachte situatie in de buurt."})
}

/// A national action (AMBER Alert) is sent only once another dispatcher or a national
/// administrator approved it; its creator cannot, a dispatcher of another scope finds nothing,
/// and the store's update itself refuses the creator.
async fn a_national_action_waits_for_a_second_person(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creator = app.staff_token("dispatcher", "NL").await;
    let second = app.staff_token("dispatcher", "NL").await;
    let regional = app.staff_token("dispatcher", "RE03").await;
    let requester = app.staff_token("requester", "NL").await;
    let national_admin = app.staff_token("admin", "NL").await;
    let a = draft(&app, &creator, amber()).await;
    let id = a["id"].as_i64().unwrap();
    assert_eq!(a["approval"]["second_person_required"], true, "{a}");
    assert!(a["approval"]["approved_by"].is_null());
    let version = a["version"].clone();
    let approve = format!("/api/v1/actions/{id}/approve");
    let send = format!("/api/v1/actions/{id}/send");

    // Not yet: send is refused with a clear 409.
    let (s, v) = post(&app, &creator, &send, &json!({})).await;
    assert_eq!((s, v["error"].as_str()), (409, Some("wrong_state")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("second person"), "{v}");
    // The creator cannot approve their own action.
    let (s, v) = post(&app, &creator, &approve, &json!({"version": version})).await;
    assert_eq!(s, 403, "{v}");
    assert!(v["message"].as_str().unwrap().contains("four-eyes"), "{v}");
    // A dispatcher of another scope: no such action (and nothing of it shows).
    let (s, v) = post(&app, &regional, &approve, &json!({"version": version})).await;
    assert_eq!(s, 404, "{v}");
    assert!(!v.to_string().contains(MARKER), "{v}");
    // A role that does not send actions.
    assert_eq!(post(&app, &requester, &approve, &json!({"version": version})).await.0, 403);
    // Without the version looked at; at another version.
    let (s, v) = post(&app, &second, &approve, &json!({})).await;
    assert_eq!((s, v["fields"][0]["field"].as_str()), (422, Some("version")), "{v}");
    let (s, v) = post(&app, &second, &approve, &json!({"version": 99})).await;
    assert_eq!(s, 409, "{v}");
    assert!(v["message"].as_str().unwrap().contains("changed after you opened it"), "{v}");
    let row = app.store.action(id).await.unwrap().unwrap();
    assert_eq!((row.state.as_str(), row.approved_by), ("draft", None), "nothing changed by the refusals");
    // The store's approving update itself refuses the creator.
    assert!(!app.store.approve_action(id, row.created_by, row.version, app.clock_ms()).await.unwrap());
    assert_eq!(app.store.action(id).await.unwrap().unwrap().approved_by, None);

    // Another national dispatcher approves: it can be sent (by its creator).
    let (s, v) = post(&app, &second, &approve, &json!({"version": version})).await;
    assert_eq!(s, 200, "{v}");
    let (_, me) = get(&app, &second, "/api/v1/staff/me").await;
    assert_eq!(v["approval"]["approved_by"], me["id"], "{v}");
    assert!(v["approval"]["approved_at"].is_string(), "{v}");
    let (s, v) = post(&app, &national_admin, &approve, &json!({"version": version})).await;
    assert_eq!(s, 409, "approved once: {v}");
    assert!(v["message"].as_str().unwrap().contains("already"), "{v}");
    let (s, v) = post(&app, &creator, &send, &json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "active");
    assert!(v["message_id"].is_number(), "{v}");
    let (s, v) = post(&app, &second, &approve, &json!({"version": version})).await;
    assert_eq!(s, 409, "a sent action is not approved: {v}");

    // Audited: the refusals and the approval, by whom.
    let approvals = audited(&app, "action.approve").await;
    assert_eq!(approvals.len(), 1, "{approvals:?}");
    assert_eq!(approvals[0].0, format!("staff:{}", me["id"]));
    assert!(audited(&app, "action.approve_refused").await.len() >= 3);

    // A national administrator may be the second person too.
    let b = draft(&app, &creator, amber()).await;
    let (s, v) =
        post(&app, &national_admin, &format!("/api/v1/actions/{}/approve", b["id"]), &json!({"version": b["version"]})).await;
    assert_eq!(s, 200, "{v}");

    // A local action needs no second person by default: sent at once; approving it is refused.
    let l = draft(&app, &regional, local("suspect")).await;
    assert_eq!(l["approval"]["second_person_required"], false, "{l}");
    let (s, v) = post(&app, &regional, &format!("/api/v1/actions/{}/approve", l["id"]), &json!({"version": l["version"]})).await;
    assert_eq!(s, 409, "{v}");
    assert!(v["message"].as_str().unwrap().contains("needs no second person"), "{v}");
    let (s, v) = post(&app, &regional, &format!("/api/v1/actions/{}/send", l["id"]), &json!({})).await;
    assert_eq!((s, v["state"].as_str()), (200, Some("active")), "{v}");
}

/// An approval covers the draft as it was: a photo added afterwards lapses it (the version
/// goes up), and send is refused until someone approves the new version.
async fn a_draft_changed_after_approval_needs_approving_again(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creator = app.staff_token("dispatcher", "NL").await;
    let second = app.staff_token("dispatcher", "NL").await;
    let a = draft(&app, &creator, amber()).await;
    let id = a["id"].as_i64().unwrap();
    let (s, v) = post(&app, &second, &format!("/api/v1/actions/{id}/approve"), &json!({"version": a["version"]})).await;
    assert_eq!(s, 200, "{v}");
    let r = app
        .client
        .post(app.at(&format!("/api/v1/actions/{id}/photos")))
        .bearer_auth(&creator)
        .header("content-type", "image/png")
        .body(png(120, 90))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let (_, v) = get(&app, &creator, &format!("/api/v1/actions/{id}")).await;
    assert!(v["approval"]["approved_by"].is_null(), "the approval lapsed: {v}");
    assert!(v["version"].as_i64() > a["version"].as_i64(), "{v}");
    let (s, refused) = post(&app, &creator, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
    assert_eq!(s, 409, "{refused}");
    assert_eq!(app.store.action_messages(id).await.unwrap().len(), 0, "nothing sent");
    // The old version is refused; the new one is approved, and then it goes out.
    let (s, _) = post(&app, &second, &format!("/api/v1/actions/{id}/approve"), &json!({"version": a["version"]})).await;
    assert_eq!(s, 409);
    let (s, w) = post(&app, &second, &format!("/api/v1/actions/{id}/approve"), &json!({"version": v["version"]})).await;
    assert_eq!(s, 200, "{w}");
    let (s, w) = post(&app, &creator, &format!("/api/v1/actions/{id}/send"), &json!({})).await;
    assert_eq!(s, 200, "{w}");
}

/// `approval.second_person` lists kinds, levels or kind:level: with `["bomb"]` a local bomb
/// alarm needs a second dispatcher of its scope (one of another scope finds nothing), while a
/// national action no longer does.
async fn which_actions_need_a_second_person_is_configured_by_kind_and_level(backend: Backend) {
    let rules: buurtnet_server::config::ApprovalConfig =
        serde_json::from_value(json!({"second_person": ["bomb"]})).expect("a valid rule list");
    let app = TestApp::spawn_with(backend, |c| c.approval = rules).await;
    let creator = app.staff_token("dispatcher", "RE03").await;
    let colleague = app.staff_token("dispatcher", "RE03").await;
    let elsewhere = app.staff_token("dispatcher", "RE01").await;
    let national = app.staff_token("dispatcher", "NL").await;
    let bomb = draft(&app, &creator, local("bomb")).await;
    let id = bomb["id"].as_i64().unwrap();
    assert_eq!(bomb["approval"]["second_person_required"], true, "{bomb}");
    assert_eq!(post(&app, &creator, &format!("/api/v1/actions/{id}/send"), &json!({})).await.0, 409);
    let (s, v) = post(&app, &elsewhere, &format!("/api/v1/actions/{id}/approve"), &json!({"version": bomb["version"]})).await;
    assert_eq!(s, 404, "{v}");
    assert!(!v.to_string().contains(MARKER));
    let (s, v) = post(&app, &colleague, &format!("/api/v1/actions/{id}/approve"), &json!({"version": bomb["version"]})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(post(&app, &creator, &format!("/api/v1/actions/{id}/send"), &json!({})).await.0, 200);
    // Other kinds, and national actions, go out at once under this configuration.
    let suspect = draft(&app, &creator, local("suspect")).await;
    assert_eq!(post(&app, &creator, &format!("/api/v1/actions/{}/send", suspect["id"]), &json!({})).await.0, 200);
    let a = draft(&app, &national, amber()).await;
    assert_eq!(a["approval"]["second_person_required"], false, "{a}");
    assert_eq!(post(&app, &national, &format!("/api/v1/actions/{}/send", a["id"]), &json!({})).await.0, 200);
}

async fn page(app: &TestApp, c: &reqwest::Client, path: &str) -> (u16, String) {
    let r = c.get(app.at(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn form(app: &TestApp, c: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
    let r = c.post(app.at(path)).form(fields).send().await.unwrap();
    let location = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    (r.status().as_u16(), location, r.text().await.unwrap())
}

/// The value of the hidden `version` field of a page's form.
fn version_field(html: &str) -> String {
    let at = html.find("name=\"version\" value=\"").unwrap_or_else(|| panic!("no version field in {html}"));
    let rest = &html[at + "name=\"version\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// The console: the action page of a national draft shows that it waits for a second person;
/// its creator gets no button (and a refusal when posting anyway); another dispatcher approves
/// with the button, which sends back the version shown. The enquiry page's approval does the
/// same: a photo swapped after the page was shown is refused on the page.
async fn the_console_approves_what_it_showed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (creator_id, creator_email) = staff(&app, "dispatcher", "NL").await;
    let (second_id, second_email) = staff(&app, "dispatcher", "NL").await;
    for id in [creator_id, second_id] {
        app.store.set_skip_second_factor(id, true).await.unwrap();
    }
    let creator = client();
    sign_in(&app, &creator, &creator_email, None).await;
    let csrf = session_csrf(&app, &creator).await;
    let r = creator.post(app.at("/api/v1/actions")).header("x-csrf-token", &csrf).json(&amber()).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let path = format!("/console/acties/{id}");

    let (s, html) = page(&app, &creator, &path).await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("id=\"approval-state\"") && html.contains("tweede centralist"), "{html}");
    assert!(!html.contains("id=\"approve-action\""), "no button for the action's creator");
    let version = app.store.action(id).await.unwrap().unwrap().version.to_string();
    let (s, _, html) =
        form(&app, &creator, &format!("{path}/goedkeuren"), &[("csrf", &csrf_of(&html)), ("version", &version)]).await;
    assert_eq!(s, 403);
    assert!(html.contains("four-eyes"), "{html}");

    let second = client();
    sign_in(&app, &second, &second_email, None).await;
    let (_, html) = page(&app, &second, &path).await;
    assert!(html.contains("id=\"approve-action\""), "{html}");
    assert_eq!(version_field(&html), version);
    let csrf2 = csrf_of(&html);
    let (s, _, html) = form(&app, &second, &format!("{path}/goedkeuren"), &[("csrf", &csrf2), ("version", "0")]).await;
    assert_eq!(s, 409);
    assert!(html.contains("changed after you opened it"), "{html}");
    let (s, location, _) = form(&app, &second, &format!("{path}/goedkeuren"), &[("csrf", &csrf2), ("version", &version)]).await;
    assert_eq!((s, location.as_str()), (303, path.as_str()));
    assert_eq!(app.store.action(id).await.unwrap().unwrap().approved_by, Some(second_id));
    let (_, html) = page(&app, &second, &path).await;
    assert!(html.contains("Goedgekeurd door een tweede persoon") && !html.contains("id=\"approve-action\""), "{html}");
    assert_eq!(audited(&app, "action.approve").await.len(), 1);

    // The enquiry page: its approval form carries the version shown.
    let requester = app.staff_token("requester", "GM0307").await;
    let (_, e) = post(&app, &requester, "/api/v1/enquiries", &request()).await;
    let eid = e["id"].as_i64().unwrap();
    let (approver_id, approver_email) = staff(&app, "approver", "GM0307").await;
    app.store.set_skip_second_factor(approver_id, true).await.unwrap();
    let approver = client();
    sign_in(&app, &approver, &approver_email, None).await;
    let epath = format!("/console/buurtonderzoek/{eid}");
    let (_, html) = page(&app, &approver, &epath).await;
    let shown = version_field(&html);
    assert_eq!(shown, e["version"].to_string());
    let ecsrf = csrf_of(&html);
    // The photo is swapped after the page was shown: the approval is refused on the page.
    assert_eq!(put_photo(&app, &requester, eid, "image/png", png(160, 120)).await.0, 200);
    let (s, _, html) = form(&app, &approver, &format!("{epath}/goedkeuren"), &[("csrf", &ecsrf), ("version", &shown)]).await;
    assert_eq!(s, 409);
    assert!(html.contains("changed after you opened it"), "{html}");
    assert_eq!(app.store.enquiry(eid).await.unwrap().unwrap().state, "requested");
    // Shown again, approved: sent.
    let (_, html) = page(&app, &approver, &epath).await;
    let (s, location, _) =
        form(&app, &approver, &format!("{epath}/goedkeuren"), &[("csrf", &ecsrf), ("version", &version_field(&html))]).await;
    assert_eq!((s, location.as_str()), (303, epath.as_str()));
    assert_eq!(app.store.enquiry(eid).await.unwrap().unwrap().state, "sent");
}

/// With `approval.information_municipalities = ["GM0307"]` an information message of Amersfoort
/// is held until a second officer of Amersfoort approves it (its writer cannot; Utrecht's
/// officers find nothing); Utrecht's own messages go out as before.
async fn information_of_a_listed_municipality_waits_for_a_second_officer(backend: Backend) {
    use buurtnet_domain::{Channel, Topic};
    let rules: buurtnet_server::config::ApprovalConfig =
        serde_json::from_value(json!({"information_municipalities": ["GM0307"]})).expect("a valid list");
    let app = TestApp::spawn_with(backend, |c| c.approval = rules).await;
    let person = resident(&app, AMERSFOORT, &[Channel::Email], &[Topic::Information], "nl", vec![]).await;
    let writer = app.staff_token("municipality-officer", "GM0307").await;
    let colleague = app.staff_token("municipality-officer", "GM0307").await;
    let utrecht = app.staff_token("municipality-officer", "GM0344").await;
    let body = json!({"area": {"areas": ["GM0307"]}, "title": MARKER, "body": "Tips tegen inbraak."});
    let (s, m) = post(&app, &writer, "/api/v1/messages", &body).await;
    assert_eq!(s, 201, "{m}");
    let id = m["id"].as_i64().unwrap();
    assert_eq!((m["fanout"].as_str(), m["approval"]["second_person_required"].as_bool()), (Some("held"), Some(true)), "{m}");
    let approve = format!("/api/v1/messages/{id}/approve");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(app.sandbox(&person.email).await.is_empty(), "held: nothing goes out");
    let (s, v) = post(&app, &writer, &approve, &json!({})).await;
    assert_eq!(s, 403, "{v}");
    assert!(v["message"].as_str().unwrap().contains("four-eyes"), "{v}");
    let (s, v) = post(&app, &utrecht, &approve, &json!({})).await;
    assert_eq!(s, 404, "{v}");
    assert!(!v.to_string().contains(MARKER));
    let row = app.store.message(id).await.unwrap().unwrap();
    assert!(!app.store.approve_message(id, row.created_by, app.clock_ms()).await.unwrap(), "the store refuses the writer");
    assert_eq!(app.store.message(id).await.unwrap().unwrap().fanout_state, "held");

    let (s, v) = post(&app, &colleague, &approve, &json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["approval"]["approved_by"].is_number(), "{v}");
    let (s, v) = post(&app, &colleague, &approve, &json!({})).await;
    assert_eq!(s, 409, "{v}");
    for _ in 0..200 {
        if !app.sandbox(&person.email).await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(app.sandbox(&person.email).await.len(), 1, "sent once approved");
    assert_eq!(audited(&app, "message.approve").await.len(), 1);

    // A municipality not listed: out as before, and there is nothing to approve.
    let (s, u) =
        post(&app, &utrecht, "/api/v1/messages", &json!({"area": {"areas": ["GM0344"]}, "title": "x", "body": "y"})).await;
    assert_eq!(s, 201, "{u}");
    assert_ne!(u["fanout"], "held", "{u}");
    assert_eq!(u["approval"]["second_person_required"], false);
    let other = app.staff_token("municipality-officer", "GM0344").await;
    assert_eq!(post(&app, &other, &format!("/api/v1/messages/{}/approve", u["id"]), &json!({})).await.0, 409);
}
