//! Finding a place from what a dispatcher types: an address (`Waalstraat 110 Utrecht`,
//! `3522 XT 110`), a postcode (PC6 or PC4), a street or place name, an area's name or code
//! (`Rivierenwijk`, `GM0344`), or a point pasted as `52.1561, 5.3878`. Offline: the address
//! book and the imported areas; nothing here asks another service.

use crate::address_book::AddressBook;
use buurtnet_domain::AreaLevel;
use buurtnet_domain::postcode::{HouseNumber, Postcode};
use buurtnet_geo::AreaIndex;
use geo::InteriorPoint;

/// Longest query read (characters); a longer one is refused.
pub const MAX_QUERY_CHARS: usize = 200;

/// One suggestion. `code` is the area's code where the suggestion is an area.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Suggestion {
    pub label: String,
    /// `address`, `postcode`, `street`, `place`, `area` or `point`.
    pub kind: &'static str,
    pub lat: f64,
    pub lon: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error("Type an address, postcode, street, place or area to search for.")]
    Empty,
    #[error("A search is at most 200 characters.")]
    TooLong,
}

/// The suggestions for `query`, best first, at most `limit`.
pub fn search(query: &str, book: Option<&AddressBook>, areas: &AreaIndex, limit: usize) -> Result<Vec<Suggestion>, SearchError> {
    let q = query.trim();
    if q.is_empty() {
        return Err(SearchError::Empty);
    }
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(SearchError::TooLong);
    }
    let mut out = Vec::new();
    if let Some(point) = point(q, areas) {
        out.push(point);
        return Ok(out);
    }
    if let Some(found) = postcode_search(q, book, areas, limit) {
        return Ok(found);
    }
    if let Some(level) = AreaLevel::of_code(&q.to_ascii_uppercase())
        && level != AreaLevel::Pc4
        && let Some(s) = area_suggestion(areas, &q.to_ascii_uppercase())
    {
        out.push(s);
        return Ok(out);
    }
    if let Some(book) = book {
        out.extend(address_search(q, book, limit));
    }
    if out.len() < limit {
        out.extend(name_search(q, book, areas, limit - out.len()));
    }
    out.truncate(limit);
    Ok(out)
}

/// `52.1561, 5.3878` (or with a space only) inside the Netherlands.
fn point(q: &str, areas: &AreaIndex) -> Option<Suggestion> {
    let mut parts = q.split(|c: char| c == ',' || c == ';' || c.is_whitespace()).filter(|p| !p.is_empty());
    let lat: f64 = parts.next()?.parse().ok()?;
    let lon: f64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !lat.is_finite() || !lon.is_finite() || !areas.in_netherlands(lat, lon) {
        return None;
    }
    Some(Suggestion { label: format!("{lat:.5}, {lon:.5}"), kind: "point", lat, lon, code: None })
}

fn area_suggestion(areas: &AreaIndex, code: &str) -> Option<Suggestion> {
    let a = areas.get(code)?;
    let p = a.geometry.interior_point()?;
    let label = match a.level {
        AreaLevel::Pc4 => format!("{} (postcode)", a.code),
        _ => format!("{} ({}, {})", a.name, a.level.as_str(), a.code),
    };
    let kind = if a.level == AreaLevel::Pc4 { "postcode" } else { "area" };
    Some(Suggestion { label, kind, lat: p.y(), lon: p.x(), code: Some(a.code.clone()) })
}

fn address_label(book: &AddressBook, i: usize) -> String {
    let f = book.entry(i);
    let pc = book.postcode(i);
    let pc = format!("{} {}", &pc[..4.min(pc.len())], &pc[4.min(pc.len())..]);
    match (f.street, f.city) {
        (Some(s), Some(c)) => format!("{s} {}, {pc} {c}", book.house_number(i)),
        (Some(s), None) => format!("{s} {}, {pc}", book.house_number(i)),
        _ => format!("{pc} {}", book.house_number(i)),
    }
}

fn address(book: &AddressBook, i: usize) -> Suggestion {
    let f = book.entry(i);
    Suggestion { label: address_label(book, i), kind: "address", lat: f.lat, lon: f.lon, code: None }
}

/// `3522XT`, `3522 xt 110`, `3522`: a PC6 (with a house number: that address), or a PC4 area.
fn postcode_search(q: &str, book: Option<&AddressBook>, areas: &AreaIndex, limit: usize) -> Option<Vec<Suggestion>> {
    let compact: String = q.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() == 4 && compact.bytes().all(|b| b.is_ascii_digit()) {
        return Some(area_suggestion(areas, &compact).into_iter().collect());
    }
    let head: String = compact.chars().take(6).collect();
    let pc = Postcode::parse(&head)?;
    let rest: String = compact.chars().skip(6).collect();
    let Some(book) = book else {
        return Some(area_suggestion(areas, pc.pc4()).into_iter().collect());
    };
    let range = book.in_postcode(&pc);
    if !rest.is_empty() {
        let house = HouseNumber::parse(&rest)?;
        let exact = book.get(&pc, &house).and_then(|_| range.clone().find(|i| book.house_number(*i) == house.as_str()));
        let found: Vec<usize> = match exact {
            Some(i) => vec![i],
            // The number without the letter or addition typed: every address with it.
            None => range.filter(|i| same_number(&book.house_number(*i), &house)).take(limit).collect(),
        };
        return Some(found.into_iter().map(|i| address(book, i)).take(limit).collect());
    }
    if range.is_empty() {
        return Some(area_suggestion(areas, pc.pc4()).into_iter().collect());
    }
    let (lat, lon) = middle(book, range.clone());
    let f = book.entry(range.start);
    let label = match (f.street, f.city) {
        (Some(s), Some(c)) => format!("{} ({s}, {c})", pc),
        _ => pc.to_string(),
    };
    Some(vec![Suggestion { label, kind: "postcode", lat, lon, code: None }])
}

