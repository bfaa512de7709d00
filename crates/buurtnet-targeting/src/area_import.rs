//! `buurtnet import-areas --gpkg FILE…`: importing the official CBS GeoPackages on top of the
//! stored areas, while servers keep running.
//!
//! 1. every file is read and checked (and hashed) before anything is written, so a corrupt or
//!    unexpected file changes nothing;
//! 2. the files are put together with the stored areas (each replaces only its own levels) and
//!    stored in one transaction with a record of each file (`area_imports`); running servers
//!    reload their area index when they see the new `areas_version`;
//! 3. every address's area codes are recomputed against the new areas and changed ones are
//!    written page by page, each page one transaction with a change-feed row, so the targeting
//!    replicas follow without a restart;
//! 4. staff accounts whose scope names a code that no longer exists are reported.

use crate::geography::{area_row, records_from_rows};
use anyhow::Context;
use buurtnet_domain::AreaLevel;
use buurtnet_geo::official::{OfficialFile, read_official};
use buurtnet_geo::{AreaIndex, AreaRecord};
use buurtnet_store::{AddressAreas, AreaImport, AreaRow, Store};
use sha2::Digest;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The attribution every use of the official data must show (CC BY 4.0).
pub const ATTRIBUTION_NL: &str =
    "Bron: CBS, Kadaster (Wijk- en buurtkaart, CBS gebiedsindelingen, CBS postcode4), via PDOK; CC BY 4.0";
pub const ATTRIBUTION_EN: &str =
    "Source: CBS, Kadaster (Wijk- en buurtkaart, CBS gebiedsindelingen, CBS postcode4), via PDOK; CC BY 4.0";

/// Addresses read and written per page when their area codes are recomputed.
const ADDRESS_PAGE: i64 = 5_000;

/// A file to import, with where it was downloaded from (if it was).
#[derive(Debug, Clone)]
pub struct ImportFile {
    pub path: PathBuf,
    pub source_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileReport {
    pub file_name: String,
    pub kind: String,
    pub year: Option<i32>,
    pub size_bytes: u64,
    pub sha256: String,
    pub areas: usize,
}

/// A staff account whose scope names an area code that is not stored (any more).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StaleScope {
    pub user_id: i64,
    pub email: String,
    pub role: String,
    pub scope: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GpkgImportReport {
    pub files: Vec<FileReport>,
    /// Levels replaced, with their number of areas.
    pub levels: Vec<(String, usize)>,
    pub addresses_checked: usize,
    pub addresses_changed: usize,
    pub without_membership: Vec<String>,
    pub stale_scopes: Vec<StaleScope>,
}

/// SHA-256 (hex) and size of a file, read in blocks.
pub fn file_digest(path: &Path) -> anyhow::Result<(String, u64)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((hex::encode(hasher.finalize()), size))
}

fn file_name(path: &Path) -> String {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string()
}

/// Reads and checks the files (nothing is written).
async fn read_files(
    files: &[ImportFile],
    expected_year: Option<i32>,
) -> anyhow::Result<Vec<(OfficialFile, FileReport, Option<String>)>> {
    anyhow::ensure!(!files.is_empty(), "give at least one GeoPackage file");
    let mut out = Vec::new();
    for f in files {
        let path = f.path.clone();
        let (sha256, size_bytes) = tokio::task::spawn_blocking(move || file_digest(&path)).await??;
        let official = read_official(&f.path).await?;
        if let (Some(want), Some(got)) = (expected_year, official.year) {
            anyhow::ensure!(want == got, "{} is of {got}, not of {want}", f.path.display());
        }
        let report = FileReport {
            file_name: file_name(&f.path),
            kind: official.kind.as_str().to_string(),
            year: official.year,
            size_bytes,
            sha256,
            areas: official.areas.len().max(official.membership.len()),
        };
        out.push((official, report, f.source_url.clone()));
    }
    let mut kinds = HashSet::new();
    for (o, r, _) in &out {
        anyhow::ensure!(kinds.insert(o.kind), "{}: two files of the kind {} in one import", r.file_name, r.kind);
    }
    let years: Vec<(i32, &str)> = out.iter().filter_map(|(o, r, _)| o.year.map(|y| (y, r.file_name.as_str()))).collect();
    if let (Some(first), Some(other)) = (years.first(), years.iter().find(|(y, _)| *y != years[0].0)) {
        anyhow::bail!(
            "one import is one year: {} is of {} but {} is of {}; import them separately",
            first.1,
            first.0,
            other.1,
            other.0
        );
    }
    Ok(out)
}

