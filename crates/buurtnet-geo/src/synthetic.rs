//! A small synthetic town, so the demo starts on a bare clone without the CBS files:
//! one police unit, safety region, province, municipality (GM9999 "Demodorp"), three districts
//! and nine neighbourhoods around a point near Amersfoort, plus its PC4 areas.

use crate::area::AreaRecord;
use buurtnet_domain::AreaLevel;
use geo::{MultiPolygon, polygon};

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1), (x: x0, y: y0)]])
}

fn area(code: &str, name: &str, level: AreaLevel, parent: Option<&str>, inhabitants: i64, g: MultiPolygon<f64>) -> AreaRecord {
    AreaRecord {
        code: code.into(),
        name: name.into(),
        level,
        parent_code: parent.map(String::from),
        province_code: None,
        inhabitants: Some(inhabitants),
        geometry: g,
    }
}

pub fn synthetic_town() -> Vec<AreaRecord> {
    let (x0, y0, w, h) = (5.36, 52.14, 0.06, 0.03);
    let whole = rect(x0, y0, x0 + w, y0 + h);
    let mut out = vec![
        area("NL", "Nederland (demo)", AreaLevel::Country, None, 30_000, whole.clone()),
        area("PV99", "Demoprovincie", AreaLevel::Province, Some("NL"), 30_000, whole.clone()),
        area("RE99", "Demo-eenheid", AreaLevel::PoliceUnit, Some("NL"), 30_000, whole.clone()),
        area("VR99", "Veiligheidsregio Demo", AreaLevel::SafetyRegion, Some("RE99"), 30_000, whole.clone()),
    ];
    let mut gm = area("GM9999", "Demodorp", AreaLevel::Municipality, Some("VR99"), 30_000, whole);
    gm.province_code = Some("PV99".into());
    out.push(gm);
    let districts = ["Centrum", "Noord", "Zuid"];
    for (d, dname) in districts.iter().enumerate() {
        let dx0 = x0 + w * d as f64 / 3.0;
        let dx1 = dx0 + w / 3.0;
        let wk = format!("WK9999{:02}", d + 1);
        out.push(area(&wk, dname, AreaLevel::District, Some("GM9999"), 10_000, rect(dx0, y0, dx1, y0 + h)));
        out.push(area(
            &format!("999{}", d + 1),
            &format!("Demodorp {dname}"),
            AreaLevel::Pc4,
            Some("GM9999"),
            10_000,
            rect(dx0, y0, dx1, y0 + h),
        ));
        for b in 0..3 {
            let by0 = y0 + h * b as f64 / 3.0;
            out.push(area(
                &format!("BU9999{:02}{:02}", d + 1, b + 1),
                &format!("{dname} {}", ["West", "Midden", "Oost"][b]),
                AreaLevel::Neighbourhood,
                Some(&wk),
                3_300,
                rect(dx0, by0, dx1, by0 + h / 3.0),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AreaIndex;

    #[test]
    fn the_town_is_consistent() {
        let idx = AreaIndex::new(synthetic_town());
        let l = idx.locate(52.155, 5.37);
        assert_eq!(l.municipality.as_deref(), Some("GM9999"));
        assert_eq!(l.police_unit.as_deref(), Some("RE99"));
        assert_eq!(l.province.as_deref(), Some("PV99"));
        assert!(l.neighbourhood.is_some() && l.district.is_some() && l.pc4.is_some());
        assert_eq!(idx.areas().iter().filter(|a| a.level == AreaLevel::Neighbourhood).count(), 9);
    }
}
