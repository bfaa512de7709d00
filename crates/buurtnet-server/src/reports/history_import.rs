//! `buurtnet import-history`: the actions and enquiries a region ran before buurtnet, from CSV,
//! as figures for the reports. Every line is checked first (each error names its line and
//! field); only a file without errors is stored, in one transaction, idempotent by
//! `reference`. History never sends anything.

use super::lies_in;
use crate::texts::mail::dutch_time;
use buurtnet_domain::AreaLevel;
use buurtnet_domain::action::{ActionKind, Level, Outcome};
use buurtnet_geo::AreaIndex;
use buurtnet_store::reports::{HistoryAction, HistoryEnquiry, HistoryImported};
use buurtnet_store::{Store, StoreError};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use std::collections::{HashMap, HashSet};
use std::io::Read;

pub const ACTION_COLUMNS: [&str; 9] =
    ["reference", "region", "municipality", "kind", "level", "sent_at", "closed_at", "recipients", "outcome"];
pub const ENQUIRY_COLUMNS: [&str; 8] =
    ["reference", "municipality", "incident_type", "occurred_at", "sent_at", "recipients", "replies", "relevant_replies"];

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// Lines with errors (`line 7, field sent_at: …`); nothing was stored.
    #[error("{} error(s) in the file; nothing was imported", .0.len())]
    Invalid(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A moment as history files write it: RFC 3339 (`2019-03-01T14:05:00+01:00`), or Dutch local
/// time `2019-03-01 14:05` (or with seconds).
pub fn parse_moment(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    let local = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
        .ok()
        .or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(12, 0, 0)))?;
    if local.and_utc().timestamp() < 0 {
        return None;
    }
    // Winter time (UTC+1) or summer time (UTC+2): the one whose Dutch clock shows `local`.
    [1, 2].into_iter().find_map(|h| {
        let utc = Utc.from_utc_datetime(&local) - chrono::Duration::hours(h);
        (dutch_time(utc).naive_local() == local).then(|| utc.timestamp_millis())
    })
}

struct Line<'a> {
    number: u64,
    record: &'a csv::StringRecord,
    columns: &'a HashMap<String, usize>,
    errors: &'a mut Vec<String>,
}

impl Line<'_> {
    fn raw(&self, field: &str) -> &str {
        self.columns.get(field).and_then(|i| self.record.get(*i)).map(str::trim).unwrap_or("")
    }

    fn fail(&mut self, field: &str, message: impl std::fmt::Display) {
        self.errors.push(format!("line {}, field {field}: {message}", self.number));
    }

    fn text(&mut self, field: &str, max: usize) -> Option<String> {
        let v = self.raw(field).to_string();
        if v.is_empty() {
            self.fail(field, "is empty");
            None
        } else if v.chars().count() > max || v.chars().any(char::is_control) {
            self.fail(field, format!("must be at most {max} characters of text"));
            None
        } else {
            Some(v)
        }
    }

    fn count(&mut self, field: &str) -> Option<i64> {
        let v = self.raw(field).to_string();
        match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            Ok(_) => {
                self.fail(field, format!("'{v}' is negative"));
                None
            }
            Err(_) => {
                self.fail(field, format!("'{v}' is not a whole number"));
                None
            }
        }
    }

    fn moment(&mut self, field: &str, optional: bool) -> Option<Option<i64>> {
        let v = self.raw(field).to_string();
        if v.is_empty() && optional {
            return Some(None);
        }
        match parse_moment(&v) {
            Some(t) => Some(Some(t)),
            None => {
                self.fail(field, format!("'{v}' is not a date and time (2019-03-01 14:05, or RFC 3339)"));
                None
            }
        }
    }

    fn area(&mut self, index: &AreaIndex, field: &str, level: AreaLevel) -> Option<String> {
        let v = self.raw(field).to_ascii_uppercase();
        match index.get(&v) {
            Some(a) if a.level == level => Some(v),
            _ => {
                self.fail(field, format!("'{v}' is not a known {} code", level.as_str()));
                None
            }
        }
    }

    fn reference(&mut self, seen: &mut HashSet<String>) -> Option<String> {
        let r = self.text("reference", 100)?;
        if !seen.insert(r.clone()) {
            self.fail("reference", format!("'{r}' appears twice in the file"));
            return None;
        }
        Some(r)
    }
}

/// Reads the header and every line, calling `each` with a checker per line.
fn read_lines(input: impl Read, wanted: &[&str], mut each: impl FnMut(&mut Line<'_>)) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(input);
    let mut errors = Vec::new();
    let columns: HashMap<String, usize> = match reader.headers() {
        Ok(h) => h.iter().enumerate().map(|(i, name)| (name.trim().trim_start_matches('\u{feff}').to_string(), i)).collect(),
        Err(e) => return vec![format!("line 1: cannot read the header: {e}")],
    };
    for c in wanted {
        if !columns.contains_key(*c) {
            errors.push(format!("line 1, field {c}: the header has no column '{c}' (expected: {})", wanted.join(",")));
        }
    }
    if !errors.is_empty() {
        return errors;
    }
    let mut record = csv::StringRecord::new();
    let mut number = 1;
    loop {
        number += 1;
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                errors.push(format!("line {number}: cannot be read: {e}"));
                break;
            }
        }
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let mut line = Line { number, record: &record, columns: &columns, errors: &mut errors };
        each(&mut line);
        if errors.len() >= 1000 {
            break;
        }
    }
    if number == 2 && errors.is_empty() {
        errors.push("line 2: the file has no lines after the header".to_string());
    }
    errors
}

