//! RD New (EPSG:28992, the Dutch national grid in metres) to WGS84 longitude/latitude, in pure
//! Rust through `proj4rs`: the oblique stereographic projection on the Bessel ellipsoid and the
//! published seven-parameter datum shift to WGS84. Without NSGI's correction grid the result is
//! within a few decimetres of RDNAPTRANS™, far below what alert targeting needs. A wrong datum
//! shift moves everything by about 170 m; the test below pins the published parameters.

use proj4rs::Proj;

/// EPSG:28992 as published (the `towgs84` values are part of the definition).
pub const RD_NEW: &str = "+proj=sterea +lat_0=52.15616055555555 +lon_0=5.38763888888889 +k=0.9999079 \
    +x_0=155000 +y_0=463000 +ellps=bessel \
    +towgs84=565.2369,50.0087,465.658,-0.406857330322398,0.350732676542563,-1.8703473836068,4.0812 +units=m +no_defs";
const WGS84: &str = "+proj=longlat +datum=WGS84 +no_defs";

/// A reusable RD New → WGS84 transformation.
#[derive(Debug)]
pub struct RdToWgs84 {
    rd: Proj,
    wgs84: Proj,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot convert RD New coordinates ({x}, {y}) to WGS84: {message}")]
pub struct RdError {
    pub x: f64,
    pub y: f64,
    pub message: String,
}

impl RdToWgs84 {
    pub fn new() -> Result<RdToWgs84, RdError> {
        let err = |e: proj4rs::errors::Error| RdError { x: 0.0, y: 0.0, message: e.to_string() };
        Ok(RdToWgs84 { rd: Proj::from_proj_string(RD_NEW).map_err(err)?, wgs84: Proj::from_proj_string(WGS84).map_err(err)? })
    }

    /// RD `(x, y)` in metres → `(lon, lat)` in degrees.
    pub fn convert(&self, x: f64, y: f64) -> Result<(f64, f64), RdError> {
        if !x.is_finite() || !y.is_finite() {
            return Err(RdError { x, y, message: "not a finite number".into() });
        }
        let mut p = (x, y, 0.0);
        proj4rs::transform::transform(&self.rd, &self.wgs84, &mut p).map_err(|e| RdError { x, y, message: e.to_string() })?;
        let (lon, lat) = (p.0.to_degrees(), p.1.to_degrees());
        if !lon.is_finite() || !lat.is_finite() {
            return Err(RdError { x, y, message: "the projection gave no result".into() });
        }
        Ok((lon, lat))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Metres between two WGS84 points (equirectangular; fine for short distances).
    fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
        let lat = (a.1 + b.1).to_radians() / 2.0;
        let dx = (a.0 - b.0).to_radians() * lat.cos() * 6_371_000.0;
        let dy = (a.1 - b.1).to_radians() * 6_371_000.0;
        (dx * dx + dy * dy).sqrt()
    }

    #[test]
    fn amersfoort_is_where_the_datum_says() -> Result<(), RdError> {
        let t = RdToWgs84::new()?;
        // The origin of RD: the Onze Lieve Vrouwetoren in Amersfoort, 52.15517440 N 5.38720621 E
        // in WGS84 (the reference point of the Schreutelkamp & Strang van Hees polynomial).
        let got = t.convert(155_000.0, 463_000.0)?;
        assert!(metres(got, (5.38720621, 52.15517440)) < 0.5, "Amersfoort at {got:?}");
        // A wrong datum shift would be ~170 m off; no shift at all ~100 m.
        Ok(())
    }

    #[test]
    fn distances_in_the_grid_are_kept() -> Result<(), RdError> {
        let t = RdToWgs84::new()?;
        let origin = t.convert(155_000.0, 463_000.0)?;
        // 10 km east and 100 km north of Amersfoort in the grid are that far on the ground
        // (within 0.5 %: the check measures on a sphere).
        let east = t.convert(165_000.0, 463_000.0)?;
        let north = t.convert(155_000.0, 563_000.0)?;
        assert!((metres(origin, east) - 10_000.0).abs() < 50.0, "east at {east:?}");
        assert!((metres(origin, north) - 100_000.0).abs() < 500.0, "north at {north:?}");
        assert!(east.0 > origin.0 && (east.1 - origin.1).abs() < 0.01);
        assert!(north.1 > origin.1);
        assert!(t.convert(f64::NAN, 1.0).is_err());
        Ok(())
    }
}
