//! Message texts sent to residents (SMS, e-mail), in Dutch with an English variant; the one
//! shape of page texts ([`table`]) and the tests that check texts (every key a page uses
//! exists, and every message reads as its snapshot).

pub mod mail;
pub mod table;

#[cfg(test)]
mod checks;
#[cfg(test)]
mod message_snapshots;

use buurtnet_domain::Language;

pub struct Mail {
    pub subject: String,
    pub body: String,
}

pub fn verify_email(lang: Language, link: &str, hours: i64) -> Mail {
    match lang {
        Language::Nl => Mail {
            subject: "Bevestig je e-mailadres voor buurtnet".into(),
            body: format!(
                "Hallo,\n\nJe hebt je aangemeld bij buurtnet. Bevestig je e-mailadres met deze link (geldig {hours} uur):\n\n{link}\n\nHeb je je niet aangemeld? Dan hoef je niets te doen.\n\nbuurtnet"
            ),
        },
        Language::En => Mail {
            subject: "Confirm your e-mail address for buurtnet".into(),
            body: format!(
                "Hello,\n\nYou signed up for buurtnet. Confirm your e-mail address with this link (valid for {hours} hours):\n\n{link}\n\nDid not sign up? Then you need not do anything.\n\nbuurtnet"
            ),
        },
    }
}

pub fn phone_code(lang: Language, code: &str, minutes: i64) -> String {
    match lang {
        Language::Nl => format!("Je buurtnet-code is {code}. Deze code is {minutes} minuten geldig."),
        Language::En => format!("Your buurtnet code is {code}. It is valid for {minutes} minutes."),
    }
}

pub fn already_registered_email(lang: Language, link: &str) -> Mail {
    match lang {
        Language::Nl => Mail {
            subject: "Je bent al aangemeld bij buurtnet".into(),
            body: format!(
                "Hallo,\n\nIemand probeerde zich aan te melden met dit e-mailadres, maar het is al aangemeld. Was jij dat? Bekijk of wijzig je gegevens via:\n\n{link}\n\nWas jij het niet? Dan hoef je niets te doen.\n\nbuurtnet"
            ),
        },
        Language::En => Mail {
            subject: "You are already registered with buurtnet".into(),
            body: format!(
                "Hello,\n\nSomeone tried to register with this e-mail address, but it is already registered. Was it you? View or change your details here:\n\n{link}\n\nWas it not you? Then you need not do anything.\n\nbuurtnet"
            ),
        },
    }
}

pub fn already_registered_sms(lang: Language) -> String {
    match lang {
        Language::Nl => "Dit nummer is al aangemeld bij buurtnet. Was jij dat niet? Dan hoef je niets te doen.".into(),
        Language::En => "This number is already registered with buurtnet. Was it not you? Then you need not do anything.".into(),
    }
}

pub fn self_service_email(lang: Language, link: &str, hours: i64) -> Mail {
    match lang {
        Language::Nl => Mail {
            subject: "Je gegevens bij buurtnet".into(),
            body: format!(
                "Hallo,\n\nMet deze link bekijk, wijzig, pauzeer, download of verwijder je je aanmelding (geldig {hours} uur):\n\n{link}\n\nbuurtnet"
            ),
        },
        Language::En => Mail {
            subject: "Your details at buurtnet".into(),
            body: format!(
                "Hello,\n\nWith this link you can view, change, pause, download or delete your registration (valid for {hours} hours):\n\n{link}\n\nbuurtnet"
            ),
        },
    }
}

pub fn self_service_sms(lang: Language, link: &str) -> String {
    match lang {
        Language::Nl => format!("Je buurtnet-gegevens: {link}"),
        Language::En => format!("Your buurtnet details: {link}"),
    }
}

/// To a participant when a device was linked to their account (a forwarded self-service link
/// must not link a stranger's phone silently): what happened and where to undo it.
pub fn device_linked_email(lang: Language, link: &str, hours: i64) -> Mail {
    match lang {
        Language::Nl => Mail {
            subject: "Er is een apparaat gekoppeld aan je buurtnet-aanmelding".into(),
            body: format!(
                "Hallo,\n\nZojuist is een apparaat (telefoon of browser) gekoppeld aan je aanmelding bij buurtnet. Het krijgt nu dezelfde meldingen als jij.\n\nWas jij dit niet? Ontkoppel het apparaat dan met deze link (geldig {hours} uur), onder 'Gekoppelde apparaten':\n\n{link}\n\nbuurtnet"
            ),
        },
        Language::En => Mail {
            subject: "A device was linked to your buurtnet registration".into(),
            body: format!(
                "Hello,\n\nA device (phone or browser) has just been linked to your buurtnet registration. It now gets the same alerts as you.\n\nWas this not you? Then unlink the device with this link (valid for {hours} hours), under 'Linked devices':\n\n{link}\n\nbuurtnet"
            ),
        },
    }
}

/// As [`device_linked_email`], by SMS (for participants without an e-mail address).
pub fn device_linked_sms(lang: Language, link: &str) -> String {
    match lang {
        Language::Nl => format!("Er is een apparaat gekoppeld aan je buurtnet-aanmelding. Niet jij? Ontkoppel het: {link}"),
        Language::En => format!("A device was linked to your buurtnet registration. Not you? Unlink it: {link}"),
    }
}
