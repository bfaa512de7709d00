//! Web page texts: Dutch by default, English available (`?lang=en`, a `lang` cookie, or the
//! browser's Accept-Language).

use crate::texts::table::text_table;
use buurtnet_domain::Language;

/// Texts for one language, handed to templates as `t`.
#[derive(Debug, Clone, Copy)]
pub struct T {
    pub lang: Language,
}

impl T {
    pub fn new(lang: Language) -> T {
        T { lang }
    }

    pub fn code(&self) -> &'static str {
        self.lang.as_str()
    }

    /// The other language's code, for the language switch.
    pub fn other(&self) -> &'static str {
        self.lang.other().as_str()
    }

    /// The text of `key` in this language (tests check that every key used exists).
    pub fn get<'a>(&self, key: &'a str) -> &'a str {
        RESIDENT.get(self.lang, key)
    }

    /// A field error in this language, by its stable code (English message as fallback).
    pub fn error(&self, code: &str, fallback: &str) -> String {
        match (self.lang, error_nl(code)) {
            (Language::Nl, Some(nl)) => nl.to_string(),
            _ => fallback.to_string(),
        }
    }
}

text_table! {
    /// The resident pages' texts (`t.get("key")` in the templates outside `console/`).
    pub static RESIDENT = "resident" {
        "app" => ("buurtnet", "buurtnet"),
        "switch" => ("English", "Nederlands"),
        "tagline" => ("Samen alert in je buurt", "Looking out for each other in your neighbourhood"),
        "home_intro" => (
            "Met buurtnet krijg je een bericht als de politie of je gemeente hulp vraagt bij jou in de buurt: een vermist kind, een verdachte, een gaslek. Je kiest zelf hoe: app, sms, gesproken bericht of e-mail.",
            "With buurtnet you get a message when the police or your municipality ask for help near you: a missing child, a suspect, a gas leak. You choose how: app, SMS, voice call or e-mail.",
        ),
        "register" => ("Aanmelden", "Sign up"),
        "my_details" => ("Mijn gegevens", "My details"),
        "verify_phone" => ("Telefoonnummer bevestigen", "Confirm phone number"),
        "not_112" => (
            "buurtnet is geen alarmnummer. Bij spoed: bel altijd eerst 112.",
            "buurtnet is not an emergency service. In an emergency, always call 112 first.",
        ),
        "email" => ("E-mailadres", "E-mail address"),
        "phone" => ("Mobiel nummer", "Mobile number"),
        "postcode" => ("Postcode", "Postcode"),
        "house_number" => ("Huisnummer", "House number"),
        "channels" => ("Hoe wil je berichten ontvangen?", "How do you want to receive messages?"),
        "ch_push" => ("App-melding", "App notification"),
        "ch_sms" => ("Sms", "SMS"),
        "ch_voice" => ("Gesproken bericht (telefoon)", "Voice call"),
        "ch_email" => ("E-mail", "E-mail"),
        "topics" => ("Waarover?", "About what?"),
        "tp_urgent" => ("Burgernetacties en AMBER Alerts", "Urgent actions and AMBER alerts"),
        "tp_enquiry" => ("Buurtonderzoek na bijvoorbeeld een inbraak", "Neighbourhood enquiries, e.g. after a burglary"),
        "tp_information" => ("Informatie van de gemeente", "Information from the municipality"),
        "no_voice_night" => ("Geen telefoontjes tussen 23:00 en 07:00", "No calls between 23:00 and 07:00"),
        "language" => ("Taal van berichten", "Language of messages"),
        "age" => ("Ik ben 16 jaar of ouder", "I am 16 or older"),
        "privacy" => (
            "Je e-mailadres en telefoonnummer zien alleen jij en buurtnet; nooit je buren. Je kunt je gegevens altijd inzien, downloaden en verwijderen.",
            "Only you and buurtnet see your e-mail address and phone number; never your neighbours. You can always view, download and delete your details.",
        ),
        "submit_register" => ("Aanmelden", "Sign up"),
        "errors_title" => ("Controleer deze velden", "Please check these fields"),
        "registered_title" => ("Bijna klaar", "Almost done"),
        "registered_text" => (
            "Bedankt! We hebben je een e-mail en/of sms gestuurd. Bevestig je e-mailadres via de link en vul de sms-code in.",
            "Thank you! We sent you an e-mail and/or SMS. Confirm your e-mail address with the link and enter the SMS code.",
        ),
        "code" => ("Code uit de sms (6 cijfers)", "Code from the SMS (6 digits)"),
        "submit_code" => ("Bevestigen", "Confirm"),
        "resend_code" => ("Stuur een nieuwe code", "Send a new code"),
        "phone_verified" => ("Je telefoonnummer is bevestigd.", "Your phone number is confirmed."),
        "confirm_email_title" => ("E-mailadres bevestigen", "Confirm your e-mail address"),
        "confirm_email_text" => (
            "Klik op de knop om te bevestigen dat je berichten van buurtnet op dit e-mailadres wilt ontvangen.",
            "Press the button to confirm that you want to receive buurtnet messages at this e-mail address.",
        ),
        "confirm_email_button" => ("Bevestigen", "Confirm"),
        "email_verified" => (
            "Je e-mailadres is bevestigd. Je ontvangt nu berichten van buurtnet.",
            "Your e-mail address is confirmed. You will now receive messages from buurtnet.",
        ),
        "link_sent" => (
            "Als dit adres of nummer bij ons bekend is, hebben we je een link gestuurd.",
            "If this address or number is known to us, we have sent you a link.",
        ),
        "request_link" => ("Stuur mij een link", "Send me a link"),
        "request_link_intro" => (
            "Vul je e-mailadres of mobiele nummer in. We sturen je een persoonlijke link waarmee je je gegevens bekijkt, wijzigt, pauzeert, downloadt of verwijdert.",
            "Enter your e-mail address or mobile number. We will send you a personal link to view, change, pause, download or delete your details.",
        ),
        "addresses" => ("Adressen", "Addresses"),
        "save" => ("Opslaan", "Save"),
        "saved" => ("Je wijzigingen zijn opgeslagen.", "Your changes have been saved."),
        "paused" => ("Gepauzeerd: je ontvangt geen berichten", "Paused: you receive no messages"),
        "paused_unconfirmed" => (
            "We hebben je aanmelding gepauzeerd omdat je niet hebt bevestigd dat je nog meedoet. Bevestig hieronder en je ontvangt weer berichten.",
            "We paused your registration because you did not confirm that you still take part. Confirm below and you receive messages again.",
        ),
        "confirm_question" => ("Doe je nog mee met buurtnet?", "Are you still with buurtnet?"),
        "confirm_yes" => ("Ja, ik doe nog mee", "Yes, I am still in"),
        "confirmed" => ("Bedankt: je doet weer een jaar mee.", "Thank you: you are in for another year."),
        "pause" => ("Pauzeren", "Pause"),
        "resume" => ("Weer berichten ontvangen", "Receive messages again"),
        "download" => ("Download al mijn gegevens (JSON)", "Download all my data (JSON)"),
        "delete" => ("Verwijder mijn aanmelding en al mijn gegevens", "Delete my registration and all my data"),
        "deleted" => {
            ("Je aanmelding en al je gegevens zijn verwijderd.", "Your registration and all your data have been deleted.")
        },
        "linked_devices" => ("Gekoppelde apparaten", "Linked devices"),
        "linked_devices_intro" => (
            "Deze apparaten krijgen dezelfde meldingen als jij. Ken je er een niet, ontkoppel het dan.",
            "These devices get the same alerts as you. If you do not know one, unlink it.",
        ),
        "no_linked_devices" => ("Er is geen apparaat gekoppeld.", "No device is linked."),
        "device" => ("Apparaat", "Device"),
        "device_push" => ("pushmeldingen via", "push notifications through"),
        "device_no_push" => ("alleen meldingen terwijl de app open is", "alerts only while the app is open"),
        "linked_since" => ("aangemeld op", "registered on"),
        "unlink" => ("Ontkoppelen", "Unlink"),
        "unlinked" => ("Het apparaat is ontkoppeld.", "The device has been unlinked."),
        "verified" => ("bevestigd", "confirmed"),
        "unverified" => ("nog niet bevestigd", "not yet confirmed"),
        "approximate" => ("locatie bij benadering (postcodegebied)", "approximate location (postcode area)"),
        "error_title" => ("Er ging iets mis", "Something went wrong"),
        "request_id" => ("Verzoek-ID", "Request ID"),
        "sandbox" => ("Sandbox: verstuurde berichten", "Sandbox: messages sent"),
    }
}

