//! What is stored with a message for the workers: its texts in Dutch and English (the SMS,
//! the spoken text, the push and e-mail texts, the e-mail's HTML), the thread that groups an
//! action's messages, and extra fields for the push payload.

use askama::Template;
use buurtnet_domain::Language;
use buurtnet_domain::action_text::Texts;
use serde_json::{Map, Value, json};

#[derive(Template)]
#[template(path = "email_alert.html")]
struct EmailAlert<'a> {
    lang: &'a str,
    title: &'a str,
    paragraphs: Vec<&'a str>,
    colour: &'a str,
    footer: &'a str,
    images: &'a [String],
    photo_alt: &'a str,
    /// The recipient's own tip link (the worker fills it in), or empty.
    link: &'a str,
    link_label: &'a str,
}

fn footer(lang: Language) -> &'static str {
    match lang {
        Language::Nl => {
            "U ontvangt dit bericht omdat u zich bij buurtnet hebt aangemeld. Via de link in de kop van dit bericht (afmelden) of op uw eigen pagina past u uw berichten aan."
        }
        Language::En => {
            "You receive this message because you signed up for buurtnet. Use the unsubscribe link of this message or your own page to change your messages."
        }
    }
}

fn tip_label(lang: Language) -> &'static str {
    match lang {
        Language::Nl => "Iets gezien? Geef uw tip door (met foto's)",
        Language::En => "Seen something? Send your tip (with photos)",
    }
}

/// The stored texts of one language, with the e-mail's HTML (and its photos); `tips`: the
/// e-mail carries the recipient's own tip link.
fn with_html(t: &Texts, lang: Language, urgent: bool, photos: &[String], tips: bool) -> Value {
    let link = if tips { buurtnet_delivery::worker::REPLY_URL_PLACEHOLDER } else { "" };
    let html = EmailAlert {
        lang: lang.as_str(),
        title: &t.title,
        paragraphs: vec![t.text.as_str()],
        colour: if urgent { "#c00" } else { "#036" },
        footer: footer(lang),
        images: photos,
        photo_alt: if lang == Language::Nl { "Foto bij dit bericht" } else { "Photo with this message" },
        link,
        link_label: tip_label(lang),
    }
    .render()
    .unwrap_or_default();
    let text = if tips {
        format!("{}\n\n{}: {link}\n\n{}", t.text, tip_label(lang), footer(lang))
    } else {
        format!("{}\n\n{}", t.text, footer(lang))
    };
    json!({"title": t.title, "text": t.text, "sms": t.sms, "voice": t.voice, "html": html, "email_text": text})
}

/// The JSON stored in `messages.content`. Photos (their public URLs) go into the e-mail's HTML
/// and the push payload; SMS and voice texts never carry them.
pub fn stored(
    nl: &Texts,
    en: &Texts,
    thread: &str,
    urgent: bool,
    mut push: Map<String, Value>,
    photos: &[String],
    tips: bool,
) -> String {
    if let Some(first) = photos.first() {
        push.insert("image".into(), first.clone().into());
        push.insert("photos".into(), photos.to_vec().into());
    }
    json!({
        "nl": with_html(nl, Language::Nl, urgent, photos, tips),
        "en": with_html(en, Language::En, urgent, photos, tips),
        "thread": thread,
        "push": push,
    })
    .to_string()
}
