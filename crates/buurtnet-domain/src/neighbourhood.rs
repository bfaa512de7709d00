//! Neighbourhood conversations (Mijnbuur): the four categories, who a conversation is for (its
//! audience), which categories admit the police and the municipality, the text limits and the
//! display-name rules. Who may take part as an official is the policy's (`policy.rs`).

use crate::FieldErrors;

/// The longest message (and opening text) of a conversation, in characters.
pub const MAX_TEXT_CHARS: usize = 5_000;
/// The longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// The longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 30;

/// What a conversation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    News,
    Help,
    Nuisance,
    Trouble,
}

impl Category {
    pub const ALL: [Category; 4] = [Category::News, Category::Help, Category::Nuisance, Category::Trouble];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::News => "news",
            Category::Help => "help",
            Category::Nuisance => "nuisance",
            Category::Trouble => "trouble",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s.trim())
    }

    pub fn choices() -> String {
        Category::ALL.map(|c| c.as_str()).join(", ")
    }

    /// Whether the neighbourhood officer or the municipality may be invited: nuisance and
    /// trouble only (news and help stay among neighbours).
    pub fn admits_officials(self) -> bool {
        matches!(self, Category::Nuisance | Category::Trouble)
    }

    /// The name residents read.
    pub fn label(self, lang: crate::Language) -> &'static str {
        use crate::Language::*;
        match (self, lang) {
            (Category::News, Nl) => "Nieuws",
            (Category::News, En) => "News",
            (Category::Help, Nl) => "Hulp",
            (Category::Help, En) => "Help",
            (Category::Nuisance, Nl) => "Overlast",
            (Category::Nuisance, En) => "Nuisance",
            (Category::Trouble, Nl) => "Onraad",
            (Category::Trouble, En) => "Trouble",
        }
    }
}

/// Who a resident addresses a conversation to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// The residents of one's own street.
    Street,
    /// The residents of one's own neighbourhood (CBS buurt); neighbours who follow it read along.
    Neighbourhood,
    /// One's chosen alarm neighbours (not built yet: refused).
    AlarmNeighbours,
}

impl Audience {
    pub const ALL: [Audience; 3] = [Audience::Street, Audience::Neighbourhood, Audience::AlarmNeighbours];

    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Street => "street",
            Audience::Neighbourhood => "neighbourhood",
            Audience::AlarmNeighbours => "alarm_neighbours",
        }
    }

    pub fn parse(s: &str) -> Option<Audience> {
        Audience::ALL.into_iter().find(|a| a.as_str() == s.trim())
    }

    pub fn choices() -> String {
        Audience::ALL.map(|a| a.as_str()).join(", ")
    }

    /// Whether conversations can be addressed to this audience yet.
    pub fn is_available(self) -> bool {
        !matches!(self, Audience::AlarmNeighbours)
    }
}

/// The officials a resident may invite into a nuisance or trouble conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Official {
    /// The neighbourhood officer (wijkagent) whose scope covers the neighbourhood.
    NeighbourhoodOfficer,
    /// The municipality's contact (aanspreekpunt) whose scope covers the neighbourhood.
    Municipality,
}

impl Official {
    pub const ALL: [Official; 2] = [Official::NeighbourhoodOfficer, Official::Municipality];

    pub fn as_str(self) -> &'static str {
        match self {
            Official::NeighbourhoodOfficer => "neighbourhood_officer",
            Official::Municipality => "municipality",
        }
    }

    pub fn parse(s: &str) -> Option<Official> {
        Official::ALL.into_iter().find(|o| o.as_str() == s.trim())
    }

    pub fn choices() -> String {
        Official::ALL.map(|o| o.as_str()).join(", ")
    }

    /// How residents see an official's messages (never a name).
    pub fn label(self, lang: crate::Language) -> &'static str {
        use crate::Language::*;
        match (self, lang) {
            (Official::NeighbourhoodOfficer, Nl) => "Wijkagent",
            (Official::NeighbourhoodOfficer, En) => "Neighbourhood officer",
            (Official::Municipality, Nl) => "Gemeente",
            (Official::Municipality, En) => "Municipality",
        }
    }
}

