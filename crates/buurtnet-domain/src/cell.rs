//! A spatial cell id for every address point: a Z-order (Morton) code of the point on a
//! 2^24 × 2^24 grid over the Netherlands' bounding box (cells of roughly 0.2 × 0.3 m). Points that
//! are close get close ids, so an area can later be covered by a few id ranges on a plain B-tree
//! index, the same on SQLite and PostgreSQL.

use crate::NL_BOUNDS;

pub const GRID_BITS: u32 = 24;

fn quantise(v: f64, min: f64, max: f64) -> u64 {
    let cells = (1u64 << GRID_BITS) as f64;
    let f = ((v - min) / (max - min) * cells).floor();
    f.clamp(0.0, cells - 1.0) as u64
}

/// The cell id of a point (lat, lon in WGS84).
pub fn cell_id(lat: f64, lon: f64) -> i64 {
    let x = quantise(lon, NL_BOUNDS.min_lon, NL_BOUNDS.max_lon);
    let y = quantise(lat, NL_BOUNDS.min_lat, NL_BOUNDS.max_lat);
    interleave(x, y) as i64
}

/// The Z-order id of grid position (x, y) at full resolution.
pub fn interleave(x: u64, y: u64) -> u64 {
    let mut z = 0u64;
    for i in 0..GRID_BITS {
        z |= ((x >> i) & 1) << (2 * i);
        z |= ((y >> i) & 1) << (2 * i + 1);
    }
    z
}

/// The level of "where I am" cells: 2^7 × 2^7 cells over the Netherlands' bounding box, each
/// about 2.6 km (north–south) by 2.2 km (east–west), some 6 km². A device in that mode registers
/// only the number of its coarse cell; the resident web app computes it in the browser with the
/// same formula (bounds and level are served to it), so the precise position never leaves the
/// device.
pub const COARSE_LEVEL: u32 = 7;

/// The number of coarse cells (valid coarse ids are `0..COARSE_CELLS`).
pub const COARSE_CELLS: i64 = 1 << (2 * COARSE_LEVEL);

/// The coarse cell holding a point: the Z-order id of its cell at [`COARSE_LEVEL`].
pub fn coarse_id(lat: f64, lon: f64) -> i64 {
    let n = 1u64 << COARSE_LEVEL;
    let q = |v: f64, min: f64, max: f64| (((v - min) / (max - min) * n as f64).floor()).clamp(0.0, (n - 1) as f64) as u64;
    let x = q(lon, NL_BOUNDS.min_lon, NL_BOUNDS.max_lon);
    let y = q(lat, NL_BOUNDS.min_lat, NL_BOUNDS.max_lat);
    interleave(x, y) as i64
}

/// The coarse cell with this id; `None` outside `0..COARSE_CELLS`.
pub fn coarse(id: i64) -> Option<Cell> {
    if !(0..COARSE_CELLS).contains(&id) {
        return None;
    }
    let (mut x, mut y) = (0u64, 0u64);
    for i in 0..COARSE_LEVEL {
        x |= ((id as u64 >> (2 * i)) & 1) << i;
        y |= ((id as u64 >> (2 * i + 1)) & 1) << i;
    }
    Some(Cell { level: COARSE_LEVEL, x, y })
}

/// A quadtree cell: at `level` (0..=24) the grid has 2^level × 2^level cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cell {
    pub level: u32,
    pub x: u64,
    pub y: u64,
}

impl Cell {
    pub const ROOT: Cell = Cell { level: 0, x: 0, y: 0 };

    /// The four children, in Z order.
    pub fn children(self) -> [Cell; 4] {
        let (l, x, y) = (self.level + 1, self.x * 2, self.y * 2);
        [
            Cell { level: l, x, y },
            Cell { level: l, x: x + 1, y },
            Cell { level: l, x, y: y + 1 },
            Cell { level: l, x: x + 1, y: y + 1 },
        ]
    }

    /// The inclusive range of full-resolution cell ids inside this cell.
    pub fn id_range(self) -> (i64, i64) {
        let shift = 2 * (GRID_BITS - self.level);
        let lo = interleave(self.x, self.y) << shift;
        (lo as i64, (lo + (1u64 << shift) - 1) as i64)
    }

    /// The cell's rectangle in degrees (closed): every point whose id is in [`Cell::id_range`]
    /// lies in it.
    pub fn bounds(self) -> crate::Bounds {
        let n = (1u64 << self.level) as f64;
        let b = NL_BOUNDS;
        let (w, h) = (b.max_lon - b.min_lon, b.max_lat - b.min_lat);
        crate::Bounds {
            min_lon: b.min_lon + w * self.x as f64 / n,
            max_lon: b.min_lon + w * (self.x + 1) as f64 / n,
            min_lat: b.min_lat + h * self.y as f64 / n,
            max_lat: b.min_lat + h * (self.y + 1) as f64 / n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearby_points_share_a_prefix_and_ids_are_stable() {
        let a = cell_id(52.1561, 5.3878);
        let b = cell_id(52.15611, 5.38781);
        assert_eq!(a >> 20, b >> 20);
        assert_eq!(a, cell_id(52.1561, 5.3878));
        assert!((0..(1i64 << 48)).contains(&a));
    }

    #[test]
    fn a_coarse_cell_holds_its_points_and_is_a_few_square_kilometres() {
        for (lat, lon) in [(52.1561, 5.3878), (50.75, 3.25), (53.65, 7.25), (52.0907, 5.1214)] {
            let id = coarse_id(lat, lon);
            let c = coarse(id).expect("a valid coarse id");
            let b = c.bounds();
            assert!(b.contains(lat, lon), "{lat},{lon} in {b:?}");
            // The point's full-resolution id lies in the coarse cell's range.
            let (lo, hi) = c.id_range();
            assert!((lo..=hi).contains(&cell_id(lat, lon)));
            let km_ns = (b.max_lat - b.min_lat) * 111.2;
            let km_ew = (b.max_lon - b.min_lon) * 111.2 * lat.to_radians().cos();
            assert!((2.0..=10.0).contains(&(km_ns * km_ew)), "{} km²", km_ns * km_ew);
        }
        assert_eq!(coarse(-1), None);
        assert_eq!(coarse(COARSE_CELLS), None);
    }

    #[test]
    fn every_point_lies_in_the_cells_whose_range_holds_its_id() {
        let (lat, lon) = (52.1561, 5.3878);
        let id = cell_id(lat, lon);
        let mut cell = Cell::ROOT;
        for _ in 0..GRID_BITS {
            let (lo, hi) = cell.id_range();
            assert!(lo <= id && id <= hi);
            let b = cell.bounds();
            assert!(b.contains(lat, lon), "{cell:?} {b:?}");
            cell = *cell.children().iter().find(|c| (c.id_range().0..=c.id_range().1).contains(&id)).unwrap();
        }
        assert_eq!(cell.id_range(), (id, id));
    }
}
