//! Counters for abuse limits: fixed windows, counted with one atomic upsert so that every
//! process sharing the database sees the same count.

use crate::{Store, StoreError};

impl Store {
    /// Counts one hit of `key` in the window that starts at `window_start` and returns the
    /// count in that window (including this hit). A hit in a newer window starts it at 1; a
    /// late hit from an older window (clock skew between processes) counts in the newer one.
    pub async fn hit_counter(&self, key: &str, window_start: i64) -> Result<i64, StoreError> {
        self.add_to_counter(key, window_start, 1).await
    }

    /// Adds `n` to `key`'s count in the window that starts at `window_start` (as
    /// [`Store::hit_counter`]) and returns the count in that window.
    pub async fn add_to_counter(&self, key: &str, window_start: i64, n: i64) -> Result<i64, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query_scalar(
                "INSERT INTO abuse_counters (key, window_start, count) VALUES ($1, $2, $3)
                 ON CONFLICT (key) DO UPDATE SET
                   count = CASE WHEN excluded.window_start > abuse_counters.window_start THEN excluded.count
                           ELSE abuse_counters.count + excluded.count END,
                   window_start = CASE WHEN excluded.window_start > abuse_counters.window_start
                                  THEN excluded.window_start ELSE abuse_counters.window_start END
                 RETURNING count",
            )
            .bind(key)
            .bind(window_start)
            .bind(n)
            .fetch_one(p)
            .await
        })?;
        Ok(n)
    }

    /// Removes counters of windows that started before `before`.
    pub async fn prune_counters(&self, before: i64) -> Result<u64, StoreError> {
        let n = with_pool!(self, |p| {
            sqlx::query("DELETE FROM abuse_counters WHERE window_start < $1")
                .bind(before)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n)
    }
}
