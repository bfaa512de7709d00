//! Resolving an area to exactly the right recipients: every address inside the area (exact test,
//! boundary included) whose owner wants the topic, is not paused and has a usable channel there
//! at the send time (quiet hours apply unless overridden), at most one message per person per
//! channel, restricted to the caller's scope.
//!
//! Candidates come from the database by cell-id ranges; the exact test runs here, only on
//! candidates from boundary cells. Area codes are matched through their outlines (cover and
//! exact test), not through the one code per level stored with each address, so that an area
//! selects everyone inside the outline the dispatcher sees. Only `NL` is "every address".

use crate::replica::{LiveRow, Snapshot};
use buurtnet_domain::quiet_hours::{QuietHours, dutch_local_time};
use buurtnet_domain::staff::Scope;
use buurtnet_domain::{Channel, ChannelSet, FieldErrors, Topic};
use buurtnet_geo::AreaIndex;
use buurtnet_geo::target_area::{Covered, Member, Overlap, Shape, TargetArea, parse_area};
use buurtnet_store::targeting::{CandidateFilter, TargetRow};
use buurtnet_store::{Store, StoreError};
use chrono::{DateTime, NaiveTime, Utc};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// Boundary cells per shape: more cells, fewer exact tests; ranges stay few hundred.
const COVER_BUDGET: usize = 256;

/// A parsed targeting request.
pub struct Request {
    pub area: TargetArea,
    pub topic: Topic,
    pub at: DateTime<Utc>,
    pub override_time_windows: bool,
}

/// `{"area", "topic", "at"?, "override_time_windows"?}`.
pub fn parse_request(body: &Value, index: &AreaIndex, now: DateTime<Utc>) -> Result<Request, FieldErrors> {
    let mut errors = FieldErrors::new();
    let area = match body.get("area") {
        Some(a) => match parse_area(a, index) {
            Ok(a) => Some(a),
            Err(e) => {
                errors.extend(e);
                None
            }
        },
        None => {
            errors.add("area", "missing_area", "Give the area: a circle, polygon, area codes or a union.");
            None
        }
    };
    let topic = body.get("topic").and_then(Value::as_str).and_then(Topic::parse);
    if topic.is_none() {
        errors.add("topic", "invalid_topic", "Topic must be urgent, enquiry or information.");
    }
    let at = match body.get("at") {
        None | Some(Value::Null) => Some(now),
        Some(v) => {
            let t = v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| t.to_utc());
            if t.is_none() {
                errors.add("at", "invalid_time", "Give 'at' as an RFC 3339 time, e.g. 2026-11-22T23:30:00+01:00.");
            }
            t
        }
    };
    let override_time_windows = match body.get("override_time_windows") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.add("override_time_windows", "not_a_boolean", "Give true or false.");
            false
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    match (area, topic, at) {
        (Some(area), Some(topic), Some(at)) => Ok(Request { area, topic, at, override_time_windows }),
        _ => Err(errors),
    }
}

fn topic_bit(t: Topic) -> i64 {
    buurtnet_domain::TopicSet::from_iter([t]).bits()
}

enum Planned {
    /// A drawn shape or an area's outline, with its cover.
    Shape(Arc<Covered>),
    /// Every address (`NL`).
    All,
}

/// What the database is asked for, and how its answers are checked.
pub struct Plan {
    members: Vec<Planned>,
    topic_bit: i64,
    local_time: NaiveTime,
    override_time_windows: bool,
    scope: Scope,
    /// The scope's outline (`None` for national scope, or a scope with no known area).
    scope_outline: Option<Arc<Covered>>,
    /// How the area lies relative to the scope, on the geometry alone.
    scope_overlap: Overlap,
    /// The local times at which quiet hours that kept someone out of this plan end (filled
    /// while recipients are resolved).
    quiet_ends: Arc<std::sync::Mutex<BTreeSet<NaiveTime>>>,
}

