//! Urgent actions: what kinds there are, their levels and status, and the lifecycle as a state
//! machine (draft → active → updated … → closed with an outcome, or cancelled), plus the rules
//! that follow from them (priority, quiet hours, consent).

use serde::{Deserialize, Serialize};

macro_rules! words {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }

            pub fn parse(s: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s)
            }

            /// The accepted words, for error messages.
            pub fn choices() -> String {
                $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }
    };
}

words! {
    /// What happened.
    ActionKind {
        Suspect = "suspect",
        Vehicle = "vehicle",
        MissingPerson = "missing_person",
        RunawayChild = "runaway_child",
        GasLeak = "gas_leak",
        Bomb = "bomb",
        Explosion = "explosion",
        Disaster = "disaster",
        Other = "other",
    }
}

words! {
    /// How far an action reaches: `regional` is a "Vermist Kind Alert", `national` an AMBER
    /// Alert (the whole country, every channel).
    Level { Local = "local", Regional = "regional", National = "national" }
}

words! {
    /// `exercise` and `test` messages say so visibly on every channel.
    MessageStatus { Actual = "actual", Exercise = "exercise", Test = "test" }
}

words! {
    /// How an action ended: found thanks to residents directly, indirectly, or not through them.
    Outcome { Direct = "direct", Indirect = "indirect", None = "none" }
}

words! {
    ActionState { Draft = "draft", Active = "active", Closed = "closed", Cancelled = "cancelled" }
}

words! {
    /// What one message of many is.
    MessageKind {
        Start = "start",
        Update = "update",
        Close = "close",
        Cancel = "cancel",
        Information = "information",
        Enquiry = "enquiry",
        Emergency = "emergency",
        EmergencyCancelled = "emergency_cancelled",
    }
}

impl MessageKind {
    /// Whether a message of this kind carries each recipient's own reply link on `channel`:
    /// an enquiry on every channel, an action's first message by e-mail and push (where a tip
    /// can be typed).
    pub fn carries_personal_link(self, channel: crate::Channel) -> bool {
        match self {
            MessageKind::Enquiry => true,
            MessageKind::Start => matches!(channel, crate::Channel::Email | crate::Channel::Push),
            _ => false,
        }
    }

    /// Whether anonymous devices (a location, no account) receive this kind: everything but
    /// enquiries, which go to people who opted in to them.
    pub fn reaches_anonymous_devices(self) -> bool {
        self != MessageKind::Enquiry
    }

    /// Whether this kind is moot once its action has ended (no failover to another channel then).
    pub fn moot_once_action_ends(self) -> bool {
        matches!(self, MessageKind::Start | MessageKind::Update)
    }

    /// Whether this kind goes to everyone its area reaches (a start, information, an enquiry),
    /// rather than to exactly those its action's first message reached (an update, closing,
    /// cancellation).
    pub fn reaches_its_area(self) -> bool {
        matches!(self, MessageKind::Start | MessageKind::Information | MessageKind::Enquiry)
    }

    /// Whether people its fan-out kept out during their quiet hours get it once those end
    /// (information can wait; an action's messages override quiet hours or are moot by then).
    pub fn waits_out_quiet_hours(self) -> bool {
        self == MessageKind::Information
    }

    /// Whether this kind goes from one resident to an explicit list of others (an emergency
    /// alert to one's alarm neighbours and its cancellation, see `alarm.rs`): no area, no
    /// action, written with its delivery rows at once rather than fanned out; staff never
    /// read its content.
    pub fn is_between_residents(self) -> bool {
        matches!(self, MessageKind::Emergency | MessageKind::EmergencyCancelled)
    }
}

impl ActionKind {
    /// Alarms (and AMBER Alerts) override quiet hours and go first.
    pub fn is_alarm(self) -> bool {
        matches!(self, ActionKind::GasLeak | ActionKind::Bomb | ActionKind::Explosion | ActionKind::Disaster)
    }

    /// Missing persons and runaway children are never sent without the family's consent.
    pub fn needs_family_consent(self) -> bool {
        matches!(self, ActionKind::MissingPerson | ActionKind::RunawayChild)
    }

    /// Whether actions of this kind may be published to anyone (the CAP feed, other alerting
    /// systems): alarms, missing persons and runaway children (an AMBER Alert is a national
    /// missing person). Never a suspect or a wanted vehicle (a description of someone sought),
    /// nor an `other` appeal, which stay with the people they were sent to.
    pub fn may_be_published(self) -> bool {
        self.is_alarm() || self.needs_family_consent()
    }

    /// Whether the structured description is of a person.
    pub fn describes_person(self) -> bool {
        matches!(self, ActionKind::Suspect | ActionKind::MissingPerson | ActionKind::RunawayChild)
    }
}

/// Queue priority: lower goes first. AMBER Alerts and alarms, then other urgent actions, then
/// a resident's emergency alert to their alarm neighbours ([`EMERGENCY_PRIORITY`]), then
/// exercises, then information, and tests last.
pub fn priority(kind: Option<ActionKind>, level: Option<Level>, status: MessageStatus) -> i64 {
    match status {
        MessageStatus::Test => return 9,
        MessageStatus::Exercise => return 5,
        MessageStatus::Actual => {}
    }
    match (kind, level) {
        (_, Some(Level::National)) => 0,
        (Some(k), _) if k.is_alarm() => 0,
        (Some(_), Some(Level::Regional)) => 1,
        (Some(_), _) => 2,
        (None, _) => 7,
    }
}

