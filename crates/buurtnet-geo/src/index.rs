//! The in-memory area index: an R-tree of bounding boxes per level, then an exact
//! point-in-polygon test (boundary included) on the full-resolution outline through its band
//! index of edges ([`BandedPolygon`]), so outlines of thousands of vertices stay fast. Built from the areas in the database, so every
//! process that shares a database answers the same.

use crate::area::AreaRecord;
use crate::banded::BandedPolygon;
use crate::cover_cache::CoverCache;
use crate::target_area::{Covered, Overlap, PreparedPolygon, Shape};
use buurtnet_domain::AreaLevel;
use rstar::{AABB, RTree, primitives::GeomWithData, primitives::Rectangle};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// Boundary cells of an area's cover. Finer than for drawn shapes (the cover is made once per
/// area and kept), so that fewer addresses need the exact test.
pub const OUTLINE_COVER_BUDGET: usize = 2048;

type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

pub struct AreaIndex {
    areas: Vec<AreaRecord>,
    by_code: HashMap<String, usize>,
    trees: HashMap<AreaLevel, RTree<Entry>>,
    /// Per area, its outline's edges by band for point tests (empty for the country).
    banded: Vec<BandedPolygon>,
    /// Per area, made on first use: its outline prepared for point tests, with its cover.
    outlines: Vec<OnceLock<Arc<Covered>>>,
    /// Covers of drawn shapes asked for lately, with their scope overlaps.
    drawn: CoverCache,
}

impl std::fmt::Debug for AreaIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AreaIndex").field("areas", &self.areas.len()).finish()
    }
}

/// The areas a point lies in, one per level (codes).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Located {
    pub neighbourhood: Option<String>,
    pub district: Option<String>,
    pub municipality: Option<String>,
    pub pc4: Option<String>,
    pub safety_region: Option<String>,
    pub police_unit: Option<String>,
    pub province: Option<String>,
    /// The point lies in no municipality's outline (a sliver between simplified outlines) and
    /// was given the nearest district and municipality within a tolerance
    /// ([`AreaIndex::locate_near`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub approximate: bool,
}

impl Located {
    /// Every code, finest first.
    pub fn codes(&self) -> Vec<&str> {
        [
            &self.neighbourhood,
            &self.district,
            &self.municipality,
            &self.pc4,
            &self.safety_region,
            &self.police_unit,
            &self.province,
        ]
        .into_iter()
        .filter_map(|c| c.as_deref())
        .collect()
    }

    pub fn in_netherlands(&self) -> bool {
        self.municipality.is_some()
    }
}

impl AreaIndex {
    pub fn new(areas: Vec<AreaRecord>) -> AreaIndex {
        let mut by_code = HashMap::with_capacity(areas.len());
        let mut entries: HashMap<AreaLevel, Vec<Entry>> = HashMap::new();
        for (i, a) in areas.iter().enumerate() {
            by_code.insert(a.code.clone(), i);
            if a.level == AreaLevel::Country {
                continue; // the country is every municipality; no need to test its outline
            }
            if let Some([x0, y0, x1, y1]) = a.bbox() {
                let rect = Rectangle::from_corners([x0, y0], [x1, y1]);
                entries.entry(a.level).or_default().push(GeomWithData::new(rect, i));
            }
        }
        let trees = entries.into_iter().map(|(level, e)| (level, RTree::bulk_load(e))).collect();
        let outlines = areas.iter().map(|_| OnceLock::new()).collect();
        let empty = geo::MultiPolygon(Vec::new());
        let banded =
            areas.iter().map(|a| BandedPolygon::new(if a.level == AreaLevel::Country { &empty } else { &a.geometry })).collect();
        AreaIndex { areas, by_code, trees, banded, outlines, drawn: CoverCache::default() }
    }

    /// An area's outline, prepared for exact point tests and covered by cell ranges (made on
    /// first use, then shared). `None` for an unknown code.
    pub fn outline(&self, code: &str) -> Option<Arc<Covered>> {
        let i = *self.by_code.get(code)?;
        let outline = self.outlines[i].get_or_init(|| {
            let shape = Shape::Polygon(PreparedPolygon::new(self.areas[i].geometry.clone()));
            Arc::new(Covered::new(shape, OUTLINE_COVER_BUDGET))
        });
        Some(outline.clone())
    }

    /// A drawn shape with its cover (`budget` boundary cells), kept for the next request of the
    /// same shape ([`CoverCache`]).
    pub fn cover_drawn(&self, shape: Shape, budget: usize) -> Arc<Covered> {
        self.drawn.covered(shape, budget)
    }

    /// How a drawn shape (from [`AreaIndex::cover_drawn`]) lies relative to a scope, kept with it.
    pub fn drawn_overlap(&self, covered: &Arc<Covered>, scope: &str, compute: impl FnOnce() -> Overlap) -> Overlap {
        self.drawn.overlap(covered, scope, compute)
    }

