//! Every message text residents (and investigating teams) read, in both languages, as
//! snapshots (`insta`; the files are in `snapshots/` beside this file). A changed text fails
//! here until its snapshot is reviewed and updated: `INSTA_UPDATE=always cargo test -p
//! buurtnet-server --lib texts::` and read the diff of the `.snap` files before committing.
//! All inputs are fixed (times, links, names), so a snapshot changes only when a text does.

use crate::alerting::content;
use crate::enquiries::texts::{
    ANSWER_TEMPLATES, EnquiryFacts, acknowledgement_content, answer_content, answer_template, enquiry_content, forward_text,
};
use crate::texts;
use buurtnet_domain::Language;
use buurtnet_domain::action::{ActionKind, MessageKind, MessageStatus, Outcome};
use buurtnet_domain::action_text::{ActionContent, Description, Person, Texts, Vehicle, render, render_information};
use buurtnet_domain::enquiry::IncidentType;
use buurtnet_store::enquiries::{EnquiryRow, ReplyRow};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, Value};
use std::fmt::Write;

const LANGUAGES: [Language; 2] = [Language::Nl, Language::En];
const LINK: &str = "https://buurtnet.example.nl/l/TOKEN";

/// 14 March 2026, 21:30 in the Netherlands (winter time).
fn winter() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 14, 20, 30, 0).single().unwrap_or_default()
}

/// 3 July 2026, 02:15 in the Netherlands (summer time).
fn summer() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 7, 3, 0, 15, 0).single().unwrap_or_default()
}

fn heading(out: &mut String, title: &str) {
    let _ = writeln!(out, "===== {title} =====");
}

fn field(out: &mut String, name: &str, value: &str) {
    if name.ends_with("sms") {
        gsm7_only(name, value);
    }
    let _ = writeln!(out, "--- {name} ---\n{value}");
}

/// Every built-in SMS text, filled with GSM-7 values, stays in the GSM 7-bit alphabet: one
/// character outside it (an en dash, a curly quote) makes the whole message UCS-2 and doubles
/// its parts, for every participant who takes SMS.
fn gsm7_only(name: &str, text: &str) {
    let outside: Vec<char> = text.chars().filter(|c| buurtnet_domain::sms_text::gsm_septets(*c).is_none()).collect();
    assert!(outside.is_empty(), "{name} needs UCS-2 because of {outside:?}: {text}");
}

/// The stored content of a message (`messages.content`), readably: per language its e-mail
/// subject and push title (`title`), push body (`text`), SMS, voice script and e-mail body
/// (`email_text`); the HTML of the e-mail only when `html`.
fn stored_content(out: &mut String, stored: &str, html: bool) {
    let v: Value = serde_json::from_str(stored).unwrap_or_else(|e| panic!("stored content is not JSON ({e}): {stored}"));
    for lang in LANGUAGES {
        let texts = &v[lang.as_str()];
        assert!(texts.is_object(), "no {} texts in {stored}", lang.as_str());
        for name in ["title", "text", "sms", "voice", "email_text"] {
            field(out, &format!("{} {name}", lang.as_str()), texts[name].as_str().unwrap_or("(none)"));
        }
        if html {
            field(out, &format!("{} html", lang.as_str()), texts["html"].as_str().unwrap_or("(none)"));
        }
    }
    field(out, "thread", v["thread"].as_str().unwrap_or("(none)"));
    field(out, "push", &v["push"].to_string());
}

#[test]
fn participant_messages() {
    for lang in LANGUAGES {
        let mut out = String::new();
        for (name, mail) in [
            ("verification e-mail", texts::verify_email(lang, LINK, 24)),
            ("already registered e-mail", texts::already_registered_email(lang, LINK)),
            ("self-service e-mail", texts::self_service_email(lang, LINK, 72)),
        ] {
            heading(&mut out, name);
            field(&mut out, "subject", &mail.subject);
            field(&mut out, "body", &mail.body);
        }
        for (name, sms) in [
            ("phone code SMS", texts::phone_code(lang, "123456", 15)),
            ("already registered SMS", texts::already_registered_sms(lang)),
            ("self-service SMS", texts::self_service_sms(lang, LINK)),
        ] {
            heading(&mut out, name);
            field(&mut out, "sms", &sms);
        }
        insta::assert_snapshot!(format!("participant_messages_{}", lang.as_str()), out);
    }
}

fn facts(incident: IncidentType, occurred_at: DateTime<Utc>, photo_url: Option<&str>) -> EnquiryFacts<'_> {
    EnquiryFacts {
        id: 17,
        incident,
        occurred_at,
        description: "Bij een woning aan de Lindelaan is ingebroken via de achterdeur.",
        questions: "- Heeft u tussen 20:00 en 22:00 iets verdachts gezien?\n- Heeft u camerabeelden van de straat?",
        link_days: 14,
        photo_url,
    }
}

