//! `buurtnet import-addresses --gpkg FILE`: the official address points (the Kadaster's BAG, as
//! PDOK publishes it in one GeoPackage: the `verblijfsobject` layer in RD New with postcode,
//! huisnummer, huisletter, toevoeging, openbare ruimte and woonplaats) into the offline
//! geocoding table.
//!
//! The file is read a batch of features at a time (the whole country is about 10 million rows),
//! each batch converted from RD New and written in one transaction as an upsert by postcode and
//! house number, so an interrupted import can simply run again and a second run changes
//! nothing. `--within GM0344` (or a province, `PV26`) keeps only the points inside that area.

use anyhow::Context;
use buurtnet_domain::postcode::{HouseNumber, Postcode};
use buurtnet_geo::AreaIndex;
use buurtnet_geo::gpkg::{Gpkg, Layer, PointFeature};
use buurtnet_store::{AddressPoint, Store};
use std::collections::BTreeMap;
use std::path::Path;

/// PDOK's BAG GeoPackage (for `--download`; its address could not be confirmed offline, so
/// `--url` replaces it).
pub const BAG_GPKG_URL: &str = "https://service.pdok.nl/lv/bag/atom/downloads/bag-light.gpkg";

/// The layer read unless `--layer` names another.
pub const DEFAULT_LAYER: &str = "verblijfsobject";

/// Features read (and written in one transaction) at a time.
pub const BATCH: usize = 20_000;

/// The fields an address needs, each with the column names tried in order (case-insensitive)
/// unless `--columns field=column` names the column. The first two are required.
const FIELDS: [(&str, &[&str]); 6] = [
    ("postcode", &["postcode"]),
    ("huisnummer", &["huisnummer"]),
    ("huisletter", &["huisletter"]),
    ("toevoeging", &["toevoeging", "huisnummertoevoeging", "huisnummer_toevoeging"]),
    ("openbare_ruimte", &["openbare_ruimte_naam", "openbare_ruimte", "openbareruimtenaam", "straatnaam", "straat"]),
    ("woonplaats", &["woonplaats_naam", "woonplaats", "woonplaatsnaam", "plaats"]),
];

/// What to read and what to keep.
#[derive(Debug, Clone, Default)]
pub struct AddressImportOptions {
    /// The feature layer (default `verblijfsobject`).
    pub layer: Option<String>,
    /// `field=column` overrides for the file's column names (fields as in [`FIELDS`]).
    pub columns: Vec<String>,
    /// Keep only the points in this municipality (`GM…`) or province (`PV…`).
    pub within: Option<String>,
}

/// What an import did; `problems` names the first few skipped features and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AddressImportReport {
    pub layer: String,
    pub read: u64,
    pub written: u64,
    pub outside: u64,
    pub without_point: u64,
    pub bad_postcode: u64,
    pub bad_house_number: u64,
    pub problems: Vec<String>,
}

const SHOWN_PROBLEMS: usize = 10;

impl AddressImportReport {
    fn problem(&mut self, f: &PointFeature, field: &str, column: &str, what: &str) {
        if self.problems.len() < SHOWN_PROBLEMS {
            self.problems.push(format!("feature {} ({field}, column {column}): {what}", f.fid));
        }
    }
}

/// The file's column for each field, `None` where an optional field has no column.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Columns(Vec<Option<String>>);

impl Columns {
    fn resolve(layer: &Layer, overrides: &[String]) -> anyhow::Result<Columns> {
        let mut named: BTreeMap<&str, String> = BTreeMap::new();
        for o in overrides.iter().flat_map(|o| o.split(',')).map(str::trim).filter(|o| !o.is_empty()) {
            let (field, column) = o.split_once('=').with_context(|| format!("--columns {o}: write it as field=column"))?;
            let field = FIELDS.iter().map(|(f, _)| *f).find(|f| f.eq_ignore_ascii_case(field.trim())).with_context(|| {
                let known: Vec<&str> = FIELDS.iter().map(|(f, _)| *f).collect();
                format!("--columns {o}: unknown field '{}' (the fields are {})", field.trim(), known.join(", "))
            })?;
            let column = column.trim();
            let found = layer.column(&[column]).with_context(|| {
                format!("--columns {o}: layer {} has no column '{column}' (it has {})", layer.table, layer.columns.join(", "))
            })?;
            named.insert(field, found.to_string());
        }
        let mut out = Vec::new();
        for (i, (field, candidates)) in FIELDS.iter().enumerate() {
            let column = named.get(field).cloned().or_else(|| layer.column(candidates).map(str::to_string));
            if column.is_none() && i < 2 {
                anyhow::bail!(
                    "layer {} has no {field} column (tried {}; it has {}); name it with --columns {field}=COLUMN",
                    layer.table,
                    candidates.join(", "),
                    layer.columns.join(", ")
                );
            }
            out.push(column);
        }
        Ok(Columns(out))
    }

