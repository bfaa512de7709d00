//! CAP 1.2, the Common Alerting Protocol (OASIS): the document model ([`model`]), a writer
//! ([`write`]) and a bounded, lenient parser ([`parse`]), and how our actions map onto CAP
//! ([`mapping`]). No I/O: the server's `publishing` capability serves and imports documents.

pub mod atom;
pub mod mapping;
pub mod model;
pub mod parse;
pub mod write;

pub use model::{
    Alert, Area, Category, Certainty, Circle, Info, MsgType, NamedValue, Reference, Resource, ResponseType, Scope, Severity,
    Status, Urgency, format_time,
};
pub use parse::{CapError, parse};
pub use write::{NAMESPACE, to_xml};

#[cfg(test)]
mod tests;