/// A required text of at most `max` characters, trimmed; errors name `field`.
pub fn text(field: &str, raw: Option<&str>, max: usize, errors: &mut FieldErrors) -> Option<String> {
    let t = raw.map(str::trim).unwrap_or_default();
    if t.is_empty() {
        errors.add(field, "required", "This may not be empty.");
        return None;
    }
    let n = t.chars().count();
    if n > max {
        errors.add(field, "too_long", format!("At most {max} characters ({n} given)."));
        return None;
    }
    Some(t.to_string())
}

/// A display name as neighbours see it: a first name or nickname of letters (with spaces,
/// hyphens, apostrophes and dots), at most [`MAX_DISPLAY_NAME_CHARS`]. No digits and no `@`, so
/// that neither a phone number, a house number nor an e-mail address ends up beside one's street.
pub fn display_name(field: &str, raw: Option<&str>, errors: &mut FieldErrors) -> Option<String> {
    let name = text(field, raw, MAX_DISPLAY_NAME_CHARS, errors)?;
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    let allowed = |c: char| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '.' | '’');
    if !name.chars().all(allowed) || !name.chars().any(char::is_alphabetic) {
        errors.add(
            field,
            "invalid_display_name",
            "Use a first name or nickname of letters only (no digits, no e-mail address or phone number).",
        );
        return None;
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_audiences_and_officials_round_trip() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
        }
        for a in Audience::ALL {
            assert_eq!(Audience::parse(a.as_str()), Some(a));
        }
        for o in Official::ALL {
            assert_eq!(Official::parse(o.as_str()), Some(o));
        }
        assert_eq!(Category::parse("gossip"), None);
        assert!(!Audience::AlarmNeighbours.is_available() && Audience::Street.is_available());
    }

    #[test]
    fn only_nuisance_and_trouble_admit_officials() {
        let admitting: Vec<Category> = Category::ALL.into_iter().filter(|c| c.admits_officials()).collect();
        assert_eq!(admitting, vec![Category::Nuisance, Category::Trouble]);
    }

    #[test]
    fn texts_are_required_and_limited() {
        let mut e = FieldErrors::new();
        assert_eq!(text("body", Some("  hallo "), MAX_TEXT_CHARS, &mut e).as_deref(), Some("hallo"));
        assert_eq!(
            text("body", Some(&"é".repeat(MAX_TEXT_CHARS)), MAX_TEXT_CHARS, &mut e).map(|s| s.chars().count()),
            Some(5000)
        );
        assert!(e.is_empty());
        assert_eq!(text("body", Some("   "), MAX_TEXT_CHARS, &mut e), None);
        assert_eq!(text("body", None, MAX_TEXT_CHARS, &mut e), None);
        assert_eq!(text("body", Some(&"x".repeat(MAX_TEXT_CHARS + 1)), MAX_TEXT_CHARS, &mut e), None);
        let codes: Vec<&str> = e.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["required", "required", "too_long"]);
    }

    #[test]
    fn display_names_hold_no_contact_details() {
        let mut e = FieldErrors::new();
        assert_eq!(display_name("n", Some(" Anne-Marie  de Vries "), &mut e).as_deref(), Some("Anne-Marie de Vries"));
        assert_eq!(display_name("n", Some("Zoë"), &mut e).as_deref(), Some("Zoë"));
        assert!(e.is_empty());
        for bad in ["0612345678", "jan@example.org", "Jan 70", "", "--", &"a".repeat(31)] {
            let mut e = FieldErrors::new();
            assert_eq!(display_name("n", Some(bad), &mut e), None, "{bad}");
            assert_eq!(e.len(), 1);
        }
    }
}
