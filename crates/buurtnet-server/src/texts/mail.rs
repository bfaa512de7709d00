//! The shape of a message to residents, shared by the capabilities that write one (enquiries,
//! replies): the stored texts of one language for e-mail (HTML and plain), push, SMS and voice,
//! and Dutch civil time for the dates in them.

use askama::Template;
use buurtnet_domain::Language;
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc, Weekday};
use serde_json::{Value, json};

#[derive(Template)]
#[template(path = "email_enquiry.html")]
struct EmailEnquiry<'a> {
    lang: &'a str,
    title: &'a str,
    paragraphs: Vec<&'a str>,
    /// The request's photo, if it has one.
    image: &'a str,
    image_alt: &'a str,
    link: &'a str,
    link_label: &'a str,
    footer: &'a str,
}

/// Dutch civil time (CET, CEST from the last Sunday of March to the last Sunday of October,
/// changing at 01:00 UTC) — enough for dates and times in messages.
pub fn dutch_time(at: DateTime<Utc>) -> DateTime<chrono::FixedOffset> {
    let last_sunday = |month: u32| -> Option<DateTime<Utc>> {
        let mut d = NaiveDate::from_ymd_opt(at.year(), month, 31)?;
        while d.weekday() != Weekday::Sun {
            d = d.pred_opt()?;
        }
        Some(Utc.from_utc_datetime(&d.and_hms_opt(1, 0, 0)?))
    };
    let summer = matches!((last_sunday(3), last_sunday(10)), (Some(a), Some(b)) if at >= a && at < b);
    match chrono::FixedOffset::east_opt(if summer { 7200 } else { 3600 }) {
        Some(offset) => at.with_timezone(&offset),
        None => at.fixed_offset(),
    }
}

/// The stored texts of one language for an e-mail and push, with an optional link button.
pub(crate) fn texts(lang: Language, title: &str, body: &str, link: &str, link_label: &str, footer_text: &str) -> Value {
    texts_with_image(lang, title, body, "", link, link_label, footer_text)
}

/// [`texts`] with a photo shown in the e-mail (`image` is its public URL, or empty).
pub(crate) fn texts_with_image(
    lang: Language,
    title: &str,
    body: &str,
    image: &str,
    link: &str,
    link_label: &str,
    footer_text: &str,
) -> Value {
    let paragraphs: Vec<&str> = body.split("\n\n").collect();
    let image_alt = match lang {
        Language::Nl => "Foto bij dit buurtonderzoek",
        Language::En => "Photo with this enquiry",
    };
    let html = EmailEnquiry { lang: lang.as_str(), title, paragraphs, image, image_alt, link, link_label, footer: footer_text }
        .render()
        .unwrap_or_default();
    let mut email_text = body.to_string();
    if !link.is_empty() {
        email_text.push_str(&format!("\n\n{link_label}: {link}"));
    }
    email_text.push_str(&format!("\n\n{footer_text}"));
    json!({"title": title, "text": body, "sms": body, "voice": body, "html": html, "email_text": email_text})
}
