//! The reports API: `GET /api/v1/reports/…`, each as JSON (`{"rows": […], "total": {…}}`) or
//! CSV (`format=csv`, counts of people under 5 as "< 5"). Thin: the work is in the modules
//! beside this one.

use super::actions::{ActionReportRow, Split};
use super::cost_share::CostShareRow;
use super::coverage::CoverageRow;
use super::enquiries::EnquiryReportRow;
use super::{Format, Report, Window, area_for, audit_read};
use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use buurtnet_domain::reports::PeriodLength;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActionsQuery {
    /// The area: NL, a police unit (RE…), safety region (VR…), province (PV…) or municipality
    /// (GM…); default the caller's scope.
    area: Option<String>,
    /// Rows per month (default), quarter or year.
    #[param(pattern = "^(month|quarter|year)$")]
    by: Option<String>,
    /// A separate breakdown: by kind, level, channel or municipality.
    #[param(pattern = "^(kind|level|channel|municipality)$")]
    group: Option<String>,
    /// First month, YYYY-MM (default: eleven months before `to`).
    #[param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    from: Option<String>,
    /// Last month, YYYY-MM (default: this month).
    #[param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    to: Option<String>,
    /// json (default) or csv.
    #[param(pattern = "^(json|csv)$")]
    format: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EnquiriesQuery {
    /// The area (default the caller's scope).
    area: Option<String>,
    #[param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    from: Option<String>,
    #[param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    to: Option<String>,
    #[param(pattern = "^(json|csv)$")]
    format: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverageQuery {
    /// The area whose parts are listed (default the caller's scope).
    area: Option<String>,
    /// The parts: neighbourhood (default), district or municipality.
    #[param(pattern = "^(neighbourhood|district|municipality)$")]
    level: Option<String>,
    #[param(pattern = "^(json|csv)$")]
    format: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CostShareQuery {
    /// The budget year (default this year).
    #[param(pattern = "^[0-9]{4}$")]
    year: Option<String>,
    /// The area whose municipalities share the cost (default the caller's scope).
    area: Option<String>,
    #[param(pattern = "^(json|csv)$")]
    format: Option<String>,
}

fn csv_response(body: String, name: &str) -> Response {
    let disposition = format!("attachment; filename=\"{name}.csv\"");
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response()
}

fn answer<R: Serialize>(report: Report<R>, format: Format, name: &str) -> AppResult<Response> {
    match format {
        Format::Json => Ok(Json(report).into_response()),
        Format::Csv => Ok(csv_response(super::to_csv(&report)?, name)),
    }
}

#[utoipa::path(get, path = "/reports/actions", tag = "reports", params(ActionsQuery),
    summary = "Actions per period of an area: outcomes (direct and 'maatschappelijk' success against the target), speed, reach",
    responses((status = 200, description = "Rows per period and the total over the whole period", content(
        (Report<ActionReportRow> = "application/json"), (String = "text/csv"))),
        (status = 404, description = "Area outside the caller's scope"), (status = 422, description = "Invalid parameter")))]
pub async fn actions(State(state): State<AppState>, user: StaffUser, Query(q): Query<ActionsQuery>) -> AppResult<Response> {
    let format = Format::parse(q.format.as_deref())?;
    let by = match q.by.as_deref() {
        None => PeriodLength::Month,
        Some(s) => {
            PeriodLength::parse(s).ok_or_else(|| AppError::invalid("by", "invalid_value", "Use by=month, quarter or year."))?
        }
    };
    let split = Split::parse(q.group.as_deref())?;
    let window = Window::parse(&state, q.from.as_deref(), q.to.as_deref())?;
    let area = area_for(&state, &user, q.area.as_deref(), format)?;
    let report = super::actions::report(&state, &area, window, by, split).await?;
    audit_read(&state, &user, "actions", &area.code).await?;
    answer(report, format, "acties")
}

#[utoipa::path(get, path = "/reports/enquiries", tag = "reports", params(EnquiriesQuery),
    summary = "Neighbourhood enquiries per month of an area: sent, with a reply, reaction %, relevant share, open replies",
    responses((status = 200, description = "A row per month (also months without enquiries) and the total", content(
        (Report<EnquiryReportRow> = "application/json"), (String = "text/csv"))),
        (status = 404, description = "Area outside the caller's scope"), (status = 422, description = "Invalid parameter")))]
