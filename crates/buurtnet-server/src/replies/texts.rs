//! What a resident reads about their own reply: the acknowledgement that goes out at once
//! (Dutch with an English variant, chosen per recipient by the delivery worker).

use crate::texts::mail::texts;
use buurtnet_domain::Language;
use serde_json::json;

/// The acknowledgement a resident gets at once for a reply to an enquiry.
pub fn acknowledgement_content(enquiry_id: i64) -> String {
    acknowledgement(&format!("enquiry-{enquiry_id}"))
}

/// The acknowledgement a resident gets at once, in the message thread `thread`.
pub fn acknowledgement(thread: &str) -> String {
    let nl = texts(
        Language::Nl,
        "Uw reactie is ontvangen",
        "Hartelijk dank voor uw reactie. Uw reactie wordt in behandeling genomen.\n\nBij spoed belt u altijd 112.",
        "",
        "",
        "Dit is een automatisch bericht van buurtnet.",
    );
    let en = texts(
        Language::En,
        "Your reply has been received",
        "Thank you for your reply. Your reply is being handled.\n\nIn an emergency always call 112.",
        "",
        "",
        "This is an automatic message from buurtnet.",
    );
    json!({"nl": nl, "en": en, "thread": thread, "push": {}}).to_string()
}
