//! The replica saved between restarts, so that a process counts from memory a second or two
//! after it starts instead of after reading every address from the database.
//!
//! Our own compact format, little-endian:
//! `BNREPLIC`, format version (u32), header length (u32), header, header checksum (u64), then
//! chunks of at most 65,536 rows — row count (u32), rows (74 bytes each), checksum (u64) — and
//! a chunk of 0 rows followed by the total row count (u64). The header holds the identity of the
//! database (`database_id` in `meta`), the change-feed seq the rows include, the row count, the
//! interned area codes and the quiet-hours texts. A file of another database, another format
//! version, or with any damage is ignored with a warning (the replica then loads from the
//! database). Written to a temporary file with mode 0600 and renamed into place.

use super::{Interner, LiveRow, Snapshot, postings_of};
use buurtnet_store::targeting::TargetRow;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

const MAGIC: &[u8; 8] = b"BNREPLIC";
/// Bump whenever the meaning of a stored field changes (e.g. the channel bits).
const VERSION: u32 = 1;
const ROW_BYTES: usize = 74;
const CHUNK_ROWS: usize = 65_536;
const MAX_HEADER: usize = 64 << 20;

/// The snapshot file of one process's replica.
pub struct SnapshotFile {
    path: PathBuf,
    database_id: String,
    /// One writer at a time; a second save while one runs is skipped.
    writing: std::sync::Mutex<()>,
    /// The seq of the view last written or read (-1: none).
    saved_seq: AtomicI64,
}

impl SnapshotFile {
    pub fn new(path: PathBuf, database_id: String) -> SnapshotFile {
        SnapshotFile { path, database_id, writing: std::sync::Mutex::new(()), saved_seq: AtomicI64::new(-1) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The seq of the view last written or read (-1: none).
    pub fn saved_seq(&self) -> i64 {
        self.saved_seq.load(Ordering::Relaxed)
    }

    pub(super) fn mark_saved(&self, seq: i64) {
        self.saved_seq.store(seq, Ordering::Relaxed);
    }

    /// Writes `snap` unless the file already holds this seq. With `wait` false a write that
    /// finds another one running is skipped. Returns whether it wrote.
    pub fn write(&self, snap: &Snapshot, wait: bool) -> io::Result<bool> {
        let _guard = match self.writing.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) if wait => match self.writing.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            },
            Err(std::sync::TryLockError::WouldBlock) => return Ok(false),
        };
        if self.saved_seq.load(Ordering::Relaxed) == snap.seq {
            return Ok(false);
        }
        let started = std::time::Instant::now();
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        }
        let mut tmp_name = self.path.as_os_str().to_owned();
        tmp_name.push(format!(".tmp{}", std::process::id()));
        let tmp = PathBuf::from(tmp_name);
        let written = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|f| {
                let mut out = BufWriter::with_capacity(1 << 20, f);
                let rows = encode(&mut out, snap, &self.database_id)?;
                let f = out.into_inner().map_err(|e| e.into_error())?;
                f.sync_all()?;
                Ok(rows)
            })
            .and_then(|rows| std::fs::rename(&tmp, &self.path).map(|()| rows));
        let rows = match written {
            Ok(rows) => rows,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        self.mark_saved(snap.seq);
        tracing::info!(
            addresses.count = rows,
            change.seq = snap.seq,
            duration_ms = started.elapsed().as_millis() as u64,
            path = %self.path.display(),
            "targeting replica saved to its snapshot file"
        );
        Ok(true)
    }

    /// The saved view, or `None` when there is no usable file (absent: quietly; of another
    /// database, another version or damaged: with a warning).
    pub fn read(&self) -> Option<Snapshot> {
        let f = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(error = %e, path = %self.path.display(), "the targeting replica's snapshot file cannot be opened; loading from the database");
                return None;
            }
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        match decode(BufReader::with_capacity(1 << 20, f), len, &self.database_id) {
            Ok(snap) => Some(snap),
            Err(problem) => {
                tracing::warn!(problem = %problem, path = %self.path.display(), "ignoring the targeting replica's snapshot file; loading from the database");
                None
            }
        }
    }
}