#[test]
fn enquiry_with_a_photo_in_full() {
    let mut out = String::new();
    let f = facts(IncidentType::Burglary, winter(), Some("https://buurtnet.example.nl/media/enquiry-17.jpg"));
    stored_content(&mut out, &enquiry_content(&f), true);
    insta::assert_snapshot!("enquiry_with_photo", out);
}

#[test]
fn enquiry_per_incident_type() {
    let mut out = String::new();
    for incident in IncidentType::ALL {
        heading(&mut out, incident.as_str());
        stored_content(&mut out, &enquiry_content(&facts(incident, summer(), None)), false);
    }
    insta::assert_snapshot!("enquiry_per_incident_type", out);
}

#[test]
fn enquiry_acknowledgement_and_answers() {
    let mut out = String::new();
    heading(&mut out, "acknowledgement");
    stored_content(&mut out, &acknowledgement_content(17), true);
    for name in ANSWER_TEMPLATES.split(", ") {
        let Some((nl, en)) = answer_template(name) else { panic!("answer template {name} is listed but has no text") };
        heading(&mut out, &format!("answer from template {name}"));
        stored_content(&mut out, &answer_content(17, nl, en), false);
    }
    let own = "Dank u wel. Wij nemen contact met u op over de camerabeelden.";
    heading(&mut out, "answer in the handler's own words");
    stored_content(&mut out, &answer_content(17, own, own), true);
    insta::assert_snapshot!("enquiry_acknowledgement_and_answers", out);
}

#[test]
fn forwarded_reply() {
    let ms = winter().timestamp_millis();
    let enquiry = EnquiryRow {
        id: 17,
        scope: "GM0307".into(),
        municipality: "GM0307".into(),
        incident_type: "burglary".into(),
        occurred_at: ms,
        lat: 52.156,
        lon: 5.387,
        radius_m: 300,
        description: "Inbraak via de achterdeur.".into(),
        questions: "Iets gezien?".into(),
        state: "sent".into(),
        return_comment: None,
        requested_by: 3,
        decided_by: Some(4),
        message_id: Some(40),
        created_at: ms,
        updated_at: ms,
        sent_at: Some(ms),
        closed_at: None,
        version: 1,
    };
    let reply = |classification: Option<&str>, phone: Option<&str>| ReplyRow {
        id: 5,
        enquiry_id: Some(17),
        action_id: None,
        participant_id: 9,
        text: "Ik zag rond 21:00 een man met een rode jas bij de achterom.".into(),
        phone: phone.map(String::from),
        language: "nl".into(),
        status: "classified".into(),
        classification: classification.map(String::from),
        forwarded_at: None,
        answer: None,
        answered_at: None,
        created_at: ms + 3_600_000,
        updated_at: ms + 3_600_000,
    };
    let mut out = String::new();
    for (name, r, photos) in [
        ("classified, with a call-back number and photos", reply(Some("relevant"), Some("+31612345678")), 2),
        ("not yet classified, no number", reply(None, None), 0),
    ] {
        let (subject, body) = forward_text(&enquiry, &r, photos);
        heading(&mut out, name);
        field(&mut out, "subject", &subject);
        field(&mut out, "body", &body);
    }
    insta::assert_snapshot!("enquiry_forwarded_reply", out);
}

fn action_content() -> ActionContent {
    ActionContent {
        title: "Gezocht bij station Amersfoort".into(),
        body: "Sinds 14.00 uur zoekt de politie in de omgeving van het station.".into(),
        title_en: Some("Sought near Amersfoort station".into()),
        body_en: Some("Since 14:00 the police have been searching near the station.".into()),
        description: Description {
            person: Some(Person {
                sex: Some("male".into()),
                age: Some(34),
                height_cm: Some(185),
                build: Some("slank".into()),
                hair: Some("kort blond".into()),
                clothing: Some("een rode jas".into()),
            }),
            vehicle: Some(Vehicle {
                make: Some("Volkswagen".into()),
                model: Some("Golf".into()),
                colour: Some("zwart".into()),
                plate: Some("12-ABC-3".into()),
            }),
            direction: Some("richting Leusden".into()),
            do_not_approach: true,
        },
        callback_phone: Some("0900-8844".into()),
    }
}

/// Every message an action can send: each message kind (a closing with each outcome).
fn action_messages() -> Vec<(String, MessageKind, Option<Outcome>, Option<&'static str>)> {
    let mut out = Vec::new();
    for &message in MessageKind::ALL.iter().filter(|k| !k.is_between_residents()) {
        match message {
            MessageKind::Close => {
                for &outcome in Outcome::ALL {
                    out.push((format!("close ({})", outcome.as_str()), message, Some(outcome), Some("De zoekactie is gestopt.")));
                }
            }
            MessageKind::Update => out.push(("update".into(), message, None, Some("Hij is gezien bij de Stadsring."))),
            MessageKind::Cancel => out.push(("cancel".into(), message, None, Some("Excuses voor het ongemak."))),
            _ => out.push((message.as_str().into(), message, None, None)),
        }
    }
    out
}

