//! `buurtnet import-areas --gpkg …` on GeoPackages in the official CBS layout that the tests
//! write themselves (SQLite with gpkg_contents / gpkg_geometry_columns, geometry blobs of a GP
//! header and WKB, coordinates in RD New), and `--download` from a local PDOK-like server.

use crate::common::{Backend, TestApp, empty_database, unique};
use crate::on_both_backends;
use buurtnet_geo::rd::RdToWgs84;
use buurtnet_store::{ConnectOptions, Store};
use serde_json::{Value, json};
use sha2::Digest;
use sqlx::Connection;
use std::path::{Path, PathBuf};
use std::process::Command;

on_both_backends!(
    a_year_of_official_files,
    a_merger_next_year_moves_addresses_and_reports_scopes,
    download_through_the_atom_feeds
);

/// A polygon as rings of RD coordinates; the first ring is the outline.
type Poly = Vec<Vec<(f64, f64)>>;

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Poly {
    vec![vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]]
}

/// A GeoPackage geometry blob: "GP", version 0, flags (byte order, envelope), srs id, then WKB.
/// Multipolygons are written little-endian with an XY envelope; single polygons big-endian
/// without one, so both branches of the reader are used.
fn gp_blob(polys: &[Poly]) -> Vec<u8> {
    let mut b = b"GP".to_vec();
    b.push(0);
    if polys.len() == 1 {
        b.push(0); // big endian, no envelope
        b.extend(28992i32.to_be_bytes());
        b.push(0);
        b.extend(3u32.to_be_bytes());
        b.extend((polys[0].len() as u32).to_be_bytes());
        for ring in &polys[0] {
            b.extend((ring.len() as u32).to_be_bytes());
            for (x, y) in ring {
                b.extend(x.to_be_bytes());
                b.extend(y.to_be_bytes());
            }
        }
        return b;
    }
    b.push(0b0000_0011); // little endian, envelope [minx, maxx, miny, maxy]
    b.extend(28992i32.to_le_bytes());
    let pts = polys.iter().flatten().flatten();
    let (mut minx, mut maxx, mut miny, mut maxy) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in pts {
        (minx, maxx, miny, maxy) = (minx.min(*x), maxx.max(*x), miny.min(*y), maxy.max(*y));
    }
    for v in [minx, maxx, miny, maxy] {
        b.extend(v.to_le_bytes());
    }
    b.push(1);
    b.extend(6u32.to_le_bytes());
    b.extend((polys.len() as u32).to_le_bytes());
    for p in polys {
        b.push(1);
        b.extend(3u32.to_le_bytes());
        b.extend((p.len() as u32).to_le_bytes());
        for ring in p {
            b.extend((ring.len() as u32).to_le_bytes());
            for (x, y) in ring {
                b.extend(x.to_le_bytes());
                b.extend(y.to_le_bytes());
            }
        }
    }
    b
}

/// One feature table: column names with SQL types, rows of values (JSON: strings, numbers,
/// null) and polygons.
struct Layer {
    name: &'static str,
    columns: Vec<(&'static str, &'static str)>,
    rows: Vec<(Vec<Value>, Vec<Poly>)>,
}

/// A new GeoPackage file with its metadata tables and RD New, open for writing layers.
pub(crate) async fn new_gpkg(path: &Path) -> sqlx::SqliteConnection {
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(path).create_if_missing(true);
    let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
    for sql in [
        "PRAGMA application_id = 1196444487",
        "CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL, \
         organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)",
        "INSERT INTO gpkg_spatial_ref_sys VALUES ('Amersfoort / RD New', 28992, 'EPSG', 28992, 'PROJCS[\"Amersfoort / RD New\"]', NULL)",
        "CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE, \
         description TEXT DEFAULT '', last_change DATETIME, min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER)",
        "CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL, \
         srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL, PRIMARY KEY (table_name, column_name))",
    ] {
        sqlx::query(sql).execute(&mut c).await.unwrap();
    }
    c
}

