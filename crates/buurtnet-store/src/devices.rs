//! Web Push devices registered on their own (anonymous: no participant, a location of their
//! own). The token that lets a device change or delete itself is stored only as a keyed hash.

use crate::{Store, StoreError};
use sqlx::FromRow;

/// A device to register.
#[derive(Clone)]
pub struct NewDevice {
    /// The push subscription; `None` for a device that follows the live feed only while its page
    /// is open (a browser where push is blocked or unavailable). Such devices get no deliveries.
    pub endpoint: Option<String>,
    pub p256dh: Option<String>,
    pub auth: Option<String>,
    /// Keyed hash of the device's token (never the token).
    pub token_hash: String,
    pub language: String,
    /// `buurtnet_domain::TopicSet` bits.
    pub topics: i64,
    pub place: DevicePlace,
    /// Further fixed places (lat, lon, cell) beside a `DevicePlace::Point`.
    pub extra_places: Vec<(f64, f64, i64)>,
}

/// Where an anonymous device wants alerts for.
#[derive(Clone, Copy, PartialEq)]
pub enum DevicePlace {
    /// A fixed point the resident chose (on the map, or a geocoded postcode and house number);
    /// `cell` is `buurtnet_domain::cell::cell_id(lat, lon)`.
    Point { lat: f64, lon: f64, cell: i64 },
    /// "Where I am": only a coarse cell (`buurtnet_domain::cell::coarse_id`), valid until
    /// `until` (milliseconds) unless renewed. No precise position is stored.
    Coarse { cell: i64, until: i64 },
}

impl DevicePlace {
    pub fn point(lat: f64, lon: f64) -> DevicePlace {
        DevicePlace::Point { lat, lon, cell: buurtnet_domain::cell::cell_id(lat, lon) }
    }

    /// The columns lat, lon, cell, coarse_cell, coarse_until.
    #[allow(clippy::type_complexity)]
    fn columns(self) -> (Option<f64>, Option<f64>, Option<i64>, Option<i64>, Option<i64>) {
        match self {
            DevicePlace::Point { lat, lon, cell } => (Some(lat), Some(lon), Some(cell), None, None),
            DevicePlace::Coarse { cell, until } => (None, None, None, Some(cell), Some(until)),
        }
    }
}

impl std::fmt::Debug for NewDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewDevice").field("language", &self.language).field("topics", &self.topics).finish_non_exhaustive()
    }
}

/// One row of `devices`.
#[derive(Clone, FromRow)]
pub struct DeviceRecord {
    pub id: i64,
    pub participant_id: Option<i64>,
    pub endpoint: Option<String>,
    pub p256dh: Option<String>,
    pub auth: Option<String>,
    pub language: String,
    pub topics: i64,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub cell: Option<i64>,
    pub coarse_cell: Option<i64>,
    pub coarse_until: Option<i64>,
    #[sqlx(default)]
    pub paused: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for DeviceRecord {
    // The endpoint and keys identify the device: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceRecord")
            .field("id", &self.id)
            .field("participant_id", &self.participant_id)
            .field("language", &self.language)
            .field("topics", &self.topics)
            .field("cell", &self.cell)
            .finish_non_exhaustive()
    }
}

/// What a device changes about itself; `None` keeps the stored value.
#[derive(Clone, Default)]
pub struct DeviceChange {
    /// endpoint, p256dh, auth.
    pub subscription: Option<(String, String, String)>,
    pub place: Option<DevicePlace>,
    pub topics: Option<i64>,
    pub language: Option<String>,
    pub paused: Option<bool>,
    /// With `place`: the further fixed places (replacing the stored ones; empty for none).
    pub extra_places: Vec<(f64, f64, i64)>,
}

pub(crate) const DEVICE_COLUMNS: &str = "id, participant_id, endpoint, p256dh, auth, language, topics, lat, lon, cell, coarse_cell, coarse_until, paused, created_at, updated_at";

