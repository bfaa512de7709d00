//! `GET /api/v1/areas`, `/areas/{code}`, `/areas/at`.

use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use buurtnet_domain::AreaLevel;
use buurtnet_domain::Operation;
use buurtnet_store::AreaSummary;
use buurtnet_targeting::area_import;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
pub struct ListQuery {
    level: Option<String>,
    parent: Option<String>,
}

fn summary(a: &AreaSummary) -> Value {
    json!({"code": a.code, "name": a.name, "level": a.level, "parent": a.parent_code,
           "province": a.province_code, "inhabitants": a.inhabitants})
}

pub async fn list(State(state): State<AppState>, Query(q): Query<ListQuery>) -> AppResult<Json<Value>> {
    let level = match q.level.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(l) => Some(AreaLevel::parse(l).ok_or_else(|| {
            let all: Vec<&str> = AreaLevel::ALL.iter().map(|l| l.as_str()).collect();
            AppError::bad_request("unknown_level", format!("Unknown level '{l}'; use one of: {}.", all.join(", ")))
        })?),
    };
    let parent = q.parent.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let areas = state.store.list_areas(level.map(AreaLevel::as_str), parent).await?;
    let sources: Vec<Value> = state
        .store
        .area_imports()
        .await?
        .iter()
        .map(|i| json!({"kind": i.kind, "year": i.year, "file": i.file_name, "sha256": i.sha256, "levels": i.levels.split(',').collect::<Vec<_>>()}))
        .collect();
    Ok(Json(json!({
        "attribution": {"nl": area_import::ATTRIBUTION_NL, "en": area_import::ATTRIBUTION_EN},
        "sources": sources,
        "areas": areas.iter().map(summary).collect::<Vec<_>>(),
    })))
}

/// `GET /api/v1/admin/area-imports`: the imported official files, and staff accounts whose scope
/// names a code that no longer exists (national admins).
pub async fn imports(State(state): State<AppState>, user: StaffUser) -> AppResult<Json<Value>> {
    user.require(Operation::ReadAreaImports)?;
    let imports = state.store.area_imports().await?;
    let stale = area_import::stale_scopes(&state.store).await.map_err(|e| AppError::Internal(format!("{e:#}")))?;
    Ok(Json(json!({"imports": imports, "stale_scopes": stale})))
}

pub async fn one(State(state): State<AppState>, Path(code): Path<String>) -> AppResult<Json<Value>> {
    let code = code.trim().to_ascii_uppercase();
    let area =
        state.store.get_area(&code).await?.ok_or_else(|| AppError::NotFound(format!("There is no area with code '{code}'.")))?;
    let geometry: Value =
        serde_json::from_str(&area.geometry_simplified).map_err(|e| AppError::Internal(format!("area {code}: {e}")))?;
    Ok(Json(json!({
        "code": area.code, "name": area.name, "level": area.level, "parent": area.parent_code,
        "province": area.province_code, "inhabitants": area.inhabitants,
        "bbox": [area.min_lon, area.min_lat, area.max_lon, area.max_lat],
        "geometry": geometry,
        "attribution": {"nl": area_import::ATTRIBUTION_NL, "en": area_import::ATTRIBUTION_EN},
    })))
}

#[derive(Deserialize)]
pub struct AtQuery {
    lat: Option<String>,
    lon: Option<String>,
}

fn coordinate(v: Option<&str>, name: &str, range: f64) -> AppResult<f64> {
    let v = v
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| AppError::bad_request("missing_coordinate", format!("Give '{name}' as a number.")))?;
    let f: f64 =
        v.parse().map_err(|_| AppError::bad_request("invalid_coordinate", format!("'{name}' must be a number, not '{v}'.")))?;
    if !f.is_finite() || f.abs() > range {
        return Err(AppError::bad_request("invalid_coordinate", format!("'{name}' must be between -{range} and {range}.")));
    }
    Ok(f)
}

pub async fn at(State(state): State<AppState>, Query(q): Query<AtQuery>) -> AppResult<Json<Value>> {
    let lat = coordinate(q.lat.as_deref(), "lat", 90.0)?;
    let lon = coordinate(q.lon.as_deref(), "lon", 180.0)?;
    let index = state.areas.current();
    let located = index.locate(lat, lon);
    let mut codes: Vec<&str> = located.codes();
    if located.in_netherlands() && index.get("NL").is_some() {
        codes.push("NL");
    }
    let areas: Vec<Value> = codes
        .iter()
        .filter_map(|c| index.get(c))
        .map(|a| json!({"code": a.code, "name": a.name, "level": a.level.as_str(), "parent": a.parent_code, "inhabitants": a.inhabitants}))
        .collect();
    Ok(Json(json!({"lat": lat, "lon": lon, "areas": areas})))
}