impl Plan {
    pub fn new(req: Request, scope: Scope, index: &AreaIndex) -> Plan {
        let scope_outline = match &scope {
            Scope::National => None,
            Scope::Municipality(code) | Scope::PoliceUnit(code) => index.outline(code),
        };
        // Drawn shapes are covered once per process and shape (and their scope overlap decided
        // once per scope): the same area is counted again and again while it is looked at.
        let members: Vec<(Planned, Option<String>)> = req
            .area
            .members
            .into_iter()
            .map(|m| match m {
                Member::Shape(s) => (Planned::Shape(index.cover_drawn(s, COVER_BUDGET)), None),
                Member::Code { outline: Some(outline), code, .. } => (Planned::Shape(outline), Some(code)),
                Member::Code { outline: None, code, .. } => (Planned::All, Some(code)),
            })
            .collect();
        let scope_overlap = planned_scope_overlap(index, &members, &scope, scope_outline.as_ref());
        Plan {
            members: members.into_iter().map(|(m, _)| m).collect(),
            topic_bit: topic_bit(req.topic),
            local_time: dutch_local_time(req.at),
            override_time_windows: req.override_time_windows,
            scope,
            scope_outline,
            scope_overlap,
            quiet_ends: Arc::default(),
        }
    }

    /// Where the local end times of the quiet hours that kept recipients out are collected
    /// while [`resolve`]'s stream runs (read it once the stream is done).
    pub fn quiet_ends(&self) -> Arc<std::sync::Mutex<BTreeSet<NaiveTime>>> {
        self.quiet_ends.clone()
    }

    /// True when no part of the area lies within the caller's scope (refuse it rather than
    /// answer "nobody lives there").
    pub fn wholly_outside_scope(&self) -> bool {
        self.scope_overlap == Overlap::Disjoint
    }

    /// Whether an address is in the caller's scope: its stored code is the scope's, or it lies
    /// inside the scope's outline (only those with another stored code need the point test).
    fn in_scope(&self, c: &TargetRow) -> bool {
        let stored = match &self.scope {
            Scope::National => return true,
            Scope::Municipality(gm) => c.municipality_code.as_deref() == Some(gm),
            Scope::PoliceUnit(re) => c.police_unit_code.as_deref() == Some(re),
        };
        stored || self.inside_scope_outline(c.cell, c.lat, c.lon)
    }

    fn inside_scope_outline(&self, cell: i64, lat: f64, lon: f64) -> bool {
        self.scope_outline.as_ref().is_some_and(|o| o.matches(cell, lat, lon))
    }

    /// The channels this address may be reached on now.
    fn allowed(&self, c: &TargetRow) -> ChannelSet {
        let mut allowed = ChannelSet::from_bits(c.channels);
        if !self.override_time_windows && !buurtnet_domain::quiet_hours::stored_is_empty(&c.quiet_hours) {
            let windows = read_quiet_hours(c.address_id, &c.quiet_hours);
            for w in windows.iter().filter(|w| w.covers(self.local_time)) {
                if w.channels.iter().any(|ch| allowed.contains(*ch))
                    && let Ok(mut ends) = self.quiet_ends.lock()
                {
                    ends.insert(w.to);
                }
                for ch in &w.channels {
                    allowed.remove(*ch);
                }
            }
        }
        allowed
    }
}

/// An address's stored quiet hours. Unreadable data is an error that is logged (with the
/// address id only) and counted, and the address counts as quiet on every channel: only
/// messages that override quiet hours reach it, never a phone ringing at night by mistake.
pub fn read_quiet_hours(address_id: i64, stored: &str) -> Vec<QuietHours> {
    match buurtnet_domain::quiet_hours::decode_stored(stored) {
        Ok(windows) => windows,
        Err(e) => {
            metrics::counter!("buurtnet_unreadable_quiet_hours_total").increment(1);
            tracing::error!(address.id = address_id, error = %e, "stored quiet hours are unreadable; treating the address as quiet on every channel");
            vec![QuietHours::always_quiet()]
        }
    }
}

/// An address in the area with the channels it may be reached on.
#[derive(Debug, Clone)]
pub struct Matched {
    pub candidate: TargetRow,
    pub channels: ChannelSet,
}

