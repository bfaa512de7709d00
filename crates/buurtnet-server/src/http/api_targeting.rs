//! `POST /api/v1/targeting/count`: how many people an area reaches, per channel and per
//! neighbourhood, at a send time — for the dispatcher's map while drawing. Dispatchers and admins
//! see exact counts; other roles see counts under 5 as "< 5".

use super::extract::JsonBody;
use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use buurtnet_domain::Operation;
use buurtnet_domain::policy::ShownCount;
use buurtnet_geo::target_area::Member;
use buurtnet_targeting::reach::{self, Plan};
use futures::TryStreamExt;
use serde::Serialize;
use utoipa::ToSchema;

/// A count as the caller may see it: exact, or `"< 5"` for roles that may not see small counts.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Shown {
    Exact(u64),
    /// `< 5`.
    FewerThan(String),
}

impl Shown {
    fn of(n: u64, role: buurtnet_domain::staff::Role) -> Shown {
        match ShownCount::of(n, role) {
            ShownCount::Exact(n) => Shown::Exact(n),
            ShownCount::FewerThan(k) => Shown::FewerThan(format!("< {k}")),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ByChannel {
    pub push: Shown,
    pub sms: Shown,
    pub voice: Shown,
    pub email: Shown,
}

#[derive(Serialize, ToSchema)]
pub struct AreaCount {
    pub code: String,
    pub level: String,
    pub name: Option<String>,
    pub people: Shown,
}

/// How many an area reaches.
#[derive(Serialize, ToSchema)]
pub struct Reach {
    pub people: Shown,
    pub addresses: Shown,
    pub by_channel: ByChannel,
    pub anonymous_devices: Shown,
    pub by_area: Vec<AreaCount>,
    /// Part of the area lies outside the caller's scope.
    pub clipped_to_scope: bool,
}

#[utoipa::path(post, path = "/targeting/count", tag = "targeting",
    summary = "How many people and addresses an area reaches, per channel and neighbourhood",
    request_body = super::requests::CountRequest,
    responses((status = 200, description = "The counts; clipped_to_scope when part of the area lies outside the caller's scope", body = Reach),
        (status = 422, description = "Invalid fields")))]
pub async fn count(State(state): State<AppState>, user: StaffUser, JsonBody(body): JsonBody) -> AppResult<Json<Reach>> {
    user.require(Operation::CountReach)?;
    let index = state.areas.current();
    let req = reach::parse_request(&body, &index, state.clock.now())?;
    for m in &req.area.members {
        if let Member::Code { code, .. } = m
            && !user.scope.covers(&index.place_of(code))
        {
            return Err(AppError::Forbidden(format!("{code} is outside your scope ({}).", user.scope.code())));
        }
    }
    let started = std::time::Instant::now();
    // Cover the area while the replica catches up with the change feed (one database round trip).
    // While the replica loads (after a start), the database counts: slower, never failing.
    let scope = user.scope.clone();
    // Anonymous push devices (no account, a location of their own) are counted apart.
    let device_plan = reach::parse_request(&body, &index, state.clock.now()).map(|r| Plan::new(r, scope.clone(), &index))?;
    let (snapshot, plan) = tokio::join!(state.live.current(&state.store), async { Plan::new(req, scope, &index) });
    if plan.wholly_outside_scope() {
        return Err(AppError::Forbidden(format!("This area lies wholly outside your scope ({}).", user.scope.code())));
    }
    let counts = match snapshot? {
        Some(snapshot) => tokio::task::spawn_blocking(move || reach::count_live(&snapshot, &plan))
            .await
            .map_err(|e| AppError::Internal(format!("count task failed: {e}")))?,
        None => reach::count(&state.store, plan).await?,
    };
    let devices = reach::anonymous_devices(&state.store, std::sync::Arc::new(device_plan))
        .try_fold(0u64, |n, _| async move { Ok(n + 1) })
        .await?;
    metrics::histogram!("buurtnet_targeting_count_seconds").record(started.elapsed().as_secs_f64());
    // Small counts single out a household: most roles see them as "< 5" (the domain's rule).
    let shown = |n: u64| Shown::of(n, user.role);
    let by_area = counts
        .by_area
        .iter()
        .map(|a| AreaCount {
            code: a.code.clone(),
            level: a.level.to_string(),
            name: index.get(&a.code).map(|x| x.name.clone()),
            people: shown(a.people),
        })
        .collect();
    let c = &counts.by_channel;
    let by_channel = ByChannel { push: shown(c.push), sms: shown(c.sms), voice: shown(c.voice), email: shown(c.email) };
    Ok(Json(Reach {
        people: shown(counts.people),
        addresses: shown(counts.addresses),
        by_channel,
        anonymous_devices: shown(devices),
        by_area,
        clipped_to_scope: counts.clipped_to_scope,
    }))
}
