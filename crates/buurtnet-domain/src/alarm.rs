//! Alarm neighbours and the emergency button: a resident invites a neighbour with a short-lived
//! code, the neighbour agrees by entering it, and either ends it. The emergency button alerts
//! one's alarm neighbours at once (push, and SMS and voice for those who chose them for their
//! home), with one's display name and street and house number; a false press is cancelled with a
//! second message. It is not an emergency service: the 112 notice says so before and after.

use crate::Language;
use crate::action_text::Texts;

/// Characters of an invitation code.
pub const CODE_LENGTH: usize = 8;
/// The characters a code is made of: capitals and digits without 0/O, 1/I/L (read aloud or typed
/// over from another phone without confusion). 31 characters, so 8 make about 2^39.6 codes.
pub const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// How long an invitation code is valid, in minutes (and it is used once).
pub const INVITATION_MINUTES: i64 = 15;
/// The most alarm neighbours one resident has.
pub const MAX_ALARM_NEIGHBOURS: i64 = 10;
/// Presses of the emergency button per participant per window (then 429).
pub const PRESSES_PER_WINDOW: u32 = 3;
/// The window of [`PRESSES_PER_WINDOW`], in seconds (an hour).
pub const PRESS_WINDOW_SECONDS: u64 = 3600;
/// How long an emergency alert is worth delivering, in minutes (a delivery still waiting then
/// expires).
pub const ALERT_VALIDITY_MINUTES: i64 = 30;
/// How long after a press it can be cancelled, in hours.
pub const CANCEL_HOURS: i64 = 24;

/// A code from random bytes (one byte per character; the small bias of `% 31` is irrelevant
/// for a code that lives 15 minutes and is used once).
pub fn code_from_bytes(bytes: &[u8; CODE_LENGTH]) -> String {
    bytes.iter().map(|b| CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()] as char).collect()
}

/// A code as typed: spaces and hyphens dropped, lower case accepted. `None` when it cannot be a
/// code (wrong length or characters).
pub fn normalise_code(raw: &str) -> Option<String> {
    let code: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_uppercase()).collect();
    (code.len() == CODE_LENGTH && code.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(code)
}

/// "Call 112 first": shown before and after a press (in every answer about the button).
pub fn notice_112(lang: Language) -> &'static str {
    match lang {
        Language::Nl => {
            "Bel eerst 112: dit is geen alarmnummer. Je alarmburen krijgen je noodmelding, de politie, brandweer en \
             ambulance niet."
        }
        Language::En => {
            "Call 112 first: this is not an emergency service. Your alarm neighbours get your alert; the police, fire \
             brigade and ambulance do not."
        }
    }
}

/// The alert to one's alarm neighbours: who (their display name) and where (street and house
/// number, and the town).
pub fn alert_texts(name: &str, address: &str, lang: Language) -> Texts {
    match lang {
        Language::Nl => {
            let title = format!("Noodmelding van {name}");
            let text = format!(
                "{name} drukte op de noodknop en vraagt je hulp: {address}. Ga kijken als dat veilig kan. Bij gevaar: bel 112. \
                 Je krijgt dit als alarmbuur van {name}."
            );
            Texts {
                sms: format!(
                    "buurtnet NOODMELDING: {name} vraagt je hulp, {address}. Ga kijken als dat veilig kan. Bij gevaar: bel 112."
                ),
                voice: format!(
                    "Dit is een noodmelding van buurtnet. Uw alarmbuur {name} vraagt uw hulp, op {address}. Ga kijken als dat \
                     veilig kan. Bij gevaar: bel 112."
                ),
                title,
                text,
            }
        }
        Language::En => {
            let title = format!("Emergency alert from {name}");
            let text = format!(
                "{name} pressed the emergency button and asks for your help: {address}. Go and look if it is safe to. In \
                 danger: call 112. You get this as {name}'s alarm neighbour."
            );
            Texts {
                sms: format!(
                    "buurtnet EMERGENCY: {name} asks for your help, {address}. Go and look if it is safe to. In danger: call 112."
                ),
                voice: format!(
                    "This is an emergency alert from buurtnet. Your alarm neighbour {name} asks for your help, at {address}. \
                     Go and look if it is safe to. In danger: call 112."
                ),
                title,
                text,
            }
        }
    }
}

/// The second message after a false press: the alert is cancelled.
pub fn cancelled_texts(name: &str, address: &str, lang: Language) -> Texts {
    match lang {
        Language::Nl => {
            let title = format!("Ingetrokken: noodmelding van {name}");
            let text = format!("{name} heeft de noodmelding ingetrokken ({address}): er is geen hulp nodig.");
            Texts {
                sms: format!("buurtnet: {name} heeft de noodmelding ingetrokken ({address}). Er is geen hulp nodig."),
                voice: format!("Dit is buurtnet. Uw alarmbuur {name} heeft de noodmelding ingetrokken. Er is geen hulp nodig."),
                title,
                text,
            }
        }
        Language::En => {
            let title = format!("Cancelled: emergency alert from {name}");
            let text = format!("{name} cancelled the emergency alert ({address}): no help is needed.");
            Texts {
                sms: format!("buurtnet: {name} cancelled the emergency alert ({address}). No help is needed."),
                voice: format!("This is buurtnet. Your alarm neighbour {name} cancelled the emergency alert. No help is needed."),
                title,
                text,
            }
        }
    }
}

/// Street and house number (with its addition, e.g. `70-2`), and the town when known.
pub fn address_line(street: &str, house_number: &str, town: Option<&str>) -> String {
    match town.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => format!("{} {}, {t}", street.trim(), house_number.trim()),
        None => format!("{} {}", street.trim(), house_number.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms_text::{SmsEncoding, measure};

    #[test]
    fn codes_are_made_and_read_back() {
        let code = code_from_bytes(&[0, 1, 2, 30, 31, 200, 255, 99]);
        assert_eq!(code.len(), CODE_LENGTH);
        assert_eq!(normalise_code(&code), Some(code.clone()));
        assert_eq!(normalise_code(&format!(" {}-{} ", code[..4].to_lowercase(), &code[4..])), Some(code));
        for bad in ["", "ABCD", "ABCDEFGH1", "ABCDEFG0", "ABCDEFGI", "ABCDEFG!"] {
            assert_eq!(normalise_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn texts_say_who_and_where_in_both_languages_and_fit_gsm7() {
        let address = address_line("Jutfaseweg", "70", Some("Utrecht"));
        assert_eq!(address, "Jutfaseweg 70, Utrecht");
        for lang in [Language::Nl, Language::En] {
            for t in [alert_texts("Anne", &address, lang), cancelled_texts("Anne", &address, lang)] {
                assert!(t.title.contains("Anne") && t.text.contains("Jutfaseweg 70") && t.sms.contains("Jutfaseweg 70"), "{t:?}");
                assert!(!t.voice.is_empty());
                assert_eq!(measure(&t.sms).encoding, SmsEncoding::Gsm7, "{}", t.sms);
            }
            assert!(notice_112(lang).contains("112"));
        }
        assert!(cancelled_texts("Anne", &address, Language::Nl).title.contains("Ingetrokken"));
        assert!(cancelled_texts("Anne", &address, Language::En).title.contains("Cancelled"));
        assert!(alert_texts("Anne", &address, Language::Nl).sms.contains("bel 112"));
    }
}