/// Every matching address (once, also for overlapping unions), with a flag for addresses that
/// were in the area but outside the caller's scope (they are left out).
pub fn matching<'a>(store: &'a Store, plan: Arc<Plan>) -> BoxStream<'a, Result<Result<Matched, OutOfScope>, StoreError>> {
    let several = plan.members.len() > 1;
    let per_member = (0..plan.members.len()).map(move |i| {
        let plan = plan.clone();
        let filter = match &plan.members[i] {
            Planned::Shape(s) => CandidateFilter::Cells(s.ranges.clone()),
            Planned::All => CandidateFilter::All,
        };
        store.candidates(filter, plan.topic_bit).try_filter_map(move |c| {
            let plan = plan.clone();
            async move {
                if let Planned::Shape(s) = &plan.members[i]
                    && s.cover.needs_test(c.cell)
                    && !s.shape.contains(c.lat, c.lon)
                {
                    return Ok(None);
                }
                if !plan.in_scope(&c) {
                    return Ok(Some(Err(OutOfScope)));
                }
                let channels = plan.allowed(&c);
                if channels.is_empty() {
                    return Ok(None);
                }
                Ok(Some(Ok(Matched { candidate: c, channels })))
            }
        })
    });
    let all = futures::stream::iter(per_member).flatten();
    if !several {
        return all.boxed();
    }
    let mut seen = HashSet::new();
    all.try_filter(move |m| {
        let keep = match m {
            Ok(m) => seen.insert(m.candidate.address_id),
            Err(_) => true,
        };
        futures::future::ready(keep)
    })
    .boxed()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfScope;

/// Per-person channel bits. A hash map while small; past 64k people a byte per participant id
/// (ids are dense), so even the whole country takes a few megabytes.
pub enum PersonChannels {
    Few(HashMap<i64, u8>),
    Many(Vec<u8>),
}

impl Default for PersonChannels {
    fn default() -> Self {
        PersonChannels::Few(HashMap::new())
    }
}

impl PersonChannels {
    /// Adds channels for a person; returns the ones that are new for them.
    pub fn add(&mut self, participant_id: i64, channels: ChannelSet) -> ChannelSet {
        let bits = channels.bits() as u8;
        let before = match self {
            PersonChannels::Few(map) => {
                let slot = map.entry(participant_id).or_insert(0);
                let before = *slot;
                *slot |= bits;
                if map.len() > 65_536 {
                    let max = map.keys().copied().max().unwrap_or(0).max(0) as usize;
                    let mut v = vec![0u8; max + 1];
                    for (k, b) in map.iter() {
                        v[(*k).max(0) as usize] |= *b;
                    }
                    *self = PersonChannels::Many(v);
                }
                before
            }
            PersonChannels::Many(v) => {
                let i = participant_id.max(0) as usize;
                if i >= v.len() {
                    v.resize((i + 1).max(v.len() * 2), 0);
                }
                let before = v[i];
                v[i] |= bits;
                before
            }
        };
        ChannelSet::from_bits(i64::from(bits & !before))
    }

