//! The address table in memory: exact postcode + house number look-ups in well under a
//! microsecond, for the geocoder (and the address search). About 24 bytes an address: the
//! whole country's 10 million addresses take some 240 MB.
//!
//! Each address is one 64-bit key, kept sorted: the postcode in the top 24 bits (the four
//! digits, then the two letters), the number in the next 17, and the house number's letter and
//! addition (interned: `""`, `A`, `-2`, `A2`, … a few thousand distinct ones nationally) in the
//! last 23. A look-up is a binary search. Every address of one postcode is one run of keys, so
//! the postcode's addresses (the search's suggestions) are a range.

use buurtnet_domain::postcode::{HouseNumber, Postcode};
use std::collections::HashMap;

const NUMBER_BITS: u32 = 17;
const ADDITION_BITS: u32 = 23;
const NONE: u32 = u32::MAX;

/// An address found: its point (WGS84) and street and place where known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Found<'a> {
    pub lat: f64,
    pub lon: f64,
    pub street: Option<&'a str>,
    pub city: Option<&'a str>,
}

#[derive(Debug, Default)]
pub struct AddressBook {
    keys: Vec<u64>,
    /// Latitude and longitude in 1e-7 degrees (about 1 cm), in key order.
    points: Vec<[i32; 2]>,
    /// Street and place as indexes into `names` (`NONE` when unknown), in key order.
    places: Vec<[u32; 2]>,
    names: Vec<String>,
    additions: HashMap<String, u32>,
    /// The additions by id (the reverse of `additions`).
    addition_list: Vec<String>,
    /// Each street name's addresses (indexes in key order), by the name's id.
    by_street: HashMap<u32, Vec<u32>>,
    /// Street and place names, lower case, sorted: (name, id, whether it is a place).
    sorted_names: Vec<(String, u32, bool)>,
}

/// The postcode as 24 bits: its number (1000–9999) times 1024, plus its letters.
fn postcode_bits(p: &Postcode) -> Option<u64> {
    let s = p.as_str().as_bytes();
    let number: u64 = p.pc4().parse().ok()?;
    let letter = |b: u8| b.checked_sub(b'A').map(u64::from).filter(|v| *v < 26);
    Some((number << 10) | (letter(*s.get(4)?)? * 26 + letter(*s.get(5)?)?))
}

/// The house number split into its number and the rest (`12A2` → 12, `A2`; `12-2` → 12, `-2`).
fn split_house(h: &HouseNumber) -> (u64, &str) {
    let s = h.as_str();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    (u64::from(h.number()), &s[digits..])
}

fn key(postcode: u64, number: u64, addition: u32) -> u64 {
    (postcode << (NUMBER_BITS + ADDITION_BITS)) | (number << ADDITION_BITS) | u64::from(addition)
}

fn degrees(v: f64) -> i32 {
    (v * 1e7).round() as i32
}

/// Collects addresses in any order; [`AddressBookBuilder::build`] sorts them.
#[derive(Default)]
pub struct AddressBookBuilder {
    entries: Vec<(u64, [i32; 2], [u32; 2])>,
    names: HashMap<String, u32>,
    name_list: Vec<String>,
    additions: HashMap<String, u32>,
}

impl AddressBookBuilder {
    pub fn with_capacity(n: usize) -> AddressBookBuilder {
        AddressBookBuilder { entries: Vec::with_capacity(n), ..Default::default() }
    }

    fn name(&mut self, name: Option<&str>) -> u32 {
        let Some(name) = name.filter(|n| !n.is_empty()) else { return NONE };
        if let Some(id) = self.names.get(name) {
            return *id;
        }
        let id = u32::try_from(self.name_list.len()).unwrap_or(NONE);
        self.names.insert(name.to_string(), id);
        self.name_list.push(name.to_string());
        id
    }

    /// Adds an address from its stored texts; one that does not parse (or does not fit the
    /// key) is left out and `false` returned. A later address with the same key replaces an
    /// earlier one.
    pub fn add(
        &mut self,
        postcode: &str,
        house_number: &str,
        street: Option<&str>,
        city: Option<&str>,
        lat: f64,
        lon: f64,
    ) -> bool {
        let (Some(p), Some(h)) = (Postcode::parse(postcode), HouseNumber::parse(house_number)) else { return false };
        let Some(pc) = postcode_bits(&p) else { return false };
        let (number, rest) = split_house(&h);
        let next = u32::try_from(self.additions.len()).unwrap_or(NONE);
        let addition = *self.additions.entry(rest.to_string()).or_insert(next);
        if number >= 1 << NUMBER_BITS || u64::from(addition) >= 1 << ADDITION_BITS || !lat.is_finite() || !lon.is_finite() {
            return false;
        }
        let places = [self.name(street), self.name(city)];
        self.entries.push((key(pc, number, addition), [degrees(lat), degrees(lon)], places));
        true
    }

