//! The action report: per period (month, quarter, year) the actions of an area, how they ended
//! (direct and indirect success against the police unit's target), how fast the first message
//! went out and the action was closed, and how many were reached and delivered. Live actions
//! sent for real and imported history together; exercises and tests are no figures.

use super::{Report, ReportArea, Window, lies_in, month_of};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use buurtnet_domain::policy::ShownCount;
use buurtnet_domain::reports::{Month, PeriodLength, median, percentage};
use buurtnet_geo::AreaIndex;
use buurtnet_geo::target_area::{Member, parse_area};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// What rows are split by besides the period. Each split is its own report, so no row
/// counts an action twice (except `channel`: an action counts once per channel it used).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    None,
    Kind,
    Level,
    Channel,
    Municipality,
}

impl Split {
    pub fn parse(s: Option<&str>) -> AppResult<Split> {
        match s {
            None | Some("") => Ok(Split::None),
            Some("kind") => Ok(Split::Kind),
            Some("level") => Ok(Split::Level),
            Some("channel") => Ok(Split::Channel),
            Some("municipality") => Ok(Split::Municipality),
            Some(_) => Err(AppError::invalid("group", "invalid_value", "Use group=kind, level, channel or municipality.")),
        }
    }
}

/// One period (and group) of the action report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActionReportRow {
    /// `2026-11`, `2026-Q4`, `2026`, or `total`.
    pub period: String,
    /// The kind, level, channel or municipality (with `group=`); empty otherwise.
    pub group: String,
    /// Actions sent for real (cancelled ones not counted).
    pub actions: u64,
    pub cancelled: u64,
    /// Still running at the time of the report.
    pub open: u64,
    pub direct: u64,
    pub indirect: u64,
    pub none: u64,
    /// Closed without an outcome (the closing reminder's misses).
    pub without_outcome: u64,
    /// Direct successes among the closed actions, in percent.
    pub direct_pct: Option<f64>,
    /// Direct and indirect ("maatschappelijk") successes among the closed actions, in percent.
    pub success_pct: Option<f64>,
    /// The police unit's target for `direct_pct` (configurable; the seeds' 8 %).
    pub target_pct: f64,
    /// From the action's creation in the control room to its first message (live actions).
    pub median_minutes_to_first_message: Option<i64>,
    /// From the first message to closing.
    pub median_minutes_to_close: Option<i64>,
    /// People reached by the first message (one per person and channel); "< 5" where small.
    #[schema(value_type = Value)]
    pub reached: ShownCount,
    /// Of those, handed to the provider or confirmed delivered (live actions).
    #[schema(value_type = Value)]
    pub delivered: ShownCount,
    pub delivered_pct: Option<f64>,
    /// Of `actions`, those from the imported history.
    pub from_history: u64,
}

/// One channel of an action: its name, people reached, and those delivered (unknown for history).
type ChannelCount = (String, u64, Option<u64>);

/// One action as the report counts it, live or from history.
struct Counted {
    month: Month,
    kind: String,
    level: String,
    municipality: String,
    police_unit: Option<String>,
    cancelled: bool,
    open: bool,
    outcome: Option<String>,
    minutes_to_first: Option<i64>,
    minutes_to_close: Option<i64>,
    /// Per channel: (reached, delivered); history has one "unknown" channel without delivery.
    channels: Vec<ChannelCount>,
    history: bool,
}

/// Where an action's area lies: the municipality (or, for an area above municipalities, the
/// area itself) of its first part, by the centre of a drawn shape.
fn home_of(index: &AreaIndex, area: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(area).ok()?;
    let parsed = parse_area(&v, index).ok()?;
    match parsed.members.first()? {
        Member::Code { code, .. } => Some(index.place_of(code).municipality.map(str::to_string).unwrap_or_else(|| code.clone())),
        Member::Shape(shape) => {
            let b = shape.bounds()?;
            let located = index.locate((b.min_lat + b.max_lat) / 2.0, (b.min_lon + b.max_lon) / 2.0);
            located.municipality.or(located.police_unit)
        }
    }
}

#[derive(Default)]
struct Acc {
    actions: u64,
    cancelled: u64,
    open: u64,
    direct: u64,
    indirect: u64,
    none: u64,
    without_outcome: u64,
    to_first: Vec<i64>,
    to_close: Vec<i64>,
    reached: u64,
    delivered: u64,
    delivered_known: u64,
    history: u64,
    police_units: Vec<String>,
}

impl Acc {
    fn add(&mut self, a: &Counted, channel: Option<&ChannelCount>) {
        if let Some(u) = &a.police_unit
            && !self.police_units.contains(u)
        {
            self.police_units.push(u.clone());
        }
        if a.cancelled {
            self.cancelled += 1;
            return;
        }
        self.actions += 1;
        self.history += u64::from(a.history);
        if a.open {
            self.open += 1;
        } else {
            match a.outcome.as_deref() {
                Some("direct") => self.direct += 1,
                Some("indirect") => self.indirect += 1,
                Some(_) => self.none += 1,
                None => self.without_outcome += 1,
            }
        }
        self.to_first.extend(a.minutes_to_first);
        self.to_close.extend(a.minutes_to_close);
        let channels: Vec<&ChannelCount> = match channel {
            Some(c) => vec![c],
            None => a.channels.iter().collect(),
        };
        for (_, reached, delivered) in channels {
            self.reached += reached;
            if let Some(d) = delivered {
                self.delivered += d;
                self.delivered_known += reached;
            }
        }
    }

