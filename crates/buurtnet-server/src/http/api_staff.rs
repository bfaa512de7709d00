//! Staff endpoints (bearer token): who am I, and participant statistics within my scope.

use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use buurtnet_domain::Operation;
use buurtnet_domain::staff::Scope;
use buurtnet_store::AreaFilter;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The signed-in staff account.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: i64,
    pub role: buurtnet_domain::staff::Role,
    /// NL, a police unit (RE…) or a municipality (GM…).
    pub scope: String,
}

#[utoipa::path(get, path = "/staff/me", tag = "staff", summary = "The signed-in staff account",
    responses((status = 200, description = "id, role, scope", body = Me)))]
pub async fn me(user: StaffUser) -> Json<Me> {
    Json(Me { id: user.id, role: user.role, scope: user.scope.code().to_string() })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// A municipality code (GM…).
    municipality: Option<String>,
    /// A police unit code (RE…).
    police_unit: Option<String>,
}

/// Participant counts of an area.
#[derive(Serialize, ToSchema)]
pub struct ParticipantStats {
    pub area: String,
    pub counts: Counts,
}

/// Participants, addresses, and addresses per channel.
#[derive(Serialize, ToSchema)]
pub struct Counts {
    pub participants: i64,
    pub addresses: i64,
    pub push: i64,
    pub sms: i64,
    pub voice: i64,
    pub email: i64,
}

/// `GET /api/v1/stats/participants?municipality=GM…|police_unit=RE…`: counts only, never people;
/// limited to the caller's scope.
#[utoipa::path(get, path = "/stats/participants", tag = "staff", params(StatsQuery),
    summary = "Participant counts per channel within the caller's scope",
    responses((status = 200, description = "The counts", body = ParticipantStats)))]
pub async fn participant_stats(
    State(state): State<AppState>,
    user: StaffUser,
    Query(q): Query<StatsQuery>,
) -> AppResult<Json<ParticipantStats>> {
    user.require(Operation::ReadParticipantStats)?;
    let index = state.areas.current();
    let filter = match (q.municipality.as_deref(), q.police_unit.as_deref()) {
        (Some(gm), None) => {
            let area = index.get(gm).filter(|a| a.level == buurtnet_domain::AreaLevel::Municipality);
            let area =
                area.ok_or_else(|| AppError::bad_request("unknown_area", format!("'{gm}' is not a municipality code.")))?;
            let vr = area.parent_code.as_deref().and_then(|v| index.get(v));
            let re = vr.and_then(|v| v.parent_code.as_deref());
            if !user.scope.covers_municipality(gm, re) {
                return Err(AppError::Forbidden(format!("{gm} is outside your scope ({}).", user.scope.code())));
            }
            AreaFilter::Municipality(gm.to_string())
        }
        (None, Some(re)) => {
            let place = buurtnet_domain::staff::Place { code: re, municipality: None, police_unit: Some(re) };
            if !user.scope.covers(&place) {
                return Err(AppError::Forbidden(format!("{re} is outside your scope ({}).", user.scope.code())));
            }
            AreaFilter::PoliceUnit(re.to_string())
        }
        (None, None) => match &user.scope {
            Scope::National => AreaFilter::All,
            Scope::PoliceUnit(re) => AreaFilter::PoliceUnit(re.clone()),
            Scope::Municipality(gm) => AreaFilter::Municipality(gm.clone()),
        },
        (Some(_), Some(_)) => {
            return Err(AppError::bad_request("ambiguous_filter", "Give either municipality or police_unit, not both."));
        }
    };
    let counts = state.store.participant_counts(&filter).await?;
    let scope = match &filter {
        AreaFilter::All => "NL".to_string(),
        AreaFilter::Municipality(c) | AreaFilter::PoliceUnit(c) => c.clone(),
    };
    let c = counts;
    let counts =
        Counts { participants: c.participants, addresses: c.addresses, push: c.push, sms: c.sms, voice: c.voice, email: c.email };
    Ok(Json(ParticipantStats { area: scope, counts }))
}

pub async fn not_found() -> AppError {
    AppError::NotFound("There is no such API endpoint.".into())
}