    pub fn sets(&self) -> Vec<ChannelSet> {
        match self {
            PersonChannels::Few(map) => map.values().map(|b| ChannelSet::from_bits(i64::from(*b))).collect(),
            PersonChannels::Many(v) => v.iter().filter(|b| **b != 0).map(|b| ChannelSet::from_bits(i64::from(*b))).collect(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChannelCounts {
    pub push: u64,
    pub sms: u64,
    pub voice: u64,
    pub email: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AreaCount {
    pub code: String,
    pub level: &'static str,
    pub people: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub people: u64,
    pub addresses: u64,
    pub by_channel: ChannelCounts,
    /// The neighbourhoods touched (the district where no neighbourhood is known).
    pub by_area: Vec<AreaCount>,
    /// True when part of the area lies outside the caller's scope and was left out.
    pub clipped_to_scope: bool,
}

/// Counts people, addresses, people per channel and per neighbourhood.
pub async fn count(store: &Store, plan: Plan) -> Result<Counts, StoreError> {
    let mut people = PersonChannels::default();
    let mut addresses = 0u64;
    let mut clipped = false;
    let mut areas: HashMap<(String, &'static str), HashSet<i64>> = HashMap::new();
    let partly_outside = plan.scope_overlap != Overlap::Within;
    let mut stream = matching(store, Arc::new(plan));
    while let Some(item) = stream.try_next().await? {
        match item {
            Err(OutOfScope) => clipped = true,
            Ok(m) => {
                addresses += 1;
                people.add(m.candidate.participant_id, m.channels);
                let key = match (&m.candidate.neighbourhood_code, &m.candidate.district_code) {
                    (Some(b), _) => Some((b.clone(), "neighbourhood")),
                    (None, Some(w)) => Some((w.clone(), "district")),
                    _ => None,
                };
                if let Some(key) = key {
                    areas.entry(key).or_default().insert(m.candidate.participant_id);
                }
            }
        }
    }
    let mut by_channel = ChannelCounts::default();
    let mut total = 0u64;
    for set in people.sets() {
        total += 1;
        by_channel.push += u64::from(set.contains(Channel::Push));
        by_channel.sms += u64::from(set.contains(Channel::Sms));
        by_channel.voice += u64::from(set.contains(Channel::Voice));
        by_channel.email += u64::from(set.contains(Channel::Email));
    }
    let mut by_area: Vec<AreaCount> =
        areas.into_iter().map(|((code, level), ids)| AreaCount { code, level, people: ids.len() as u64 }).collect();
    by_area.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(Counts { people: total, addresses, by_channel, by_area, clipped_to_scope: clipped || partly_outside })
}

/// Visits every address of the replica that is in the area, in scope, wants the topic and has
/// a channel left after quiet hours (once each, also for overlapping unions). `out_of_scope` is
/// called for addresses in the area but outside the caller's scope.
/// `quiet_end` is told the end of every quiet-hours window that took a channel away.
fn visit_live(
    snap: &Snapshot,
    plan: &Plan,
    mut found: impl FnMut(&LiveRow, ChannelSet),
    mut out_of_scope: impl FnMut(),
    mut quiet_end: impl FnMut(NaiveTime),
) {
    let scope_id = match &plan.scope {
        Scope::National => None,
        Scope::Municipality(c) | Scope::PoliceUnit(c) => Some(snap.code_id(c).unwrap_or(u32::MAX)),
    };
    let scope_level = match &plan.scope {
        Scope::PoliceUnit(_) => 5,
        _ => 2,
    };
    let several = plan.members.len() > 1;
    let mut seen_addresses = HashSet::new();
    let mut visit = |r: &LiveRow| {
        if r.channels == 0 || r.topics & plan.topic_bit as u8 == 0 {
            return;
        }
        if let Some(id) = scope_id
            && r.codes[scope_level] != id
            && !plan.inside_scope_outline(r.cell, r.lat, r.lon)
        {
            out_of_scope();
            return;
        }
        if several && !seen_addresses.insert(r.address_id) {
            return;
        }
        let mut allowed = r.channel_set();
        if !plan.override_time_windows && r.quiet != 0 {
            for w in snap.quiet_hours(r.quiet).iter().filter(|w| w.covers(plan.local_time)) {
                if w.channels.iter().any(|ch| allowed.contains(*ch)) {
                    quiet_end(w.to);
                }
                for ch in &w.channels {
                    allowed.remove(*ch);
                }
            }
        }
        if !allowed.is_empty() {
            found(r, allowed);
        }
    };
    for m in &plan.members {
        match m {
            Planned::Shape(s) => {
                // Rows in inside cells need no test and rows in boundary cells always do, so no
                // row asks which kind of cell it is in.
                for &(lo, hi) in &s.cover.inside {
                    snap.base_in_range(lo, hi).for_each(&mut visit);
                }
                for &(lo, hi) in &s.cover.boundary {
                    for r in snap.base_in_range(lo, hi) {
                        if s.shape.contains(r.lat, r.lon) {
                            visit(r);
                        }
                    }
                }
                for r in snap.delta() {
                    if s.matches(r.cell, r.lat, r.lon) {
                        visit(r);
                    }
                }
            }
            Planned::All => snap.all().for_each(&mut visit),
        }
    }
}

/// Counts on the in-memory replica (see `live_index`): the same answer as [`count`], fast.
pub fn count_live(snap: &Snapshot, plan: &Plan) -> Counts {
    let mut people = PersonChannels::default();
    let mut addresses = 0u64;
    let mut clipped = false;
    let mut area_people: Vec<(u32, i64)> = Vec::new();
    visit_live(
        snap,
        plan,
        |r, allowed| {
            addresses += 1;
            people.add(r.participant_id, allowed);
            let area = if r.codes[0] != 0 { r.codes[0] } else { r.codes[1] };
            if area != 0 {
                area_people.push((area, r.participant_id));
            }
        },
        || clipped = true,
        |_| {},
    );
    let mut by_channel = ChannelCounts::default();
    let sets = people.sets();
    for set in &sets {
        by_channel.push += u64::from(set.contains(Channel::Push));
        by_channel.sms += u64::from(set.contains(Channel::Sms));
        by_channel.voice += u64::from(set.contains(Channel::Voice));
        by_channel.email += u64::from(set.contains(Channel::Email));
    }
    area_people.sort_unstable();
    area_people.dedup();
    let mut by_area: Vec<AreaCount> = Vec::new();
    for chunk in area_people.chunk_by(|a, b| a.0 == b.0) {
        let code = snap.code_name(chunk[0].0).unwrap_or_default().to_string();
        let level = if code.starts_with("BU") { "neighbourhood" } else { "district" };
        by_area.push(AreaCount { code, level, people: chunk.len() as u64 });
    }
    by_area.sort_by(|a, b| a.code.cmp(&b.code));
    let clipped = clipped || plan.scope_overlap != Overlap::Within;
    Counts { people: sets.len() as u64, addresses, by_channel, by_area, clipped_to_scope: clipped }
}

/// Recipients from the replica, as a stream with back-pressure: a blocking task walks the
/// replica and hands over blocks of recipients; memory stays bounded (one byte per participant
/// id for the once-per-channel rule, plus the blocks in flight). Catch up before calling it.
pub fn recipients_live(snap: Arc<Snapshot>, plan: Plan) -> BoxStream<'static, Recipient> {
    const BLOCK: usize = 4096;
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<Recipient>>(4);
    tokio::task::spawn_blocking(move || {
        let mut seen = PersonChannels::default();
        let mut block = Vec::with_capacity(BLOCK);
        let mut closed = false;
        let mut quiet_ends = BTreeSet::new();
        visit_live(
            &snap,
            &plan,
            |r, allowed| {
                if closed {
                    return;
                }
                for channel in seen.add(r.participant_id, allowed).iter() {
                    block.push(Recipient { participant_id: r.participant_id, channel });
                }
                if block.len() >= BLOCK {
                    closed = tx.blocking_send(std::mem::replace(&mut block, Vec::with_capacity(BLOCK))).is_err();
                }
            },
            || {},
            |end| {
                quiet_ends.insert(end);
            },
        );
        // Before the last block: the stream's end means the ends are known.
        if let Ok(mut ends) = plan.quiet_ends.lock() {
            ends.extend(quiet_ends);
        }
        if !closed && !block.is_empty() {
            let _ = tx.blocking_send(block);
        }
    });
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (futures::stream::iter(b), rx)) }).flatten().boxed()
}

/// One message to send: a person on a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Recipient {
    pub participant_id: i64,
    pub channel: Channel,
}

/// The recipients as a stream, each person at most once per channel however many of their
/// addresses are in the area. Memory: one byte per participant id.
pub fn recipients<'a>(store: &'a Store, plan: Plan) -> BoxStream<'a, Result<Recipient, StoreError>> {
    let mut seen = PersonChannels::default();
    matching(store, Arc::new(plan))
        .map_ok(move |m| {
            let fresh = match m {
                Ok(m) => {
                    seen.add(m.candidate.participant_id, m.channels).iter().map(|c| (m.candidate.participant_id, c)).collect()
                }
                Err(OutOfScope) => Vec::new(),
            };
            futures::stream::iter(fresh.into_iter().map(|(participant_id, channel)| Ok(Recipient { participant_id, channel })))
        })
        .try_flatten()
        .boxed()
}

