//! The coverage map: the areas' outlines as an SVG drawn on the server (no script, no tiles),
//! each filled by its share of participants in one of four classes, or hatched where the
//! inhabitants are unknown. Every area carries its name and figure as a `<title>`, and the page
//! puts the same figures in a table beside it for screen readers.

use super::coverage::CoverageRow;
use buurtnet_geo::AreaIndex;
use std::fmt::Write;

/// The classes of the legend: upper bound (exclusive) and colour, from a colour-blind-safe
/// sequential scheme (light to dark).
pub const CLASSES: [(f64, &str); 4] = [(5.0, "#ffffcc"), (10.0, "#a1dab4"), (20.0, "#41b6c4"), (f64::INFINITY, "#225ea8")];
pub const UNKNOWN: &str = "url(#unknown)";

/// The fill of an area with this share (none: unknown or hidden).
pub fn fill(share: Option<f64>) -> &'static str {
    match share {
        Some(s) => CLASSES.iter().find(|(upper, _)| s < *upper).map_or(CLASSES[3].1, |c| c.1),
        None => UNKNOWN,
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The map of `rows` (their outlines from `index`) titled `title`, `width` pixels wide; `label`
/// gives an area's tooltip text.
pub fn svg(index: &AreaIndex, rows: &[CoverageRow], title: &str, width: f64, label: impl Fn(&CoverageRow) -> String) -> String {
    let shapes: Vec<(&CoverageRow, &geo::MultiPolygon<f64>)> =
        rows.iter().filter_map(|r| index.get(&r.code).map(|a| (r, &a.geometry))).collect();
    let mut bounds = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for (_, g) in &shapes {
        for p in g.0.iter().flat_map(|p| p.exterior().coords()) {
            bounds = (bounds.0.min(p.x), bounds.1.min(p.y), bounds.2.max(p.x), bounds.3.max(p.y));
        }
    }
    if shapes.is_empty() || bounds.2 <= bounds.0 || bounds.3 <= bounds.1 {
        return String::new();
    }
    let shrink = ((bounds.1 + bounds.3) / 2.0).to_radians().cos();
    let scale = width / ((bounds.2 - bounds.0) * shrink);
    let height = (bounds.3 - bounds.1) * scale;
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-labelledby="map-title" class="choropleth"><title id="map-title">"##
    );
    out.push_str(&escape(title));
    out.push_str("</title><defs><pattern id=\"unknown\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#eeeeee\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#888888\" stroke-width=\"2\"/></pattern></defs>");
    for (row, geometry) in shapes {
        let mut d = String::new();
        for polygon in &geometry.0 {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                for (i, c) in ring.coords().enumerate() {
                    let x = (c.x - bounds.0) * shrink * scale;
                    let y = (bounds.3 - c.y) * scale;
                    let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" });
                }
                d.push('Z');
            }
        }
        let _ = write!(
            out,
            r##"<path d="{d}" fill="{}" fill-rule="evenodd" stroke="#555555" stroke-width="0.6" data-area="{}"><title>{}</title></path>"##,
            fill(row.share_pct),
            escape(&row.code),
            escape(&label(row))
        );
    }
    out.push_str("</svg>");
    out
}
