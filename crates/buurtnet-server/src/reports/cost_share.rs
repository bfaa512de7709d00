//! The cost share: a year's budget split over the municipalities of an area by inhabitants,
//! at a configurable rate per inhabitant for each party (municipality and police) per police
//! unit. Amounts are exact in cents: each municipality's share is its inhabitants times the
//! rate (in hundredths of a cent), rounded half up to the cent, and the total is the sum of
//! the rows, so the table always adds up to the cent.

use super::{Report, ReportArea, lies_in};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use buurtnet_domain::AreaLevel;
use buurtnet_domain::reports::euros;
use serde::Serialize;

/// One municipality's share. Amounts in euro (two decimals).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CostShareRow {
    pub code: String,
    pub name: String,
    /// CBS's figure of the imported geography; null (and no share) where unknown.
    pub inhabitants: Option<i64>,
    pub municipality_eur: f64,
    pub police_eur: f64,
    pub total_eur: f64,
    #[serde(skip)]
    pub cents: (i64, i64),
}

impl CostShareRow {
    fn of(code: String, name: String, inhabitants: Option<i64>, cents: (i64, i64)) -> CostShareRow {
        let eur = |c: i64| c as f64 / 100.0;
        CostShareRow {
            code,
            name,
            inhabitants,
            municipality_eur: eur(cents.0),
            police_eur: eur(cents.1),
            total_eur: eur(cents.0 + cents.1),
            cents,
        }
    }
}

/// `year` (default: this year).
pub fn parse_year(s: Option<&str>, this_year: i32) -> AppResult<i32> {
    let bad = || AppError::invalid("year", "invalid_year", "Give 'year' as a year, e.g. 2026.");
    let Some(s) = s else { return Ok(this_year) };
    let y: i32 = s.trim().parse().map_err(|_| bad())?;
    if !(2000..=2100).contains(&y) {
        return Err(bad());
    }
    Ok(y)
}

pub fn report(state: &AppState, area: &ReportArea) -> AppResult<Report<CostShareRow>> {
    let index = state.areas.current();
    let mut rows: Vec<CostShareRow> = index
        .areas()
        .iter()
        .filter(|a| a.level == AreaLevel::Municipality && lies_in(&index, &a.code, &area.code))
        .map(|a| {
            let rates = state.config.reports.cost_rates(index.place_of(&a.code).police_unit);
            let n = a.inhabitants.unwrap_or(0).max(0) as u64;
            let cents = (rates.municipality.cents_for(n), rates.police.cents_for(n));
            CostShareRow::of(a.code.clone(), a.name.clone(), a.inhabitants, cents)
        })
        .collect();
    rows.sort_by(|a, b| a.code.cmp(&b.code));
    let cents = rows.iter().fold((0, 0), |acc, r| (acc.0 + r.cents.0, acc.1 + r.cents.1));
    let inhabitants = rows.iter().filter_map(|r| r.inhabitants).sum::<i64>();
    let total = CostShareRow::of(area.code.clone(), area.name.clone(), Some(inhabitants), cents);
    Ok(Report { rows, total })
}

/// The table as CSV, amounts written exactly (`1234.05`).
pub fn to_csv(report: &Report<CostShareRow>, year: i32) -> AppResult<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| AppError::Internal(format!("csv: {e}"));
    w.write_record(["year", "code", "name", "inhabitants", "municipality_eur", "police_eur", "total_eur"]).map_err(err)?;
    for r in report.rows.iter().chain(std::iter::once(&report.total)) {
        let code = if std::ptr::eq(r, &report.total) { format!("total {}", r.code) } else { r.code.clone() };
        w.write_record([
            year.to_string(),
            code,
            r.name.clone(),
            r.inhabitants.map(|i| i.to_string()).unwrap_or_default(),
            euros(r.cents.0),
            euros(r.cents.1),
            euros(r.cents.0 + r.cents.1),
        ])
        .map_err(err)?;
    }
    let bytes = w.into_inner().map_err(|e| AppError::Internal(format!("csv: {e}")))?;
    String::from_utf8(bytes).map_err(|e| AppError::Internal(format!("csv: {e}")))
}