/// The stored content of an action's message as the action service makes it.
fn action_stored(nl: &Texts, en: &Texts, message: MessageKind) -> String {
    content::stored(nl, en, "action-8", true, Map::new(), &[], message == MessageKind::Start)
}

#[test]
fn action_messages_per_kind() {
    let c = action_content();
    for &kind in ActionKind::ALL {
        let mut out = String::new();
        for &status in MessageStatus::ALL {
            for (name, message, outcome, extra) in action_messages() {
                let nl = render(kind, status, message, outcome, &c, extra, Language::Nl);
                let en = render(kind, status, message, outcome, &c, extra, Language::En);
                heading(&mut out, &format!("{} · {name}", status.as_str()));
                stored_content(&mut out, &action_stored(&nl, &en, message), false);
            }
        }
        insta::assert_snapshot!(format!("action_{}", kind.as_str()), out);
    }
}

#[test]
fn action_e_mails_in_full() {
    let c = action_content();
    let mut out = String::new();
    for (name, message, outcome, extra) in action_messages() {
        let nl = render(ActionKind::Suspect, MessageStatus::Actual, message, outcome, &c, extra, Language::Nl);
        let en = render(ActionKind::Suspect, MessageStatus::Actual, message, outcome, &c, extra, Language::En);
        heading(&mut out, &name);
        stored_content(&mut out, &action_stored(&nl, &en, message), true);
    }
    heading(&mut out, "with photos");
    let nl = render(ActionKind::RunawayChild, MessageStatus::Exercise, MessageKind::Start, None, &c, None, Language::Nl);
    let en = render(ActionKind::RunawayChild, MessageStatus::Exercise, MessageKind::Start, None, &c, None, Language::En);
    let photos = ["https://buurtnet.example.nl/media/action-8-1.jpg".to_string()];
    stored_content(&mut out, &content::stored(&nl, &en, "action-8", true, Map::new(), &photos, true), true);
    insta::assert_snapshot!("action_e_mails", out);
}

#[test]
fn information_messages() {
    let mut out = String::new();
    for &status in MessageStatus::ALL {
        let nl =
            render_information(status, "Werkzaamheden Lindelaan", "Van 1 tot 5 juni is de Lindelaan afgesloten.", Language::Nl);
        let en = render_information(status, "Road works Lindelaan", "From 1 to 5 June the Lindelaan is closed.", Language::En);
        heading(&mut out, status.as_str());
        stored_content(
            &mut out,
            &content::stored(&nl, &en, "info-0a1b2c3d", false, Map::new(), &[], false),
            status == MessageStatus::Actual,
        );
    }
    insta::assert_snapshot!("information_messages", out);
}

#[test]
fn emergency_alert_and_its_cancellation() {
    use buurtnet_domain::alarm::{address_line, alert_texts, cancelled_texts};
    let mut out = String::new();
    let address = address_line("Jutfaseweg", "70", Some("Utrecht"));
    for (name, texts) in [("alert", alert_texts as fn(&str, &str, Language) -> Texts), ("cancelled", cancelled_texts)] {
        let nl = texts("Anne", &address, Language::Nl);
        let en = texts("Anne", &address, Language::En);
        heading(&mut out, name);
        stored_content(&mut out, &content::stored(&nl, &en, "emergency-0a1b2c", true, Map::new(), &[], false), false);
    }
    heading(&mut out, "notice 112");
    for lang in LANGUAGES {
        field(&mut out, lang.as_str(), buurtnet_domain::alarm::notice_112(lang));
    }
    insta::assert_snapshot!("emergency_messages", out);
}

#[test]
fn a_short_plain_dutch_exercise_is_one_sms() {
    use buurtnet_domain::sms_text::{SmsEncoding, measure};
    let c = ActionContent {
        title: "Vermist: man (82)".into(),
        body: "Wie heeft hem gezien? Bel 112.".into(),
        title_en: None,
        body_en: None,
        description: Description::default(),
        callback_phone: None,
    };
    for status in [MessageStatus::Exercise, MessageStatus::Test, MessageStatus::Actual] {
        let t = render(ActionKind::MissingPerson, status, MessageKind::Start, None, &c, None, Language::Nl);
        let m = measure(&t.sms);
        assert!(t.sms.chars().count() < 160, "{status:?}: {}", t.sms);
        assert_eq!((m.encoding, m.segments), (SmsEncoding::Gsm7, 1), "{status:?}: {}", t.sms);
    }
}
