//! Area expressions that messages are sent to, and how they are covered by cell-id ranges.
//!
//! `{"circle": {"lat", "lon", "radius_m"}}`, `{"polygon": GeoJSON}`, `{"areas": [codes]}` and
//! `{"union": [AREA, …]}`. A shape is covered by quadtree cells of the Z-order grid
//! (`buurtnet_domain::cell`): cells wholly inside become id ranges whose addresses need no further
//! test, cells on the boundary become ranges whose addresses get the exact test (haversine
//! distance for circles, point-in-polygon with the boundary included for polygons).

use crate::index::AreaIndex;
use buurtnet_domain::cell::Cell;
use buurtnet_domain::{AreaLevel, Bounds, FieldErrors, NL_BOUNDS};
use geo::{
    BoundingRect, Closest, Coord, Distance, Haversine, HaversineClosestPoint, Intersects, Kernel, Line, MultiPolygon,
    Orientation, Point, Rect, Relate,
};
use rstar::{AABB, RTree, primitives::GeomWithData, primitives::Rectangle};
use serde_json::Value;
use std::sync::Arc;

pub const MIN_RADIUS_M: f64 = 25.0;
pub const MAX_RADIUS_M: f64 = 100_000.0;
pub const MAX_VERTICES: usize = 10_000;
const MAX_UNION_MEMBERS: usize = 100;
const MAX_DEPTH: usize = 4;

/// How a cell relates to a shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Inside,
    Outside,
    Boundary,
}

pub enum Shape {
    Circle { lat: f64, lon: f64, radius_m: f64 },
    Polygon(PreparedPolygon),
}

impl std::fmt::Debug for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shape::Circle { lat, lon, radius_m } => write!(f, "Circle({lat}, {lon}, {radius_m} m)"),
            Shape::Polygon(p) => write!(f, "Polygon({} parts)", p.shape.0.len()),
        }
    }
}

/// An edge of a prepared polygon: the line, the index of its polygon and of its ring (0 is the
/// exterior, 1… the holes in order).
type Edge = GeomWithData<Rectangle<[f64; 2]>, (Line<f64>, u32, u32)>;

/// A (multi)polygon with an R-tree of its edges, for fast cell classification and a fast exact
/// point test.
pub struct PreparedPolygon {
    pub shape: MultiPolygon<f64>,
    edges: RTree<Edge>,
    min_x: f64,
    max_x: f64,
}

/// Where a point lies relative to one ring, as far as the edges seen so far tell.
#[derive(Clone, Copy)]
struct RingState {
    polygon: u32,
    ring: u32,
    winding: i32,
    on_boundary: bool,
}

impl PreparedPolygon {
    pub fn new(shape: MultiPolygon<f64>) -> PreparedPolygon {
        let mut edges = Vec::new();
        for (pi, poly) in shape.0.iter().enumerate() {
            for (ri, ring) in std::iter::once(poly.exterior()).chain(poly.interiors()).enumerate() {
                for l in ring.lines() {
                    let r = Rectangle::from_corners([l.start.x, l.start.y], [l.end.x, l.end.y]);
                    edges.push(GeomWithData::new(r, (l, pi as u32, ri as u32)));
                }
            }
        }
        let (min_x, max_x) = shape.bounding_rect().map(|r| (r.min().x, r.max().x)).unwrap_or((f64::INFINITY, f64::NEG_INFINITY));
        PreparedPolygon { shape, edges: RTree::bulk_load(edges), min_x, max_x }
    }

