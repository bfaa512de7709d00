//! Neighbourhood enquiries (digitaal buurtonderzoek): what may be asked, the lifecycle of a
//! request (requested → sent or returned → closed), the four-eyes rule, and how a handler
//! classifies a reply.

use chrono::{DateTime, Datelike, Duration, Utc, Weekday};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentType {
    Burglary,
    AttemptedBurglary,
    StreetRobbery,
    Arson,
    Vandalism,
    Other,
}

impl IncidentType {
    pub const ALL: [IncidentType; 6] = [
        IncidentType::Burglary,
        IncidentType::AttemptedBurglary,
        IncidentType::StreetRobbery,
        IncidentType::Arson,
        IncidentType::Vandalism,
        IncidentType::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentType::Burglary => "burglary",
            IncidentType::AttemptedBurglary => "attempted_burglary",
            IncidentType::StreetRobbery => "street_robbery",
            IncidentType::Arson => "arson",
            IncidentType::Vandalism => "vandalism",
            IncidentType::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<IncidentType> {
        IncidentType::ALL.into_iter().find(|t| t.as_str() == s.trim())
    }

    pub fn choices() -> String {
        IncidentType::ALL.map(|t| t.as_str()).join(", ")
    }

    /// The name residents read.
    pub fn label(self, lang: crate::Language) -> &'static str {
        use crate::Language::*;
        match (self, lang) {
            (IncidentType::Burglary, Nl) => "Woninginbraak",
            (IncidentType::Burglary, En) => "Burglary",
            (IncidentType::AttemptedBurglary, Nl) => "Poging tot inbraak",
            (IncidentType::AttemptedBurglary, En) => "Attempted burglary",
            (IncidentType::StreetRobbery, Nl) => "Straatroof",
            (IncidentType::StreetRobbery, En) => "Street robbery",
            (IncidentType::Arson, Nl) => "Brandstichting",
            (IncidentType::Arson, En) => "Arson",
            (IncidentType::Vandalism, Nl) => "Vernieling",
            (IncidentType::Vandalism, En) => "Vandalism",
            (IncidentType::Other, Nl) => "Incident",
            (IncidentType::Other, En) => "Incident",
        }
    }
}

/// Where an enquiry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnquiryState {
    /// In the team's queue, waiting for an approver.
    Requested,
    /// Returned to the requester with a comment; never sent.
    Returned,
    /// Approved and sent to the residents; replies come in.
    Sent,
    /// No more replies; the photo retention period runs from here.
    Closed,
}

impl EnquiryState {
    pub fn as_str(self) -> &'static str {
        match self {
            EnquiryState::Requested => "requested",
            EnquiryState::Returned => "returned",
            EnquiryState::Sent => "sent",
            EnquiryState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<EnquiryState> {
        [EnquiryState::Requested, EnquiryState::Returned, EnquiryState::Sent, EnquiryState::Closed]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// Why an approver may not approve or return a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionRefused {
    /// The four-eyes rule: the requester never approves their own request.
    OwnRequest,
    /// Already decided (sent, returned or closed).
    AlreadyDecided(EnquiryState),
}

impl DecisionRefused {
    pub fn message(&self) -> String {
        match self {
            DecisionRefused::OwnRequest => {
                "You made this request yourself; another approver must check and send it (four-eyes rule).".into()
            }
            DecisionRefused::AlreadyDecided(EnquiryState::Sent) => "This enquiry has already been approved and sent.".into(),
            DecisionRefused::AlreadyDecided(EnquiryState::Returned) => {
                "This enquiry was returned to its requester; it cannot be approved or returned again.".into()
            }
            DecisionRefused::AlreadyDecided(s) => format!("This enquiry is {} and can no longer be decided on.", s.as_str()),
        }
    }
}

/// The four-eyes rule and the lifecycle: may `approver` approve or return a request that
/// `requester` made and that is now in `state`?
pub fn may_decide(state: EnquiryState, requester: i64, approver: i64) -> Result<(), DecisionRefused> {
    if state != EnquiryState::Requested {
        return Err(DecisionRefused::AlreadyDecided(state));
    }
    if requester == approver {
        return Err(DecisionRefused::OwnRequest);
    }
    Ok(())
}

/// A handler's judgement of a reply (the Amersfoort pilot's three criteria).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classification {
    /// Relevant to this case.
    Relevant,
    /// Relevant, but to another case.
    RelevantOther,
    NotRelevant,
}

impl Classification {
    pub const ALL: [Classification; 3] = [Classification::Relevant, Classification::RelevantOther, Classification::NotRelevant];

    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Relevant => "relevant",
            Classification::RelevantOther => "relevant_other",
            Classification::NotRelevant => "not_relevant",
        }
    }

    pub fn parse(s: &str) -> Option<Classification> {
        Classification::ALL.into_iter().find(|c| c.as_str() == s.trim())
    }

    pub fn choices() -> String {
        Classification::ALL.map(|c| c.as_str()).join(", ")
    }
}

