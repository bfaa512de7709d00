//! The e-mail, SMS and voice adapters against local fakes of their providers (no database).

use crate::fakes::{FakeCm, ScriptedSmtp, SmtpServer, WAIT};
use buurtnet_delivery::provider::{Content, Destination, Outcome, Outgoing, Provider, Urgency};
use buurtnet_delivery::sms_http::{self, ReportStatus};
use buurtnet_delivery::{SmsHttp, Smtp, SmtpConfig, VoiceHttp};
use buurtnet_domain::Channel;
use std::sync::Arc;
use std::time::Duration;

fn outgoing(id: i64, channel: Channel, to: Destination, text: &str) -> Outgoing {
    Outgoing {
        delivery_id: id,
        reference: format!("bn{id}"),
        thread: "act7".into(),
        channel,
        to,
        language: "nl".into(),
        content: Content { title: String::new(), text: text.into(), ..Content::default() },
        urgency: Urgency::High,
        time_to_live: Duration::from_secs(3600),
    }
}

fn sms(id: i64, number: &str, text: &str) -> Outgoing {
    outgoing(id, Channel::Sms, Destination::Phone(number.into()), text)
}

fn call(id: i64, number: &str, text: &str) -> Outgoing {
    outgoing(id, Channel::Voice, Destination::Phone(number.into()), text)
}

fn smtp_for(server: &SmtpServer) -> Smtp {
    Smtp::from_config(&SmtpConfig {
        url: server.url.clone(),
        from: "Buurtnet Utrecht <alert@buurtnet.example>".into(),
        timeout: Duration::from_secs(5),
        pool_size: 2,
    })
    .unwrap()
}

#[tokio::test]
async fn email_arrives_with_both_parts_and_the_headers() {
    let server = SmtpServer::start().await;
    let smtp = smtp_for(&server);
    let mut msg = outgoing(42, Channel::Email, Destination::Email("bewoner@example.nl".into()), "");
    msg.content = Content {
        title: "Vermist: meisje, 8 jaar".into(),
        text: "Vermist: meisje, 8 jaar. Gezien in de Schaepmanstraat? Bel 112. Één tip kan helpen – dank!".into(),
        html: Some("<!doctype html><html><body><p>Vermist: meisje, 8 jaar. <b>Één</b> tip kan helpen.</p></body></html>".into()),
        unsubscribe_url: Some("https://buurtnet.example/mijn/afmelden?t=abc123".into()),
        ..Content::default()
    };
    assert_eq!(smtp.send(&msg).await, Outcome::Accepted { provider_id: None });
    let mails = server.wait_for(1, WAIT).await;
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(m.subject, "Vermist: meisje, 8 jaar");
    assert!(m.to.contains("bewoner@example.nl"), "{}", m.to);
    assert!(m.rcpt_to.contains("bewoner@example.nl"), "{}", m.rcpt_to);
    assert!(m.from.contains("alert@buurtnet.example"), "{}", m.from);
    assert_eq!(m.header("Message-ID"), Some("<bn42@buurtnet.example>"));
    assert_eq!(m.header("References"), Some("<act7@buurtnet.example>"));
    assert_eq!(m.header("List-Unsubscribe"), Some("<https://buurtnet.example/mijn/afmelden?t=abc123>"));
    assert_eq!(m.header("List-Unsubscribe-Post"), None, "no one-click: alert e-mails carry no account token");
    assert_eq!(m.header("Auto-Submitted"), Some("auto-generated"));
    assert_eq!(m.content_type, "multipart/alternative");
    assert_eq!(m.text.as_deref().map(str::trim_end), Some(msg.content.text.as_str()));
    assert!(m.html.as_deref().unwrap().contains("<b>Één</b> tip kan helpen."), "{:?}", m.html);

    // A retry of the same delivery is the same message to the recipient's mail system.
    assert!(matches!(smtp.send(&msg).await, Outcome::Accepted { .. }));
    let mails = server.wait_for(2, WAIT).await;
    assert_eq!(mails[1].header("Message-ID"), Some("<bn42@buurtnet.example>"));
}

