//! The reports page of the console: for one area of the caller's scope and a span of months,
//! the action table, the enquiry table, the coverage map with its table, and the cost share;
//! each with its CSV. It asks the same report services as the API.

use super::texts::Ct;
use super::{Console, Shell, render_error};
use crate::error::AppResult;
use crate::http::RequestId;
use crate::reports::coverage::CoverageRow;
use crate::reports::{self, Format, Window, choropleth};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use buurtnet_domain::AreaLevel;
use buurtnet_domain::reports::{PeriodLength, euros};
use buurtnet_store::reports::CoverageLevel;
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct ReportsQuery {
    area: Option<String>,
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
}

/// A table row as the page shows it: text cells.
pub struct Cells(pub Vec<String>);

pub struct Legend {
    pub colour: &'static str,
    pub label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "console/reports.html")]
struct ReportsPage {
    t: Ct,
    shell: Shell,
    area: String,
    area_name: String,
    from: String,
    to: String,
    by: String,
    query: String,
    actions: Vec<Cells>,
    actions_total: Cells,
    enquiries: Vec<Cells>,
    enquiries_total: Cells,
    coverage_level: &'static str,
    coverage: Vec<Cells>,
    coverage_total: Cells,
    map: String,
    legend: Vec<Legend>,
    costs: Vec<Cells>,
    costs_total: Cells,
    year: i32,
}

fn pct(p: Option<f64>) -> String {
    p.map(|p| format!("{p:.1}")).unwrap_or_else(|| "–".into())
}

fn num<T: std::fmt::Display>(n: Option<T>) -> String {
    n.map(|n| n.to_string()).unwrap_or_else(|| "–".into())
}

fn coverage_cells(t: Ct, r: &CoverageRow) -> Cells {
    Cells(vec![
        format!("{} ({})", r.name, r.code),
        r.participants.to_string(),
        num(r.inhabitants),
        pct(r.share_pct),
        if r.flagged { t.get("recruit").to_string() } else { String::new() },
    ])
}

/// A total row names itself as such, then the area.
fn total_label(t: Ct, mut cells: Cells) -> Cells {
    if let Some(first) = cells.0.first_mut() {
        *first = format!("{}: {first}", t.get("total"));
    }
    cells
}

async fn build(state: &AppState, c: &Console, q: &ReportsQuery) -> AppResult<ReportsPage> {
    let t = c.t;
    let window = Window::parse(state, q.from.as_deref().filter(|s| !s.is_empty()), q.to.as_deref().filter(|s| !s.is_empty()))?;
    let by = q.by.as_deref().and_then(PeriodLength::parse).unwrap_or(PeriodLength::Month);
    let area = reports::area_for(state, &c.user, q.area.as_deref(), Format::Json)?;
    let actions = reports::actions::report(state, &area, window, by, reports::actions::Split::None).await?;
    let action_cells = |r: &reports::actions::ActionReportRow| {
        Cells(vec![
            if r.period == "total" { t.get("total").to_string() } else { r.period.clone() },
            r.actions.to_string(),
            r.direct.to_string(),
            r.indirect.to_string(),
            r.none.to_string(),
            r.without_outcome.to_string(),
            pct(r.direct_pct),
            pct(r.success_pct),
            format!("{:.1}", r.target_pct),
            num(r.median_minutes_to_first_message),
            num(r.median_minutes_to_close),
            r.reached.to_string(),
            pct(r.delivered_pct),
        ])
    };
    let enquiries = reports::enquiries::report(state, &area, window).await?;
    let enquiry_cells = |r: &reports::enquiries::EnquiryReportRow| {
        Cells(vec![
            if r.month == "total" { t.get("total").to_string() } else { r.month.clone() },
            r.enquiries_sent.to_string(),
            r.enquiries_with_reply.to_string(),
            pct(r.reaction_pct),
            r.replies.to_string(),
            pct(r.relevant_pct),
            r.open_replies.to_string(),
            num(r.median_handling_minutes),
        ])
    };
    let index = state.areas.current();
    let (level, level_key) = match AreaLevel::of_code(&area.code) {
        Some(AreaLevel::Municipality | AreaLevel::District) => (CoverageLevel::Neighbourhood, "neighbourhood"),
        _ => (CoverageLevel::Municipality, "municipality"),
    };
    let coverage = reports::coverage::report(state, &area, level).await?;
    let map = choropleth::svg(&index, &coverage.rows, t.get("coverage_map"), 640.0, |r| {
        format!("{}: {} {}, {} %", r.name, r.participants, t.get("participants_n").to_lowercase(), pct(r.share_pct))
    });
    let bounds = ["< 5 %", "5–10 %", "10–20 %", "≥ 20 %"];
    let mut legend: Vec<Legend> =
        choropleth::CLASSES.iter().zip(bounds).map(|((_, colour), label)| Legend { colour, label: label.to_string() }).collect();
    legend.push(Legend { colour: "#dddddd", label: t.get("unknown_share").to_string() });
    let costs = reports::cost_share::report(state, &area)?;
    let cost_cells = |r: &reports::cost_share::CostShareRow| {
        Cells(vec![
            format!("{} ({})", r.name, r.code),
            num(r.inhabitants),
            euros(r.cents.0),
            euros(r.cents.1),
            euros(r.cents.0 + r.cents.1),
        ])
    };
    reports::audit_read(state, &c.user, "console", &area.code).await?;
    let year = window.to.year;
    let query = format!("area={}&from={}&to={}", area.code, window.from, window.to);
    Ok(ReportsPage {
        t,
        shell: c.shell.clone(),
        area: area.code.clone(),
        area_name: area.name.clone(),
        from: window.from.to_string(),
        to: window.to.to_string(),
        by: q.by.clone().unwrap_or_else(|| "month".into()),
        query,
        actions: actions.rows.iter().map(action_cells).collect(),
        actions_total: action_cells(&actions.total),
        enquiries: enquiries.rows.iter().map(enquiry_cells).collect(),
        enquiries_total: enquiry_cells(&enquiries.total),
        coverage_level: level_key,
        coverage: coverage.rows.iter().map(|r| coverage_cells(t, r)).collect(),
        coverage_total: total_label(t, coverage_cells(t, &coverage.total)),
        map,
        legend,
        costs: costs.rows.iter().map(cost_cells).collect(),
        costs_total: total_label(t, cost_cells(&costs.total)),
        year,
    })
}

