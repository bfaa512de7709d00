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

/// The stored texts of one language, with the e-mail's HTML (and its photos).
fn with_html(t: &Texts, lang: Language, urgent: bool, photos: &[String]) -> Value {
    let html = EmailAlert {
        lang: lang.as_str(),
        title: &t.title,
        paragraphs: vec![t.text.as_str()],
        colour: if urgent { "#c00" } else { "#036" },
        footer: footer(lang),
        images: photos,
        photo_alt: if lang == Language::Nl { "Foto bij dit bericht" } else { "Photo with this message" },
    }
    .render()
    .unwrap_or_default();
    let text = format!("{}\n\n{}", t.text, footer(lang));
    json!({"title": t.title, "text": t.text, "sms": t.sms, "voice": t.voice, "html": html, "email_text": text})
}

/// The JSON stored in `messages.content`. Photos (their public URLs) go into the e-mail's HTML
/// and the push payload; SMS and voice texts never carry them.
pub fn stored(nl: &Texts, en: &Texts, thread: &str, urgent: bool, mut push: Map<String, Value>, photos: &[String]) -> String {
    if let Some(first) = photos.first() {
        push.insert("image".into(), first.clone().into());
        push.insert("photos".into(), photos.to_vec().into());
    }
    json!({
        "nl": with_html(nl, Language::Nl, urgent, photos),
        "en": with_html(en, Language::En, urgent, photos),
        "thread": thread,
        "push": push,
    })
    .to_string()
}
