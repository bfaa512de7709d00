//! The texts of an action's messages, per language, made from the dispatcher's title, body and
//! structured description by one template per kind. Exercises and tests say so at the start of
//! every text, on every channel.

use crate::Language;
use crate::action::{ActionKind, MessageKind, MessageStatus, Outcome};
use serde::{Deserialize, Serialize};

/// A described person (suspect, missing person, runaway child). Free text is the dispatcher's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// `male`, `female` or `unknown`.
    #[schema(pattern = "^(male|female|unknown)$")]
    pub sex: Option<String>,
    pub age: Option<u32>,
    pub height_cm: Option<u32>,
    #[schema(max_length = 200)]
    pub build: Option<String>,
    #[schema(max_length = 200)]
    pub hair: Option<String>,
    #[schema(max_length = 200)]
    pub clothing: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Vehicle {
    #[schema(max_length = 200)]
    pub make: Option<String>,
    #[schema(max_length = 200)]
    pub model: Option<String>,
    #[schema(max_length = 200)]
    pub colour: Option<String>,
    #[schema(max_length = 200)]
    pub plate: Option<String>,
}

/// The structured description of an action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Description {
    pub person: Option<Person>,
    pub vehicle: Option<Vehicle>,
    #[schema(max_length = 200)]
    pub direction: Option<String>,
    #[serde(default)]
    pub do_not_approach: bool,
}

/// What the dispatcher wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionContent {
    pub title: String,
    pub body: String,
    pub title_en: Option<String>,
    pub body_en: Option<String>,
    #[serde(default)]
    pub description: Description,
    /// The control room's call-back number.
    pub callback_phone: Option<String>,
}

/// The texts of one message in one language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Texts {
    /// Push title, e-mail subject.
    pub title: String,
    /// Push body, e-mail text, the live feed.
    pub text: String,
    /// The SMS (whole; never cut).
    pub sms: String,
    /// What a voice call says.
    pub voice: String,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn status_prefix(status: MessageStatus, lang: Language) -> &'static str {
    match (status, lang) {
        (MessageStatus::Actual, _) => "",
        (MessageStatus::Exercise, Language::Nl) => "OEFENING - ",
        (MessageStatus::Exercise, Language::En) => "EXERCISE - ",
        (MessageStatus::Test, Language::Nl) => "TEST - ",
        (MessageStatus::Test, Language::En) => "TEST - ",
    }
}

/// The kind's name as residents read it ("Vermist", "Gas leak"): the start of a message's title,
/// and a CAP alert's `event`.
pub fn kind_label(kind: ActionKind, lang: Language) -> &'static str {
    use ActionKind::*;
    match (kind, lang) {
        (Suspect, Language::Nl) => "Gezocht",
        (Suspect, Language::En) => "Wanted",
        (Vehicle, Language::Nl) => "Gezocht voertuig",
        (Vehicle, Language::En) => "Wanted vehicle",
        (MissingPerson, Language::Nl) => "Vermist",
        (MissingPerson, Language::En) => "Missing",
        (RunawayChild, Language::Nl) => "Vermist kind",
        (RunawayChild, Language::En) => "Missing child",
        (GasLeak, Language::Nl) => "Gaslek",
        (GasLeak, Language::En) => "Gas leak",
        (Bomb, Language::Nl) => "Bommelding",
        (Bomb, Language::En) => "Bomb alert",
        (Explosion, Language::Nl) => "Explosie",
        (Explosion, Language::En) => "Explosion",
        (Disaster, Language::Nl) => "Ramp",
        (Disaster, Language::En) => "Disaster",
        (Other, Language::Nl) => "Oproep",
        (Other, Language::En) => "Appeal",
    }
}