pub async fn enquiries(State(state): State<AppState>, user: StaffUser, Query(q): Query<EnquiriesQuery>) -> AppResult<Response> {
    let format = Format::parse(q.format.as_deref())?;
    let window = Window::parse(&state, q.from.as_deref(), q.to.as_deref())?;
    let area = area_for(&state, &user, q.area.as_deref(), format)?;
    let report = super::enquiries::report(&state, &area, window).await?;
    audit_read(&state, &user, "enquiries", &area.code).await?;
    answer(report, format, "buurtonderzoeken")
}

#[utoipa::path(get, path = "/reports/coverage", tag = "reports", params(CoverageQuery),
    summary = "Participants against inhabitants per neighbourhood, district or municipality, per channel, flagged for recruitment",
    responses((status = 200, description = "A row per area and the total", content(
        (Report<CoverageRow> = "application/json"), (String = "text/csv"))),
        (status = 404, description = "Area outside the caller's scope"), (status = 422, description = "Invalid parameter")))]
pub async fn coverage(State(state): State<AppState>, user: StaffUser, Query(q): Query<CoverageQuery>) -> AppResult<Response> {
    let format = Format::parse(q.format.as_deref())?;
    let level = super::coverage::parse_level(q.level.as_deref())?;
    let area = area_for(&state, &user, q.area.as_deref(), format)?;
    let report = super::coverage::report(&state, &area, level).await?;
    audit_read(&state, &user, "coverage", &area.code).await?;
    answer(report, format, "dekking")
}

#[utoipa::path(get, path = "/reports/cost-share", tag = "reports", params(CostShareQuery),
    summary = "A year's cost split over the municipalities of an area by inhabitants (municipality and police), exact to the cent",
    responses((status = 200, description = "A row per municipality and the total (the sum of the rows)", content(
        (Report<CostShareRow> = "application/json"), (String = "text/csv"))),
        (status = 404, description = "Area outside the caller's scope"), (status = 422, description = "Invalid parameter")))]
pub async fn cost_share(State(state): State<AppState>, user: StaffUser, Query(q): Query<CostShareQuery>) -> AppResult<Response> {
    let format = Format::parse(q.format.as_deref())?;
    let year = super::cost_share::parse_year(q.year.as_deref(), super::month_of(state.now_ms()).year)?;
    let area = area_for(&state, &user, q.area.as_deref(), format)?;
    let report = super::cost_share::report(&state, &area)?;
    audit_read(&state, &user, "cost-share", &area.code).await?;
    match format {
        Format::Json => Ok(Json(report).into_response()),
        Format::Csv => Ok(csv_response(super::cost_share::to_csv(&report, year)?, &format!("kostenverdeling-{year}"))),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuarterlyQuery {
    /// html (default, a printable page), pdf or csv.
    #[param(pattern = "^(html|pdf|csv)$")]
    pub format: Option<String>,
    /// With format=csv: which table (actions, enquiries or coverage; default actions).
    #[param(pattern = "^(actions|enquiries|coverage)$")]
    pub table: Option<String>,
}

#[utoipa::path(get, path = "/reports/quarterly/{municipality}/{quarter}", tag = "reports", params(
        ("municipality" = String, Path, description = "The municipality (GM…)"),
        ("quarter" = String, Path, description = "The quarter, e.g. 2026-Q3", pattern = "^[0-9]{4}-Q[1-4]$"),
        QuarterlyQuery),
    summary = "The quarterly municipality report: summary, actions, enquiries, coverage and its trend, costs (page, PDF or CSV)",
    responses((status = 200, description = "The report", content(
        (String = "text/html"), (Vec<u8> = "application/pdf"), (String = "text/csv"))),
        (status = 404, description = "Municipality outside the caller's scope"), (status = 422, description = "Invalid parameter")))]
pub async fn quarterly(
    State(state): State<AppState>,
    user: StaffUser,
    axum::extract::Path((municipality, quarter)): axum::extract::Path<(String, String)>,
    Query(q): Query<QuarterlyQuery>,
) -> AppResult<Response> {
    let quarter = super::quarterly::parse_quarter(&quarter)?;
    let area = area_for(&state, &user, Some(&municipality), Format::Csv)?;
    let report = super::quarterly::build(&state, &area, quarter).await?;
    audit_read(&state, &user, "quarterly", &area.code).await?;
    answer_quarterly(report, q.format.as_deref(), q.table.as_deref()).await
}