/// A checksum against damage (not against tampering: the file is ours, mode 0600).
fn checksum(seed: u64, bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = seed ^ 0xcbf2_9ce4_8422_2325;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        h = (h ^ u64::from_le_bytes(a)).wrapping_mul(PRIME).rotate_left(29);
    }
    for b in words.remainder() {
        h = (h ^ u64::from(*b)).wrapping_mul(PRIME);
    }
    h ^ bytes.len() as u64
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
}

fn encode(out: &mut impl Write, snap: &Snapshot, database_id: &str) -> io::Result<u64> {
    let current = |r: &&LiveRow| !snap.stale.contains(&r.participant_id);
    let rows = (snap.base.iter().filter(current).count() + snap.delta_rows) as u64;
    let mut quiet_texts = vec![String::new(); snap.quiet.len()];
    for (text, id) in &snap.quiet_ids {
        if let Some(slot) = id.checked_sub(1).and_then(|i| quiet_texts.get_mut(i as usize)) {
            *slot = text.clone();
        }
    }
    let mut header = Vec::new();
    put_str(&mut header, database_id);
    header.extend_from_slice(&snap.seq.to_le_bytes());
    header.extend_from_slice(&rows.to_le_bytes());
    header.extend_from_slice(&(snap.codes.names.len() as u32).to_le_bytes());
    for name in &snap.codes.names {
        put_str(&mut header, name);
    }
    header.extend_from_slice(&(quiet_texts.len() as u32).to_le_bytes());
    for text in &quiet_texts {
        put_str(&mut header, text);
    }
    out.write_all(MAGIC)?;
    out.write_all(&VERSION.to_le_bytes())?;
    out.write_all(&(header.len() as u32).to_le_bytes())?;
    out.write_all(&header)?;
    out.write_all(&checksum(0, &header).to_le_bytes())?;

    let mut buf = Vec::with_capacity(CHUNK_ROWS * ROW_BYTES);
    let mut n = 0u32;
    let mut flush = |buf: &mut Vec<u8>, n: &mut u32| -> io::Result<()> {
        out.write_all(&n.to_le_bytes())?;
        out.write_all(buf)?;
        out.write_all(&checksum(u64::from(*n), buf).to_le_bytes())?;
        buf.clear();
        *n = 0;
        Ok(())
    };
    for r in snap.base.iter().filter(current).chain(snap.delta.values().flatten()) {
        buf.extend_from_slice(&r.address_id.to_le_bytes());
        buf.extend_from_slice(&r.participant_id.to_le_bytes());
        buf.extend_from_slice(&r.lat.to_le_bytes());
        buf.extend_from_slice(&r.lon.to_le_bytes());
        buf.extend_from_slice(&r.cell.to_le_bytes());
        buf.push(r.channels);
        buf.push(r.topics);
        buf.extend_from_slice(&r.quiet.to_le_bytes());
        for c in r.codes {
            buf.extend_from_slice(&c.to_le_bytes());
        }
        n += 1;
        if n as usize == CHUNK_ROWS {
            flush(&mut buf, &mut n)?;
        }
    }
    if n > 0 {
        flush(&mut buf, &mut n)?;
    }
    out.write_all(&0u32.to_le_bytes())?;
    out.write_all(&rows.to_le_bytes())?;
    out.flush()?;
    Ok(rows)
}

/// Reads fixed-size fields from a byte slice, never past its end.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("the header is cut short".into());
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u32(&mut self) -> Result<u32, String> {
        self.array().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Result<u64, String> {
        self.array().map(u64::from_le_bytes)
    }
    fn string(&mut self) -> Result<String, String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| "a text in the header is not UTF-8".to_string())
    }
}

