use crate::common::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(point_lookup_names_every_level, listing_and_one_area, bad_area_queries_get_clear_errors);

async fn point_lookup_names_every_level(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (s, v) = app.get_json("/api/v1/areas/at?lat=52.1561&lon=5.3878").await;
    assert_eq!(s, 200);
    let codes: Vec<&str> = v["areas"].as_array().unwrap().iter().map(|a| a["code"].as_str().unwrap()).collect();
    for expected in ["GM0307", "WK030701", "VR09", "RE03", "PV26", "3811", "NL"] {
        assert!(codes.contains(&expected), "{expected} missing from {codes:?}");
    }
    let gm = v["areas"].as_array().unwrap().iter().find(|a| a["code"] == "GM0307").unwrap();
    assert_eq!(gm["name"], "Amersfoort");
    assert_eq!(gm["level"], "municipality");
    // A 2015 neighbourhood is linked to the 2024 district holding its interior point.
    let bu = v["areas"].as_array().unwrap().iter().find(|a| a["level"] == "neighbourhood").expect("a neighbourhood");
    assert_eq!(bu["parent"], "WK030701");
    // The North Sea is in no area.
    let (s, v) = app.get_json("/api/v1/areas/at?lat=52.5&lon=3.6").await;
    assert_eq!(s, 200);
    assert_eq!(v["areas"].as_array().unwrap().len(), 0);
}

async fn listing_and_one_area(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (s, v) = app.get_json("/api/v1/areas?level=municipality&parent=VR09").await;
    assert_eq!(s, 200);
    assert!(v["attribution"]["nl"].as_str().unwrap().starts_with("Bron: CBS, Kadaster"));
    assert!(v["attribution"]["en"].as_str().unwrap().contains("CBS"));
    let list = v["areas"].as_array().unwrap();
    assert_eq!(list.len(), 26, "Veiligheidsregio Utrecht has 26 municipalities");
    assert!(list.iter().all(|a| a["level"] == "municipality" && a["parent"] == "VR09"));
    assert!(list.iter().any(|a| a["code"] == "GM0307" && a["inhabitants"].as_i64().unwrap() > 150_000));
    // Provinces are a second tree: municipalities list under their province too.
    let (_, v) = app.get_json("/api/v1/areas?level=gemeente&parent=PV26").await;
    assert!(v["areas"].as_array().unwrap().iter().any(|a| a["code"] == "GM0307"));
    let (_, v) = app.get_json("/api/v1/areas?level=police_unit").await;
    assert_eq!(v["areas"].as_array().unwrap().len(), 10);

    let (s, v) = app.get_json("/api/v1/areas/GM0307").await;
    assert_eq!(s, 200);
    assert_eq!(v["name"], "Amersfoort");
    assert!(["Polygon", "MultiPolygon"].contains(&v["geometry"]["type"].as_str().unwrap()));
    let bbox = v["bbox"].as_array().unwrap();
    assert!(bbox[0].as_f64().unwrap() < 5.3878 && bbox[2].as_f64().unwrap() > 5.3878);
    let (s, v) = app.get_json("/api/v1/areas/3811").await;
    assert_eq!((s, v["level"].as_str()), (200, Some("pc4")));
}

async fn bad_area_queries_get_clear_errors(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (s, v) = app.get_json("/api/v1/areas?level=galaxy").await;
    assert_eq!(s, 400);
    assert_eq!(v["error"], "unknown_level");
    assert!(v["message"].as_str().unwrap().contains("municipality"));
    let (s, v) = app.get_json("/api/v1/areas/GM9998").await;
    assert_eq!((s, v["error"].as_str()), (404, Some("not_found")));
    let (s, v) = app.get_json("/api/v1/areas/at?lat=abc&lon=5").await;
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_coordinate")));
    assert!(v["message"].as_str().unwrap().contains("lat"));
    let (s, v) = app.get_json("/api/v1/areas/at?lon=5").await;
    assert_eq!((s, v["error"].as_str()), (400, Some("missing_coordinate")));
    let (s, _) = app.get_json("/api/v1/areas/at?lat=91&lon=5").await;
    assert_eq!(s, 400);
    let (s, v) = app.get_json("/api/v1/nothing-here").await;
    assert_eq!((s, v["error"].as_str()), (404, Some("not_found")));
}
