//! Neighbourhood enquiries end to end: a request, the four-eyes approval, the e-mails to the
//! residents in the area (a real SMTP server), the reply through the personal link with a photo
//! carrying GPS EXIF, the acknowledgement, the handler's classification, forwarding and answer,
//! and the monthly table; and every kind of bad input refused with nothing stored.

use crate::alerting::{AMERSFOORT, UTRECHT, get, post, resident};
use crate::common::{Backend, TestApp, link_token, sse_named};
use crate::fakes::{FakeCm, SmtpServer};
use crate::on_both_backends;
use buurtnet_domain::{Channel, Topic};
use serde_json::{Value, json};
use std::time::Duration;

const TEAM: &str = "recherche-amersfoort@team.example.org";

async fn live_app(backend: Backend, cm: &FakeCm, smtp: &SmtpServer) -> TestApp {
    let (cm_url, smtp_url) = (cm.url.clone(), smtp.url.clone());
    TestApp::spawn_with(backend, move |c| {
        c.push.allowed_hosts = Some(vec!["127.0.0.1:9".into()]);
        c.providers.kind = "live".into();
        c.providers.smtp_url = Some(smtp_url);
        c.providers.sms.url = cm_url.clone();
        c.providers.sms.product_token = FakeCm::TOKEN.into();
        c.providers.voice.url = cm_url;
        c.providers.voice.product_token = FakeCm::TOKEN.into();
        c.providers.voice.caller = "+3188000000".into();
        c.alerting.worker.poll_ms = 20;
        c.enquiries.forward_addresses.insert("GM0307".into(), TEAM.into());
    })
    .await
}

/// A burglary near Amersfoort's centre, two hours before the test clock's time.
pub fn burglary() -> Value {
    json!({"incident_type": "burglary", "occurred_at": "2026-11-22T10:00:00Z",
           "location": {"lat": AMERSFOORT.0, "lon": AMERSFOORT.1}, "radius_m": 500,
           "description": "Inbraak in een woning aan de Stationsstraat; de daders gingen er op een scooter vandoor.",
           "questions": "Heeft u tussen 9:30 en 10:30 uur iets verdachts gezien of gehoord? Heeft u camerabeelden?"})
}

/// A JPEG of a garden whose EXIF carries a GPS position (an APP1 segment after the SOI).
pub fn jpeg_with_gps() -> Vec<u8> {
    let img = image::RgbImage::from_fn(320, 240, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 60]));
    let mut plain = Vec::new();
    image::DynamicImage::ImageRgb8(img).write_to(&mut std::io::Cursor::new(&mut plain), image::ImageFormat::Jpeg).unwrap();
    // TIFF, big-endian: IFD0 with a GPSInfo pointer; the GPS IFD with latitude N 52° 9' 22".
    let mut tiff: Vec<u8> = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    tiff.extend([0, 1, 0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0]);
    tiff.extend([0, 2, 0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0, 0, 2, 0, 5, 0, 0, 0, 3, 0, 0, 0, 56, 0, 0, 0, 0]);
    for (n, d) in [(52u32, 1u32), (9, 1), (22, 1)] {
        tiff.extend(n.to_be_bytes());
        tiff.extend(d.to_be_bytes());
    }
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend(&tiff);
    let len = (app1.len() + 2) as u16;
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend(len.to_be_bytes());
    out.extend(&app1);
    out.extend(&plain[2..]);
    out
}

pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img).write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A decompression bomb: a few hundred bytes that claim 11,000 × 11,000 pixels (363 MB once
/// unpacked).
fn png_bomb() -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        let mut body = kind.to_vec();
        body.extend(data);
        c.extend(&body);
        c.extend(crc32(&body).to_be_bytes());
        c
    };
    let mut ihdr = 11_000u32.to_be_bytes().to_vec();
    ihdr.extend(11_000u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(chunk(b"IHDR", &ihdr));
    out.extend(chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
    out.extend(chunk(b"IEND", &[]));
    out
}

/// Sends a reply through a link, as the page's form does (asking for JSON back).
pub async fn reply(app: &TestApp, token: &str, text: &str, phone: &str, photos: Vec<(&str, Vec<u8>)>) -> (u16, Value) {
    let mut form =
        reqwest::multipart::Form::new().text("text", text.to_string()).text("phone", phone.to_string()).text("lang", "nl");
    for (name, bytes) in photos {
        form = form
            .part("photos", reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()).mime_str("image/jpeg").unwrap());
    }
    let r = app
        .client
        .post(app.at(&format!("/antwoord/{token}")))
        .header("accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Waits for a mail that `matches`.
async fn wait_mail(smtp: &SmtpServer, matches: impl Fn(&crate::fakes::ReceivedMail) -> bool) -> crate::fakes::ReceivedMail {
    for _ in 0..1000 {
        if let Some(m) = smtp.messages().into_iter().find(|m| matches(m)) {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no such mail arrived");
}

pub fn has_exif(bytes: &[u8]) -> bool {
    bytes.windows(4).any(|w| w == b"Exif") || bytes.windows(2).any(|w| w == [0xFF, 0xE1])
}

/// Files in the photo folder.
pub fn photo_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&app.state.config.photo_dir(), &mut out);
    out
}

on_both_backends!(an_enquiry_goes_from_request_to_answer_and_is_counted);

async fn an_enquiry_goes_from_request_to_answer_and_is_counted(backend: Backend) {
    let cm = FakeCm::start().await;
    let smtp = SmtpServer::start().await;
    let app = live_app(backend, &cm, &smtp).await;
    let requester = app.staff_token("requester", "GM0307").await;
    let approver = app.staff_token("approver", "GM0307").await;
    let handler = app.staff_token("handler", "GM0307").await;
    let utrecht_handler = app.staff_token("handler", "GM0344").await;
    let near = (AMERSFOORT.0 + 0.002, AMERSFOORT.1);
    let a = resident(&app, AMERSFOORT, &[Channel::Email], &[Topic::Enquiry, Topic::Urgent], "nl", vec![]).await;
    let b = resident(&app, near, &[Channel::Email], &[Topic::Enquiry, Topic::Urgent], "en", vec![]).await;
    let not_wanted = resident(&app, AMERSFOORT, &[Channel::Email], &[Topic::Urgent], "nl", vec![]).await;
    let outside = resident(&app, UTRECHT, &[Channel::Email], &[Topic::Enquiry], "nl", vec![]).await;

    // The requester asks; their own approval is refused (a requester, and not another person).
    let (s, e) = post(&app, &requester, "/api/v1/enquiries", &burglary()).await;
    assert_eq!(s, 201, "{e}");
    let id = e["id"].as_i64().unwrap();
    assert_eq!((e["state"].as_str(), e["radius_m"].as_i64()), (Some("requested"), Some(500)));
    let (s, v) = post(&app, &requester, &format!("/api/v1/enquiries/{id}/approve"), &json!({})).await;
    assert_eq!(s, 403, "{v}");
    // An approver who asked themselves is refused by the four-eyes rule.
    let (s, own) = post(&app, &approver, "/api/v1/enquiries", &burglary()).await;
    assert_eq!(s, 201);
    let (s, v) = post(&app, &approver, &format!("/api/v1/enquiries/{}/approve", own["id"]), &json!({})).await;
    assert_eq!(s, 403, "{v}");
    assert!(v["message"].as_str().unwrap().contains("four-eyes"), "{v}");
    let (_, queue) = get(&app, &approver, "/api/v1/enquiries?state=requested").await;
    assert_eq!(queue["enquiries"].as_array().unwrap().len(), 2, "the team's shared queue: {queue}");
    // Another person approves what they reviewed: it is sent.
    let (s, v) = post(&app, &approver, &format!("/api/v1/enquiries/{id}/approve"), &json!({"version": e["version"]})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "sent");
    assert_eq!(v["minutes_incident_to_sending"], 120);

    // One e-mail per resident in the area who wants enquiries; none to anyone else.
    wait_mail(&smtp, |m| m.rcpt_to.contains(&a.email)).await;
    wait_mail(&smtp, |m| m.rcpt_to.contains(&b.email)).await;
    let notice = wait_mail(&smtp, |m| m.subject.contains("wacht op goedkeuring")).await;
    let approver_email = app.store.staff_with_role("approver").await.unwrap()[0].email.clone();
    assert!(notice.rcpt_to.contains(&approver_email), "the approver is told of the request");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails: Vec<_> = smtp
        .messages()
        .into_iter()
        .filter(|m| m.subject.starts_with("Buurtonderzoek:") || m.subject.starts_with("Neighbourhood enquiry:"))
        .collect();
    assert_eq!(mails.len(), 2, "{:?}", mails.iter().map(|m| &m.rcpt_to).collect::<Vec<_>>());
    let to_a = mails.iter().find(|m| m.rcpt_to.contains(&a.email)).expect("a got it");
    let to_b = mails.iter().find(|m| m.rcpt_to.contains(&b.email)).expect("b got it");
    assert!(mails.iter().all(|m| !m.rcpt_to.contains(&not_wanted.email) && !m.rcpt_to.contains(&outside.email)));
    assert_eq!(to_a.subject, "Buurtonderzoek: Woninginbraak bij u in de buurt");
    assert_eq!(to_b.subject, "Neighbourhood enquiry: Burglary near you", "in English for b");
    let text_a = to_a.text.clone().unwrap();
    assert!(text_a.contains("Stationsstraat") && text_a.contains("camerabeelden"), "{text_a}");
    // Personal links: different for each, in the text and the HTML; one-click unsubscribe.
    let link_a = link_token(&text_a, &format!("{}/antwoord/", app.url));
    let link_b = link_token(to_b.text.as_deref().unwrap(), &format!("{}/antwoord/", app.url));
    assert_ne!(link_a, link_b);
    assert!(link_a.len() >= 22, "at least 128 bits: {link_a}");
    assert!(to_a.html.as_deref().unwrap().contains(&format!("href=\"{}/antwoord/{link_a}\"", app.url)));
    assert_eq!(to_a.header("List-Unsubscribe-Post"), Some("List-Unsubscribe=One-Click"));
    let unsubscribe = to_b.header("List-Unsubscribe").unwrap().trim_matches(|c| c == '<' || c == '>').to_string();
    assert!(unsubscribe.starts_with(&format!("{}/afmelden/buurtonderzoek/", app.url)), "{unsubscribe}");
    let stored: Vec<String> = app.store.admin_strings("SELECT token_hash FROM reply_tokens").await.unwrap();
    assert!(!stored.iter().any(|h| h == &link_a), "only hashes are stored");

    // The resident opens the link and replies with a photo that carries GPS EXIF data.
    let page = app.client.get(app.at(&format!("/antwoord/{link_a}"))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Stationsstraat") && html.contains("multipart/form-data"), "{html}");
    let photo = jpeg_with_gps();
    assert!(has_exif(&photo) && photo.windows(4).any(|w| w == b"\x00\x02\x00\x05"), "the test photo carries GPS EXIF");
    let (s, v) = reply(
        &app,
        &link_a,
        "Ik zag om 9:45 twee mannen op een zwarte scooter wegrijden.",
        "06 12345678",
        vec![("tuin.jpg", photo)],
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let reply_id = v["id"].as_i64().unwrap();

    // The acknowledgement arrives at once.
    let ack = wait_mail(&smtp, |m| m.subject == "Uw reactie is ontvangen").await;
    assert!(ack.rcpt_to.contains(&a.email));

    // The handler sees the reply; another municipality's handler does not.
    let (s, v) = get(&app, &handler, &format!("/api/v1/enquiries/{id}/replies")).await;
    assert_eq!(s, 200, "{v}");
    let replies = v["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 1);
    let r = &replies[0];
    assert_eq!(
        (r["id"].as_i64(), r["status"].as_str(), r["phone"].as_str()),
        (Some(reply_id), Some("new"), Some("+31612345678"))
    );
    assert!(r["text"].as_str().unwrap().contains("zwarte scooter"));
    assert_eq!(r["overdue"], false);
    let (s, _) = get(&app, &utrecht_handler, &format!("/api/v1/enquiries/{id}/replies")).await;
    assert_eq!(s, 404, "another municipality sees nothing");
    // The stored photo has no EXIF left: neither on disk nor as served.
    let photo_url = r["photos"][0]["url"].as_str().unwrap().to_string();
    let files = photo_files(&app);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(!has_exif(&std::fs::read(&files[0]).unwrap()), "no EXIF on disk");
    let served = app.client.get(&photo_url).bearer_auth(&handler).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["cache-control"], "no-store");
    assert_eq!(served.headers()["content-type"], "image/jpeg");
    let bytes = served.bytes().await.unwrap();
    assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
    assert!(!has_exif(&bytes), "no EXIF served");
    assert_eq!(app.client.get(&photo_url).send().await.unwrap().status(), 401);
    assert_eq!(app.client.get(&photo_url).bearer_auth(&utrecht_handler).send().await.unwrap().status(), 404);
    let audit = app.store.audit_entries(200).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "reply_photo.view").count(), 1, "the view is audited");
    for what in ["enquiry.create", "enquiry.approve", "reply.create"] {
        assert!(audit.iter().any(|e| e.action == what), "{what} audited");
    }

    // Classify, forward (the team receives it with the photo), answer (the resident receives it).
    let (s, v) =
        post(&app, &handler, &format!("/api/v1/replies/{reply_id}/classify"), &json!({"classification": "relevant"})).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("classified")), "{v}");
    let (_, v) = get(&app, &handler, &format!("/api/v1/enquiries/{id}/replies?status=new")).await;
    assert_eq!(v["replies"].as_array().unwrap().len(), 0);
    let (_, v) = get(&app, &handler, &format!("/api/v1/enquiries/{id}/replies?status=classified")).await;
    assert_eq!(v["replies"].as_array().unwrap().len(), 1);
    let (s, v) = post(&app, &handler, &format!("/api/v1/replies/{reply_id}/forward"), &json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["forwarded_at"].is_string());
    let fwd = wait_mail(&smtp, |m| m.rcpt_to.contains(TEAM)).await;
    assert!(fwd.text.as_deref().unwrap().contains("zwarte scooter"));
    let raw = String::from_utf8_lossy(&fwd.raw);
    assert!(raw.contains("Content-Disposition: attachment") && raw.contains(".jpg"), "the photo is attached");
    let (s, v) = post(
        &app,
        &handler,
        &format!("/api/v1/replies/{reply_id}/answer"),
        &json!({"template": "used", "body": "Een collega belt u nog."}),
    )
    .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("answered")), "{v}");
    let answer = wait_mail(&smtp, |m| m.subject.starts_with("Antwoord op uw reactie")).await;
    assert!(answer.rcpt_to.contains(&a.email));
    assert!(answer.text.as_deref().unwrap().contains("Een collega belt u nog."));
    let (s, _) = post(&app, &handler, &format!("/api/v1/replies/{reply_id}/answer"), &json!({"body": "Nog eens"})).await;
    assert_eq!(s, 409, "answered once");

    // The monthly table counts it.
    let (s, v) = get(&app, &approver, "/api/v1/enquiries/monthly").await;
    assert_eq!(s, 200, "{v}");
    let months = v["months"].as_array().unwrap();
    assert_eq!(months.len(), 1, "{v}");
    let m = &months[0];
    assert_eq!((m["month"].as_str(), m["municipality"].as_str()), (Some("2026-11"), Some("GM0307")));
    assert_eq!(
        (m["enquiries_sent"].as_i64(), m["enquiries_with_reply"].as_i64(), m["replies"].as_i64()),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(
        (m["reaction_pct"].as_f64(), m["relevant_pct"].as_f64(), m["open_replies"].as_i64()),
        (Some(100.0), Some(100.0), Some(0))
    );
    assert_eq!(m["recipients"], 2);
    let csv = app.client.get(app.at("/api/v1/enquiries/monthly?format=csv")).bearer_auth(&approver).send().await.unwrap();
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = csv.text().await.unwrap();
    assert!(
        csv.starts_with("month,municipality,enquiries_sent") && csv.contains("2026-11,GM0307,1,1,100.0,1,100.0,0,2,120"),
        "{csv}"
    );
    let page = app.client.get(app.at("/api/v1/enquiries/monthly?format=html")).bearer_auth(&approver).send().await.unwrap();
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = page.text().await.unwrap();
    assert!(page.contains("<td>2026-11</td><td>GM0307</td><td>1</td><td>1</td><td>100.0</td>"), "{page}");
    let (_, v) = get(&app, &utrecht_handler, "/api/v1/enquiries/monthly").await;
    assert_eq!(v["months"].as_array().unwrap().len(), 0, "scoped");

    // One-click unsubscribe (RFC 8058) stops enquiries only.
    let r = app
        .client
        .post(&unsubscribe)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let p = app.store.participant(b.id).await.unwrap().unwrap().participant;
    assert_eq!(p.topics, buurtnet_domain::TopicSet::from_iter([Topic::Urgent]).bits());

    // Closing starts the retention period; the retention job deletes the photo after 90 days.
    let (s, _) = post(&app, &handler, &format!("/api/v1/enquiries/{id}/close"), &json!({})).await;
    assert_eq!(s, 200);
    app.clock.advance(chrono::Duration::days(89));
    app.run_jobs().await;
    assert_eq!(photo_files(&app).len(), 1, "kept for 90 days");
    app.clock.advance(chrono::Duration::days(2));
    app.run_jobs().await;
    assert_eq!(photo_files(&app).len(), 0, "deleted after 90 days");
    let (_, v) = get(&app, &handler, &format!("/api/v1/enquiries/{id}/replies")).await;
    assert_eq!(v["replies"][0]["photos"].as_array().unwrap().len(), 0);
}

