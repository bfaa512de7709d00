//! Bulk import of participants from a municipality's existing list (CSV). All or nothing by
//! default: every line is checked first (fields, geocoding, duplicates inside the file and
//! against the database) and any bad line aborts the import naming its line and field.
//! `skip_invalid` imports the good participants and reports the bad lines.

use crate::services::participants::new_address;
use buurtnet_domain::contact::{Email, Phone};
use buurtnet_domain::registration::{AddressDraft, AddressLocation, ParticipantDraft, location_from_parts};
use buurtnet_domain::{AddressKind, Channel, ChannelSet, FieldErrors, Language, Topic, TopicSet};
use buurtnet_geo::AreaIndex;
use buurtnet_store::{NewContact, NewParticipant, Store};
use buurtnet_targeting::geocode::pc4_point;
use std::collections::HashMap;
use std::io::Read;

pub const COLUMNS: [&str; 11] =
    ["external_id", "email", "phone", "lat", "lon", "postcode", "house_number", "address_kind", "channels", "topics", "language"];

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LineError {
    pub line: u64,
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, field {}: {}", self.line, self.field, self.message)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub lines: u64,
    pub participants: u64,
    pub addresses: u64,
    pub rejected: Vec<LineError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file as a whole is unusable (not CSV, missing columns).
    #[error("{0}")]
    File(String),
    /// Some lines are bad; nothing was imported.
    #[error("{} line(s) are not valid; nothing was imported. First: {}", .0.len(), .0.first().map(|e| e.to_string()).unwrap_or_default())]
    Invalid(Vec<LineError>),
    #[error(transparent)]
    Store(#[from] buurtnet_store::StoreError),
}

#[derive(Debug, Clone, Copy)]
pub struct ImportOptions {
    pub verified: bool,
    pub skip_invalid: bool,
    /// `geocoder.nearest_area_within_m`: how far outside every outline a point may lie and
    /// still get the nearest areas (marked approximate).
    pub nearest_area_within_m: f64,
}

impl Default for ImportOptions {
    fn default() -> Self {
        let nearest_area_within_m = crate::config::GeocoderConfig::default().nearest_area_within_m;
        ImportOptions { verified: false, skip_invalid: false, nearest_area_within_m }
    }
}

/// Where the import is, for a progress bar: (stage, done, total).
pub type Progress<'a> = &'a (dyn Fn(&'static str, u64, u64) + Sync);

/// The offline geocoding table, in memory for bulk speed.
pub struct PointTable(HashMap<(String, String), (f64, f64)>);

impl PointTable {
    pub async fn load(store: &Store) -> Result<PointTable, ImportError> {
        let points = store.all_address_points().await?;
        Ok(PointTable(points.into_iter().map(|p| ((p.postcode, p.house_number), (p.lat, p.lon))).collect()))
    }
}

struct Row {
    line: u64,
    external_id: Option<String>,
    draft: ParticipantDraft,
    address: buurtnet_store::NewAddress,
}

fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split(';').map(str::trim).filter(|x| !x.is_empty())
}

fn parse_line(
    rec: &csv::StringRecord,
    cols: &[usize; 11],
    areas: &AreaIndex,
    points: &PointTable,
    nearest_area_within_m: f64,
) -> Result<(Option<String>, ParticipantDraft, buurtnet_store::NewAddress), FieldErrors> {
    let get = |i: usize| rec.get(cols[i]).map(str::trim).filter(|s| !s.is_empty());
    let mut errors = FieldErrors::new();
    let external_id = get(0).map(String::from);
    if external_id.as_ref().is_some_and(|e| e.len() > 100) {
        errors.add("external_id", "too_long", "At most 100 characters.");
    }
    let email = get(1).and_then(|s| {
        let e = Email::parse(s);
        if e.is_none() {
            errors.add("email", "invalid_email", "This is not a valid e-mail address.");
        }
        e
    });
    let phone = get(2).and_then(|s| {
        let p = Phone::parse(s);
        if p.is_none() {
            errors.add("phone", "invalid_phone", "This is not a valid phone number (e.g. +31612345678).");
        }
        p
    });
    let coord = |i: usize, name: &str, errors: &mut FieldErrors| {
        get(i).and_then(|s| match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                errors.add(name, "invalid_coordinate", "This is not a number.");
                None
            }
        })
    };
    let lat = coord(3, "lat", &mut errors);
    let lon = coord(4, "lon", &mut errors);
    let coords_bad = errors.iter().any(|e| e.field == "lat" || e.field == "lon");
    let location = if coords_bad { None } else { location_from_parts(get(5), get(6), lat, lon, "", &mut errors) };
    let kind = AddressKind::parse(get(7).unwrap_or("home"));
    if kind.is_none() {
        errors.add("address_kind", "invalid_address_kind", "Use home, work or other.");
    }
    let mut channels = ChannelSet::EMPTY;
    for c in split_list(get(8).unwrap_or("")) {
        match Channel::parse(c) {
            Some(c) => channels.insert(c),
            None => errors.add(
                "channels",
                "unknown_channel",
                format!("Unknown channel '{c}'; use push, sms, voice, email separated by ';'."),
            ),
        }
    }
    if channels.is_empty() && get(8).is_none() {
        errors.add("channels", "no_channels", "Give at least one channel (push;sms;voice;email).");
    }
    let topics: TopicSet = match get(9) {
        None => Topic::ALL.into_iter().collect(),
        Some(s) => {
            let mut set = TopicSet::default();
            for t in split_list(s) {
                match Topic::parse(t) {
                    Some(t) => set.insert(t),
                    None => {
                        errors.add("topics", "unknown_topic", format!("Unknown topic '{t}'; use urgent, enquiry, information."))
                    }
                }
            }
            set
        }
    };
    let language = match get(10) {
        None => Language::Nl,
        Some(s) => Language::parse(s).unwrap_or_else(|| {
            errors.add("language", "invalid_language", "Use nl or en.");
            Language::Nl
        }),
    };
    let (Some(location), Some(kind)) = (location, kind) else {
        return Err(errors);
    };
    let (plat, plon, approximate) = match &location {
        AddressLocation::Point { lat, lon } => (*lat, *lon, false),
        AddressLocation::Postcode { postcode, house_number } => {
            match points.0.get(&(postcode.as_str().to_string(), house_number.as_str().to_string())) {
                Some((lat, lon)) => (*lat, *lon, false),
                None => match pc4_point(areas, postcode.pc4()) {
                    Some(g) => (g.lat, g.lon, true),
                    None => {
                        errors.add("postcode", "address_not_found", "We cannot find this postcode.");
                        return Err(errors);
                    }
                },
            }
        }
    };
    let at = areas.locate_near(plat, plon, nearest_area_within_m);
    if !areas.is_empty() && !at.in_netherlands() {
        errors.add(
            if matches!(location, AddressLocation::Point { .. }) { "lat" } else { "postcode" },
            "outside_netherlands",
            "This point is not in a Dutch municipality.",
        );
    }
    let draft_address = AddressDraft { kind, location, channels, quiet_hours: Vec::new() };
    let address = new_address(&draft_address, plat, plon, approximate, &at);
    let draft =
        ParticipantDraft { external_id: external_id.clone(), email, phone, language, topics, addresses: vec![draft_address] };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok((external_id, draft, address))
}