/// Imports official GeoPackages (see the module documentation); with `expected_year`, files of
/// another year are refused. `at` is Unix milliseconds.
pub async fn import_gpkg(
    store: &Store,
    files: &[ImportFile],
    expected_year: Option<i32>,
    at: i64,
    version: &str,
) -> anyhow::Result<GpkgImportReport> {
    let read = read_files(files, expected_year).await?;
    let stored = store.all_areas().await?;
    let mut reports = Vec::new();
    let mut officials = Vec::new();
    let mut imports = Vec::new();
    for (o, r, url) in read {
        imports.push(AreaImport {
            id: 0,
            imported_at: at,
            kind: r.kind.clone(),
            year: r.year.map(i64::from),
            file_name: r.file_name.clone(),
            size_bytes: r.size_bytes as i64,
            sha256: r.sha256.clone(),
            source_url: url,
            levels: o.levels().iter().map(|l| l.as_str()).collect::<Vec<_>>().join(","),
            areas: r.areas as i64,
        });
        officials.push(o);
        reports.push(r);
    }
    let (rows, levels, without_membership, index) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let existing = records_from_rows(&stored)?;
        let stored: HashMap<String, AreaRow> = stored.into_iter().map(|r| (r.code.clone(), r)).collect();
        let composed = buurtnet_geo::compose::compose(existing.clone(), officials);
        let rows: Vec<AreaRow> = composed
            .areas
            .iter()
            .filter_map(|a| {
                match stored.get(&a.code).filter(|_| !composed.fresh.contains(&a.code)) {
                    // Geometry unchanged: keep the stored text (and its land-only display copy).
                    Some(old) => Some(AreaRow {
                        name: a.name.clone(),
                        parent_code: a.parent_code.clone(),
                        province_code: a.province_code.clone(),
                        inhabitants: a.inhabitants,
                        ..old.clone()
                    }),
                    None => area_row(a, composed.display.get(&a.code)),
                }
            })
            .collect();
        let replaced: HashSet<AreaLevel> = composed.levels.iter().copied().collect();
        let mut all: Vec<AreaRecord> = existing.into_iter().filter(|a| !replaced.contains(&a.level)).collect();
        all.extend(composed.areas);
        Ok((rows, composed.levels, composed.without_membership, AreaIndex::new(all)))
    })
    .await??;
    let level_names: Vec<&str> = levels.iter().map(|l| l.as_str()).collect();
    store.replace_area_levels(&level_names, &rows, &imports, version).await?;
    let counts = levels.iter().map(|l| (l.as_str().to_string(), rows.iter().filter(|r| r.level == l.as_str()).count())).collect();
    let (addresses_checked, addresses_changed) = recompute_addresses(store, &index, at).await?;
    let stale_scopes = stale_scopes(store).await?;
    Ok(GpkgImportReport {
        files: reports,
        levels: counts,
        addresses_checked,
        addresses_changed,
        without_membership,
        stale_scopes,
    })
}

/// Recomputes every address's area codes against `index` and writes those that changed, a page
/// at a time (each page one transaction with its change-feed row). Returns (checked, changed).
pub async fn recompute_addresses(store: &Store, index: &AreaIndex, at: i64) -> anyhow::Result<(usize, usize)> {
    let (mut after, mut checked, mut changed) = (0i64, 0usize, 0usize);
    loop {
        let page = store.address_areas(after, ADDRESS_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        checked += page.len();
        let updates: Vec<AddressAreas> = page
            .into_iter()
            .filter_map(|a| {
                let l = index.locate(a.lat, a.lon);
                let new = AddressAreas {
                    neighbourhood_code: l.neighbourhood,
                    district_code: l.district,
                    municipality_code: l.municipality,
                    pc4: l.pc4,
                    safety_region_code: l.safety_region,
                    police_unit_code: l.police_unit,
                    province_code: l.province,
                    ..a.clone()
                };
                (new != a).then_some(new)
            })
            .collect();
        changed += updates.len();
        store.update_address_areas(&updates, at).await?;
    }
    Ok((checked, changed))
}

/// Staff accounts whose scope (other than the whole country) names no stored area.
pub async fn stale_scopes(store: &Store) -> anyhow::Result<Vec<StaleScope>> {
    let codes: HashSet<String> = store.list_areas(None, None).await?.into_iter().map(|a| a.code).collect();
    Ok(store
        .list_staff_users()
        .await?
        .into_iter()
        .filter(|u| !u.disabled && u.scope != "NL" && !codes.contains(&u.scope))
        .map(|u| StaleScope { user_id: u.id, email: u.email, role: u.role, scope: u.scope })
        .collect())
}