on_both_backends!(bad_links_requests_and_replies_are_refused_and_nothing_is_stored);

async fn bad_links_requests_and_replies_are_refused_and_nothing_is_stored(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let requester = app.staff_token("requester", "GM0307").await;
    let approver = app.staff_token("approver", "GM0307").await;
    let handler = app.staff_token("handler", "GM0307").await;
    let a = resident(&app, AMERSFOORT, &[Channel::Email], &[Topic::Enquiry], "nl", vec![]).await;
    let b = resident(&app, AMERSFOORT, &[Channel::Email], &[Topic::Enquiry], "nl", vec![]).await;

    // Requests: each field named.
    let (s, v) = post(
        &app,
        &requester,
        "/api/v1/enquiries",
        &json!({"incident_type": "theft", "occurred_at": "yesterday",
        "location": {"lat": 48.85, "lon": 2.35}, "radius_m": 20000, "description": "", "questions": " "}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let fields: Vec<&str> = v["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    for f in ["incident_type", "occurred_at", "location", "radius_m", "description", "questions"] {
        assert!(fields.contains(&f), "{f} in {v}");
    }
    let (s, v) = post(&app, &app.staff_token("requester", "GM0344").await, "/api/v1/enquiries", &burglary()).await;
    assert_eq!((s, v["fields"][0]["code"].as_str()), (422, Some("outside_scope")), "{v}");
    let (_, list) = get(&app, &approver, "/api/v1/enquiries").await;
    assert_eq!(list["enquiries"].as_array().unwrap().len(), 0, "nothing stored");

    // Returned, then approving it; approving twice.
    let (_, e1) = post(&app, &requester, "/api/v1/enquiries", &burglary()).await;
    // The approvers of the municipality are told (by e-mail); no one else.
    let approvers = app.store.staff_with_role("approver").await.unwrap();
    let notices = app.sandbox(&approvers[0].email).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0]["subject"].as_str().unwrap().contains("wacht op goedkeuring"), "{notices:?}");
    assert!(
        app.sandbox(&app.store.admin_strings("SELECT email FROM staff_users WHERE role = 'handler'").await.unwrap()[0])
            .await
            .is_empty()
    );
    let (s, v) = post(&app, &approver, &format!("/api/v1/enquiries/{}/return", e1["id"]), &json!({})).await;
    assert_eq!((s, v["fields"][0]["field"].as_str()), (422, Some("comment")), "{v}");
    let (s, v) = post(
        &app,
        &approver,
        &format!("/api/v1/enquiries/{}/return", e1["id"]),
        &json!({"comment": "Graag de tijden preciezer."}),
    )
    .await;
    assert_eq!((s, v["state"].as_str()), (200, Some("returned")), "{v}");
    let (s, v) = post(&app, &approver, &format!("/api/v1/enquiries/{}/approve", e1["id"]), &json!({})).await;
    assert_eq!(s, 409, "{v}");
    assert!(v["message"].as_str().unwrap().contains("returned"), "{v}");
    let (_, e2) = post(&app, &requester, "/api/v1/enquiries", &burglary()).await;
    let id = e2["id"].as_i64().unwrap();
    let (s, _) = post(
        &app,
        &approver,
        &format!("/api/v1/enquiries/{id}/approve"),
        &json!({"version": e2["version"], "questions": "Heeft u iets gezien?"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = post(&app, &approver, &format!("/api/v1/enquiries/{id}/approve"), &json!({})).await;
    assert_eq!(s, 409, "{v}");
    assert!(v["message"].as_str().unwrap().contains("already"), "{v}");
    // Strangers get 401 in our error shape; another municipality finds nothing; roles that
    // may not act get 403.
    for path in [
        "/api/v1/enquiries".to_string(),
        format!("/api/v1/enquiries/{id}/approve"),
        format!("/api/v1/enquiries/{id}/return"),
        format!("/api/v1/enquiries/{id}/close"),
        "/api/v1/replies/1/classify".to_string(),
        "/api/v1/replies/1/forward".to_string(),
        "/api/v1/replies/1/answer".to_string(),
    ] {
        let r = app.client.post(app.at(&path)).json(&json!({})).send().await.unwrap();
        assert_eq!(r.status(), 401, "POST {path}");
        assert!(r.json::<Value>().await.unwrap()["error"].is_string());
    }
    for path in [
        format!("/api/v1/enquiries/{id}"),
        format!("/api/v1/enquiries/{id}/replies"),
        "/api/v1/enquiries/monthly".into(),
        "/api/v1/reply-photos/x".into(),
    ] {
        assert_eq!(app.client.get(app.at(&path)).send().await.unwrap().status(), 401, "GET {path}");
    }
    let other_approver = app.staff_token("approver", "GM0344").await;
    let (_, e3) = post(&app, &requester, "/api/v1/enquiries", &burglary()).await;
    let (s, v) = post(&app, &other_approver, &format!("/api/v1/enquiries/{}/approve", e3["id"]), &json!({})).await;
    assert_eq!(s, 404, "{v}");
    assert!(!v.to_string().contains("GM0307"), "nothing of the other scope: {v}");
    assert_eq!(get(&app, &other_approver, &format!("/api/v1/enquiries/{}", e3["id"])).await.0, 404);
    let dispatcher = app.staff_token("dispatcher", "GM0307").await;
    assert_eq!(post(&app, &dispatcher, "/api/v1/enquiries", &burglary()).await.0, 403);
    assert_eq!(get(&app, &dispatcher, &format!("/api/v1/enquiries/{id}/replies")).await.0, 403);
    assert_eq!(post(&app, &handler, &format!("/api/v1/enquiries/{}/approve", e3["id"]), &json!({})).await.0, 403);
    let sent: Vec<String> =
        app.store.admin_strings("SELECT CAST(COUNT(*) AS TEXT) FROM messages WHERE kind = 'enquiry'").await.unwrap();
    assert_eq!(sent, vec!["1".to_string()], "sent once");

    // The links the sandbox delivered.
    let link_of = |who: String| {
        let app = &app;
        async move {
            for _ in 0..400 {
                let msgs = app.sandbox(&who).await;
                if let Some(m) = msgs.iter().find(|m| m["channel"] == "email") {
                    let text = m["body"].as_str().or(m["text"].as_str()).unwrap_or_default().to_string();
                    return link_token(&text, &format!("{}/antwoord/", app.url));
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            panic!("no enquiry for {who}");
        }
    };
    let link_a = link_of(a.email.clone()).await;
    let link_b = link_of(b.email.clone()).await;
    let stored = || async { app.store.admin_strings("SELECT CAST(COUNT(*) AS TEXT) FROM replies").await.unwrap()[0].clone() };

    // Forged and mistyped links.
    let forged = "A".repeat(43);
    let (s, v) = reply(&app, &forged, "Ik zag iets.", "", vec![]).await;
    assert_eq!((s, v["error"].as_str()), (404, Some("link_unknown")), "{v}");
    assert_eq!(app.client.get(app.at(&format!("/antwoord/{forged}"))).send().await.unwrap().status(), 404);
    assert_eq!(app.client.get(app.at("/antwoord/..%2F..%2Fetc")).send().await.unwrap().status(), 404);
    // Bad replies, each with a clear message naming the field; nothing stored.
    let (s, v) = reply(&app, &link_a, "   ", "", vec![]).await;
    assert_eq!((s, v["fields"][0]["field"].as_str()), (422, Some("text")), "{v}");
    let (s, v) = reply(&app, &link_a, &"x".repeat(5001), "", vec![]).await;
    assert_eq!((s, v["fields"][0]["code"].as_str()), (422, Some("too_long")), "{v}");
    let (s, v) = reply(&app, &link_a, "Ik zag iets.", "12", vec![]).await;
    assert_eq!((s, v["fields"][0]["field"].as_str()), (422, Some("phone")), "{v}");
    let (s, v) = reply(&app, &link_a, "Ik zag iets.", "", vec![("foto.jpg", b"dit is tekst, geen foto".to_vec())]).await;
    assert_eq!((s, v["fields"][0]["field"].as_str()), (422, Some("photos[0]")), "{v}");
    assert!(v["fields"][0]["message"].as_str().unwrap().contains("foto.jpg"), "{v}");
    let (s, v) = reply(&app, &link_a, "Ik zag iets.", "", vec![("bom.png", png_bomb())]).await;
    assert_eq!((s, v["fields"][0]["code"].as_str()), (422, Some("invalid_photo")), "{v}");
    assert!(v["fields"][0]["message"].as_str().unwrap().contains("pixels"), "{v}");
    let mut big = jpeg_with_gps();
    big.resize(10 * 1024 * 1024 + 1, 0);
    let (s, v) = reply(&app, &link_a, "Ik zag iets.", "", vec![("groot.jpg", big)]).await;
    assert_eq!((s, v["fields"][0]["code"].as_str()), (422, Some("invalid_photo")), "{v}");
    assert!(v["fields"][0]["message"].as_str().unwrap().contains("10 MB"), "{v}");
    let six: Vec<(&str, Vec<u8>)> = (0..6).map(|_| ("p.png", png(8, 8))).collect();
    let (s, v) = reply(&app, &link_a, "Ik zag iets.", "", six).await;
    assert_eq!((s, v["fields"][0]["code"].as_str()), (422, Some("too_many_photos")), "{v}");
    assert_eq!(stored().await, "0", "nothing stored");
    assert!(photo_files(&app).is_empty(), "no photo kept");

    // A good reply, with a PNG; the link then works no more (also not for someone it was
    // passed to); the reply is the link's person's.
    let (s, v) = reply(&app, &link_a, "Camerabeelden van 9:40 beschikbaar.", "", vec![("p.png", png(40, 30))]).await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = reply(&app, &link_a, "Nog iets.", "", vec![]).await;
    assert_eq!((s, v["error"].as_str()), (409, Some("link_used")), "{v}");
    assert_eq!(stored().await, "1");
    let owner = app.store.admin_strings("SELECT CAST(participant_id AS TEXT) FROM replies").await.unwrap();
    assert_eq!(owner, vec![a.id.to_string()]);
    let (_, v) = get(&app, &handler, &format!("/api/v1/enquiries/{id}/replies")).await;
    assert_eq!(v["replies"][0]["photos"][0]["width"], 40);
    let (s, v) =
        post(&app, &handler, &format!("/api/v1/replies/{}/classify", v["replies"][0]["id"]), &json!({"classification": "maybe"}))
            .await;
    assert_eq!((s, v["fields"][0]["field"].as_str()), (422, Some("classification")), "{v}");
    // Overdue after one working day (the test clock starts on a Sunday: due Monday).
    app.clock.advance(chrono::Duration::hours(25));
    let (_, v) = get(&app, &handler, &format!("/api/v1/enquiries/{id}/replies?status=overdue")).await;
    assert_eq!(v["replies"].as_array().unwrap().len(), 1, "{v}");
    // Expired: b's link after 14 days.
    app.clock.advance(chrono::Duration::days(14));
    let (s, v) = reply(&app, &link_b, "Te laat.", "", vec![]).await;
    assert_eq!((s, v["error"].as_str()), (410, Some("link_expired")), "{v}");
    assert_eq!(stored().await, "1");
}

on_both_backends!(residents_reached_by_an_action_send_tips_that_only_its_control_room_sees);

async fn residents_reached_by_an_action_send_tips_that_only_its_control_room_sees(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let dispatcher = app.staff_token("dispatcher", "GM0307").await;
    let other_dispatcher = app.staff_token("dispatcher", "GM0344").await;
    let handler = app.staff_token("handler", "GM0307").await;
    let a = resident(&app, AMERSFOORT, &[Channel::Email], &[Topic::Urgent], "nl", vec![]).await;
    let b = resident(&app, AMERSFOORT, &[Channel::Email], &[Topic::Urgent], "en", vec![]).await;
    let (s, v) = post(
        &app,
        &dispatcher,
        "/api/v1/actions",
        &json!({"kind": "suspect", "status": "actual",
        "area": {"circle": {"lat": AMERSFOORT.0, "lon": AMERSFOORT.1, "radius_m": 800}},
        "title": "Verdachte man op de vlucht", "body": "Man, 30 jaar, rode jas, op een fiets richting het station."}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let action = v["id"].as_i64().unwrap();
    let (s, v) = post(&app, &dispatcher, &format!("/api/v1/actions/{action}/send"), &json!({})).await;
    assert_eq!(s, 200, "{v}");
    let mut links = Vec::new();
    for who in [&a.email, &b.email] {
        let mut link = None;
        for _ in 0..400 {
            if let Some(m) = app.sandbox(who).await.iter().find(|m| m["channel"] == "email") {
                link = Some(link_token(m["body"].as_str().unwrap(), &format!("{}/antwoord/", app.url)));
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        links.push(link.expect("the action's e-mail carries a tip link"));
    }
    let page = app.client.get(app.at(&format!("/antwoord/{}", links[0]))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Tip doorgeven") && page.contains("Verdachte man op de vlucht"), "{page}");
    // The console's live feeds are open while the tip comes in.
    let officer = app.staff_token("municipality-officer", "GM0307").await;
    let live = |token: String| {
        let req = app.client.get(app.at("/api/v1/actions/live")).bearer_auth(token);
        async move { req.send().await.unwrap() }
    };
    let (feed, feed_other, feed_officer) =
        (live(dispatcher.clone()).await, live(other_dispatcher.clone()).await, live(officer).await);
    assert_eq!(feed.status(), 200);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (s, v) =
        reply(&app, &links[0], "Rode jas gezien bij de Kamp, 12:05, richting station.", "", vec![("kamp.jpg", jpeg_with_gps())])
            .await;
    assert_eq!(s, 201, "{v}");

    // It arrives live for the action's control room, with its photo's address; the other
    // municipality's dispatcher and an officer without the dispatcher role get nothing.
    let got = sse_named(feed, "tip", 1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "the tip arrives live");
    assert_eq!(got[0]["action_id"], action);
    assert!(got[0]["text"].as_str().unwrap().contains("Rode jas"), "{}", got[0]);
    assert!(got[0]["photos"][0]["url"].as_str().unwrap().contains("/api/v1/reply-photos/"));
    assert!(sse_named(feed_other, "tip", 1, Duration::from_millis(1500)).await.is_empty(), "another control room");
    assert!(sse_named(feed_officer, "tip", 1, Duration::from_millis(500)).await.is_empty(), "not a dispatcher");
    let audited = app.store.audit_entries(50).await.unwrap();
    assert!(audited.iter().any(|e| e.action == "tip.view" && e.target.as_deref() == Some(&format!("reply:{}", got[0]["id"]))));

    // The control room sees the tip at once, with its photo (no EXIF); nobody else does.
    let (s, v) = get(&app, &dispatcher, &format!("/api/v1/actions/{action}/tips")).await;
    assert_eq!(s, 200, "{v}");
    let tips = v["tips"].as_array().unwrap();
    assert_eq!(tips.len(), 1, "{v}");
    assert!(tips[0]["text"].as_str().unwrap().contains("Rode jas"));
    let url = tips[0]["photos"][0]["url"].as_str().unwrap().to_string();
    let r = app.client.get(&url).bearer_auth(&dispatcher).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["cache-control"].to_str().unwrap().to_string()), (200, "no-store".into()));
    assert!(!has_exif(&r.bytes().await.unwrap()));
    assert_eq!(get(&app, &other_dispatcher, &format!("/api/v1/actions/{action}/tips")).await.0, 404);
    assert_eq!(app.client.get(&url).bearer_auth(&other_dispatcher).send().await.unwrap().status(), 404);
    assert_eq!(get(&app, &handler, &format!("/api/v1/actions/{action}/tips")).await.0, 403);
    assert_eq!(app.client.get(&url).bearer_auth(&handler).send().await.unwrap().status(), 403);
    let (_, list) = get(&app, &handler, "/api/v1/enquiries").await;
    assert_eq!(list["enquiries"].as_array().unwrap().len(), 0, "tips are no enquiries: {list}");
    let tip_channel = app.store.tips_of_action(action).await.unwrap().unwrap();
    assert_eq!(get(&app, &handler, &format!("/api/v1/enquiries/{}/replies", tip_channel.id)).await.0, 404);

    // Closing the action closes the tip links.
    let (s, v) = post(
        &app,
        &dispatcher,
        &format!("/api/v1/actions/{action}/close"),
        &json!({"outcome": "none", "body": "Gezochte man aangehouden."}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = reply(&app, &links[1], "Te laat.", "", vec![]).await;
    assert_eq!((s, v["error"].as_str()), (410, Some("enquiry_closed")), "{v}");
}

on_both_backends!(the_public_reply_page_is_rate_limited_per_client);

/// Guessing reply links (or flooding the page) is limited per client address, before any link
/// is looked up: 429 with `Retry-After` in our error shape; the one-click unsubscribe counts
/// against the same limit.
async fn the_public_reply_page_is_rate_limited_per_client(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.abuse_limits.reply = buurtnet_server::config::Limit { per_ip: 3, per_target: 0, window_seconds: 3600 };
    })
    .await;
    let reply = |n: usize| {
        let form = reqwest::multipart::Form::new().text("text", "Ik zag iets.");
        app.client
            .post(app.at(&format!("/antwoord/guessed-link-{n}")))
            .header("accept", "application/json")
            .multipart(form)
            .send()
    };
    for n in 0..2 {
        assert_eq!(reply(n).await.unwrap().status(), 404, "an unknown link");
    }
    let r = app.client.post(app.at("/afmelden/buurtonderzoek/not-a-token")).send().await.unwrap();
    assert_ne!(r.status(), 429, "the third call still passes");
    let r = reply(3).await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "too_many_requests", "{v}");
    let r = app.client.post(app.at("/afmelden/buurtonderzoek/not-a-token")).send().await.unwrap();
    assert_eq!(r.status(), 429, "unsubscribe counts too");
    app.clock.advance(chrono::Duration::hours(1));
    assert_eq!(reply(4).await.unwrap().status(), 404, "the next window");
}

on_both_backends!(a_request_carries_an_optional_photo_to_the_residents);

/// The requester adds a photo (its GPS position goes); it is shown in the residents' e-mail and
/// on their reply page; it is fixed once the enquiry is sent; bad photos and other teams are
/// refused.
async fn a_request_carries_an_optional_photo_to_the_residents(backend: Backend) {
    let cm = FakeCm::start().await;
    let smtp = SmtpServer::start().await;
    let app = live_app(backend, &cm, &smtp).await;
    let requester = app.staff_token("requester", "GM0307").await;
    let approver = app.staff_token("approver", "GM0307").await;
    let handler = app.staff_token("handler", "GM0307").await;
    let utrecht_requester = app.staff_token("requester", "GM0344").await;
    let a = resident(&app, AMERSFOORT, &[Channel::Email], &[Topic::Enquiry], "nl", vec![]).await;
    let (s, e) = post(&app, &requester, "/api/v1/enquiries", &burglary()).await;
    assert_eq!(s, 201, "{e}");
    assert!(e["photo"].is_null());
    let id = e["id"].as_i64().unwrap();
    let put = |token: String, content_type: &'static str, bytes: Vec<u8>| {
        let req = app
            .client
            .post(app.at(&format!("/api/v1/enquiries/{id}/photo")))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(bytes);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };

    // Refused: a text file called a JPEG, another type, another team, a role that asks nothing.
    let (s, v) = put(requester.clone(), "image/jpeg", b"this is not a photo".to_vec()).await;
    assert_eq!((s, v["fields"][0]["field"].as_str()), (422, Some("photo")), "{v}");
    assert_eq!(put(requester.clone(), "text/plain", jpeg_with_gps()).await.0, 422);
    assert_eq!(put(utrecht_requester, "image/jpeg", jpeg_with_gps()).await.0, 404);
    assert_eq!(put(handler, "image/jpeg", jpeg_with_gps()).await.0, 403);
    let (_, v) = get(&app, &requester, &format!("/api/v1/enquiries/{id}")).await;
    assert!(v["photo"].is_null(), "nothing stored by the refusals: {v}");

    // Accepted: re-encoded, its GPS position gone, public under a random address.
    let (s, v) = put(requester.clone(), "image/jpeg", jpeg_with_gps()).await;
    assert_eq!(s, 200, "{v}");
    let url = v["photo"]["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("{}/media/", app.url)) && url.ends_with(".jpg"), "{url}");
    assert_eq!((v["photo"]["width"].as_i64(), v["photo"]["height"].as_i64()), (Some(320), Some(240)));
    let r = app.client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(&[0xFF, 0xD8]) && !has_exif(&bytes));
    // Replacing it keeps one photo.
    let (s, v) = put(requester.clone(), "image/png", png(640, 480)).await;
    assert_eq!(s, 200, "{v}");
    let url = v["photo"]["url"].as_str().unwrap().to_string();
    assert_eq!(v["photo"]["width"], 640);
    assert_eq!(app.store.admin_strings("SELECT CAST(COUNT(*) AS TEXT) FROM enquiry_photos").await.unwrap()[0], "1");

    // Sent: the resident's e-mail shows it, and so does their reply page.
    let (s, v) = post(&app, &approver, &format!("/api/v1/enquiries/{id}/approve"), &json!({"version": v["version"]})).await;
    assert_eq!(s, 200, "{v}");
    let mail = wait_mail(&smtp, |m| m.rcpt_to.contains(&a.email)).await;
    let photo_path = &url[app.url.len()..];
    let html = mail.html.clone().expect("an HTML part");
    assert!(html.contains(&format!("<img src=\"{url}\"")), "the e-mail shows the photo: {html}");
    let link = link_token(mail.text.as_deref().unwrap(), &format!("{}/antwoord/", app.url));
    let page = app.client.get(app.at(&format!("/antwoord/{link}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("src=\"{photo_path}\"")) && page.contains("Foto bij dit buurtonderzoek"), "{page}");
    // Fixed once sent.
    let (s, v) = put(requester, "image/png", png(100, 100)).await;
    assert_eq!((s, v["error"].as_str()), (409, Some("wrong_state")), "{v}");
}