/// Whether a stored house number has the number typed, when only a number was typed (`110`
/// finds `110A` and `110-2`; `110A` finds only itself).
fn same_number(stored: &str, typed: &HouseNumber) -> bool {
    let plain = typed.number().to_string();
    typed.as_str() == plain && stored.strip_prefix(&plain).is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()))
}

/// The mean point of some entries.
fn middle(book: &AddressBook, entries: impl Iterator<Item = usize>) -> (f64, f64) {
    let (mut lat, mut lon, mut n) = (0.0, 0.0, 0.0);
    for i in entries {
        let f = book.entry(i);
        lat += f.lat;
        lon += f.lon;
        n += 1.0;
    }
    if n == 0.0 { (0.0, 0.0) } else { (lat / n, lon / n) }
}

/// `Waalstraat 110 Utrecht`: a street, a house number and maybe a place; a misspelt street
/// (two edits at most) is tried when the name is not known.
fn address_search(q: &str, book: &AddressBook, limit: usize) -> Vec<Suggestion> {
    let words: Vec<&str> = q.split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty()).collect();
    let Some(at) = words.iter().position(|w| w.starts_with(|c: char| c.is_ascii_digit())) else { return Vec::new() };
    if at == 0 {
        return Vec::new();
    }
    let street = words[..at].join(" ");
    // The house number may be typed in two words (`110 a`) before the place.
    let mut number = words[at].to_string();
    let mut place_from = at + 1;
    if let Some(next) = words.get(at + 1)
        && next.len() == 1
        && next.chars().all(|c| c.is_ascii_alphabetic())
    {
        number.push_str(next);
        place_from += 1;
    }
    let Some(house) = HouseNumber::parse(&number) else { return Vec::new() };
    let place = words[place_from.min(words.len())..].join(" ").to_lowercase();
    let mut names = vec![street.clone()];
    if book.on_street(&street).is_empty() {
        names = book.streets_like(&street.to_lowercase(), 2, 3).into_iter().map(str::to_string).collect();
    }
    let mut out = Vec::new();
    for name in names {
        for &i in book.on_street(&name) {
            let i = i as usize;
            let f = book.entry(i);
            let place_ok = place.is_empty() || f.city.is_some_and(|c| c.to_lowercase().starts_with(&place));
            let hn = book.house_number(i);
            let number_ok = hn == house.as_str() || same_number(&hn, &house);
            if place_ok && number_ok {
                out.push(address(book, i));
            }
        }
    }
    // The exact house number first.
    out.sort_by_key(|s| !s.label.contains(&format!(" {} ", house.as_str())));
    out.truncate(limit);
    out
}

/// Areas, streets and places whose name starts with the query (areas by importance).
fn name_search(q: &str, book: Option<&AddressBook>, areas: &AreaIndex, limit: usize) -> Vec<Suggestion> {
    let lower = q.to_lowercase();
    let rank = |l: AreaLevel| match l {
        AreaLevel::Municipality => 0,
        AreaLevel::District => 1,
        AreaLevel::Neighbourhood => 2,
        _ => 9,
    };
    let mut matches: Vec<(u8, usize, &str)> = areas
        .areas()
        .iter()
        .filter(|a| rank(a.level) < 9)
        .filter_map(|a| {
            let name = a.name.to_lowercase();
            let how = if name == lower {
                0
            } else if name.starts_with(&lower) {
                1
            } else {
                return None;
            };
            Some((how, rank(a.level), a.code.as_str()))
        })
        .collect();
    matches.sort();
    let mut out: Vec<Suggestion> =
        matches.into_iter().filter_map(|(_, _, code)| area_suggestion(areas, code)).take(limit).collect();
    if let Some(book) = book {
        for (name, is_place) in book.names_starting(&lower, limit) {
            if out.len() >= limit {
                break;
            }
            if is_place {
                continue; // places are the municipalities' and districts' names above, mostly
            }
            let entries = book.on_street(name);
            // One suggestion per place the street runs through.
            let mut seen: Vec<&str> = Vec::new();
            for &i in entries {
                let f = book.entry(i as usize);
                let city = f.city.unwrap_or("");
                if seen.contains(&city) {
                    continue;
                }
                seen.push(city);
                let here = entries.iter().map(|&j| j as usize).filter(|&j| book.entry(j).city.unwrap_or("") == city);
                let (lat, lon) = middle(book, here);
                let label = if city.is_empty() { name.to_string() } else { format!("{name}, {city}") };
                out.push(Suggestion { label, kind: "street", lat, lon, code: None });
                if out.len() >= limit {
                    break;
                }
            }
        }
    }
    out
}