    fn row(self, period: String, group: String, area: &ReportArea, target: f64) -> ActionReportRow {
        let closed = self.direct + self.indirect + self.none + self.without_outcome;
        ActionReportRow {
            period,
            group,
            actions: self.actions,
            cancelled: self.cancelled,
            open: self.open,
            direct: self.direct,
            indirect: self.indirect,
            none: self.none,
            without_outcome: self.without_outcome,
            direct_pct: percentage(self.direct, closed),
            success_pct: percentage(self.direct + self.indirect, closed),
            target_pct: target,
            median_minutes_to_first_message: median(self.to_first),
            median_minutes_to_close: median(self.to_close),
            reached: area.disclosure.people(self.reached),
            delivered: area.disclosure.people(self.delivered),
            delivered_pct: percentage(self.delivered, self.delivered_known),
            from_history: self.history,
        }
    }
}

/// The action report of `area` for `window`, a row per period (and group).
pub async fn report(
    state: &AppState,
    area: &ReportArea,
    window: Window,
    by: PeriodLength,
    split: Split,
) -> AppResult<Report<ActionReportRow>> {
    let (from, to) = window.read_range();
    let index = state.areas.current();
    let mut counted: Vec<Counted> = Vec::new();
    let mut channels: HashMap<i64, Vec<ChannelCount>> = HashMap::new();
    for c in state.store.reported_action_channels(from, to).await? {
        channels.entry(c.action_id).or_default().push((c.channel, c.total.max(0) as u64, Some(c.delivered.max(0) as u64)));
    }
    for a in state.store.reported_actions(from, to).await? {
        let month = month_of(a.sent_at);
        let Some(home) = home_of(&index, &a.area) else { continue };
        if !window.holds(month) || !lies_in(&index, &home, &area.code) {
            continue;
        }
        counted.push(Counted {
            month,
            kind: a.kind,
            level: a.level,
            police_unit: index.place_of(&home).police_unit.map(str::to_string),
            municipality: home,
            cancelled: a.state == "cancelled",
            open: a.state == "active",
            outcome: a.outcome,
            minutes_to_first: Some((a.sent_at - a.created_at).max(0) / 60_000),
            minutes_to_close: a.closed_at.filter(|_| a.state == "closed").map(|c| (c - a.sent_at).max(0) / 60_000),
            channels: channels.remove(&a.id).unwrap_or_default(),
            history: false,
        });
    }
    let mut inside: HashMap<String, bool> = HashMap::new();
    for h in state.store.history_actions(from, to).await? {
        let month = month_of(h.sent_at);
        if !window.holds(month) {
            continue;
        }
        let here = match inside.get(&h.municipality) {
            Some(b) => *b,
            None => *inside.entry(h.municipality.clone()).or_insert_with(|| lies_in(&index, &h.municipality, &area.code)),
        };
        if !here {
            continue;
        }
        counted.push(Counted {
            month,
            kind: h.kind,
            level: h.level,
            municipality: h.municipality,
            police_unit: Some(h.region),
            cancelled: false,
            open: h.closed_at.is_none(),
            outcome: h.outcome,
            minutes_to_first: None,
            minutes_to_close: h.closed_at.map(|c| (c - h.sent_at).max(0) / 60_000),
            channels: vec![("unknown".to_string(), h.recipients.max(0) as u64, None)],
            history: true,
        });
    }
    let target_of = |acc: &Acc| {
        let units = &acc.police_units;
        state.config.reports.success_target(if units.len() == 1 { units.first().map(String::as_str) } else { None })
    };
    let fallback_target = state.config.reports.success_target(index.place_of(&area.code).police_unit);
    // Rows by (first month of the period, group); every period of the window is listed when
    // rows are not split, so a chart shows the empty months too.
    let mut groups: BTreeMap<(Month, String), (String, Acc)> = BTreeMap::new();
    if split == Split::None {
        for m in window.months() {
            groups.entry((by.start(m), String::new())).or_insert_with(|| (by.label(m), Acc::default()));
        }
    }
    let mut total = Acc::default();
    for a in &counted {
        total.add(a, None);
        let first = by.start(a.month);
        let keys: Vec<(String, Option<&ChannelCount>)> = match split {
            Split::None => vec![(String::new(), None)],
            Split::Kind => vec![(a.kind.clone(), None)],
            Split::Level => vec![(a.level.clone(), None)],
            Split::Municipality => vec![(a.municipality.clone(), None)],
            Split::Channel => a.channels.iter().map(|c| (c.0.clone(), Some(c))).collect(),
        };
        for (group, channel) in keys {
            groups.entry((first, group)).or_insert_with(|| (by.label(a.month), Acc::default())).1.add(a, channel);
        }
    }
    let rows = groups
        .into_iter()
        .map(|((_, group), (label, acc))| {
            let target = if acc.police_units.is_empty() { fallback_target } else { target_of(&acc) };
            acc.row(label, group, area, target)
        })
        .collect();
    let total_target = if total.police_units.is_empty() { fallback_target } else { target_of(&total) };
    let all = if split == Split::None { String::new() } else { "all".to_string() };
    Ok(Report { rows, total: total.row("total".to_string(), all, area, total_target) })
}