async fn write_gpkg(path: &Path, layers: &[Layer], register: Option<(Vec<&str>, Vec<Vec<&str>>)>) {
    let mut c = new_gpkg(path).await;
    for l in layers {
        let cols: Vec<String> = l.columns.iter().map(|(n, t)| format!("{n} {t}")).collect();
        let sql = format!("CREATE TABLE {} (fid INTEGER PRIMARY KEY, {}, geom BLOB)", l.name, cols.join(", "));
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut c).await.unwrap();
        sqlx::query("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) VALUES ($1, 'features', $1, 28992)")
            .bind(l.name)
            .execute(&mut c)
            .await
            .unwrap();
        sqlx::query("INSERT INTO gpkg_geometry_columns VALUES ($1, 'geom', 'MULTIPOLYGON', 28992, 0, 0)")
            .bind(l.name)
            .execute(&mut c)
            .await
            .unwrap();
        for (values, polys) in &l.rows {
            let marks: Vec<String> = (1..=values.len() + 1).map(|i| format!("${i}")).collect();
            let names: Vec<&str> = l.columns.iter().map(|(n, _)| *n).collect();
            let sql = format!("INSERT INTO {} ({}, geom) VALUES ({})", l.name, names.join(", "), marks.join(", "));
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for v in values {
                q = match v {
                    Value::String(s) => q.bind(s.clone()),
                    Value::Number(n) => q.bind(n.as_i64().unwrap()),
                    _ => q.bind(None::<String>),
                };
            }
            q.bind(gp_blob(polys)).execute(&mut c).await.unwrap();
        }
    }
    if let Some((cols, rows)) = register {
        let sql = format!(
            "CREATE TABLE gebiedsindelingen_register ({})",
            cols.iter().map(|c| format!("{c} TEXT")).collect::<Vec<_>>().join(", ")
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut c).await.unwrap();
        sqlx::query("INSERT INTO gpkg_contents (table_name, data_type, identifier) VALUES ('gebiedsindelingen_register', 'attributes', 'register')")
            .execute(&mut c)
            .await
            .unwrap();
        for r in rows {
            let marks: Vec<String> = (1..=r.len()).map(|i| format!("${i}")).collect();
            let sql = format!("INSERT INTO gebiedsindelingen_register ({}) VALUES ({})", cols.join(", "), marks.join(", "));
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for v in r {
                q = q.bind(v.to_string());
            }
            q.execute(&mut c).await.unwrap();
        }
    }
    c.close().await.unwrap();
}

const Y0: f64 = 460_000.0;
const Y1: f64 = 462_000.0;

/// The Wijk- en buurtkaart of 2024: Westdorp (GM0001, land and a lake), Oostdorp (GM0002), and
/// a Belgian enclave row that is not Dutch territory.
async fn wijkbuurt_2024(path: &Path) {
    let gm = Layer {
        name: "gemeenten",
        columns: vec![
            ("gemeentecode", "TEXT"),
            ("gemeentenaam", "TEXT"),
            ("water", "TEXT"),
            ("jaar", "INTEGER"),
            ("aantal_inwoners", "INTEGER"),
        ],
        rows: vec![
            (
                vec![json!("GM0001"), json!("Westdorp"), json!("NEE"), json!(2024), json!(1000)],
                vec![rect(150_000.0, Y0, 152_000.0, Y1)],
            ),
            (
                vec![json!("GM0001"), json!("Westdorp"), json!("JA"), json!(2024), json!(-99997)],
                vec![rect(152_000.0, Y0, 153_000.0, Y1)],
            ),
            (
                vec![json!("GM0002"), json!("Oostdorp"), json!("NEE"), json!(2024), json!(2000)],
                vec![rect(153_000.0, Y0, 155_000.0, Y1), rect(155_000.0, Y0, 156_000.0, Y1)],
            ),
            (
                vec![json!("GM0998"), json!("Buitenland"), json!("B"), json!(2024), json!(-99997)],
                vec![rect(160_000.0, Y0, 161_000.0, Y1)],
            ),
        ],
    };
    let wk = Layer {
        name: "wijken",
        columns: vec![
            ("wijkcode", "TEXT"),
            ("wijknaam", "TEXT"),
            ("gemeentecode", "TEXT"),
            ("water", "TEXT"),
            ("jaar", "INTEGER"),
            ("aantal_inwoners", "INTEGER"),
        ],
        rows: vec![
            (
                vec![json!("WK000101"), json!("West"), json!("GM0001"), json!("NEE"), json!(2024), json!(1000)],
                vec![rect(150_000.0, Y0, 152_000.0, Y1)],
            ),
            (
                vec![json!("WK000101"), json!("West"), json!("GM0001"), json!("JA"), json!(2024), json!(-99997)],
                vec![rect(152_000.0, Y0, 153_000.0, Y1)],
            ),
            (
                vec![json!("WK000201"), json!("Oost"), json!("GM0002"), json!("NEE"), json!(2024), json!(2000)],
                vec![rect(153_000.0, Y0, 156_000.0, Y1)],
            ),
        ],
    };
    let bu = Layer {
        name: "buurten",
        columns: vec![
            ("buurtcode", "TEXT"),
            ("buurtnaam", "TEXT"),
            ("wijkcode", "TEXT"),
            ("gemeentecode", "TEXT"),
            ("water", "TEXT"),
            ("jaar", "INTEGER"),
            ("aantal_inwoners", "INTEGER"),
        ],
        rows: vec![
            (
                vec![
                    json!("BU00010101"),
                    json!("Dorp"),
                    json!("WK000101"),
                    json!("GM0001"),
                    json!("NEE"),
                    json!(2024),
                    json!(995),
                ],
                vec![rect(150_000.0, Y0, 152_000.0, Y1)],
            ),
            (
                vec![
                    json!("BU00019997"),
                    json!("Groot binnenwater"),
                    json!("WK000101"),
                    json!("GM0001"),
                    json!("JA"),
                    json!(2024),
                    json!(-99997),
                ],
                vec![rect(152_000.0, Y0, 153_000.0, Y1)],
            ),
            (
                vec![
                    json!("BU00020101"),
                    json!("Oostkant"),
                    json!("WK000201"),
                    json!("GM0002"),
                    json!("NEE"),
                    json!(2024),
                    json!(2000),
                ],
                vec![rect(153_000.0, Y0, 156_000.0, Y1)],
            ),
        ],
    };
    write_gpkg(path, &[gm, wk, bu], None).await;
}

