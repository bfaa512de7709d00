use crate::common::{Backend, TestApp};
use crate::on_both_backends;
use serde_json::json;

on_both_backends!(tokens_roles_and_scopes);

async fn tokens_roles_and_scopes(b: Backend) {
    let app = TestApp::spawn(b).await;
    for (lat, lon, email) in
        [(52.1561, 5.3878, "amf@example.org"), (52.09, 5.12, "utr@example.org"), (53.2, 6.56, "gro@example.org")]
    {
        let body = json!({"email": email, "age_confirmed": true, "addresses": [{"lat": lat, "lon": lon, "channels": ["email", "push"]}]});
        assert_eq!(app.post_json("/api/v1/participants", &body).await.0, 202);
    }
    let get = |token: Option<String>, path: &'static str| {
        let mut r = app.client.get(app.at(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        async move {
            let r = r.send().await.unwrap();
            let s = r.status().as_u16();
            (s, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (s, v) = get(None, "/api/v1/stats/participants").await;
    assert_eq!((s, v["error"].as_str()), (401, Some("unauthorized")));
    let (s, _) = get(Some("bn_forged".into()), "/api/v1/stats/participants").await;
    assert_eq!(s, 401);

    let gm = app.staff_token("municipality-officer", "GM0307").await;
    let (s, v) = get(Some(gm.clone()), "/api/v1/stats/participants").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["area"].as_str(), v["counts"]["participants"].as_i64(), v["counts"]["email"].as_i64()),
        (Some("GM0307"), Some(1), Some(1))
    );
    let (s, v) = get(Some(gm.clone()), "/api/v1/stats/participants?municipality=GM0344").await;
    assert_eq!((s, v["error"].as_str()), (403, Some("forbidden")), "a municipality sees only its own");
    let (s, _) = get(Some(gm), "/api/v1/stats/participants?police_unit=RE03").await;
    assert_eq!(s, 403);

    let region = app.staff_token("regional-coordinator", "RE03").await;
    let (s, v) = get(Some(region.clone()), "/api/v1/stats/participants").await;
    assert_eq!((s, v["counts"]["participants"].as_i64()), (200, Some(2)), "Amersfoort and Utrecht are in RE03");
    assert_eq!(get(Some(region.clone()), "/api/v1/stats/participants?municipality=GM0344").await.0, 200);
    assert_eq!(get(Some(region.clone()), "/api/v1/stats/participants?municipality=GM0014").await.0, 403);
    assert_eq!(get(Some(region), "/api/v1/stats/participants?police_unit=RE01").await.0, 403);

    let admin = app.staff_token("admin", "NL").await;
    let (_, v) = get(Some(admin.clone()), "/api/v1/stats/participants").await;
    assert_eq!(v["counts"]["participants"].as_i64(), Some(3));
    let (s, v) = get(Some(admin), "/api/v1/stats/participants?municipality=WK030701").await;
    assert_eq!((s, v["error"].as_str()), (400, Some("unknown_area")));

    let requester = app.staff_token("requester", "RE03").await;
    assert_eq!(get(Some(requester), "/api/v1/stats/participants").await.0, 403);
}
