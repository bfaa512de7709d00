//! Dutch postcodes (`1234 AB`) and house numbers (`12`, `12A`, `12-2`).

use serde::{Deserialize, Serialize};

/// A Dutch postcode, normalised to `1234AB` (no space, upper case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Postcode(String);

impl Postcode {
    /// Parses `3811 AB`, `3811ab`, `3811AB`. The digits cannot start with 0 and the letter
    /// pairs SA, SD and SS are never issued.
    pub fn parse(input: &str) -> Option<Postcode> {
        let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        let b = compact.as_bytes();
        if b.len() != 6 {
            return None;
        }
        let digits_ok = b[..4].iter().all(u8::is_ascii_digit) && b[0] != b'0';
        let letters_ok = b[4..].iter().all(u8::is_ascii_uppercase);
        if !digits_ok || !letters_ok {
            return None;
        }
        // Six ASCII bytes now, so byte 4 is a character boundary.
        if matches!(compact.get(4..), Some("SA" | "SD" | "SS") | None) {
            return None;
        }
        Some(Postcode(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The four-digit area (PC4), e.g. `3811`.
    pub fn pc4(&self) -> &str {
        &self.0[..4]
    }
}

impl std::fmt::Display for Postcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", &self.0[..4], &self.0[4..])
    }
}

/// A house number with an optional addition, normalised to upper case without spaces
/// (`12`, `12A`, `12-2`, `12BIS`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HouseNumber(String);

impl HouseNumber {
    pub fn parse(input: &str) -> Option<HouseNumber> {
        let s: String = input.trim().chars().filter(|c| *c != ' ').collect::<String>().to_ascii_uppercase();
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 5 || s.starts_with('0') {
            return None;
        }
        let addition = &s[digits..];
        let addition = addition.strip_prefix('-').unwrap_or(addition);
        if addition.len() > 6 || !addition.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        Some(HouseNumber(s))
    }

    /// The canonical form of a register's parts (the BAG's huisnummer, huisletter and
    /// huisnummertoevoeging), the same form [`HouseNumber::parse`] gives for what a resident
    /// types: `12` + `A` → `12A`, `12` + `2` → `12-2`, `12` + `A` + `2` → `12A2`.
    pub fn from_parts(number: u32, letter: &str, addition: &str) -> Option<HouseNumber> {
        let letter = letter.trim();
        let addition = addition.trim();
        let text = match (letter.is_empty(), addition.is_empty()) {
            (_, true) => format!("{number}{letter}"),
            (true, false) => format!("{number}-{addition}"),
            (false, false) => format!("{number}{letter}{addition}"),
        };
        if letter.chars().count() > 1 || !letter.chars().all(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        HouseNumber::parse(&text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number without its addition.
    pub fn number(&self) -> u32 {
        let digits: String = self.0.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postcodes() {
        assert_eq!(Postcode::parse("3811 ab").map(|p| p.as_str().to_string()), Some("3811AB".into()));
        assert_eq!(Postcode::parse("3811AB").map(|p| p.pc4().to_string()), Some("3811".into()));
        for bad in ["0811AB", "381AB", "3811 A", "3811SS", "ABCD12", "", "38111AB"] {
            assert!(Postcode::parse(bad).is_none(), "{bad} should be rejected");
        }
    }

    #[test]
    fn house_numbers() {
        for good in ["12", "12a", "12-2", "1", "99999", "12 bis"] {
            assert!(HouseNumber::parse(good).is_some(), "{good} should be accepted");
        }
        for bad in ["", "a12", "0", "123456", "12/!", "12-abcdefg"] {
            assert!(HouseNumber::parse(bad).is_none(), "{bad} should be rejected");
        }
        assert_eq!(HouseNumber::parse("12a").map(|h| h.number()), Some(12));
    }

    #[test]
    fn register_parts_give_what_residents_type() {
        for (n, letter, add, typed) in
            [(12, "", "", "12"), (12, "a", "", "12a"), (12, "", "2", "12-2"), (12, "A", "2", "12a2"), (7, "", "bis", "7-bis")]
        {
            assert_eq!(HouseNumber::from_parts(n, letter, add), HouseNumber::parse(typed), "{n} {letter} {add}");
        }
        assert!(HouseNumber::from_parts(0, "", "").is_none());
        assert!(HouseNumber::from_parts(12, "AB", "").is_none());
        assert!(HouseNumber::from_parts(12, "", "toolongaddition").is_none());
    }

    #[test]
    fn text_that_is_not_ascii_is_refused_without_a_panic() {
        // Six bytes with a three-byte character across byte 4.
        for bad in ["ab\u{800}c", "38\u{800}b", "3811\u{e9}", "\u{800}\u{800}", "3811A\u{301}", "3811\u{0}B"] {
            assert!(Postcode::parse(bad).is_none(), "{bad:?}");
        }
        for bad in ["1\u{800}", "12\u{301}", "\u{200f}12", "12-\u{e9}"] {
            assert!(HouseNumber::parse(bad).is_none(), "{bad:?}");
        }
    }
}
