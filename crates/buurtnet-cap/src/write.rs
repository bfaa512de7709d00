//! Writes a CAP 1.2 document: elements in the schema's order, texts escaped, coordinates with at
//! most six decimals, polygons closed, times with their offset (never `Z`).

use crate::model::{Alert, Area, Info, format_time};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use std::io;

/// The CAP 1.2 namespace.
pub const NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";

type W = Writer<Vec<u8>>;

/// XML 1.0 has no room for most control characters: they are dropped.
fn clean(s: &str) -> String {
    s.chars().filter(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r')).collect()
}

fn text(w: &mut W, name: &str, value: &str) -> io::Result<()> {
    w.create_element(name).write_text_content(BytesText::new(&clean(value)))?;
    Ok(())
}

fn opt(w: &mut W, name: &str, value: Option<&str>) -> io::Result<()> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => text(w, name, v),
        None => Ok(()),
    }
}

/// A coordinate with at most six decimals and no trailing zeros (`52.1561`, `5.3878`).
pub fn coordinate(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_string() } else { s.to_string() }
}

/// A polygon as CAP writes it: `lat,lon` pairs separated by spaces, the first repeated at the end.
pub fn polygon_text(ring: &[(f64, f64)]) -> String {
    let mut points: Vec<String> = ring.iter().map(|(lat, lon)| format!("{},{}", coordinate(*lat), coordinate(*lon))).collect();
    if let (Some(first), Some(last)) = (points.first().cloned(), points.last())
        && first != *last
    {
        points.push(first);
    }
    points.join(" ")
}

fn named(w: &mut W, element: &str, name: &str, value: &str) -> io::Result<()> {
    w.create_element(element).write_inner_content(|w| {
        text(w, "valueName", name)?;
        text(w, "value", value)
    })?;
    Ok(())
}

fn area(w: &mut W, a: &Area) -> io::Result<()> {
    w.create_element("area").write_inner_content(|w| {
        text(w, "areaDesc", &a.description)?;
        for ring in &a.polygons {
            text(w, "polygon", &polygon_text(ring))?;
        }
        for c in &a.circles {
            text(w, "circle", &format!("{},{} {}", coordinate(c.lat), coordinate(c.lon), coordinate(c.radius_km)))?;
        }
        for g in &a.geocodes {
            named(w, "geocode", &g.name, &g.value)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn info(w: &mut W, i: &Info) -> io::Result<()> {
    w.create_element("info").write_inner_content(|w| {
        text(w, "language", &i.language)?;
        for c in &i.categories {
            text(w, "category", c.as_str())?;
        }
        text(w, "event", &i.event)?;
        for r in &i.response_types {
            text(w, "responseType", r.as_str())?;
        }
        text(w, "urgency", i.urgency.as_str())?;
        text(w, "severity", i.severity.as_str())?;
        text(w, "certainty", i.certainty.as_str())?;
        opt(w, "senderName", i.sender_name.as_deref())?;
        opt(w, "headline", i.headline.as_deref())?;
        opt(w, "description", i.description.as_deref())?;
        opt(w, "instruction", i.instruction.as_deref())?;
        opt(w, "web", i.web.as_deref())?;
        opt(w, "contact", i.contact.as_deref())?;
        for p in &i.parameters {
            named(w, "parameter", &p.name, &p.value)?;
        }
        for r in &i.resources {
            w.create_element("resource").write_inner_content(|w| {
                text(w, "resourceDesc", &r.description)?;
                text(w, "mimeType", &r.mime_type)?;
                opt(w, "uri", r.uri.as_deref())
            })?;
        }
        for a in &i.areas {
            area(w, a)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn alert(w: &mut W, a: &Alert) -> io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("alert").with_attribute(("xmlns", NAMESPACE)).write_inner_content(|w| {
        text(w, "identifier", &a.identifier)?;
        text(w, "sender", &a.sender)?;
        text(w, "sent", &format_time(&a.sent))?;
        text(w, "status", a.status.as_str())?;
        text(w, "msgType", a.msg_type.as_str())?;
        text(w, "scope", a.scope.as_str())?;
        opt(w, "restriction", a.restriction.as_deref())?;
        opt(w, "note", a.note.as_deref())?;
        if !a.references.is_empty() {
            let refs: Vec<String> = a.references.iter().map(|r| format!("{},{},{}", r.sender, r.identifier, r.sent)).collect();
            text(w, "references", &refs.join(" "))?;
        }
        for i in &a.infos {
            info(w, i)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The alert as an XML document (UTF-8, indented).
pub fn to_xml(a: &Alert) -> io::Result<String> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    alert(&mut w, a)?;
    String::from_utf8(w.into_inner()).map_err(io::Error::other)
}
