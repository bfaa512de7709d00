//! Every parser of input text takes any Unicode without panicking: multi-byte characters,
//! combining marks, NUL, right-to-left marks, byte-order marks, text of code shapes with such
//! characters in them. (Lone surrogates cannot be a Rust string; the HTTP fuzz test sends them
//! escaped in JSON.)

use buurtnet_domain::contact::{ContactKind, Email, Phone};
use buurtnet_domain::postcode::{HouseNumber, Postcode};
use buurtnet_domain::registration::parse_registration;
use buurtnet_domain::staff::{Role, Scope};
use buurtnet_domain::{AreaLevel, Channel, Language, Topic};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Characters that break code that counts bytes as characters or trims ASCII only.
const AWKWARD: &[char] = &[
    '\u{0}',
    '\u{7f}',
    '\u{80}',
    '\u{e9}',
    '\u{301}',
    '\u{5d0}',
    '\u{627}',
    '\u{800}',
    '\u{200b}',
    '\u{200e}',
    '\u{200f}',
    '\u{202e}',
    '\u{2028}',
    '\u{feff}',
    '\u{fffd}',
    '\u{ffff}',
    '\u{10000}',
    '\u{1f600}',
    '\u{10ffff}',
];

/// Text of any Unicode, often in the shape of our codes and values with awkward characters
/// spliced in.
fn any_text() -> impl Strategy<Value = String> {
    let shaped = prop::sample::select(vec![
        "GM0307",
        "WK030701",
        "BU03070101",
        "3811",
        "3811AB",
        "3811 AB",
        "12",
        "12-2",
        "12a",
        "NL",
        "RE03",
        "VR09",
        "PV26",
        "+31612345678",
        "06 12345678",
        "a@b.nl",
        "23:00",
        "urgent",
        "push",
        "nl",
        "admin",
    ]);
    prop_oneof![
        any::<String>(),
        prop::collection::vec(prop::sample::select(AWKWARD.to_vec()), 0..8).prop_map(|v| v.into_iter().collect()),
        (shaped, 0..12usize, prop::collection::vec(prop::sample::select(AWKWARD.to_vec()), 1..4)).prop_map(|(s, at, add)| {
            let mut chars: Vec<char> = s.chars().collect();
            let at = at.min(chars.len());
            chars.splice(at..at, add);
            chars.into_iter().collect()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn text_parsers_never_panic(s in any_text()) {
        let _ = AreaLevel::of_code(&s);
        let _ = AreaLevel::parse(&s);
        let _ = Postcode::parse(&s).map(|p| (p.pc4().to_string(), p.to_string()));
        let _ = HouseNumber::parse(&s).map(|h| h.number());
        let _ = Email::parse(&s);
        let _ = Phone::parse(&s);
        let _ = ContactKind::parse(&s);
        let _ = Role::parse(&s);
        let _ = Scope::parse(&s);
        let _ = Topic::parse(&s);
        let _ = Channel::parse(&s);
        let _ = Language::parse(&s);
        let _ = buurtnet_domain::quiet_hours::parse_hhmm(&s);
        let _ = buurtnet_domain::quiet_hours::decode_stored(&s);
        let _ = buurtnet_domain::sms_text::measure(&s);
    }

    /// A registration with the text in every string field.
    #[test]
    fn registration_takes_any_text(s in any_text()) {
        let body = json!({"email": s, "phone": s, "language": s, "age_confirmed": true, "topics": [s],
            "addresses": [{"kind": s, "postcode": s, "house_number": s, "channels": [s],
                "quiet_hours": [{"channels": [s], "from": s, "to": s}]},
                {"kind": "work", "lat": s, "lon": s, "channels": ["email"]}]});
        let _ = parse_registration(&body);
        let _ = parse_registration(&Value::String(s));
    }
}

#[test]
fn codes_of_the_issue_are_refused() {
    assert_eq!(AreaLevel::of_code("\u{800}"), None);
    assert!(Postcode::parse("ab\u{800}c").is_none());
    assert!(Scope::parse("\u{800}").is_none());
}
