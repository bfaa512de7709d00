//! The in-memory targeting replica of each process: every address in compact columns sorted by
//! cell id, so that counting while a dispatcher drags a circle takes microseconds to a few
//! milliseconds instead of a database round trip per row.
//!
//! It is kept in step with the database through the `changes` feed (each writing transaction
//! appends the participant ids it touched, in commit order): before every count the process
//! reads the feed since its last position and reloads those participants. Changed participants
//! live in a small delta beside the sorted base until the base is rebuilt. Several processes
//! sharing one database therefore count alike; sending still reads the database itself.

use buurtnet_domain::ChannelSet;
use buurtnet_domain::quiet_hours::QuietHours;
use buurtnet_store::targeting::TargetRow;
use buurtnet_store::{Store, StoreError};
use futures::TryStreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use tokio::sync::Mutex;

/// Rebuild the sorted base when the delta holds more rows than this.
const REBUILD_AT: usize = 50_000;

/// Area-code columns, in this order, as interned ids (0 = none).
pub const LEVELS: [&str; 7] = ["neighbourhood", "district", "municipality", "pc4", "safety_region", "police_unit", "province"];

#[derive(Debug, Clone, PartialEq)]
pub struct LiveRow {
    pub address_id: i64,
    pub participant_id: i64,
    pub lat: f64,
    pub lon: f64,
    pub cell: i64,
    pub channels: u8,
    pub topics: u8,
    /// Index into the quiet-hours table (0 = none).
    pub quiet: u32,
    pub codes: [u32; 7],
}

#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: &Option<String>) -> u32 {
        let Some(s) = s else { return 0 };
        if let Some(id) = self.ids.get(s) {
            return *id;
        }
        self.names.push(s.clone());
        let id = self.names.len() as u32; // 1-based
        self.ids.insert(s.clone(), id);
        id
    }
}

/// One consistent view of all addresses.
#[derive(Default)]
pub struct Snapshot {
    /// Sorted by cell; shared between views, replaced only by a rebuild.
    base: Arc<Vec<LiveRow>>,
    /// Participants whose base rows are out of date (their current rows are in `delta`).
    stale: HashSet<i64>,
    delta: HashMap<i64, Vec<LiveRow>>,
    delta_rows: usize,
    codes: Interner,
    quiet: Vec<Vec<QuietHours>>,
    quiet_ids: HashMap<String, u32>,
    /// Base positions per interned area code (all levels), for counting by code.
    postings: Arc<HashMap<u32, Vec<u32>>>,
    /// The change-feed position this view includes.
    pub seq: i64,
}

fn postings_of(base: &[LiveRow]) -> HashMap<u32, Vec<u32>> {
    let mut map: HashMap<u32, Vec<u32>> = HashMap::new();
    for (i, r) in base.iter().enumerate() {
        for c in r.codes.iter().filter(|c| **c != 0) {
            map.entry(*c).or_default().push(i as u32);
        }
    }
    map
}

impl Snapshot {
    fn convert(&mut self, r: TargetRow) -> Option<LiveRow> {
        if r.paused {
            return None;
        }
        let quiet = if buurtnet_domain::quiet_hours::stored_is_empty(&r.quiet_hours) {
            0
        } else if let Some(id) = self.quiet_ids.get(&r.quiet_hours) {
            *id
        } else {
            let parsed = crate::services::targeting::read_quiet_hours(r.address_id, &r.quiet_hours);
            self.quiet.push(parsed);
            let id = self.quiet.len() as u32;
            self.quiet_ids.insert(r.quiet_hours.clone(), id);
            id
        };
        let codes = [
            self.codes.id(&r.neighbourhood_code),
            self.codes.id(&r.district_code),
            self.codes.id(&r.municipality_code),
            self.codes.id(&r.pc4),
            self.codes.id(&r.safety_region_code),
            self.codes.id(&r.police_unit_code),
            self.codes.id(&r.province_code),
        ];
        Some(LiveRow {
            address_id: r.address_id,
            participant_id: r.participant_id,
            lat: r.lat,
            lon: r.lon,
            cell: r.cell,
            channels: (r.channels & 0x0f) as u8,
            topics: (r.topics & 0x07) as u8,
            quiet,
            codes,
        })
    }

    /// The interned id of an area code, if any address lies in it.
    pub fn code_id(&self, code: &str) -> Option<u32> {
        self.codes.ids.get(code).copied()
    }

    pub fn code_name(&self, id: u32) -> Option<&str> {
        id.checked_sub(1).and_then(|i| self.codes.names.get(i as usize)).map(String::as_str)
    }

