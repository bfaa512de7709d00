//! Staff roles and the part of the country a staff account covers (its scope).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Dispatcher,
    Requester,
    Approver,
    Handler,
    NeighbourhoodOfficer,
    MunicipalityOfficer,
    RegionalCoordinator,
    Admin,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Dispatcher,
        Role::Requester,
        Role::Approver,
        Role::Handler,
        Role::NeighbourhoodOfficer,
        Role::MunicipalityOfficer,
        Role::RegionalCoordinator,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Dispatcher => "dispatcher",
            Role::Requester => "requester",
            Role::Approver => "approver",
            Role::Handler => "handler",
            Role::NeighbourhoodOfficer => "neighbourhood-officer",
            Role::MunicipalityOfficer => "municipality-officer",
            Role::RegionalCoordinator => "regional-coordinator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }
}

/// What a staff account covers: the whole country, one police unit (`RE03`) or one
/// municipality (`GM0307`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Scope {
    National,
    PoliceUnit(String),
    Municipality(String),
}

impl Scope {
    pub fn parse(s: &str) -> Option<Scope> {
        let s = s.trim();
        match crate::AreaLevel::of_code(s)? {
            crate::AreaLevel::Country => Some(Scope::National),
            crate::AreaLevel::PoliceUnit => Some(Scope::PoliceUnit(s.to_string())),
            crate::AreaLevel::Municipality => Some(Scope::Municipality(s.to_string())),
            _ => None,
        }
    }

    pub fn code(&self) -> &str {
        match self {
            Scope::National => "NL",
            Scope::PoliceUnit(c) | Scope::Municipality(c) => c,
        }
    }

    /// Whether a municipality (given with the police unit it belongs to) lies inside this scope.
    pub fn covers_municipality(&self, municipality: &str, police_unit: Option<&str>) -> bool {
        match self {
            Scope::National => true,
            Scope::PoliceUnit(re) => police_unit == Some(re.as_str()),
            Scope::Municipality(gm) => gm == municipality,
        }
    }
}

/// The one normalisation of a staff account's e-mail address, used wherever one is stored or
/// looked up (sign-in, password reset, the admin pages, every `buurtnet admin` command): a valid
/// address (as [`crate::contact::Email::parse`] takes it), trimmed and lower-cased as a whole.
/// Mail servers treat the local part case-insensitively in practice, and two staff accounts
/// that differ only in case would be a mistake. `None` when it is no e-mail address.
pub fn normalise_email(input: &str) -> Option<String> {
    crate::contact::Email::parse(input.trim()).map(|e| e.as_str().to_lowercase())
}

impl From<Scope> for String {
    fn from(s: Scope) -> String {
        s.code().to_string()
    }
}

impl TryFrom<String> for Scope {
    type Error = String;
    fn try_from(s: String) -> Result<Scope, String> {
        Scope::parse(&s).ok_or_else(|| format!("'{s}' is not a scope (NL, RE.. or GM....)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_scopes() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Scope::parse("NL"), Some(Scope::National));
        assert_eq!(Scope::parse("GM0307"), Some(Scope::Municipality("GM0307".into())));
        assert_eq!(Scope::parse("WK030701"), None);
        let re = Scope::PoliceUnit("RE03".into());
        assert!(re.covers_municipality("GM0307", Some("RE03")));
        assert!(!re.covers_municipality("GM0363", Some("RE04")));
    }

    #[test]
    fn staff_addresses_normalise_as_a_whole() {
        for typed in ["Admin.Hard@EXAMPLE.ORG", "admin.hard@example.org", "  ADMIN.HARD@Example.Org "] {
            assert_eq!(normalise_email(typed).as_deref(), Some("admin.hard@example.org"), "{typed}");
        }
        assert_eq!(normalise_email("not an address"), None);
        assert_eq!(normalise_email("a@localhost"), None);
    }
}
