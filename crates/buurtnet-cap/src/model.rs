//! The CAP 1.2 document model: an alert with its info blocks, their resources and areas. Only
//! what buurtnet writes or reads; element names and value sets as in the OASIS standard.

use chrono::{DateTime, FixedOffset};

macro_rules! cap_words {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word as CAP writes it.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }

            /// The word, leniently: surrounding space and case do not matter.
            pub fn parse(s: &str) -> Option<$name> {
                let s = s.trim();
                $name::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(s))
            }
        }
    };
}

cap_words! {
    /// `status`: what the alert is for.
    Status { Actual = "Actual", Exercise = "Exercise", System = "System", Test = "Test", Draft = "Draft" }
}

cap_words! {
    /// `msgType`.
    MsgType { Alert = "Alert", Update = "Update", Cancel = "Cancel", Ack = "Ack", Error = "Error" }
}

cap_words! {
    /// `scope`: who may see it.
    Scope { Public = "Public", Restricted = "Restricted", Private = "Private" }
}

cap_words! {
    /// `category` of an info block.
    Category {
        Geo = "Geo", Met = "Met", Safety = "Safety", Security = "Security", Rescue = "Rescue", Fire = "Fire",
        Health = "Health", Env = "Env", Transport = "Transport", Infra = "Infra", Cbrne = "CBRNE", Other = "Other",
    }
}

cap_words! {
    /// `responseType`: what the public is asked to do.
    ResponseType {
        Shelter = "Shelter", Evacuate = "Evacuate", Prepare = "Prepare", Execute = "Execute", Avoid = "Avoid",
        Monitor = "Monitor", Assess = "Assess", AllClear = "AllClear", None = "None",
    }
}

cap_words! {
    Urgency { Immediate = "Immediate", Expected = "Expected", Future = "Future", Past = "Past", Unknown = "Unknown" }
}

cap_words! {
    Severity { Extreme = "Extreme", Severe = "Severe", Moderate = "Moderate", Minor = "Minor", Unknown = "Unknown" }
}

cap_words! {
    Certainty { Observed = "Observed", Likely = "Likely", Possible = "Possible", Unlikely = "Unlikely", Unknown = "Unknown" }
}

/// An earlier message an update or cancellation refers to (`sender,identifier,sent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub sender: String,
    pub identifier: String,
    /// As written (a time with offset); kept as text, since partners write it loosely.
    pub sent: String,
}

/// One CAP alert message.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub identifier: String,
    pub sender: String,
    pub sent: DateTime<FixedOffset>,
    pub status: Status,
    pub msg_type: MsgType,
    pub scope: Scope,
    /// Who may see a `Restricted` alert.
    pub restriction: Option<String>,
    pub note: Option<String>,
    pub references: Vec<Reference>,
    pub infos: Vec<Info>,
}

/// A `valueName`/`value` pair (`geocode`, `parameter`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedValue {
    pub name: String,
    pub value: String,
}

/// One language's part of an alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    /// RFC 3066 language, e.g. `nl-NL`, `en-GB`; CAP's default is `en-US`.
    pub language: String,
    pub categories: Vec<Category>,
    pub event: String,
    pub response_types: Vec<ResponseType>,
    pub urgency: Urgency,
    pub severity: Severity,
    pub certainty: Certainty,
    pub sender_name: Option<String>,
    pub headline: Option<String>,
    pub description: Option<String>,
    pub instruction: Option<String>,
    pub web: Option<String>,
    pub contact: Option<String>,
    pub parameters: Vec<NamedValue>,
    pub resources: Vec<Resource>,
    pub areas: Vec<Area>,
}

/// A file belonging to an info block (a public photo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub description: String,
    pub mime_type: String,
    pub uri: Option<String>,
}

/// A circle: centre (WGS84) and radius in kilometres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circle {
    pub lat: f64,
    pub lon: f64,
    pub radius_km: f64,
}

/// One `area`: a description and any polygons (rings of latitude, longitude points), circles
/// and geocodes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Area {
    pub description: String,
    pub polygons: Vec<Vec<(f64, f64)>>,
    pub circles: Vec<Circle>,
    pub geocodes: Vec<NamedValue>,
}

impl Area {
    pub fn is_empty(&self) -> bool {
        self.polygons.is_empty() && self.circles.is_empty() && self.geocodes.is_empty()
    }
}

impl Info {
    /// An info block with the required fields and nothing else.
    pub fn new(
        language: &str,
        category: Category,
        event: &str,
        urgency: Urgency,
        severity: Severity,
        certainty: Certainty,
    ) -> Info {
        Info {
            language: language.to_string(),
            categories: vec![category],
            event: event.to_string(),
            response_types: Vec::new(),
            urgency,
            severity,
            certainty,
            sender_name: None,
            headline: None,
            description: None,
            instruction: None,
            web: None,
            contact: None,
            parameters: Vec::new(),
            resources: Vec::new(),
            areas: Vec::new(),
        }
    }

    /// The value of parameter `name` (the first), if any.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.iter().find(|p| p.name.eq_ignore_ascii_case(name)).map(|p| p.value.as_str())
    }
}

/// CAP's `sent`, `effective`, … format: seconds and a numeric offset, never `Z`.
pub fn format_time(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}
