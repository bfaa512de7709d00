//! The levels of Dutch geography and how an area code tells its level.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaLevel {
    Country,
    Province,
    PoliceUnit,
    SafetyRegion,
    Municipality,
    District,
    Neighbourhood,
    Pc4,
}

impl AreaLevel {
    pub const ALL: [AreaLevel; 8] = [
        AreaLevel::Country,
        AreaLevel::Province,
        AreaLevel::PoliceUnit,
        AreaLevel::SafetyRegion,
        AreaLevel::Municipality,
        AreaLevel::District,
        AreaLevel::Neighbourhood,
        AreaLevel::Pc4,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AreaLevel::Country => "country",
            AreaLevel::Province => "province",
            AreaLevel::PoliceUnit => "police_unit",
            AreaLevel::SafetyRegion => "safety_region",
            AreaLevel::Municipality => "municipality",
            AreaLevel::District => "district",
            AreaLevel::Neighbourhood => "neighbourhood",
            AreaLevel::Pc4 => "pc4",
        }
    }

    /// Accepts the English names and the Dutch ones used in the CBS files.
    pub fn parse(s: &str) -> Option<AreaLevel> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "country" | "land" => AreaLevel::Country,
            "province" | "provincie" => AreaLevel::Province,
            "police_unit" | "politie_regionale_eenheid" | "politie-eenheid" => AreaLevel::PoliceUnit,
            "safety_region" | "veiligheidsregio" => AreaLevel::SafetyRegion,
            "municipality" | "gemeente" => AreaLevel::Municipality,
            "district" | "wijk" => AreaLevel::District,
            "neighbourhood" | "buurt" => AreaLevel::Neighbourhood,
            "pc4" | "postcode" => AreaLevel::Pc4,
            _ => return None,
        })
    }

    /// The level an area code belongs to, from its shape (`GM0307`, `WK030701`, `3811`, `NL`).
    pub fn of_code(code: &str) -> Option<AreaLevel> {
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if code == "NL" || code == "NL01" {
            return Some(AreaLevel::Country);
        }
        if digits(code, 4) {
            return Some(AreaLevel::Pc4);
        }
        // By characters, not bytes: a code is input, and may hold anything (`"\u{800}"`).
        let (prefix, rest) = code.split_at_checked(2)?;
        match prefix {
            "PV" if digits(rest, 2) => Some(AreaLevel::Province),
            "RE" if digits(rest, 2) => Some(AreaLevel::PoliceUnit),
            "VR" if digits(rest, 2) => Some(AreaLevel::SafetyRegion),
            "GM" if digits(rest, 4) => Some(AreaLevel::Municipality),
            "WK" if digits(rest, 6) => Some(AreaLevel::District),
            "BU" if digits(rest, 8) => Some(AreaLevel::Neighbourhood),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_shapes() {
        assert_eq!(AreaLevel::of_code("GM0307"), Some(AreaLevel::Municipality));
        assert_eq!(AreaLevel::of_code("WK030701"), Some(AreaLevel::District));
        assert_eq!(AreaLevel::of_code("BU03070101"), Some(AreaLevel::Neighbourhood));
        assert_eq!(AreaLevel::of_code("3811"), Some(AreaLevel::Pc4));
        assert_eq!(AreaLevel::of_code("RE03"), Some(AreaLevel::PoliceUnit));
        assert_eq!(AreaLevel::of_code("VR09"), Some(AreaLevel::SafetyRegion));
        assert_eq!(AreaLevel::of_code("PV26"), Some(AreaLevel::Province));
        assert_eq!(AreaLevel::of_code("NL"), Some(AreaLevel::Country));
        assert_eq!(AreaLevel::of_code("GM03"), None);
        assert_eq!(AreaLevel::of_code("X"), None);
        assert_eq!(AreaLevel::of_code(""), None);
    }

    #[test]
    fn codes_that_are_not_ascii_are_no_codes() {
        for code in
            ["\u{800}", "G\u{800}", "\u{800}0307", "GM\u{800}", "é", "GMé307", "\u{0}", "WK\u{301}30701", "\u{200f}GM0307"]
        {
            assert_eq!(AreaLevel::of_code(code), None, "{code:?}");
        }
    }
}
