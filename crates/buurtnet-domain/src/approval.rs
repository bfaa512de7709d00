//! Two-person approval of actions, the way UK Emergency Alerts need a second person for a
//! national alert: which actions need one (`approval.second_person`, by kind and level), and
//! who may give it (anyone allowed to send actions in the action's scope, but never its
//! creator).

use crate::action::{ActionKind, ActionState, Level};
use serde::{Deserialize, Serialize};

/// One entry of `approval.second_person`: a level (`national`), an action kind
/// (`missing_person`), or a kind at a level (`runaway_child:regional`). An action needs a
/// second person when any entry matches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SecondPersonRule {
    kind: Option<ActionKind>,
    level: Option<Level>,
}

impl SecondPersonRule {
    pub fn parse(s: &str) -> Result<SecondPersonRule, String> {
        let s = s.trim();
        let bad = || {
            format!(
                "'{s}' is not a second-person rule: give a level ({}), an action kind ({}) or kind:level",
                Level::choices(),
                ActionKind::choices()
            )
        };
        let rule = match s.split_once(':') {
            Some((k, l)) => SecondPersonRule {
                kind: Some(ActionKind::parse(k.trim()).ok_or_else(bad)?),
                level: Some(Level::parse(l.trim()).ok_or_else(bad)?),
            },
            None => match (Level::parse(s), ActionKind::parse(s)) {
                (Some(level), _) => SecondPersonRule { kind: None, level: Some(level) },
                (None, Some(kind)) => SecondPersonRule { kind: Some(kind), level: None },
                (None, None) => return Err(bad()),
            },
        };
        Ok(rule)
    }

    pub fn matches(&self, kind: ActionKind, level: Level) -> bool {
        self.kind.is_none_or(|k| k == kind) && self.level.is_none_or(|l| l == level)
    }

    /// The default: national actions (AMBER Alerts).
    pub fn national() -> SecondPersonRule {
        SecondPersonRule { kind: None, level: Some(Level::National) }
    }
}

impl std::fmt::Display for SecondPersonRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.kind, self.level) {
            (Some(k), Some(l)) => write!(f, "{}:{}", k.as_str(), l.as_str()),
            (Some(k), None) => f.write_str(k.as_str()),
            (None, Some(l)) => f.write_str(l.as_str()),
            (None, None) => f.write_str("any"),
        }
    }
}

impl TryFrom<String> for SecondPersonRule {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        SecondPersonRule::parse(&s)
    }
}

impl From<SecondPersonRule> for String {
    fn from(r: SecondPersonRule) -> String {
        r.to_string()
    }
}

/// Whether an action of `kind` at `level` needs a second person's approval before it is sent.
pub fn needs_second_person(rules: &[SecondPersonRule], kind: ActionKind, level: Level) -> bool {
    rules.iter().any(|r| r.matches(kind, level))
}

/// Why an approval is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalRefused {
    /// The four-eyes rule: the creator never approves their own action.
    OwnAction,
    /// This action is sent without a second person (no rule of `approval.second_person`).
    NotNeeded,
    /// Only a draft is approved.
    NotDraft(ActionState),
    /// Someone approved it already.
    AlreadyApproved,
    /// The draft changed since the approver looked at it (it is now at this version).
    Changed(i64),
}

impl ApprovalRefused {
    pub fn message(&self) -> String {
        match self {
            ApprovalRefused::OwnAction => {
                "You made this action yourself; another dispatcher or a national administrator must approve it (four-eyes rule)."
                    .into()
            }
            ApprovalRefused::NotNeeded => "This action needs no second person's approval; it can be sent as it is.".into(),
            ApprovalRefused::NotDraft(s) => format!("Only a draft is approved; this action is {}.", s.as_str()),
            ApprovalRefused::AlreadyApproved => "This action has already been approved by a second person.".into(),
            ApprovalRefused::Changed(v) => format!(
                "This action changed after you opened it (it is now version {v}); look at it again and approve what it says now."
            ),
        }
    }
}

/// The rules of approving: may `approver` approve the action made by `creator`, now in
/// `state`, at version `current` (they reviewed `reviewed`)?
pub fn may_approve(
    state: ActionState,
    needed: bool,
    approved: bool,
    creator: i64,
    approver: i64,
    (reviewed, current): (i64, i64),
) -> Result<(), ApprovalRefused> {
    if state != ActionState::Draft {
        return Err(ApprovalRefused::NotDraft(state));
    }
    if !needed {
        return Err(ApprovalRefused::NotNeeded);
    }
    if creator == approver {
        return Err(ApprovalRefused::OwnAction);
    }
    if approved {
        return Err(ApprovalRefused::AlreadyApproved);
    }
    if reviewed != current {
        return Err(ApprovalRefused::Changed(current));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_match() {
        let national = SecondPersonRule::parse("national").unwrap();
        assert_eq!(national, SecondPersonRule::national());
        assert!(national.matches(ActionKind::MissingPerson, Level::National));
        assert!(!national.matches(ActionKind::MissingPerson, Level::Regional));
        let kind = SecondPersonRule::parse("bomb").unwrap();
        assert!(kind.matches(ActionKind::Bomb, Level::Local) && !kind.matches(ActionKind::Suspect, Level::Local));
        let both = SecondPersonRule::parse("runaway_child:regional").unwrap();
        assert!(both.matches(ActionKind::RunawayChild, Level::Regional));
        assert!(!both.matches(ActionKind::RunawayChild, Level::Local));
        assert_eq!(both.to_string(), "runaway_child:regional");
        for bad in ["", "everything", "bomb:planet", "country:national"] {
            assert!(SecondPersonRule::parse(bad).is_err(), "{bad}");
        }
        assert!(needs_second_person(&[national, kind], ActionKind::Bomb, Level::Local));
        assert!(!needs_second_person(&[], ActionKind::Bomb, Level::National));
    }

    #[test]
    fn who_may_approve() {
        let ok = |creator, approver| may_approve(ActionState::Draft, true, false, creator, approver, (1, 1));
        assert_eq!(ok(1, 2), Ok(()));
        assert_eq!(ok(1, 1), Err(ApprovalRefused::OwnAction));
        assert_eq!(may_approve(ActionState::Draft, false, false, 1, 2, (1, 1)), Err(ApprovalRefused::NotNeeded));
        assert_eq!(
            may_approve(ActionState::Active, true, true, 1, 2, (1, 1)),
            Err(ApprovalRefused::NotDraft(ActionState::Active))
        );
        assert_eq!(may_approve(ActionState::Draft, true, true, 1, 2, (1, 1)), Err(ApprovalRefused::AlreadyApproved));
        assert_eq!(may_approve(ActionState::Draft, true, false, 1, 2, (1, 2)), Err(ApprovalRefused::Changed(2)));
    }
}
