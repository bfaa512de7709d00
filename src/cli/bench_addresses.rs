//! `buurtnet bench addresses`: exact postcode + house number look-ups in the in-memory address
//! book on one core, and the same look-ups in the SQLite address table, side by side in one run.

use buurtnet_domain::postcode::{HouseNumber, Postcode};
use buurtnet_store::{AddressPoint, ConnectOptions, Store};
use buurtnet_targeting::address_book::{AddressBook, AddressBookBuilder};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Instant;

/// One synthetic address: postcode, house number (with a letter or addition now and then) and
/// a point in the Netherlands.
fn address(rng: &mut StdRng) -> (String, String, f64, f64) {
    let letters = |rng: &mut StdRng| (b'A' + rng.random_range(0..26u8)) as char;
    let pc = format!("{}{}{}", rng.random_range(1000..10_000u32), letters(rng), letters(rng));
    let number = rng.random_range(1..400u32);
    let house = match rng.random_range(0..100u32) {
        0..10 => format!("{number}{}", (b'A' + rng.random_range(0..4u8)) as char),
        10..15 => format!("{number}-{}", rng.random_range(1..5u32)),
        _ => number.to_string(),
    };
    (pc, house, rng.random_range(50.8..53.5), rng.random_range(3.4..7.2))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Queries: every other one an address of the book, the rest a number no address has.
fn queries(sample: &[(Postcode, HouseNumber)], n: usize, rng: &mut StdRng) -> Vec<(Postcode, HouseNumber)> {
    (0..n)
        .filter_map(|i| {
            let (pc, house) = sample.get(rng.random_range(0..sample.len().max(1)))?;
            if i % 2 == 0 {
                Some((pc.clone(), house.clone()))
            } else {
                Some((pc.clone(), HouseNumber::parse(&(house.number() + 1000).to_string())?))
            }
        })
        .collect()
}

fn book_rounds(book: &AddressBook, qs: &[(Postcode, HouseNumber)]) -> (Vec<f64>, usize) {
    let mut rates = Vec::new();
    let mut hits = 0;
    for _ in 0..5 {
        let t = Instant::now();
        hits = qs.iter().filter(|(p, h)| book.get(p, h).is_some()).count();
        rates.push(qs.len() as f64 / t.elapsed().as_secs_f64());
    }
    (rates, hits)
}

pub async fn bench_addresses(addresses: usize, table_addresses: usize, lookups: usize) -> anyhow::Result<()> {
    anyhow::ensure!(addresses > 0 && lookups > 0, "--addresses and --lookups must be above 0");
    let table_addresses = table_addresses.min(addresses);
    // The book: built on one core from generated texts (as it is from the table's rows).
    let built = Instant::now();
    let (book, sample) = tokio::task::spawn_blocking(move || {
        let mut rng = StdRng::seed_from_u64(7);
        let mut b = AddressBookBuilder::with_capacity(addresses);
        let mut sample = Vec::new();
        let every = (addresses / 1_000_000).max(1);
        for i in 0..addresses {
            let (pc, house, lat, lon) = address(&mut rng);
            b.add(&pc, &house, Some("Straat"), Some("Plaats"), lat, lon);
            if i % every == 0
                && let (Some(p), Some(h)) = (Postcode::parse(&pc), HouseNumber::parse(&house))
            {
                sample.push((p, h));
            }
        }
        (b.build(), sample)
    })
    .await?;
    let build_s = built.elapsed().as_secs_f64();
    println!(
        "address book: {} addresses (of {addresses} generated; the rest repeated a postcode and number) built in {build_s:.1} s, {} MB",
        book.len(),
        book.heap_bytes() / 1_000_000
    );
    let mut rng = StdRng::seed_from_u64(11);
    let qs = queries(&sample, lookups, &mut rng);
    let (rates, hits) = tokio::task::spawn_blocking(move || {
        let r = book_rounds(&book, &qs);
        drop(book);
        r
    })
    .await?;
    let book_rate = median(rates.clone());
    println!(
        "book look-ups, one core: median {:.0}/s over 5 rounds of {lookups} ({hits} found each round); rounds {:?}",
        book_rate,
        rates.iter().map(|r| format!("{:.0}", r)).collect::<Vec<_>>()
    );

    // The SQLite table with the first `table_addresses` of the same addresses.
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("addresses.db").display());
    let store = Store::connect(&url, &ConnectOptions { max_connections: 1, ..ConnectOptions::default() }).await?;
    store.migrate().await?;
    let mut rng = StdRng::seed_from_u64(7);
    let mut page = std::collections::BTreeMap::new();
    let mut stored = Vec::new();
    for i in 0..table_addresses {
        let (pc, house, lat, lon) = address(&mut rng);
        if let (Some(p), Some(h)) = (Postcode::parse(&pc), HouseNumber::parse(&house)) {
            if i % 50 == 0 {
                stored.push((p.clone(), h.clone()));
            }
            let point = AddressPoint {
                postcode: p.as_str().into(),
                house_number: h.as_str().into(),
                street: Some("Straat".into()),
                city: Some("Plaats".into()),
                lat,
                lon,
            };
            page.insert((point.postcode.clone(), point.house_number.clone()), point);
        }
        if page.len() >= 20_000 || i + 1 == table_addresses {
            store.upsert_address_points(&std::mem::take(&mut page).into_values().collect::<Vec<_>>()).await?;
        }
    }
    let sql_lookups = 20_000.min(lookups);
    let qs = queries(&stored, sql_lookups, &mut rng);
    let mut sql_rates = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        for (p, h) in &qs {
            store.address_point(p.as_str(), h.as_str()).await?;
        }
        sql_rates.push(qs.len() as f64 / t.elapsed().as_secs_f64());
    }
    store.close().await;
    let sql_rate = median(sql_rates);
    println!(
        "SQLite table ({table_addresses} generated addresses), one query at a time: median {sql_rate:.0}/s over 3 rounds of {sql_lookups}"
    );
    println!("book ÷ table: {:.0}×", book_rate / sql_rate.max(1e-9));
    println!(
        "{}",
        serde_json::json!({"addresses": addresses, "build_s": build_s, "book_lookups_per_s": book_rate,
            "table_addresses": table_addresses, "table_lookups_per_s": sql_rate})
    );
    Ok(())
}
