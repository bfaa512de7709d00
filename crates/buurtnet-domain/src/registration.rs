//! Turning a registration (JSON from the API or the web form, or a CSV line) into a validated
//! participant draft, or into a list of field errors that each say what is wrong.
//!
//! Geocoding and finding the areas an address lies in happen later, in the service layer;
//! this module only checks what can be checked without I/O.

use crate::channel::{Channel, ChannelSet, PhoneKind, Topic, TopicSet};
use crate::contact::{Email, Phone};
use crate::field_error::FieldErrors;
use crate::postcode::{HouseNumber, Postcode};
use crate::quiet_hours::{QuietHours, parse_hhmm};
use crate::{AddressKind, Language, NL_BOUNDS};
use serde_json::Value;

pub const MAX_ADDRESSES: usize = 10;
pub const MAX_QUIET_WINDOWS: usize = 10;

/// Where an address is: a postcode and house number still to be geocoded, or a point.
#[derive(Debug, Clone, PartialEq)]
pub enum AddressLocation {
    Postcode { postcode: Postcode, house_number: HouseNumber },
    Point { lat: f64, lon: f64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct AddressDraft {
    pub kind: AddressKind,
    pub location: AddressLocation,
    pub channels: ChannelSet,
    pub quiet_hours: Vec<QuietHours>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantDraft {
    pub external_id: Option<String>,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub language: Language,
    pub topics: TopicSet,
    pub addresses: Vec<AddressDraft>,
}

/// Validates a registration body (see the README for its shape). Every problem is reported,
/// not only the first.
pub fn parse_registration(body: &Value) -> Result<ParticipantDraft, FieldErrors> {
    let mut errors = FieldErrors::new();
    let Some(obj) = body.as_object() else {
        errors.add("", "invalid_body", "The request body must be a JSON object.");
        return Err(errors);
    };

    let email = optional_string(obj.get("email"), "email", &mut errors).and_then(|s| {
        let parsed = Email::parse(&s);
        if parsed.is_none() {
            errors.add("email", "invalid_email", "This is not a valid e-mail address.");
        }
        parsed
    });
    let phone = optional_string(obj.get("phone"), "phone", &mut errors).and_then(|s| {
        let parsed = Phone::parse(&s);
        if parsed.is_none() {
            errors.add("phone", "invalid_phone", "This is not a valid phone number (e.g. +31612345678).");
        }
        parsed
    });

    let language = match obj.get("language") {
        None | Some(Value::Null) => Language::Nl,
        Some(Value::String(s)) => Language::parse(s).unwrap_or_else(|| {
            errors.add("language", "invalid_language", "Language must be \"nl\" or \"en\".");
            Language::Nl
        }),
        Some(_) => {
            errors.add("language", "invalid_language", "Language must be \"nl\" or \"en\".");
            Language::Nl
        }
    };

    match obj.get("age_confirmed") {
        Some(Value::Bool(true)) => {}
        _ => errors.add("age_confirmed", "age_not_confirmed", "You must confirm that you are 16 or older."),
    }

    let topics = match obj.get("topics") {
        None | Some(Value::Null) => Topic::ALL.into_iter().collect(),
        Some(v) => parse_name_list(v, "topics", Topic::parse, "unknown_topic", "urgent, enquiry, information", &mut errors),
    };
    if topics.is_empty() && !errors.iter().any(|e| e.field.starts_with("topics")) {
        errors.add("topics", "no_topics", "Choose at least one topic.");
    }

    let mut addresses = Vec::new();
    match obj.get("addresses") {
        Some(Value::Array(list)) if !list.is_empty() => {
            if list.len() > MAX_ADDRESSES {
                errors.add("addresses", "too_many_addresses", format!("At most {MAX_ADDRESSES} addresses."));
            }
            for (i, a) in list.iter().enumerate().take(MAX_ADDRESSES) {
                if let Some(addr) = parse_address(a, &format!("addresses[{i}]"), &mut errors) {
                    addresses.push(addr);
                }
            }
        }
        _ => errors.add("addresses", "no_addresses", "Give at least one address."),
    }

    let draft = ParticipantDraft { external_id: None, email, phone, language, topics: topics.into_iter().collect(), addresses };
    check_contact_rules(&draft, &mut errors, obj.contains_key("email"), obj.contains_key("phone"));
    errors.into_result(draft)
}

/// Rules that tie channels to contact points: SMS needs a mobile number, voice a phone,
/// e-mail an address; and someone must be reachable.
pub fn check_contact_rules(draft: &ParticipantDraft, errors: &mut FieldErrors, email_given: bool, phone_given: bool) {
    if draft.email.is_none() && draft.phone.is_none() && !email_given && !phone_given {
        errors.add("email", "no_contact", "Give an e-mail address or a phone number.");
    }
    // A contact point that was given but is invalid has its own error already.
    let has_email = draft.email.is_some() || email_given;
    let phone = match &draft.phone {
        Some(p) => Some(PhoneKind::of(p.is_mobile())),
        None if phone_given => Some(PhoneKind::Mobile),
        None => None,
    };
    for (i, a) in draft.addresses.iter().enumerate() {
        let field = format!("addresses[{i}].channels");
        for channel in a.channels.iter() {
            if let Some(missing) = channel.missing_contact(has_email, phone) {
                errors.add(&field, missing.code(), missing.message());
            }
        }
    }
}

fn optional_string(v: Option<&Value>, field: &str, errors: &mut FieldErrors) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.add(field, "not_a_string", "This field must be text.");
            None
        }
    }
}

