//! The place search behind the map's search field, on the real CBS areas and the example
//! address table (OpenStreetMap's addresses of Utrecht's Rivierenwijk).

use crate::common::{geodata, oracle_index};
use buurtnet_targeting::address_book::{AddressBook, AddressBookBuilder};
use buurtnet_targeting::geography::{ADDRESS_POINTS_FILE, read_address_points};
use buurtnet_targeting::place_search::{SearchError, Suggestion, search};

fn book() -> AddressBook {
    let mut b = AddressBookBuilder::default();
    for p in read_address_points(&geodata().join(ADDRESS_POINTS_FILE)).unwrap() {
        b.add(&p.postcode, &p.house_number, p.street.as_deref(), p.city.as_deref(), p.lat, p.lon);
    }
    b.build()
}

fn find(q: &str) -> Vec<Suggestion> {
    search(q, Some(&book()), oracle_index(), 8).unwrap_or_else(|e| panic!("{q}: {e}"))
}

#[test]
fn every_kind_of_input_finds_its_place() {
    let index = oracle_index();
    // An address, as written or by postcode and number.
    for q in ["Waalstraat 110 Utrecht", "waalstraat 110", "3522 ST 110", "3522st110"] {
        let s = find(q);
        assert_eq!(
            s.first().map(|s| (s.kind, s.label.as_str())),
            Some(("address", "Waalstraat 110, 3522 ST Utrecht")),
            "{q}: {s:?}"
        );
        let at = index.locate(s[0].lat, s[0].lon);
        assert_eq!(at.municipality.as_deref(), Some("GM0344"), "{q}");
    }
    // A misspelt street still finds it.
    let s = find("Waalstrat 110 Utrecht");
    assert_eq!(s.first().map(|s| s.label.as_str()), Some("Waalstraat 110, 3522 ST Utrecht"), "{s:?}");
    // PC6 and PC4.
    let s = find("3522 ST");
    assert_eq!((s.len(), s[0].kind), (1, "postcode"), "{s:?}");
    assert!(s[0].label.starts_with("3522 ST (Waalstraat, Utrecht)"), "{s:?}");
    let s = find("3522");
    assert_eq!((s[0].kind, s[0].code.as_deref()), ("postcode", Some("3522")), "{s:?}");
    // A street without a number: the street in its place.
    let s = find("Waalstr");
    assert!(s.iter().any(|s| s.kind == "street" && s.label == "Waalstraat, Utrecht"), "{s:?}");
    // Areas by name and by code.
    let s = find("Utrecht");
    assert_eq!((s[0].kind, s[0].code.as_deref()), ("area", Some("GM0344")), "{s:?}");
    let s = find("gm0307");
    assert_eq!((s.len(), s[0].code.as_deref()), (1, Some("GM0307")), "{s:?}");
    assert!(s[0].label.starts_with("Amersfoort"), "{s:?}");
    // A pasted point inside the country, and one in the sea (not a point then).
    let s = find("52.1561, 5.3878");
    assert_eq!((s.len(), s[0].kind, s[0].lat, s[0].lon), (1, "point", 52.1561, 5.3878), "{s:?}");
    assert!(find("53.9, 3.0").iter().all(|s| s.kind != "point"));
}

#[test]
fn bad_queries_are_refused_or_find_nothing() {
    let b = book();
    assert_eq!(search("   ", Some(&b), oracle_index(), 8), Err(SearchError::Empty));
    let garbage: String = "x%\u{0}<script>é".chars().cycle().take(1000).collect();
    assert_eq!(search(&garbage, Some(&b), oracle_index(), 8), Err(SearchError::TooLong));
    assert!(find("Qqqqzzz 12345").is_empty());
    assert!(find("9999 ZZ 1").is_empty() || find("9999 ZZ 1").iter().all(|s| s.kind != "address"));
    // Without an address book, areas are still found.
    let s = search("Amersfoort", None, oracle_index(), 8).unwrap();
    assert_eq!(s[0].code.as_deref(), Some("GM0307"), "{s:?}");
}
