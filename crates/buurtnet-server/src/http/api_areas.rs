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
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// country, province, police_unit, safety_region, municipality, district, neighbourhood, pc4.
    #[param(pattern = "^(|country|province|police_unit|safety_region|municipality|district|neighbourhood|pc4)$")]
    level: Option<String>,
    /// The parent area's code.
    parent: Option<String>,
}

/// The attribution of the official geography.
#[derive(Serialize, ToSchema)]
pub struct Attribution {
    pub nl: &'static str,
    pub en: &'static str,
}

const ATTRIBUTION: Attribution = Attribution { nl: area_import::ATTRIBUTION_NL, en: area_import::ATTRIBUTION_EN };

/// An imported official file.
#[derive(Serialize, ToSchema)]
pub struct Source {
    pub kind: String,
    pub year: Option<i64>,
    pub file: String,
    pub sha256: String,
    pub levels: Vec<String>,
}

/// An area in a list.
#[derive(Serialize, ToSchema)]
pub struct AreaListItem {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent: Option<String>,
    pub province: Option<String>,
    pub inhabitants: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AreaList {
    pub attribution: Attribution,
    pub sources: Vec<Source>,
    pub areas: Vec<AreaListItem>,
}

fn summary(a: &AreaSummary) -> AreaListItem {
    AreaListItem {
        code: a.code.clone(),
        name: a.name.clone(),
        level: a.level.clone(),
        parent: a.parent_code.clone(),
        province: a.province_code.clone(),
        inhabitants: a.inhabitants,
    }
}

/// `GET /api/v1/areas`.
#[utoipa::path(get, path = "/areas", tag = "areas", params(ListQuery),
    summary = "Areas of a level below a parent",
    responses((status = 200, description = "The areas, with the files they came from", body = AreaList)))]
pub async fn list(State(state): State<AppState>, Query(q): Query<ListQuery>) -> AppResult<Json<AreaList>> {
    let level = match q.level.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(l) => Some(AreaLevel::parse(l).ok_or_else(|| {
            let all: Vec<&str> = AreaLevel::ALL.iter().map(|l| l.as_str()).collect();
            AppError::bad_request("unknown_level", format!("Unknown level '{l}'; use one of: {}.", all.join(", ")))
        })?),
    };
    let parent = q.parent.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let areas = state.store.list_areas(level.map(AreaLevel::as_str), parent).await?;
    let sources = state
        .store
        .area_imports()
        .await?
        .into_iter()
        .map(|i| Source {
            levels: i.levels.split(',').map(str::to_string).collect(),
            kind: i.kind,
            year: i.year,
            file: i.file_name,
            sha256: i.sha256,
        })
        .collect();
    Ok(Json(AreaList { attribution: ATTRIBUTION, sources, areas: areas.iter().map(summary).collect() }))
}

/// `GET /api/v1/admin/area-imports`: the imported official files, and staff accounts whose scope
/// names a code that no longer exists (national admins).
#[utoipa::path(get, path = "/admin/area-imports", tag = "areas",
    summary = "Imported official area files, and staff scopes naming a code that no longer exists (national admins)",
    responses((status = 200, description = "The imports and stale scopes", body = AreaImports)))]
pub async fn imports(State(state): State<AppState>, user: StaffUser) -> AppResult<Json<AreaImports>> {
    user.require(Operation::ReadAreaImports)?;
    let imports = state.store.area_imports().await?.into_iter().map(AreaImportView::from).collect();
    let stale = area_import::stale_scopes(&state.store).await.map_err(|e| AppError::Internal(format!("{e:#}")))?;
    let stale_scopes =
        stale.into_iter().map(|s| StaleScopeView { user_id: s.user_id, email: s.email, role: s.role, scope: s.scope }).collect();
    Ok(Json(AreaImports { imports, stale_scopes }))
}

/// An imported official file, as the store keeps it.
#[derive(Serialize, ToSchema)]
pub struct AreaImportView {
    pub id: i64,
    pub imported_at: i64,
    pub kind: String,
    pub year: Option<i64>,
    pub file_name: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub source_url: Option<String>,
    /// Comma-separated levels the file replaced.
    pub levels: String,
    pub areas: i64,
}