fn parse_name_list<T>(
    v: &Value,
    field: &str,
    parse: fn(&str) -> Option<T>,
    code: &'static str,
    allowed: &str,
    errors: &mut FieldErrors,
) -> Vec<T> {
    let Some(list) = v.as_array() else {
        errors.add(field, "not_a_list", format!("This field must be a list of: {allowed}."));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in list.iter().enumerate() {
        match item.as_str().and_then(parse) {
            Some(t) => out.push(t),
            None => errors.add(format!("{field}[{i}]"), code, format!("Unknown value {item}; use one of: {allowed}.")),
        }
    }
    out
}

fn number(v: Option<&Value>) -> Option<Option<f64>> {
    match v {
        None | Some(Value::Null) => Some(None),
        Some(Value::Number(n)) => n.as_f64().map(Some),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()).map(Some),
        Some(_) => None,
    }
}

fn parse_address(v: &Value, path: &str, errors: &mut FieldErrors) -> Option<AddressDraft> {
    let Some(obj) = v.as_object() else {
        errors.add(path, "invalid_address", "Each address must be an object.");
        return None;
    };
    let before = errors.len();
    let kind = match obj.get("kind") {
        None | Some(Value::Null) => Some(AddressKind::Home),
        Some(Value::String(s)) => AddressKind::parse(s),
        Some(_) => None,
    };
    if kind.is_none() {
        errors.add(format!("{path}.kind"), "invalid_address_kind", "Kind must be home, work or other.");
    }

    let postcode_raw = optional_string(obj.get("postcode"), &format!("{path}.postcode"), errors);
    let house_raw = match obj.get("house_number") {
        Some(Value::Number(n)) => Some(n.to_string()),
        other => optional_string(other, &format!("{path}.house_number"), errors),
    };
    let lat = number(obj.get("lat"));
    let lon = number(obj.get("lon"));
    if lat.is_none() {
        errors.add(format!("{path}.lat"), "invalid_coordinate", "Latitude must be a number.");
    }
    if lon.is_none() {
        errors.add(format!("{path}.lon"), "invalid_coordinate", "Longitude must be a number.");
    }
    let location = location_from_parts(postcode_raw.as_deref(), house_raw.as_deref(), lat.flatten(), lon.flatten(), path, errors);

    let channels: ChannelSet = match obj.get("channels") {
        Some(v) => {
            parse_name_list(v, &format!("{path}.channels"), Channel::parse, "unknown_channel", "push, sms, voice, email", errors)
                .into_iter()
                .collect()
        }
        None => ChannelSet::EMPTY,
    };
    if channels.is_empty() && !errors.iter().any(|e| e.field.starts_with(&format!("{path}.channels"))) {
        errors.add(format!("{path}.channels"), "no_channels", "Choose at least one channel for this address.");
    }

    let quiet_hours = parse_quiet_hours(obj.get("quiet_hours"), &format!("{path}.quiet_hours"), errors);

    if errors.len() > before {
        return None;
    }
    Some(AddressDraft { kind: kind?, location: location?, channels, quiet_hours })
}