/// "man, 34 jaar, 1,85 m, slank, kort blond haar, draagt een rode jas".
fn describe_person(p: &Person, lang: Language) -> String {
    let mut parts: Vec<String> = Vec::new();
    match (p.sex.as_deref(), lang) {
        (Some("male"), Language::Nl) => parts.push("man".into()),
        (Some("female"), Language::Nl) => parts.push("vrouw".into()),
        (Some("male"), Language::En) => parts.push("male".into()),
        (Some("female"), Language::En) => parts.push("female".into()),
        _ => {}
    }
    if let Some(age) = p.age {
        parts.push(match lang {
            Language::Nl => format!("{age} jaar"),
            Language::En => format!("{age} years old"),
        });
    }
    if let Some(h) = p.height_cm {
        parts.push(match lang {
            Language::Nl => format!("{},{:02} m", h / 100, h % 100),
            Language::En => format!("{}.{:02} m", h / 100, h % 100),
        });
    }
    if let Some(b) = non_empty(&p.build) {
        parts.push(b.to_string());
    }
    if let Some(h) = non_empty(&p.hair) {
        parts.push(match lang {
            Language::Nl => format!("{h} haar"),
            Language::En => format!("{h} hair"),
        });
    }
    if let Some(c) = non_empty(&p.clothing) {
        parts.push(match lang {
            Language::Nl => format!("draagt {c}"),
            Language::En => format!("wearing {c}"),
        });
    }
    parts.join(", ")
}

fn describe_vehicle(v: &Vehicle, lang: Language) -> String {
    let mut parts: Vec<String> = Vec::new();
    let name: Vec<&str> = [non_empty(&v.make), non_empty(&v.model)].into_iter().flatten().collect();
    if !name.is_empty() {
        parts.push(name.join(" "));
    }
    if let Some(c) = non_empty(&v.colour) {
        parts.push(c.to_string());
    }
    if let Some(p) = non_empty(&v.plate) {
        parts.push(match lang {
            Language::Nl => format!("kenteken {p}"),
            Language::En => format!("licence plate {p}"),
        });
    }
    parts.join(", ")
}

/// The sentences made from the structured description.
fn description_sentences(kind: ActionKind, d: &Description, lang: Language) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = &d.person {
        let text = describe_person(p, lang);
        if !text.is_empty() {
            out.push(format!("{}: {text}.", kind_label(kind, lang)));
        }
    }
    if let Some(v) = &d.vehicle {
        let text = describe_vehicle(v, lang);
        if !text.is_empty() {
            out.push(match lang {
                Language::Nl => format!("Voertuig: {text}."),
                Language::En => format!("Vehicle: {text}."),
            });
        }
    }
    if let Some(dir) = non_empty(&d.direction) {
        out.push(match lang {
            Language::Nl => format!("Richting: {dir}."),
            Language::En => format!("Direction of travel: {dir}."),
        });
    }
    if d.do_not_approach {
        out.push(match lang {
            Language::Nl => "Benader de persoon niet.".into(),
            Language::En => "Do not approach.".into(),
        });
    }
    out
}

/// What residents are asked to do (the last sentence of a start or update; a CAP `instruction`).
pub fn call_to_action(kind: ActionKind, callback: Option<&str>, lang: Language) -> String {
    if kind.is_alarm() {
        return match lang {
            Language::Nl => "Volg de aanwijzingen van de hulpdiensten. Bij direct gevaar: bel 112.".into(),
            Language::En => "Follow the instructions of the emergency services. In immediate danger: call 112.".into(),
        };
    }
    match (callback, lang) {
        (Some(n), Language::Nl) => format!("Ziet u iets? Bel direct 112 of {n}."),
        (Some(n), Language::En) => format!("Seen something? Call 112 or {n} at once."),
        (None, Language::Nl) => "Ziet u iets? Bel direct 112.".into(),
        (None, Language::En) => "Seen something? Call 112 at once.".into(),
    }
}

