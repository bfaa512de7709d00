//! Putting official files together with the areas already stored: each file replaces only its
//! own levels; what a municipality belongs to comes from the gebiedsindelingen register when it
//! is imported, else stays as it was (a new, merged municipality takes the memberships of the
//! old municipality that held its interior point). Provinces, safety regions and police units
//! are then outlined as the union of their member municipalities, so every level nests exactly.

use crate::official::{FileKind, OfficialFile};
use crate::{AreaIndex, AreaRecord};
use buurtnet_domain::AreaLevel;
use geo::{InteriorPoint, MultiPolygon, Simplify};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

#[derive(Debug, Default)]
pub struct Composed {
    /// Every area of the levels in `levels`, as they are to be stored.
    pub areas: Vec<AreaRecord>,
    /// The levels whose stored areas `areas` replace; other levels stay as they are.
    pub levels: Vec<AreaLevel>,
    /// Codes whose geometry is new (read from a file or a fresh union). The others keep their
    /// stored geometry and display copy.
    pub fresh: HashSet<String>,
    /// Land-only display outlines of areas read from a file.
    pub display: HashMap<String, MultiPolygon<f64>>,
    /// Municipalities without a known province or safety region after the import.
    pub without_membership: Vec<String>,
}

struct Region {
    name: String,
    parent: Option<String>,
    members: Vec<usize>,
}

