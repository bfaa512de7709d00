//! The rules of reports: the periods figures are grouped by, how a percentage and a median are
//! made, the cost share to the cent, and who may see a small count of people exactly.

use crate::policy::ShownCount;
use crate::staff::{Place, Scope};
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use std::fmt;

/// A calendar month (`2026-11`), the unit every report period is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    /// 1 ..= 12.
    pub month: u32,
}

impl Month {
    /// `YYYY-MM`, as the API and the history files write it.
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.trim().split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let year: i32 = y.parse().ok()?;
        let month: u32 = m.parse().ok()?;
        ((1..=12).contains(&month) && (1900..=9999).contains(&year)).then_some(Month { year, month })
    }

    pub fn of(date: NaiveDate) -> Month {
        Month { year: date.year(), month: date.month() }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    pub fn next(self) -> Month {
        if self.month == 12 { Month { year: self.year + 1, month: 1 } } else { Month { year: self.year, month: self.month + 1 } }
    }

    /// The months `from ..= to`.
    pub fn range(from: Month, to: Month) -> impl Iterator<Item = Month> {
        std::iter::successors(Some(from), move |m| Some(m.next()).filter(|n| *n <= to))
    }

    pub fn quarter(self) -> u32 {
        (self.month - 1) / 3 + 1
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// A quarter (`2026-Q3`), the period of the municipality report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quarter {
    pub year: i32,
    /// 1 ..= 4.
    pub quarter: u32,
}

impl Quarter {
    pub fn parse(s: &str) -> Option<Quarter> {
        let (y, q) = s.trim().split_once("-Q")?;
        let year: i32 = y.parse().ok().filter(|y| (1900..=9999).contains(y))?;
        let quarter: u32 = q.parse().ok().filter(|q| (1..=4).contains(q))?;
        (y.len() == 4 && q.len() == 1).then_some(Quarter { year, quarter })
    }

    pub fn first_month(self) -> Month {
        Month { year: self.year, month: (self.quarter - 1) * 3 + 1 }
    }

    pub fn last_month(self) -> Month {
        Month { year: self.year, month: self.quarter * 3 }
    }

    pub fn previous(self) -> Quarter {
        if self.quarter == 1 {
            Quarter { year: self.year - 1, quarter: 4 }
        } else {
            Quarter { year: self.year, quarter: self.quarter - 1 }
        }
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-Q{}", self.year, self.quarter)
    }
}

/// What one row of a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodLength {
    Month,
    Quarter,
    Year,
}

impl PeriodLength {
    pub fn parse(s: &str) -> Option<PeriodLength> {
        match s {
            "month" => Some(PeriodLength::Month),
            "quarter" => Some(PeriodLength::Quarter),
            "year" => Some(PeriodLength::Year),
            _ => None,
        }
    }

    /// The first month of the period a month falls in.
    pub fn start(self, m: Month) -> Month {
        match self {
            PeriodLength::Month => m,
            PeriodLength::Quarter => Month { year: m.year, month: (m.quarter() - 1) * 3 + 1 },
            PeriodLength::Year => Month { year: m.year, month: 1 },
        }
    }

    /// The label of the period a month falls in: `2026-11`, `2026-Q4` or `2026`.
    pub fn label(self, m: Month) -> String {
        match self {
            PeriodLength::Month => m.to_string(),
            PeriodLength::Quarter => Quarter { year: m.year, quarter: m.quarter() }.to_string(),
            PeriodLength::Year => format!("{:04}", m.year),
        }
    }
}

/// `part` of `whole` in percent with one decimal; none of nothing.
pub fn percentage(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

/// The median, the mean of the two middle values (rounded half up) for an even count.
pub fn median(mut values: Vec<i64>) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    Some(if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2] + 1).div_euclid(2) })
}

/// A share of participants under this percentage of the inhabitants flags an area for recruitment
/// (the seeds' 10 %), unless configured otherwise.
pub const RECRUITMENT_THRESHOLD_PCT: f64 = 10.0;

/// Who a report's figures go to. Figures leave a municipality only as aggregates: outside its
/// own staff's screen (regional and national reports, CSV files, the PDF) a count of people
/// under [`crate::policy::SMALL_COUNT`] in an area shows as "< 5".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure {
    /// The municipality's own staff, looking at their own municipality in the console or API.
    OwnStaff,
    /// Anyone else, or any exported file.
    Beyond,
}

impl Disclosure {
    /// `viewer` looks at a report about `area`; `exported` is a file (CSV, PDF) rather than a
    /// screen or a JSON answer.
    pub fn of(viewer: &Scope, area: &Place<'_>, exported: bool) -> Disclosure {
        match viewer {
            Scope::Municipality(gm) if !exported && area.municipality == Some(gm.as_str()) => Disclosure::OwnStaff,
            _ => Disclosure::Beyond,
        }
    }

