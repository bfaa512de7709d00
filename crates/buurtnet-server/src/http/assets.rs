//! `GET /assets/{file}`: the bundled front end (see the `buurtnet-web` crate). A request that
//! names the file's current hash (`?v=…`, as `buurtnet_web::url` writes it) may be cached for
//! good; any other is revalidated with its ETag.

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tower_http::compression::CompressionLayer;

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/assets/{file}", get(asset)).layer(CompressionLayer::new())
}

#[derive(Deserialize)]
struct Version {
    v: Option<String>,
}

async fn asset(Path(file): Path<String>, Query(version): Query<Version>, headers: HeaderMap) -> Response {
    let Some(asset) = buurtnet_web::get(&file) else {
        return (StatusCode::NOT_FOUND, "There is no such file.").into_response();
    };
    let etag = format!("\"{}\"", asset.hash);
    let cache = if version.v.as_deref() == Some(asset.hash) { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut out = HeaderMap::new();
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, value);
    }
    let matches =
        headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if matches {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    (out, asset.bytes).into_response()
}
