//! The official CBS files as published on PDOK, read from their GeoPackages:
//! - the Wijk- en buurtkaart (`wijkenbuurten_{year}_vN.gpkg`): layers with `gemeentecode`,
//!   `wijkcode`, `buurtcode`, a `water` column (`NEE` land, `JA` water, `B` the Belgian
//!   enclaves) and `aantal_inwoners`;
//! - CBS gebiedsindelingen (`cbsgebiedsindelingen{year}.gpkg`): the register of each
//!   municipality's province, safety region (and police unit), and `*_gegeneraliseerd` layers;
//! - CBS postcode4 (`cbs_pc4_{year}_vN.gpkg`): `postcode` and `aantal_inwoners`.
//!
//! The kind of a file is told by its layers and columns, not its name. CBS's negative
//! placeholders (-99997 secret, -99995 not yet available, …) are read as unknown.

use crate::AreaRecord;
use crate::gpkg::{Gpkg, GpkgError, Layer};
use buurtnet_domain::AreaLevel;
use geo::{Contains, InteriorPoint, MultiPolygon, Point};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// What an official file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    WijkBuurtKaart,
    Gebiedsindelingen,
    Postcode4,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::WijkBuurtKaart => "wijkenbuurten",
            FileKind::Gebiedsindelingen => "gebiedsindelingen",
            FileKind::Postcode4 => "postcode4",
        }
    }
}

/// One area of an official file: land and water rows of one code merged.
#[derive(Debug, Clone)]
pub struct OfficialArea {
    /// Geometry = land and water (containment: a boat on a lake is in the municipality).
    pub record: AreaRecord,
    /// Land only, for display (the water part where an area is water only).
    pub display: MultiPolygon<f64>,
}

/// A municipality's membership of the larger regions, with their names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    pub province: Option<(String, String)>,
    pub safety_region: Option<(String, String)>,
    pub police_unit: Option<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct OfficialFile {
    pub kind: FileKind,
    pub year: Option<i32>,
    /// Areas read from the file (empty for a membership-only file).
    pub areas: Vec<OfficialArea>,
    /// Municipality code → membership (gebiedsindelingen only).
    pub membership: BTreeMap<String, Membership>,
}

impl OfficialFile {
    /// The levels whose areas this file replaces.
    pub fn levels(&self) -> Vec<AreaLevel> {
        match self.kind {
            FileKind::WijkBuurtKaart => vec![AreaLevel::Municipality, AreaLevel::District, AreaLevel::Neighbourhood],
            FileKind::Postcode4 => vec![AreaLevel::Pc4],
            FileKind::Gebiedsindelingen => vec![AreaLevel::Province, AreaLevel::SafetyRegion, AreaLevel::PoliceUnit],
        }
    }
}

/// A figure from CBS: negative numbers are placeholders (secret, not yet available), not values.
pub fn cbs_number(text: Option<&str>) -> Option<i64> {
    let t = text?.trim();
    let v = t
        .parse::<i64>()
        .ok()
        .or_else(|| t.parse::<f64>().ok().filter(|f| f.is_finite() && f.fract() == 0.0).map(|f| f as i64))?;
    (v >= 0).then_some(v)
}

fn year_of(text: Option<&str>) -> Option<i32> {
    let t = text?.trim();
    let y: i32 = t.get(..4)?.parse().ok()?;
    (1990..=2100).contains(&y).then_some(y)
}

/// Reads an official GeoPackage.
pub async fn read_official(path: &Path) -> Result<OfficialFile, GpkgError> {
    let mut g = Gpkg::open(path).await?;
    let layers = g.layers().await?;
    let register = g.columns("gebiedsindelingen_register").await?;
    let has = |l: &Layer, c: &str| l.column(&[c]).is_some();
    if let Some(layers) = wijkbuurt_layers(&layers) {
        return read_wijkbuurt(&mut g, layers).await;
    }
    if !register.is_empty() || layers.iter().any(|l| l.table.ends_with("_gegeneraliseerd")) {
        return read_gebiedsindelingen(&mut g, &layers, &register).await;
    }
    if let Some(l) = layers.iter().find(|l| has(l, "postcode") || has(l, "pc4")) {
        return read_pc4(&mut g, l).await;
    }
    Err(GpkgError::NotGpkg {
        path: path.into(),
        message: format!(
            "not an official CBS file: its layers ({}) are neither the Wijk- en buurtkaart (gemeentecode/wijkcode/buurtcode), \
             CBS gebiedsindelingen (gebiedsindelingen_register) nor CBS postcode4 (postcode)",
            layers.iter().map(|l| l.table.as_str()).collect::<Vec<_>>().join(", ")
        ),
    })
}