/// CBS gebiedsindelingen 2024: the register (without a police-unit column, as seen in
/// published files) and generalised layers, from which the police unit is found.
async fn gebiedsindelingen_2024(path: &Path) {
    let generalised = |name, code: &'static str, label: &'static str, poly: Poly| Layer {
        name,
        columns: vec![("statcode", "TEXT"), ("jrstatcode", "TEXT"), ("statnaam", "TEXT")],
        rows: vec![(vec![json!(code), json!(format!("2024{code}")), json!(label)], vec![poly])],
    };
    let mut gm = generalised("gemeente_gegeneraliseerd", "GM0001", "Westdorp", rect(150_000.0, Y0, 153_000.0, Y1));
    gm.rows.push((vec![json!("GM0002"), json!("2024GM0002"), json!("Oostdorp")], vec![rect(153_000.0, Y0, 156_000.0, Y1)]));
    let re = generalised(
        "regionale_eenheid_gegeneraliseerd",
        "RE03",
        "Midden-Nederland",
        rect(149_000.0, 459_000.0, 157_000.0, 463_000.0),
    );
    let vr = generalised("veiligheidsregio_gegeneraliseerd", "VR09", "Utrecht", rect(149_000.0, 459_000.0, 157_000.0, 463_000.0));
    write_gpkg(
        path,
        &[gm, re, vr],
        Some((
            vec!["gm_code", "gm_naam", "pv_code", "pv_naam", "vr_code", "vr_naam"],
            vec![
                vec!["GM0001", "Westdorp", "PV26", "Utrecht", "VR09", "Utrecht"],
                vec!["GM0002", "Oostdorp", "PV26", "Utrecht", "VR09", "Utrecht"],
            ],
        )),
    )
    .await;
}

async fn pc4_2024(path: &Path) {
    let l = Layer {
        name: "cbs_pc4_2024",
        columns: vec![("postcode", "INTEGER"), ("jaarcode", "INTEGER"), ("aantal_inwoners", "INTEGER")],
        rows: vec![
            (vec![json!(999), json!(2024), json!(-99997)], vec![rect(150_000.0, Y0, 153_000.0, Y1)]),
            (vec![json!(3811), json!(2024), json!(1990)], vec![rect(153_000.0, Y0, 156_000.0, Y1)]),
        ],
    };
    write_gpkg(path, &[l], None).await;
}

