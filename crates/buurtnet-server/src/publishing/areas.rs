//! Our area expressions ↔ CAP areas. A circle is a CAP `circle` (radius in km), a polygon one
//! CAP `polygon` per outer ring (CAP has no holes: the ring's inside is the area), area codes
//! are `geocode`s named `CBS`, a union one CAP `area` per part. Back, every CAP area's polygons,
//! circles and CBS-shaped geocodes become parts of a union (geocodes of other systems are
//! passed over); what the result may be is then checked as any dispatcher's area is.

use buurtnet_cap::{Area, Circle, NamedValue};
use buurtnet_domain::{AreaLevel, Language};
use buurtnet_geo::AreaIndex;
use serde_json::{Value, json};

/// The `valueName` of our geocodes (CBS area codes: `GM0307`, `WK030701`, `BU03070101`, PC4, `NL`).
pub const GEOCODE_NAME: &str = "CBS";

fn name_of(index: &AreaIndex, code: &str, lang: Language) -> String {
    if code == "NL" {
        return if lang == Language::Nl { "Nederland".into() } else { "the Netherlands".into() };
    }
    index.get(code).map(|r| r.name.clone()).unwrap_or_else(|| code.to_string())
}

/// The municipality a point lies in, by name, for a description.
fn place(index: &AreaIndex, lat: f64, lon: f64) -> Option<String> {
    let code = index.locate(lat, lon).municipality?;
    index.get(&code).map(|r| r.name.clone())
}

fn collect(v: &Value, index: &AreaIndex, lang: Language, out: &mut Vec<Area>, depth: usize) {
    let Some((kind, body)) = v.as_object().and_then(|o| o.iter().next()) else { return };
    match kind.as_str() {
        "circle" => {
            let num = |k: &str| body.get(k).and_then(Value::as_f64);
            let (Some(lat), Some(lon), Some(r)) = (num("lat"), num("lon"), num("radius_m")) else { return };
            let at = place(index, lat, lon).map(|p| format!(" ({p})")).unwrap_or_default();
            let around = if lang == Language::Nl { "rond" } else { "around" };
            out.push(Area {
                description: format!("{r} m {around} {lat}, {lon}{at}"),
                circles: vec![Circle { lat, lon, radius_km: r / 1000.0 }],
                ..Area::default()
            });
        }
        "polygon" => {
            let polygons: Vec<&Value> = match body.get("type").and_then(Value::as_str) {
                Some("Polygon") => body.get("coordinates").into_iter().collect(),
                Some("MultiPolygon") => {
                    body.get("coordinates").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default()
                }
                _ => return,
            };
            let rings: Vec<Vec<(f64, f64)>> = polygons
                .iter()
                .filter_map(|p| p.get(0).and_then(Value::as_array))
                .map(|ring| {
                    ring.iter().filter_map(|pt| Some((pt.get(1)?.as_f64()?, pt.get(0)?.as_f64()?))).collect::<Vec<(f64, f64)>>()
                })
                .filter(|r| r.len() >= 3)
                .collect();
            let Some(&(lat, lon)) = rings.first().and_then(|r| r.first()) else { return };
            let at = place(index, lat, lon).map(|p| format!(" ({p})")).unwrap_or_default();
            let drawn = if lang == Language::Nl { "Getekend gebied" } else { "Drawn area" };
            out.push(Area { description: format!("{drawn}{at}"), polygons: rings, ..Area::default() });
        }
        "areas" => {
            let codes: Vec<String> =
                body.as_array().map(|l| l.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default();
            if codes.is_empty() {
                return;
            }
            out.push(Area {
                description: codes.iter().map(|c| name_of(index, c, lang)).collect::<Vec<_>>().join(", "),
                geocodes: codes.into_iter().map(|c| NamedValue { name: GEOCODE_NAME.into(), value: c }).collect(),
                ..Area::default()
            });
        }
        "union" if depth < 8 => {
            for m in body.as_array().into_iter().flatten() {
                collect(m, index, lang, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// The CAP areas of one of our (stored, valid) area expressions, described in `lang`.
pub fn to_cap(area: &Value, index: &AreaIndex, lang: Language) -> Vec<Area> {
    let mut out = Vec::new();
    collect(area, index, lang, &mut out, 0);
    out
}

/// Our area expression of CAP areas, or `None` when they hold nothing we can target.
pub fn from_cap(areas: &[Area]) -> Option<Value> {
    let mut members: Vec<Value> = Vec::new();
    for a in areas {
        for ring in &a.polygons {
            let mut coordinates: Vec<[f64; 2]> = ring.iter().map(|(lat, lon)| [*lon, *lat]).collect();
            if coordinates.first() != coordinates.last()
                && let Some(first) = coordinates.first().copied()
            {
                coordinates.push(first);
            }
            members.push(json!({"polygon": {"type": "Polygon", "coordinates": [coordinates]}}));
        }
        for c in &a.circles {
            members.push(json!({"circle": {"lat": c.lat, "lon": c.lon, "radius_m": c.radius_km * 1000.0}}));
        }
        let codes: Vec<String> =
            a.geocodes.iter().map(|g| g.value.trim().to_ascii_uppercase()).filter(|c| AreaLevel::of_code(c).is_some()).collect();
        if !codes.is_empty() {
            members.push(json!({"areas": codes}));
        }
    }
    match members.len() {
        0 => None,
        1 => members.pop(),
        _ => Some(json!({"union": members})),
    }
}