struct WijkBuurtLayers<'a> {
    municipalities: &'a Layer,
    districts: &'a Layer,
    neighbourhoods: &'a Layer,
}

fn wijkbuurt_layers(layers: &[Layer]) -> Option<WijkBuurtLayers<'_>> {
    let find = |code: &str, finer: &[&str]| {
        // The full-resolution layer with this code and none of the finer ones (skip generalised copies).
        layers.iter().find(|l| {
            l.column(&[code]).is_some() && finer.iter().all(|f| l.column(&[f]).is_none()) && !l.table.contains("gegeneraliseerd")
        })
    };
    Some(WijkBuurtLayers {
        municipalities: find("gemeentecode", &["wijkcode", "buurtcode"])?,
        districts: find("wijkcode", &["buurtcode"])?,
        neighbourhoods: find("buurtcode", &[])?,
    })
}

/// Land and water rows of one code, merged.
#[derive(Default)]
struct Merge {
    name: Option<String>,
    parent: Option<String>,
    inhabitants: Option<i64>,
    land: Vec<geo::Polygon<f64>>,
    water: Vec<geo::Polygon<f64>>,
}

/// Reads one level's layer: code, name, parent, water, inhabitants, year.
async fn read_level(
    g: &mut Gpkg,
    layer: &Layer,
    level: AreaLevel,
    code_col: &str,
    name_col: &str,
    parent_col: Option<&str>,
    year: &mut Option<i32>,
) -> Result<Vec<OfficialArea>, GpkgError> {
    let path = g.path().to_path_buf();
    let bad = |message: String| GpkgError::Layer { path: path.clone(), layer: layer.table.clone(), message };
    let code = layer.column(&[code_col]).ok_or_else(|| bad(format!("no column {code_col}")))?.to_string();
    let name = layer.column(&[name_col]).unwrap_or(&code).to_string();
    let parent = match parent_col {
        Some(p) => Some(layer.column(&[p]).ok_or_else(|| bad(format!("no column {p}")))?.to_string()),
        None => None,
    };
    let water = layer.column(&["water"]).map(str::to_string);
    let inhabitants = layer.column(&["aantal_inwoners", "aantalInwoners", "aant_inw"]).map(str::to_string);
    let jaar = layer.column(&["jaar", "jaarcode"]).map(str::to_string);
    let mut cols: Vec<&str> = vec![&code, &name];
    let parent_i = parent.as_deref().map(|p| {
        cols.push(p);
        cols.len() - 1
    });
    let water_i = water.as_deref().map(|p| {
        cols.push(p);
        cols.len() - 1
    });
    let inh_i = inhabitants.as_deref().map(|p| {
        cols.push(p);
        cols.len() - 1
    });
    let jaar_i = jaar.as_deref().map(|p| {
        cols.push(p);
        cols.len() - 1
    });
    let features = g.features(layer, &cols, 0).await?;
    let mut merged: BTreeMap<String, Merge> = BTreeMap::new();
    for f in features {
        let get = |i: Option<usize>| {
            i.and_then(|i| f.values.get(i).cloned().flatten()).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
        };
        let Some(code) = get(Some(0)) else {
            return Err(bad("a feature without a code".into()));
        };
        let water = get(water_i).unwrap_or_else(|| "NEE".into()).to_ascii_uppercase();
        // GM0998 "Buitenland" and the `B` rows: the Belgian enclaves are not Dutch territory.
        if water == "B" || code.get(2..6) == Some("0998") {
            continue;
        }
        if year.is_none() {
            *year = year_of(get(jaar_i).as_deref());
        }
        let m = merged.entry(code).or_default();
        if m.name.is_none() || water == "NEE" {
            m.name = get(Some(1));
        }
        if m.parent.is_none() {
            m.parent = get(parent_i);
        }
        if let Some(n) = cbs_number(get(inh_i).as_deref()) {
            m.inhabitants = Some(m.inhabitants.unwrap_or(0) + n);
        }
        if water == "JA" { m.water.extend(f.geometry.0) } else { m.land.extend(f.geometry.0) }
    }
    Ok(merged
        .into_iter()
        .filter(|(_, m)| !m.land.is_empty() || !m.water.is_empty())
        .map(|(code, m)| {
            let display = MultiPolygon(if m.land.is_empty() { m.water.clone() } else { m.land.clone() });
            let mut all = m.land;
            all.extend(m.water);
            OfficialArea {
                record: AreaRecord {
                    name: m.name.unwrap_or_else(|| code.clone()),
                    code,
                    level,
                    parent_code: m.parent,
                    province_code: None,
                    inhabitants: m.inhabitants,
                    geometry: MultiPolygon(all),
                },
                display,
            }
        })
        .collect())
}

