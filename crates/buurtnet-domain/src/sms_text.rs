//! How long an SMS text is: which encoding it needs (GSM 03.38 7-bit or UCS-2) and how many
//! segments (message parts) it costs.
//!
//! - GSM 7-bit: the basic table costs one septet per character; the extension table (`^ { } \
//!   [ ~ ] | €` and form feed) costs two (escape + character). One message holds 160 septets;
//!   a concatenated message 153 per part (the user data header takes the rest).
//! - UCS-2 (any character outside those tables): UTF-16 code units, so a character outside the
//!   Basic Multilingual Plane (most emoji) costs two. One message holds 70 units, a part 67.
//!
//! Parts are packed the way handsets and gateways do: a two-septet character or a surrogate
//! pair is never split over two parts, so a part may hold one unit less than its maximum.

/// The encoding an SMS text needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsEncoding {
    /// GSM 03.38 default alphabet (7-bit septets).
    Gsm7,
    /// UCS-2 / UTF-16 (16-bit code units).
    Ucs2,
}

/// The measured length of an SMS text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SmsLength {
    pub encoding: SmsEncoding,
    /// Septets (GSM 7-bit; extension characters count 2) or UTF-16 code units (UCS-2).
    pub units: usize,
    /// Message parts the text costs (at least 1, also for an empty text).
    pub segments: usize,
}

/// One message, GSM 7-bit.
pub const GSM_SINGLE: usize = 160;
/// One part of a concatenated message, GSM 7-bit.
pub const GSM_PART: usize = 153;
/// One message, UCS-2.
pub const UCS2_SINGLE: usize = 70;
/// One part of a concatenated message, UCS-2.
pub const UCS2_PART: usize = 67;

/// The GSM 03.38 basic character set (one septet each), except the escape code.
const GSM_BASIC: &str = concat!(
    "@£$¥èéùìòÇ\nØø\rÅå",
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ",
    " !\"#¤%&'()*+,-./",
    "0123456789:;<=>?",
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§",
    "¿abcdefghijklmnopqrstuvwxyzäöñüà",
);

/// The GSM 03.38 extension table (escape + character: two septets each).
const GSM_EXTENSION: &str = "\u{000C}^{}\\[~]|€";

/// Septets a character costs in GSM 7-bit, or `None` when it is not in the alphabet.
pub fn gsm_septets(c: char) -> Option<usize> {
    if GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Whether the whole text fits the GSM 7-bit alphabet.
pub fn is_gsm7(text: &str) -> bool {
    text.chars().all(|c| gsm_septets(c).is_some())
}

/// Measures an SMS text: its encoding, length in septets or UTF-16 units, and segments.
pub fn measure(text: &str) -> SmsLength {
    let gsm: Option<Vec<usize>> = text.chars().map(gsm_septets).collect();
    let (encoding, costs, single, part) = match gsm {
        Some(costs) => (SmsEncoding::Gsm7, costs, GSM_SINGLE, GSM_PART),
        None => (SmsEncoding::Ucs2, text.chars().map(char::len_utf16).collect(), UCS2_SINGLE, UCS2_PART),
    };
    let units: usize = costs.iter().sum();
    let segments = if units <= single { 1 } else { pack(&costs, part) };
    SmsLength { encoding, units, segments }
}

/// Parts needed when characters of the given costs are packed in order, none split.
fn pack(costs: &[usize], part: usize) -> usize {
    let mut parts = 1;
    let mut used = 0;
    for &cost in costs {
        if used + cost > part {
            parts += 1;
            used = 0;
        }
        used += cost;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gsm(n: usize) -> String {
        "a".repeat(n)
    }

    #[test]
    fn gsm_boundaries() {
        assert_eq!(measure(&gsm(160)), SmsLength { encoding: SmsEncoding::Gsm7, units: 160, segments: 1 });
        assert_eq!(measure(&gsm(161)).segments, 2);
        assert_eq!(measure(&gsm(306)).segments, 2);
        assert_eq!(measure(&gsm(307)).segments, 3);
        assert_eq!(measure(&gsm(459)).segments, 3);
        assert_eq!(measure(&gsm(460)).segments, 4);
        assert_eq!(measure("").segments, 1);
        assert_eq!(measure("").units, 0);
    }

    #[test]
    fn extension_characters_count_two() {
        let euro = measure("€");
        assert_eq!((euro.encoding, euro.units, euro.segments), (SmsEncoding::Gsm7, 2, 1));
        for c in ['^', '{', '}', '\\', '[', '~', ']', '|', '€', '\u{000C}'] {
            assert_eq!(gsm_septets(c), Some(2), "{c:?}");
        }
        // 158 + € = 160 septets: still one message; 159 + € = 161: two.
        assert_eq!(measure(&format!("{}€", gsm(158))).segments, 1);
        assert_eq!(measure(&format!("{}€", gsm(159))).segments, 2);
        // A two-septet character is never split: 152 + € does not fit the first part's 153.
        let split = format!("{}€{}", gsm(152), gsm(152));
        assert_eq!(measure(&split).units, 306);
        assert_eq!(measure(&split).segments, 3);
    }

    #[test]
    fn dutch_text_with_accents_is_gsm() {
        // é and è are in the basic table; ë is not.
        assert_eq!(measure("Vermist: meisje, 8 jaar. Café Ü").encoding, SmsEncoding::Gsm7);
        assert_eq!(measure(&"é".repeat(160)).segments, 1);
        assert_eq!(measure("ë").encoding, SmsEncoding::Ucs2);
        assert_eq!(measure("ΔΦΓΛΩΠΨΣΘΞ").encoding, SmsEncoding::Gsm7);
    }

    #[test]
    fn ucs2_boundaries() {
        let l = measure(&"ł".repeat(70));
        assert_eq!((l.encoding, l.units, l.segments), (SmsEncoding::Ucs2, 70, 1));
        assert_eq!(measure(&"ł".repeat(71)).segments, 2);
        assert_eq!(measure(&"ł".repeat(134)).segments, 2);
        assert_eq!(measure(&"ł".repeat(135)).segments, 3);
        // Greek lower case is not in the GSM alphabet.
        assert_eq!(measure("αβγ").encoding, SmsEncoding::Ucs2);
        // One non-GSM character turns the whole text into UCS-2.
        let mixed = measure(&format!("{}ł", gsm(69)));
        assert_eq!((mixed.encoding, mixed.units, mixed.segments), (SmsEncoding::Ucs2, 70, 1));
        assert_eq!(measure(&format!("{}ł", gsm(70))).segments, 2);
    }

    #[test]
    fn emoji_count_two_units() {
        let l = measure("🚨");
        assert_eq!((l.encoding, l.units, l.segments), (SmsEncoding::Ucs2, 2, 1));
        assert_eq!(measure(&"🚨".repeat(35)).segments, 1);
        assert_eq!(measure(&"🚨".repeat(36)).segments, 2);
        // A surrogate pair is never split: 66 units + emoji does not fit the first part's 67.
        let split = format!("{}🚨{}", "ł".repeat(66), "ł".repeat(66));
        assert_eq!(measure(&split).units, 134);
        assert_eq!(measure(&split).segments, 3);
    }
}
