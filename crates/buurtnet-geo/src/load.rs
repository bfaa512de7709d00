//! Reading the CBS area files of `shared/data/nl` (see its README) into one consistent set of
//! areas: the 2024 national files are the backbone, the 2015 regional files add neighbourhoods,
//! each linked to the 2024 district that holds its interior point.

use crate::area::{AreaRecord, multipolygon_from_value};
use crate::index::AreaIndex;
use buurtnet_domain::AreaLevel;
use geo::{InteriorPoint, MultiPolygon};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum GeoLoadError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid GeoJSON: {message}")]
    Json { path: PathBuf, message: String },
    #[error("{path}, feature {index}: {message}")]
    Feature { path: PathBuf, index: usize, message: String },
    #[error("{path}, line {line}: {message}")]
    Csv { path: PathBuf, line: usize, message: String },
    #[error("the geodata folder {0} has no {1}; see shared/data/nl/README.md for the expected files")]
    Missing(PathBuf, &'static str),
}

const PROVINCES: &str = "nl_provincies.geojson";
const POLICE_UNITS: &str = "nl_politie_eenheden.geojson";
const SAFETY_REGIONS: &str = "nl_veiligheidsregios_2023.geojson";
const MUNICIPALITIES: &str = "nl_gemeenten_2024.geojson";
const DISTRICTS: &str = "nl_wijken_2024.geojson";
const PC4: &str = "nl_pc4.geojson";
const HIERARCHY: &str = "nl_gemeente_hierarchy_2024.csv";

struct RawFeature {
    code: String,
    name: String,
    parent_code: Option<String>,
    inhabitants: Option<i64>,
    extra: serde_json::Map<String, serde_json::Value>,
    geometry: MultiPolygon<f64>,
}

fn read_features(path: &Path) -> Result<Vec<RawFeature>, GeoLoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| GeoLoadError::Io { path: path.into(), source })?;
    let fc: geojson::FeatureCollection = text
        .parse::<geojson::GeoJson>()
        .map_err(|e| GeoLoadError::Json { path: path.into(), message: e.to_string() })?
        .try_into()
        .map_err(|e: geojson::Error| GeoLoadError::Json { path: path.into(), message: e.to_string() })?;
    let mut out = Vec::with_capacity(fc.features.len());
    for (index, f) in fc.features.into_iter().enumerate() {
        let err = |message: String| GeoLoadError::Feature { path: path.into(), index, message };
        let props = f.properties.unwrap_or_default();
        let text_prop = |k: &str| props.get(k).and_then(|v| v.as_str()).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let code = text_prop("code").ok_or_else(|| err("no code property".into()))?;
        let name = text_prop("name").unwrap_or_else(|| code.clone());
        let parent_code = text_prop("parent_code");
        let inhabitants = props.get("inhabitants").and_then(|v| v.as_i64());
        let Some(geometry) = f.geometry else { continue };
        let geometry = multipolygon_from_value(geometry.value).map_err(|m| err(format!("{code}: {m}")))?;
        if geometry.0.is_empty() {
            continue;
        }
        out.push(RawFeature { code, name, parent_code, inhabitants, extra: props, geometry });
    }
    Ok(out)
}

fn record(f: RawFeature, level: AreaLevel, parent: Option<String>, province: Option<String>) -> AreaRecord {
    AreaRecord {
        code: f.code,
        name: f.name,
        level,
        parent_code: parent,
        province_code: province,
        inhabitants: f.inhabitants,
        geometry: f.geometry,
    }
}

struct Hierarchy {
    province: String,
    safety_region: String,
}

fn read_hierarchy(path: &Path) -> Result<HashMap<String, Hierarchy>, GeoLoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| GeoLoadError::Io { path: path.into(), source })?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &'static str| {
        header.iter().position(|h| h.trim() == name).ok_or(GeoLoadError::Csv {
            path: path.into(),
            line: 1,
            message: format!("no column {name}"),
        })
    };
    let (gm, pv, vr) = (col("gemeente_code")?, col("province_code")?, col("vr_code")?);
    let mut out = HashMap::new();
    for (i, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').collect();
        let get = |c: usize| cells.get(c).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        match (get(gm), get(pv), get(vr)) {
            (Some(g), Some(p), Some(v)) => {
                out.insert(g, Hierarchy { province: p, safety_region: v });
            }
            _ => {
                return Err(GeoLoadError::Csv {
                    path: path.into(),
                    line: i + 2,
                    message: "missing municipality, province or safety region code".into(),
                });
            }
        }
    }
    Ok(out)
}