impl From<buurtnet_store::AreaImport> for AreaImportView {
    fn from(i: buurtnet_store::AreaImport) -> Self {
        AreaImportView {
            id: i.id,
            imported_at: i.imported_at,
            kind: i.kind,
            year: i.year,
            file_name: i.file_name,
            size_bytes: i.size_bytes,
            sha256: i.sha256,
            source_url: i.source_url,
            levels: i.levels,
            areas: i.areas,
        }
    }
}

/// A staff account whose scope names a code that no longer exists.
#[derive(Serialize, ToSchema)]
pub struct StaleScopeView {
    pub user_id: i64,
    pub email: String,
    pub role: String,
    pub scope: String,
}

#[derive(Serialize, ToSchema)]
pub struct AreaImports {
    pub imports: Vec<AreaImportView>,
    pub stale_scopes: Vec<StaleScopeView>,
}

/// One area with its outline.
#[derive(Serialize, ToSchema)]
pub struct AreaDetail {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent: Option<String>,
    pub province: Option<String>,
    pub inhabitants: Option<i64>,
    /// [min_lon, min_lat, max_lon, max_lat].
    pub bbox: [f64; 4],
    /// A simplified GeoJSON geometry (WGS84).
    #[schema(value_type = Object)]
    pub geometry: Value,
    pub attribution: Attribution,
}

#[utoipa::path(get, path = "/areas/{code}", tag = "areas",
    params(("code" = String, Path, description = "The area's code, e.g. GM0307")),
    summary = "One area with a simplified GeoJSON geometry",
    responses((status = 200, description = "The area", body = AreaDetail), (status = 404, description = "No such area")))]
pub async fn one(State(state): State<AppState>, Path(code): Path<String>) -> AppResult<Json<AreaDetail>> {
    let code = code.trim().to_ascii_uppercase();
    let area =
        state.store.get_area(&code).await?.ok_or_else(|| AppError::NotFound(format!("There is no area with code '{code}'.")))?;
    let geometry: Value =
        serde_json::from_str(&area.geometry_simplified).map_err(|e| AppError::Internal(format!("area {code}: {e}")))?;
    Ok(Json(AreaDetail {
        code: area.code,
        name: area.name,
        level: area.level,
        parent: area.parent_code,
        province: area.province_code,
        inhabitants: area.inhabitants,
        bbox: [area.min_lon, area.min_lat, area.max_lon, area.max_lat],
        geometry,
        attribution: ATTRIBUTION,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtQuery {
    /// Latitude (WGS84).
    #[param(required = true, value_type = f64, minimum = -90, maximum = 90)]
    lat: Option<String>,
    /// Longitude (WGS84).
    #[param(required = true, value_type = f64, minimum = -180, maximum = 180)]
    lon: Option<String>,
}

/// An area containing the point.
#[derive(Serialize, ToSchema)]
pub struct AreaAt {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent: Option<String>,
    pub inhabitants: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AreasAt {
    pub lat: f64,
    pub lon: f64,
    pub areas: Vec<AreaAt>,
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

#[utoipa::path(get, path = "/areas/at", tag = "areas", params(AtQuery),
    summary = "Every area containing a point",
    responses((status = 200, description = "The areas at the point, one per level", body = AreasAt)))]
pub async fn at(State(state): State<AppState>, Query(q): Query<AtQuery>) -> AppResult<Json<AreasAt>> {
    let lat = coordinate(q.lat.as_deref(), "lat", 90.0)?;
    let lon = coordinate(q.lon.as_deref(), "lon", 180.0)?;
    let index = state.areas.current();
    let located = index.locate(lat, lon);
    let mut codes: Vec<&str> = located.codes();
    if located.in_netherlands() && index.get("NL").is_some() {
        codes.push("NL");
    }
    let areas = codes
        .iter()
        .filter_map(|c| index.get(c))
        .map(|a| AreaAt {
            code: a.code.clone(),
            name: a.name.clone(),
            level: a.level.as_str().to_string(),
            parent: a.parent_code.clone(),
            inhabitants: a.inhabitants,
        })
        .collect();
    Ok(Json(AreasAt { lat, lon, areas }))
}
