//! Secrets kept out of the database: the keys that sign links in e-mails and SMS (and hash SMS
//! codes). A database dump or a `copy-db` target therefore cannot forge a self-service link.
//!
//! The keys live in a small JSON file (default `{data_dir}/secrets.json`), made on first start
//! with mode 0600 in a folder with mode 0700. Several processes (or machines) that serve the same
//! residents must read the same file. Rotation (`buurtnet admin rotate-link-key`) puts a new key
//! in front; the old one keeps verifying until every link it signed has expired, then it is
//! dropped at the next rotation. Running servers notice a changed file within a few seconds.
//!
//! The file also holds the VAPID private key of Web Push (never rotated: browsers subscribed
//! with its public half) and the key that encrypts staff TOTP secrets in the database (AES-256-GCM,
//! see `crate::console::totp_seal`; never rotated). A file made before either existed gets the
//! missing key added on the next start (rewritten atomically, still 0600).

use anyhow::Context;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One signing key.
#[derive(Clone, Serialize, Deserialize)]
pub struct LinkKey {
    /// A short public name, logged on rotation (never the key).
    pub id: String,
    /// When it was made, Unix milliseconds.
    pub created_at: i64,
    /// When a newer key replaced it for signing (it still verifies), Unix milliseconds.
    #[serde(default)]
    pub retired_at: Option<i64>,
    /// 32 random bytes, hex.
    pub key: String,
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LinkKey({}, ***)", self.id)
    }
}

impl LinkKey {
    pub fn generate(now_ms: i64) -> LinkKey {
        LinkKey { id: random_hex(4), created_at: now_ms, retired_at: None, key: random_hex(32) }
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.key.as_bytes().to_vec()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `n` random bytes as hex (identifiers and keys).
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill(bytes.as_mut_slice());
    hex(&bytes)
}

/// The contents of the secrets file. Newest signing key first.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsFile {
    pub version: u32,
    pub link_keys: Vec<LinkKey>,
    /// Never rotated: names abuse-limit counters (keyed hashes of numbers and addresses), so
    /// that a rotation does not reset them. Hex, 32 bytes.
    pub counter_key: String,
    /// The VAPID private key (P-256 scalar, 32 bytes, base64url). Never rotated: browsers
    /// subscribed with its public key and would have to subscribe again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vapid_private_key: Option<String>,
    /// Encrypts staff TOTP secrets in the database (32 bytes, hex). Never rotated: the sealed
    /// secrets would no longer open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_key: Option<String>,
}

impl std::fmt::Debug for SecretsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsFile").field("version", &self.version).field("link_keys", &self.link_keys).finish_non_exhaustive()
    }
}

impl SecretsFile {
    fn check(&self, path: &Path) -> anyhow::Result<()> {
        anyhow::ensure!(self.version == 1, "{}: unknown secrets file version {}", path.display(), self.version);
        anyhow::ensure!(!self.link_keys.is_empty(), "{}: holds no link keys", path.display());
        anyhow::ensure!(
            self.counter_key.len() >= 32 && self.counter_key.bytes().all(|b| b.is_ascii_hexdigit()),
            "{}: the counter key is not at least 16 bytes of hex",
            path.display()
        );
        if let Some(k) = &self.totp_key {
            anyhow::ensure!(
                k.len() == 64 && k.bytes().all(|b| b.is_ascii_hexdigit()),
                "{}: the TOTP key is not 32 bytes of hex",
                path.display()
            );
        }
        if let Some(v) = &self.vapid_private_key {
            buurtnet_delivery::VapidKey::from_private_base64url(v).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        }
        for k in &self.link_keys {
            anyhow::ensure!(
                k.key.len() >= 32 && k.key.bytes().all(|b| b.is_ascii_hexdigit()),
                "{}: link key {} is not at least 16 bytes of hex",
                path.display(),
                k.id
            );
        }
        Ok(())
    }
}

