//! What residents and teams read: the enquiry (with the personal link the worker fills in),
//! the handler's answer, and a forwarded reply (the acknowledgement of a reply is the replies
//! capability's, re-exported here). Dutch with an
//! English variant, chosen per recipient by the delivery worker.

pub use crate::replies::texts::acknowledgement_content;
pub use crate::texts::mail::dutch_time;
use crate::texts::mail::{texts, texts_with_image};
use buurtnet_delivery::worker::REPLY_URL_PLACEHOLDER;
use buurtnet_domain::Language;
use buurtnet_domain::enquiry::IncidentType;
use buurtnet_store::enquiries::{EnquiryRow, ReplyRow};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

fn footer(lang: Language) -> &'static str {
    match lang {
        Language::Nl => {
            "U ontvangt dit buurtonderzoek omdat u zich bij buurtnet hebt aangemeld voor buurtonderzoeken. Met de afmeldlink van dit bericht stopt u alleen de buurtonderzoeken; andere berichten blijft u ontvangen. Bij spoed belt u altijd 112."
        }
        Language::En => {
            "You receive this neighbourhood enquiry because you signed up to buurtnet for enquiries. The unsubscribe link of this message stops enquiries only; you keep your other messages. In an emergency always call 112."
        }
    }
}

/// What an enquiry says.
pub struct EnquiryFacts<'a> {
    pub id: i64,
    pub incident: IncidentType,
    pub occurred_at: DateTime<Utc>,
    pub description: &'a str,
    pub questions: &'a str,
    pub link_days: i64,
    /// The public URL of the request's photo.
    pub photo_url: Option<&'a str>,
}

fn enquiry_texts(f: &EnquiryFacts<'_>, lang: Language) -> Value {
    let t = dutch_time(f.occurred_at);
    let (date, time) = (t.format("%d-%m-%Y").to_string(), t.format("%H:%M").to_string());
    let label = f.incident.label(lang);
    let (title, body, link_label) = match lang {
        Language::Nl => (
            format!("Buurtonderzoek: {label} bij u in de buurt"),
            format!(
                "Op {date} rond {time} uur was er een {} bij u in de buurt.\n\n{}\n\nDe politie vraagt u:\n{}\n\nHeeft u iets gezien of gehoord, of heeft u camerabeelden? Reageer via uw persoonlijke link (die {} dagen geldig is). U kunt ook foto's meesturen.",
                label.to_lowercase(),
                f.description,
                f.questions,
                f.link_days
            ),
            "Reageer op dit buurtonderzoek",
        ),
        Language::En => (
            format!("Neighbourhood enquiry: {label} near you"),
            format!(
                "On {date} at about {time} there was a {} near you.\n\n{}\n\nThe police ask you:\n{}\n\nDid you see or hear anything, or do you have camera images? Reply through your personal link (valid for {} days). You can add photos.",
                label.to_lowercase(),
                f.description,
                f.questions,
                f.link_days
            ),
            "Reply to this enquiry",
        ),
    };
    texts_with_image(lang, &title, &body, f.photo_url.unwrap_or(""), REPLY_URL_PLACEHOLDER, link_label, footer(lang))
}

/// The `messages.content` of an enquiry: the worker puts each recipient's link in place of
/// the placeholder.
pub fn enquiry_content(f: &EnquiryFacts<'_>) -> String {
    let mut push = Map::new();
    push.insert("kind".into(), "enquiry".into());
    push.insert("enquiry_id".into(), f.id.into());
    if let Some(url) = f.photo_url {
        push.insert("image".into(), url.into());
    }
    json!({"nl": enquiry_texts(f, Language::Nl), "en": enquiry_texts(f, Language::En), "thread": format!("enquiry-{}", f.id), "push": push})
        .to_string()
}

/// Standard answers a handler can start from.
pub fn answer_template(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "used" => Some((
            "Uw informatie is doorgegeven aan het onderzoeksteam. Dank voor uw hulp.",
            "Your information has been passed on to the investigating team. Thank you for your help.",
        )),
        "other_case" => Some((
            "Uw informatie helpt niet bij deze zaak, maar wel bij een ander onderzoek; we hebben haar daarvoor doorgegeven. Dank voor uw hulp.",
            "Your information does not help in this case but does in another investigation; we passed it on. Thank you for your help.",
        )),
        "not_relevant" => Some((
            "Uw informatie bleek voor dit onderzoek niet bruikbaar, maar ook dat helpt ons om zaken uit te sluiten. Dank voor uw reactie.",
            "Your information turned out not to be of use for this investigation, but that too helps us rule things out. Thank you for replying.",
        )),
        _ => None,
    }
}

pub const ANSWER_TEMPLATES: &str = "used, other_case, not_relevant";

/// The handler's answer to a resident (the same text in both languages when the handler
/// wrote it themselves; the template's own translation otherwise).
pub fn answer_content(enquiry_id: i64, nl_body: &str, en_body: &str) -> String {
    let nl = texts(Language::Nl, "Antwoord op uw reactie (buurtonderzoek)", nl_body, "", "", "Dit bericht komt van buurtnet.");
    let en =
        texts(Language::En, "Answer to your reply (neighbourhood enquiry)", en_body, "", "", "This message comes from buurtnet.");
    json!({"nl": nl, "en": en, "thread": format!("enquiry-{enquiry_id}"), "push": {}}).to_string()
}

/// A forwarded reply for the investigating team (Dutch; the photos are attached).
pub fn forward_text(e: &EnquiryRow, r: &ReplyRow, photos: usize) -> (String, String) {
    let at = |ms: i64| dutch_time(DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()).format("%d-%m-%Y %H:%M");
    let subject = format!("Buurtonderzoek {}: reactie {}", e.id, r.id);
    let body = format!(
        "Reactie {} op buurtonderzoek {} ({}, {}).\nOntvangen: {}\nBeoordeling: {}\nTerugbelnummer: {}\nFoto's: {photos} (bijgevoegd)\n\n{}\n",
        r.id,
        e.id,
        e.incident_type,
        at(e.occurred_at),
        at(r.created_at),
        r.classification.as_deref().unwrap_or("nog niet beoordeeld"),
        r.phone.as_deref().unwrap_or("niet opgegeven"),
        r.text,
    );
    (subject, body)
}
