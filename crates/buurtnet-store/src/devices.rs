//! Web Push devices registered on their own (anonymous: no participant, a location of their
//! own). The token that lets a device change or delete itself is stored only as a keyed hash.

use crate::{Store, StoreError};
use sqlx::FromRow;

/// A device to register.
#[derive(Clone)]
pub struct NewDevice {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    /// Keyed hash of the device's token (never the token).
    pub token_hash: String,
    pub language: String,
    /// `buurtnet_domain::TopicSet` bits.
    pub topics: i64,
    pub lat: f64,
    pub lon: f64,
    /// `buurtnet_domain::cell::cell_id(lat, lon)`.
    pub cell: i64,
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
    /// lat, lon, cell.
    pub location: Option<(f64, f64, i64)>,
    pub topics: Option<i64>,
    pub language: Option<String>,
}

const DEVICE_COLUMNS: &str =
    "id, participant_id, endpoint, p256dh, auth, language, topics, lat, lon, cell, created_at, updated_at";

impl Store {
    /// Registers an anonymous device and returns its id. A device registered before with the
    /// same endpoint (the browser lost its token and subscribed again) is replaced: whoever
    /// holds the endpoint is that browser.
    pub async fn register_anonymous_device(&self, d: &NewDevice, now: i64) -> Result<i64, StoreError> {
        // A browser registering again keeps its device id (deliveries of messages in progress
        // point at it): its keys, token, place and wishes are replaced.
        let existing: Option<i64> = with_pool!(self, |p| {
            sqlx::query_scalar(
                "UPDATE devices SET p256dh = $2, auth = $3, token_hash = $4, language = $5, topics = $6, lat = $7, lon = $8,
                        cell = $9, updated_at = $10
                 WHERE id = (SELECT MIN(id) FROM devices WHERE participant_id IS NULL AND endpoint = $1) RETURNING id",
            )
            .bind(&d.endpoint)
            .bind(&d.p256dh)
            .bind(&d.auth)
            .bind(&d.token_hash)
            .bind(&d.language)
            .bind(d.topics)
            .bind(d.lat)
            .bind(d.lon)
            .bind(d.cell)
            .bind(now)
            .fetch_optional(p)
            .await
        })?;
        if let Some(id) = existing {
            return Ok(id);
        }
        let id = self.allocate_ids("devices", 1).await?;
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query(
                "INSERT INTO devices (id, participant_id, created_at, endpoint, p256dh, auth, token_hash, language, topics,
                                      lat, lon, cell, updated_at)
                 VALUES ($1, NULL, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $2)",
            )
            .bind(id)
            .bind(now)
            .bind(&d.endpoint)
            .bind(&d.p256dh)
            .bind(&d.auth)
            .bind(&d.token_hash)
            .bind(&d.language)
            .bind(d.topics)
            .bind(d.lat)
            .bind(d.lon)
            .bind(d.cell)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
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
                    "INSERT INTO devices (id, participant_id, created_at, endpoint, p256dh, auth, token_hash, language, topics, lat, lon, cell, updated_at) ",
                );
                qb.push_values(chunk.iter().enumerate(), |mut b, (i, d)| {
                    b.push_bind(first + (n * 2000 + i) as i64)
                        .push("NULL")
                        .push_bind(now)
                        .push_bind(&d.endpoint)
                        .push_bind(&d.p256dh)
                        .push_bind(&d.auth)
                        .push_bind(&d.token_hash)
                        .push_bind(&d.language)
                        .push_bind(d.topics)
                        .push_bind(d.lat)
                        .push_bind(d.lon)
                        .push_bind(d.cell)
                        .push_bind(now);
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
        let (lat, lon, cell) = match change.location {
            Some((lat, lon, cell)) => (Some(lat), Some(lon), Some(cell)),
            None => (None, None, None),
        };
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
                        lat = COALESCE($4, lat), lon = COALESCE($5, lon), cell = COALESCE($6, cell),
                        topics = COALESCE($7, topics), language = COALESCE($8, language), updated_at = $9
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
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            Ok::<_, sqlx::Error>(n)
        })?;
        Ok(n == 1)
    }
}
