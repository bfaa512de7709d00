//! Replies and tips in one model: a resident's reply to an enquiry and a tip to an urgent
//! action are stored alike (keyed by what they answer), each seen only by its own staff, and
//! the retention rule takes either's photos some time after what it answers closed. And the
//! migration that moved the tips out of the enquiries keeps an old tip whole.

use crate::alerting::{AMERSFOORT, get, post};
use crate::common::{Backend, TestApp, empty_database};
use crate::enquiries::{burglary, jpeg_with_gps, photo_files, png, reply};
use crate::on_both_backends;
use buurtnet_store::replies::Answers;
use buurtnet_store::{ConnectOptions, Store};
use serde_json::json;

/// A reply link made the way the delivery worker makes one, for a resident without an account.
async fn link(app: &TestApp, answers: Answers) -> String {
    let (token, hash) = buurtnet_server::replies::links::new_token();
    let now = app.state.now_ms();
    app.store.insert_reply_token(&hash, answers, 0, now, now + 86_400_000).await.unwrap();
    token
}

on_both_backends!(a_tip_and_an_enquiry_reply_land_in_one_model_and_retention_takes_each_photo);

async fn a_tip_and_an_enquiry_reply_land_in_one_model_and_retention_takes_each_photo(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let dispatcher = app.staff_token("dispatcher", "GM0307").await;
    let requester = app.staff_token("requester", "GM0307").await;
    let approver = app.staff_token("approver", "GM0307").await;
    let handler = app.staff_token("handler", "GM0307").await;

    // An urgent action, sent; an enquiry, approved (sent).
    let (s, v) = post(
        &app,
        &dispatcher,
        "/api/v1/actions",
        &json!({"kind": "suspect", "status": "actual",
        "area": {"circle": {"lat": AMERSFOORT.0, "lon": AMERSFOORT.1, "radius_m": 800}},
        "title": "Verdachte man op de vlucht", "body": "Man, 30 jaar, rode jas."}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let action = v["id"].as_i64().unwrap();
    let (s, v) = post(&app, &dispatcher, &format!("/api/v1/actions/{action}/send"), &json!({})).await;
    assert_eq!(s, 200, "{v}");
    let (s, e) = post(&app, &requester, "/api/v1/enquiries", &burglary()).await;
    assert_eq!(s, 201, "{e}");
    let enquiry = e["id"].as_i64().unwrap();
    let (s, v) = post(&app, &approver, &format!("/api/v1/enquiries/{enquiry}/approve"), &json!({"version": e["version"]})).await;
    assert_eq!(s, 200, "{v}");

    // A tip and a reply, each with a photo, through the same reply page.
    let tip_link = link(&app, Answers::Action(action)).await;
    let page = app.client.get(app.at(&format!("/antwoord/{tip_link}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Tip doorgeven") && page.contains("Verdachte man op de vlucht"), "{page}");
    let (s, v) = reply(&app, &tip_link, "Rode jas bij de Kamp.", "", vec![("kamp.jpg", jpeg_with_gps())]).await;
    assert_eq!(s, 201, "{v}");
    let tip_id = v["id"].as_i64().unwrap();
    let reply_link = link(&app, Answers::Enquiry(enquiry)).await;
    let (s, v) = reply(&app, &reply_link, "Scooter gezien.", "", vec![("tuin.png", png(40, 30))]).await;
    assert_eq!(s, 201, "{v}");
    let reply_id = v["id"].as_i64().unwrap();

    // One model: each row says what it answers; tips are no enquiry's replies.
    let tip = app.store.reply(tip_id).await.unwrap().unwrap();
    let answer = app.store.reply(reply_id).await.unwrap().unwrap();
    assert_eq!((tip.answers(), tip.enquiry_id), (Some(Answers::Action(action)), None));
    assert_eq!(answer.answers(), Some(Answers::Enquiry(enquiry)));
    assert_eq!(app.store.replies_to(Answers::Action(action)).await.unwrap().len(), 1);
    assert_eq!(app.store.replies(enquiry).await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), vec![reply_id]);
    assert_eq!(app.store.admin_strings("SELECT CAST(COUNT(*) AS TEXT) FROM enquiries").await.unwrap(), vec!["1"]);
    let (s, v) = get(&app, &dispatcher, &format!("/api/v1/actions/{action}/tips")).await;
    assert_eq!((s, v["tips"][0]["id"].as_i64(), v["tips"][0]["enquiry_id"].is_null()), (200, Some(tip_id), true), "{v}");
    let (s, v) = get(&app, &handler, &format!("/api/v1/enquiries/{enquiry}/replies")).await;
    assert_eq!((s, v["replies"].as_array().unwrap().len()), (200, 1), "{v}");
    // The handler cannot handle a tip as if it were a reply.
    let (s, _) =
        post(&app, &handler, &format!("/api/v1/replies/{tip_id}/classify"), &json!({"classification": "relevant"})).await;
    assert_eq!(s, 404);
    let audited = app.store.audit_entries(50).await.unwrap();
    for id in [tip_id, reply_id] {
        assert!(audited.iter().any(|e| e.action == "reply.create" && e.target.as_deref() == Some(&format!("reply:{id}"))));
    }
    assert_eq!(photo_files(&app).len(), 2);

    // The action closes: its tip links close, and 90 days on its tip's photo goes; the open
    // enquiry's reply keeps its photo.
    let (s, v) =
        post(&app, &dispatcher, &format!("/api/v1/actions/{action}/close"), &json!({"outcome": "none", "body": "Voorbij."}))
            .await;
    assert_eq!(s, 200, "{v}");
    let late = link(&app, Answers::Action(action)).await;
    let (s, v) = reply(&app, &late, "Te laat.", "", vec![]).await;
    assert_eq!((s, v["error"].as_str()), (410, Some("enquiry_closed")), "{v}");
    app.clock.advance(chrono::Duration::days(89));
    app.run_jobs().await;
    assert_eq!(photo_files(&app).len(), 2, "kept for 90 days");
    app.clock.advance(chrono::Duration::days(2));
    app.run_jobs().await;
    assert_eq!(photo_files(&app).len(), 1, "the tip's photo went");
    assert!(app.store.reply_photos(tip_id).await.unwrap().is_empty());
    assert_eq!(app.store.reply_photos(reply_id).await.unwrap().len(), 1);
    assert!(app.store.reply(tip_id).await.unwrap().is_some(), "the rule takes photos, not the tip itself");

    // The enquiry closes: 90 days on its reply's photo goes too.
    let (s, _) = post(&app, &handler, &format!("/api/v1/enquiries/{enquiry}/close"), &json!({})).await;
    assert_eq!(s, 200);
    app.clock.advance(chrono::Duration::days(91));
    app.run_jobs().await;
    assert_eq!(photo_files(&app).len(), 0);
    assert!(app.store.reply_photos(reply_id).await.unwrap().is_empty());
}

on_both_backends!(the_migration_moves_an_old_tip_out_of_the_enquiries);

/// A database at migration 23 holds a tip the old way — a reply to an action's hidden "tip
/// channel" enquiry, with a link and a photo — beside a real enquiry's reply. After migrating,
/// the tip answers its action with its id, link and photo kept; the tip channel is gone; the
/// real reply is untouched.
async fn the_migration_moves_an_old_tip_out_of_the_enquiries(backend: Backend) {
    let url = empty_database(backend).await;
    let store = Store::connect(&url, &ConnectOptions::default()).await.unwrap();
    store.migrate_up_to(23).await.unwrap();
    for sql in [
        "INSERT INTO enquiries (id, scope, municipality, incident_type, occurred_at, lat, lon, radius_m, description, questions,
            state, requested_by, message_id, action_id, created_at, updated_at, sent_at)
         VALUES (5, 'GM0307', 'GM0307', 'action_tip', 1000, 0, 0, 0, 'Vermist meisje', '', 'sent', 3, 40, 7, 1000, 1000, 1000)",
        "INSERT INTO enquiries (id, scope, municipality, incident_type, occurred_at, lat, lon, radius_m, description, questions,
            state, requested_by, message_id, created_at, updated_at, sent_at)
         VALUES (6, 'GM0307', 'GM0307', 'burglary', 1000, 52.1, 5.3, 500, 'Inbraak', 'Iets gezien?', 'sent', 3, 41, 1000, 1000, 1000)",
        "INSERT INTO replies (id, enquiry_id, participant_id, text, phone, language, status, created_at, updated_at)
         VALUES (11, 5, 0, 'Ik zag haar bij het station.', NULL, 'nl', 'new', 2000, 2000)",
        "INSERT INTO replies (id, enquiry_id, participant_id, text, phone, language, status, created_at, updated_at)
         VALUES (12, 6, 9, 'Scooter gezien.', '+31612345678', 'nl', 'new', 2000, 2000)",
        "INSERT INTO reply_photos (id, reply_id, position, sha256, width, height, bytes, created_at)
         VALUES ('p11', 11, 0, 'aa', 40, 30, 1234, 2000)",
        "INSERT INTO reply_tokens (token_hash, enquiry_id, participant_id, created_at, expires_at, used_at)
         VALUES ('h-tip', 5, 0, 1000, 9000, 2000)",
        "INSERT INTO reply_tokens (token_hash, enquiry_id, participant_id, created_at, expires_at)
         VALUES ('h-reply', 6, 9, 1000, 9000)",
    ] {
        store.execute_admin(sql).await.unwrap();
    }
    store.migrate().await.unwrap();
    // A fresh pool: a SQLite connection opened before the tables were rebuilt would read them
    // with the old columns.
    store.close().await;
    let store = Store::connect(&url, &ConnectOptions::default()).await.unwrap();

    let tip = store.reply(11).await.unwrap().expect("the tip keeps its id");
    assert_eq!((tip.answers(), tip.text.as_str()), (Some(Answers::Action(7)), "Ik zag haar bij het station."));
    assert_eq!(store.reply_photos(11).await.unwrap().iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), vec!["p11"]);
    let token = store.reply_token("h-tip").await.unwrap().expect("the tip's link is kept");
    assert_eq!((token.answers(), token.used_at), (Some(Answers::Action(7)), Some(2000)));
    assert_eq!(store.recent_tips(0, 10).await.unwrap(), vec![(11, 7)]);
    assert!(store.enquiry(5).await.unwrap().is_none(), "the tip channel is gone");

    let kept = store.reply(12).await.unwrap().unwrap();
    assert_eq!((kept.answers(), kept.phone.as_deref()), (Some(Answers::Enquiry(6)), Some("+31612345678")));
    assert_eq!(store.reply_token("h-reply").await.unwrap().unwrap().answers(), Some(Answers::Enquiry(6)));
    assert_eq!(store.replies(6).await.unwrap().len(), 1);
    assert!(store.enquiry(6).await.unwrap().is_some());
    store.close().await;
}
