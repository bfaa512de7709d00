//! Reads a CAP 1.2 document, leniently where partners deviate in harmless ways (element order,
//! whitespace, case of the value words, missing optional elements, several info blocks) and
//! strictly where it matters: well-formed XML in the CAP 1.2 namespace, no DTD (so no external
//! entities and no entity expansion), at most [`MAX_BYTES`], [`MAX_NODES`] and [`MAX_DEPTH`].

use crate::model::{
    Alert, Area, Category, Certainty, Circle, Info, MsgType, NamedValue, Reference, Resource, ResponseType, Scope, Severity,
    Status, Urgency,
};
use crate::write::NAMESPACE;
use chrono::{DateTime, FixedOffset};
use roxmltree::{Document, Node, ParsingOptions};

/// The largest document read (1 MB).
pub const MAX_BYTES: usize = 1024 * 1024;
/// The most XML nodes (elements, texts, comments) read.
pub const MAX_NODES: u32 = 50_000;
/// The deepest nesting of elements read (a CAP alert needs 4).
pub const MAX_DEPTH: usize = 16;
/// The most points of one polygon.
pub const MAX_POINTS: usize = 10_000;

/// Why a document is not a CAP 1.2 alert we can read; the message names the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapError {
    #[error("The document is larger than {MAX_BYTES} bytes.")]
    TooLarge,
    #[error("The document is not UTF-8 text.")]
    NotUtf8,
    #[error("A document type declaration (DTD) is not accepted.")]
    Dtd,
    #[error("The document is not well-formed XML: {0}.")]
    NotXml(String),
    #[error("The document nests elements deeper than {MAX_DEPTH} levels.")]
    TooDeep,
    #[error("The root element is not a CAP 1.2 'alert' in namespace {NAMESPACE} (found '{0}').")]
    WrongNamespace(String),
    #[error("The alert has no '{0}' element.")]
    Missing(&'static str),
    #[error("The alert's '{element}' is not valid: '{value}'.")]
    Invalid { element: &'static str, value: String },
}

impl CapError {
    /// A short machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CapError::TooLarge => "too_large",
            CapError::NotUtf8 | CapError::NotXml(_) => "not_xml",
            CapError::Dtd => "dtd_not_allowed",
            CapError::TooDeep => "too_deep",
            CapError::WrongNamespace(_) => "wrong_namespace",
            CapError::Missing(_) => "missing_element",
            CapError::Invalid { .. } => "invalid_value",
        }
    }
}

fn children<'a, 'i>(n: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    n.children().filter(move |c| c.is_element() && c.tag_name().name() == name && c.tag_name().namespace() == Some(NAMESPACE))
}

/// The trimmed text of an element (its text and CDATA children), `None` when empty.
fn text_of(n: Node) -> Option<String> {
    let s: String = n.children().filter(|c| c.is_text()).filter_map(|c| c.text()).collect();
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn child_text(n: Node, name: &str) -> Option<String> {
    children(n, name).find_map(text_of)
}

fn required(n: Node, name: &'static str) -> Result<String, CapError> {
    child_text(n, name).ok_or(CapError::Missing(name))
}

/// A CAP time: with an offset as the standard says, or leniently with `Z`.
pub fn parse_time(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s.trim()).ok()
}

fn named(n: Node) -> Option<NamedValue> {
    Some(NamedValue { name: child_text(n, "valueName")?, value: child_text(n, "value").unwrap_or_default() })
}

fn number(s: &str, element: &'static str) -> Result<f64, CapError> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .ok_or_else(|| CapError::Invalid { element, value: s.chars().take(60).collect() })
}

/// `lat,lon lat,lon …` (spaces after commas tolerated).
pub fn parse_polygon(s: &str) -> Result<Vec<(f64, f64)>, CapError> {
    let normal = s.split(',').map(str::trim).collect::<Vec<_>>().join(",");
    let mut out = Vec::new();
    for pair in normal.split_whitespace() {
        let (lat, lon) = pair
            .split_once(',')
            .ok_or_else(|| CapError::Invalid { element: "polygon", value: pair.chars().take(60).collect() })?;
        out.push((number(lat, "polygon")?, number(lon, "polygon")?));
        if out.len() > MAX_POINTS {
            return Err(CapError::Invalid { element: "polygon", value: format!("more than {MAX_POINTS} points") });
        }
    }
    if out.len() < 4 {
        return Err(CapError::Invalid {
            element: "polygon",
            value: format!("{} points; at least 4 (a closed triangle)", out.len()),
        });
    }
    Ok(out)
}

/// `lat,lon radius_km`.
pub fn parse_circle(s: &str) -> Result<Circle, CapError> {
    let normal = s.split(',').map(str::trim).collect::<Vec<_>>().join(",");
    let bad = || CapError::Invalid { element: "circle", value: s.chars().take(60).collect() };
    let mut parts = normal.split_whitespace();
    let (Some(centre), Some(radius), None) = (parts.next(), parts.next(), parts.next()) else { return Err(bad()) };
    let (lat, lon) = centre.split_once(',').ok_or_else(bad)?;
    Ok(Circle { lat: number(lat, "circle")?, lon: number(lon, "circle")?, radius_km: number(radius, "circle")? })
}