    /// Point in (multi)polygon, boundary included: the same answer as `geo`'s
    /// `MultiPolygon::intersects(&Point)` (the same winding-number rules with the same robust
    /// orientation test), but only over the edges that meet a horizontal ray from the point,
    /// found in the edge R-tree. geo counts the edges crossing the line east of the point; an
    /// edge that meets neither ray adds nothing and cannot hold the point. Along a closed ring
    /// the crossings of the whole line sum to zero, so the western ones give the same winding
    /// number with the sign turned; the shorter ray is taken.
    pub fn contains_point(&self, lat: f64, lon: f64) -> bool {
        if lon.is_nan() || lon > self.max_x || lon < self.min_x {
            return false; // beside everything
        }
        let p = Coord { x: lon, y: lat };
        let east = self.max_x - lon <= lon - self.min_x;
        let ray = if east {
            AABB::from_corners([lon, lat], [self.max_x, lat])
        } else {
            AABB::from_corners([self.min_x, lat], [lon, lat])
        };
        let mut rings: Vec<RingState> = Vec::new();
        for e in self.edges.locate_in_envelope_intersecting(ray) {
            let (line, polygon, ring) = e.data;
            let delta = match edge_winding(line, p, east) {
                Some(0) => continue,
                Some(d) => d,
                None => 0,
            };
            let slot = match rings.iter().position(|r| r.polygon == polygon && r.ring == ring) {
                Some(i) => i,
                None => {
                    rings.push(RingState { polygon, ring, winding: 0, on_boundary: false });
                    rings.len() - 1
                }
            };
            rings[slot].winding += delta;
            rings[slot].on_boundary |= delta == 0;
        }
        // As geo decides a polygon: outside its exterior → no; on it → yes; inside it → the
        // first hole (in order) the point is on or inside decides; none → yes.
        rings.sort_unstable_by_key(|r| (r.polygon, r.ring));
        rings.chunk_by(|a, b| a.polygon == b.polygon).any(|rs| {
            let exterior = rs.iter().find(|r| r.ring == 0);
            match exterior {
                Some(r) if r.on_boundary => true,
                Some(r) if r.winding != 0 => match rs.iter().find(|h| h.ring > 0 && (h.on_boundary || h.winding != 0)) {
                    Some(h) => h.on_boundary,
                    None => true,
                },
                _ => false,
            }
        })
    }
}

/// How an area lies relative to a polygon (a staff scope's outline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// No part of the area lies in the polygon.
    Disjoint,
    /// Part of the area lies in the polygon, part outside.
    Partly,
    /// The whole area lies in the polygon (boundary included).
    Within,
}

impl PreparedPolygon {
    /// How a shape lies relative to this polygon, decided on the geometry alone (whether anyone
    /// lives there does not matter). A circle crosses the boundary when an edge comes within its
    /// radius (haversine distance to the closest point of the edge, the same measure as the
    /// circle's own point test); otherwise its centre decides.
    pub fn overlap(&self, shape: &Shape) -> Overlap {
        match shape {
            Shape::Circle { lat, lon, radius_m } => {
                let Some(b) = shape.bounds() else { return Overlap::Disjoint };
                // A little wider than the circle's box: only a pre-filter for the edges.
                let (mx, my) = ((b.max_lon - b.min_lon) * 0.05, (b.max_lat - b.min_lat) * 0.05);
                let probe = AABB::from_corners([b.min_lon - mx, b.min_lat - my], [b.max_lon + mx, b.max_lat + my]);
                let centre = Point::new(*lon, *lat);
                let crossed =
                    self.edges.locate_in_envelope_intersecting(probe).any(|e| match e.data.0.haversine_closest_point(&centre) {
                        Closest::Intersection(_) | Closest::Indeterminate => true,
                        Closest::SinglePoint(p) => Haversine.distance(centre, p) <= *radius_m,
                    });
                match (crossed, self.contains_point(*lat, *lon)) {
                    (true, _) => Overlap::Partly,
                    (false, true) => Overlap::Within,
                    (false, false) => Overlap::Disjoint,
                }
            }
            Shape::Polygon(p) => {
                let m = self.shape.relate(&p.shape);
                if !m.is_intersects() {
                    Overlap::Disjoint
                } else if m.is_covers() {
                    Overlap::Within
                } else {
                    Overlap::Partly
                }
            }
        }
    }
}

/// One edge's part in the winding number of a point (`geo`'s `coord_pos_relative_to_ring`):
/// `Some(±1)` or `Some(0)`, or `None` when the point lies on the edge. `east`: geo's own rule,
/// counting edges east of the point; otherwise the edges west of it, with the sign turned.
fn edge_winding(line: Line<f64>, p: Coord<f64>, east: bool) -> Option<i32> {
    let between = |x: f64, a: f64, b: f64| if a < b { x >= a && x <= b } else { x >= b && x <= a };
    // An upward edge east of the point turns counter-clockwise to it, a downward one clockwise.
    let (up, down, sign) = if east {
        (Orientation::CounterClockwise, Orientation::Clockwise, 1)
    } else {
        (Orientation::Clockwise, Orientation::CounterClockwise, -1)
    };
    if line.start.y <= p.y {
        if line.end.y >= p.y {
            let o = <geo::kernels::RobustKernel as Kernel<f64>>::orient2d(line.start, line.end, p);
            if o == up && line.end.y != p.y {
                return Some(sign);
            } else if o == Orientation::Collinear && between(p.x, line.start.x, line.end.x) {
                return None;
            }
        }
    } else if line.end.y <= p.y {
        let o = <geo::kernels::RobustKernel as Kernel<f64>>::orient2d(line.start, line.end, p);
        if o == down {
            return Some(-sign);
        } else if o == Orientation::Collinear && between(p.x, line.start.x, line.end.x) {
            return None;
        }
    }
    Some(0)
}