/// Replaces a device's further places inside a transaction (`$tx`).
macro_rules! replace_places {
    ($tx:expr, $id:expr, $places:expr) => {{
        sqlx::query("DELETE FROM device_places WHERE device_id = $1").bind($id).execute(&mut *$tx).await?;
        for (i, (lat, lon, cell)) in $places.iter().enumerate() {
            sqlx::query("INSERT INTO device_places (device_id, position, lat, lon, cell) VALUES ($1, $2, $3, $4, $5)")
                .bind($id)
                .bind(i as i64 + 1)
                .bind(*lat)
                .bind(*lon)
                .bind(*cell)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}

impl Store {
    /// Registers an anonymous device and returns its id. A device registered before with the
    /// same endpoint (the browser lost its token and subscribed again) is replaced: whoever
    /// holds the endpoint is that browser.
    pub async fn register_anonymous_device(&self, d: &NewDevice, now: i64) -> Result<i64, StoreError> {
        // A browser registering again keeps its device id (deliveries of messages in progress
        // point at it): its keys, token, place and wishes are replaced.
        let (lat, lon, cell, coarse_cell, coarse_until) = d.place.columns();
        let new_id = self.allocate_ids("devices", 1).await?;
        let id = with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let existing: Option<i64> = sqlx::query_scalar(
                "UPDATE devices SET p256dh = $2, auth = $3, token_hash = $4, language = $5, topics = $6, lat = $7, lon = $8,
                        cell = $9, updated_at = $10, coarse_cell = $11, coarse_until = $12
                 WHERE id = (SELECT MIN(id) FROM devices WHERE participant_id IS NULL AND endpoint = $1) RETURNING id",
            )
            .bind(&d.endpoint)
            .bind(&d.p256dh)
            .bind(&d.auth)
            .bind(&d.token_hash)
            .bind(&d.language)
            .bind(d.topics)
            .bind(lat)
            .bind(lon)
            .bind(cell)
            .bind(now)
            .bind(coarse_cell)
            .bind(coarse_until)
            .fetch_optional(&mut *tx)
            .await?;
            let id = match existing {
                Some(id) => id,
                None => {
                    sqlx::query(
                        "INSERT INTO devices (id, participant_id, created_at, endpoint, p256dh, auth, token_hash, language, topics,
                                              lat, lon, cell, updated_at, coarse_cell, coarse_until)
                         VALUES ($1, NULL, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $2, $12, $13)",
                    )
                    .bind(new_id)
                    .bind(now)
                    .bind(&d.endpoint)
                    .bind(&d.p256dh)
                    .bind(&d.auth)
                    .bind(&d.token_hash)
                    .bind(&d.language)
                    .bind(d.topics)
                    .bind(lat)
                    .bind(lon)
                    .bind(cell)
                    .bind(coarse_cell)
                    .bind(coarse_until)
                    .execute(&mut *tx)
                    .await?;
                    new_id
                }
            };
            replace_places!(tx, id, d.extra_places);
            tx.commit().await?;
            Ok::<_, sqlx::Error>(id)
        })?;
        Ok(id)
    }

    /// Registers many anonymous devices at once (bulk loads and benchmarks: no check for an
    /// endpoint registered before). Returns the first id; the others follow it.
    pub async fn register_anonymous_devices(&self, devices: &[NewDevice], now: i64) -> Result<i64, StoreError> {
        let first = self.allocate_ids("devices", devices.len() as i64).await?;
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            for (n, chunk) in devices.chunks(2000).enumerate() {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO devices (id, participant_id, created_at, endpoint, p256dh, auth, token_hash, language, topics, lat, lon, cell, updated_at, coarse_cell, coarse_until) ",
                );
                qb.push_values(chunk.iter().enumerate(), |mut b, (i, d)| {
                    let (lat, lon, cell, coarse_cell, coarse_until) = d.place.columns();
                    b.push_bind(first + (n * 2000 + i) as i64)
                        .push("NULL")
                        .push_bind(now)
                        .push_bind(&d.endpoint)
                        .push_bind(&d.p256dh)
                        .push_bind(&d.auth)
                        .push_bind(&d.token_hash)
                        .push_bind(&d.language)
                        .push_bind(d.topics)
                        .push_bind(lat)
                        .push_bind(lon)
                        .push_bind(cell)
                        .push_bind(now)
                        .push_bind(coarse_cell)
                        .push_bind(coarse_until);
                });
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await
        })?;
        Ok(first)
    }

    /// The device whose token hashes to `token_hash`.
    pub async fn device_by_token_hash(&self, token_hash: &str) -> Result<Option<DeviceRecord>, StoreError> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE token_hash = $1");
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, DeviceRecord>(sqlx::AssertSqlSafe(sql.as_str())).bind(token_hash).fetch_optional(p).await
        })?)
    }

    /// One device.
    pub async fn device(&self, id: i64) -> Result<Option<DeviceRecord>, StoreError> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1");
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, DeviceRecord>(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await
        })?)
    }

    /// Where to send a push for a device: endpoint, p256dh, auth (`None` for a device without
    /// a subscription, or one that no longer exists).
    pub async fn device_push_subscription(&self, id: i64) -> Result<Option<(String, String, String)>, StoreError> {
        let row: Option<(Option<String>, Option<String>, Option<String>)> = with_pool!(self, |p| {
            sqlx::query_as("SELECT endpoint, p256dh, auth FROM devices WHERE id = $1").bind(id).fetch_optional(p).await
        })?;
        Ok(match row {
            Some((Some(e), Some(k), Some(a))) => Some((e, k, a)),
            _ => None,
        })
    }

    /// Changes a device; false when it does not exist.
    pub async fn update_device(&self, id: i64, change: &DeviceChange, now: i64) -> Result<bool, StoreError> {
        let (endpoint, p256dh, auth) = match &change.subscription {
            Some((e, k, a)) => (Some(e.as_str()), Some(k.as_str()), Some(a.as_str())),
            None => (None, None, None),
        };
        // A new place replaces the old one whole (a point clears the coarse cell and back).
        let place = change.place.map(DevicePlace::columns);
        let (lat, lon, cell, coarse_cell, coarse_until) = place.unwrap_or_default();
        let n = with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            if let Some(endpoint) = endpoint {
                // As at registration: one device per endpoint.
                sqlx::query("DELETE FROM devices WHERE participant_id IS NULL AND endpoint = $1 AND id <> $2")
                    .bind(endpoint)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            let n = sqlx::query(
                "UPDATE devices SET endpoint = COALESCE($1, endpoint), p256dh = COALESCE($2, p256dh), auth = COALESCE($3, auth),
                        lat = CASE WHEN $11 THEN $4 ELSE lat END, lon = CASE WHEN $11 THEN $5 ELSE lon END,
                        cell = CASE WHEN $11 THEN $6 ELSE cell END,
                        coarse_cell = CASE WHEN $11 THEN $12 ELSE coarse_cell END,
                        coarse_until = CASE WHEN $11 THEN $13 ELSE coarse_until END,
                        topics = COALESCE($7, topics), language = COALESCE($8, language), updated_at = $9,
                        paused = COALESCE($14, paused)
                 WHERE id = $10",
            )
            .bind(endpoint)
            .bind(p256dh)
            .bind(auth)
            .bind(lat)
            .bind(lon)
            .bind(cell)
            .bind(change.topics)
            .bind(change.language.as_deref())
            .bind(now)
            .bind(id)
            .bind(place.is_some())
            .bind(coarse_cell)
            .bind(coarse_until)
            .bind(change.paused)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 && place.is_some() {
                replace_places!(tx, id, change.extra_places);
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(n)
        })?;
        Ok(n == 1)
    }

    /// "Where I am" devices wanting the topic whose coarse cell is still valid at `now` and
    /// numbered within `lo..=hi`: (device id, coarse cell).
    pub async fn coarse_devices(&self, lo: i64, hi: i64, topic_bit: i64, now: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT id, coarse_cell FROM devices WHERE coarse_cell BETWEEN $1 AND $2 AND coarse_until > $3
                 AND participant_id IS NULL AND (topics & $4) <> 0 AND endpoint IS NOT NULL AND NOT paused",
            )
            .bind(lo)
            .bind(hi)
            .bind(now)
            .bind(topic_bit)
            .fetch_all(p)
            .await
        })?)
    }

    /// Links an anonymous device to a participant: from now on it gets what the participant's
    /// addresses get (its own place is dropped), and push becomes reachable for them. False when
    /// the device does not exist.
    pub async fn link_device(&self, device_id: i64, participant_id: i64, now: i64) -> Result<bool, StoreError> {
        let n = with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "UPDATE devices SET participant_id = $1, lat = NULL, lon = NULL, cell = NULL, coarse_cell = NULL,
                        coarse_until = NULL, updated_at = $2 WHERE id = $3",
            )
            .bind(participant_id)
            .bind(now)
            .bind(device_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                sqlx::query("DELETE FROM device_places WHERE device_id = $1").bind(device_id).execute(&mut *tx).await?;
                sqlx::query(crate::targeting::REFRESH_FLAGS).bind(participant_id).execute(&mut *tx).await?;
                record_change!(tx, participant_id, participant_id, now);
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(n)
        })?;
        Ok(n == 1)
    }

    /// The actions whose messages reached a device, newest first: (action id, the id of the
    /// device's latest delivery of that action).
    pub async fn device_actions(&self, device_id: i64, limit: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        let rows: Vec<(i64, i64)> = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT m.action_id, MAX(d.id) AS last FROM deliveries d JOIN messages m ON m.id = d.message_id
                 WHERE d.device_id = $1 AND d.device_id <> 0 AND m.action_id IS NOT NULL
                 GROUP BY m.action_id ORDER BY last DESC LIMIT $2",
            )
            .bind(device_id)
            .bind(limit)
            .fetch_all(p)
            .await
        })?;
        // And the batches that held it (a delivery row of its own, if any, is the later one).
        let mut latest: std::collections::HashMap<i64, i64> = rows.into_iter().collect();
        for (action, delivery) in self.batch_device_actions(device_id).await? {
            let e = latest.entry(action).or_insert(delivery);
            *e = (*e).max(delivery);
        }
        let mut all: Vec<(i64, i64)> = latest.into_iter().collect();
        all.sort_by_key(|a| std::cmp::Reverse(a.1));
        all.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(all)
    }

    /// A device's further fixed places (lat, lon), in order.
    pub async fn device_places(&self, device_id: i64) -> Result<Vec<(f64, f64)>, StoreError> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as("SELECT lat, lon FROM device_places WHERE device_id = $1 ORDER BY position")
                .bind(device_id)
                .fetch_all(p)
                .await
        })?)
    }

    /// Anonymous devices wanting the topic (with a subscription, not paused) whose further
    /// places lie in the cell ranges: one row per place.
    pub async fn anonymous_device_places(
        &self,
        ranges: &[(i64, i64)],
        topic_bit: i64,
    ) -> Result<Vec<crate::deliveries::DeviceCandidate>, StoreError> {
        if ranges.is_empty() {
            return Ok(Vec::new());
        }
        let base = "d.participant_id IS NULL AND (d.topics & $1) <> 0 AND d.endpoint IS NOT NULL AND NOT d.paused";
        Ok(match &self.pool {
            crate::Pool::Sqlite(p) => {
                let json = serde_json::to_string(ranges).unwrap_or_else(|_| "[]".into());
                let sql = format!(
                    "SELECT d.id, pl.lat, pl.lon, pl.cell FROM json_each($2) r JOIN device_places pl
                     ON pl.cell BETWEEN json_extract(r.value, '$[0]') AND json_extract(r.value, '$[1]')
                     JOIN devices d ON d.id = pl.device_id WHERE {base}"
                );
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(topic_bit).bind(json).fetch_all(p).await?
            }
            crate::Pool::Postgres(p) => {
                let (lo, hi): (Vec<i64>, Vec<i64>) = ranges.iter().copied().unzip();
                let sql = format!(
                    "SELECT d.id, pl.lat, pl.lon, pl.cell FROM unnest($2::bigint[], $3::bigint[]) AS r(lo, hi) JOIN device_places pl
                     ON pl.cell BETWEEN r.lo AND r.hi JOIN devices d ON d.id = pl.device_id WHERE {base}"
                );
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(topic_bit).bind(lo).bind(hi).fetch_all(p).await?
            }
        })
    }
}
