//! Reply photos: checked by their content (JPEG, PNG or WebP; at most 10 MB; never more pixels
//! than the limits, so a decompression bomb is refused before it is unpacked), re-encoded as
//! JPEG — which leaves every piece of metadata (EXIF, GPS position, camera serial) behind —
//! and kept in a content-addressed folder outside the database (`ab/cd/<sha256>.jpg`).

use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::media::{self, Photo, Refused};
use crate::state::AppState;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// The largest photo a resident may send.
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;

/// Checks and re-encodes a photo a resident sent.
pub fn reencode(bytes: &[u8]) -> Result<Photo, Refused> {
    use image::ImageFormat::{Jpeg, Png, WebP};
    media::reencode_accepting(bytes, MAX_PHOTO_BYTES, &[Jpeg, Png, WebP], "a JPEG, PNG or WebP photo")
}

/// The folder of reply photos.
#[derive(Debug, Clone)]
pub struct PhotoStore {
    dir: PathBuf,
}

/// A content address: 64 lowercase hex digits.
fn valid_sha(sha: &str) -> bool {
    sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl PhotoStore {
    pub fn new(dir: PathBuf) -> PhotoStore {
        PhotoStore { dir }
    }

    fn path(&self, sha: &str) -> PathBuf {
        self.dir.join(&sha[..2]).join(&sha[2..4]).join(format!("{sha}.jpg"))
    }

    /// Stores the bytes under their SHA-256 (written to a temporary name, then renamed, so a
    /// reader never sees half a file); returns the hash.
    pub async fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let sha: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
        let path = self.path(&sha);
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Ok(sha);
        }
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        let tmp = path.with_extension(format!("tmp{}", crate::secrets::random_hex(6)));
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, &path).await?;
        Ok(sha)
    }

    pub async fn get(&self, sha: &str) -> std::io::Result<Vec<u8>> {
        if !valid_sha(sha) {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a content address"));
        }
        tokio::fs::read(self.path(sha)).await
    }

    /// Removes a file (gone already is fine).
    pub async fn delete(&self, sha: &str) -> std::io::Result<()> {
        if !valid_sha(sha) {
            return Ok(());
        }
        match tokio::fs::remove_file(self.path(sha)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    pub async fn exists(&self, sha: &str) -> bool {
        valid_sha(sha) && tokio::fs::try_exists(self.path(sha)).await.unwrap_or(false)
    }
}

/// `GET /api/v1/reply-photos/{id}`: a reply photo for staff who may see its enquiry (or, for a
/// tip, its action); every view is audited.
pub async fn photo(state: &AppState, user: &StaffUser, id: &str) -> AppResult<Vec<u8>> {
    let not_found = || AppError::NotFound("There is no such photo.".into());
    let p = state.store.reply_photo(id).await?.ok_or_else(not_found)?;
    let r = state.store.reply(p.reply_id).await?.ok_or_else(not_found)?;
    super::access::may_read(state, user, r.answers().ok_or_else(not_found)?, not_found).await?;
    let bytes = PhotoStore::new(state.config.photo_dir()).get(&p.sha256).await.map_err(|_| not_found())?;
    state
        .store
        .audit(
            state.now_ms(),
            &user.actor(),
            "reply_photo.view",
            Some(&format!("reply_photo:{}", p.id)),
            &json!({"reply": p.reply_id}),
        )
        .await?;
    Ok(bytes)
}
