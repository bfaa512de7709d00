//! `[approval]`: which actions need a second person before they are sent.

use buurtnet_domain::action::{ActionKind, Level};
use buurtnet_domain::approval::{SecondPersonRule, needs_second_person};
use buurtnet_domain::staff::Scope;
use serde::Deserialize;

/// Two-person approval of actions.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApprovalConfig {
    /// Actions that need a second person's approval before they are sent (another dispatcher
    /// of the action's scope, or a national administrator; never the action's creator). Each
    /// entry is a level (`local`, `regional`, `national`), an action kind (`missing_person`,
    /// `bomb`, …) or a kind at a level (`runaway_child:regional`); an action needs approval
    /// when any entry matches it. Default `["national"]`: AMBER Alerts, as UK Emergency Alerts
    /// do. `[]` turns it off. From the environment as one comma-separated text
    /// (`BUURTNET_APPROVAL__SECOND_PERSON="national,bomb"`; empty: off).
    #[serde(deserialize_with = "rule_list")]
    pub second_person: Vec<SecondPersonRule>,
    /// Municipalities (`GM0307`, …) whose information messages wait for a second person: the
    /// message written by one officer of the municipality goes out (at its send time, or at
    /// once when that has passed) only after another officer of it, or an administrator of its
    /// scope, approves it (`POST /api/v1/messages/{id}/approve`). Default none. From the
    /// environment as one comma-separated text.
    #[serde(deserialize_with = "municipality_list")]
    pub information_municipalities: Vec<String>,
}

/// A list of words, or one comma-separated text (as environment variables give it).
fn words<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Words {
        Text(String),
        List(Vec<String>),
    }
    Ok(match Words::deserialize(d)? {
        Words::Text(t) => t.split(',').map(str::trim).filter(|w| !w.is_empty()).map(str::to_string).collect(),
        Words::List(l) => l.into_iter().map(|w| w.trim().to_string()).collect(),
    })
}

fn municipality_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let codes = words(d)?;
    for code in &codes {
        if !matches!(Scope::parse(code), Some(Scope::Municipality(_))) {
            return Err(serde::de::Error::custom(format!(
                "approval.information_municipalities: '{code}' is not a municipality code (GM followed by four digits)"
            )));
        }
    }
    Ok(codes)
}

fn rule_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<SecondPersonRule>, D::Error> {
    words(d)?.iter().map(|w| SecondPersonRule::parse(w).map_err(serde::de::Error::custom)).collect()
}

impl Default for ApprovalConfig {
    fn default() -> Self {
        ApprovalConfig { second_person: vec![SecondPersonRule::national()], information_municipalities: Vec::new() }
    }
}

impl ApprovalConfig {
    /// Whether an action of this kind at this level needs a second person.
    pub fn needs_second_person(&self, kind: ActionKind, level: Level) -> bool {
        needs_second_person(&self.second_person, kind, level)
    }

    /// Whether information messages written in `scope` wait for a second person.
    pub fn information_needs_second_person(&self, scope: &Scope) -> bool {
        matches!(scope, Scope::Municipality(gm) if self.information_municipalities.iter().any(|c| c == gm))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_read_from_words_and_unknown_ones_refused() {
        let c: ApprovalConfig = serde_json::from_value(serde_json::json!({})).unwrap();
        assert!(c.needs_second_person(ActionKind::MissingPerson, Level::National));
        assert!(!c.needs_second_person(ActionKind::MissingPerson, Level::Local));
        let c: ApprovalConfig =
            serde_json::from_value(serde_json::json!({"second_person": ["bomb", "runaway_child:regional"]})).unwrap();
        assert!(c.needs_second_person(ActionKind::Bomb, Level::Local));
        assert!(c.needs_second_person(ActionKind::RunawayChild, Level::Regional));
        assert!(!c.needs_second_person(ActionKind::MissingPerson, Level::National));
        let c: ApprovalConfig = serde_json::from_value(serde_json::json!({"second_person": "national, bomb"})).unwrap();
        assert_eq!(c.second_person.len(), 2);
        let off: ApprovalConfig = serde_json::from_value(serde_json::json!({"second_person": ""})).unwrap();
        assert!(!off.needs_second_person(ActionKind::MissingPerson, Level::National));
        let err = serde_json::from_value::<ApprovalConfig>(serde_json::json!({"second_person": ["planetary"]})).unwrap_err();
        assert!(err.to_string().contains("second-person rule"), "{err}");
        let c: ApprovalConfig = serde_json::from_value(serde_json::json!({"information_municipalities": "GM0307"})).unwrap();
        assert!(c.information_needs_second_person(&Scope::Municipality("GM0307".into())));
        assert!(!c.information_needs_second_person(&Scope::Municipality("GM0344".into())));
        assert!(!c.information_needs_second_person(&Scope::National));
        let err =
            serde_json::from_value::<ApprovalConfig>(serde_json::json!({"information_municipalities": ["RE03"]})).unwrap_err();
        assert!(err.to_string().contains("not a municipality code"), "{err}");
    }
}