/// Checks an actions file (`reference,region,municipality,kind,level,sent_at,closed_at,recipients,outcome`).
pub fn parse_actions(input: impl Read, index: &AreaIndex) -> Result<Vec<HistoryAction>, Vec<String>> {
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    let errors = read_lines(input, &ACTION_COLUMNS, |l| {
        let reference = l.reference(&mut seen);
        let region = l.area(index, "region", AreaLevel::PoliceUnit);
        let municipality = l.area(index, "municipality", AreaLevel::Municipality);
        if let (Some(r), Some(m)) = (&region, &municipality)
            && !lies_in(index, m, r)
        {
            l.fail("municipality", format!("{m} does not lie in police unit {r}"));
        }
        let kind = ActionKind::parse(l.raw("kind"));
        if kind.is_none() {
            let v = l.raw("kind").to_string();
            l.fail("kind", format!("'{v}' is not one of {}", ActionKind::choices()));
        }
        let level = Level::parse(l.raw("level"));
        if level.is_none() {
            let v = l.raw("level").to_string();
            l.fail("level", format!("'{v}' is not one of {}", Level::choices()));
        }
        let sent_at = l.moment("sent_at", false).flatten();
        let closed_at = l.moment("closed_at", true);
        if let (Some(s), Some(Some(c))) = (sent_at, closed_at)
            && c < s
        {
            l.fail("closed_at", "lies before sent_at");
        }
        let recipients = l.count("recipients");
        let raw_outcome = l.raw("outcome").to_string();
        let outcome = if raw_outcome.is_empty() { Some(None) } else { Outcome::parse(&raw_outcome).map(Some) };
        if outcome.is_none() {
            l.fail("outcome", format!("'{raw_outcome}' is not one of {} (or empty)", Outcome::choices()));
        }
        if let (
            Some(reference),
            Some(region),
            Some(municipality),
            Some(kind),
            Some(level),
            Some(sent_at),
            Some(closed_at),
            Some(recipients),
            Some(outcome),
        ) = (reference, region, municipality, kind, level, sent_at, closed_at, recipients, outcome)
        {
            rows.push(HistoryAction {
                reference,
                region,
                municipality,
                kind: kind.as_str().to_string(),
                level: level.as_str().to_string(),
                sent_at,
                closed_at,
                recipients,
                outcome: outcome.map(|o| o.as_str().to_string()),
            });
        }
    });
    if errors.is_empty() { Ok(rows) } else { Err(errors) }
}

/// Checks an enquiries file (`reference,municipality,incident_type,occurred_at,sent_at,recipients,replies,relevant_replies`).
pub fn parse_enquiries(input: impl Read, index: &AreaIndex) -> Result<Vec<HistoryEnquiry>, Vec<String>> {
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    let errors = read_lines(input, &ENQUIRY_COLUMNS, |l| {
        let reference = l.reference(&mut seen);
        let municipality = l.area(index, "municipality", AreaLevel::Municipality);
        let incident_type = l.text("incident_type", 100);
        let occurred_at = l.moment("occurred_at", false).flatten();
        let sent_at = l.moment("sent_at", false).flatten();
        if let (Some(o), Some(s)) = (occurred_at, sent_at)
            && s < o
        {
            l.fail("sent_at", "lies before occurred_at");
        }
        let recipients = l.count("recipients");
        let replies = l.count("replies");
        let relevant = l.count("relevant_replies");
        if let (Some(n), Some(r)) = (recipients, replies)
            && r > n
        {
            l.fail("replies", format!("{r} replies from {n} recipients"));
        }
        if let (Some(r), Some(rel)) = (replies, relevant)
            && rel > r
        {
            l.fail("relevant_replies", format!("{rel} relevant of {r} replies"));
        }
        if let (
            Some(reference),
            Some(municipality),
            Some(incident_type),
            Some(occurred_at),
            Some(sent_at),
            Some(recipients),
            Some(replies),
            Some(relevant_replies),
        ) = (reference, municipality, incident_type, occurred_at, sent_at, recipients, replies, relevant)
        {
            rows.push(HistoryEnquiry {
                reference,
                municipality,
                incident_type,
                occurred_at,
                sent_at,
                recipients,
                replies,
                relevant_replies,
            });
        }
    });
    if errors.is_empty() { Ok(rows) } else { Err(errors) }
}

/// Which file is imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryKind {
    Actions,
    Enquiries,
}

/// Checks the whole file, then stores it in one transaction (nothing on any error).
pub async fn import(
    store: &Store,
    index: &AreaIndex,
    kind: HistoryKind,
    input: impl Read,
    now: i64,
) -> Result<HistoryImported, HistoryError> {
    match kind {
        HistoryKind::Actions => {
            let rows = parse_actions(input, index).map_err(HistoryError::Invalid)?;
            Ok(store.import_history_actions(&rows, now).await?)
        }
        HistoryKind::Enquiries => {
            let rows = parse_enquiries(input, index).map_err(HistoryError::Invalid)?;
            Ok(store.import_history_enquiries(&rows, now).await?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_in_dutch_local_time_and_rfc3339() {
        let winter = parse_moment("2019-01-15 14:05").unwrap();
        assert_eq!(winter, DateTime::parse_from_rfc3339("2019-01-15T13:05:00Z").unwrap().timestamp_millis());
        let summer = parse_moment("2019-07-15 14:05:30").unwrap();
        assert_eq!(summer, DateTime::parse_from_rfc3339("2019-07-15T12:05:30Z").unwrap().timestamp_millis());
        assert_eq!(parse_moment("2019-07-15T14:05:00+02:00"), Some(summer - 30_000));
        for bad in ["", "15-07-2019", "2019-13-01 10:00", "yesterday", "1960-01-01 10:00"] {
            assert_eq!(parse_moment(bad), None, "{bad}");
        }
    }
}