/// A shape with its cover, ready to match addresses against.
#[derive(Debug)]
pub struct Covered {
    pub shape: Shape,
    pub cover: Cover,
    /// `cover.all()`, made once.
    pub ranges: Vec<(i64, i64)>,
}

impl Covered {
    pub fn new(shape: Shape, budget: usize) -> Covered {
        let cover = cover(&shape, budget);
        let ranges = cover.all();
        Covered { shape, cover, ranges }
    }

    /// Whether an address (with its cell id) lies in the shape, boundary included.
    pub fn matches(&self, cell: i64, lat: f64, lon: f64) -> bool {
        self.cover.covers(cell) && (!self.cover.needs_test(cell) || self.shape.contains(lat, lon))
    }
}

/// One part of a target area.
#[derive(Debug)]
pub enum Member {
    Shape(Shape),
    /// An imported area. It selects every address inside its outline (boundary included), not
    /// only those whose stored code is this one: imported boundaries disagree in places
    /// (simplified files, overlapping neighbours), and nobody inside the outline the dispatcher
    /// sees may be left out. `outline` is `None` only for the whole country (`NL`).
    Code {
        level: AreaLevel,
        code: String,
        outline: Option<Arc<Covered>>,
    },
}

#[derive(Debug)]
pub struct TargetArea {
    pub members: Vec<Member>,
}

fn rect_of(b: &Bounds) -> Rect<f64> {
    Rect::new(Coord { x: b.min_lon, y: b.min_lat }, Coord { x: b.max_lon, y: b.max_lat })
}

impl Shape {
    /// The exact test, boundary included.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        match self {
            Shape::Circle { lat: clat, lon: clon, radius_m } => {
                Haversine.distance(Point::new(*clon, *clat), Point::new(lon, lat)) <= *radius_m
            }
            Shape::Polygon(p) => p.contains_point(lat, lon),
        }
    }

    /// Conservative classification: `Inside` and `Outside` are certain, anything else is
    /// `Boundary` (its points get the exact test).
    pub fn relate(&self, b: &Bounds) -> Relation {
        match self {
            Shape::Circle { lat, lon, radius_m } => {
                let c = Point::new(*lon, *lat);
                let nearest = Point::new(lon.clamp(b.min_lon, b.max_lon), lat.clamp(b.min_lat, b.max_lat));
                if Haversine.distance(c, nearest) > radius_m + 1.0 {
                    return Relation::Outside;
                }
                let corners = [(b.min_lon, b.min_lat), (b.max_lon, b.min_lat), (b.min_lon, b.max_lat), (b.max_lon, b.max_lat)];
                let far = corners.iter().map(|(x, y)| Haversine.distance(c, Point::new(*x, *y))).fold(0.0, f64::max);
                // A rectangle's farthest point from the centre is a corner for rectangles this small;
                // the margin keeps rounding on the safe side.
                if far < radius_m - 1.0 && (b.max_lat - b.min_lat) < 1.0 { Relation::Inside } else { Relation::Boundary }
            }
            Shape::Polygon(p) => {
                let rect = rect_of(b);
                let probe = AABB::from_corners([b.min_lon, b.min_lat], [b.max_lon, b.max_lat]);
                if p.edges.locate_in_envelope_intersecting(probe).any(|e| e.data.0.intersects(&rect)) {
                    return Relation::Boundary;
                }
                // No edge touches the cell: it is wholly inside or wholly outside.
                if p.contains_point((b.min_lat + b.max_lat) / 2.0, (b.min_lon + b.max_lon) / 2.0) {
                    Relation::Inside
                } else {
                    Relation::Outside
                }
            }
        }
    }

    pub fn bounds(&self) -> Option<Bounds> {
        match self {
            Shape::Circle { lat, lon, radius_m } => {
                let dlat = radius_m / 111_000.0;
                let dlon = radius_m / (111_000.0 * lat.to_radians().cos().max(0.01));
                Some(Bounds { min_lat: lat - dlat, max_lat: lat + dlat, min_lon: lon - dlon, max_lon: lon + dlon })
            }
            Shape::Polygon(p) => p.shape.bounding_rect().map(|r| Bounds {
                min_lat: r.min().y,
                max_lat: r.max().y,
                min_lon: r.min().x,
                max_lon: r.max().x,
            }),
        }
    }
}

