//! Retention of what residents sent: their photos go some time after what they answered closed.

use super::photos::PhotoStore;
use crate::state::AppState;
use serde_json::json;

/// The retention rule: photos of replies to enquiries, and of tips to actions, closed longer
/// than `enquiries.photo_retention_days` ago are deleted (rows and files). Returns how many
/// files went. Run by the job runner (`reply_photos.retention`).
pub async fn apply_retention(state: &AppState) -> anyhow::Result<usize> {
    let cutoff = state.now_ms() - state.config.enquiries.photo_retention_days.max(0) * 86_400_000;
    let unused = state.store.expire_reply_photos(cutoff).await?;
    let store = PhotoStore::new(state.config.photo_dir());
    for sha in &unused {
        store.delete(sha).await?;
    }
    if !unused.is_empty() {
        tracing::info!(files = unused.len(), "reply photos past their retention deleted");
        state.store.audit(state.now_ms(), "system", "reply_photo.retention", None, &json!({"files": unused.len()})).await?;
    }
    Ok(unused.len())
}