fn error_nl(code: &str) -> Option<&'static str> {
    Some(match code {
        "invalid_email" => "Dit is geen geldig e-mailadres.",
        "invalid_phone" => "Dit is geen geldig telefoonnummer (bijvoorbeeld 06 12345678).",
        "invalid_language" => "Kies Nederlands of Engels.",
        "age_not_confirmed" => "Je moet 16 jaar of ouder zijn.",
        "no_topics" => "Kies ten minste één onderwerp.",
        "no_addresses" | "missing_location" => "Vul je postcode en huisnummer in.",
        "invalid_postcode" => "Dit is geen Nederlandse postcode (bijvoorbeeld 3811 AB).",
        "invalid_house_number" => "Dit is geen huisnummer (bijvoorbeeld 12 of 12A).",
        "missing_house_number" => "Vul ook je huisnummer in.",
        "missing_postcode" => "Vul ook je postcode in.",
        "no_channels" => "Kies ten minste één manier om berichten te ontvangen.",
        "no_contact" => "Vul je e-mailadres of mobiele nummer in.",
        "email_channel_without_email" => "Voor e-mail hebben we je e-mailadres nodig.",
        "voice_channel_without_phone" => "Voor gesproken berichten hebben we je telefoonnummer nodig.",
        "sms_channel_without_phone" => "Voor sms hebben we je mobiele nummer nodig.",
        "sms_needs_mobile" => "Sms kan alleen naar een mobiel nummer.",
        "address_not_found" => "Deze postcode kunnen we niet vinden.",
        "outside_netherlands" => "Dit adres ligt niet in Nederland.",
        "invalid_code_format" => "De code bestaat uit 6 cijfers.",
        "code_invalid" => "De code is onjuist, verlopen of te vaak geprobeerd. Vraag een nieuwe code aan en probeer het opnieuw.",
        "too_many_requests" => "Te veel verzoeken. Wacht even en probeer het dan opnieuw.",
        "link_expired" => "Deze link is verlopen. Vraag een nieuwe link aan.",
        "link_invalid" => "Deze link is niet geldig.",
        "csrf" => "Je formulier is verlopen. Laad de pagina opnieuw en probeer het nog eens.",
        _ => return None,
    })
}

/// Chooses the language from `?lang=`, the `lang` cookie, then Accept-Language.
pub fn choose(query: Option<&str>, cookie: Option<&str>, accept_language: Option<&str>) -> Language {
    if let Some(l) = query.and_then(Language::parse) {
        return l;
    }
    if let Some(l) = cookie.and_then(Language::parse) {
        return l;
    }
    if let Some(al) = accept_language {
        for tag in al.split(',') {
            let tag = tag.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
            if tag.starts_with("nl") {
                return Language::Nl;
            }
            if tag.starts_with("en") {
                return Language::En;
            }
        }
    }
    Language::Nl
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_choice_and_texts() {
        assert_eq!(choose(Some("en"), Some("nl"), None), Language::En);
        assert_eq!(choose(None, Some("en"), None), Language::En);
        assert_eq!(choose(None, None, Some("en-GB,en;q=0.9")), Language::En);
        assert_eq!(choose(None, None, Some("de-DE,nl;q=0.5")), Language::Nl);
        assert_eq!(choose(None, None, None), Language::Nl);
        assert_eq!(T::new(Language::En).get("register"), "Sign up");
        assert_eq!(T::new(Language::Nl).get("register"), "Aanmelden");
    }
}