/// Parses a list of quiet-hour windows (`[{"channels", "from", "to"}]`), naming bad fields
/// under `path`. Every writer of quiet hours (sign-up, self-service, import) uses it, so the
/// stored windows are always readable.
pub fn parse_quiet_hours(v: Option<&Value>, path: &str, errors: &mut FieldErrors) -> Vec<QuietHours> {
    let mut quiet_hours = Vec::new();
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            if list.len() > MAX_QUIET_WINDOWS {
                errors.add(path, "too_many_windows", format!("At most {MAX_QUIET_WINDOWS} time windows."));
            }
            for (j, w) in list.iter().enumerate().take(MAX_QUIET_WINDOWS) {
                if let Some(q) = parse_window(w, &format!("{path}[{j}]"), errors) {
                    quiet_hours.push(q);
                }
            }
        }
        Some(_) => errors.add(path, "not_a_list", "Quiet hours must be a list."),
    }
    quiet_hours
}

/// Checks the parts of an address's location: either postcode + house number, or lat + lon
/// inside the Netherlands. Shared by the API, the web form and the CSV import.
pub fn location_from_parts(
    postcode: Option<&str>,
    house_number: Option<&str>,
    lat: Option<f64>,
    lon: Option<f64>,
    path: &str,
    errors: &mut FieldErrors,
) -> Option<AddressLocation> {
    let field = |f: &str| if path.is_empty() { f.to_string() } else { format!("{path}.{f}") };
    match (lat, lon) {
        (Some(lat), Some(lon)) => {
            if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                errors.add(
                    field("lat"),
                    "invalid_coordinate",
                    "Latitude must be between -90 and 90 and longitude between -180 and 180.",
                );
                None
            } else if !NL_BOUNDS.contains(lat, lon) {
                errors.add(field("lat"), "outside_netherlands", "This point is not in the Netherlands.");
                None
            } else {
                Some(AddressLocation::Point { lat, lon })
            }
        }
        (Some(_), None) => {
            errors.add(field("lon"), "missing_coordinate", "Give both lat and lon.");
            None
        }
        (None, Some(_)) => {
            errors.add(field("lat"), "missing_coordinate", "Give both lat and lon.");
            None
        }
        (None, None) => match (postcode, house_number) {
            (Some(pc), Some(hn)) => {
                let p = Postcode::parse(pc);
                let h = HouseNumber::parse(hn);
                if p.is_none() {
                    errors.add(field("postcode"), "invalid_postcode", "This is not a Dutch postcode (e.g. 3811 AB).");
                }
                if h.is_none() {
                    errors.add(field("house_number"), "invalid_house_number", "This is not a house number (e.g. 12 or 12A).");
                }
                Some(AddressLocation::Postcode { postcode: p?, house_number: h? })
            }
            (Some(_), None) => {
                errors.add(field("house_number"), "missing_house_number", "Give the house number with the postcode.");
                None
            }
            (None, Some(_)) => {
                errors.add(field("postcode"), "missing_postcode", "Give the postcode with the house number.");
                None
            }
            (None, None) => {
                errors.add(field("postcode"), "missing_location", "Give a postcode and house number, or lat and lon.");
                None
            }
        },
    }
}

