//! `GET /api/v1/geocode?q=…`: the map's search field. An address, a postcode, a street or place,
//! an area's name or code, or a pasted point, found offline (the address book in memory and the
//! imported areas). Only places inside the caller's scope are answered; how many others matched
//! is said. Audited without the query text; counted under the staff API limit like every staff
//! call.

use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use buurtnet_domain::Operation;
use buurtnet_domain::staff::Place;
use buurtnet_targeting::place_search::{self, MAX_QUERY_CHARS, SearchError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Suggestions answered at most.
const LIMIT: usize = 8;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GeocodeQuery {
    /// What was typed: `Waalstraat 110 Utrecht`, `3522 ST 110`, `3522`, `Rivierenwijk`, `GM0344`,
    /// `52.1561, 5.3878`.
    #[param(required = true, min_length = 1, max_length = 200)]
    q: Option<String>,
}

/// One place found.
#[derive(Serialize, ToSchema)]
pub struct PlaceFound {
    pub label: String,
    /// `address`, `postcode`, `street`, `place`, `area` or `point`.
    pub kind: String,
    pub lat: f64,
    pub lon: f64,
    /// The area's code, where the place is an area (or a PC4 postcode).
    pub code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PlacesFound {
    pub results: Vec<PlaceFound>,
    /// Places that matched but lie outside the caller's scope (not listed).
    pub outside_scope: usize,
}

#[utoipa::path(get, path = "/geocode", tag = "targeting", params(GeocodeQuery),
    summary = "Find an address, postcode, street, place, area or point for the map (offline sources)",
    responses((status = 200, description = "The places found inside the caller's scope, best first", body = PlacesFound)))]
pub async fn search(
    State(state): State<AppState>,
    user: StaffUser,
    Query(q): Query<GeocodeQuery>,
) -> AppResult<Json<PlacesFound>> {
    user.require(Operation::SearchPlaces)?;
    let query = q.q.unwrap_or_default();
    let index = state.areas.current();
    let book = state.geocoder.book();
    // Ask for more than we show: some may lie outside the scope.
    let found = place_search::search(&query, book.as_deref(), &index, LIMIT * 3).map_err(|e| match e {
        SearchError::Empty => AppError::bad_request("empty_query", e.to_string()),
        SearchError::TooLong => {
            AppError::bad_request("query_too_long", format!("A search is at most {MAX_QUERY_CHARS} characters."))
        }
    })?;
    let mut results = Vec::new();
    let mut outside_scope = 0;
    for s in found {
        let located;
        let place = match s.code.as_deref() {
            Some(code) => index.place_of(code),
            None => {
                located = index.locate(s.lat, s.lon);
                let m = located.municipality.as_deref().unwrap_or("");
                Place { code: m, municipality: located.municipality.as_deref(), police_unit: located.police_unit.as_deref() }
            }
        };
        if !user.scope.covers(&place) {
            outside_scope += 1;
            continue;
        }
        if results.len() < LIMIT {
            results.push(PlaceFound { label: s.label, kind: s.kind.to_string(), lat: s.lat, lon: s.lon, code: s.code });
        }
    }
    state
        .store
        .audit(state.now_ms(), &user.actor(), "places.searched", None, &serde_json::json!({"results": results.len()}))
        .await?;
    Ok(Json(PlacesFound { results, outside_scope }))
}
