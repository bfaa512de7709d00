//! Reports that municipalities and police steer by: actions and their outcomes, enquiries and
//! their reaction, coverage against inhabitants, and the cost share; over live figures and the
//! history a region brought along (`import-history`). Counts only, scoped like everything else,
//! and small counts of people leave a municipality only as "< 5" (the domain's [`Disclosure`]).

pub mod actions;
pub mod api;
pub mod campaigns;
pub mod choropleth;
pub mod cost_share;
pub mod coverage;
pub mod enquiries;
pub mod history_import;
pub mod quarterly;
pub mod quarterly_mail;
pub mod quarterly_pdf;
pub mod upkeep;

use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::texts::mail::dutch_time;
use buurtnet_domain::Operation;
use buurtnet_domain::reports::{Disclosure, Month};
use buurtnet_geo::AreaIndex;
use chrono::{DateTime, Months, NaiveDate, TimeZone, Utc};
use serde::Serialize;

/// A report: its rows and one total computed over the whole period (never an average of rows).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report<R> {
    pub rows: Vec<R>,
    pub total: R,
}

/// How a report is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

impl Format {
    pub fn parse(s: Option<&str>) -> AppResult<Format> {
        match s {
            None | Some("json") => Ok(Format::Json),
            Some("csv") => Ok(Format::Csv),
            Some(_) => Err(AppError::invalid("format", "invalid_value", "Use format=json or csv.")),
        }
    }

    pub fn exported(self) -> bool {
        self == Format::Csv
    }
}

/// The months a report covers, `from ..= to` (Dutch calendar months).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: Month,
    pub to: Month,
}

impl Window {
    /// `from`/`to` as `YYYY-MM`; by default the twelve months up to this one.
    pub fn parse(state: &AppState, from: Option<&str>, to: Option<&str>) -> AppResult<Window> {
        let month = |field: &str, s: &str| {
            Month::parse(s)
                .ok_or_else(|| AppError::invalid(field, "invalid_month", format!("Give '{field}' as a month, e.g. 2026-11.")))
        };
        let this = Month::of(dutch_time(state.clock.now()).date_naive());
        let to = match to {
            Some(s) => month("to", s)?,
            None => this,
        };
        let from = match from {
            Some(s) => month("from", s)?,
            None => {
                let d = to.first_day().checked_sub_months(Months::new(11)).unwrap_or(to.first_day());
                Month::of(d)
            }
        };
        if from > to {
            return Err(AppError::invalid("from", "after_to", "'from' lies after 'to'."));
        }
        if to.year - from.year > 30 {
            return Err(AppError::invalid("from", "too_long", "A report covers at most 30 years."));
        }
        Ok(Window { from, to })
    }

    /// Milliseconds `[start, end)` to read, a day wider on each side for the Dutch offset;
    /// rows are then placed by their Dutch month ([`month_of`]) and kept when [`Window::holds`].
    pub fn read_range(self) -> (i64, i64) {
        let ms = |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()).timestamp_millis();
        (ms(self.from.first_day()) - 86_400_000, ms(self.to.next().first_day()) + 86_400_000)
    }

    pub fn holds(self, m: Month) -> bool {
        m >= self.from && m <= self.to
    }

    pub fn months(self) -> impl Iterator<Item = Month> {
        Month::range(self.from, self.to)
    }
}

/// The Dutch calendar month of a moment.
pub fn month_of(ms: i64) -> Month {
    Month::of(dutch_time(DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()).date_naive())
}

/// The area a report is about, checked against the caller's scope.
#[derive(Debug, Clone)]
pub struct ReportArea {
    pub code: String,
    pub name: String,
    pub disclosure: Disclosure,
}

/// Resolves `area` (default: the caller's own scope) for a report: it must exist and lie in the
/// caller's scope, else 404 (an area outside one's scope is as good as unknown).
pub fn area_for(state: &AppState, user: &StaffUser, area: Option<&str>, format: Format) -> AppResult<ReportArea> {
    user.require(Operation::ReadReports)?;
    let code =
        area.map(|a| a.trim().to_ascii_uppercase()).filter(|a| !a.is_empty()).unwrap_or_else(|| user.scope.code().to_string());
    let index = state.areas.current();
    let name = if code == "NL" {
        "Nederland".to_string()
    } else {
        index
            .get(&code)
            .map(|a| a.name.clone())
            .ok_or_else(|| AppError::invalid("area", "unknown_area", format!("There is no area with code {code}.")))?
    };
    let place = index.place_of(&code);
    if !user.scope.covers(&place) {
        return Err(AppError::NotFound(format!("Area {code} lies outside your scope.")));
    }
    let disclosure = Disclosure::of(&user.scope, &place, format.exported());
    Ok(ReportArea { code, name, disclosure })
}

/// Whether `code` (an area in the police tree) lies in `area`: itself, one of its ancestors,
/// its municipality's province, or the country.
pub fn lies_in(index: &AreaIndex, code: &str, area: &str) -> bool {
    if area == "NL" {
        return true;
    }
    if area.starts_with("PV") {
        let gm = index.place_of(code).municipality.and_then(|gm| index.get(gm));
        return gm.and_then(|g| g.province_code.as_deref()) == Some(area);
    }
    let mut cur = Some(code.to_string());
    for _ in 0..6 {
        let Some(c) = cur else { return false };
        if c == area {
            return true;
        }
        cur = index.get(&c).and_then(|a| a.parent_code.clone());
    }
    false
}

/// The audit entry of a report read: which report and area, never figures.
pub async fn audit_read(state: &AppState, user: &StaffUser, report: &str, area: &str) -> AppResult<()> {
    state
        .store
        .audit(
            state.now_ms(),
            &user.actor(),
            "report.read",
            Some(&format!("area:{area}")),
            &serde_json::json!({"report": report}),
        )
        .await?;
    Ok(())
}

/// Rows as CSV (header from the row type's fields; "< 5" where a count is masked).
pub fn to_csv<R: Serialize>(report: &Report<R>) -> AppResult<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in report.rows.iter().chain(std::iter::once(&report.total)) {
        w.serialize(r).map_err(|e| AppError::Internal(format!("csv: {e}")))?;
    }
    let bytes = w.into_inner().map_err(|e| AppError::Internal(format!("csv: {e}")))?;
    String::from_utf8(bytes).map_err(|e| AppError::Internal(format!("csv: {e}")))
}
