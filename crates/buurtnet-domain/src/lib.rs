//! The rules of buurtnet with no I/O: what a participant, a channel, a topic, a postcode or a
//! staff role is, and how raw input becomes these types (or a list of field errors).

pub mod action;
pub mod action_text;
pub mod alarm;
pub mod approval;
pub mod area_level;
pub mod cell;
pub mod channel;
pub mod clock;
pub mod contact;
pub mod enquiry;
pub mod field_error;
pub mod neighbourhood;
pub mod policy;
pub mod postcode;
pub mod quiet_hours;
pub mod registration;
pub mod reports;
pub mod sms_text;
pub mod staff;

pub use area_level::AreaLevel;
pub use channel::{Channel, ChannelSet, Topic, TopicSet};
pub use clock::{Clock, ManualClock, SystemClock};
pub use field_error::{FieldError, FieldErrors};
pub use policy::Operation;

/// A rough box around the Netherlands (WGS84). Used before the precise
/// "inside a Dutch municipality" test, and when no geodata is loaded.
pub const NL_BOUNDS: Bounds = Bounds { min_lat: 50.70, max_lat: 53.70, min_lon: 3.20, max_lon: 7.30 };

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub min_lat: f64,
    pub max_lat: f64,
    pub min_lon: f64,
    pub max_lon: f64,
}

impl Bounds {
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        lat >= self.min_lat && lat <= self.max_lat && lon >= self.min_lon && lon <= self.max_lon
    }
}

/// The language a participant or a page uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Nl,
    En,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Nl => "nl",
            Language::En => "en",
        }
    }

    /// The other language (for a page's language switch).
    pub fn other(self) -> Language {
        match self {
            Language::Nl => Language::En,
            Language::En => Language::Nl,
        }
    }

    pub fn parse(s: &str) -> Option<Language> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nl" | "nl-nl" | "dutch" | "nederlands" => Some(Language::Nl),
            "en" | "en-gb" | "en-us" | "english" | "engels" => Some(Language::En),
            _ => None,
        }
    }
}

/// The kind of a participant's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressKind {
    Home,
    Work,
    Other,
}

impl AddressKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AddressKind::Home => "home",
            AddressKind::Work => "work",
            AddressKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<AddressKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "home" | "thuis" | "woonadres" | "" => Some(AddressKind::Home),
            "work" | "werk" | "werkadres" => Some(AddressKind::Work),
            "other" | "anders" | "overig" => Some(AddressKind::Other),
            _ => None,
        }
    }
}