fn outcome_sentence(outcome: Outcome, lang: Language) -> &'static str {
    match (outcome, lang) {
        (Outcome::Direct, Language::Nl) => "Dankzij uw tips is de zaak opgelost. Bedankt voor uw hulp!",
        (Outcome::Direct, Language::En) => "Thanks to your tips the case is solved. Thank you for your help!",
        (Outcome::Indirect, Language::Nl) => "Uw tips hebben bijgedragen aan de afloop. Bedankt voor uw hulp!",
        (Outcome::Indirect, Language::En) => "Your tips helped bring this to an end. Thank you for your help!",
        (Outcome::None, Language::Nl) => "De actie is afgelopen. Bedankt voor het meekijken.",
        (Outcome::None, Language::En) => "The action has ended. Thank you for keeping an eye out.",
    }
}

/// What a message of an action says, in `lang`. `extra` is the dispatcher's text of an update,
/// closing or cancellation; the title and body are the action's.
pub fn render(
    kind: ActionKind,
    status: MessageStatus,
    message: MessageKind,
    outcome: Option<Outcome>,
    content: &ActionContent,
    extra: Option<&str>,
    lang: Language,
) -> Texts {
    let title = match lang {
        Language::En => non_empty(&content.title_en).unwrap_or(content.title.trim()),
        Language::Nl => content.title.trim(),
    };
    let body = match lang {
        Language::En => non_empty(&content.body_en).unwrap_or(content.body.trim()),
        Language::Nl => content.body.trim(),
    };
    let prefix = status_prefix(status, lang);
    let label = kind_label(kind, lang);
    let extra = extra.map(str::trim).filter(|s| !s.is_empty());
    let (head, sentences): (String, Vec<String>) = match message {
        MessageKind::Start | MessageKind::Information | MessageKind::Enquiry => {
            let mut s = vec![body.to_string()];
            s.extend(description_sentences(kind, &content.description, lang));
            s.push(call_to_action(kind, non_empty(&content.callback_phone), lang));
            (format!("{prefix}{label}: {title}"), s)
        }
        MessageKind::Update => {
            // "Update" in both languages.
            let mut s = vec![extra.unwrap_or_default().to_string()];
            s.push(call_to_action(kind, non_empty(&content.callback_phone), lang));
            (format!("{prefix}Update {}: {title}", label.to_lowercase()), s)
        }
        MessageKind::Close => {
            let word = if lang == Language::Nl { "Afgesloten" } else { "Closed" };
            let mut s = Vec::new();
            if let Some(e) = extra {
                s.push(e.to_string());
            }
            s.push(outcome_sentence(outcome.unwrap_or(Outcome::None), lang).to_string());
            (format!("{prefix}{word}: {title}"), s)
        }
        // Not an action's message (see `alarm.rs` for their texts): the title and body as given.
        MessageKind::Emergency | MessageKind::EmergencyCancelled => (format!("{prefix}{title}"), vec![body.to_string()]),
        MessageKind::Cancel => {
            let (word, sorry) = match lang {
                Language::Nl => ("Correctie", "Dit bericht is ten onrechte verstuurd. U hoeft niets te doen."),
                Language::En => ("Correction", "This message was sent in error. You need not do anything."),
            };
            let mut s = vec![sorry.to_string()];
            if let Some(e) = extra {
                s.push(e.to_string());
            }
            (format!("{prefix}{word}: {title}"), s)
        }
    };
    let sentences: Vec<String> = sentences.into_iter().filter(|s| !s.is_empty()).collect();
    let text = sentences.join(" ");
    let sms = format!("{head}. {text}");
    let voice_intro = match lang {
        Language::Nl => "Dit is een bericht van buurtnet.",
        Language::En => "This is a message from buurtnet.",
    };
    let voice = format!("{voice_intro} {head}. {text}");
    Texts { title: head, text, sms, voice }
}

