//! `GET /api/v1/admin/jobs`: the jobs table for admins (see `crate::jobs::admin`).

use crate::auth::StaffUser;
use crate::error::AppResult;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    /// true: only jobs whose last run failed or that were given up.
    #[serde(default)]
    failed: bool,
}

#[utoipa::path(get, path = "/admin/jobs", tag = "admin", params(JobsQuery),
    summary = "Periodic and deferred jobs with their state, due time, attempts and last error (national admins)",
    responses((status = 200, description = "The jobs", body = crate::jobs::admin::JobList)))]
pub async fn list(
    State(state): State<AppState>,
    user: StaffUser,
    Query(q): Query<JobsQuery>,
) -> AppResult<Json<crate::jobs::admin::JobList>> {
    Ok(Json(crate::jobs::admin::list(&state, &user, q.failed).await?))
}