/// The queue priority of an emergency alert to one's alarm neighbours (and its cancellation):
/// just after every urgent action (0 to 2), before exercises, information and tests.
pub const EMERGENCY_PRIORITY: i64 = 3;

/// Whether an action's messages reach people during their quiet hours: real alarms and AMBER
/// Alerts only (an exercise or test never wakes anyone).
pub fn overrides_quiet_hours(kind: ActionKind, level: Level, status: MessageStatus) -> bool {
    status == MessageStatus::Actual && (kind.is_alarm() || level == Level::National)
}

/// A lifecycle step a dispatcher asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Send,
    Update,
    Close,
    Cancel,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Send => "send",
            Step::Update => "update",
            Step::Close => "close",
            Step::Cancel => "cancel",
        }
    }
}

/// Why a step is not allowed now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotAllowed(pub String);

/// The state after `step`, and the message it sends (none for cancelling a draft).
pub fn transition(from: ActionState, step: Step) -> Result<(ActionState, Option<MessageKind>), NotAllowed> {
    use ActionState::*;
    match (from, step) {
        (Draft, Step::Send) => Ok((Active, Some(MessageKind::Start))),
        (Active, Step::Update) => Ok((Active, Some(MessageKind::Update))),
        (Active, Step::Close) => Ok((Closed, Some(MessageKind::Close))),
        (Active, Step::Cancel) => Ok((Cancelled, Some(MessageKind::Cancel))),
        (Draft, Step::Cancel) => Ok((Cancelled, None)),
        (Active, Step::Send) => Err(NotAllowed("This action has already been sent; send an update instead.".into())),
        (Draft, _) => Err(NotAllowed("This action has not been sent yet.".into())),
        (Closed | Cancelled, _) => Err(NotAllowed(format!("This action is {}; nothing more can be sent.", from.as_str()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle() {
        let (s, m) = transition(ActionState::Draft, Step::Send).unwrap();
        assert_eq!((s, m), (ActionState::Active, Some(MessageKind::Start)));
        assert_eq!(transition(s, Step::Update).unwrap(), (ActionState::Active, Some(MessageKind::Update)));
        assert_eq!(transition(s, Step::Close).unwrap(), (ActionState::Closed, Some(MessageKind::Close)));
        assert!(transition(ActionState::Closed, Step::Send).is_err());
        assert!(transition(ActionState::Closed, Step::Update).is_err());
        assert!(transition(ActionState::Cancelled, Step::Close).is_err());
        assert!(transition(ActionState::Active, Step::Send).is_err());
        assert_eq!(transition(ActionState::Draft, Step::Cancel).unwrap(), (ActionState::Cancelled, None));
    }

    #[test]
    fn priorities_put_alarms_first_and_tests_last() {
        let amber = priority(Some(ActionKind::MissingPerson), Some(Level::National), MessageStatus::Actual);
        let gas = priority(Some(ActionKind::GasLeak), Some(Level::Local), MessageStatus::Actual);
        let suspect = priority(Some(ActionKind::Suspect), Some(Level::Local), MessageStatus::Actual);
        let info = priority(None, None, MessageStatus::Actual);
        let test = priority(Some(ActionKind::GasLeak), Some(Level::National), MessageStatus::Test);
        assert!(amber == gas && gas < suspect && suspect < info && info < test);
        let exercise = priority(Some(ActionKind::Suspect), Some(Level::Local), MessageStatus::Exercise);
        let regional = priority(Some(ActionKind::Suspect), Some(Level::Regional), MessageStatus::Actual);
        // An emergency alert comes just after every urgent action and before everything else.
        assert!(amber < EMERGENCY_PRIORITY && regional < EMERGENCY_PRIORITY && suspect < EMERGENCY_PRIORITY);
        assert!(EMERGENCY_PRIORITY < exercise && EMERGENCY_PRIORITY < info);
    }

    #[test]
    fn only_alarms_and_missing_people_are_published() {
        let public: Vec<ActionKind> = ActionKind::ALL.iter().copied().filter(|k| k.may_be_published()).collect();
        use ActionKind::*;
        assert_eq!(public, vec![MissingPerson, RunawayChild, GasLeak, Bomb, Explosion, Disaster]);
        assert!(!Suspect.may_be_published() && !Vehicle.may_be_published());
    }

    #[test]
    fn words_round_trip() {
        for k in ActionKind::ALL {
            assert_eq!(ActionKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(ActionKind::parse("fire"), None);
        assert!(ActionKind::choices().contains("runaway_child"));
    }

    #[test]
    fn a_message_kind_says_how_it_fans_out() {
        use MessageKind::*;
        let from_area: Vec<MessageKind> = MessageKind::ALL.iter().copied().filter(|k| k.reaches_its_area()).collect();
        assert_eq!(from_area, vec![Start, Information, Enquiry]);
        let waits: Vec<MessageKind> = MessageKind::ALL.iter().copied().filter(|k| k.waits_out_quiet_hours()).collect();
        assert_eq!(waits, vec![Information]);
        assert!(Update.moot_once_action_ends() && !Close.moot_once_action_ends());
        let between: Vec<MessageKind> = MessageKind::ALL.iter().copied().filter(|k| k.is_between_residents()).collect();
        assert_eq!(between, vec![Emergency, EmergencyCancelled]);
    }
}