/// The quarterly report as a page, PDF or one of its tables as CSV (API and console alike).
pub async fn answer_quarterly(
    report: super::quarterly::Quarterly,
    format: Option<&str>,
    table: Option<&str>,
) -> AppResult<Response> {
    let quarter = report.quarter;
    let name = format!("kwartaalrapportage-{}-{quarter}", report.code);
    match format {
        None | Some("html") => {
            let page = super::quarterly::page(&report)?;
            Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
        }
        Some("pdf") => {
            let bytes = tokio::task::spawn_blocking(move || super::quarterly_pdf::render(&report))
                .await
                .map_err(|e| AppError::Internal(format!("pdf: {e}")))?;
            let disposition = format!("inline; filename=\"{name}.pdf\"");
            Ok((
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/pdf".to_string()), (header::CONTENT_DISPOSITION, disposition)],
                bytes,
            )
                .into_response())
        }
        Some("csv") => {
            let body = match table {
                None | Some("actions") => super::to_csv(&report.actions)?,
                Some("enquiries") => super::to_csv(&report.enquiries)?,
                Some("coverage") => super::to_csv(&report.coverage)?,
                Some(_) => return Err(AppError::invalid("table", "invalid_value", "Use table=actions, enquiries or coverage.")),
            };
            Ok(csv_response(body, &name))
        }
        Some(_) => Err(AppError::invalid("format", "invalid_value", "Use format=html, pdf or csv.")),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UpkeepQuery {
    /// The municipality (GM…); default the caller's scope.
    area: Option<String>,
    /// Confirmations counted from this month (YYYY-MM; default twelve months ago).
    #[param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    from: Option<String>,
}

/// The health of a municipality's participant file.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UpkeepReport {
    pub municipality: String,
    #[schema(value_type = Value)]
    pub participants: buurtnet_domain::policy::ShownCount,
    #[schema(value_type = Value)]
    pub paused_by_themselves: buurtnet_domain::policy::ShownCount,
    /// Paused for not answering the yearly "still with us?".
    #[schema(value_type = Value)]
    pub paused_unconfirmed: buurtnet_domain::policy::ShownCount,
    #[schema(value_type = Value)]
    pub awaiting_confirmation: buurtnet_domain::policy::ShownCount,
    /// Confirmed since `from`.
    #[schema(value_type = Value)]
    pub confirmed: buurtnet_domain::policy::ShownCount,
}

#[utoipa::path(get, path = "/reports/upkeep", tag = "reports", params(UpkeepQuery),
    summary = "The participant file of a municipality: paused (by themselves, for not confirming), awaiting confirmation, confirmed",
    responses((status = 200, description = "The counts", body = UpkeepReport),
        (status = 404, description = "Area outside the caller's scope"), (status = 422, description = "Invalid parameter")))]
pub async fn upkeep(
    State(state): State<AppState>,
    user: StaffUser,
    Query(q): Query<UpkeepQuery>,
) -> AppResult<Json<UpkeepReport>> {
    let window = Window::parse(&state, q.from.as_deref(), None)?;
    let area = area_for(&state, &user, q.area.as_deref(), Format::Json)?;
    if !area.code.starts_with("GM") {
        return Err(AppError::invalid("area", "not_a_municipality", "The participant file is kept per municipality (GM…)."));
    }
    let since = window.read_range().0 + 86_400_000;
    let c = state.store.upkeep_counts(&area.code, since).await?;
    audit_read(&state, &user, "upkeep", &area.code).await?;
    let d = area.disclosure;
    let n = |x: i64| d.people(x.max(0) as u64);
    Ok(Json(UpkeepReport {
        municipality: area.code.clone(),
        participants: n(c.participants),
        paused_by_themselves: n(c.paused_by_themselves),
        paused_unconfirmed: n(c.paused_unconfirmed),
        awaiting_confirmation: n(c.awaiting_confirmation),
        confirmed: n(c.confirmed_since),
    }))
}
