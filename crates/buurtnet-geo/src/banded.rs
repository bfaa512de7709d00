//! A point-in-polygon test for outlines with many vertices: the outline's edges are sorted into
//! horizontal bands, so a test looks only at the few edges of the point's band instead of all of
//! them. Boundary points count as inside (like `geo`'s `Intersects<Point>`), with `geo`'s robust
//! orientation predicate deciding which side of an edge a point lies on. The crossing rule is
//! even-odd over all rings, which equals the winding rule for valid (multi)polygons: rings that
//! do not cross, holes inside their outline, polygons apart.

use geo::{Coord, Kernel, MultiPolygon, Orientation};

/// About this many edges per band (bands are capped by [`MAX_BANDS`]).
const EDGES_PER_BAND: usize = 4;
const MAX_BANDS: usize = 1 << 16;

#[derive(Debug, Clone)]
pub struct BandedPolygon {
    /// Vertices of all rings, one after the other; `ring_end[i]` is one past ring i's last vertex.
    coords: Vec<Coord<f64>>,
    /// Edge `e` runs from `coords[e]` to `coords[e + 1]` (edges between rings are never listed).
    band_edges: Vec<u32>,
    /// Band `b` holds `band_edges[band_start[b]..band_start[b + 1]]`.
    band_start: Vec<u32>,
    min: Coord<f64>,
    max: Coord<f64>,
    band_height: f64,
}

impl BandedPolygon {
    pub fn new(shape: &MultiPolygon<f64>) -> BandedPolygon {
        let mut coords = Vec::new();
        let mut edges = Vec::new();
        for poly in &shape.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                let start = coords.len();
                coords.extend(ring.0.iter().copied());
                if ring.0.first() != ring.0.last()
                    && let Some(first) = ring.0.first()
                {
                    coords.push(*first); // close it
                }
                for e in start..coords.len().saturating_sub(1) {
                    edges.push(e as u32);
                }
            }
        }
        let (mut min, mut max) =
            (Coord { x: f64::INFINITY, y: f64::INFINITY }, Coord { x: f64::NEG_INFINITY, y: f64::NEG_INFINITY });
        for c in &coords {
            min = Coord { x: min.x.min(c.x), y: min.y.min(c.y) };
            max = Coord { x: max.x.max(c.x), y: max.y.max(c.y) };
        }
        let bands = (edges.len() / EDGES_PER_BAND).clamp(1, MAX_BANDS);
        let height = if max.y > min.y { (max.y - min.y) / bands as f64 } else { 1.0 };
        let band_of = |y: f64| (((y - min.y) / height) as usize).min(bands - 1);
        // Counting pass, then filling (a CSR layout: one allocation, no per-band vectors).
        let mut count = vec![0u32; bands + 1];
        let span = |e: u32| {
            let (a, b) = (coords[e as usize], coords[e as usize + 1]);
            (band_of(a.y.min(b.y)), band_of(a.y.max(b.y)))
        };
        for &e in &edges {
            let (lo, hi) = span(e);
            for c in &mut count[lo..=hi] {
                *c += 1;
            }
        }
        let mut band_start = vec![0u32; bands + 1];
        for b in 0..bands {
            band_start[b + 1] = band_start[b] + count[b];
        }
        let mut fill = band_start.clone();
        let mut band_edges = vec![0u32; band_start[bands] as usize];
        for &e in &edges {
            let (lo, hi) = span(e);
            for f in &mut fill[lo..=hi] {
                band_edges[*f as usize] = e;
                *f += 1;
            }
        }
        BandedPolygon { coords, band_edges, band_start, min, max, band_height: height }
    }

    /// Whether the point lies inside or on the boundary.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        if !(x >= self.min.x && x <= self.max.x && y >= self.min.y && y <= self.max.y) {
            return false;
        }
        let bands = self.band_start.len() - 1;
        let b = (((y - self.min.y) / self.band_height) as usize).min(bands - 1);
        let p = Coord { x, y };
        let mut inside = false;
        for &e in &self.band_edges[self.band_start[b] as usize..self.band_start[b + 1] as usize] {
            let (a, c) = (self.coords[e as usize], self.coords[e as usize + 1]);
            let (lo_y, hi_y) = if a.y <= c.y { (a.y, c.y) } else { (c.y, a.y) };
            if y < lo_y || y > hi_y {
                continue;
            }
            let o = geo::algorithm::kernels::RobustKernel::orient2d(a, c, p);
            if o == Orientation::Collinear {
                let (lo_x, hi_x) = if a.x <= c.x { (a.x, c.x) } else { (c.x, a.x) };
                if x >= lo_x && x <= hi_x {
                    return true; // on the boundary
                }
                continue;
            }
            // Half-open in y, so a vertex on the ray is counted once.
            if a.y <= y && y < c.y {
                if o == Orientation::CounterClockwise {
                    inside = !inside; // upward edge with the point on its left: crossing east
                }
            } else if c.y <= y && y < a.y && o == Orientation::Clockwise {
                inside = !inside;
            }
        }
        inside
    }

    /// Vertices held (for memory estimates).
    pub fn vertices(&self) -> usize {
        self.coords.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Intersects, Point, polygon};
    use rand::{Rng, SeedableRng};

    fn star(cx: f64, cy: f64, n: usize, seed: u64) -> geo::Polygon<f64> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let pts: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                let r = 0.5 + rng.random::<f64>();
                (cx + r * a.cos(), cy + r * a.sin())
            })
            .collect();
        geo::Polygon::new(pts.into(), vec![])
    }

    #[test]
    fn same_answers_as_geo_on_random_points_vertices_and_edges() {
        let hole = polygon![(x: 9.9, y: 9.9), (x: 10.1, y: 9.9), (x: 10.1, y: 10.1), (x: 9.9, y: 10.1)];
        let mut outer = star(10.0, 10.0, 500, 1);
        outer.interiors_push(hole.exterior().clone());
        let shape = MultiPolygon(vec![
            outer,
            star(14.0, 10.0, 50, 2),
            polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 1.0)],
        ]);
        let banded = BandedPolygon::new(&shape);
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut probes: Vec<(f64, f64)> =
            (0..50_000).map(|_| (rng.random_range(-1.0..16.0), rng.random_range(7.0..13.0))).collect();
        // Every vertex, every edge midpoint, and the unit square's corners and edges.
        for p in &shape.0 {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                for l in ring.lines() {
                    probes.push((l.start.x, l.start.y));
                    probes.push(((l.start.x + l.end.x) / 2.0, (l.start.y + l.end.y) / 2.0));
                }
            }
        }
        probes.extend([(0.0, 0.5), (1.0, 1.0), (0.5, 0.0), (0.5, 0.5), (1.0000001, 0.5), (10.0, 10.0), (9.9, 10.0)]);
        for (x, y) in probes {
            assert_eq!(banded.contains(x, y), shape.intersects(&Point::new(x, y)), "at ({x}, {y})");
        }
    }
}