/// How an area lies relative to a staff scope. Drawn shapes are compared with the scope's
/// outline; area codes by the administrative tree ([`code_within_scope`]), so that an officer's
/// own districts are not reported as clipped where two imported outlines differ by a few metres
/// (addresses left out by the count still set `clipped_to_scope`).
pub fn scope_overlap(index: &AreaIndex, area: &TargetArea, scope: &Scope) -> Overlap {
    let outline = match scope {
        Scope::National => return Overlap::Within,
        Scope::Municipality(code) | Scope::PoliceUnit(code) => index.outline(code),
    };
    combine(area.members.iter().map(|m| match (m, &outline) {
        (Member::Code { code, .. }, _) => code_overlap(index, code, scope),
        (Member::Shape(s), Some(outline)) => shape_overlap(outline, s),
        (Member::Shape(_), None) => Overlap::Disjoint,
    }))
}

/// [`scope_overlap`] of planned members (covered shapes, with the code of each area code): a
/// drawn shape's overlap with a scope is decided once per process ([`AreaIndex::drawn_overlap`]),
/// first on the two covers (no exact test when they tell), then on the geometry.
fn planned_scope_overlap(
    index: &AreaIndex,
    members: &[(Planned, Option<String>)],
    scope: &Scope,
    outline: Option<&Arc<Covered>>,
) -> Overlap {
    if matches!(scope, Scope::National) {
        return Overlap::Within;
    }
    combine(members.iter().map(|m| match (m, outline) {
        ((_, Some(code)), _) => code_overlap(index, code, scope),
        ((Planned::Shape(s), None), Some(outline)) => {
            index.drawn_overlap(s, scope.code(), || cover_overlap(outline, s).unwrap_or_else(|| shape_overlap(outline, &s.shape)))
        }
        _ => Overlap::Disjoint,
    }))
}

