//! How our actions map onto CAP and back: kinds ↔ `event`/`category`, levels ↔
//! `urgency`/`severity`/`certainty`, our statuses ↔ CAP's, our languages ↔ CAP's language tags.
//! What is public is the domain's rule (`ActionKind::may_be_published`), never decided here.

use crate::model::{Category, Certainty, Info, ResponseType, Severity, Status, Urgency};
use buurtnet_domain::Language;
use buurtnet_domain::action::{ActionKind, Level, MessageStatus};
use buurtnet_domain::action_text::kind_label;

/// The parameter carrying our level (`local`, `regional`, `national`) in exported alerts.
pub const LEVEL_PARAMETER: &str = "buurtnet:level";
/// The parameter carrying our kind in exported alerts (the event is a label in each language).
pub const KIND_PARAMETER: &str = "buurtnet:kind";

/// The language tag of an info block in `lang`.
pub fn language_tag(lang: Language) -> &'static str {
    match lang {
        Language::Nl => "nl-NL",
        Language::En => "en-GB",
    }
}

/// Our language of a CAP language tag (`nl`, `nl-NL`, `nl-BE`, `en`, `en-US`, …).
pub fn language_of(tag: &str) -> Option<Language> {
    let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
    Language::parse(primary)
}

/// The event in `lang`: the kind's label ("Vermist", "Gas leak").
pub fn event(kind: ActionKind, lang: Language) -> &'static str {
    kind_label(kind, lang)
}

pub fn category(kind: ActionKind) -> Category {
    use ActionKind::*;
    match kind {
        Suspect | Vehicle | Bomb => Category::Security,
        MissingPerson | RunawayChild => Category::Rescue,
        GasLeak => Category::Cbrne,
        Explosion => Category::Fire,
        Disaster => Category::Safety,
        Other => Category::Other,
    }
}

/// Urgency, severity and certainty of an action of `kind` at `level`: alarms and AMBER Alerts
/// are immediate and severe (a disaster extreme); searches are expected and moderate.
pub fn assessment(kind: ActionKind, level: Level) -> (Urgency, Severity, Certainty) {
    let severity = match (kind, level) {
        (ActionKind::Disaster, _) => Severity::Extreme,
        (_, Level::National) => Severity::Severe,
        (k, _) if k.is_alarm() => Severity::Severe,
        (_, Level::Regional) => Severity::Moderate,
        (ActionKind::Other, Level::Local) => Severity::Minor,
        (_, Level::Local) => Severity::Moderate,
    };
    let urgency = if kind.is_alarm() || kind.needs_family_consent() || level == Level::National {
        Urgency::Immediate
    } else {
        Urgency::Expected
    };
    let certainty = if kind == ActionKind::Other { Certainty::Likely } else { Certainty::Observed };
    (urgency, severity, certainty)
}

/// What the public is asked to do while an action runs: stay away from an alarm, keep an eye
/// out for a missing person (the closing message says `AllClear`).
pub fn response(kind: ActionKind) -> ResponseType {
    if kind.is_alarm() { ResponseType::Avoid } else { ResponseType::Monitor }
}

pub fn status(s: MessageStatus) -> Status {
    match s {
        MessageStatus::Actual => Status::Actual,
        MessageStatus::Exercise => Status::Exercise,
        MessageStatus::Test => Status::Test,
    }
}

/// Our status of a CAP status; `System` and `Draft` are no alerts for residents.
pub fn message_status(s: Status) -> Option<MessageStatus> {
    match s {
        Status::Actual => Some(MessageStatus::Actual),
        Status::Exercise => Some(MessageStatus::Exercise),
        Status::Test => Some(MessageStatus::Test),
        Status::System | Status::Draft => None,
    }
}

