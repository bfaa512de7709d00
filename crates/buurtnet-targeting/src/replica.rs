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
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::Mutex;

mod file;

pub use file::SnapshotFile;

/// Rebuild the sorted base when the delta rows plus the stale participants (changed, deleted or
/// paused) exceed this.
const REBUILD_AT: usize = 50_000;

/// A changed participant range at least this wide is not walked id by id: only the participants
/// the replica holds in it are checked for deletion.
const WIDE_RANGE: i64 = 1_000_000;

/// Full reloads tried in one catch-up when the feed keeps being pruned past the replica.
const MAX_RELOADS: usize = 3;

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
            let parsed = crate::reach::read_quiet_hours(r.address_id, &r.quiet_hours);
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

    /// Changes kept beside the sorted base: delta rows plus stale participants (changed,
    /// deleted or paused). Past a bound the base is rebuilt.
    pub fn pending_changes(&self) -> usize {
        self.delta_rows + self.stale.len()
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

/// What a snapshot file must be stamped with to be used for this database: its identity (a
/// random `database_id` made once) and its schema, since a migration may change what stored
/// rows mean without a change-feed entry.
pub async fn snapshot_identity(store: &Store) -> Result<String, StoreError> {
    let database_id = store.get_or_init_meta("database_id", &random_id()).await?;
    let schema = store.applied_migrations().await?;
    Ok(format!("{database_id}/schema-{schema}"))
}

/// The replica with its synchronisation.
#[derive(Default)]
pub struct LiveIndex {
    current: RwLock<Arc<Snapshot>>,
    /// Serialises loading and catching up (one reader of the feed at a time); true once loaded.
    sync: Mutex<bool>,
    /// True while the published view is complete and no reload is pending: counts may use it.
    ready: AtomicBool,
    /// Database queries made to catch up (change feed reads and row loads).
    queries: AtomicU64,
    /// Where the replica is saved between restarts (none: always load from the database).
    file: Option<Arc<SnapshotFile>>,
    /// Where the last full load came from: 0 none yet, 1 the database, 2 the snapshot file.
    loaded_from: std::sync::atomic::AtomicU8,
    /// [`REBUILD_AT`] unless set (tests set it low).
    rebuild_at: Option<usize>,
}

/// Where a view came from, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadSource {
    Database,
    File,
}

impl LiveIndex {
    /// A replica saved to `path` (see [`SnapshotFile`]) for the database with this identity.
    pub fn with_file(path: PathBuf, database_id: String) -> LiveIndex {
        LiveIndex { file: Some(Arc::new(SnapshotFile::new(path, database_id))), ..LiveIndex::default() }
    }

    /// Rebuild the sorted base past `n` pending changes instead of [`REBUILD_AT`].
    pub fn with_rebuild_at(mut self, n: usize) -> LiveIndex {
        self.rebuild_at = Some(n);
        self
    }