/// 2025: Westdorp and Oostdorp merged into Samendorp (GM0003), with new district and
/// neighbourhood codes.
async fn wijkbuurt_2025(path: &Path) {
    let cols = |c: &'static str, n: &'static str, parent: Option<&'static str>| {
        let mut v = vec![(c, "TEXT"), (n, "TEXT")];
        if let Some(p) = parent {
            v.push((p, "TEXT"));
        }
        v.extend([("water", "TEXT"), ("jaar", "INTEGER"), ("aantal_inwoners", "INTEGER")]);
        v
    };
    let gm = Layer {
        name: "gemeenten",
        columns: cols("gemeentecode", "gemeentenaam", None),
        rows: vec![
            (
                vec![json!("GM0003"), json!("Samendorp"), json!("NEE"), json!(2025), json!(3050)],
                vec![rect(150_000.0, Y0, 152_000.0, Y1), rect(153_000.0, Y0, 156_000.0, Y1)],
            ),
            (
                vec![json!("GM0003"), json!("Samendorp"), json!("JA"), json!(2025), json!(0)],
                vec![rect(152_000.0, Y0, 153_000.0, Y1)],
            ),
        ],
    };
    let wk = Layer {
        name: "wijken",
        columns: cols("wijkcode", "wijknaam", Some("gemeentecode")),
        rows: vec![
            (
                vec![json!("WK000301"), json!("West"), json!("GM0003"), json!("NEE"), json!(2025), json!(1010)],
                vec![rect(150_000.0, Y0, 152_000.0, Y1)],
            ),
            (
                vec![json!("WK000301"), json!("West"), json!("GM0003"), json!("JA"), json!(2025), json!(0)],
                vec![rect(152_000.0, Y0, 153_000.0, Y1)],
            ),
            (
                vec![json!("WK000302"), json!("Oost"), json!("GM0003"), json!("NEE"), json!(2025), json!(2040)],
                vec![rect(153_000.0, Y0, 156_000.0, Y1)],
            ),
        ],
    };
    let bu = Layer {
        name: "buurten",
        columns: cols("buurtcode", "buurtnaam", Some("wijkcode")),
        rows: vec![
            (
                vec![json!("BU00030101"), json!("Dorp"), json!("WK000301"), json!("NEE"), json!(2025), json!(1010)],
                vec![rect(150_000.0, Y0, 152_000.0, Y1)],
            ),
            (
                vec![json!("BU00039997"), json!("Groot binnenwater"), json!("WK000301"), json!("JA"), json!(2025), json!(-99997)],
                vec![rect(152_000.0, Y0, 153_000.0, Y1)],
            ),
            (
                vec![json!("BU00030201"), json!("Oostkant"), json!("WK000302"), json!("NEE"), json!(2025), json!(2040)],
                vec![rect(153_000.0, Y0, 156_000.0, Y1)],
            ),
        ],
    };
    write_gpkg(path, &[gm, wk, bu], None).await;
}

