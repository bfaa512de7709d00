//! The quarterly municipality report: one document per municipality per quarter, for the
//! municipality and its ambassadors, with the quarter's actions and enquiries, coverage and its
//! trend, the year's cost share, and a short plain-Dutch summary of what changed since the
//! quarter before. It leaves the municipality (print, PDF, CSV), so counts of people under 5
//! show as "< 5".

use super::actions::{ActionReportRow, Split};
use super::cost_share::CostShareRow;
use super::coverage::CoverageRow;
use super::enquiries::EnquiryReportRow;
use super::{Report, ReportArea, Window};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use buurtnet_domain::reports::{Disclosure, Month, PeriodLength, Quarter, euros, percentage};
use buurtnet_store::reports::CoverageLevel;
use chrono::{TimeZone, Utc};

/// Everything the quarterly document shows.
pub struct Quarterly {
    pub code: String,
    pub name: String,
    pub quarter: Quarter,
    pub actions: Report<ActionReportRow>,
    pub actions_before: ActionReportRow,
    pub enquiries: Report<EnquiryReportRow>,
    pub enquiries_before: EnquiryReportRow,
    pub coverage: Report<CoverageRow>,
    /// Participants at the end of each of the last four quarters (oldest first).
    pub trend: Vec<(String, String)>,
    pub cost: CostShareRow,
    pub summary: Vec<String>,
}

impl Quarterly {
    pub fn title(&self) -> String {
        format!("Kwartaalrapportage {} {}", self.name, self.quarter)
    }

    pub fn flagged(&self) -> usize {
        self.coverage.rows.iter().filter(|r| r.flagged).count()
    }
}

fn window(q: Quarter) -> Window {
    Window { from: q.first_month(), to: q.last_month() }
}

/// The first moment after the quarter (Dutch midnight approximated by UTC midnight minus an hour).
fn end_ms(q: Quarter) -> i64 {
    let next = q.last_month().next().first_day();
    Utc.from_utc_datetime(&next.and_hms_opt(0, 0, 0).unwrap_or_default()).timestamp_millis() - 3_600_000
}

pub fn parse_quarter(s: &str) -> AppResult<Quarter> {
    Quarter::parse(s).ok_or_else(|| AppError::invalid("quarter", "invalid_quarter", "Give the quarter as e.g. 2026-Q3."))
}