fn need(folder: &Path, file: &'static str) -> Result<PathBuf, GeoLoadError> {
    let p = folder.join(file);
    if p.is_file() { Ok(p) } else { Err(GeoLoadError::Missing(folder.into(), file)) }
}

/// Loads every level from the folder. Neighbourhoods come from any `*_buurten_*.geojson`.
pub fn load_folder(folder: &Path) -> Result<Vec<AreaRecord>, GeoLoadError> {
    let hierarchy = read_hierarchy(&need(folder, HIERARCHY)?)?;
    let mut areas = Vec::new();

    let provinces = read_features(&need(folder, PROVINCES)?)?;
    let mut country_parts = Vec::new();
    for p in provinces {
        country_parts.extend(p.geometry.0.iter().cloned());
        areas.push(record(p, AreaLevel::Province, Some("NL".into()), None));
    }
    for f in read_features(&need(folder, POLICE_UNITS)?)? {
        areas.push(record(f, AreaLevel::PoliceUnit, Some("NL".into()), None));
    }
    for f in read_features(&need(folder, SAFETY_REGIONS)?)? {
        let parent = f.parent_code.clone();
        areas.push(record(f, AreaLevel::SafetyRegion, parent, None));
    }
    let mut national_inhabitants = 0;
    for f in read_features(&need(folder, MUNICIPALITIES)?)? {
        let h = hierarchy.get(&f.code);
        let vr = h.map(|h| h.safety_region.clone()).or_else(|| f.extra.get("vr_code").and_then(|v| v.as_str()).map(String::from));
        let pv = h.map(|h| h.province.clone()).or_else(|| f.parent_code.clone());
        national_inhabitants += f.inhabitants.unwrap_or(0);
        areas.push(record(f, AreaLevel::Municipality, vr, pv));
    }
    for f in read_features(&need(folder, DISTRICTS)?)? {
        let parent = f.parent_code.clone();
        areas.push(record(f, AreaLevel::District, parent, None));
    }
    for f in read_features(&need(folder, PC4)?)? {
        let parent = f.parent_code.clone();
        areas.push(record(f, AreaLevel::Pc4, parent, None));
    }

    // 2015 neighbourhoods: link each to the 2024 district holding its interior point.
    let district_index = AreaIndex::new(
        areas.iter().filter(|a| matches!(a.level, AreaLevel::District | AreaLevel::Municipality)).cloned().collect(),
    );
    let mut buurt_files: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(|source| GeoLoadError::Io { path: folder.into(), source })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains("_buurten_") && n.ends_with(".geojson")))
        .collect();
    buurt_files.sort();
    let mut seen = std::collections::HashSet::new();
    for path in buurt_files {
        for f in read_features(&path)? {
            if !seen.insert(f.code.clone()) {
                continue;
            }
            let parent = f.geometry.interior_point().and_then(|p| {
                let (lon, lat) = (p.x(), p.y());
                district_index
                    .containing(AreaLevel::District, lat, lon)
                    .first()
                    .map(|d| d.code.clone())
                    .or_else(|| district_index.containing(AreaLevel::Municipality, lat, lon).first().map(|m| m.code.clone()))
            });
            let parent = parent.or_else(|| f.extra.get("gemeente_code").and_then(|v| v.as_str()).map(String::from));
            areas.push(record(f, AreaLevel::Neighbourhood, parent, None));
        }
    }

    areas.push(AreaRecord {
        code: "NL".into(),
        name: "Nederland".into(),
        level: AreaLevel::Country,
        parent_code: None,
        province_code: None,
        inhabitants: Some(national_inhabitants),
        geometry: MultiPolygon(country_parts),
    });
    Ok(areas)
}
