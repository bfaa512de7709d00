//! The enquiry report, after the Amersfoort pilot's table: per month the enquiries sent in an
//! area, those with at least one reply and the reaction percentage, the relevant share of the
//! replies, the replies still open, and the median times (incident to sending, reply to
//! answer). Every month of the window has a row, one without enquiries too; the total is
//! computed over the whole period, not averaged over the months.

use super::{Report, ReportArea, Window, lies_in, month_of};
use crate::error::AppResult;
use crate::state::AppState;
use buurtnet_domain::policy::ShownCount;
use buurtnet_domain::reports::{Disclosure, Month, median, percentage};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One month of the enquiry report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EnquiryReportRow {
    /// `2026-11`, or `total`.
    pub month: String,
    pub enquiries_sent: u64,
    pub enquiries_with_reply: u64,
    /// Enquiries with a reply per enquiry sent, in percent (one decimal).
    pub reaction_pct: Option<f64>,
    /// Replies received; "< 5" where small.
    #[schema(value_type = Value)]
    pub replies: ShownCount,
    /// Replies judged relevant, of the judged ones, in percent.
    pub relevant_pct: Option<f64>,
    /// Replies not yet answered.
    #[schema(value_type = Value)]
    pub open_replies: ShownCount,
    /// People the enquiries reached; "< 5" where small.
    #[schema(value_type = Value)]
    pub recipients: ShownCount,
    /// From the incident to sending the enquiry.
    pub median_minutes_to_send: Option<i64>,
    /// From a reply's arrival to its answer (live enquiries).
    pub median_handling_minutes: Option<i64>,
    /// Of `enquiries_sent`, those from the imported history.
    pub from_history: u64,
}

#[derive(Default)]
struct Acc {
    sent: u64,
    with_reply: u64,
    replies: u64,
    relevant: u64,
    judged: u64,
    open: u64,
    recipients: u64,
    to_send: Vec<i64>,
    handling: Vec<i64>,
    history: u64,
}

impl Acc {
    #[allow(clippy::too_many_arguments)]
    fn add(&mut self, replies: u64, relevant: u64, judged: u64, open: u64, recipients: u64, to_send: i64, history: bool) {
        self.sent += 1;
        self.with_reply += u64::from(replies > 0);
        self.replies += replies;
        self.relevant += relevant;
        self.judged += judged;
        self.open += open;
        self.recipients += recipients;
        self.to_send.push(to_send);
        self.history += u64::from(history);
    }

    fn merge(&mut self, other: &Acc) {
        self.sent += other.sent;
        self.with_reply += other.with_reply;
        self.replies += other.replies;
        self.relevant += other.relevant;
        self.judged += other.judged;
        self.open += other.open;
        self.recipients += other.recipients;
        self.to_send.extend(&other.to_send);
        self.handling.extend(&other.handling);
        self.history += other.history;
    }

    fn row(self, month: String, d: Disclosure) -> EnquiryReportRow {
        EnquiryReportRow {
            month,
            enquiries_sent: self.sent,
            enquiries_with_reply: self.with_reply,
            reaction_pct: percentage(self.with_reply, self.sent),
            replies: d.people(self.replies),
            relevant_pct: percentage(self.relevant, self.judged),
            open_replies: d.people(self.open),
            recipients: d.people(self.recipients),
            median_minutes_to_send: median(self.to_send),
            median_handling_minutes: median(self.handling),
            from_history: self.history,
        }
    }
}

pub async fn report(state: &AppState, area: &ReportArea, window: Window) -> AppResult<Report<EnquiryReportRow>> {
    let (from, to) = window.read_range();
    let index = state.areas.current();
    let mut months: BTreeMap<Month, Acc> = window.months().map(|m| (m, Acc::default())).collect();
    let mut month_of_enquiry: HashMap<i64, Month> = HashMap::new();
    let n = |x: i64| x.max(0) as u64;
    for s in state.store.enquiry_stats(from, to).await? {
        let m = month_of(s.sent_at);
        if !window.holds(m) || !lies_in(&index, &s.municipality, &area.code) {
            continue;
        }
        month_of_enquiry.insert(s.id, m);
        if let Some(acc) = months.get_mut(&m) {
            let to_send = (s.sent_at - s.occurred_at).max(0) / 60_000;
            acc.add(n(s.replies), n(s.relevant), n(s.classified), n(s.open), n(s.recipients), to_send, false);
        }
    }
    for (enquiry, ms) in state.store.reply_handling_times(from, to).await? {
        if let Some(acc) = month_of_enquiry.get(&enquiry).and_then(|m| months.get_mut(m)) {
            acc.handling.push(ms.max(0) / 60_000);
        }
    }
    for h in state.store.history_enquiries(from, to).await? {
        let m = month_of(h.sent_at);
        if !window.holds(m) || !lies_in(&index, &h.municipality, &area.code) {
            continue;
        }
        if let Some(acc) = months.get_mut(&m) {
            let to_send = (h.sent_at - h.occurred_at).max(0) / 60_000;
            // History judged every reply: relevant ones of all replies.
            acc.add(n(h.replies), n(h.relevant_replies), n(h.replies), 0, n(h.recipients), to_send, true);
        }
    }
    let mut total = Acc::default();
    for acc in months.values() {
        total.merge(acc);
    }
    let rows = months.into_iter().map(|(m, acc)| acc.row(m.to_string(), area.disclosure)).collect();
    Ok(Report { rows, total: total.row("total".to_string(), area.disclosure) })
}