pub async fn page(State(state): State<AppState>, c: Console, rid: RequestId, Query(q): Query<ReportsQuery>) -> Response {
    match build(&state, &c, &q).await {
        Ok(page) => (c.jar, page).into_response(),
        Err(e) => render_error(c.t, e, rid.0),
    }
}

/// The quarterly report of a municipality as its printable page (the link in the e-mail).
pub async fn quarterly(
    State(state): State<AppState>,
    c: Console,
    rid: RequestId,
    axum::extract::Path((gm, quarter)): axum::extract::Path<(String, String)>,
    Query(q): Query<reports::api::QuarterlyQuery>,
) -> Response {
    let build = async {
        let quarter = reports::quarterly::parse_quarter(&quarter)?;
        let area = reports::area_for(&state, &c.user, Some(&gm), Format::Csv)?;
        let report = reports::quarterly::build(&state, &area, quarter).await?;
        reports::audit_read(&state, &c.user, "quarterly", &area.code).await?;
        reports::api::answer_quarterly(report, q.format.as_deref(), q.table.as_deref()).await
    };
    match build.await {
        Ok(answer) => (c.jar, answer).into_response(),
        Err(e) => render_error(c.t, e, rid.0),
    }
}

#[derive(Deserialize, Default)]
pub struct CampaignForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    areas: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "console/campaigns.html")]
struct CampaignsPage {
    t: Ct,
    shell: Shell,
    campaigns: Vec<reports::campaigns::CampaignView>,
    may_create: bool,
    form: CampaignForm,
    error: String,
}

async fn campaigns_page(state: &AppState, c: Console, rid: RequestId, form: CampaignForm, error: String) -> Response {
    match reports::campaigns::of_scope(state, &c.user).await {
        Ok(campaigns) => {
            let may_create = c.user.may(buurtnet_domain::Operation::ManageCampaigns);
            (c.jar, CampaignsPage { t: c.t, shell: c.shell, campaigns, may_create, form, error }).into_response()
        }
        Err(e) => render_error(c.t, e, rid.0),
    }
}

/// The recruitment campaigns of one's scope: their link, QR code and sign-ups; a form for new ones.
pub async fn campaigns(State(state): State<AppState>, c: Console, rid: RequestId) -> Response {
    campaigns_page(&state, c, rid, CampaignForm::default(), String::new()).await
}

pub async fn create_campaign(
    State(state): State<AppState>,
    c: Console,
    rid: RequestId,
    axum_extra::extract::Form(f): axum_extra::extract::Form<CampaignForm>,
) -> Response {
    let body = reports::campaigns::NewCampaign {
        name: Some(f.name.clone()),
        areas: Some(f.areas.split([',', ' ']).filter(|a| !a.is_empty()).map(str::to_string).collect()),
        from: Some(f.from.clone()),
        to: Some(f.to.clone()),
        municipality: None,
    };
    match reports::campaigns::make(&state, &c.user, &body).await {
        Ok(_) => axum::response::Redirect::to("/console/campagnes").into_response(),
        Err(crate::error::AppError::Validation(errors)) => {
            let error = errors.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
            campaigns_page(&state, c, rid, f, error).await
        }
        Err(e) => render_error(c.t, e, rid.0),
    }
}