#[tokio::test]
async fn email_without_html_or_unsubscribe_is_plain_text() {
    let server = SmtpServer::start().await;
    let smtp = smtp_for(&server);
    let mut msg = outgoing(43, Channel::Email, Destination::Email("a@example.nl".into()), "Alleen tekst: één regel.");
    msg.content.title = "Test".into();
    assert!(matches!(smtp.send(&msg).await, Outcome::Accepted { .. }));
    let m = &server.wait_for(1, WAIT).await[0];
    assert_eq!(m.content_type, "text/plain");
    assert_eq!(m.text.as_deref().map(str::trim_end), Some("Alleen tekst: één regel."));
    assert_eq!(m.html, None);
    assert_eq!(m.header("List-Unsubscribe"), None);
    assert_eq!(m.header("List-Unsubscribe-Post"), None);
}

#[tokio::test]
async fn email_failures_map_to_outcomes() {
    // Nothing listens: retry later.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let smtp = Smtp::from_config(&SmtpConfig { url: format!("smtp://127.0.0.1:{port}"), ..SmtpConfig::default() }).unwrap();
    let msg = outgoing(1, Channel::Email, Destination::Email("a@example.nl".into()), "x");
    assert!(matches!(smtp.send(&msg).await, Outcome::Retry { .. }));
    // An address that is no address: gone, without asking any server.
    let bad = outgoing(2, Channel::Email, Destination::Email("not an address".into()), "x");
    assert!(matches!(smtp.send(&bad).await, Outcome::Gone { .. }));
    // A phone number handed to the e-mail adapter: rejected.
    let wrong = sms(3, "+31612345678", "x");
    assert!(matches!(smtp.send(&wrong).await, Outcome::Rejected { .. }));
}

#[tokio::test]
async fn smtp_refusals_map_to_outcomes_without_the_address() {
    let msg = outgoing(5, Channel::Email, Destination::Email("weg@example.nl".into()), "x");
    for (reply, expected) in [
        ("550 5.1.1 <weg@example.nl>: Recipient address rejected: User unknown", "gone"),
        ("554 5.7.1 <weg@example.nl>: Relay access denied", "rejected"),
        ("451 4.3.0 <weg@example.nl>: Temporary lookup failure", "retry"),
        ("452 4.2.2 <weg@example.nl>: Mailbox full", "retry"),
    ] {
        let server = ScriptedSmtp::start(reply).await;
        let smtp = Smtp::from_config(&SmtpConfig { url: server.url.clone(), ..SmtpConfig::default() }).unwrap();
        let outcome = smtp.send(&msg).await;
        let (kind, reason) = match &outcome {
            Outcome::Gone { reason } => ("gone", reason),
            Outcome::Rejected { reason } => ("rejected", reason),
            Outcome::Retry { reason, .. } => ("retry", reason),
            Outcome::Accepted { .. } => panic!("{reply}: accepted"),
        };
        assert_eq!(kind, expected, "{reply}: {outcome:?}");
        assert!(reason.contains(&reply[..3]), "{reason}");
        assert!(!reason.contains("weg@"), "{reason}");
    }
}