/// Reads the secrets file, or makes it (0600, folder 0700) when it does not exist yet. Two
/// processes starting at once end up with the same file (the first writer wins).
pub fn load_or_create(path: &Path, now_ms: i64) -> anyhow::Result<SecretsFile> {
    match read(path) {
        Ok(Some(s)) if s.complete() => return Ok(s),
        Ok(Some(_)) => return add_missing_keys(path),
        Ok(None) => {}
        Err(e) => return Err(e),
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let fresh = SecretsFile {
        version: 1,
        link_keys: vec![LinkKey::generate(now_ms)],
        counter_key: random_hex(32),
        vapid_private_key: Some(buurtnet_delivery::VapidKey::generate().private_base64url()),
        totp_key: Some(random_hex(32)),
    };
    match write_new(path, &fresh) {
        Ok(()) => {
            tracing::info!(secrets.file = %path.display(), "made a new secrets file with a link-signing key");
            Ok(fresh)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let file = read(path)?.with_context(|| format!("{} vanished while starting", path.display()))?;
            if file.complete() { Ok(file) } else { add_missing_keys(path) }
        }
        Err(e) => Err(e).with_context(|| format!("cannot create the secrets file {}", path.display())),
    }
}

/// A lock beside the secrets file (`….lock`, made with `create_new`) held while the file is
/// read, changed and replaced, so that two processes starting at once do not each add a
/// different key. A lock older than a minute is taken to be left by a crash and removed.
struct FileLock(PathBuf);

impl FileLock {
    fn acquire(path: &Path) -> anyhow::Result<FileLock> {
        let lock = PathBuf::from(format!("{}.lock", path.display()));
        for _ in 0..200 {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&lock) {
                Ok(_) => return Ok(FileLock(lock)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let stale = std::fs::metadata(&lock)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > std::time::Duration::from_secs(60));
                    if stale {
                        let _ = std::fs::remove_file(&lock);
                    } else {
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                }
                Err(e) => return Err(e).with_context(|| format!("cannot create the lock file {}", lock.display())),
            }
        }
        anyhow::bail!("the lock file {} stays in place; remove it if no other buurtnet process is starting", lock.display())
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Adds the keys a secrets file made before Web Push (VAPID) or before TOTP encryption lacks
/// (once: under a lock, read again, rewritten atomically with mode 0600).
fn add_missing_keys(path: &Path) -> anyhow::Result<SecretsFile> {
    let _lock = FileLock::acquire(path)?;
    let mut file = read(path)?.with_context(|| format!("{} vanished while starting", path.display()))?;
    if file.complete() {
        return Ok(file);
    }
    if file.vapid_private_key.is_none() {
        file.vapid_private_key = Some(buurtnet_delivery::VapidKey::generate().private_base64url());
        tracing::info!(secrets.file = %path.display(), "added a VAPID key pair (Web Push) to the secrets file");
    }
    if file.totp_key.is_none() {
        file.totp_key = Some(random_hex(32));
        tracing::info!(secrets.file = %path.display(), "added a TOTP encryption key to the secrets file");
    }
    replace(path, &file)?;
    Ok(file)
}

impl SecretsFile {
    /// Whether every key that a start adds is there.
    fn complete(&self) -> bool {
        self.vapid_private_key.is_some() && self.totp_key.is_some()
    }

    /// The key that seals staff TOTP secrets (every file has one after [`load_or_create`]).
    pub fn totp_seal(&self) -> anyhow::Result<crate::console::totp_seal::TotpSeal> {
        let key = self.totp_key.as_deref().context("the secrets file holds no TOTP key")?;
        let bytes = hex::decode(key).context("the TOTP key is not hex")?;
        crate::console::totp_seal::TotpSeal::new(&bytes)
    }

    /// The VAPID key pair of Web Push (every file has one after [`load_or_create`]).
    pub fn vapid_key(&self) -> anyhow::Result<buurtnet_delivery::VapidKey> {
        let key = self.vapid_private_key.as_deref().context("the secrets file holds no VAPID key")?;
        buurtnet_delivery::VapidKey::from_private_base64url(key).map_err(anyhow::Error::msg)
    }

    /// The signer for these keys (newest link key signs; every listed one verifies).
    pub fn signer(&self) -> crate::signing::Signer {
        crate::signing::Signer::with_counter_key(
            self.link_keys.iter().map(LinkKey::bytes).collect(),
            self.counter_key.as_bytes().to_vec(),
        )
    }
}

/// Reads the file; `None` when it does not exist.
pub fn read(path: &Path) -> anyhow::Result<Option<SecretsFile>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read the secrets file {}", path.display())),
    };
    warn_if_readable_by_others(path);
    let file: SecretsFile =
        serde_json::from_str(&text).with_context(|| format!("the secrets file {} is not valid", path.display()))?;
    file.check(path)?;
    Ok(Some(file))
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(secrets.file = %path.display(), "the secrets file can be read by other users; chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).with_context(|| format!("cannot create the folder {}", dir.display()))
}

/// A new private file (mode 0600) with a random name beside `path`, never following or
/// reusing an existing file; returns its name.
fn write_private_temp(path: &Path, text: &[u8]) -> std::io::Result<PathBuf> {
    let suffix: u64 = rand::rng().random();
    let tmp = PathBuf::from(format!("{}.{suffix:016x}.tmp", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp)?;
    f.write_all(text)?;
    f.sync_all()?;
    Ok(tmp)
}

/// Writes a complete file and links it into place only if none exists yet (so a process that
/// starts at the same moment never reads a half-written file, and the first writer wins).
fn write_new(path: &Path, file: &SecretsFile) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(file).map_err(std::io::Error::other)?;
    let tmp = write_private_temp(path, &text)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    linked
}

/// Replaces the file atomically (a private temporary file renamed over it).
fn replace(path: &Path, file: &SecretsFile) -> anyhow::Result<()> {
    let text = serde_json::to_vec_pretty(file)?;
    let tmp = write_private_temp(path, &text).with_context(|| format!("cannot write beside {}", path.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// Puts a new signing key in front. Keys retired longer ago than `keep_retired_ms` (the longest
/// link lifetime) are dropped: no link they signed can still be valid. Returns the new file.
pub fn rotate(path: &Path, now_ms: i64, keep_retired_ms: i64) -> anyhow::Result<SecretsFile> {
    let mut file = read(path)?.with_context(|| format!("no secrets file at {}; start the server once first", path.display()))?;
    for k in &mut file.link_keys {
        k.retired_at.get_or_insert(now_ms);
    }
    file.link_keys.retain(|k| k.retired_at.is_none_or(|r| now_ms - r <= keep_retired_ms));
    file.link_keys.insert(0, LinkKey::generate(now_ms));
    replace(path, &file)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_private_and_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("secrets.json");
        let first = load_or_create(&path, 1_000).unwrap();
        let again = load_or_create(&path, 2_000).unwrap();
        assert_eq!(first.link_keys[0].key, again.link_keys[0].key, "made once, then read");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        }
        let hour = 3_600_000;
        let rotated = rotate(&path, 10 * hour, 24 * hour).unwrap();
        assert_eq!(rotated.link_keys.len(), 2);
        assert_eq!(rotated.link_keys[1].key, first.link_keys[0].key, "the old key still verifies");
        assert_eq!(rotated.link_keys[1].retired_at, Some(10 * hour));
        // A day and more later the first key is dropped at the next rotation.
        let later = rotate(&path, 35 * hour, 24 * hour).unwrap();
        assert_eq!(later.link_keys.len(), 2);
        assert!(later.link_keys.iter().all(|k| k.key != first.link_keys[0].key));
        assert!(!format!("{later:?}").contains(&later.link_keys[0].key), "keys never show in Debug");
        assert_eq!(later.counter_key, first.counter_key, "the counter key is never rotated");
        assert!(!format!("{later:?}").contains(&later.counter_key));
    }

    #[test]
    fn broken_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        std::fs::write(&path, "{not json").unwrap();
        let e = format!("{:#}", load_or_create(&path, 0).unwrap_err());
        assert!(e.contains("secrets.json") && e.contains("not valid"), "{e}");
        std::fs::write(&path, r#"{"version":1,"link_keys":[],"counter_key":"00112233445566778899aabbccddeeff"}"#).unwrap();
        assert!(format!("{:#}", read(&path).unwrap_err()).contains("no link keys"));
    }

    #[test]
    fn old_files_get_a_vapid_key_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        let old = r#"{"version":1,"link_keys":[{"id":"ab12","created_at":1,"key":"00112233445566778899aabbccddeeff"}],"counter_key":"00112233445566778899aabbccddeeff"}"#;
        std::fs::write(&path, old).unwrap();
        let read_old = read(&path).unwrap().unwrap();
        assert!(read_old.vapid_private_key.is_none(), "files without the key still read");
        let upgraded = load_or_create(&path, 5).unwrap();
        let key = upgraded.vapid_key().unwrap();
        assert_eq!(upgraded.link_keys[0].key, "00112233445566778899aabbccddeeff", "nothing else changes");
        let again = load_or_create(&path, 6).unwrap();
        assert_eq!(again.vapid_key().unwrap().public_key_base64url(), key.public_key_base64url(), "added once");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(!PathBuf::from(format!("{}.lock", path.display())).exists(), "the lock is released");
        let rotated = rotate(&path, 10, 1).unwrap();
        assert_eq!(rotated.vapid_private_key, again.vapid_private_key, "rotation keeps the VAPID key");
        assert!(!format!("{rotated:?}").contains(again.vapid_private_key.as_deref().unwrap()));
        assert_eq!(rotated.totp_key, again.totp_key, "rotation keeps the TOTP key");
        assert!(again.totp_seal().is_ok(), "an old file gets a TOTP key too");
        assert!(!format!("{rotated:?}").contains(again.totp_key.as_deref().unwrap()));
        let fresh = load_or_create(&dir.path().join("new.json"), 1).unwrap();
        assert!(fresh.vapid_key().is_ok(), "new files are made with one");
        assert!(fresh.totp_seal().is_ok(), "and with a TOTP key");
    }

    #[test]
    fn processes_starting_at_once_agree_on_one_vapid_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        std::fs::write(
            &path,
            r#"{"version":1,"link_keys":[{"id":"ab12","created_at":1,"key":"00112233445566778899aabbccddeeff"}],"counter_key":"00112233445566778899aabbccddeeff"}"#,
        )
        .unwrap();
        let keys: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> =
                (0..6).map(|_| s.spawn(|| load_or_create(&path, 2).unwrap().vapid_private_key.unwrap())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| *k == keys[0]), "one key for all");
        assert_eq!(read(&path).unwrap().unwrap().vapid_private_key.as_ref(), Some(&keys[0]), "and it is the one in the file");
    }
}
