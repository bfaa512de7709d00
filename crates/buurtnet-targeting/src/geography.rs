//! Importing areas into the database and keeping every process's in-memory [`AreaIndex`] in step
//! with it (each process reloads when the stored `areas_version` changes).

use anyhow::Context;
use buurtnet_domain::AreaLevel;
use buurtnet_geo::{AreaIndex, AreaRecord, geometry_from_geojson, geometry_to_geojson};
use buurtnet_store::{AddressPoint, AreaRow, Store};
use std::path::Path;
use std::sync::{Arc, RwLock};

/// The address-points file that serves as the example offline geocoding table.
pub const ADDRESS_POINTS_FILE: &str = "utrecht_rivierenwijk_addresses_osm.geojson";

#[derive(Default)]
pub struct AreaCache {
    inner: RwLock<Option<(String, Arc<AreaIndex>)>>,
}

impl AreaCache {
    /// The current index (empty before any import).
    pub fn current(&self) -> Arc<AreaIndex> {
        match self.inner.read() {
            Ok(g) => g.as_ref().map(|(_, i)| i.clone()).unwrap_or_else(|| Arc::new(AreaIndex::new(Vec::new()))),
            Err(p) => p.into_inner().as_ref().map(|(_, i)| i.clone()).unwrap_or_else(|| Arc::new(AreaIndex::new(Vec::new()))),
        }
    }

    fn version(&self) -> Option<String> {
        match self.inner.read() {
            Ok(g) => g.as_ref().map(|(v, _)| v.clone()),
            Err(p) => p.into_inner().as_ref().map(|(v, _)| v.clone()),
        }
    }

    /// Reloads from the database when its areas changed. Returns whether it reloaded.
    pub async fn refresh(&self, store: &Store) -> anyhow::Result<bool> {
        let stored = store.areas_version().await?;
        if stored.is_none() || stored == self.version() {
            return Ok(false);
        }
        let rows = store.all_areas().await?;
        let records = tokio::task::spawn_blocking(move || records_from_rows(&rows)).await??;
        let index = Arc::new(tokio::task::spawn_blocking(move || AreaIndex::new(records)).await?);
        tracing::info!(areas.count = index.len(), "area index loaded");
        if let (Some(v), Ok(mut g)) = (stored, self.inner.write()) {
            *g = Some((v, index));
        }
        Ok(true)
    }
}

pub fn records_from_rows(rows: &[AreaRow]) -> anyhow::Result<Vec<AreaRecord>> {
    rows.iter()
        .map(|r| {
            Ok(AreaRecord {
                code: r.code.clone(),
                name: r.name.clone(),
                level: AreaLevel::parse(&r.level).with_context(|| format!("area {} has unknown level {}", r.code, r.level))?,
                parent_code: r.parent_code.clone(),
                province_code: r.province_code.clone(),
                inhabitants: r.inhabitants,
                geometry: geometry_from_geojson(&r.geometry).map_err(|e| anyhow::anyhow!("area {}: {e}", r.code))?,
            })
        })
        .collect()
}

pub fn rows_from_records(records: &[AreaRecord]) -> Vec<AreaRow> {
    records.iter().filter_map(|a| area_row(a, None)).collect()
}

/// The stored row of an area: its full geometry, and a simplified copy for maps of `display`
/// (e.g. the land only) or else of the full geometry. `None` for an empty geometry.
pub fn area_row(a: &AreaRecord, display: Option<&geo::MultiPolygon<f64>>) -> Option<AreaRow> {
    use geo::Simplify;
    let [min_lon, min_lat, max_lon, max_lat] = a.bbox()?;
    let simplified = display.map_or_else(|| a.simplified(), |d| d.simplify(0.0003));
    Some(AreaRow {
        code: a.code.clone(),
        name: a.name.clone(),
        level: a.level.as_str().to_string(),
        parent_code: a.parent_code.clone(),
        province_code: a.province_code.clone(),
        inhabitants: a.inhabitants,
        min_lon,
        min_lat,
        max_lon,
        max_lat,
        geometry: geometry_to_geojson(&a.geometry),
        geometry_simplified: geometry_to_geojson(&simplified),
    })
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AreaImportSummary {
    pub areas: usize,
    pub by_level: Vec<(String, usize)>,
    pub address_points: usize,
    pub synthetic: bool,
}

/// Imports the CBS files from `folder`, or the synthetic demo town when `folder` is `None`.
pub async fn import_areas(store: &Store, folder: Option<&Path>, version: &str) -> anyhow::Result<AreaImportSummary> {
    let (records, points) = match folder {
        Some(f) => {
            let f = f.to_path_buf();
            tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let records = buurtnet_geo::load_folder(&f)?;
                let points_file = f.join(ADDRESS_POINTS_FILE);
                let points = if points_file.is_file() { read_address_points(&points_file)? } else { Vec::new() };
                Ok((records, points))
            })
            .await??
        }
        None => (buurtnet_geo::synthetic::synthetic_town(), Vec::new()),
    };
    let rows = tokio::task::spawn_blocking({
        let records = records.clone();
        move || rows_from_records(&records)
    })
    .await?;
    store.replace_areas(&rows, version).await?;
    // Merged into the table (the file's first row of an address wins): addresses imported from
    // the official register (`import-addresses`) stay when the areas are imported again.
    let mut seen = std::collections::HashSet::new();
    let points: Vec<AddressPoint> =
        points.into_iter().filter(|p| seen.insert((p.postcode.clone(), p.house_number.clone()))).collect();
    store.upsert_address_points(&points).await?;
    let mut by_level: Vec<(String, usize)> = AreaLevel::ALL
        .iter()
        .map(|l| (l.as_str().to_string(), records.iter().filter(|r| r.level == *l).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    by_level.sort();
    Ok(AreaImportSummary { areas: rows.len(), by_level, address_points: points.len(), synthetic: folder.is_none() })
}

/// Reads address points (street, housenumber, postcode) from a GeoJSON file of points.
pub fn read_address_points(path: &Path) -> anyhow::Result<Vec<AddressPoint>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let fc: geojson::FeatureCollection = text.parse::<geojson::GeoJson>()?.try_into()?;
    let mut out = Vec::new();
    for f in fc.features {
        let props = f.properties.unwrap_or_default();
        let s = |k: &str| props.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let (Some(pc), Some(hn)) = (s("postcode"), s("housenumber")) else { continue };
        let (Some(postcode), Some(house)) =
            (buurtnet_domain::postcode::Postcode::parse(&pc), buurtnet_domain::postcode::HouseNumber::parse(&hn))
        else {
            continue;
        };
        let Some(geojson::GeometryValue::Point { coordinates: c }) = f.geometry.map(|g| g.value) else { continue };
        let c: Vec<f64> = c.as_slice().to_vec();
        if c.len() < 2 {
            continue;
        }
        out.push(AddressPoint {
            postcode: postcode.as_str().to_string(),
            house_number: house.as_str().to_string(),
            street: s("street"),
            city: s("city"),
            lat: c[1],
            lon: c[0],
        });
    }
    Ok(out)
}