/// The texts of an information message from a municipality.
pub fn render_information(status: MessageStatus, title: &str, body: &str, lang: Language) -> Texts {
    let prefix = status_prefix(status, lang);
    let head = format!("{prefix}{}", title.trim());
    let text = body.trim().to_string();
    Texts { sms: format!("{head}. {text}"), voice: format!("{head}. {text}"), title: head, text }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing_girl() -> ActionContent {
        ActionContent {
            title: "Meisje vermist in Amersfoort".into(),
            body: "Sinds 14.00 uur wordt Sanne vermist.".into(),
            description: Description {
                person: Some(Person {
                    sex: Some("female".into()),
                    age: Some(8),
                    height_cm: Some(130),
                    build: Some("tenger".into()),
                    hair: Some("lang blond".into()),
                    clothing: Some("een roze jas".into()),
                }),
                vehicle: None,
                direction: Some("richting station".into()),
                do_not_approach: false,
            },
            callback_phone: Some("0900-8844".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_missing_child_is_described_in_dutch() {
        let t = render(
            ActionKind::RunawayChild,
            MessageStatus::Actual,
            MessageKind::Start,
            None,
            &missing_girl(),
            None,
            Language::Nl,
        );
        assert_eq!(t.title, "Vermist kind: Meisje vermist in Amersfoort");
        assert_eq!(
            t.text,
            "Sinds 14.00 uur wordt Sanne vermist. Vermist kind: vrouw, 8 jaar, 1,30 m, tenger, lang blond haar, draagt een roze jas. Richting: richting station. Ziet u iets? Bel direct 112 of 0900-8844."
        );
        assert!(t.sms.starts_with("Vermist kind: Meisje vermist in Amersfoort. Sinds"));
        assert!(t.voice.starts_with("Dit is een bericht van buurtnet."));
    }

    #[test]
    fn exercises_and_tests_say_so_in_every_text() {
        for (status, word) in [(MessageStatus::Exercise, "OEFENING"), (MessageStatus::Test, "TEST")] {
            let t = render(ActionKind::GasLeak, status, MessageKind::Start, None, &missing_girl(), None, Language::Nl);
            assert!(t.title.starts_with(word) && t.sms.starts_with(word) && t.voice.contains(word));
        }
        let t =
            render(ActionKind::GasLeak, MessageStatus::Exercise, MessageKind::Start, None, &missing_girl(), None, Language::En);
        assert!(t.title.starts_with("EXERCISE"));
    }

    #[test]
    fn closing_and_cancelling_texts() {
        let c = missing_girl();
        let t = render(
            ActionKind::MissingPerson,
            MessageStatus::Actual,
            MessageKind::Close,
            Some(Outcome::Direct),
            &c,
            Some("Sanne is gevonden."),
            Language::Nl,
        );
        assert_eq!(t.title, "Afgesloten: Meisje vermist in Amersfoort");
        assert_eq!(t.text, "Sanne is gevonden. Dankzij uw tips is de zaak opgelost. Bedankt voor uw hulp!");
        let t = render(ActionKind::MissingPerson, MessageStatus::Actual, MessageKind::Cancel, None, &c, None, Language::En);
        assert!(t.title.starts_with("Correction") && t.text.contains("sent in error"));
    }

    #[test]
    fn english_falls_back_to_dutch_free_text_but_translates_the_template() {
        let t = render(
            ActionKind::Vehicle,
            MessageStatus::Actual,
            MessageKind::Start,
            None,
            &ActionContent {
                title: "Auto gezocht".into(),
                title_en: Some("Car wanted".into()),
                body: "Na een overval.".into(),
                description: Description {
                    vehicle: Some(Vehicle {
                        make: Some("Volkswagen".into()),
                        model: Some("Golf".into()),
                        colour: Some("zwart".into()),
                        plate: Some("12-ABC-3".into()),
                    }),
                    do_not_approach: true,
                    ..Default::default()
                },
                ..Default::default()
            },
            None,
            Language::En,
        );
        assert_eq!(t.title, "Wanted vehicle: Car wanted");
        assert!(t.text.contains("Vehicle: Volkswagen Golf, zwart, licence plate 12-ABC-3. Do not approach."));
    }
}