fn parse_window(v: &Value, path: &str, errors: &mut FieldErrors) -> Option<QuietHours> {
    let Some(obj) = v.as_object() else {
        errors.add(path, "invalid_window", "A time window must be an object with channels, from and to.");
        return None;
    };
    let before = errors.len();
    let channels = match obj.get("channels") {
        Some(v) => {
            parse_name_list(v, &format!("{path}.channels"), Channel::parse, "unknown_channel", "push, sms, voice, email", errors)
        }
        None => {
            errors.add(format!("{path}.channels"), "no_channels", "Name the channels this window applies to.");
            Vec::new()
        }
    };
    let time = |key: &str, errors: &mut FieldErrors| {
        let t = obj.get(key).and_then(Value::as_str).and_then(parse_hhmm);
        if t.is_none() {
            errors.add(format!("{path}.{key}"), "invalid_time", "Give a time as HH:MM (00:00–23:59).");
        }
        t
    };
    let from = time("from", errors);
    let to = time("to", errors);
    if errors.len() > before {
        return None;
    }
    Some(QuietHours { channels, from: from?, to: to? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn example() -> Value {
        json!({"email": "a@example.org", "phone": "+31612345678", "language": "nl", "age_confirmed": true,
            "topics": ["urgent", "enquiry"], "addresses": [{"kind": "home", "postcode": "3811 AB",
            "house_number": "12", "channels": ["email", "sms"], "quiet_hours": [{"channels": ["voice", "sms"],
            "from": "23:00", "to": "07:00"}]}, {"kind": "work", "lat": 52.09, "lon": 5.12, "channels": ["email"]}]})
    }

    #[test]
    fn the_documented_example_is_valid() {
        let d = parse_registration(&example()).unwrap();
        assert_eq!(d.addresses.len(), 2);
        assert_eq!(d.email.unwrap().as_str(), "a@example.org");
        assert!(d.topics.contains(Topic::Urgent) && !d.topics.contains(Topic::Information));
        assert_eq!(d.addresses[0].quiet_hours.len(), 1);
    }

    fn codes(v: Value) -> Vec<(String, &'static str)> {
        parse_registration(&v).unwrap_err().iter().map(|e| (e.field.clone(), e.code)).collect()
    }

    #[test]
    fn every_field_is_checked() {
        let cases: Vec<(&str, Value, &str, &str)> = vec![
            ("/email", json!("not-an-email"), "email", "invalid_email"),
            ("/phone", json!("12"), "phone", "invalid_phone"),
            ("/language", json!("fr"), "language", "invalid_language"),
            ("/age_confirmed", json!(false), "age_confirmed", "age_not_confirmed"),
            ("/topics", json!(["weather"]), "topics[0]", "unknown_topic"),
            ("/topics", json!([]), "topics", "no_topics"),
            ("/addresses", json!([]), "addresses", "no_addresses"),
            ("/addresses/0/postcode", json!("0811 AB"), "addresses[0].postcode", "invalid_postcode"),
            ("/addresses/0/house_number", json!("x"), "addresses[0].house_number", "invalid_house_number"),
            ("/addresses/0/kind", json!("castle"), "addresses[0].kind", "invalid_address_kind"),
            ("/addresses/0/channels", json!(["pigeon"]), "addresses[0].channels[0]", "unknown_channel"),
            ("/addresses/0/channels", json!([]), "addresses[0].channels", "no_channels"),
            ("/addresses/0/quiet_hours/0/from", json!("25:00"), "addresses[0].quiet_hours[0].from", "invalid_time"),
            ("/addresses/1/lat", json!(48.85), "addresses[1].lat", "outside_netherlands"),
            ("/addresses/1/lon", json!("east"), "addresses[1].lon", "invalid_coordinate"),
        ];
        for (pointer, value, field, code) in cases {
            let mut body = example();
            *body.pointer_mut(pointer).unwrap() = value;
            let got = codes(body);
            assert!(got.contains(&(field.to_string(), code)), "{pointer}: expected {field}/{code}, got {got:?}");
        }
    }

    #[test]
    fn channels_need_their_contact_points() {
        let mut body = example();
        body["phone"] = json!("+31334695555"); // a fixed line
        assert!(codes(body).contains(&("addresses[0].channels".into(), "sms_needs_mobile")));
        let mut body = example();
        body.as_object_mut().unwrap().remove("email");
        assert!(codes(body).contains(&("addresses[0].channels".into(), "email_channel_without_email")));
        let body = json!({"age_confirmed": true, "addresses": [{"lat": 52.1, "lon": 5.1, "channels": ["push"]}]});
        assert!(codes(body).contains(&("email".into(), "no_contact")));
    }

    #[test]
    fn a_non_object_is_rejected() {
        assert_eq!(codes(json!([1, 2])), vec![("".to_string(), "invalid_body")]);
    }
}