async fn read_wijkbuurt(g: &mut Gpkg, l: WijkBuurtLayers<'_>) -> Result<OfficialFile, GpkgError> {
    let mut year = None;
    let mut areas =
        read_level(g, l.municipalities, AreaLevel::Municipality, "gemeentecode", "gemeentenaam", None, &mut year).await?;
    areas.extend(read_level(g, l.districts, AreaLevel::District, "wijkcode", "wijknaam", Some("gemeentecode"), &mut year).await?);
    areas.extend(
        read_level(g, l.neighbourhoods, AreaLevel::Neighbourhood, "buurtcode", "buurtnaam", Some("wijkcode"), &mut year).await?,
    );
    if !areas.iter().any(|a| a.record.level == AreaLevel::Municipality) {
        return Err(GpkgError::Layer {
            path: g.path().into(),
            layer: l.municipalities.table.clone(),
            message: "no municipalities in the file".into(),
        });
    }
    Ok(OfficialFile { kind: FileKind::WijkBuurtKaart, year, areas, membership: BTreeMap::new() })
}

async fn read_pc4(g: &mut Gpkg, layer: &Layer) -> Result<OfficialFile, GpkgError> {
    let mut year = None;
    let code = layer.column(&["postcode", "pc4"]).unwrap_or("postcode").to_string();
    let mut areas = read_level(g, layer, AreaLevel::Pc4, &code, &code, None, &mut year).await?;
    for a in &mut areas {
        let digits = a.record.code.split('.').next().unwrap_or_default().trim().to_string();
        if digits.is_empty() || digits.len() > 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(GpkgError::Feature {
                path: g.path().into(),
                layer: layer.table.clone(),
                code: a.record.code.clone(),
                message: "a postcode of four digits expected".into(),
            });
        }
        a.record.code = format!("{digits:0>4}");
        a.record.name = a.record.code.clone();
    }
    Ok(OfficialFile { kind: FileKind::Postcode4, year, areas, membership: BTreeMap::new() })
}

/// Statcode → (name, polygons in WGS84) of a `*_gegeneraliseerd` layer.
async fn generalised(
    g: &mut Gpkg,
    layers: &[Layer],
    table: &str,
    year: &mut Option<i32>,
) -> Result<Vec<(String, String, MultiPolygon<f64>)>, GpkgError> {
    let Some(l) = layers.iter().find(|l| l.table == table) else { return Ok(Vec::new()) };
    let (Some(code), Some(name)) = (l.column(&["statcode"]), l.column(&["statnaam"])) else { return Ok(Vec::new()) };
    let jr = l.column(&["jrstatcode", "jaarcode", "jaar"]).unwrap_or(code).to_string();
    let (code, name) = (code.to_string(), name.to_string());
    let rows = g.features(l, &[&code, &name, &jr], 0).await?;
    let mut out = Vec::new();
    for f in rows {
        let v = |i: usize| f.values.get(i).cloned().flatten().map(|s| s.trim().to_string()).unwrap_or_default();
        if year.is_none() {
            *year = year_of(Some(&v(2)));
        }
        out.push((v(0), v(1), f.geometry));
    }
    Ok(out)
}