    /// Where the last full load came from (`None` before the first).
    pub fn loaded_from(&self) -> Option<LoadSource> {
        match self.loaded_from.load(Ordering::Relaxed) {
            1 => Some(LoadSource::Database),
            2 => Some(LoadSource::File),
            _ => None,
        }
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn publish(&self, s: Snapshot) {
        let s = Arc::new(s);
        match self.current.write() {
            Ok(mut g) => *g = s,
            Err(p) => *p.into_inner() = s,
        }
    }

    /// Whether counts can use the replica now (loaded, and no reload pending).
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Database queries made so far to catch up with the change feed.
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// Loads everything (first call: from the snapshot file when it fits, else from the
    /// database) or applies the change feed since the last position, and returns the up-to-date
    /// view. Reloads when the feed was pruned past the replica. Background tasks, tools and
    /// tests call this; request handlers call [`LiveIndex::current`], which never loads.
    pub async fn catch_up(&self, store: &Store) -> Result<Arc<Snapshot>, StoreError> {
        let mut loaded = self.sync.lock().await;
        for attempt in 0..MAX_RELOADS {
            if !*loaded {
                self.ready.store(false, Ordering::Release);
                let source = self.load(store, attempt == 0).await?;
                *loaded = true;
                if let Some(view) = self.apply_feed(store).await? {
                    self.ready.store(true, Ordering::Release);
                    if source == LoadSource::Database {
                        self.save_in_background();
                    }
                    return Ok(view);
                }
            } else if let Some(view) = self.apply_feed(store).await? {
                self.ready.store(true, Ordering::Release);
                return Ok(view);
            }
            tracing::warn!(
                change.seq = self.snapshot().seq,
                "the change feed was pruned past the targeting replica; reloading it"
            );
            *loaded = false;
        }
        Err(StoreError::Config("the change feed keeps being pruned past the targeting replica".into()))
    }

    /// The up-to-date view when the replica is ready, or `None` while it loads (or must be
    /// reloaded because the feed was pruned past it): the caller then reads the database.
    /// Never loads the replica itself, so a request never waits for a full load.
    pub async fn current(&self, store: &Store) -> Result<Option<Arc<Snapshot>>, StoreError> {
        if !self.is_ready() {
            return Ok(None);
        }
        let mut loaded = self.sync.lock().await;
        if !*loaded || !self.is_ready() {
            return Ok(None);
        }
        match self.apply_feed(store).await? {
            Some(view) => Ok(Some(view)),
            None => {
                // The background task reloads it.
                tracing::warn!(change.seq = self.snapshot().seq, "the change feed was pruned past the targeting replica");
                self.ready.store(false, Ordering::Release);
                *loaded = false;
                Ok(None)
            }
        }
    }

    /// Publishes a complete view: from the snapshot file when allowed and it fits this
    /// database, else from the database.
    async fn load(&self, store: &Store, from_file: bool) -> Result<LoadSource, StoreError> {
        let started = std::time::Instant::now();
        if from_file && let Some(file) = self.file.clone() {
            let read = tokio::task::spawn_blocking(move || file.read()).await;
            match read {
                // A file ahead of the database (e.g. one restored from a backup) would keep
                // changes the database does not have.
                Ok(Some(snap)) if snap.seq > store.last_change().await? => {
                    tracing::warn!(
                        change.seq = snap.seq,
                        "ignoring the targeting replica's snapshot file: it is ahead of the database"
                    );
                }
                Ok(Some(snap)) => {
                    tracing::info!(
                        addresses.count = snap.base.len(),
                        change.seq = snap.seq,
                        duration_ms = started.elapsed().as_millis() as u64,
                        "targeting replica loaded from its snapshot file"
                    );
                    if let Some(f) = &self.file {
                        f.mark_saved(snap.seq);
                    }
                    self.publish(snap);
                    self.loaded_from.store(2, Ordering::Relaxed);
                    return Ok(LoadSource::File);
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "reading the targeting replica's snapshot file failed"),
            }
        }
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
        let snap = tokio::task::spawn_blocking(move || {
            base.sort_unstable_by_key(|r| r.cell);
            base.shrink_to_fit();
            snap.postings = Arc::new(postings_of(&base));
            snap.base = Arc::new(base);
            snap
        })
        .await
        .map_err(|e| StoreError::Config(format!("loading the targeting replica failed: {e}")))?;
        tracing::info!(
            addresses.count = snap.base.len(),
            change.seq = seq,
            duration_ms = started.elapsed().as_millis() as u64,
            "targeting replica loaded from the database"
        );
        self.publish(snap);
        self.loaded_from.store(1, Ordering::Relaxed);
        Ok(LoadSource::Database)
    }

    /// Applies the change feed since the published position: all pending changes at once, their
    /// participant ranges merged and their rows read in one query per feed page. `None` when
    /// the feed was pruned past the position (the replica must be reloaded).
    async fn apply_feed(&self, store: &Store) -> Result<Option<Arc<Snapshot>>, StoreError> {
        let current = self.snapshot();
        self.queries.fetch_add(1, Ordering::Relaxed);
        let mut feed = store.change_feed(current.seq).await?;
        if feed.pruned_through > current.seq {
            return Ok(None);
        }
        if feed.changes.is_empty() {
            return Ok(Some(current));
        }
        // Apply onto a copy so that readers keep a consistent view meanwhile.
        let mut next = clone_snapshot(&current);
        loop {
            let ranges = merge_ranges(feed.changes.iter().map(|c| (c.participant_lo, c.participant_hi)));
            self.queries.fetch_add(1, Ordering::Relaxed);
            let mut fresh: HashMap<i64, Vec<LiveRow>> = HashMap::new();
            let mut rows = store.targeting_rows_in(&ranges);
            while let Some(r) = rows.try_next().await? {
                let pid = r.participant_id;
                if let Some(row) = next.convert(r) {
                    fresh.entry(pid).or_default().push(row);
                } else {
                    fresh.entry(pid).or_default();
                }
            }
            drop(rows);
            next.apply(&ranges, fresh);
            let last = feed.changes.last().map_or(next.seq, |c| c.seq);
            let full_page = feed.changes.len() as i64 >= buurtnet_store::targeting::FEED_PAGE;
            next.seq = last;
            if !full_page {
                break;
            }
            self.queries.fetch_add(1, Ordering::Relaxed);
            feed = store.change_feed(next.seq).await?;
            if feed.pruned_through > next.seq {
                return Ok(None);
            }
            if feed.changes.is_empty() {
                break;
            }
        }
        let rebuilt = next.pending_changes() > self.rebuild_at.unwrap_or(REBUILD_AT);
        if rebuilt {
            next = tokio::task::spawn_blocking(move || {
                next.rebuild();
                next
            })
            .await
            .map_err(|e| StoreError::Config(format!("rebuilding the targeting replica failed: {e}")))?;
        }
        self.publish(next);
        if rebuilt {
            self.save_in_background();
        }
        Ok(Some(self.snapshot()))
    }

    /// Saves the current view to the snapshot file (when there is one and it is behind),
    /// waiting for a save under way. Returns whether the file now holds the current view.
    pub async fn save(&self) -> std::io::Result<bool> {
        let Some(file) = self.file.clone() else { return Ok(false) };
        if !self.is_ready() {
            return Ok(false);
        }
        let snap = self.snapshot();
        tokio::task::spawn_blocking(move || file.write(&snap, true).map(|_| file.saved_seq() == snap.seq))
            .await
            .map_err(std::io::Error::other)?
    }

    /// [`LiveIndex::save`] on a background thread; failures are logged there.
    pub fn save_in_background(&self) {
        let Some(file) = self.file.clone() else { return };
        if !self.is_ready() {
            return;
        }
        let snap = self.snapshot();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = file.write(&snap, false) {
                tracing::warn!(error = %e, path = %file.path().display(), "saving the targeting replica's snapshot file failed");
            }
        });
    }
}

