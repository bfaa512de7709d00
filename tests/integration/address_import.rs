//! `buurtnet import-addresses` on a GeoPackage that the test writes in the layout of PDOK's BAG
//! GeoPackage (layer `verblijfsobject`, points in RD New with postcode, huisnummer, huisletter,
//! toevoeging, openbare ruimte and woonplaats), and `--download` from a local server.

use crate::common::{Backend, TestApp, fresh_database, geodata, oracle_index};
use crate::gpkg_import::{buurtnet, new_gpkg, pdok_server};
use crate::on_both_backends;
use buurtnet_domain::postcode::{HouseNumber, Postcode};
use buurtnet_geo::rd::RdToWgs84;
use buurtnet_store::{ConnectOptions, Store};
use sqlx::Connection;
use std::path::Path;

on_both_backends!(official_addresses_are_imported_within_an_area_and_again_unchanged, download_resumes_and_imports);

/// One verblijfsobject: postcode, huisnummer, huisletter, toevoeging, street, place, RD point.
type Row = (
    Option<&'static str>,
    Option<i64>,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
    &'static str,
    Option<(f64, f64)>,
);

/// Rivierenwijk, Utrecht (GM0344), and the centre of Amersfoort (GM0307), in RD New.
const UTRECHT: (f64, f64) = (136_420.0, 454_350.0);
const AMERSFOORT: (f64, f64) = (155_000.0, 463_000.0);

fn rows() -> Vec<Row> {
    vec![
        (Some("3522 XT"), Some(110), Some("a"), None, "Waalstraat", "Utrecht", Some(UTRECHT)),
        (Some("3522XT"), Some(110), None, Some("2"), "Waalstraat", "Utrecht", Some((UTRECHT.0 + 15.0, UTRECHT.1))),
        (Some("3522XT"), Some(112), Some("B"), Some("3"), "Waalstraat", "Utrecht", Some((UTRECHT.0 + 30.0, UTRECHT.1))),
        (Some("3811AA"), Some(1), None, None, "Hof", "Amersfoort", Some(AMERSFOORT)),
        (Some("12345"), Some(4), None, None, "Nergensstraat", "Utrecht", Some(UTRECHT)),
        (None, Some(5), None, None, "Nergensstraat", "Utrecht", Some(UTRECHT)),
        (Some("3522XT"), None, None, None, "Waalstraat", "Utrecht", Some(UTRECHT)),
        (Some("3522XT"), Some(114), None, None, "Waalstraat", "Utrecht", None),
    ]
}

fn point_blob(x: f64, y: f64) -> Vec<u8> {
    let mut b = b"GP".to_vec();
    b.push(0);
    b.push(1); // little endian, no envelope
    b.extend(28992i32.to_le_bytes());
    b.push(1);
    b.extend(1u32.to_le_bytes());
    b.extend(x.to_le_bytes());
    b.extend(y.to_le_bytes());
    b
}

async fn write_bag_gpkg(path: &Path) {
    let mut c = new_gpkg(path).await;
    for sql in [
        "CREATE TABLE verblijfsobject (fid INTEGER PRIMARY KEY, identificatie TEXT, postcode TEXT, huisnummer INTEGER, \
         huisletter TEXT, toevoeging TEXT, openbare_ruimte_naam TEXT, woonplaats_naam TEXT, geom BLOB)",
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) VALUES ('verblijfsobject', 'features', 'verblijfsobject', 28992)",
        "INSERT INTO gpkg_geometry_columns VALUES ('verblijfsobject', 'geom', 'POINT', 28992, 0, 0)",
    ] {
        sqlx::query(sql).execute(&mut c).await.unwrap();
    }
    for (i, (pc, nr, letter, add, street, place, point)) in rows().into_iter().enumerate() {
        sqlx::query(
            "INSERT INTO verblijfsobject (identificatie, postcode, huisnummer, huisletter, toevoeging, openbare_ruimte_naam, \
             woonplaats_naam, geom) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(format!("0344010000{i:06}"))
        .bind(pc)
        .bind(nr)
        .bind(letter)
        .bind(add)
        .bind(street)
        .bind(place)
        .bind(point.map(|(x, y)| point_blob(x, y)))
        .execute(&mut c)
        .await
        .unwrap();
    }
    c.close().await.unwrap();
}