/// A reply's handling status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyStatus {
    New,
    Classified,
    /// The resident has had the final answer: handled.
    Answered,
}

impl ReplyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyStatus::New => "new",
            ReplyStatus::Classified => "classified",
            ReplyStatus::Answered => "answered",
        }
    }
}

/// The end of the next working day after `at` (Monday to Friday): a reply not answered by then
/// is overdue. A reply on Friday evening is due on Monday evening.
pub fn due_by(at: DateTime<Utc>) -> DateTime<Utc> {
    let mut due = at + Duration::days(1);
    while matches!(due.weekday(), Weekday::Sat | Weekday::Sun) {
        due += Duration::days(1);
    }
    due
}

/// Whether a reply received at `received` and not yet answered is overdue at `now`.
pub fn is_overdue(received: DateTime<Utc>, answered: bool, now: DateTime<Utc>) -> bool {
    !answered && now > due_by(received)
}

/// Limits of a reply.
pub const MAX_REPLY_TEXT: usize = 5000;
pub const MAX_REPLY_PHOTOS: usize = 5;
/// The radius when the requester gives none, and the largest allowed.
pub const DEFAULT_RADIUS_M: i64 = 500;
pub const MAX_RADIUS_M: i64 = 5000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_eyes() {
        assert_eq!(may_decide(EnquiryState::Requested, 1, 1), Err(DecisionRefused::OwnRequest));
        assert_eq!(may_decide(EnquiryState::Requested, 1, 2), Ok(()));
        assert_eq!(may_decide(EnquiryState::Sent, 1, 2), Err(DecisionRefused::AlreadyDecided(EnquiryState::Sent)));
        assert_eq!(may_decide(EnquiryState::Returned, 1, 2), Err(DecisionRefused::AlreadyDecided(EnquiryState::Returned)));
    }

    #[test]
    fn overdue_counts_working_days() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        // Tuesday → Wednesday.
        assert_eq!(due_by(t("2026-11-24T10:00:00Z")), t("2026-11-25T10:00:00Z"));
        // Friday → Monday.
        assert_eq!(due_by(t("2026-11-27T18:00:00Z")), t("2026-11-30T18:00:00Z"));
        assert!(!is_overdue(t("2026-11-27T18:00:00Z"), false, t("2026-11-29T18:00:00Z")));
        assert!(is_overdue(t("2026-11-27T18:00:00Z"), false, t("2026-11-30T18:00:01Z")));
        assert!(!is_overdue(t("2026-11-27T18:00:00Z"), true, t("2026-12-30T18:00:01Z")));
        for c in Classification::ALL {
            assert_eq!(Classification::parse(c.as_str()), Some(c));
        }
        for i in IncidentType::ALL {
            assert_eq!(IncidentType::parse(i.as_str()), Some(i));
        }
    }
}
