//! Staff roles and the part of the country a staff account covers (its scope).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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

    pub fn is_national(&self) -> bool {
        matches!(self, Scope::National)
    }

    /// Whether a place (an area, an address, an incident) lies inside this scope: the one scope
    /// rule of the project. The caller says where the place lies in the administrative tree.
    pub fn covers(&self, place: &Place<'_>) -> bool {
        match self {
            Scope::National => true,
            Scope::PoliceUnit(re) => place.code == re || place.police_unit == Some(re.as_str()),
            Scope::Municipality(gm) => place.municipality == Some(gm.as_str()),
        }
    }

    /// Whether a municipality (given with the police unit it belongs to) lies inside this scope.
    pub fn covers_municipality(&self, municipality: &str, police_unit: Option<&str>) -> bool {
        self.covers(&Place { code: municipality, municipality: Some(municipality), police_unit })
    }

    /// Whether a record made within a scope (an action, a message: they carry the scope code
    /// of the staff member who made them) is visible within this scope.
    pub fn sees_record_of(&self, record_scope: &str) -> bool {
        self.is_national() || self.code() == record_scope
    }

    /// Whether another scope lies wholly within this one (`inner_police_unit`: the police unit
    /// the inner scope lies in, for a municipality).
    pub fn contains(&self, inner: &Scope, inner_police_unit: Option<&str>) -> bool {
        match (self, inner) {
            (Scope::National, _) => true,
            (Scope::PoliceUnit(re), Scope::PoliceUnit(other)) => re == other,
            (Scope::PoliceUnit(re), Scope::Municipality(_)) => inner_police_unit == Some(re.as_str()),
            (Scope::Municipality(gm), Scope::Municipality(other)) => gm == other,
            _ => false,
        }
    }
}

/// Where a place lies in the administrative tree, as far as scopes care: its own area code, and
/// the municipality and police unit it lies in (unknown: `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place<'a> {
    pub code: &'a str,
    pub municipality: Option<&'a str>,
    pub police_unit: Option<&'a str>,
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
        let safety_region = Place { code: "VR09", municipality: None, police_unit: Some("RE03") };
        assert!(re.covers(&safety_region));
        assert!(!Scope::Municipality("GM0307".into()).covers(&safety_region));
        assert!(re.covers(&Place { code: "RE03", municipality: None, police_unit: Some("RE03") }));
        assert!(!re.covers(&Place { code: "NL", municipality: None, police_unit: None }));
        assert!(Scope::National.covers(&Place { code: "NL", municipality: None, police_unit: None }));
        assert!(re.contains(&Scope::Municipality("GM0307".into()), Some("RE03")));
        assert!(!re.contains(&Scope::Municipality("GM0363".into()), Some("RE04")));
        assert!(!Scope::Municipality("GM0307".into()).contains(&re, None));
        assert!(Scope::National.sees_record_of("GM0307") && re.sees_record_of("RE03") && !re.sees_record_of("GM0307"));
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