fn read_array<const N: usize>(r: &mut impl Read) -> Result<[u8; N], String> {
    let mut a = [0u8; N];
    r.read_exact(&mut a).map_err(read_problem)?;
    Ok(a)
}

fn read_problem(e: io::Error) -> String {
    if e.kind() == io::ErrorKind::UnexpectedEof { "the file is truncated".into() } else { format!("reading failed: {e}") }
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn decode(mut r: impl Read, file_len: u64, database_id: &str) -> Result<Snapshot, String> {
    if &read_array::<8>(&mut r)? != MAGIC {
        return Err("not a replica snapshot file".into());
    }
    let version = u32::from_le_bytes(read_array(&mut r)?);
    if version != VERSION {
        return Err(format!("format version {version}, this build reads {VERSION}"));
    }
    let header_len = u32::from_le_bytes(read_array(&mut r)?) as usize;
    if header_len > MAX_HEADER || header_len as u64 > file_len {
        return Err("the header length is implausible".into());
    }
    let mut header = vec![0u8; header_len];
    r.read_exact(&mut header).map_err(read_problem)?;
    if u64::from_le_bytes(read_array(&mut r)?) != checksum(0, &header) {
        return Err("the header checksum does not match".into());
    }
    let mut h = Cursor(&header);
    if h.string()? != database_id {
        return Err("it was written for another database".into());
    }
    let seq = h.u64()? as i64;
    let rows = h.u64()?;
    if rows > file_len / ROW_BYTES as u64 {
        return Err("the row count is larger than the file".into());
    }
    let n_names = h.u32()? as usize;
    let mut names = Vec::with_capacity(n_names.min(header_len / 4));
    for _ in 0..n_names {
        names.push(h.string()?);
    }
    let n_quiet = h.u32()? as usize;
    let mut quiet_texts = Vec::with_capacity(n_quiet.min(header_len / 4));
    for _ in 0..n_quiet {
        quiet_texts.push(h.string()?);
    }

    let ids: HashMap<String, u32> = names.iter().enumerate().map(|(i, n)| (n.clone(), i as u32 + 1)).collect();
    if ids.len() != names.len() {
        return Err("an area code appears twice".into());
    }
    let mut snap = Snapshot { seq, codes: Interner { ids, names }, ..Snapshot::default() };
    // Quiet hours are parsed again exactly as rows from the database are.
    for (i, text) in quiet_texts.into_iter().enumerate() {
        let probe = TargetRow {
            address_id: 0,
            participant_id: 0,
            lat: 0.0,
            lon: 0.0,
            cell: 0,
            channels: 0,
            topics: 0,
            paused: false,
            quiet_hours: text,
            neighbourhood_code: None,
            district_code: None,
            municipality_code: None,
            pc4: None,
            safety_region_code: None,
            police_unit_code: None,
            province_code: None,
        };
        if snap.convert(probe).map(|r| r.quiet) != Some(i as u32 + 1) {
            return Err("the quiet hours do not read back as written".into());
        }
    }
    let n_codes = snap.codes.names.len() as u32;
    let n_quiet = snap.quiet.len() as u32;

    let mut base: Vec<LiveRow> = Vec::with_capacity(rows as usize);
    let mut buf = Vec::new();
    loop {
        let n = u32::from_le_bytes(read_array(&mut r)?) as usize;
        if n == 0 {
            break;
        }
        if n > CHUNK_ROWS {
            return Err("a chunk is implausibly large".into());
        }
        buf.resize(n * ROW_BYTES, 0);
        r.read_exact(&mut buf).map_err(read_problem)?;
        if u64::from_le_bytes(read_array(&mut r)?) != checksum(n as u64, &buf) {
            return Err("a chunk checksum does not match".into());
        }
        for b in buf.chunks_exact(ROW_BYTES) {
            let mut codes = [0u32; 7];
            for (k, c) in codes.iter_mut().enumerate() {
                *c = le_u32(b, 46 + 4 * k);
            }
            let quiet = le_u32(b, 42);
            if quiet > n_quiet || codes.iter().any(|c| *c > n_codes) {
                return Err("a row refers to an unknown area code or quiet-hours entry".into());
            }
            base.push(LiveRow {
                address_id: le_u64(b, 0) as i64,
                participant_id: le_u64(b, 8) as i64,
                lat: f64::from_bits(le_u64(b, 16)),
                lon: f64::from_bits(le_u64(b, 24)),
                cell: le_u64(b, 32) as i64,
                channels: b[40],
                topics: b[41],
                quiet,
                codes,
            });
        }
        if base.len() as u64 > rows {
            return Err("more rows than the header says".into());
        }
    }
    if u64::from_le_bytes(read_array(&mut r)?) != rows || base.len() as u64 != rows {
        return Err("the row count does not match the header".into());
    }
    if !base.is_sorted_by_key(|r| r.cell) {
        base.sort_unstable_by_key(|r| r.cell);
    }
    snap.postings = Arc::new(postings_of(&base));
    snap.base = Arc::new(base);
    Ok(snap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Snapshot {
        let mut snap = Snapshot { seq: 42, ..Snapshot::default() };
        let mut base = Vec::new();
        for i in 0..70_000i64 {
            let row = TargetRow {
                address_id: i + 1,
                participant_id: i / 2 + 1,
                lat: 52.0 + i as f64 * 1e-6,
                lon: 5.0,
                cell: (i * 7919) % 100_003,
                channels: 9,
                topics: 7,
                paused: false,
                quiet_hours: if i % 3 == 0 {
                    r#"[{"channels":["sms"],"from":"23:00","to":"07:00"}]"#.into()
                } else {
                    "[]".into()
                },
                neighbourhood_code: Some(format!("BU{:08}", i % 50)),
                district_code: None,
                municipality_code: Some("GM0307".into()),
                pc4: Some("3811".into()),
                safety_region_code: None,
                police_unit_code: None,
                province_code: None,
            };
            base.extend(snap.convert(row));
        }
        base.sort_unstable_by_key(|r| r.cell);
        snap.postings = Arc::new(postings_of(&base));
        snap.base = Arc::new(base);
        snap
    }

    fn bytes_of(snap: &Snapshot, id: &str) -> Vec<u8> {
        let mut v = Vec::new();
        encode(&mut v, snap, id).unwrap();
        v
    }

    #[test]
    fn round_trip_is_exact() {
        let snap = sample();
        let bytes = bytes_of(&snap, "db-a");
        let back = decode(&bytes[..], bytes.len() as u64, "db-a").unwrap();
        assert_eq!(back.seq, 42);
        assert_eq!(*back.base, *snap.base);
        assert_eq!(back.codes.names, snap.codes.names);
        assert_eq!(back.quiet.len(), snap.quiet.len());
        assert_eq!(back.quiet_hours(1), snap.quiet_hours(1));
        assert_eq!(back.postings.len(), snap.postings.len());
    }

    fn problem(r: Result<Snapshot, String>) -> String {
        match r {
            Ok(_) => panic!("a bad file was accepted"),
            Err(e) => e,
        }
    }

    #[test]
    fn another_database_truncation_and_damage_are_refused() {
        let snap = sample();
        let bytes = bytes_of(&snap, "db-a");
        let len = bytes.len() as u64;
        assert!(problem(decode(&bytes[..], len, "db-b")).contains("another database"));
        for cut in [0, 5, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..cut], len, "db-a").is_err(), "cut at {cut}");
        }
        let mut damaged = bytes.clone();
        let at = damaged.len() / 2;
        damaged[at] ^= 0x40;
        assert!(problem(decode(&damaged[..], len, "db-a")).contains("checksum"));
        let mut version = bytes;
        version[8] = 99;
        assert!(problem(decode(&version[..], len, "db-a")).contains("version"));
    }
}