fn area(n: Node) -> Result<Area, CapError> {
    let mut a = Area { description: child_text(n, "areaDesc").unwrap_or_default(), ..Area::default() };
    for p in children(n, "polygon").filter_map(text_of) {
        a.polygons.push(parse_polygon(&p)?);
    }
    for c in children(n, "circle").filter_map(text_of) {
        a.circles.push(parse_circle(&c)?);
    }
    a.geocodes = children(n, "geocode").filter_map(named).collect();
    Ok(a)
}

fn info(n: Node) -> Result<Info, CapError> {
    let word = |name: &'static str| child_text(n, name).unwrap_or_default();
    let mut i = Info::new(
        &child_text(n, "language").unwrap_or_else(|| "en-US".into()),
        Category::Other,
        &word("event"),
        Urgency::parse(&word("urgency")).unwrap_or(Urgency::Unknown),
        Severity::parse(&word("severity")).unwrap_or(Severity::Unknown),
        Certainty::parse(&word("certainty")).unwrap_or(Certainty::Unknown),
    );
    i.categories = children(n, "category").filter_map(text_of).map(|c| Category::parse(&c).unwrap_or(Category::Other)).collect();
    i.response_types = children(n, "responseType").filter_map(text_of).filter_map(|r| ResponseType::parse(&r)).collect();
    i.sender_name = child_text(n, "senderName");
    i.headline = child_text(n, "headline");
    i.description = child_text(n, "description");
    i.instruction = child_text(n, "instruction");
    i.web = child_text(n, "web");
    i.contact = child_text(n, "contact");
    i.parameters = children(n, "parameter").filter_map(named).collect();
    i.resources = children(n, "resource")
        .filter_map(|r| {
            Some(Resource {
                description: child_text(r, "resourceDesc").unwrap_or_default(),
                mime_type: child_text(r, "mimeType")?,
                uri: child_text(r, "uri"),
            })
        })
        .collect();
    i.areas = children(n, "area").map(area).collect::<Result<_, _>>()?;
    Ok(i)
}

/// `sender,identifier,sent` triples separated by spaces; malformed ones are skipped.
pub fn parse_references(s: &str) -> Vec<Reference> {
    s.split_whitespace()
        .filter_map(|r| {
            let mut parts = r.splitn(3, ',');
            let sender = parts.next().filter(|p| !p.is_empty())?;
            let identifier = parts.next().filter(|p| !p.is_empty())?;
            Some(Reference {
                sender: sender.into(),
                identifier: identifier.into(),
                sent: parts.next().unwrap_or_default().into(),
            })
        })
        .collect()
}

/// Reads one CAP 1.2 alert.
pub fn parse(bytes: &[u8]) -> Result<Alert, CapError> {
    if bytes.len() > MAX_BYTES {
        return Err(CapError::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| CapError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let options = ParsingOptions { allow_dtd: false, nodes_limit: MAX_NODES, ..ParsingOptions::default() };
    let doc = Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => CapError::Dtd,
        roxmltree::Error::NodesLimitReached => CapError::TooLarge,
        e => CapError::NotXml(e.to_string()),
    })?;
    // Depth of every node from its parent's, in document order (parents come first).
    let mut depth = vec![0usize; doc.descendants().count()];
    for n in doc.descendants() {
        let d = n.parent().map(|p| depth[p.id().get_usize()] + 1).unwrap_or(0);
        if d > MAX_DEPTH {
            return Err(CapError::TooDeep);
        }
        depth[n.id().get_usize()] = d;
    }
    let root = doc.root_element();
    if root.tag_name().name() != "alert" || root.tag_name().namespace() != Some(NAMESPACE) {
        let found = match root.tag_name().namespace() {
            Some(ns) => format!("{{{ns}}}{}", root.tag_name().name()),
            None => root.tag_name().name().to_string(),
        };
        return Err(CapError::WrongNamespace(found.chars().take(120).collect()));
    }
    let invalid = |element: &'static str, value: String| CapError::Invalid { element, value: value.chars().take(60).collect() };
    let identifier = required(root, "identifier")?;
    let sender = required(root, "sender")?;
    let sent = required(root, "sent")?;
    let status = required(root, "status")?;
    let msg_type = required(root, "msgType")?;
    Ok(Alert {
        identifier,
        sender,
        sent: parse_time(&sent).ok_or_else(|| invalid("sent", sent.clone()))?,
        status: Status::parse(&status).ok_or_else(|| invalid("status", status.clone()))?,
        msg_type: MsgType::parse(&msg_type).ok_or_else(|| invalid("msgType", msg_type.clone()))?,
        scope: child_text(root, "scope").and_then(|s| Scope::parse(&s)).unwrap_or(Scope::Public),
        restriction: child_text(root, "restriction"),
        note: child_text(root, "note"),
        references: child_text(root, "references").map(|r| parse_references(&r)).unwrap_or_default(),
        infos: children(root, "info").map(info).collect::<Result<_, _>>()?,
    })
}