#[tokio::test]
async fn sms_reaches_the_gateway_with_its_reference() {
    let cm = FakeCm::start().await;
    let adapter = SmsHttp::new(&cm.sms_config()).unwrap();
    // GSM 7-bit (an en dash "–" would make it UCS-2 and cost 2 parts at this length).
    let text = "AMBER Alert: Vermist: meisje, 8 jaar. Zie buurtnet.example/a/7 - bel 112 met tips.";
    assert_eq!(adapter.send(&sms(42, "+31612345678", text)).await, Outcome::Accepted { provider_id: None });
    let got = cm.wait_for_sms(1, WAIT).await;
    assert_eq!(got.len(), 1);
    let s = &got[0];
    assert_eq!((s.number.as_str(), s.text.as_str(), s.reference.as_str()), ("0031612345678", text, "bn42"));
    assert_eq!(s.allowed_channels, ["SMS"]);
    assert_eq!((s.from.as_str(), s.body_type.as_str()), ("Buurtnet", "auto"));
    assert_eq!((s.min_parts, s.max_parts), (Some(1), Some(1)));
    assert_eq!(s.header_token.as_deref(), Some(FakeCm::TOKEN));
    assert_eq!(s.body_token.as_deref(), Some(FakeCm::TOKEN));

    // A long Unicode text asks for as many parts as it needs.
    let long = "🚨 ".repeat(40);
    assert!(matches!(adapter.send(&sms(43, "+31612345678", &long)).await, Outcome::Accepted { .. }));
    let got = cm.wait_for_sms(2, WAIT).await;
    assert_eq!(got[1].max_parts, Some(2));
    // Longer than 8 parts: refused before the gateway sees it.
    assert!(matches!(adapter.send(&sms(44, "+31612345678", &"x".repeat(8 * 153 + 1))).await, Outcome::Rejected { .. }));
    assert_eq!(cm.requests(), 2);
}

#[tokio::test]
async fn sms_failures_map_to_outcomes() {
    let cm = FakeCm::start().await;
    let adapter = SmsHttp::new(&cm.sms_config()).unwrap();
    let msg = sms(1, "+31612345678", "Test");

    cm.rate_limit_next(1, 7);
    assert_eq!(
        adapter.send(&msg).await,
        Outcome::Retry { reason: "cm_sms: HTTP 429".into(), retry_after: Some(Duration::from_secs(7)) }
    );
    cm.fail_next(1, 500);
    assert!(matches!(adapter.send(&msg).await, Outcome::Retry { retry_after: None, .. }));
    cm.fail_next(1, 503);
    assert!(matches!(adapter.send(&msg).await, Outcome::Retry { .. }));
    cm.fail_next(1, 403);
    assert!(matches!(adapter.send(&msg).await, Outcome::Rejected { .. }));
    assert!(cm.sms().is_empty());

    // The gateway says the number is no number: gone, and the reason does not repeat it.
    match adapter.send(&sms(2, "+31abc", "Test")).await {
        Outcome::Gone { reason } => assert!(!reason.contains("31abc"), "{reason}"),
        other => panic!("expected Gone, got {other:?}"),
    }

    // Back to normal.
    assert!(matches!(adapter.send(&msg).await, Outcome::Accepted { .. }));
    assert_eq!(cm.wait_for_sms(1, WAIT).await[0].reference, "bn1");

    // Too slow: a time-out is a retry.
    cm.delay(3000);
    assert!(matches!(adapter.send(&msg).await, Outcome::Retry { .. }));
    cm.delay(0);

    // Down: connection refused is a retry; up again, it works.
    cm.down().await;
    assert!(matches!(adapter.send(&msg).await, Outcome::Retry { .. }));
    cm.up().await;
    assert!(matches!(adapter.send(&msg).await, Outcome::Accepted { .. }));
}

#[tokio::test]
async fn sms_rate_limit_paces_the_requests() {
    let cm = FakeCm::start().await;
    let adapter =
        Arc::new(SmsHttp::new(&buurtnet_delivery::SmsHttpConfig { messages_per_second: 20, ..cm.sms_config() }).unwrap());
    let start = std::time::Instant::now();
    let sends = (0..40).map(|i| {
        let a = adapter.clone();
        tokio::spawn(async move { a.send(&sms(i, "+31612345678", "x")).await })
    });
    for s in futures::future::join_all(sends).await {
        assert!(matches!(s.unwrap(), Outcome::Accepted { .. }));
    }
    // A burst of 20, then 20 more at 20/s: about one second.
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert_eq!(cm.sms().len(), 40);
}