/// Sorted, merged (overlapping or adjacent) inclusive ranges.
fn merge_ranges(ranges: impl Iterator<Item = (i64, i64)>) -> Vec<(i64, i64)> {
    let mut v: Vec<(i64, i64)> = ranges.map(|(lo, hi)| (lo.min(hi), lo.max(hi))).collect();
    v.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(v.len());
    for (lo, hi) in v {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

impl Snapshot {
    /// Replaces the participants of the changed `ranges` by their `fresh` rows; a participant in
    /// a range without rows was deleted (or has none left).
    fn apply(&mut self, ranges: &[(i64, i64)], mut fresh: HashMap<i64, Vec<LiveRow>>) {
        let mut wide = Vec::new();
        for &(lo, hi) in ranges {
            if hi.checked_sub(lo).is_some_and(|w| w < WIDE_RANGE) {
                for pid in lo..=hi {
                    let rows = fresh.remove(&pid).unwrap_or_default();
                    self.replace(pid, rows);
                }
            } else {
                wide.push((lo, hi));
            }
        }
        if wide.is_empty() {
            return;
        }
        let in_wide = |pid: i64| {
            let i = wide.partition_point(|r| r.1 < pid);
            wide.get(i).is_some_and(|r| r.0 <= pid)
        };
        let held: HashSet<i64> = self
            .base
            .iter()
            .map(|r| r.participant_id)
            .chain(self.delta.keys().copied())
            .filter(|pid| in_wide(*pid) && !fresh.contains_key(pid))
            .collect();
        for pid in held {
            self.replace(pid, Vec::new());
        }
        for (pid, rows) in fresh {
            self.replace(pid, rows);
        }
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

/// Deletes change-feed rows older than `retention_minutes` before `now_ms` (the caller's
/// injectable clock). Any process may run it; returns the pruned point and the rows deleted.
pub async fn prune_change_feed(store: &Store, now_ms: i64, retention_minutes: i64) -> Result<(i64, u64), StoreError> {
    let before = now_ms - retention_minutes.max(1) * 60_000;
    let (through, deleted) = store.prune_changes(before).await?;
    if deleted > 0 {
        tracing::info!(change.pruned_through = through, change.deleted = deleted, "change feed pruned");
    }
    Ok((through, deleted))
}

/// A random id for this database (16 bytes, hex).
fn random_id() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}