    /// The columns to read, and for each field its position among them.
    fn read_list(&self) -> (Vec<&str>, Vec<Option<usize>>) {
        let mut read = Vec::new();
        let positions = self
            .0
            .iter()
            .map(|c| {
                c.as_deref().map(|c| {
                    read.push(c);
                    read.len() - 1
                })
            })
            .collect();
        (read, positions)
    }
}

/// A register's house number as a number: `110`, or `110.0` where the column is stored as REAL.
fn register_number(text: &str) -> Option<u32> {
    let t = text.trim();
    t.parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .or_else(|| t.parse::<f64>().ok().filter(|v| v.fract() == 0.0 && *v >= 1.0 && *v < 1e6).map(|v| v as u32))
}

/// The area filter: the code's index entry and whether it is a municipality or a province.
fn within_filter<'a>(index: &'a AreaIndex, code: &str) -> anyhow::Result<(&'a str, bool)> {
    let area = index.get(code).with_context(|| format!("--within {code}: no such area; run import-areas or check the code"))?;
    match area.level {
        buurtnet_domain::AreaLevel::Municipality => Ok((area.code.as_str(), true)),
        buurtnet_domain::AreaLevel::Province => Ok((area.code.as_str(), false)),
        other => anyhow::bail!("--within {code}: a {} ; give a municipality (GM…) or a province (PV…)", other.as_str()),
    }
}