#[tokio::test]
async fn sms_go_in_batches_and_one_bad_number_sinks_no_other() {
    let cm = FakeCm::start().await;
    let adapter = SmsHttp::new(&cm.sms_config()).unwrap();
    assert_eq!(adapter.batch_limit(), 50, "never more than one second's worth of the rate limit");
    let unlimited = SmsHttp::new(&buurtnet_delivery::SmsHttpConfig { messages_per_second: 0, ..cm.sms_config() }).unwrap();
    assert_eq!(unlimited.batch_limit(), buurtnet_delivery::sms_http::BATCH);

    // Five messages, one request, each with its own reference.
    let batch: Vec<Outgoing> = (0..5).map(|i| sms(100 + i, &format!("+3161234567{i}"), "Test")).collect();
    let outcomes = unlimited.send_batch(&batch).await;
    assert_eq!(outcomes, vec![Outcome::Accepted { provider_id: None }; 5]);
    assert_eq!(cm.requests(), 1);
    let refs: Vec<String> = cm.sms().iter().map(|m| m.reference.clone()).collect();
    assert_eq!(refs, ["bn100", "bn101", "bn102", "bn103", "bn104"]);

    // The gateway refuses a whole request for one invalid number: that one is gone, the others
    // go in a second request.
    let mut batch: Vec<Outgoing> = (0..4).map(|i| sms(200 + i, &format!("+3161234568{i}"), "Test")).collect();
    batch.insert(2, sms(299, "+31abc", "Test"));
    let outcomes = unlimited.send_batch(&batch).await;
    assert!(matches!(outcomes[2], Outcome::Gone { .. }), "{outcomes:?}");
    for (i, o) in outcomes.iter().enumerate().filter(|(i, _)| *i != 2) {
        assert_eq!(o, &Outcome::Accepted { provider_id: None }, "message {i}");
    }
    assert_eq!(cm.requests(), 3);
    assert_eq!(cm.sms().len(), 9, "the four good ones, once each");
    // A text too long for SMS is refused on its own, before any request.
    let mut batch = vec![sms(300, "+31612345690", "Test"), sms(301, "+31612345691", &"x".repeat(8 * 153 + 1))];
    batch.push(sms(302, "+31612345692", "Test"));
    let outcomes = unlimited.send_batch(&batch).await;
    assert!(matches!(outcomes[1], Outcome::Rejected { .. }) && outcomes[0] == outcomes[2], "{outcomes:?}");
    assert_eq!(cm.requests(), 4);

    // A failing gateway: every message of the request is retried.
    cm.fail_next(1, 503);
    let batch: Vec<Outgoing> = (0..3).map(|i| sms(400 + i, "+31612345699", "Test")).collect();
    let outcomes = unlimited.send_batch(&batch).await;
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Retry { .. })), "{outcomes:?}");
    assert_eq!(outcomes.len(), 3);
}

#[tokio::test]
async fn voice_call_carries_text_language_and_replays() {
    let cm = FakeCm::start().await;
    let adapter = VoiceHttp::new(&cm.voice_config()).unwrap();
    let mut msg = call(42, "+31612345678", "Dit is een alarmmelding van de politie. Gaslek in uw straat.");
    msg.content.replays = 2;
    assert_eq!(adapter.send(&msg).await, Outcome::Accepted { provider_id: Some("call-bn42".into()) });
    let mut en = call(43, "+31612345679", "This is a police alert.");
    en.language = "en".into();
    assert!(matches!(adapter.send(&en).await, Outcome::Accepted { .. }));
    let calls = cm.wait_for_calls(2, WAIT).await;
    let c = &calls[0];
    assert_eq!((c.instruction_id.as_str(), c.callee.as_str(), c.caller.as_str()), ("bn42", "+31612345678", "+3188000000"));
    assert_eq!((c.prompt.as_str(), c.prompt_type.as_str(), c.language.as_str()), (msg.content.text.as_str(), "TTS", "nl-NL"));
    assert_eq!((c.max_replays, c.auto_replay), (1, true));
    assert_eq!(c.header_token.as_deref(), Some(FakeCm::TOKEN));
    assert_eq!((calls[1].language.as_str(), calls[1].max_replays, calls[1].auto_replay), ("en-GB", 0, false));

    cm.rate_limit_next(1, 3);
    assert_eq!(
        adapter.send(&msg).await,
        Outcome::Retry { reason: "cm_voice: HTTP 429".into(), retry_after: Some(Duration::from_secs(3)) }
    );
    cm.fail_next(1, 500);
    assert!(matches!(adapter.send(&msg).await, Outcome::Retry { .. }));
    assert!(matches!(adapter.send(&call(44, "0612", "x")).await, Outcome::Gone { .. }));
}