/// Reads, checks and (when allowed) imports the file.
pub async fn import_csv<R: Read + Send + 'static>(
    store: &Store,
    areas: std::sync::Arc<AreaIndex>,
    input: R,
    total_bytes: u64,
    options: ImportOptions,
    now_ms: i64,
    progress: Progress<'_>,
) -> Result<ImportReport, ImportError> {
    let points = PointTable::load(store).await?;
    // Parsing and locating is CPU work: keep it off the async threads.
    let (rows, mut rejected, lines) = {
        let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(input);
        let headers = reader.headers().map_err(|e| ImportError::File(format!("cannot read the header row: {e}")))?.clone();
        let mut cols = [0usize; 11];
        for (i, name) in COLUMNS.iter().enumerate() {
            cols[i] = headers.iter().position(|h| h.trim_start_matches('\u{feff}') == *name).ok_or_else(|| {
                ImportError::File(format!("line 1: the header has no column '{name}' (expected: {})", COLUMNS.join(",")))
            })?;
        }
        if let Some(extra) = headers.iter().find(|h| !COLUMNS.contains(&h.trim_start_matches('\u{feff}'))) {
            return Err(ImportError::File(format!("line 1: unknown column '{extra}' (expected: {})", COLUMNS.join(","))));
        }
        let mut rows = Vec::new();
        let mut rejected = Vec::new();
        let mut lines = 0u64;
        let mut rec = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(lines + 2);
                    return Err(ImportError::File(format!("line {line}: not valid CSV: {e}")));
                }
            }
            lines += 1;
            let line = rec.position().map(|p| p.line()).unwrap_or(lines + 1);
            match parse_line(&rec, &cols, &areas, &points, options.nearest_area_within_m) {
                Ok((external_id, draft, address)) => rows.push(Row { line, external_id, draft, address }),
                Err(errs) => rejected.extend(errs.iter().map(|e| LineError {
                    line,
                    field: e.field.trim_start_matches("addresses[0].").to_string(),
                    message: e.message.clone(),
                })),
            }
            if lines.is_multiple_of(10_000) {
                progress("checking", rec.position().map(|p| p.byte()).unwrap_or(0), total_bytes);
            }
        }
        (rows, rejected, lines)
    };
    progress("checking", total_bytes, total_bytes);

    // Group lines into participants (same external_id = same person with several addresses).
    let mut people: Vec<(Vec<u64>, NewParticipant)> = Vec::new();
    let mut by_external: HashMap<String, usize> = HashMap::new();
    let mut seen_contacts: HashMap<(String, String), u64> = HashMap::new();
    let mut bad_people = std::collections::HashSet::new();
    for row in rows {
        if let Some(ext) = &row.external_id {
            if let Some(&i) = by_external.get(ext) {
                let p = &mut people[i].1;
                let same = |kind: &str, v: Option<&str>| {
                    v.is_none() || p.contacts.iter().any(|c| c.kind == kind && Some(c.value.as_str()) == v)
                };
                if !same("email", row.draft.email.as_ref().map(|e| e.as_str()))
                    || !same("phone", row.draft.phone.as_ref().map(|p| p.as_str()))
                {
                    rejected.push(LineError {
                        line: row.line,
                        field: "external_id".into(),
                        message: format!("'{ext}' appears earlier with another e-mail address or phone number."),
                    });
                    bad_people.insert(i);
                    continue;
                }
                p.addresses.push(row.address);
                people[i].0.push(row.line);
                continue;
            }
            by_external.insert(ext.clone(), people.len());
        }
        let mut contacts = Vec::new();
        let verified_at = options.verified.then_some(now_ms);
        let mut dups = Vec::new();
        if let Some(e) = &row.draft.email {
            if let Some(first) = seen_contacts.insert(("email".into(), e.as_str().into()), row.line) {
                dups.push(("email", first));
            }
            contacts.push(NewContact { kind: "email".into(), value: e.as_str().into(), mobile: false, verified_at });
        }
        if let Some(ph) = &row.draft.phone {
            if let Some(first) = seen_contacts.insert(("phone".into(), ph.as_str().into()), row.line) {
                dups.push(("phone", first));
            }
            contacts.push(NewContact { kind: "phone".into(), value: ph.as_str().into(), mobile: ph.is_mobile(), verified_at });
        }
        if !dups.is_empty() {
            for (field, first) in dups {
                rejected.push(LineError {
                    line: row.line,
                    field: field.into(),
                    message: format!("Also on line {first}; one person per {field}."),
                });
            }
            continue;
        }
        people.push((
            vec![row.line],
            NewParticipant {
                external_id: row.external_id,
                language: row.draft.language.as_str().into(),
                topics: row.draft.topics.bits(),
                age_confirmed: true,
                paused: false,
                municipality_code: row.address.municipality_code.clone(),
                created_at: now_ms,
                contacts,
                addresses: vec![row.address],
            },
        ));
    }

    // Channels need their contact points; checked per person, since a person's later lines
    // (more addresses) need not repeat the e-mail address or phone number.
    for (i, (lines, p)) in people.iter().enumerate() {
        let email = p.contacts.iter().any(|c| c.kind == "email");
        let phone = p.contacts.iter().find(|c| c.kind == "phone");
        if p.contacts.is_empty() {
            rejected.push(LineError {
                line: lines[0],
                field: "email".into(),
                message: "Give an e-mail address or a phone number.".into(),
            });
            bad_people.insert(i);
        }
        for (a, line) in p.addresses.iter().zip(lines) {
            let ch = ChannelSet::from_bits(a.channels);
            let phone_kind = phone.map(|p| buurtnet_domain::channel::PhoneKind::of(p.mobile));
            let problem = ch.iter().find_map(|c| c.missing_contact(email, phone_kind)).map(|m| m.message());
            if let Some(message) = problem {
                rejected.push(LineError { line: *line, field: "channels".into(), message: message.into() });
                bad_people.insert(i);
            }
        }
    }

    // Against the database.
    for kind in ["email", "phone"] {
        let values: Vec<String> =
            people.iter().flat_map(|(_, p)| p.contacts.iter().filter(|c| c.kind == kind).map(|c| c.value.clone())).collect();
        let existing: std::collections::HashSet<String> = store.existing_contacts(kind, &values).await?.into_iter().collect();
        for (i, (lines, p)) in people.iter().enumerate() {
            if p.contacts.iter().any(|c| c.kind == kind && existing.contains(&c.value)) {
                rejected.push(LineError {
                    line: lines[0],
                    field: kind.into(),
                    message: format!("This {kind} is already registered."),
                });
                bad_people.insert(i);
            }
        }
    }
    let ext_ids: Vec<String> = people.iter().filter_map(|(_, p)| p.external_id.clone()).collect();
    let existing: std::collections::HashSet<String> = store.existing_external_ids(&ext_ids).await?.into_iter().collect();
    for (i, (lines, p)) in people.iter().enumerate() {
        if p.external_id.as_ref().is_some_and(|e| existing.contains(e)) {
            rejected.push(LineError {
                line: lines[0],
                field: "external_id".into(),
                message: "This external_id was imported before.".into(),
            });
            bad_people.insert(i);
        }
    }
    rejected.sort_by_key(|e| e.line);
    if !rejected.is_empty() && !options.skip_invalid {
        return Err(ImportError::Invalid(rejected));
    }

    let good: Vec<NewParticipant> =
        people.into_iter().enumerate().filter(|(i, _)| !bad_people.contains(i)).map(|(_, (_, p))| p).collect();
    let total = good.len() as u64;
    let addresses = good.iter().map(|p| p.addresses.len() as u64).sum();
    store.insert_participants_with_progress(&good, &mut |done| progress("writing", done, total)).await?;
    Ok(ImportReport { lines, participants: total, addresses, rejected })
}