/// Cell-id ranges covering a shape: `inside` need no test, `boundary` need the exact one.
/// Both lists are sorted and disjoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cover {
    pub inside: Vec<(i64, i64)>,
    pub boundary: Vec<(i64, i64)>,
}

impl Cover {
    /// All ranges, merged (for the database query).
    pub fn all(&self) -> Vec<(i64, i64)> {
        let mut v: Vec<(i64, i64)> = self.inside.iter().chain(&self.boundary).copied().collect();
        merge(&mut v);
        v
    }

    /// Whether an address in one of the ranges needs the exact test.
    pub fn needs_test(&self, id: i64) -> bool {
        let i = self.boundary.partition_point(|r| r.1 < id);
        self.boundary.get(i).is_some_and(|r| r.0 <= id)
    }

    pub fn covers(&self, id: i64) -> bool {
        let i = self.inside.partition_point(|r| r.1 < id);
        self.inside.get(i).is_some_and(|r| r.0 <= id) || self.needs_test(id)
    }
}

fn merge(v: &mut Vec<(i64, i64)>) {
    v.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(v.len());
    for &(lo, hi) in v.iter() {
        match out.last_mut() {
            Some(last) if lo <= last.1 + 1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    *v = out;
}

/// Covers a shape with at most about `budget` boundary cells, refining level by level.
pub fn cover(shape: &Shape, budget: usize) -> Cover {
    let mut out = Cover::default();
    let mut partial = match shape.relate(&Cell::ROOT.bounds()) {
        Relation::Outside => return out,
        Relation::Inside => {
            out.inside.push(Cell::ROOT.id_range());
            return out;
        }
        Relation::Boundary => vec![Cell::ROOT],
    };
    while let Some(first) = partial.first() {
        if first.level >= buurtnet_domain::cell::GRID_BITS || partial.len() * 4 > budget.max(4) {
            break;
        }
        let mut next = Vec::with_capacity(partial.len() * 2);
        for cell in &partial {
            for child in cell.children() {
                match shape.relate(&child.bounds()) {
                    Relation::Outside => {}
                    Relation::Inside => out.inside.push(child.id_range()),
                    Relation::Boundary => next.push(child),
                }
            }
        }
        partial = next;
    }
    out.boundary = partial.iter().map(|c| c.id_range()).collect();
    merge(&mut out.inside);
    merge(&mut out.boundary);
    out
}

/// Parses and checks an area expression. Every problem is reported with its path.
pub fn parse_area(v: &Value, index: &AreaIndex) -> Result<TargetArea, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut members = Vec::new();
    parse_into(v, "area", index, 0, &mut members, &mut errors);
    if members.len() > MAX_UNION_MEMBERS {
        errors.add("area", "too_many_parts", format!("At most {MAX_UNION_MEMBERS} parts in one area."));
    }
    if errors.is_empty() && members.is_empty() {
        errors.add("area", "empty_area", "The area is empty.");
    }
    errors.into_result(TargetArea { members })
}

fn parse_into(v: &Value, path: &str, index: &AreaIndex, depth: usize, out: &mut Vec<Member>, errors: &mut FieldErrors) {
    let Some(obj) = v.as_object().filter(|o| o.len() == 1) else {
        errors.add(path, "invalid_area", "An area is an object with exactly one of: circle, polygon, areas, union.");
        return;
    };
    let (kind, body) = obj.iter().next().map(|(k, v)| (k.as_str(), v)).unwrap_or(("", &Value::Null));
    match kind {
        "circle" => {
            let num = |k: &str| body.get(k).and_then(Value::as_f64).filter(|f| f.is_finite());
            let (lat, lon, r) = (num("lat"), num("lon"), num("radius_m"));
            for (k, val) in [("lat", lat), ("lon", lon), ("radius_m", r)] {
                if val.is_none() {
                    errors.add(format!("{path}.circle.{k}"), "invalid_number", format!("Give '{k}' as a number."));
                }
            }
            let (Some(lat), Some(lon), Some(radius_m)) = (lat, lon, r) else { return };
            if !(MIN_RADIUS_M..=MAX_RADIUS_M).contains(&radius_m) {
                errors.add(
                    format!("{path}.circle.radius_m"),
                    "radius_out_of_range",
                    "The radius must be between 25 m and 100 km.",
                );
                return;
            }
            if !NL_BOUNDS.contains(lat, lon)
                || !index.is_empty()
                    && !index.in_netherlands(lat, lon)
                    && !touches_country(index, &Shape::Circle { lat, lon, radius_m })
            {
                errors.add(format!("{path}.circle"), "outside_netherlands", "This circle lies outside the Netherlands.");
                return;
            }
            out.push(Member::Shape(Shape::Circle { lat, lon, radius_m }));
        }
        "polygon" => match parse_polygon(body) {
            Ok(mp) => {
                let shape = Shape::Polygon(PreparedPolygon::new(mp));
                if !index.is_empty() && !touches_country(index, &shape) {
                    errors.add(format!("{path}.polygon"), "outside_netherlands", "This polygon lies outside the Netherlands.");
                    return;
                }
                out.push(Member::Shape(shape));
            }
            Err((code, message)) => errors.add(format!("{path}.polygon"), code, message),
        },
        "areas" => {
            let Some(list) = body.as_array().filter(|l| !l.is_empty()) else {
                errors.add(format!("{path}.areas"), "invalid_area_list", "Give a non-empty list of area codes.");
                return;
            };
            for (i, c) in list.iter().enumerate() {
                let code = c.as_str().map(|s| s.trim().to_ascii_uppercase()).unwrap_or_default();
                let level = AreaLevel::of_code(&code);
                let outline = if code == "NL" { None } else { index.outline(&code) };
                let known = code == "NL" || outline.is_some();
                match level {
                    Some(level) if known => out.push(Member::Code { level, code, outline }),
                    _ => errors.add(format!("{path}.areas[{i}]"), "unknown_area", format!("There is no area with code {c}.")),
                }
            }
        }
        "union" => {
            if depth >= MAX_DEPTH {
                errors.add(format!("{path}.union"), "too_deep", "Unions can be nested at most 4 deep.");
                return;
            }
            let Some(list) = body.as_array().filter(|l| !l.is_empty()) else {
                errors.add(format!("{path}.union"), "invalid_union", "A union is a non-empty list of areas.");
                return;
            };
            for (i, m) in list.iter().enumerate() {
                parse_into(m, &format!("{path}.union[{i}]"), index, depth + 1, out, errors);
            }
        }
        other => errors.add(path, "invalid_area", format!("Unknown area kind '{other}'; use circle, polygon, areas or union.")),
    }
}

/// Whether a shape overlaps any Dutch municipality (roughly: via the cells of its cover).
fn touches_country(index: &AreaIndex, shape: &Shape) -> bool {
    let Some(b) = shape.bounds() else { return false };
    let rect = rect_of(&b);
    index.intersecting(AreaLevel::Municipality, &rect).iter().any(|m| match shape {
        Shape::Polygon(p) => p.shape.intersects(&m.geometry),
        Shape::Circle { .. } => {
            // Sample the circle's bounding box on a grid of points; enough to tell land from sea.
            (0..=8).any(|i| {
                (0..=8).any(|j| {
                    let lat = b.min_lat + (b.max_lat - b.min_lat) * i as f64 / 8.0;
                    let lon = b.min_lon + (b.max_lon - b.min_lon) * j as f64 / 8.0;
                    shape.contains(lat, lon) && m.geometry.intersects(&Point::new(lon, lat))
                })
            })
        }
    })
}

fn parse_polygon(v: &Value) -> Result<MultiPolygon<f64>, (&'static str, String)> {
    let geometry: geojson::Geometry =
        serde_json::from_value(v.clone()).map_err(|e| ("invalid_geojson", format!("Not a GeoJSON geometry: {e}.")))?;
    let rings: Vec<Vec<Vec<Vec<f64>>>> = match &geometry.value {
        geojson::GeometryValue::Polygon { coordinates } => {
            vec![coordinates.iter().map(|r| r.iter().map(|p| p.as_slice().to_vec()).collect()).collect()]
        }
        geojson::GeometryValue::MultiPolygon { coordinates } => coordinates
            .iter()
            .map(|poly| poly.iter().map(|r| r.iter().map(|p| p.as_slice().to_vec()).collect()).collect())
            .collect(),
        _ => return Err(("invalid_geometry_type", "Give a Polygon or MultiPolygon.".into())),
    };
    let vertices: usize = rings.iter().flatten().map(Vec::len).sum();
    if vertices > MAX_VERTICES {
        return Err(("too_many_vertices", format!("The polygon has {vertices} vertices; at most {MAX_VERTICES}.")));
    }
    for (i, poly) in rings.iter().enumerate() {
        for (j, ring) in poly.iter().enumerate() {
            if ring.len() < 4 {
                return Err((
                    "ring_too_short",
                    format!("Ring {j} of polygon {i} needs at least 4 positions (a closed triangle)."),
                ));
            }
            if ring.first() != ring.last() {
                return Err((
                    "ring_not_closed",
                    format!("Ring {j} of polygon {i} is not closed: its last position must equal its first."),
                ));
            }
            if let Some(p) =
                ring.iter().find(|p| p.len() < 2 || !(-90.0..=90.0).contains(&p[1]) || !(-180.0..=180.0).contains(&p[0]))
            {
                return Err(("invalid_position", format!("Position {p:?} is not a longitude, latitude pair.")));
            }
        }
    }
    let mp = crate::area::multipolygon_from_value(geometry.value).map_err(|e| ("invalid_geojson", e))?;
    use geo::algorithm::Validation;
    if let Err(e) = mp.check_validation() {
        let text = e.to_string();
        let code = if text.contains("self-intersection") { "self_intersection" } else { "invalid_polygon" };
        return Err((code, format!("The polygon is not valid: {text}.")));
    }
    Ok(mp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn empty() -> AreaIndex {
        AreaIndex::new(Vec::new())
    }

    fn codes(v: Value) -> Vec<(String, &'static str)> {
        parse_area(&v, &empty()).unwrap_err().iter().map(|e| (e.field.clone(), e.code)).collect()
    }

    #[test]
    fn invalid_areas_are_named() {
        assert_eq!(codes(json!({"circle": {"lat": 52.1, "lon": 5.1, "radius_m": 10}}))[0].1, "radius_out_of_range");
        assert_eq!(codes(json!({"circle": {"lat": 52.1, "lon": 5.1, "radius_m": 200000}}))[0].1, "radius_out_of_range");
        assert_eq!(codes(json!({"circle": {"lat": 40.0, "lon": 5.1, "radius_m": 500}}))[0].1, "outside_netherlands");
        assert_eq!(
            codes(json!({"circle": {"lat": "x", "lon": 5.1, "radius_m": 500}}))[0],
            ("area.circle.lat".into(), "invalid_number")
        );
        let open = json!({"polygon": {"type": "Polygon", "coordinates": [[[5.0, 52.0], [5.1, 52.0], [5.1, 52.1], [5.0, 52.1]]]}});
        assert_eq!(codes(open)[0].1, "ring_not_closed");
        let bowtie = json!({"polygon": {"type": "Polygon", "coordinates": [[[5.0, 52.0], [5.1, 52.1], [5.1, 52.0], [5.0, 52.1], [5.0, 52.0]]]}});
        assert_eq!(codes(bowtie)[0].1, "self_intersection");
        let ring: Vec<[f64; 2]> = (0..=10_001)
            .map(|i| {
                let a = i as f64 / 10_001.0 * std::f64::consts::TAU;
                [5.0 + 0.1 * a.cos(), 52.0 + 0.1 * a.sin()]
            })
            .collect();
        let mut ring = ring;
        ring.push(ring[0]);
        assert_eq!(codes(json!({"polygon": {"type": "Polygon", "coordinates": [ring]}}))[0].1, "too_many_vertices");
        assert_eq!(codes(json!({"areas": ["GM0307"]}))[0].1, "unknown_area");
        assert_eq!(codes(json!({"union": []}))[0].1, "invalid_union");
        assert_eq!(codes(json!({"square": 1}))[0].1, "invalid_area");
        assert_eq!(
            codes(json!({"union": [{"union": [{"union": [{"union": [{"union": [{"areas": ["NL"]}]}]}]}]}]}))[0].1,
            "too_deep"
        );
    }

    /// A concave star with a hole, and a second part touching it at a vertex.
    fn awkward() -> MultiPolygon<f64> {
        use geo::{LineString, Polygon};
        let star: Vec<(f64, f64)> = (0..=24)
            .map(|i| {
                let a = (i % 24) as f64 / 24.0 * std::f64::consts::TAU;
                let r = if i % 2 == 0 { 0.02 } else { 0.008 };
                (5.4 + r * 1.6 * a.cos(), 52.15 + r * a.sin())
            })
            .collect();
        let hole = vec![(5.398, 52.148), (5.398, 52.152), (5.402, 52.152), (5.402, 52.148), (5.398, 52.148)];
        let side = vec![(5.432, 52.15), (5.45, 52.14), (5.45, 52.16), (5.432, 52.15)];
        MultiPolygon(vec![
            Polygon::new(LineString::from(star), vec![LineString::from(hole)]),
            Polygon::new(LineString::from(side), vec![]),
        ])
    }

    #[test]
    fn the_fast_point_test_answers_like_geo() {
        let mp = awkward();
        let p = PreparedPolygon::new(mp.clone());
        let mut points: Vec<(f64, f64)> = Vec::new();
        for i in 0..=150 {
            for j in 0..=150 {
                points.push((52.12 + 0.06 * i as f64 / 150.0, 5.35 + 0.11 * j as f64 / 150.0));
            }
        }
        // Every vertex, every edge midpoint, and points on the rays through them.
        for poly in &mp.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                for l in ring.lines() {
                    points.push((l.start.y, l.start.x));
                    points.push(((l.start.y + l.end.y) / 2.0, (l.start.x + l.end.x) / 2.0));
                    points.push((l.start.y, l.start.x - 0.001));
                }
            }
        }
        let mut inside = 0;
        for (lat, lon) in points {
            let want = mp.intersects(&Point::new(lon, lat));
            assert_eq!(p.contains_point(lat, lon), want, "{lat},{lon}");
            inside += usize::from(want);
        }
        assert!(inside > 1000);
    }

    #[test]
    fn overlap_with_a_scope_is_geometric() {
        let scope = PreparedPolygon::new(awkward());
        let circle = |lat, lon, radius_m| Shape::Circle { lat, lon, radius_m };
        assert_eq!(scope.overlap(&circle(52.15, 5.391, 150.0)), Overlap::Within);
        assert_eq!(scope.overlap(&circle(52.15, 5.391, 3000.0)), Overlap::Partly);
        assert_eq!(scope.overlap(&circle(52.15, 5.40, 100.0)), Overlap::Disjoint, "in the hole");
        assert_eq!(scope.overlap(&circle(52.30, 5.40, 1000.0)), Overlap::Disjoint);
        assert_eq!(scope.overlap(&circle(52.30, 5.40, 20_000.0)), Overlap::Partly, "reaching in from outside");
        use geo::polygon;
        let square = |x: f64, y: f64, d: f64| {
            Shape::Polygon(PreparedPolygon::new(MultiPolygon(vec![polygon![
                (x: x, y: y), (x: x + d, y: y), (x: x + d, y: y + d), (x: x, y: y + d), (x: x, y: y)
            ]])))
        };
        assert_eq!(scope.overlap(&square(5.390, 52.149, 0.002)), Overlap::Within);
        assert_eq!(scope.overlap(&square(5.390, 52.149, 0.05)), Overlap::Partly);
        assert_eq!(scope.overlap(&square(5.0, 52.0, 0.01)), Overlap::Disjoint);
    }

    #[test]
    fn covers_are_exact_at_the_edges() {
        let shape = Shape::Circle { lat: 52.1561, lon: 5.3878, radius_m: 1000.0 };
        let c = cover(&shape, 256);
        assert!(!c.inside.is_empty() && !c.boundary.is_empty());
        // Every point of a fine grid: inside the circle ⇒ covered; in an "inside" range ⇒ inside.
        for i in 0..100 {
            for j in 0..100 {
                let lat = 52.14 + 0.032 * i as f64 / 100.0;
                let lon = 5.36 + 0.055 * j as f64 / 100.0;
                let id = buurtnet_domain::cell::cell_id(lat, lon);
                if shape.contains(lat, lon) {
                    assert!(c.covers(id), "{lat},{lon} inside but not covered");
                } else if c.covers(id) {
                    assert!(c.needs_test(id), "{lat},{lon} outside but in an inside range");
                }
            }
        }
    }
}