/// Words in an event (either language, any case) that name a kind of ours.
const EVENT_WORDS: &[(&str, ActionKind)] = &[
    ("amber", ActionKind::MissingPerson),
    ("vermist kind", ActionKind::RunawayChild),
    ("missing child", ActionKind::RunawayChild),
    ("weggelopen", ActionKind::RunawayChild),
    ("runaway", ActionKind::RunawayChild),
    ("vermis", ActionKind::MissingPerson),
    ("missing", ActionKind::MissingPerson),
    ("gaslek", ActionKind::GasLeak),
    ("gas leak", ActionKind::GasLeak),
    ("gaslucht", ActionKind::GasLeak),
    ("bom", ActionKind::Bomb),
    ("bomb", ActionKind::Bomb),
    ("explosi", ActionKind::Explosion),
    ("ramp", ActionKind::Disaster),
    ("disaster", ActionKind::Disaster),
    ("voertuig", ActionKind::Vehicle),
    ("vehicle", ActionKind::Vehicle),
    ("verdachte", ActionKind::Suspect),
    ("gezocht", ActionKind::Suspect),
    ("wanted", ActionKind::Suspect),
    ("suspect", ActionKind::Suspect),
];

/// The kind an info block is about: our own kind parameter, else the event's words (labels of
/// both languages first), else `None` (the caller makes it `other`, with the event in the title).
pub fn kind_of(info: &Info) -> Option<ActionKind> {
    if let Some(k) = info.parameter(KIND_PARAMETER).and_then(|k| ActionKind::parse(k.trim())) {
        return Some(k);
    }
    let event = info.event.trim().to_lowercase();
    if event.is_empty() {
        return None;
    }
    for kind in ActionKind::ALL {
        for lang in [Language::Nl, Language::En] {
            if kind_label(*kind, lang).to_lowercase() == event && *kind != ActionKind::Other {
                return Some(*kind);
            }
        }
    }
    EVENT_WORDS.iter().find(|(w, _)| event.contains(w)).map(|(_, k)| *k)
}

/// The level an info block asks for: our own parameter, else an AMBER Alert is national,
/// else local (the area decides the reach).
pub fn level_of(info: &Info) -> Level {
    if let Some(l) = info.parameter(LEVEL_PARAMETER).and_then(|l| Level::parse(l.trim())) {
        return l;
    }
    if info.event.to_lowercase().contains("amber") { Level::National } else { Level::Local }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_comes_back_from_its_event_in_both_languages() {
        for kind in ActionKind::ALL {
            for lang in [Language::Nl, Language::En] {
                let info = Info::new(
                    "nl-NL",
                    category(*kind),
                    event(*kind, lang),
                    Urgency::Unknown,
                    Severity::Unknown,
                    Certainty::Unknown,
                );
                let found = kind_of(&info);
                if *kind == ActionKind::Other {
                    assert_eq!(found, None, "{lang:?}");
                } else {
                    assert_eq!(found, Some(*kind), "{kind:?} {lang:?}");
                }
            }
        }
    }

    #[test]
    fn foreign_events_map_by_their_words() {
        let info = |e: &str| Info::new("en-US", Category::Other, e, Urgency::Unknown, Severity::Unknown, Certainty::Unknown);
        assert_eq!(kind_of(&info("AMBER Alert")), Some(ActionKind::MissingPerson));
        assert_eq!(level_of(&info("AMBER Alert")), Level::National);
        assert_eq!(kind_of(&info("Gaslekkage")), Some(ActionKind::GasLeak));
        assert_eq!(kind_of(&info("Flood Warning")), None);
        assert_eq!(language_of("nl-BE"), Some(Language::Nl));
        assert_eq!(language_of("en-US"), Some(Language::En));
        assert_eq!(language_of("fr-FR"), None);
    }

    #[test]
    fn alarms_are_immediate_and_severe() {
        let (u, s, _) = assessment(ActionKind::GasLeak, Level::Local);
        assert_eq!((u, s), (Urgency::Immediate, Severity::Severe));
        let (u, s, _) = assessment(ActionKind::MissingPerson, Level::National);
        assert_eq!((u, s), (Urgency::Immediate, Severity::Severe));
        let (u, s, _) = assessment(ActionKind::Suspect, Level::Local);
        assert_eq!((u, s), (Urgency::Expected, Severity::Moderate));
    }
}
