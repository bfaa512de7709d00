use crate::common::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(health_readiness_metrics_and_request_ids, a_database_outage_is_a_503_not_a_crash);

async fn health_readiness_metrics_and_request_ids(b: Backend) {
    let app = TestApp::spawn(b).await;
    let r = app.client.get(app.at("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let id = r.headers().get("x-request-id").expect("every response carries a request id").to_str().unwrap().to_string();
    assert_eq!(id.len(), 36);
    let (s, ready) = app.get_json("/readyz").await;
    assert_eq!(s, 200);
    assert_eq!(ready["database"], "ok", "{ready}");
    assert!(matches!(ready["targeting_replica"].as_str(), Some("loading" | "ready")), "{ready}");
    app.get_json("/api/v1/areas/at?lat=52.1561&lon=5.3878").await;
    let metrics = app.client.get(app.at("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("buurtnet_http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/api/v1/areas/at\""), "{metrics}");
}

async fn a_database_outage_is_a_503_not_a_crash(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.store.close().await;
    let (s, ready) = app.get_json("/readyz").await;
    assert_eq!((s, ready["database"].as_str()), (503, Some("unreachable")), "{ready}");
    assert_eq!(app.client.get(app.at("/healthz")).send().await.unwrap().status(), 200);
    let (s, v) = app.get_json("/api/v1/areas?level=municipality").await;
    assert_eq!((s, v["error"].as_str()), (503, Some("unavailable")));
    assert!(!v["message"].as_str().unwrap().contains("pool"), "no internal detail: {v}");
}