/// Puts `files` on top of `existing` (the stored areas).
pub fn compose(existing: Vec<AreaRecord>, files: Vec<OfficialFile>) -> Composed {
    let mut out = Composed::default();
    let old_index = AreaIndex::new(
        existing
            .iter()
            .filter(|a| {
                matches!(a.level, AreaLevel::Municipality | AreaLevel::SafetyRegion | AreaLevel::PoliceUnit | AreaLevel::Province)
            })
            .cloned()
            .collect(),
    );
    let mut by_level: HashMap<AreaLevel, Vec<AreaRecord>> = HashMap::new();
    for a in existing {
        by_level.entry(a.level).or_default().push(a);
    }
    let mut levels: BTreeSet<&'static str> = BTreeSet::new();
    let mut membership = None;
    let mut new_municipalities = false;
    for f in files {
        for l in f.levels() {
            levels.insert(l.as_str());
        }
        match f.kind {
            FileKind::Gebiedsindelingen => membership = Some(f.membership),
            FileKind::WijkBuurtKaart | FileKind::Postcode4 => {
                if f.kind == FileKind::WijkBuurtKaart {
                    new_municipalities = true;
                }
                for l in f.levels() {
                    by_level.insert(l, Vec::new());
                }
                for a in f.areas {
                    out.fresh.insert(a.record.code.clone());
                    out.display.insert(a.record.code.clone(), a.display);
                    by_level.entry(a.record.level).or_default().push(a.record);
                }
            }
        }
    }
    let old_regions: HashMap<String, AreaRecord> = [AreaLevel::Province, AreaLevel::SafetyRegion, AreaLevel::PoliceUnit]
        .iter()
        .flat_map(|l| by_level.get(l).cloned().unwrap_or_default())
        .map(|a| (a.code.clone(), a))
        .collect();
    let regions_change = new_municipalities || membership.is_some();
    let mut municipalities = by_level.remove(&AreaLevel::Municipality).unwrap_or_default();

    if regions_change {
        // Memberships of each municipality.
        let mut provinces: BTreeMap<String, Region> = BTreeMap::new();
        let mut safety_regions: BTreeMap<String, Region> = BTreeMap::new();
        let mut police_units: BTreeMap<String, Region> = BTreeMap::new();
        let old_name = |code: &str| old_regions.get(code).map(|r| r.name.clone()).unwrap_or_else(|| code.to_string());
        for (i, gm) in municipalities.iter_mut().enumerate() {
            let (mut pv, mut vr, mut re) = (None, None, None);
            if let Some(m) = membership.as_ref().and_then(|m| m.get(&gm.code)) {
                pv = m.province.clone();
                vr = m.safety_region.clone();
                re = m.police_unit.clone();
            }
            // Not in the register (or no register imported): keep what the municipality had, or
            // what the old municipality at its interior point had.
            let before = old_index.get(&gm.code).filter(|a| a.level == AreaLevel::Municipality).cloned().or_else(|| {
                let p = gm.geometry.interior_point()?;
                old_index.containing(AreaLevel::Municipality, p.y(), p.x()).first().map(|a| (*a).clone())
            });
            if let Some(b) = &before {
                if pv.is_none() {
                    pv = b.province_code.clone().map(|c| (c.clone(), old_name(&c)));
                }
                if vr.is_none() {
                    vr = b.parent_code.clone().filter(|c| c.starts_with("VR")).map(|c| (c.clone(), old_name(&c)));
                }
            }
            if re.is_none() {
                re = vr
                    .as_ref()
                    .and_then(|(v, _)| old_regions.get(v))
                    .and_then(|v| v.parent_code.clone())
                    .filter(|c| c.starts_with("RE"))
                    .map(|c| (c.clone(), old_name(&c)));
            }
            gm.province_code = pv.as_ref().map(|(c, _)| c.clone());
            gm.parent_code = vr.as_ref().map(|(c, _)| c.clone());
            if pv.is_none() || vr.is_none() {
                out.without_membership.push(gm.code.clone());
            }
            if let Some((c, n)) = pv {
                provinces
                    .entry(c)
                    .or_insert_with(|| Region { name: n, parent: Some("NL".into()), members: Vec::new() })
                    .members
                    .push(i);
            }
            if let Some((vc, vn)) = vr {
                let parent = re.as_ref().map(|(c, _)| c.clone());
                let r = safety_regions.entry(vc).or_insert_with(|| Region { name: vn, parent: None, members: Vec::new() });
                r.members.push(i);
                if r.parent.is_none() {
                    r.parent = parent;
                }
                if let Some((rc, rn)) = re {
                    police_units
                        .entry(rc)
                        .or_insert_with(|| Region { name: rn, parent: Some("NL".into()), members: Vec::new() })
                        .members
                        .push(i);
                }
            }
        }
        let union = |members: &[usize]| geo::unary_union(members.iter().map(|i| &municipalities[*i].geometry));
        let inhabitants = |members: &[usize]| {
            let known: Vec<i64> = members.iter().filter_map(|i| municipalities[*i].inhabitants).collect();
            (!known.is_empty()).then(|| known.iter().sum())
        };
        let mut country = Vec::new();
        for (level, regions) in [
            (AreaLevel::Province, &provinces),
            (AreaLevel::SafetyRegion, &safety_regions),
            (AreaLevel::PoliceUnit, &police_units),
        ] {
            let mut records = Vec::new();
            for (code, r) in regions {
                let geometry = union(&r.members);
                if level == AreaLevel::Province {
                    country.extend(geometry.simplify(0.0003).0);
                }
                out.fresh.insert(code.clone());
                records.push(AreaRecord {
                    code: code.clone(),
                    name: r.name.clone(),
                    level,
                    parent_code: r.parent.clone(),
                    province_code: None,
                    inhabitants: inhabitants(&r.members),
                    geometry,
                });
            }
            by_level.insert(level, records);
            levels.insert(level.as_str());
        }
        let all: Vec<usize> = (0..municipalities.len()).collect();
        if !country.is_empty() {
            out.fresh.insert("NL".into());
            by_level.insert(
                AreaLevel::Country,
                vec![AreaRecord {
                    code: "NL".into(),
                    name: "Nederland".into(),
                    level: AreaLevel::Country,
                    parent_code: None,
                    province_code: None,
                    inhabitants: inhabitants(&all),
                    geometry: MultiPolygon(country),
                }],
            );
            levels.insert(AreaLevel::Country.as_str());
        }
        levels.insert(AreaLevel::Municipality.as_str());
    }

    // PC4 areas belong (approximately) to the municipality holding their interior point.
    if regions_change || levels.contains(AreaLevel::Pc4.as_str()) {
        let gm_index = AreaIndex::new(municipalities.clone());
        for pc in by_level.entry(AreaLevel::Pc4).or_default().iter_mut() {
            if let Some(p) = pc.geometry.interior_point() {
                pc.parent_code = gm_index.containing(AreaLevel::Municipality, p.y(), p.x()).first().map(|g| g.code.clone());
            }
        }
        levels.insert(AreaLevel::Pc4.as_str());
    }
    by_level.insert(AreaLevel::Municipality, municipalities);

    out.levels = levels.iter().filter_map(|l| AreaLevel::parse(l)).collect();
    for l in &out.levels {
        out.areas.extend(by_level.remove(l).unwrap_or_default());
    }
    out
}