fn code_overlap(index: &AreaIndex, code: &str, scope: &Scope) -> Overlap {
    if code_within_scope(index, code, scope) { Overlap::Within } else { Overlap::Disjoint }
}

fn shape_overlap(outline: &Covered, shape: &Shape) -> Overlap {
    match &outline.shape {
        Shape::Polygon(p) => p.overlap(shape),
        Shape::Circle { .. } => Overlap::Disjoint,
    }
}

/// What the covers alone tell: every cell of the shape's cover in the outline's inside cells →
/// within; no cell of it in any cell of the outline's cover → disjoint; else `None` (the exact
/// test decides). Both covers hold every point of their shapes, so both answers are certain.
fn cover_overlap(outline: &Covered, shape: &Covered) -> Option<Overlap> {
    let within = |ranges: &[(i64, i64)], lo: i64, hi: i64| {
        let i = ranges.partition_point(|r| r.1 < lo);
        ranges.get(i).is_some_and(|r| r.0 <= lo && hi <= r.1)
    };
    let meets = |ranges: &[(i64, i64)], lo: i64, hi: i64| {
        let i = ranges.partition_point(|r| r.1 < lo);
        ranges.get(i).is_some_and(|r| r.0 <= hi)
    };
    if shape.ranges.iter().all(|&(lo, hi)| within(&outline.cover.inside, lo, hi)) {
        return Some(Overlap::Within);
    }
    if !shape.ranges.iter().any(|&(lo, hi)| meets(&outline.ranges, lo, hi)) {
        return Some(Overlap::Disjoint);
    }
    None
}

fn combine(overlaps: impl Iterator<Item = Overlap>) -> Overlap {
    let mut any_in = false;
    let mut all_in = true;
    for o in overlaps {
        any_in |= o != Overlap::Disjoint;
        all_in &= o == Overlap::Within;
    }
    match (any_in, all_in) {
        (false, _) => Overlap::Disjoint,
        (true, false) => Overlap::Partly,
        (true, true) => Overlap::Within,
    }
}

/// The recipients for sending: from the replica when it is ready (after catching up), else
/// straight from the database (while the replica loads after a start). Sending code calls this.
pub async fn resolve<'a>(
    store: &'a Store,
    live: &crate::replica::LiveIndex,
    plan: Plan,
) -> Result<BoxStream<'a, Result<Recipient, StoreError>>, StoreError> {
    Ok(match live.current(store).await? {
        Some(snapshot) => recipients_live(snapshot, plan).map(Ok).boxed(),
        None => recipients(store, plan),
    })
}

/// Whether an area code lies within a staff scope (the domain's rule on the code's place in
/// the administrative tree).
pub fn code_within_scope(index: &AreaIndex, code: &str, scope: &Scope) -> bool {
    scope.covers(&index.place_of(code))
}