pub(crate) fn buurtnet(database_url: &str, args: &[&str]) -> (bool, String, String) {
    let data_dir = std::env::temp_dir().join(unique("buurtnet_cli_data"));
    let out = Command::new(env!("CARGO_BIN_EXE_buurtnet"))
        .env("BUURTNET_DATA_DIR", &data_dir)
        .arg("--database-url")
        .arg(database_url)
        .args(args)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn sha256_hex(path: &Path) -> String {
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// WGS84 (lat, lon) of an RD point.
fn wgs(x: f64, y: f64) -> (f64, f64) {
    let (lon, lat) = RdToWgs84::new().unwrap().convert(x, y).unwrap();
    (lat, lon)
}

async fn codes_at(app: &TestApp, x: f64, y: f64) -> Vec<String> {
    let (lat, lon) = wgs(x, y);
    let (s, v) = app.get_json(&format!("/api/v1/areas/at?lat={lat}&lon={lon}")).await;
    assert_eq!(s, 200, "{v}");
    v["areas"].as_array().unwrap().iter().map(|a| a["code"].as_str().unwrap().to_string()).collect()
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

async fn files_2024() -> Files {
    let f = Files { dir: tempfile::tempdir().unwrap() };
    wijkbuurt_2024(&f.path("wijkenbuurten_2024_v2.gpkg")).await;
    gebiedsindelingen_2024(&f.path("cbsgebiedsindelingen2024.gpkg")).await;
    pc4_2024(&f.path("cbs_pc4_2024_v1.gpkg")).await;
    f
}

async fn migrated(b: Backend) -> String {
    let url = empty_database(b).await;
    let (ok, _, err) = buurtnet(&url, &["migrate"]);
    assert!(ok, "{err}");
    url
}

async fn a_year_of_official_files(b: Backend) {
    let files = files_2024().await;
    let url = migrated(b).await;
    let wb = files.path("wijkenbuurten_2024_v2.gpkg");
    let gi = files.path("cbsgebiedsindelingen2024.gpkg");
    let pc = files.path("cbs_pc4_2024_v1.gpkg");
    let (ok, out, err) =
        buurtnet(&url, &["import-areas", "--year", "2024", "--gpkg", wb.to_str().unwrap(), gi.to_str().unwrap()]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("wijkenbuurten_2024_v2.gpkg (wijkenbuurten, 2024)"), "{out}");
    assert!(out.contains(&sha256_hex(&wb)), "{out}");
    assert!(out.contains("Bron: CBS, Kadaster"), "{out}");

    let app = TestApp::spawn_on(&url).await;
    // Land and water of one code are one area: a point on the lake lies in Westdorp, in its
    // water neighbourhood, and through Westdorp in the safety region, police unit and province.
    let on_lake = codes_at(&app, 152_500.0, 461_000.0).await;
    for c in ["BU00019997", "WK000101", "GM0001", "VR09", "RE03", "PV26", "NL"] {
        assert!(on_lake.contains(&c.to_string()), "{c} missing at the lake: {on_lake:?}");
    }
    let east = codes_at(&app, 155_500.0, 461_000.0).await;
    assert!(east.contains(&"GM0002".to_string()) && east.contains(&"BU00020101".to_string()), "{east:?}");
    // The Belgian enclave row is not imported; outside everything is nothing.
    assert!(codes_at(&app, 160_500.0, 461_000.0).await.is_empty());
    assert_eq!(app.get_json("/api/v1/areas/GM0998").await.0, 404);

    // CBS placeholders are unknown, not numbers; the water row's placeholder does not count.
    let (_, gm) = app.get_json("/api/v1/areas/GM0001").await;
    assert_eq!(gm["inhabitants"], 1000);
    assert_eq!(gm["parent"], "VR09");
    assert_eq!(gm["province"], "PV26");
    // The display copy is land only: the lake is not drawn into the municipality.
    let bbox_lon_max = gm["bbox"][2].as_f64().unwrap();
    let drawn = serde_json::to_string(&gm["geometry"]).unwrap();
    assert!(gm["attribution"]["nl"].as_str().unwrap().contains("CBS"));
    let (lake_lat, lake_lon) = wgs(152_999.0, 461_000.0);
    let _ = lake_lat;
    assert!(bbox_lon_max >= lake_lon, "the stored outline holds the lake");
    let drawn_max_lon = drawn
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .filter_map(|t| t.parse::<f64>().ok())
        .filter(|v| (3.0..8.0).contains(v))
        .fold(f64::MIN, f64::max);
    assert!(drawn_max_lon < wgs(152_500.0, 461_000.0).1, "the drawn outline is land only: {drawn_max_lon}");
    let (_, bu) = app.get_json("/api/v1/areas/BU00019997").await;
    assert_eq!(bu["inhabitants"], Value::Null);
    assert_eq!(bu["parent"], "WK000101");
    // Regions are the union of their municipalities and sum their inhabitants.
    let (_, vr) = app.get_json("/api/v1/areas/VR09").await;
    assert_eq!(
        (vr["inhabitants"].as_i64(), vr["parent"].as_str(), vr["name"].as_str()),
        (Some(3000), Some("RE03"), Some("Utrecht"))
    );
    let (_, re) = app.get_json("/api/v1/areas/RE03").await;
    assert_eq!(re["name"], "Midden-Nederland");

    // Each file on its own: PC4 later, and the other levels stay as they were.
    let version_before = app.store.areas_version().await.unwrap();
    let (ok, out, err) = buurtnet(&url, &["import-areas", "--gpkg", pc.to_str().unwrap()]);
    assert!(ok, "{out}\n{err}");
    assert_ne!(app.store.areas_version().await.unwrap(), version_before);
    app.state.areas.refresh(&app.store).await.unwrap();
    let (_, p) = app.get_json("/api/v1/areas/0999").await;
    assert_eq!((p["level"].as_str(), p["inhabitants"].clone(), p["parent"].as_str()), (Some("pc4"), Value::Null, Some("GM0001")));
    let (_, p) = app.get_json("/api/v1/areas/3811").await;
    assert_eq!((p["inhabitants"].as_i64(), p["parent"].as_str()), (Some(1990), Some("GM0002")));
    assert!(codes_at(&app, 152_500.0, 461_000.0).await.contains(&"BU00019997".to_string()));

    // Every file is recorded with its year, size and hash; the listing shows them with the attribution.
    let imports = app.store.area_imports().await.unwrap();
    assert_eq!(imports.len(), 3);
    let w = imports.iter().find(|i| i.kind == "wijkenbuurten").unwrap();
    assert_eq!(
        (w.year, w.size_bytes as u64, w.sha256.clone()),
        (Some(2024), std::fs::metadata(&wb).unwrap().len(), sha256_hex(&wb))
    );
    assert_eq!(imports.iter().find(|i| i.kind == "postcode4").unwrap().sha256, sha256_hex(&pc));
    let (_, list) = app.get_json("/api/v1/areas?level=municipality").await;
    assert_eq!(list["areas"].as_array().unwrap().len(), 2);
    assert_eq!(list["sources"].as_array().unwrap().len(), 3);
    assert!(list["attribution"]["nl"].as_str().unwrap().starts_with("Bron: CBS, Kadaster"));

    // Files of different years are not one import; a file that is not an official one changes nothing.
    let (ok, _, err) = buurtnet(&url, &["import-areas", "--gpkg", pc.to_str().unwrap(), "--year", "2023"]);
    assert!(!ok && err.contains("is of 2024, not of 2023"), "{err}");
    let junk = files.path("junk.gpkg");
    std::fs::write(&junk, b"this is not a database, just some bytes of a broken download").unwrap();
    let version = app.store.areas_version().await.unwrap();
    let (ok, _, err) = buurtnet(&url, &["import-areas", "--gpkg", junk.to_str().unwrap()]);
    assert!(!ok && err.contains("junk.gpkg is not a GeoPackage"), "{err}");
    assert_eq!(app.store.areas_version().await.unwrap(), version);
    assert_eq!(app.store.area_imports().await.unwrap().len(), 3);
}

async fn a_merger_next_year_moves_addresses_and_reports_scopes(b: Backend) {
    let files = files_2024().await;
    let url = migrated(b).await;
    let wb = files.path("wijkenbuurten_2024_v2.gpkg");
    let gi = files.path("cbsgebiedsindelingen2024.gpkg");
    let (ok, out, err) = buurtnet(&url, &["import-areas", "--gpkg", wb.to_str().unwrap(), gi.to_str().unwrap()]);
    assert!(ok, "{out}\n{err}");
    // Two verified residents, one in each 2024 municipality.
    let (w, e) = (wgs(151_000.0, 461_000.0), wgs(154_000.0, 461_000.0));
    let csv = files.path("people.csv");
    std::fs::write(
        &csv,
        format!(
            "external_id,email,phone,lat,lon,postcode,house_number,address_kind,channels,topics,language\n\
             w1,west@example.org,,{},{},,,home,email,urgent,nl\n\
             e1,east@example.org,,{},{},,,home,email,urgent,nl\n",
            w.0, w.1, e.0, e.1
        ),
    )
    .unwrap();
    let (ok, out, err) = buurtnet(&url, &["import-participants", "--verified", csv.to_str().unwrap()]);
    assert!(ok, "{out}\n{err}");

    let app = TestApp::spawn_on(&url).await;
    let officer = app.staff_token("municipality-officer", "GM0002").await;
    let admin = app.staff_token("admin", "NL").await;
    let dispatcher = app.staff_token("dispatcher", "NL").await;
    let count = |area: &'static str| {
        let req = app
            .client
            .post(app.at("/api/v1/targeting/count"))
            .bearer_auth(dispatcher.clone())
            .json(&json!({"area": {"areas": [area]}, "topic": "urgent", "override_time_windows": true}));
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = count("GM0002").await;
    assert_eq!((s, v["people"].as_u64()), (200, Some(1)), "{v}");

    // The next year, while the server runs: Westdorp and Oostdorp merged into Samendorp.
    let y25 = files.path("wijkenbuurten_2025_v1.gpkg");
    wijkbuurt_2025(&y25).await;
    let (ok, out, err) = buurtnet(&url, &["import-areas", "--gpkg", y25.to_str().unwrap()]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("addresses: 2 checked, 2 moved"), "{out}");
    assert!(out.contains("has scope GM0002, which no longer exists"), "{out}");
    // The server answered throughout and picks the new areas up without a restart.
    assert_eq!(app.client.get(app.at("/readyz")).send().await.unwrap().status(), 200);
    app.state.areas.refresh(&app.store).await.unwrap();
    let here = codes_at(&app, 154_000.0, 461_000.0).await;
    for c in ["BU00030201", "WK000302", "GM0003", "VR09", "RE03", "PV26"] {
        assert!(here.contains(&c.to_string()), "{c} missing: {here:?}");
    }
    // Samendorp keeps the memberships of the municipalities it was made of.
    let (_, gm) = app.get_json("/api/v1/areas/GM0003").await;
    assert_eq!(
        (gm["parent"].as_str(), gm["province"].as_str(), gm["inhabitants"].as_i64()),
        (Some("VR09"), Some("PV26"), Some(3050))
    );
    assert_eq!(app.get_json("/api/v1/areas/GM0001").await.0, 404);
    // The targeting replica follows the addresses' new codes.
    let (s, v) = count("GM0003").await;
    assert_eq!((s, v["people"].as_u64()), (200, Some(2)), "{v}");
    let (s, v) = count("BU00030101").await;
    assert_eq!((s, v["people"].as_u64()), (200, Some(1)), "{v}");
    let (s, _) = count("GM0002").await;
    assert!((400..500).contains(&s), "a code that no longer exists is refused");
    // Admins see the stale scope through the API; others may not look.
    let r = app.client.get(app.at("/api/v1/admin/area-imports")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let stale: Vec<&str> = v["stale_scopes"].as_array().unwrap().iter().map(|s| s["scope"].as_str().unwrap()).collect();
    assert_eq!(stale, vec!["GM0002"]);
    assert_eq!(v["imports"].as_array().unwrap().len(), 3);
    let r = app.client.get(app.at("/api/v1/admin/area-imports")).bearer_auth(&officer).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(app.client.get(app.at("/api/v1/admin/area-imports")).send().await.unwrap().status(), 401);
}

/// A PDOK-like server: Atom service and dataset feeds and the files, with HTTP Range. The
/// first request for a file breaks off halfway.
pub(crate) async fn pdok_server(files: Vec<(String, String, Vec<u8>)>) -> (String, tokio::task::JoinHandle<()>) {
    use axum::body::Body;
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::Response;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    // (feed folder, file name, bytes)
    let by_path: Arc<HashMap<String, Vec<u8>>> =
        Arc::new(files.iter().map(|(dir, name, bytes)| (format!("/{dir}/downloads/{name}"), bytes.clone())).collect());
    let feeds: Arc<HashMap<String, String>> = Arc::new(
        files
            .iter()
            .flat_map(|(dir, name, bytes)| {
                let service = r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>service</title>
                    <entry><title>dataset</title><link rel="alternate" type="application/atom+xml" href="dataset.xml"/></entry></feed>"#
                    .to_string();
                let dataset = format!(
                    r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>dataset</title>
                    <link rel="self" href="dataset.xml"/><entry><title>{name}</title>
                    <link rel="alternate" type="application/geopackage+sqlite3" href="downloads/{name}" length="{}"/></entry></feed>"#,
                    // A feed that announces more than the server has.
                    if name.contains("_v9") { bytes.len() + 7 } else { bytes.len() }
                );
                [(format!("/{dir}/index.xml"), service), (format!("/{dir}/dataset.xml"), dataset)]
            })
            .collect(),
    );
    let broken: Arc<Mutex<std::collections::HashSet<String>>> = Arc::default();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap| {
        let (by_path, feeds, broken) = (by_path.clone(), feeds.clone(), broken.clone());
        async move {
            let path = uri.path().to_string();
            if let Some(feed) = feeds.get(&path) {
                return Response::builder()
                    .header(header::CONTENT_TYPE, "application/atom+xml")
                    .body(Body::from(feed.clone()))
                    .unwrap();
            }
            let Some(bytes) = by_path.get(&path).cloned() else {
                return Response::builder().status(StatusCode::NOT_FOUND).body(Body::empty()).unwrap();
            };
            let from: usize = headers
                .get(header::RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes="))
                .and_then(|v| v.trim_end_matches('-').parse().ok())
                .unwrap_or(0);
            if from == 0 && broken.lock().unwrap().insert(path) {
                // Promise the whole file, send half, then break the connection.
                let half = bytes[..bytes.len() / 2].to_vec();
                let stream = futures::stream::iter(vec![
                    Ok::<_, std::io::Error>(axum::body::Bytes::from(half)),
                    Err(std::io::Error::other("connection lost")),
                ]);
                return Response::builder().header(header::CONTENT_LENGTH, bytes.len()).body(Body::from_stream(stream)).unwrap();
            }
            let status = if from > 0 { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK };
            let mut r = Response::builder().status(status).header(header::CONTENT_LENGTH, bytes.len() - from);
            if from > 0 {
                r = r.header(header::CONTENT_RANGE, format!("bytes {from}-{}/{}", bytes.len() - 1, bytes.len()));
            }
            r.body(Body::from(bytes[from..].to_vec())).unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, handle)
}

async fn download_through_the_atom_feeds(b: Backend) {
    let files = files_2024().await;
    let wb = std::fs::read(files.path("wijkenbuurten_2024_v2.gpkg")).unwrap();
    let gi = std::fs::read(files.path("cbsgebiedsindelingen2024.gpkg")).unwrap();
    let corrupt = b"SQLite format 3\0 but then nothing a GeoPackage would hold, cut short".to_vec();
    let (pdok, server) = pdok_server(vec![
        ("cbs/wijkenbuurten/2024/atom".into(), "wijkenbuurten_2024_v2.gpkg".into(), wb.clone()),
        ("cbs/gebiedsindelingen/atom/v1_0".into(), "cbsgebiedsindelingen2024.gpkg".into(), gi.clone()),
        ("cbs/wijkenbuurten/2023/atom".into(), "wijkenbuurten_2023_v3.gpkg".into(), corrupt),
        ("cbs/wijkenbuurten/2022/atom".into(), "wijkenbuurten_2022_v9.gpkg".into(), wb.clone()),
    ])
    .await;
    let url = migrated(b).await;
    let dir = files.path("downloads");
    let dir_s = dir.to_str().unwrap();
    let (ok, out, err) =
        buurtnet(&url, &["import-areas", "--download", "--year", "2024", "--pdok-url", &pdok, "--download-dir", dir_s]);
    assert!(ok, "{out}\n{err}");
    // Both downloads broke halfway and were resumed to the exact bytes.
    assert!(err.contains("resuming"), "{err}");
    assert_eq!(std::fs::read(dir.join("wijkenbuurten_2024_v2.gpkg")).unwrap(), wb);
    assert_eq!(std::fs::read(dir.join("cbsgebiedsindelingen2024.gpkg")).unwrap(), gi);
    assert!(out.contains("imported wijkenbuurten_2024_v2.gpkg (wijkenbuurten, 2024)"), "{out}");
    let store = Store::connect(&url, &ConnectOptions::default()).await.unwrap();
    let imports = store.area_imports().await.unwrap();
    assert_eq!(imports.len(), 2);
    assert!(imports.iter().all(|i| i.source_url.as_deref().is_some_and(|u| u.starts_with(&pdok))));
    let version = store.areas_version().await.unwrap();

    // A corrupt file is refused, clearly, and nothing changes.
    let (ok, _, err) =
        buurtnet(&url, &["import-areas", "--download", "--year", "2023", "--pdok-url", &pdok, "--download-dir", dir_s]);
    assert!(!ok && err.contains("wijkenbuurten_2023_v3.gpkg is not a GeoPackage"), "{err}");
    assert_eq!(store.areas_version().await.unwrap(), version);
    assert_eq!(store.area_imports().await.unwrap().len(), 2);
    // A download that ends short of the announced length is not kept.
    let (ok, _, err) =
        buurtnet(&url, &["import-areas", "--download", "--year", "2022", "--pdok-url", &pdok, "--download-dir", dir_s]);
    assert!(!ok && err.contains("the feed announces") && err.contains(&format!("{} bytes", wb.len())), "{err}");
    assert!(!dir.join("wijkenbuurten_2022_v9.gpkg").exists());
    assert_eq!(store.area_imports().await.unwrap().len(), 2);
    // A year the feeds do not have, and no network at all: clear messages.
    let (ok, _, err) =
        buurtnet(&url, &["import-areas", "--download", "--year", "2019", "--pdok-url", &pdok, "--download-dir", dir_s]);
    assert!(!ok && err.contains("HTTP 404"), "{err}");
    server.abort();
    let (ok, _, err) = buurtnet(
        &url,
        &["import-areas", "--download", "--year", "2024", "--pdok-url", "http://127.0.0.1:9", "--download-dir", dir_s],
    );
    assert!(!ok && err.contains("cannot reach") && err.contains("--gpkg FILE"), "{err}");
    store.close().await;
}