async fn store(url: &str) -> Store {
    Store::connect(url, &ConnectOptions { max_connections: 2, create_if_missing: false, ..ConnectOptions::default() })
        .await
        .unwrap()
}

fn wgs((x, y): (f64, f64)) -> (f64, f64) {
    let (lon, lat) = RdToWgs84::new().unwrap().convert(x, y).unwrap();
    (lat, lon)
}

async fn official_addresses_are_imported_within_an_area_and_again_unchanged(b: Backend) {
    // The test's points lie where it says.
    let index = oracle_index();
    let (lat, lon) = wgs(UTRECHT);
    assert_eq!(index.locate(lat, lon).municipality.as_deref(), Some("GM0344"));
    let (lat, lon) = wgs(AMERSFOORT);
    assert_eq!(index.locate(lat, lon).municipality.as_deref(), Some("GM0307"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bag-light.gpkg");
    write_bag_gpkg(&file).await;
    let url = fresh_database(b).await;
    let db = store(&url).await;
    let before = db.count_address_points().await.unwrap();
    let gpkg = file.to_str().unwrap();

    let (ok, out, err) = buurtnet(&url, &["import-addresses", "--gpkg", gpkg, "--within", "GM0344"]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("imported 3 addresses from layer verblijfsobject"), "{out}");
    assert!(out.contains("8 features read"), "{out}");
    assert!(out.contains("1 outside GM0344"), "{out}");
    assert!(out.contains("1 skipped: without a point"), "{out}");
    assert!(out.contains("2 skipped: without a valid postcode"), "{out}");
    assert!(out.contains("1 skipped: without a valid house number"), "{out}");
    // Problems name the feature and the column, never the address itself.
    assert!(out.contains("feature 5 (postcode, column postcode): not a Dutch postcode"), "{out}");
    assert!(!out.contains("Nergensstraat") && !out.contains("12345"), "{out}");
    assert_eq!(db.count_address_points().await.unwrap(), before + 3);

    // What a resident types finds the register's point: letter, addition, letter and addition.
    for (typed, point) in [("110a", UTRECHT), ("110-2", (UTRECHT.0 + 15.0, UTRECHT.1)), ("112b3", (UTRECHT.0 + 30.0, UTRECHT.1))]
    {
        let pc = Postcode::parse("3522 xt").unwrap();
        let house = HouseNumber::parse(typed).unwrap();
        let found = db.address_point(pc.as_str(), house.as_str()).await.unwrap().unwrap_or_else(|| panic!("{typed} not found"));
        let (lat, lon) = wgs(point);
        assert!((found.lat - lat).abs() < 1e-6 && (found.lon - lon).abs() < 1e-6, "{typed}: {found:?}");
        assert_eq!((found.street.as_deref(), found.city.as_deref()), (Some("Waalstraat"), Some("Utrecht")));
    }
    assert!(db.address_point("3811AA", "1").await.unwrap().is_none(), "Amersfoort is outside GM0344");

    // Again: nothing changes. Then the whole file: Amersfoort comes in.
    let (ok, out, err) = buurtnet(&url, &["import-addresses", "--gpkg", gpkg, "--within", "GM0344"]);
    assert!(ok && out.contains("imported 3 addresses"), "{out}\n{err}");
    assert_eq!(db.count_address_points().await.unwrap(), before + 3);
    let (ok, out, err) = buurtnet(&url, &["import-addresses", "--gpkg", gpkg]);
    assert!(ok && out.contains("imported 4 addresses"), "{out}\n{err}");
    assert_eq!(db.count_address_points().await.unwrap(), before + 4);
    assert_eq!(db.address_point("3811AA", "1").await.unwrap().and_then(|p| p.city), Some("Amersfoort".into()));

    // A server reads the table into its address book, and its geocoder finds the register's
    // point there: exact, not the postcode area's middle.
    let app = TestApp::spawn_on(&url).await;
    let total = db.count_address_points().await.unwrap() as usize;
    let mut waited = 0;
    while app.state.geocoder.book().map(|b| b.len()) != Some(total) {
        assert!(waited < 100, "the address book did not load: {:?}", app.state.geocoder.book().map(|b| b.len()));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    let index = app.state.areas.current();
    let found = app
        .state
        .geocoder
        .geocode(&db, &index, &Postcode::parse("3522XT").unwrap(), &HouseNumber::parse("112 B 3").unwrap())
        .await
        .unwrap()
        .unwrap();
    let (lat, lon) = wgs((UTRECHT.0 + 30.0, UTRECHT.1));
    assert!(!found.approximate && (found.lat - lat).abs() < 1e-6 && (found.lon - lon).abs() < 1e-6, "{found:?}");
    drop(app);

    // Importing the areas again keeps the register's addresses.
    let (ok, out, err) = buurtnet(&url, &["import-areas", geodata().to_str().unwrap()]);
    assert!(ok, "{out}\n{err}");
    assert_eq!(db.count_address_points().await.unwrap(), before + 4);

    // Bad input: clear errors that name what is wrong, and nothing written.
    for (args, wanted) in [
        (vec!["--columns", "kleur=postcode"], "unknown field 'kleur'"),
        (vec!["--columns", "postcode=zip"], "has no column 'zip'"),
        (vec!["--layer", "panden"], "has no layer panden (it has verblijfsobject)"),
        (vec!["--within", "GM9999"], "--within GM9999: no such area"),
        (vec!["--within", "WK034401"], "give a municipality (GM…) or a province (PV…)"),
    ] {
        let mut all = vec!["import-addresses", "--gpkg", gpkg];
        all.extend(args);
        let (ok, out, err) = buurtnet(&url, &all);
        assert!(!ok && err.contains(wanted), "{all:?}: {out}\n{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let not_gpkg = dir.path().join("addresses.csv");
    std::fs::write(&not_gpkg, "postcode,huisnummer\n3522XT,1\n").unwrap();
    let (ok, _, err) = buurtnet(&url, &["import-addresses", "--gpkg", not_gpkg.to_str().unwrap()]);
    assert!(!ok && err.contains("is not a GeoPackage"), "{err}");
    assert_eq!(db.count_address_points().await.unwrap(), before + 4);

    // The audit log records the import without any address.
    let audit = db.audit_entries(50).await.unwrap();
    let imports: Vec<_> = audit.iter().filter(|a| a.action == "addresses.imported").collect();
    assert_eq!(imports.len(), 3, "{audit:?}");
    assert!(!format!("{imports:?}").contains("Waalstraat"));
    db.close().await;
}

async fn download_resumes_and_imports(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bag-light.gpkg");
    write_bag_gpkg(&file).await;
    let bytes = std::fs::read(&file).unwrap();
    // The server breaks off the first request halfway; the download resumes with a Range.
    let (server, handle) = pdok_server(vec![("lv/bag/atom".into(), "bag-light.gpkg".into(), bytes)]).await;
    let url = fresh_database(b).await;
    let downloads = dir.path().join("downloads");
    let source = format!("{server}/lv/bag/atom/downloads/bag-light.gpkg");
    let (ok, out, err) = buurtnet(
        &url,
        &["import-addresses", "--download", "--url", &source, "--download-dir", downloads.to_str().unwrap(), "--within", "PV26"],
    );
    assert!(ok, "{out}\n{err}");
    // Amersfoort lies in the province of Utrecht too.
    assert!(out.contains("imported 4 addresses"), "{out}");
    assert!(downloads.join("bag-light.gpkg").is_file());
    let (ok, _, err) = buurtnet(&url, &["import-addresses", "--download", "--url", &format!("{server}/nothing/here.gpkg")]);
    assert!(!ok && err.contains("404"), "{err}");
    handle.abort();
}
