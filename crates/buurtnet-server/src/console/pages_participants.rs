//! Participant figures per neighbourhood for municipality officers (and the regional
//! coordinators and admins above them): counts only, never people; neighbourhoods under 10 %
//! of their inhabitants are marked for recruitment.

use super::texts::Ct;
use super::{Console, Shell, render_error};
use crate::error::AppError;
use crate::http::RequestId;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use buurtnet_domain::AreaLevel;
use buurtnet_domain::Operation;
use buurtnet_domain::staff::Scope;
use serde::Deserialize;
use std::collections::HashMap;

pub struct Row {
    pub code: String,
    pub name: String,
    pub participants: i64,
    pub inhabitants: String,
    pub share: String,
    pub recruit: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "console/coverage.html")]
struct CoveragePage {
    t: Ct,
    shell: Shell,
    municipality: String,
    municipalities: Vec<(String, String)>,
    rows: Vec<Row>,
}

#[derive(Deserialize, Default)]
pub struct CoverageQuery {
    municipality: Option<String>,
}

pub async fn coverage(State(state): State<AppState>, c: Console, rid: RequestId, Query(q): Query<CoverageQuery>) -> Response {
    let t = c.t;
    if let Err(e) = c.user.require(Operation::ReadCoverage) {
        return render_error(t, e, rid.0);
    }
    let index = state.areas.current();
    // The municipalities the caller may look at (theirs, or those of their unit / the country).
    let municipalities: Vec<(String, String)> = match &c.user.scope {
        Scope::Municipality(gm) => vec![(gm.clone(), index.get(gm).map(|a| a.name.clone()).unwrap_or_default())],
        _ => match state.store.list_areas(Some(AreaLevel::Municipality.as_str()), None).await {
            Ok(all) => {
                all.into_iter().filter(|a| c.user.scope.covers(&index.place_of(&a.code))).map(|a| (a.code, a.name)).collect()
            }
            Err(e) => return render_error(t, e.into(), rid.0),
        },
    };
    let chosen = q.municipality.filter(|m| !m.is_empty()).or_else(|| municipalities.first().map(|m| m.0.clone()));
    let Some(gm) = chosen else {
        return (c.jar, CoveragePage { t, shell: c.shell, municipality: String::new(), municipalities, rows: Vec::new() })
            .into_response();
    };
    if !municipalities.iter().any(|(code, _)| *code == gm) {
        return render_error(t, AppError::NotFound("No such municipality in your scope.".into()), rid.0);
    }
    let counts: HashMap<String, i64> = match state.store.participants_per_neighbourhood(&gm).await {
        Ok(c) => c.into_iter().collect(),
        Err(e) => return render_error(t, e.into(), rid.0),
    };
    let districts = match state.store.list_areas(Some(AreaLevel::District.as_str()), Some(&gm)).await {
        Ok(d) => d,
        Err(e) => return render_error(t, e.into(), rid.0),
    };
    let mut rows = Vec::new();
    for d in districts {
        let hoods = match state.store.list_areas(Some(AreaLevel::Neighbourhood.as_str()), Some(&d.code)).await {
            Ok(h) => h,
            Err(e) => return render_error(t, e.into(), rid.0),
        };
        for h in hoods {
            let participants = counts.get(&h.code).copied().unwrap_or(0);
            let (inhabitants, share, recruit) = match h.inhabitants {
                Some(n) if n > 0 => {
                    let pct = participants as f64 * 100.0 / n as f64;
                    (n.to_string(), format!("{pct:.1}"), pct < 10.0)
                }
                _ => ("–".to_string(), "–".to_string(), false),
            };
            rows.push(Row { code: h.code, name: h.name, participants, inhabitants, share, recruit });
        }
    }
    if let Err(e) = state
        .store
        .audit(
            state.now_ms(),
            &c.user.actor(),
            "participants.figures_viewed",
            Some(&format!("area:{gm}")),
            &serde_json::json!({}),
        )
        .await
    {
        return render_error(t, e.into(), rid.0);
    }
    (c.jar, CoveragePage { t, shell: c.shell, municipality: gm, municipalities, rows }).into_response()
}