/// Reads the file's address layer and writes its points, a batch at a time; `progress` hears
/// the running report after each batch.
pub async fn import_addresses(
    store: &Store,
    path: &Path,
    options: &AddressImportOptions,
    mut progress: impl FnMut(&AddressImportReport),
) -> anyhow::Result<AddressImportReport> {
    let mut gpkg = Gpkg::open(path).await?;
    let layers = gpkg.layers().await?;
    let wanted = options.layer.as_deref().unwrap_or(DEFAULT_LAYER);
    let layer = layers.iter().find(|l| l.table.eq_ignore_ascii_case(wanted)).with_context(|| {
        let names: Vec<&str> = layers.iter().map(|l| l.table.as_str()).collect();
        format!("{} has no layer {wanted} (it has {}); name it with --layer", path.display(), names.join(", "))
    })?;
    let columns = Columns::resolve(layer, &options.columns)?;
    let (read_list, at) = columns.read_list();
    let index = match &options.within {
        Some(_) => Some(AreaIndex::new(crate::geography::records_from_rows(&store.all_areas().await?)?)),
        None => None,
    };
    let filter = match (&index, &options.within) {
        (Some(index), Some(code)) => Some(within_filter(index, code)?),
        _ => None,
    };
    let mut report = AddressImportReport { layer: layer.table.clone(), ..Default::default() };
    let mut after = i64::MIN;
    loop {
        let batch = gpkg.point_batch(layer, &read_list, after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.fid;
        // One row per address in a batch (the register's later row wins), as the upsert needs.
        let mut points: BTreeMap<(String, String), AddressPoint> = BTreeMap::new();
        for f in &batch {
            report.read += 1;
            let text = |field: usize| at[field].and_then(|i| f.values[i].as_deref()).map(str::trim).unwrap_or("");
            let column = |field: usize| columns.0[field].as_deref().unwrap_or("-");
            let Some(point) = f.point else {
                report.without_point += 1;
                continue;
            };
            let Some(postcode) = Postcode::parse(text(0)) else {
                report.bad_postcode += 1;
                let what = if text(0).is_empty() { "empty".to_string() } else { "not a Dutch postcode".to_string() };
                report.problem(f, "postcode", column(0), &what);
                continue;
            };
            let Some(house) = register_number(text(1)).and_then(|n| HouseNumber::from_parts(n, text(2), text(3))) else {
                report.bad_house_number += 1;
                report.problem(f, "huisnummer", column(1), "no valid house number with its letter and addition");
                continue;
            };
            let (lon, lat) = (point.x, point.y);
            if let (Some(index), Some((code, municipality))) = (&index, filter) {
                let at = index.locate(lat, lon);
                let inside = if municipality { at.municipality.as_deref() } else { at.province.as_deref() };
                if inside != Some(code) {
                    report.outside += 1;
                    continue;
                }
            }
            let optional = |field: usize| Some(text(field).to_string()).filter(|t| !t.is_empty());
            let key = (postcode.as_str().to_string(), house.as_str().to_string());
            points.insert(
                key,
                AddressPoint {
                    postcode: postcode.as_str().to_string(),
                    house_number: house.as_str().to_string(),
                    street: optional(4),
                    city: optional(5),
                    lat,
                    lon,
                },
            );
        }
        let points: Vec<AddressPoint> = points.into_values().collect();
        store.upsert_address_points(&points).await?;
        report.written += points.len() as u64;
        progress(&report);
    }
    Ok(report)
}

/// Downloads the BAG GeoPackage (resuming an earlier partial download in `dir`).
pub async fn download(url: &str, dir: &Path, progress: impl FnMut(u64, Option<u64>)) -> anyhow::Result<std::path::PathBuf> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("--url {url}: not a URL"))?;
    let file_name =
        parsed.path_segments().and_then(|mut s| s.next_back()).filter(|n| !n.is_empty()).unwrap_or("bag-light.gpkg").to_string();
    let base = parsed.join("/").with_context(|| format!("--url {url}"))?;
    let pdok = buurtnet_geo::pdok::Pdok::new(base.as_str())?;
    let link = buurtnet_geo::pdok::FileLink { url: parsed, file_name, length: None };
    Ok(pdok.download(&link, dir, progress).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(columns: &[&str]) -> Layer {
        Layer {
            table: "verblijfsobject".into(),
            geometry_column: "geom".into(),
            srs_id: 28992,
            columns: columns.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn columns_are_found_or_named() {
        let bag =
            layer(&["fid", "postcode", "huisnummer", "huisletter", "toevoeging", "openbare_ruimte_naam", "woonplaats_naam"]);
        let c = Columns::resolve(&bag, &[]).unwrap();
        assert_eq!(c.0[0].as_deref(), Some("postcode"));
        assert_eq!(c.0[4].as_deref(), Some("openbare_ruimte_naam"));
        let other = layer(&["pc6", "nr", "straat"]);
        let err = Columns::resolve(&other, &[]).unwrap_err().to_string();
        assert!(err.contains("no postcode column") && err.contains("--columns postcode=COLUMN"), "{err}");
        let c = Columns::resolve(&other, &["postcode=PC6, huisnummer=nr".into()]).unwrap();
        assert_eq!((c.0[0].as_deref(), c.0[1].as_deref(), c.0[2].as_deref()), (Some("pc6"), Some("nr"), None));
        assert_eq!(c.0[4].as_deref(), Some("straat"));
        let err = Columns::resolve(&other, &["kleur=nr".into()]).unwrap_err().to_string();
        assert!(err.contains("unknown field 'kleur'"), "{err}");
        let err = Columns::resolve(&other, &["postcode=zip".into()]).unwrap_err().to_string();
        assert!(err.contains("has no column 'zip'"), "{err}");
        let err = Columns::resolve(&other, &["postcode".into()]).unwrap_err().to_string();
        assert!(err.contains("field=column"), "{err}");
    }

    #[test]
    fn register_numbers() {
        assert_eq!(register_number("110"), Some(110));
        assert_eq!(register_number(" 7.0"), Some(7));
        for bad in ["", "0", "7.5", "-3", "abc", "1e9"] {
            assert_eq!(register_number(bad), None, "{bad}");
        }
    }
}