    pub fn quiet_hours(&self, id: u32) -> &[QuietHours] {
        id.checked_sub(1).and_then(|i| self.quiet.get(i as usize)).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Base rows with a cell id in `lo..=hi` (current ones only), then nothing else.
    pub fn base_in_range(&self, lo: i64, hi: i64) -> impl Iterator<Item = &LiveRow> {
        let start = self.base.partition_point(|r| r.cell < lo);
        let end = self.base.partition_point(|r| r.cell <= hi);
        self.base[start..end.max(start)].iter().filter(move |r| !self.stale.contains(&r.participant_id))
    }

    /// Current base rows stored with an area code (by interned id).
    pub fn base_with_code(&self, code: u32) -> impl Iterator<Item = &LiveRow> {
        self.postings
            .get(&code)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(|i| &self.base[*i as usize])
            .filter(move |r| !self.stale.contains(&r.participant_id))
    }

    /// Every current row: the base (without stale participants) and the delta.
    pub fn all(&self) -> impl Iterator<Item = &LiveRow> {
        self.base.iter().filter(move |r| !self.stale.contains(&r.participant_id)).chain(self.delta.values().flatten())
    }

    /// The delta rows (to test one by one).
    pub fn delta(&self) -> impl Iterator<Item = &LiveRow> {
        self.delta.values().flatten()
    }

    pub fn len(&self) -> usize {
        self.base.len() - self.base.iter().filter(|r| self.stale.contains(&r.participant_id)).count() + self.delta_rows
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn replace(&mut self, participant: i64, rows: Vec<LiveRow>) {
        self.stale.insert(participant);
        self.delta_rows += rows.len();
        if let Some(old) = self.delta.insert(participant, rows) {
            self.delta_rows -= old.len();
        }
    }

    fn rebuild(&mut self) {
        let mut base: Vec<LiveRow> = self.base.iter().filter(|r| !self.stale.contains(&r.participant_id)).cloned().collect();
        base.extend(self.delta.drain().flat_map(|(_, v)| v));
        base.sort_unstable_by_key(|r| r.cell);
        self.postings = Arc::new(postings_of(&base));
        self.base = Arc::new(base);
        self.stale.clear();
        self.delta_rows = 0;
    }
}

/// The replica with its synchronisation.
#[derive(Default)]
pub struct LiveIndex {
    current: RwLock<Arc<Snapshot>>,
    /// Serialises loading and catching up (one reader of the feed at a time).
    sync: Mutex<bool>,
}

impl LiveIndex {
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn publish(&self, s: Snapshot) {
        if let Ok(mut g) = self.current.write() {
            *g = Arc::new(s);
        }
    }

    /// Loads everything (first call) or applies the change feed since the last position, and
    /// returns the up-to-date view.
    pub async fn catch_up(&self, store: &Store) -> Result<Arc<Snapshot>, StoreError> {
        let mut loaded = self.sync.lock().await;
        if !*loaded {
            let seq = store.last_change().await?;
            let mut snap = Snapshot { seq, ..Snapshot::default() };
            let mut base = Vec::new();
            let mut rows = store.targeting_rows(None);
            while let Some(r) = rows.try_next().await? {
                if let Some(row) = snap.convert(r) {
                    base.push(row);
                }
            }
            drop(rows);
            base.sort_unstable_by_key(|r| r.cell);
            base.shrink_to_fit();
            snap.postings = Arc::new(postings_of(&base));
            snap.base = Arc::new(base);
            tracing::info!(addresses.count = snap.base.len(), change.seq = seq, "targeting replica loaded");
            self.publish(snap);
            *loaded = true;
        }
        let seq = self.snapshot().seq;
        let mut changes = store.changes_since(seq).await?;
        if changes.is_empty() {
            return Ok(self.snapshot());
        }
        // Apply onto a copy so that readers keep a consistent view meanwhile.
        let mut next = clone_snapshot(&self.snapshot());
        while !changes.is_empty() {
            for c in &changes {
                let mut fresh: HashMap<i64, Vec<LiveRow>> = HashMap::new();
                let mut rows = store.targeting_rows(Some((c.participant_lo, c.participant_hi)));
                while let Some(r) = rows.try_next().await? {
                    let pid = r.participant_id;
                    if let Some(row) = next.convert(r) {
                        fresh.entry(pid).or_default().push(row);
                    } else {
                        fresh.entry(pid).or_default();
                    }
                }
                drop(rows);
                // Participants in the range without rows were deleted (or have none left).
                if c.participant_hi - c.participant_lo < 1_000_000 {
                    for pid in c.participant_lo..=c.participant_hi {
                        let rows = fresh.remove(&pid).unwrap_or_default();
                        next.replace(pid, rows);
                    }
                } else {
                    for (pid, rows) in fresh {
                        next.replace(pid, rows);
                    }
                }
                next.seq = c.seq;
            }
            changes = store.changes_since(next.seq).await?;
        }
        if next.delta_rows > REBUILD_AT {
            next = tokio::task::spawn_blocking(move || {
                next.rebuild();
                next
            })
            .await
            .map_err(|e| StoreError::Config(format!("rebuilding the targeting replica failed: {e}")))?;
        }
        self.publish(next);
        Ok(self.snapshot())
    }
}

fn clone_snapshot(s: &Snapshot) -> Snapshot {
    Snapshot {
        base: s.base.clone(),
        stale: s.stale.clone(),
        delta: s.delta.clone(),
        delta_rows: s.delta_rows,
        codes: Interner { ids: s.codes.ids.clone(), names: s.codes.names.clone() },
        quiet: s.quiet.clone(),
        quiet_ids: s.quiet_ids.clone(),
        postings: s.postings.clone(),
        seq: s.seq,
    }
}

impl LiveRow {
    pub fn channel_set(&self) -> ChannelSet {
        ChannelSet::from_bits(i64::from(self.channels))
    }
}