    pub fn build(mut self) -> AddressBook {
        // Stable, so that of equal keys the last added is the last of its run and is kept.
        self.entries.sort_by_key(|e| e.0);
        let mut entries: Vec<(u64, [i32; 2], [u32; 2])> = Vec::with_capacity(self.entries.len());
        for e in self.entries {
            match entries.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => entries.push(e),
            }
        }
        let mut by_street: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut is_street = vec![false; self.name_list.len()];
        let mut is_place = vec![false; self.name_list.len()];
        for (i, e) in entries.iter().enumerate() {
            let [street, city] = e.2;
            if let Some(flag) = is_street.get_mut(street as usize) {
                *flag = true;
                by_street.entry(street).or_default().push(u32::try_from(i).unwrap_or(u32::MAX));
            }
            if let Some(flag) = is_place.get_mut(city as usize) {
                *flag = true;
            }
        }
        let mut sorted_names: Vec<(String, u32, bool)> = Vec::new();
        for (id, name) in self.name_list.iter().enumerate() {
            let id = u32::try_from(id).unwrap_or(NONE);
            if is_street[id as usize] {
                sorted_names.push((name.to_lowercase(), id, false));
            }
            if is_place[id as usize] {
                sorted_names.push((name.to_lowercase(), id, true));
            }
        }
        sorted_names.sort();
        let mut addition_list = vec![String::new(); self.additions.len()];
        for (a, id) in &self.additions {
            if let Some(slot) = addition_list.get_mut(*id as usize) {
                slot.clone_from(a);
            }
        }
        AddressBook {
            keys: entries.iter().map(|e| e.0).collect(),
            points: entries.iter().map(|e| e.1).collect(),
            places: entries.iter().map(|e| e.2).collect(),
            names: self.name_list,
            additions: self.additions,
            addition_list,
            by_street,
            sorted_names,
        }
    }
}

/// Address points read from the database per page while the book loads.
const LOAD_PAGE: i64 = 50_000;

impl AddressBook {
    /// Reads the whole address table, a page at a time.
    pub async fn load(store: &buurtnet_store::Store) -> Result<AddressBook, buurtnet_store::StoreError> {
        let mut b = AddressBookBuilder::default();
        let mut after: Option<(String, String)> = None;
        loop {
            let page = store.address_points_after(after.as_ref().map(|(p, h)| (p.as_str(), h.as_str())), LOAD_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some((last.postcode.clone(), last.house_number.clone()));
            for a in &page {
                b.add(&a.postcode, &a.house_number, a.street.as_deref(), a.city.as_deref(), a.lat, a.lon);
            }
        }
        Ok(tokio::task::spawn_blocking(move || b.build()).await.unwrap_or_default())
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The bytes the book holds (its arrays and names), for the metrics and the benchmark.
    pub fn heap_bytes(&self) -> usize {
        self.keys.capacity() * 8
            + self.points.capacity() * 8
            + self.places.capacity() * 8
            + self.names.iter().map(|n| n.capacity() + 24).sum::<usize>()
            + self.additions.keys().map(|a| a.capacity() + 40).sum::<usize>()
    }

    fn found(&self, i: usize) -> Found<'_> {
        let [lat, lon] = self.points[i];
        let name = |id: u32| if id == NONE { None } else { self.names.get(id as usize).map(String::as_str) };
        let [street, city] = self.places[i];
        Found { lat: f64::from(lat) / 1e7, lon: f64::from(lon) / 1e7, street: name(street), city: name(city) }
    }

    /// The address with exactly this postcode and house number.
    pub fn get(&self, postcode: &Postcode, house: &HouseNumber) -> Option<Found<'_>> {
        let pc = postcode_bits(postcode)?;
        let (number, rest) = split_house(house);
        let addition = *self.additions.get(rest)?;
        let i = self.keys.binary_search(&key(pc, number, addition)).ok()?;
        Some(self.found(i))
    }

    /// The house number of entry `i` as stored (`110`, `110A`, `110-2`).
    pub fn house_number(&self, i: usize) -> String {
        let k = self.keys[i];
        let number = (k >> ADDITION_BITS) & ((1 << NUMBER_BITS) - 1);
        let addition = self.addition_list.get((k & ((1 << ADDITION_BITS) - 1)) as usize).map_or("", String::as_str);
        format!("{number}{addition}")
    }

    /// The postcode of entry `i` (`3522XT`).
    pub fn postcode(&self, i: usize) -> String {
        let pc = self.keys[i] >> (NUMBER_BITS + ADDITION_BITS);
        let (number, letters) = (pc >> 10, pc & 1023);
        let letter = |v: u64| char::from(b'A' + u8::try_from(v).unwrap_or(25));
        format!("{number}{}{}", letter(letters / 26), letter(letters % 26))
    }

