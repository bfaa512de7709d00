//! An Atom feed (RFC 4287) of CAP alerts: one entry per CAP message, each linking its document
//! with `rel="alternate" type="application/cap+xml"`, as CAP aggregators read them.

use crate::model::format_time;
use chrono::{DateTime, FixedOffset};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use std::io;

pub const ATOM_NAMESPACE: &str = "http://www.w3.org/2005/Atom";
/// The media type of a CAP document.
pub const CAP_MEDIA_TYPE: &str = "application/cap+xml";

#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    /// A permanent IRI (the feed's own URL).
    pub id: String,
    pub title: String,
    pub updated: DateTime<FixedOffset>,
    pub author: String,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// A permanent IRI (the CAP document's URL).
    pub id: String,
    pub title: String,
    pub updated: DateTime<FixedOffset>,
    pub summary: Option<String>,
    /// The CAP document's URL.
    pub cap_url: String,
    /// Atom categories (the CAP message type and status, the kind).
    pub categories: Vec<String>,
}

fn text(w: &mut Writer<Vec<u8>>, name: &str, value: &str) -> io::Result<()> {
    let clean: String = value.chars().filter(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r')).collect();
    w.create_element(name).write_text_content(BytesText::new(&clean))?;
    Ok(())
}

fn entry(w: &mut Writer<Vec<u8>>, e: &Entry) -> io::Result<()> {
    w.create_element("entry").write_inner_content(|w| {
        text(w, "id", &e.id)?;
        text(w, "title", &e.title)?;
        text(w, "updated", &format_time(&e.updated))?;
        w.create_element("link")
            .with_attributes([("rel", "alternate"), ("type", CAP_MEDIA_TYPE), ("href", e.cap_url.as_str())])
            .write_empty()?;
        for c in &e.categories {
            w.create_element("category").with_attribute(("term", c.as_str())).write_empty()?;
        }
        if let Some(s) = &e.summary {
            text(w, "summary", s)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The feed as an XML document.
pub fn to_atom(f: &Feed) -> io::Result<String> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("feed").with_attribute(("xmlns", ATOM_NAMESPACE)).write_inner_content(|w| {
        text(w, "id", &f.id)?;
        text(w, "title", &f.title)?;
        text(w, "updated", &format_time(&f.updated))?;
        w.create_element("link").with_attributes([("rel", "self"), ("href", f.id.as_str())]).write_empty()?;
        w.create_element("author").write_inner_content(|w| text(w, "name", &f.author))?;
        for e in &f.entries {
            entry(w, e)?;
        }
        Ok(())
    })?;
    String::from_utf8(w.into_inner()).map_err(io::Error::other)
}
