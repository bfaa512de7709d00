//! Time windows in which a participant does not want some channels (e.g. no voice 23:00–07:00).
//! Times are local Dutch wall-clock times.

use crate::channel::{Channel, ChannelSet};
use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    pub channels: Vec<Channel>,
    #[serde(with = "hhmm")]
    pub from: NaiveTime,
    #[serde(with = "hhmm")]
    pub to: NaiveTime,
}

impl QuietHours {
    /// Whether `time` (local) falls in the window; a window may wrap midnight. `from` is
    /// inclusive, `to` exclusive; equal times mean the whole day.
    pub fn covers(&self, time: NaiveTime) -> bool {
        if self.from == self.to {
            true
        } else if self.from < self.to {
            time >= self.from && time < self.to
        } else {
            time >= self.from || time < self.to
        }
    }

    pub fn channel_set(&self) -> ChannelSet {
        self.channels.iter().copied().collect()
    }
}

impl QuietHours {
    /// Quiet on every channel all day: what an unreadable stored window list means, so that a
    /// damaged record never makes the phone ring at night (only messages that override quiet
    /// hours reach such an address).
    pub fn always_quiet() -> QuietHours {
        let midnight = NaiveTime::MIN;
        QuietHours { channels: Channel::ALL.to_vec(), from: midnight, to: midnight }
    }
}

/// Whether stored windows need reading at all: only empty text and `[]` mean "none" without it.
pub fn stored_is_empty(stored: &str) -> bool {
    matches!(stored.trim(), "" | "[]")
}

/// Reads stored windows (JSON, as written by the server). Empty text or `[]` means none.
pub fn decode_stored(stored: &str) -> Result<Vec<QuietHours>, serde_json::Error> {
    if stored.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(stored)
}

/// Dutch wall-clock time at a UTC instant: CET (UTC+1), or CEST (UTC+2) from the last Sunday
/// of March 01:00 UTC to the last Sunday of October 01:00 UTC (the EU rule).
pub fn dutch_local_time(utc: chrono::DateTime<chrono::Utc>) -> NaiveTime {
    use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
    let last_sunday = |month: u32| {
        let first_next = if month == 12 {
            NaiveDate::from_ymd_opt(utc.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(utc.year(), month + 1, 1)
        };
        let mut d = first_next.unwrap_or_default() - Duration::days(1);
        while d.weekday() != Weekday::Sun {
            d -= Duration::days(1);
        }
        Utc.from_utc_datetime(&d.and_hms_opt(1, 0, 0).unwrap_or_default())
    };
    let summer = utc >= last_sunday(3) && utc < last_sunday(10);
    (utc + Duration::hours(if summer { 2 } else { 1 })).time()
}

/// The next moment after `now` at which the Dutch wall clock shows `local` (within 24 hours).
/// Across a change to or from summer time it may be an hour off; callers that wait for a quiet
/// window to end check again then.
pub fn next_local_time(now: chrono::DateTime<chrono::Utc>, local: NaiveTime) -> chrono::DateTime<chrono::Utc> {
    let day = 86_400i64;
    let delta = (local - dutch_local_time(now)).num_seconds().rem_euclid(day);
    now + chrono::Duration::seconds(if delta == 0 { day } else { delta })
}

/// Parses `HH:MM` (00:00–23:59).
pub fn parse_hhmm(s: &str) -> Option<NaiveTime> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

mod hhmm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.format("%H:%M").to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_hhmm(&s).ok_or_else(|| serde::de::Error::custom("expected a time as HH:MM"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveTime {
        parse_hhmm(s).unwrap()
    }

    #[test]
    fn windows_wrap_midnight() {
        let w = QuietHours { channels: vec![Channel::Voice], from: t("23:00"), to: t("07:00") };
        assert!(w.covers(t("23:00")));
        assert!(w.covers(t("03:00")));
        assert!(!w.covers(t("07:00")));
        assert!(!w.covers(t("12:00")));
        let day = QuietHours { channels: vec![Channel::Sms], from: t("09:00"), to: t("17:00") };
        assert!(day.covers(t("09:00")) && !day.covers(t("17:00")) && !day.covers(t("08:59")));
    }

    #[test]
    fn dutch_time_follows_summer_time() {
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        assert_eq!(dutch_local_time(at("2026-01-15T22:30:00Z")), t("23:30"));
        assert_eq!(dutch_local_time(at("2026-07-15T22:30:00Z")), t("00:30"));
        // 2026: summer time from 29 March 01:00 UTC to 25 October 01:00 UTC.
        assert_eq!(dutch_local_time(at("2026-03-29T00:59:00Z")), t("01:59"));
        assert_eq!(dutch_local_time(at("2026-03-29T01:00:00Z")), t("03:00"));
        assert_eq!(dutch_local_time(at("2026-10-25T00:59:00Z")), t("02:59"));
        assert_eq!(dutch_local_time(at("2026-10-25T01:00:00Z")), t("02:00"));
    }

    #[test]
    fn hhmm_rejects_nonsense() {
        for bad in ["24:00", "7:00", "07:60", "0700", "", "ab:cd"] {
            assert!(parse_hhmm(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_next_local_time_is_within_a_day() {
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).map(|t| t.to_utc()).unwrap_or_default();
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default();
        // 22:30 in winter (UTC+1) is 21:30Z; 07:00 local is 06:00Z the next day.
        assert_eq!(next_local_time(at("2026-11-29T21:30:00Z"), t(7, 0)), at("2026-11-30T06:00:00Z"));
        // In summer (UTC+2): 05:00Z is 07:00 local, so 08:00 local is 06:00Z.
        assert_eq!(next_local_time(at("2026-07-01T05:00:00Z"), t(8, 0)), at("2026-07-01T06:00:00Z"));
        // Now exactly: the same time tomorrow.
        assert_eq!(next_local_time(at("2026-11-29T06:00:00Z"), t(7, 0)), at("2026-11-30T06:00:00Z"));
    }
}
