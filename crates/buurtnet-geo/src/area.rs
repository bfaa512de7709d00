//! One area (a municipality, district, neighbourhood, postcode area…) with its geometry.

use buurtnet_domain::AreaLevel;
use geo::{BoundingRect, MultiPolygon, Simplify};

#[derive(Debug, Clone)]
pub struct AreaRecord {
    pub code: String,
    pub name: String,
    pub level: AreaLevel,
    /// The parent in the administrative tree: neighbourhood → district → municipality →
    /// safety region → police unit → country; province → country; PC4 → municipality
    /// (approximate, PC4 areas do not nest).
    pub parent_code: Option<String>,
    /// For municipalities: the province (provinces are a second tree beside the police one).
    pub province_code: Option<String>,
    /// `None` where CBS suppressed the figure; not zero.
    pub inhabitants: Option<i64>,
    pub geometry: MultiPolygon<f64>,
}

impl AreaRecord {
    /// `[min_lon, min_lat, max_lon, max_lat]`, or `None` for an empty geometry.
    pub fn bbox(&self) -> Option<[f64; 4]> {
        self.geometry.bounding_rect().map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
    }

    /// A lighter geometry for display (about 30 m tolerance).
    pub fn simplified(&self) -> MultiPolygon<f64> {
        self.geometry.simplify(0.0003)
    }
}

/// GeoJSON text of a (multi)polygon.
pub fn geometry_to_geojson(g: &MultiPolygon<f64>) -> String {
    let value = geojson::GeometryValue::from(g);
    geojson::Geometry::new(value).to_string()
}

/// Reads a GeoJSON Polygon or MultiPolygon geometry.
pub fn geometry_from_geojson(text: &str) -> Result<MultiPolygon<f64>, String> {
    let g: geojson::Geometry = text.parse().map_err(|e: geojson::Error| e.to_string())?;
    multipolygon_from_value(g.value)
}

pub(crate) fn multipolygon_from_value(value: geojson::GeometryValue) -> Result<MultiPolygon<f64>, String> {
    let geom: geo::Geometry<f64> = value.try_into().map_err(|e: geojson::Error| e.to_string())?;
    match geom {
        geo::Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        geo::Geometry::MultiPolygon(mp) => Ok(mp),
        geo::Geometry::GeometryCollection(gc) => {
            let mut polys = Vec::new();
            for g in gc {
                match g {
                    geo::Geometry::Polygon(p) => polys.push(p),
                    geo::Geometry::MultiPolygon(mp) => polys.extend(mp),
                    _ => {}
                }
            }
            Ok(MultiPolygon(polys))
        }
        _ => Err("expected a Polygon or MultiPolygon".to_string()),
    }
}