    /// Whether a point lies in a Dutch municipality: the same answer as
    /// `locate(lat, lon).in_netherlands()` without the neighbourhood and PC4 look-ups.
    pub fn in_netherlands(&self, lat: f64, lon: f64) -> bool {
        self.first(AreaLevel::Municipality, lat, lon).is_some()
            || self.first(AreaLevel::District, lat, lon).and_then(|d| self.get(&d).and_then(|d| d.parent_code.clone())).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    pub fn len(&self) -> usize {
        self.areas.len()
    }

    pub fn get(&self, code: &str) -> Option<&AreaRecord> {
        self.by_code.get(code).map(|i| &self.areas[*i])
    }

    pub fn areas(&self) -> &[AreaRecord] {
        &self.areas
    }

    /// Where an area lies in the administrative tree, for scope decisions
    /// ([`buurtnet_domain::staff::Scope::covers`]): the municipality it lies in (itself, or up to
    /// four levels up) and the police unit above that municipality or safety region.
    pub fn place_of<'a>(&'a self, code: &'a str) -> buurtnet_domain::staff::Place<'a> {
        let parent = |c: &str| self.get(c).and_then(|a| a.parent_code.as_deref());
        let mut municipality = None;
        let mut cur = self.get(code);
        for _ in 0..5 {
            let Some(area) = cur else { break };
            if area.level == AreaLevel::Municipality {
                municipality = Some(area.code.as_str());
                break;
            }
            cur = area.parent_code.as_deref().and_then(|p| self.get(p));
        }
        let police_unit = match (municipality, AreaLevel::of_code(code)) {
            (Some(gm), _) => parent(gm).and_then(parent),
            (None, Some(AreaLevel::SafetyRegion)) => parent(code),
            (None, Some(AreaLevel::PoliceUnit)) => self.get(code).map(|a| a.code.as_str()),
            _ => None,
        };
        buurtnet_domain::staff::Place { code, municipality, police_unit }
    }

    /// Areas of one level that contain the point (boundary included), sorted by code.
    pub fn containing(&self, level: AreaLevel, lat: f64, lon: f64) -> Vec<&AreaRecord> {
        let Some(tree) = self.trees.get(&level) else { return Vec::new() };
        let probe = AABB::from_point([lon, lat]);
        let mut found: Vec<&AreaRecord> = tree
            .locate_in_envelope_intersecting(probe)
            .filter(|e| self.banded[e.data].contains(lon, lat))
            .map(|e| &self.areas[e.data])
            .collect();
        found.sort_by(|a, b| a.code.cmp(&b.code));
        found
    }

    /// Areas of one level whose geometry may intersect a rectangle (bounding boxes only).
    pub fn intersecting(&self, level: AreaLevel, rect: &geo::Rect<f64>) -> Vec<&AreaRecord> {
        let Some(tree) = self.trees.get(&level) else { return Vec::new() };
        let probe = AABB::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]);
        tree.locate_in_envelope_intersecting(probe).map(|e| &self.areas[e.data]).collect()
    }

    fn first(&self, level: AreaLevel, lat: f64, lon: f64) -> Option<String> {
        self.containing(level, lat, lon).first().map(|a| a.code.clone())
    }

    /// The areas a point lies in. The district decides the municipality (so an address's codes
    /// always form one consistent chain); the municipality decides safety region, police unit and
    /// province through the imported hierarchy.
    pub fn locate(&self, lat: f64, lon: f64) -> Located {
        let neighbourhood = self.first(AreaLevel::Neighbourhood, lat, lon);
        let district = self.first(AreaLevel::District, lat, lon);
        let municipality = district
            .as_deref()
            .and_then(|d| self.get(d))
            .and_then(|d| d.parent_code.clone())
            .or_else(|| self.first(AreaLevel::Municipality, lat, lon));
        let pc4 = self.first(AreaLevel::Pc4, lat, lon);
        self.chain(neighbourhood, district, municipality, pc4)
    }

    /// Completes a chain from its municipality: safety region, police unit and province.
    fn chain(
        &self,
        neighbourhood: Option<String>,
        district: Option<String>,
        municipality: Option<String>,
        pc4: Option<String>,
    ) -> Located {
        let gm = municipality.as_deref().and_then(|c| self.get(c));
        let safety_region = gm.and_then(|g| g.parent_code.clone()).filter(|c| c.starts_with("VR"));
        let police_unit = safety_region.as_deref().and_then(|c| self.get(c)).and_then(|v| v.parent_code.clone());
        let province = gm.and_then(|g| g.province_code.clone());
        Located { neighbourhood, district, municipality, pc4, safety_region, police_unit, province, approximate: false }
    }

    /// As [`AreaIndex::locate`], but a point in no municipality's outline within `tolerance_m`
    /// metres of one (simplified outlines leave slivers of a few metres between neighbours) gets
    /// the chain of the neighbourhood that contains it where one does, else the nearest
    /// district's chain, else the nearest municipality's, marked `approximate`. Beyond the
    /// tolerance the point stays outside (`in_netherlands()` is false).
    pub fn locate_near(&self, lat: f64, lon: f64, tolerance_m: f64) -> Located {
        let at = self.locate(lat, lon);
        if at.in_netherlands() || tolerance_m.is_nan() || tolerance_m <= 0.0 || !lat.is_finite() || !lon.is_finite() {
            return at;
        }
        let of_neighbourhood = at
            .neighbourhood
            .as_deref()
            .and_then(|b| self.get(b))
            .and_then(|b| b.parent_code.as_deref())
            .and_then(|w| self.get(w))
            .filter(|w| w.level == AreaLevel::District && w.parent_code.is_some())
            .map(|w| w.code.clone());
        let district = of_neighbourhood.or_else(|| self.nearest(AreaLevel::District, lat, lon, tolerance_m));
        let municipality = match district.as_deref().and_then(|d| self.get(d)).and_then(|d| d.parent_code.clone()) {
            Some(gm) => Some(gm),
            None => self.nearest(AreaLevel::Municipality, lat, lon, tolerance_m),
        };
        if municipality.is_none() {
            return at;
        }
        let Located { neighbourhood, pc4, .. } = at;
        Located { approximate: true, ..self.chain(neighbourhood, district, municipality, pc4) }
    }

    /// The area of one level nearest to a point (outside it) within `tolerance_m` metres
    /// (haversine distance to the closest point of its outline); ties go to the lower code.
    fn nearest(&self, level: AreaLevel, lat: f64, lon: f64, tolerance_m: f64) -> Option<String> {
        use geo::{Closest, Distance, Haversine, HaversineClosestPoint, Point};
        let tree = self.trees.get(&level)?;
        let dlat = tolerance_m / 111_000.0;
        let dlon = tolerance_m / (111_000.0 * lat.to_radians().cos().max(0.01));
        let probe = AABB::from_corners([lon - dlon, lat - dlat], [lon + dlon, lat + dlat]);
        let p = Point::new(lon, lat);
        let mut best: Option<(f64, &str)> = None;
        for e in tree.locate_in_envelope_intersecting(probe) {
            let area = &self.areas[e.data];
            let rings = area.geometry.0.iter().flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()));
            let distance = rings
                .flat_map(|ring| ring.lines())
                .map(|l| match l.haversine_closest_point(&p) {
                    Closest::SinglePoint(q) | Closest::Intersection(q) => Haversine.distance(p, q),
                    Closest::Indeterminate => f64::INFINITY,
                })
                .fold(f64::INFINITY, f64::min);
            let better = best.is_none_or(|(d, code)| distance < d || (distance == d && area.code.as_str() < code));
            if distance <= tolerance_m && better {
                best = Some((distance, &area.code));
            }
        }
        best.map(|(_, code)| code.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{MultiPolygon, polygon};

    fn square(code: &str, level: AreaLevel, parent: Option<&str>, x: f64, y: f64, size: f64) -> AreaRecord {
        AreaRecord {
            code: code.into(),
            name: code.into(),
            level,
            parent_code: parent.map(String::from),
            province_code: None,
            inhabitants: None,
            geometry: MultiPolygon(vec![
                polygon![(x: x, y: y), (x: x + size, y: y), (x: x + size, y: y + size), (x: x, y: y + size), (x: x, y: y)],
            ]),
        }
    }

    #[test]
    fn boundary_points_count_as_inside_and_chain_is_consistent() {
        let idx = AreaIndex::new(vec![
            square("RE03", AreaLevel::PoliceUnit, Some("NL"), 5.0, 52.0, 1.0),
            square("VR09", AreaLevel::SafetyRegion, Some("RE03"), 5.0, 52.0, 1.0),
            square("GM0307", AreaLevel::Municipality, Some("VR09"), 5.0, 52.0, 0.5),
            square("WK030701", AreaLevel::District, Some("GM0307"), 5.0, 52.0, 0.25),
        ]);
        let l = idx.locate(52.25, 5.1); // on the district's top edge
        assert_eq!(l.district.as_deref(), Some("WK030701"));
        assert_eq!(l.municipality.as_deref(), Some("GM0307"));
        assert_eq!(l.safety_region.as_deref(), Some("VR09"));
        assert_eq!(l.police_unit.as_deref(), Some("RE03"));
        assert_eq!(idx.locate(52.4, 5.4).district, None);
        assert_eq!(idx.locate(52.4, 5.4).municipality.as_deref(), Some("GM0307"));
        assert!(!idx.locate(40.0, 5.0).in_netherlands());
    }
}
