//! Coverage: participants per neighbourhood, district or municipality against inhabitants, per
//! channel, with the areas under the recruitment threshold flagged. Where CBS has no
//! inhabitants figure the area says so (null) and is not counted as 0 %.

use super::{Report, ReportArea, lies_in};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use buurtnet_domain::AreaLevel;
use buurtnet_domain::policy::ShownCount;
use buurtnet_domain::reports::percentage;
use buurtnet_domain::{Channel, ChannelSet};
use buurtnet_store::reports::{AreaParticipants, CoverageLevel};
use buurtnet_targeting::replica::{LiveRow, Snapshot};
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
    #[schema(value_type = Value)]
    pub participants: ShownCount,
    /// Participants per inhabitant, in percent; null where inhabitants are unknown or the
    /// participants are shown as "< 5".
    pub share_pct: Option<f64>,
    /// Under the recruitment threshold (`reports.recruitment_threshold_pct`, default 10 %).
    pub flagged: bool,
    #[schema(value_type = Value)]
    pub push: ShownCount,
    #[schema(value_type = Value)]
    pub sms: ShownCount,
    #[schema(value_type = Value)]
    pub voice: ShownCount,
    #[schema(value_type = Value)]
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

/// The replica's column of a level (see `replica::LEVELS`).
fn replica_column(level: CoverageLevel) -> usize {
    match level {
        CoverageLevel::Neighbourhood => 0,
        CoverageLevel::District => 1,
        CoverageLevel::Municipality => 2,
        CoverageLevel::SafetyRegion => 4,
        CoverageLevel::PoliceUnit => 5,
        CoverageLevel::Province => 6,
    }
}

fn tally(p: &mut AreaParticipants, channels: u8) {
    let has = |c: Channel| ChannelSet::from_bits(i64::from(channels)).contains(c);
    p.participants += 1;
    p.push += i64::from(has(Channel::Push));
    p.sms += i64::from(has(Channel::Sms));
    p.voice += i64::from(has(Channel::Voice));
    p.email += i64::from(has(Channel::Email));
}

/// The same counts as the database's, from the replica: participants per area of `level`
/// (each once per area, channels of all their addresses there), and within the area itself.
fn from_replica(
    view: &Snapshot,
    level: CoverageLevel,
    municipality: Option<&str>,
    within: Option<(CoverageLevel, &str)>,
) -> (HashMap<String, AreaParticipants>, AreaParticipants) {
    let col = replica_column(level);
    let gm = municipality.and_then(|m| view.code_id(m));
    let rows: Box<dyn Iterator<Item = &LiveRow>> = match (municipality, gm) {
        (Some(_), None) => Box::new(std::iter::empty()),
        (Some(_), Some(id)) => Box::new(view.base_with_code(id).chain(view.delta().filter(move |r| r.codes[2] == id))),
        (None, _) => Box::new(view.all()),
    };
    let (inside_col, inside_id) = match within {
        Some((l, code)) => (replica_column(l), view.code_id(code)),
        None => (0, None),
    };
    let mut per_area: Vec<(u32, i64, u8)> = Vec::new();
    let mut in_area: Vec<(i64, u8)> = Vec::new();
    for r in rows {
        if r.codes[col] != 0 {
            per_area.push((r.codes[col], r.participant_id, r.channels));
        }
        if within.is_none() || inside_id.is_some_and(|id| r.codes[inside_col] == id) {
            in_area.push((r.participant_id, r.channels));
        }
    }
    per_area.sort_unstable_by_key(|x| (x.0, x.1));
    let mut counts: HashMap<String, AreaParticipants> = HashMap::new();
    let mut i = 0;
    while i < per_area.len() {
        let (code, pid, mut channels) = per_area[i];
        i += 1;
        while i < per_area.len() && per_area[i].0 == code && per_area[i].1 == pid {
            channels |= per_area[i].2;
            i += 1;
        }
        let name = view.code_name(code).unwrap_or_default().to_string();
        let entry = counts.entry(name.clone()).or_insert_with(|| AreaParticipants { code: name, ..Default::default() });
        tally(entry, channels);
    }
    in_area.sort_unstable_by_key(|x| x.0);
    let mut all = AreaParticipants::default();
    let mut i = 0;
    while i < in_area.len() {
        let (pid, mut channels) = in_area[i];
        i += 1;
        while i < in_area.len() && in_area[i].0 == pid {
            channels |= in_area[i].1;
            i += 1;
        }
        tally(&mut all, channels);
    }
    (counts, all)
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
    let within = match area_lvl {
        Some(AreaLevel::Country) => None,
        Some(AreaLevel::PoliceUnit) => Some((CoverageLevel::PoliceUnit, area.code.as_str())),
        Some(AreaLevel::SafetyRegion) => Some((CoverageLevel::SafetyRegion, area.code.as_str())),
        Some(AreaLevel::Province) => Some((CoverageLevel::Province, area.code.as_str())),
        Some(AreaLevel::District) => Some((CoverageLevel::District, area.code.as_str())),
        _ => Some((CoverageLevel::Municipality, area.code.as_str())),
    };
    // The live replica when it is ready (the whole country in well under a second), else the
    // database.
    let (counts, all) = match state.live.current(&state.store).await? {
        Some(view) => from_replica(&view, level, municipality.as_deref(), within),
        None => {
            let counts: HashMap<String, AreaParticipants> = state
                .store
                .participants_per_area(level, municipality.as_deref())
                .await?
                .into_iter()
                .map(|p| (p.code.clone(), p))
                .collect();
            (counts, state.store.participants_within(within).await?)
        }
    };
    let none = AreaParticipants::default();
    let wanted = area_level(level);
    let mut rows: Vec<CoverageRow> = index
        .areas()
        .iter()
        .filter(|a| a.level == wanted && lies_in(&index, &a.code, &area.code))
        .map(|a| row(state, area, a.code.clone(), a.name.clone(), a.inhabitants, counts.get(&a.code).unwrap_or(&none)))
        .collect();
    rows.sort_by(|a, b| a.code.cmp(&b.code));
    // Inhabitants of the area: its own figure, else the sum of its rows where all are known.
    let own = if area.code == "NL" { None } else { index.get(&area.code).and_then(|a| a.inhabitants) };
    let summed: Option<i64> = rows.iter().map(|r| r.inhabitants).sum();
    let total = row(state, area, area.code.clone(), area.name.clone(), own.or(summed), &all);
    Ok(Report { rows, total })
}
