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

fn interleave(x: u64, y: u64) -> u64 {
    let mut z = 0u64;
    for i in 0..GRID_BITS {
        z |= ((x >> i) & 1) << (2 * i);
        z |= ((y >> i) & 1) << (2 * i + 1);
    }
    z
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
        assert!(a >= 0 && a < (1i64 << 48));
    }
}