/// The report of municipality `area` for `quarter`.
pub async fn build(state: &AppState, area: &ReportArea, quarter: Quarter) -> AppResult<Quarterly> {
    if !area.code.starts_with("GM") {
        return Err(AppError::invalid("municipality", "not_a_municipality", "The quarterly report is per municipality (GM…)."));
    }
    let area = ReportArea { disclosure: Disclosure::Beyond, ..area.clone() };
    let previous = quarter.previous();
    let actions = super::actions::report(state, &area, window(quarter), PeriodLength::Month, Split::None).await?;
    let actions_before = super::actions::report(state, &area, window(previous), PeriodLength::Quarter, Split::None).await?.total;
    let enquiries = super::enquiries::report(state, &area, window(quarter)).await?;
    let enquiries_before = super::enquiries::report(state, &area, window(previous)).await?.total;
    let coverage = super::coverage::report(state, &area, CoverageLevel::Neighbourhood).await?;
    let mut trend = Vec::new();
    let mut q = quarter.previous().previous().previous();
    let mut counts = Vec::new();
    for _ in 0..4 {
        let n = state.store.participants_created_before(&area.code, end_ms(q)).await?.max(0) as u64;
        counts.push(n);
        trend.push((q.to_string(), area.disclosure.people(n).to_string()));
        q = Quarter { year: if q.quarter == 4 { q.year + 1 } else { q.year }, quarter: q.quarter % 4 + 1 };
    }
    let cost = super::cost_share::report(state, &area)?.total;
    let threshold = state.config.reports.recruitment_threshold_pct;
    let mut summary = Vec::new();
    let a = &actions.total;
    summary.push(format!(
        "In {quarter} liepen in {} {} acties (het kwartaal ervoor: {}).",
        area.name, a.actions, actions_before.actions
    ));
    if a.actions > 0 {
        summary.push(format!(
            "{} keer leidde een actie direct tot resultaat en {} keer indirect: {} % direct succes (doel {:.1} %) en {} % maatschappelijk succes.",
            a.direct,
            a.indirect,
            a.direct_pct.map(|p| format!("{p:.1}")).unwrap_or_else(|| "–".into()),
            a.target_pct,
            a.success_pct.map(|p| format!("{p:.1}")).unwrap_or_else(|| "–".into()),
        ));
    }
    let e = &enquiries.total;
    summary.push(format!(
        "Er gingen {} buurtonderzoeken uit (het kwartaal ervoor: {}); bij {} kwam minstens één reactie{}.",
        e.enquiries_sent,
        enquiries_before.enquiries_sent,
        e.enquiries_with_reply,
        e.reaction_pct.map(|p| format!(" ({p:.1} %)")).unwrap_or_default()
    ));
    let c = &coverage.total;
    let share = c.share_pct.map(|p| format!(", {p:.1} % van de inwoners")).unwrap_or_default();
    let flagged = coverage.rows.iter().filter(|r| r.flagged).count();
    summary.push(format!(
        "Er doen {} inwoners mee{share}. {flagged} van de {} buurten zitten onder {threshold:.0} % en komen in aanmerking voor werving.",
        c.participants,
        coverage.rows.len()
    ));
    if let [.., before, now] = counts[..] {
        let delta = now as i64 - before as i64;
        let word = if delta >= 0 { "meer" } else { "minder" };
        summary.push(format!(
            "Sinds het vorige kwartaal zijn er {} deelnemers {word}.",
            Disclosure::Beyond.people(delta.unsigned_abs())
        ));
    }
    summary.push(format!(
        "De kosten voor {} in {}: € {} voor de gemeente en € {} voor de politie.",
        quarter.year,
        area.name,
        euros(cost.cents.0),
        euros(cost.cents.1)
    ));
    Ok(Quarterly {
        code: area.code.clone(),
        name: area.name.clone(),
        quarter,
        actions,
        actions_before,
        enquiries,
        enquiries_before,
        coverage,
        trend,
        cost,
        summary,
    })
}

/// The quarter that ended last before `now`.
pub fn last_ended(now_month: Month) -> Quarter {
    let this = Quarter { year: now_month.year, quarter: now_month.quarter() };
    this.previous()
}

/// The bars of a simple chart: label, value and its share of the largest (0..=1).
pub fn bars(values: &[(String, u64)]) -> Vec<(String, u64, f64)> {
    let max = values.iter().map(|v| v.1).max().unwrap_or(0).max(1) as f64;
    values.iter().map(|(l, v)| (l.clone(), *v, *v as f64 / max)).collect()
}

/// The actions per month of the quarter, for the chart.
pub fn action_bars(q: &Quarterly) -> Vec<(String, u64, f64)> {
    bars(&q.actions.rows.iter().map(|r| (r.period.clone(), r.actions)).collect::<Vec<_>>())
}

/// The reaction percentage per month, for the chart.
pub fn reaction_bars(q: &Quarterly) -> Vec<(String, u64, f64)> {
    q.enquiries
        .rows
        .iter()
        .map(|r| {
            let pct = percentage(r.enquiries_with_reply, r.enquiries_sent).unwrap_or(0.0);
            (r.month.clone(), pct.round() as u64, pct / 100.0)
        })
        .collect()
}

/// The quarterly document as a printable page.
#[derive(askama::Template)]
#[template(path = "reports/quarterly.html")]
pub struct QuarterlyPage<'a> {
    q: &'a super::quarterly::Quarterly,
    action_bars: Vec<(String, u64, f64)>,
}

impl QuarterlyPage<'_> {
    fn pct(&self, p: &Option<f64>) -> String {
        p.map(|p| format!("{p:.1}")).unwrap_or_else(|| "–".into())
    }

    fn num(&self, n: &Option<i64>) -> String {
        n.map(|n| n.to_string()).unwrap_or_else(|| "–".into())
    }

    fn euros<T: std::borrow::Borrow<i64>>(&self, cents: T) -> String {
        buurtnet_domain::reports::euros(*cents.borrow())
    }
}

/// The printable page of a quarterly report.
pub fn page(q: &Quarterly) -> AppResult<String> {
    use askama::Template;
    QuarterlyPage { q, action_bars: action_bars(q) }.render().map_err(|e| AppError::Internal(format!("template: {e}")))
}
