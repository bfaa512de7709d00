//! Monitoring, after the Amersfoort pilot's table: per month and municipality the enquiries
//! sent, those with at least one reply, the reaction percentage, the share of (classified)
//! replies that were relevant, and the replies still open; and per enquiry the time from the
//! incident to sending.

use super::texts::dutch_time;
use super::visible;
use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use buurtnet_domain::Operation;
use buurtnet_store::enquiries::EnquiryRow;
use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct MonthRow {
    /// `2026-11`.
    pub month: String,
    pub municipality: String,
    pub enquiries_sent: i64,
    pub enquiries_with_reply: i64,
    /// Enquiries with a reply per enquiry sent, in percent (one decimal).
    pub reaction_pct: f64,
    pub replies: i64,
    /// Replies judged relevant to their case, of the classified ones, in percent.
    pub relevant_pct: Option<f64>,
    pub open_replies: i64,
    pub recipients: i64,
    /// The median time from incident to sending, in minutes.
    pub median_minutes_to_send: Option<i64>,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The table for the months `from ..= to` (`YYYY-MM`; default the last twelve months).
pub async fn monthly(state: &AppState, user: &StaffUser, from: Option<&str>, to: Option<&str>) -> AppResult<Vec<MonthRow>> {
    user.require(Operation::ReadEnquiries)?;
    let parse = |field: &str, s: &str| -> AppResult<NaiveDate> {
        NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
            .map_err(|_| AppError::invalid(field, "invalid_month", format!("Give '{field}' as a month, e.g. 2026-11.")))
    };
    let today = dutch_time(state.clock.now()).date_naive();
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let to = match to {
        Some(s) => parse("to", s)?,
        None => this_month,
    };
    let from = match from {
        Some(s) => parse("from", s)?,
        None => to.checked_sub_months(Months::new(11)).unwrap_or(to),
    };
    if from > to {
        return Err(AppError::invalid("from", "after_to", "'from' lies after 'to'."));
    }
    let end = to.checked_add_months(Months::new(1)).unwrap_or(to);
    // A day's margin either side for the Dutch offset; rows are then placed by Dutch date.
    let ms = |d: NaiveDate, days: i64| {
        Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()).timestamp_millis() + days * 86_400_000
    };
    let stats = state.store.enquiry_stats(ms(from, -1), ms(end, 1)).await?;
    let mut groups: BTreeMap<(String, String), (MonthRow, Vec<i64>, i64)> = BTreeMap::new();
    for s in stats {
        // Scope: the same rule as for reading an enquiry.
        let probe = EnquiryRow {
            id: s.id,
            scope: s.scope.clone(),
            municipality: s.municipality.clone(),
            incident_type: String::new(),
            occurred_at: s.occurred_at,
            lat: 0.0,
            lon: 0.0,
            radius_m: 0,
            description: String::new(),
            questions: String::new(),
            state: String::new(),
            return_comment: None,
            requested_by: 0,
            decided_by: None,
            message_id: None,
            created_at: 0,
            updated_at: 0,
            sent_at: Some(s.sent_at),
            closed_at: None,
            version: 0,
        };
        if !visible(state, user, &probe) {
            continue;
        }
        let sent = dutch_time(DateTime::<Utc>::from_timestamp_millis(s.sent_at).unwrap_or_default()).date_naive();
        let month_start = NaiveDate::from_ymd_opt(sent.year(), sent.month(), 1).unwrap_or(sent);
        if month_start < from || month_start > to {
            continue;
        }
        let month = format!("{:04}-{:02}", sent.year(), sent.month());
        let entry = groups.entry((month.clone(), s.municipality.clone())).or_insert_with(|| {
            (
                MonthRow {
                    month,
                    municipality: s.municipality.clone(),
                    enquiries_sent: 0,
                    enquiries_with_reply: 0,
                    reaction_pct: 0.0,
                    replies: 0,
                    relevant_pct: None,
                    open_replies: 0,
                    recipients: 0,
                    median_minutes_to_send: None,
                },
                Vec::new(),
                0,
            )
        });
        let (row, minutes, classified) = entry;
        row.enquiries_sent += 1;
        row.enquiries_with_reply += i64::from(s.replies > 0);
        row.replies += s.replies;
        row.open_replies += s.open;
        row.recipients += s.recipients;
        *classified += s.classified;
        row.relevant_pct = Some(row.relevant_pct.unwrap_or(0.0) + s.relevant as f64);
        minutes.push((s.sent_at - s.occurred_at) / 60_000);
    }
    Ok(groups
        .into_values()
        .map(|(mut row, mut minutes, classified)| {
            row.reaction_pct = round1(100.0 * row.enquiries_with_reply as f64 / row.enquiries_sent.max(1) as f64);
            row.relevant_pct =
                if classified > 0 { row.relevant_pct.map(|r| round1(100.0 * r / classified as f64)) } else { None };
            minutes.sort_unstable();
            row.median_minutes_to_send = minutes.get(minutes.len() / 2).copied();
            row
        })
        .collect())
}

/// The table as CSV (comma-separated, a header row).
pub fn to_csv(rows: &[MonthRow]) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "month",
        "municipality",
        "enquiries_sent",
        "enquiries_with_reply",
        "reaction_pct",
        "replies",
        "relevant_pct",
        "open_replies",
        "recipients",
        "median_minutes_to_send",
    ])?;
    for r in rows {
        w.write_record([
            r.month.clone(),
            r.municipality.clone(),
            r.enquiries_sent.to_string(),
            r.enquiries_with_reply.to_string(),
            format!("{:.1}", r.reaction_pct),
            r.replies.to_string(),
            r.relevant_pct.map(|p| format!("{p:.1}")).unwrap_or_default(),
            r.open_replies.to_string(),
            r.recipients.to_string(),
            r.median_minutes_to_send.map(|m| m.to_string()).unwrap_or_default(),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}