    /// A count of people as this audience may see it.
    pub fn people(self, n: u64) -> ShownCount {
        ShownCount::masked(n, self == Disclosure::OwnStaff)
    }
}

/// Euro amounts are kept in cents; rates per inhabitant in hundredths of a cent (€ 0.04 = 400),
/// so any rate with up to four decimals is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RatePerInhabitant(pub i64);

impl RatePerInhabitant {
    /// `0.04` (euro per inhabitant, at most four decimals, not negative).
    pub fn parse_euro(s: &str) -> Option<RatePerInhabitant> {
        let s = s.trim();
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        if whole.is_empty()
            || frac.len() > 4
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let frac: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<4}").parse().ok()? };
        whole.checked_mul(10_000)?.checked_add(frac).map(RatePerInhabitant)
    }

    /// One party's share for `inhabitants`, in cents: the exact amount in hundredths of a cent,
    /// rounded half up to the cent. The total of a table is the sum of its rounded rows, so
    /// the rows always add up to the total to the cent.
    pub fn cents_for(self, inhabitants: u64) -> i64 {
        let exact = i128::from(self.0) * i128::from(inhabitants);
        i64::try_from((exact + 50) / 100).unwrap_or(i64::MAX)
    }
}

/// Cents as euros with two decimals (`1234.05`), for CSV and pages.
pub fn euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_quarters_parse_strictly() {
        assert_eq!(Month::parse("2026-11"), Some(Month { year: 2026, month: 11 }));
        for bad in ["2026-13", "2026-00", "26-11", "2026-1", "2026/11", "", "2026-11-01"] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
        assert_eq!(Quarter::parse("2026-Q4"), Some(Quarter { year: 2026, quarter: 4 }));
        assert_eq!(Quarter::parse("2026-Q5"), None);
        assert_eq!(Quarter { year: 2026, quarter: 1 }.previous().to_string(), "2025-Q4");
        let months: Vec<String> =
            Month::range(Month { year: 2025, month: 11 }, Month { year: 2026, month: 2 }).map(|m| m.to_string()).collect();
        assert_eq!(months, ["2025-11", "2025-12", "2026-01", "2026-02"]);
        assert_eq!(PeriodLength::Quarter.label(Month { year: 2026, month: 9 }), "2026-Q3");
        assert_eq!(PeriodLength::Year.label(Month { year: 2026, month: 9 }), "2026");
    }

    #[test]
    fn percentages_and_medians() {
        assert_eq!(percentage(53, 100), Some(53.0));
        assert_eq!(percentage(1, 3), Some(33.3));
        assert_eq!(percentage(2, 3), Some(66.7));
        assert_eq!(percentage(0, 0), None);
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![5, 1, 3]), Some(3));
        assert_eq!(median(vec![4, 1, 2, 3]), Some(3));
    }

    #[test]
    fn cost_share_is_exact_to_the_cent() {
        let r = RatePerInhabitant::parse_euro("0.04").unwrap();
        assert_eq!(r, RatePerInhabitant(400));
        assert_eq!(r.cents_for(12_345), 49_380);
        let odd = RatePerInhabitant::parse_euro("0.0125").unwrap();
        assert_eq!(odd.cents_for(3), 4); // 3.75 cents, half up
        assert_eq!(odd.cents_for(2), 3); // 2.5 cents, half up
        for bad in ["-0.04", "0.04001", "abc", "", ".5", "1e3"] {
            assert_eq!(RatePerInhabitant::parse_euro(bad), None, "{bad}");
        }
        assert_eq!(euros(49_380), "493.80");
        assert_eq!(euros(5), "0.05");
    }

    #[test]
    fn small_counts_leave_a_municipality_only_as_less_than_five() {
        let gm = Scope::Municipality("GM0344".into());
        let own = Place { code: "BU03440001", municipality: Some("GM0344"), police_unit: Some("RE09") };
        let other = Place { code: "GM0307", municipality: Some("GM0307"), police_unit: Some("RE09") };
        assert_eq!(Disclosure::of(&gm, &own, false), Disclosure::OwnStaff);
        assert_eq!(Disclosure::of(&gm, &own, true), Disclosure::Beyond);
        assert_eq!(Disclosure::of(&gm, &other, false), Disclosure::Beyond);
        assert_eq!(Disclosure::of(&Scope::National, &own, false), Disclosure::Beyond);
        assert_eq!(Disclosure::OwnStaff.people(3), ShownCount::Exact(3));
        assert_eq!(Disclosure::Beyond.people(3), ShownCount::FewerThan(5));
        assert_eq!(Disclosure::Beyond.people(0), ShownCount::FewerThan(5));
        assert_eq!(Disclosure::Beyond.people(5), ShownCount::Exact(5));
    }
}
