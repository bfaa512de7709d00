//! Coverage: participants per neighbourhood, district or municipality against inhabitants, per
//! channel, with the areas under the recruitment threshold flagged. Where CBS has no
//! inhabitants figure the area says so (null) and is not counted as 0 %.

use super::{Report, ReportArea, lies_in};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use buurtnet_domain::AreaLevel;
use buurtnet_domain::policy::ShownCount;
use buurtnet_domain::reports::percentage;
use buurtnet_store::reports::{AreaParticipants, CoverageLevel};
use serde::Serialize;
use std::collections::HashMap;

/// One area of the coverage report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CoverageRow {
    pub code: String,
    pub name: String,
    /// CBS's figure; null where it is unknown (suppressed).
    pub inhabitants: Option<i64>,
    /// Participants with an address here (each once); "< 5" where small.
    #[schema(value_type = Object)]
    pub participants: ShownCount,
    /// Participants per inhabitant, in percent; null where inhabitants are unknown or the
    /// participants are shown as "< 5".
    pub share_pct: Option<f64>,
    /// Under the recruitment threshold (`reports.recruitment_threshold_pct`, default 10 %).
    pub flagged: bool,
    #[schema(value_type = Object)]
    pub push: ShownCount,
    #[schema(value_type = Object)]
    pub sms: ShownCount,
    #[schema(value_type = Object)]
    pub voice: ShownCount,
    #[schema(value_type = Object)]
    pub email: ShownCount,
}

pub fn parse_level(s: Option<&str>) -> AppResult<CoverageLevel> {
    match s {
        None | Some("neighbourhood") => Ok(CoverageLevel::Neighbourhood),
        Some("district") => Ok(CoverageLevel::District),
        Some("municipality") => Ok(CoverageLevel::Municipality),
        Some(_) => Err(AppError::invalid("level", "invalid_value", "Use level=neighbourhood, district or municipality.")),
    }
}

fn area_level(level: CoverageLevel) -> AreaLevel {
    match level {
        CoverageLevel::Neighbourhood => AreaLevel::Neighbourhood,
        CoverageLevel::District => AreaLevel::District,
        CoverageLevel::Municipality => AreaLevel::Municipality,
        CoverageLevel::SafetyRegion => AreaLevel::SafetyRegion,
        CoverageLevel::PoliceUnit => AreaLevel::PoliceUnit,
        CoverageLevel::Province => AreaLevel::Province,
    }
}

fn row(
    state: &AppState,
    area: &ReportArea,
    code: String,
    name: String,
    inhabitants: Option<i64>,
    p: &AreaParticipants,
) -> CoverageRow {
    let n = |x: i64| x.max(0) as u64;
    let participants = area.disclosure.people(n(p.participants));
    let known = inhabitants.filter(|i| *i > 0);
    let exact_share = known.and_then(|i| percentage(n(p.participants), i as u64));
    let flagged = exact_share.is_some_and(|s| s < state.config.reports.recruitment_threshold_pct);
    CoverageRow {
        code,
        name,
        inhabitants,
        share_pct: exact_share.filter(|_| participants.exact().is_some()),
        participants,
        flagged,
        push: area.disclosure.people(n(p.push)),
        sms: area.disclosure.people(n(p.sms)),
        voice: area.disclosure.people(n(p.voice)),
        email: area.disclosure.people(n(p.email)),
    }
}

/// The coverage of the areas of `level` in `area`, and its total.
pub async fn report(state: &AppState, area: &ReportArea, level: CoverageLevel) -> AppResult<Report<CoverageRow>> {
    let index = state.areas.current();
    let area_lvl = if area.code == "NL" { Some(AreaLevel::Country) } else { AreaLevel::of_code(&area.code) };
    let deeper = |l: AreaLevel| match (l, level) {
        (AreaLevel::Neighbourhood, _) => false,
        (AreaLevel::District, CoverageLevel::Neighbourhood) => true,
        (AreaLevel::District, _) => false,
        (AreaLevel::Municipality, c) => c != CoverageLevel::Municipality,
        _ => true,
    };
    if !area_lvl.is_some_and(deeper) {
        return Err(AppError::invalid(
            "level",
            "not_below_area",
            format!("Coverage of {} lists areas below it: choose a deeper level.", area.code),
        ));
    }
    let municipality = index.place_of(&area.code).municipality.map(str::to_string);
    let counts: HashMap<String, AreaParticipants> = state
        .store
        .participants_per_area(level, municipality.as_deref())
        .await?
        .into_iter()
        .map(|p| (p.code.clone(), p))
        .collect();
    let none = AreaParticipants::default();
    let wanted = area_level(level);
    let mut rows: Vec<CoverageRow> = index
        .areas()
        .iter()
        .filter(|a| a.level == wanted && lies_in(&index, &a.code, &area.code))
        .map(|a| row(state, area, a.code.clone(), a.name.clone(), a.inhabitants, counts.get(&a.code).unwrap_or(&none)))
        .collect();
    rows.sort_by(|a, b| a.code.cmp(&b.code));
    // The total counts each participant once, over the area itself.
    let within = match area_lvl {
        Some(AreaLevel::Country) => None,
        Some(AreaLevel::PoliceUnit) => Some((CoverageLevel::PoliceUnit, area.code.as_str())),
        Some(AreaLevel::SafetyRegion) => Some((CoverageLevel::SafetyRegion, area.code.as_str())),
        Some(AreaLevel::Province) => Some((CoverageLevel::Province, area.code.as_str())),
        Some(AreaLevel::District) => Some((CoverageLevel::District, area.code.as_str())),
        _ => Some((CoverageLevel::Municipality, area.code.as_str())),
    };
    let all = state.store.participants_within(within).await?;
    // Inhabitants of the area: its own figure, else the sum of its rows where all are known.
    let own = if area.code == "NL" { None } else { index.get(&area.code).and_then(|a| a.inhabitants) };
    let summed: Option<i64> = rows.iter().map(|r| r.inhabitants).sum();
    let total = row(state, area, area.code.clone(), area.name.clone(), own.or(summed), &all);
    Ok(Report { rows, total })
}