/// Anonymous push devices (registered with a location of their own, no participant) in the
/// area and the caller's scope that want the topic: targeted like addresses, one push per
/// device. Quiet hours do not apply (a device without an account has none).
pub fn anonymous_devices<'a>(store: &'a Store, plan: Arc<Plan>) -> BoxStream<'a, Result<i64, StoreError>> {
    let several = plan.members.len() > 1;
    let per_member = (0..plan.members.len()).map(move |i| {
        let plan = plan.clone();
        let ranges = match &plan.members[i] {
            Planned::Shape(s) => Some(s.ranges.clone()),
            Planned::All => None,
        };
        store.anonymous_devices(ranges, plan.topic_bit).try_filter_map(move |d| {
            let plan = plan.clone();
            async move {
                if let Planned::Shape(s) = &plan.members[i]
                    && !s.matches(d.cell, d.lat, d.lon)
                {
                    return Ok(None);
                }
                let in_scope = matches!(plan.scope, Scope::National) || plan.inside_scope_outline(d.cell, d.lat, d.lon);
                Ok(in_scope.then_some(d.id))
            }
        })
    });
    let all = futures::stream::iter(per_member).flatten();
    if !several {
        return all.boxed();
    }
    let mut seen = HashSet::new();
    all.try_filter(move |id| futures::future::ready(seen.insert(*id))).boxed()
}

/// Whether the plan's area is the whole country and nothing else: its anonymous devices then
/// come in order of id (see [`anonymous_devices`]).
pub fn everywhere_only(plan: &Plan) -> bool {
    matches!(plan.members.as_slice(), [Planned::All])
}

/// The coarse cells ("where I am") that overlap the plan's area: the cells holding any part of
/// its cover (a cover range of full-resolution Z-order ids maps onto coarse ids by a shift);
/// `None` when the area is everywhere. A superset near the border, never a subset: the device
/// itself decides whether its precise position is inside.
pub fn coarse_cells(plan: &Plan) -> Option<HashSet<i64>> {
    let mut cells = HashSet::new();
    for m in &plan.members {
        match m {
            Planned::All => return None,
            Planned::Shape(s) => add_coarse(&mut cells, &s.ranges),
        }
    }
    Some(cells)
}

/// [`coarse_cells`] of an area on its own (the live feed's filter for "where I am" pages).
pub fn area_coarse_cells(area: TargetArea) -> Option<HashSet<i64>> {
    let mut cells = HashSet::new();
    for m in area.members {
        match m {
            Member::Shape(s) => add_coarse(&mut cells, &Covered::new(s, COVER_BUDGET).ranges),
            Member::Code { outline: Some(o), .. } => add_coarse(&mut cells, &o.ranges),
            Member::Code { outline: None, .. } => return None,
        }
    }
    Some(cells)
}

fn add_coarse(cells: &mut HashSet<i64>, ranges: &[(i64, i64)]) {
    use buurtnet_domain::cell::{COARSE_LEVEL, GRID_BITS};
    let shift = 2 * (GRID_BITS - COARSE_LEVEL);
    for (lo, hi) in ranges {
        cells.extend((lo >> shift)..=(hi >> shift));
    }
}

/// The "where I am" devices wanting the plan's topic whose coarse cell, still valid at `now`,
/// overlaps the area (see [`coarse_cells`]).
pub async fn coarse_devices(store: &Store, plan: &Plan, now: i64) -> Result<Vec<i64>, StoreError> {
    let cells = coarse_cells(plan);
    let (lo, hi) = match &cells {
        None => (0, buurtnet_domain::cell::COARSE_CELLS - 1),
        Some(c) if c.is_empty() => return Ok(Vec::new()),
        Some(c) => (c.iter().copied().min().unwrap_or(0), c.iter().copied().max().unwrap_or(0)),
    };
    let rows = store.coarse_devices(lo, hi, plan.topic_bit, now).await?;
    Ok(rows.into_iter().filter(|(_, cell)| cells.as_ref().is_none_or(|c| c.contains(cell))).map(|(id, _)| id).collect())
}

/// Anonymous devices whose further fixed places (beyond the first) lie in the plan's area, each
/// once. (With the area everywhere, every device is reached through its first place already.)
pub async fn devices_by_further_places(store: &Store, plan: &Plan) -> Result<Vec<i64>, StoreError> {
    let mut out = HashSet::new();
    for m in &plan.members {
        let Planned::Shape(s) = m else { continue };
        for d in store.anonymous_device_places(&s.ranges, plan.topic_bit).await? {
            let in_scope = matches!(plan.scope, Scope::National) || plan.inside_scope_outline(d.cell, d.lat, d.lon);
            if s.matches(d.cell, d.lat, d.lon) && in_scope {
                out.insert(d.id);
            }
        }
    }
    Ok(out.into_iter().collect())
}