#[tokio::test]
async fn voice_concurrency_limit_holds() {
    let cm = FakeCm::start().await;
    let adapter =
        Arc::new(VoiceHttp::new(&buurtnet_delivery::VoiceHttpConfig { max_concurrent_calls: 3, ..cm.voice_config() }).unwrap());
    cm.delay(300);
    let calls = (0..9).map(|i| {
        let a = adapter.clone();
        tokio::spawn(async move { a.send(&call(i, "+31612345678", "Test")).await })
    });
    let calls: Vec<_> = calls.collect();
    cm.wait_for_in_flight(3, WAIT).await;
    for c in futures::future::join_all(calls).await {
        assert!(matches!(c.unwrap(), Outcome::Accepted { .. }));
    }
    assert_eq!(cm.calls().len(), 9);
    assert_eq!(cm.max_in_flight(), 3);
    assert_eq!(adapter.available_call_slots(), 3);
}

#[test]
fn status_reports_and_their_signature() {
    let secret = b"webhook-secret";
    let body = br#"{"messages":{"msg":[
        {"received":"2026-11-29T18:00:00","to":"0031612345678","reference":"bn42","status":{"code":"2","errorCode":"","errorDescription":""},"operator":"20408"},
        {"received":"2026-11-29T18:00:01","to":"0031612345679","reference":"bn43","status":{"code":"3","errorCode":"5","errorDescription":"Unknown subscriber"}}]}}"#;
    let now = 1_796_000_000;
    let good = sms_http::sign(secret, body, now);
    assert!(good.starts_with(&format!("t={now},sha256=")) && good.len() == 2 + 10 + 8 + 64, "{good}");
    assert!(sms_http::verify_signature(secret, body, &good, now));
    assert!(sms_http::verify_signature(secret, body, &good, now + 299), "a little late");
    assert!(!sms_http::verify_signature(secret, body, &good, now + 301), "a replay after five minutes");
    assert!(!sms_http::verify_signature(secret, body, &good, now - 301), "from the future");
    let moved = good.replace(&format!("t={now}"), &format!("t={}", now + 60));
    assert!(!sms_http::verify_signature(secret, body, &moved, now + 60), "a changed time breaks the signature");
    assert!(!sms_http::verify_signature(b"wrong-secret", body, &good, now), "bad secret");
    assert!(!sms_http::verify_signature(secret, &body[1..], &good, now), "changed body");
    assert!(!sms_http::verify_signature(secret, body, "", now), "missing");
    assert!(!sms_http::verify_signature(secret, body, &format!("t={now},sha256="), now), "empty");
    assert!(!sms_http::verify_signature(secret, body, &good.replace("sha256=", "sha1="), now), "other scheme");
    assert!(!sms_http::verify_signature(b"", body, &good, now), "no secret");

    let reports = sms_http::parse_status_report(body).unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!((reports[0].delivery_id(), &reports[0].status), (Some(42), &ReportStatus::Delivered));
    assert_eq!(reports[1].status, ReportStatus::Failed { reason: "5: Unknown subscriber".into() });
    assert!(sms_http::parse_status_report(b"<MESSAGES/>").is_err());
}