    /// Entry `i`'s point, street and place.
    pub fn entry(&self, i: usize) -> Found<'_> {
        self.found(i)
    }

    /// The entries (in key order) of a postcode.
    pub fn in_postcode(&self, postcode: &Postcode) -> std::ops::Range<usize> {
        let Some(pc) = postcode_bits(postcode) else { return 0..0 };
        let from = self.keys.partition_point(|k| *k < key(pc, 0, 0));
        let to = self.keys.partition_point(|k| *k < key(pc + 1, 0, 0));
        from..to
    }

    /// The entries on a street (by its exact name, any case).
    pub fn on_street(&self, name: &str) -> &[u32] {
        let lower = name.to_lowercase();
        let from = self.sorted_names.partition_point(|(n, _, _)| n.as_str() < lower.as_str());
        self.sorted_names[from..]
            .iter()
            .take_while(|(n, _, _)| *n == lower)
            .find(|(_, _, place)| !place)
            .and_then(|(_, id, _)| self.by_street.get(id))
            .map_or(&[], Vec::as_slice)
    }

    /// Street and place names starting with `prefix` (lower case), at most `limit`:
    /// (the name as written, whether it is a place).
    pub fn names_starting(&self, prefix: &str, limit: usize) -> Vec<(&str, bool)> {
        let from = self.sorted_names.partition_point(|(n, _, _)| n.as_str() < prefix);
        self.sorted_names[from..]
            .iter()
            .take_while(|(n, _, _)| n.starts_with(prefix))
            .take(limit)
            .filter_map(|(_, id, place)| self.names.get(*id as usize).map(|n| (n.as_str(), *place)))
            .collect()
    }

    /// Street names within `distance` edits of `name` (lower case), closest first, at most `limit`.
    pub fn streets_like(&self, name: &str, distance: usize, limit: usize) -> Vec<&str> {
        let mut found: Vec<(usize, &str)> = self
            .sorted_names
            .iter()
            .filter(|(n, _, place)| !place && n.len().abs_diff(name.len()) <= distance)
            .filter_map(|(n, id, _)| {
                let d = strsim::levenshtein(n, name);
                (d <= distance).then(|| self.names.get(*id as usize).map(|s| (d, s.as_str()))).flatten()
            })
            .collect();
        found.sort();
        found.into_iter().take(limit).map(|(_, n)| n).collect()
    }

    /// How many addresses carry this postcode (a range of keys).
    pub fn count_in(&self, postcode: &Postcode) -> usize {
        self.in_postcode(postcode).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pc(s: &str) -> Postcode {
        Postcode::parse(s).unwrap()
    }

    fn hn(s: &str) -> HouseNumber {
        HouseNumber::parse(s).unwrap()
    }

    #[test]
    fn exact_look_ups_and_postcode_ranges() {
        let mut b = AddressBookBuilder::default();
        assert!(b.add("3522XT", "110", Some("Waalstraat"), Some("Utrecht"), 52.0781234, 5.1234567));
        assert!(b.add("3522XT", "110A", Some("Waalstraat"), Some("Utrecht"), 52.0782, 5.1235));
        assert!(b.add("3522XT", "110-2", None, None, 52.0783, 5.1236));
        assert!(b.add("3522XU", "1", Some("Maasstraat"), Some("Utrecht"), 52.08, 5.12));
        assert!(b.add("9999ZZ", "99999ZZZZZZ", None, None, 53.0, 6.0));
        // The same address again: the later one counts.
        assert!(b.add("3522 xt", "110", Some("Waalstraat"), Some("Utrecht"), 52.0781235, 5.1234567));
        assert!(!b.add("3522", "1", None, None, 52.0, 5.0));
        assert!(!b.add("3522XT", "0", None, None, 52.0, 5.0));
        assert!(!b.add("3522XT", "2", None, None, f64::NAN, 5.0));
        let book = b.build();
        assert_eq!(book.len(), 5);
        let f = book.get(&pc("3522XT"), &hn("110")).unwrap();
        assert_eq!((f.lat, f.lon, f.street, f.city), (52.0781235, 5.1234567, Some("Waalstraat"), Some("Utrecht")));
        assert_eq!(book.get(&pc("3522XT"), &hn("110a")).unwrap().lat, 52.0782);
        assert_eq!(book.get(&pc("3522XT"), &hn("110-2")).unwrap().street, None);
        assert!(book.get(&pc("3522XT"), &hn("110B")).is_none());
        assert!(book.get(&pc("3522XT"), &hn("111")).is_none());
        assert!(book.get(&pc("3522XV"), &hn("110")).is_none());
        assert!(book.get(&pc("9999ZZ"), &hn("99999zzzzzz")).is_some());
        assert_eq!(book.count_in(&pc("3522XT")), 3);
        assert_eq!(book.count_in(&pc("3522XU")), 1);
        assert_eq!(book.count_in(&pc("1000AA")), 0);
        assert!(book.heap_bytes() > 0);
    }
}
