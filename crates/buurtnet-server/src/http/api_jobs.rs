//! `GET /api/v1/admin/jobs`: the jobs table for admins (see `crate::jobs::admin`).

use crate::auth::StaffUser;
use crate::error::AppResult;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
pub struct JobsQuery {
    /// Only jobs whose last run failed or that were given up.
    #[serde(default)]
    failed: bool,
}

pub async fn list(State(state): State<AppState>, user: StaffUser, Query(q): Query<JobsQuery>) -> AppResult<Json<Value>> {
    Ok(Json(crate::jobs::admin::list(&state, &user, q.failed).await?))
}
