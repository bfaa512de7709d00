//! Contact points: e-mail addresses and phone numbers, parsed and normalised.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactKind {
    Email,
    Phone,
}

impl ContactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Email => "email",
            ContactKind::Phone => "phone",
        }
    }

    pub fn parse(s: &str) -> Option<ContactKind> {
        match s {
            "email" => Some(ContactKind::Email),
            "phone" => Some(ContactKind::Phone),
            _ => None,
        }
    }
}

/// An e-mail address, trimmed, with the domain in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Option<Email> {
        let s = input.trim();
        if s.len() > 254 || s.contains(char::is_whitespace) {
            return None;
        }
        let parsed = email_address::EmailAddress::from_str(s).ok()?;
        let (local, domain) = (parsed.local_part(), parsed.domain());
        // A public-safety mailing needs a routable domain: require a dot and no IP literal.
        if !domain.contains('.') || domain.starts_with('[') || domain.ends_with('.') {
            return None;
        }
        Some(Email(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164 form (`+31612345678`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Phone {
    e164: String,
    mobile: bool,
}

impl Phone {
    /// Parses a number written in national (`06 12345678`) or international form; only valid
    /// numbers are accepted.
    pub fn parse(input: &str) -> Option<Phone> {
        let s = input.trim();
        if s.is_empty() || s.len() > 32 {
            return None;
        }
        let number = phonenumber::parse(Some(phonenumber::country::Id::NL), s).ok()?;
        if !number.is_valid() {
            return None;
        }
        let mobile = matches!(
            number.number_type(&phonenumber::metadata::DATABASE),
            phonenumber::Type::Mobile | phonenumber::Type::FixedLineOrMobile
        );
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        Some(Phone { e164, mobile })
    }

    pub fn as_str(&self) -> &str {
        &self.e164
    }

    /// Whether the number can receive SMS.
    pub fn is_mobile(&self) -> bool {
        self.mobile
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(Email::parse(" Jan@Example.ORG ").map(|e| e.0), Some("Jan@example.org".into()));
        for bad in ["", "jan", "jan@", "@example.org", "jan@localhost", "j an@example.org", "jan@example."] {
            assert!(Email::parse(bad).is_none(), "{bad} should be rejected");
        }
    }

    #[test]
    fn phones() {
        let p = Phone::parse("06 12345678").expect("valid mobile");
        assert_eq!(p.as_str(), "+31612345678");
        assert!(p.is_mobile());
        let fixed = Phone::parse("+31 33 4695555").expect("valid fixed line");
        assert!(!fixed.is_mobile());
        for bad in ["", "12", "+3161234", "hello", "+31 6 1234 5678 9012"] {
            assert!(Phone::parse(bad).is_none(), "{bad} should be rejected");
        }
    }
}
