//! Publishing: our actions as CAP 1.2 alerts (`export`: one per message, the public Atom
//! `feed`) and CAP alerts from other systems as draft actions (`import`). The document model,
//! writer, parser and the kind/level mapping are in `buurtnet-cap`; which kinds may be public
//! is the domain's rule (`ActionKind::may_be_published`).

pub mod areas;
pub mod export;
pub mod feed;
pub mod import;