async fn read_gebiedsindelingen(g: &mut Gpkg, layers: &[Layer], register: &[String]) -> Result<OfficialFile, GpkgError> {
    let mut year = None;
    let col = |names: &[&str]| names.iter().find_map(|n| register.iter().find(|c| c.eq_ignore_ascii_case(n)).cloned());
    let mut membership: BTreeMap<String, Membership> = BTreeMap::new();
    let names_of = |v: Vec<(String, String, MultiPolygon<f64>)>| v.into_iter().map(|(c, n, _)| (c, n)).collect::<HashMap<_, _>>();
    let provinces = generalised(g, layers, "provincie_gegeneraliseerd", &mut year).await?;
    let regions = generalised(g, layers, "veiligheidsregio_gegeneraliseerd", &mut year).await?;
    let units = generalised(g, layers, "regionale_eenheid_gegeneraliseerd", &mut year).await?;
    let municipalities = generalised(g, layers, "gemeente_gegeneraliseerd", &mut year).await?;
    // Where the register lacks a column, a municipality belongs to the region of the same
    // (generalised) family that holds its interior point.
    let by_point = |regions: &[(String, String, MultiPolygon<f64>)], gm: &MultiPolygon<f64>| {
        let p: Point<f64> = gm.interior_point()?;
        regions.iter().find(|(_, _, r)| r.contains(&p)).map(|(c, n, _)| (c.clone(), n.clone()))
    };
    let (pv_names, vr_names, re_names) = (names_of(provinces.clone()), names_of(regions.clone()), names_of(units.clone()));
    let named = |names: &HashMap<String, String>, code: String, name: Option<String>| {
        let name = name.or_else(|| names.get(&code).cloned()).unwrap_or_else(|| code.clone());
        (code, name)
    };
    if let Some(gm) = col(&["gm_code", "gemeentecode"]) {
        let fields = [
            Some(gm),
            col(&["pv_code", "provinciecode"]),
            col(&["pv_naam", "provincienaam"]),
            col(&["vr_code", "veiligheidsregiocode"]),
            col(&["vr_naam", "veiligheidsregionaam"]),
            col(&["re_code", "regionale_eenheid_code", "regionaleeenheidcode"]),
            col(&["re_naam", "regionale_eenheid_naam", "regionaleeenheidnaam"]),
        ];
        let present: Vec<&str> = fields.iter().flatten().map(String::as_str).collect();
        let rows = g.table_rows("gebiedsindelingen_register", &present).await?;
        for row in rows {
            let mut it = row.into_iter();
            let mut get = |f: &Option<String>| {
                if f.is_some() { it.next().flatten().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) } else { None }
            };
            let vals: Vec<Option<String>> = fields.iter().map(&mut get).collect();
            let Some(code) = vals[0].clone() else { continue };
            if code.get(2..6) == Some("0998") {
                continue;
            }
            let m = Membership {
                province: vals[1].clone().map(|c| named(&pv_names, c, vals[2].clone())),
                safety_region: vals[3].clone().map(|c| named(&vr_names, c, vals[4].clone())),
                police_unit: vals[5].clone().map(|c| named(&re_names, c, vals[6].clone())),
            };
            membership.insert(code, m);
        }
    }
    for (code, _, geometry) in &municipalities {
        if code.get(2..6) == Some("0998") {
            continue;
        }
        let m = membership.entry(code.clone()).or_default();
        if m.province.is_none() {
            m.province = by_point(&provinces, geometry);
        }
        if m.safety_region.is_none() {
            m.safety_region = by_point(&regions, geometry);
        }
        if m.police_unit.is_none() {
            m.police_unit = by_point(&units, geometry);
        }
    }
    if membership.is_empty() {
        return Err(GpkgError::NotGpkg {
            path: g.path().into(),
            message:
                "no gebiedsindelingen_register rows and no gemeente_gegeneraliseerd layer: no municipality membership to read"
                    .into(),
        });
    }
    if year.is_none() {
        year = g.path().file_name().and_then(|n| n.to_str()).and_then(|n| {
            let digits: String = n.chars().skip_while(|c| !c.is_ascii_digit()).take(4).collect();
            year_of(Some(&digits))
        });
    }
    Ok(OfficialFile { kind: FileKind::Gebiedsindelingen, year, areas: Vec::new(), membership })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_unknown() {
        assert_eq!(cbs_number(Some("-99997")), None);
        assert_eq!(cbs_number(Some("-99995")), None);
        assert_eq!(cbs_number(Some("1234")), Some(1234));
        assert_eq!(cbs_number(Some("1234.0")), Some(1234));
        assert_eq!(cbs_number(Some("0")), Some(0));
        assert_eq!(cbs_number(None), None);
        assert_eq!(cbs_number(Some("abc")), None);
    }
}
