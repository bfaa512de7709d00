//! Areas (geography) and the offline address-point table.

use crate::{AddressAreas, AddressPoint, AreaImport, AreaRow, AreaSummary, Store, StoreError};
use sqlx::QueryBuilder;

const AREA_BATCH: usize = 200;
const POINT_BATCH: usize = 1000;

/// Inserts area rows in multi-row statements inside the transaction `tx` (either backend).
macro_rules! insert_area_rows {
    ($tx:ident, $areas:expr) => {
        for chunk in $areas.chunks(AREA_BATCH) {
            let mut qb = QueryBuilder::new(
                "INSERT INTO areas (code, name, level, parent_code, province_code, inhabitants, min_lon, min_lat, max_lon, max_lat, geometry, geometry_simplified) ",
            );
            qb.push_values(chunk, |mut b, a| {
                b.push_bind(&a.code)
                    .push_bind(&a.name)
                    .push_bind(&a.level)
                    .push_bind(&a.parent_code)
                    .push_bind(&a.province_code)
                    .push_bind(a.inhabitants)
                    .push_bind(a.min_lon)
                    .push_bind(a.min_lat)
                    .push_bind(a.max_lon)
                    .push_bind(a.max_lat)
                    .push_bind(&a.geometry)
                    .push_bind(&a.geometry_simplified);
            });
            qb.build().execute(&mut *$tx).await?;
        }
    };
}

impl Store {
    /// Replaces all areas in one transaction and bumps `areas_version`, so running servers reload.
    pub async fn replace_areas(&self, areas: &[AreaRow], version: &str) -> Result<(), StoreError> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM areas").execute(&mut *tx).await?;
            insert_area_rows!(tx, areas);
            sqlx::query("INSERT INTO meta (key, value) VALUES ('areas_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(version)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })?;
        Ok(())
    }

    /// Replaces the areas of some levels (the others stay as they are) and records the imported
    /// files, in one transaction, and bumps `areas_version` so running servers reload.
    pub async fn replace_area_levels(
        &self,
        levels: &[&str],
        areas: &[AreaRow],
        imports: &[AreaImport],
        version: &str,
    ) -> Result<(), StoreError> {
        let first_import = if imports.is_empty() { 0 } else { self.allocate_ids("area_imports", imports.len() as i64).await? };
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            // A write first, so that SQLite takes the write lock at once.
            sqlx::query("INSERT INTO meta (key, value) VALUES ('areas_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(version)
                .execute(&mut *tx)
                .await?;
            for level in levels {
                sqlx::query("DELETE FROM areas WHERE level = $1").bind(*level).execute(&mut *tx).await?;
            }
            insert_area_rows!(tx, areas);
            for (i, m) in imports.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO area_imports (id, imported_at, kind, year, file_name, size_bytes, sha256, source_url, levels, areas) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(first_import + i as i64)
                .bind(m.imported_at)
                .bind(&m.kind)
                .bind(m.year)
                .bind(&m.file_name)
                .bind(m.size_bytes)
                .bind(&m.sha256)
                .bind(&m.source_url)
                .bind(&m.levels)
                .bind(m.areas)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }

    /// The imported official files, newest first.
    pub async fn area_imports(&self) -> Result<Vec<AreaImport>, StoreError> {
        let rows = with_pool!(self, |p| sqlx::query_as("SELECT * FROM area_imports ORDER BY id DESC").fetch_all(p).await)?;
        Ok(rows)
    }

    /// A page of addresses (by id, after `after`) with their position and stored area codes.
    pub async fn address_areas(&self, after: i64, limit: i64) -> Result<Vec<AddressAreas>, StoreError> {
        let rows = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT id, participant_id, lat, lon, neighbourhood_code, district_code, municipality_code, pc4, \
                        safety_region_code, police_unit_code, province_code \
                 FROM addresses WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after)
            .bind(limit)
            .fetch_all(p)
            .await
        })?;
        Ok(rows)
    }

    /// Sets the area codes of addresses (after new areas were imported), their participants'
    /// municipality (that of their first address), and appends the change feed for the targeting
    /// replicas, in one transaction.
    pub async fn update_address_areas(&self, updates: &[AddressAreas], at: i64) -> Result<(), StoreError> {
        let (Some(lo), Some(hi)) =
            (updates.iter().map(|u| u.participant_id).min(), updates.iter().map(|u| u.participant_id).max())
        else {
            return Ok(());
        };
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            for u in updates {
                sqlx::query(
                    "UPDATE addresses SET neighbourhood_code = $1, district_code = $2, municipality_code = $3, pc4 = $4, \
                     safety_region_code = $5, police_unit_code = $6, province_code = $7 WHERE id = $8",
                )
                .bind(&u.neighbourhood_code)
                .bind(&u.district_code)
                .bind(&u.municipality_code)
                .bind(&u.pc4)
                .bind(&u.safety_region_code)
                .bind(&u.police_unit_code)
                .bind(&u.province_code)
                .bind(u.id)
                .execute(&mut *tx)
                .await?;
            }
            let mut ids: Vec<i64> = updates.iter().map(|u| u.participant_id).collect();
            ids.sort_unstable();
            ids.dedup();
            for id in &ids {
                sqlx::query(
                    "UPDATE participants SET municipality_code = \
                       (SELECT a.municipality_code FROM addresses a WHERE a.participant_id = participants.id ORDER BY a.id LIMIT 1) \
                     WHERE id = $1",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            record_change!(tx, lo, hi, at);
            tx.commit().await
        })?;
        Ok(())
    }

    pub async fn areas_version(&self) -> Result<Option<String>, StoreError> {
        self.get_meta("areas_version").await
    }

    pub async fn count_areas(&self) -> Result<i64, StoreError> {
        Ok(with_pool!(self, |p| sqlx::query_scalar("SELECT COUNT(*) FROM areas").fetch_one(p).await)?)
    }

    /// Areas of a level and/or below a parent (the tree parent, or the province for
    /// municipalities), ordered by code.
    pub async fn list_areas(&self, level: Option<&str>, parent: Option<&str>) -> Result<Vec<AreaSummary>, StoreError> {
        let rows = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT code, name, level, parent_code, province_code, inhabitants FROM areas
                 WHERE ($1 IS NULL OR level = $1) AND ($2 IS NULL OR parent_code = $2 OR province_code = $2)
                 ORDER BY code",
            )
            .bind(level)
            .bind(parent)
            .fetch_all(p)
            .await
        })?;
        Ok(rows)
    }

    pub async fn get_area(&self, code: &str) -> Result<Option<AreaRow>, StoreError> {
        let row =
            with_pool!(self, |p| { sqlx::query_as("SELECT * FROM areas WHERE code = $1").bind(code).fetch_optional(p).await })?;
        Ok(row)
    }

    /// Every area with its full geometry (to build the in-memory index).
    pub async fn all_areas(&self) -> Result<Vec<AreaRow>, StoreError> {
        let rows = with_pool!(self, |p| sqlx::query_as("SELECT * FROM areas ORDER BY code").fetch_all(p).await)?;
        Ok(rows)
    }

    /// Replaces the offline geocoding table.
    pub async fn replace_address_points(&self, points: &[AddressPoint]) -> Result<(), StoreError> {
        self.write_address_points(points, true).await
    }

    /// Adds or updates address points by postcode and house number, in one transaction (an
    /// import writes a batch at a time, so running it again changes nothing). A postcode and
    /// house number may appear once in `points`.
    pub async fn upsert_address_points(&self, points: &[AddressPoint]) -> Result<(), StoreError> {
        self.write_address_points(points, false).await
    }

    /// Writes points in one transaction: all of the table anew (`replace`, the first of a
    /// repeated address wins), or merged into it (a repeated address takes the new values).
    async fn write_address_points(&self, points: &[AddressPoint], replace: bool) -> Result<(), StoreError> {
        let conflict = if replace {
            " ON CONFLICT (postcode, house_number) DO NOTHING"
        } else {
            " ON CONFLICT (postcode, house_number) DO UPDATE SET street = excluded.street, \
             city = excluded.city, lat = excluded.lat, lon = excluded.lon"
        };
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            if replace {
                sqlx::query("DELETE FROM address_points").execute(&mut *tx).await?;
            }
            for chunk in points.chunks(POINT_BATCH) {
                let mut qb = QueryBuilder::new("INSERT INTO address_points (postcode, house_number, street, city, lat, lon) ");
                qb.push_values(chunk, |mut b, a| {
                    b.push_bind(&a.postcode)
                        .push_bind(&a.house_number)
                        .push_bind(&a.street)
                        .push_bind(&a.city)
                        .push_bind(a.lat)
                        .push_bind(a.lon);
                });
                qb.push(conflict);
                qb.build().execute(&mut *tx).await?;
            }
            // Every process's address book (in memory) reloads when this changes.
            sqlx::query(
                "INSERT INTO meta (key, value) VALUES ('address_points_version', '1') ON CONFLICT (key) \
                 DO UPDATE SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT)",
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })?;
        Ok(())
    }

    /// The version of the address table: it changes with every write.
    pub async fn address_points_version(&self) -> Result<Option<String>, StoreError> {
        self.get_meta("address_points_version").await
    }

    /// A page of address points in (postcode, house number) order after the given one.
    pub async fn address_points_after(&self, after: Option<(&str, &str)>, limit: i64) -> Result<Vec<AddressPoint>, StoreError> {
        let (pc, hn) = after.unwrap_or(("", ""));
        let rows = with_pool!(self, |p| {
            sqlx::query_as(
                "SELECT * FROM address_points WHERE postcode > $1 OR (postcode = $1 AND house_number > $2) \
                 ORDER BY postcode, house_number LIMIT $3",
            )
            .bind(pc)
            .bind(hn)
            .bind(limit)
            .fetch_all(p)
            .await
        })?;
        Ok(rows)
    }

    pub async fn count_address_points(&self) -> Result<i64, StoreError> {
        let n = with_pool!(self, |p| sqlx::query_scalar("SELECT COUNT(*) FROM address_points").fetch_one(p).await)?;
        Ok(n)
    }

    pub async fn address_point(&self, postcode: &str, house_number: &str) -> Result<Option<AddressPoint>, StoreError> {
        let row = with_pool!(self, |p| {
            sqlx::query_as("SELECT * FROM address_points WHERE postcode = $1 AND house_number = $2")
                .bind(postcode)
                .bind(house_number)
                .fetch_optional(p)
                .await
        })?;
        Ok(row)
    }

    pub async fn all_address_points(&self) -> Result<Vec<AddressPoint>, StoreError> {
        let rows = with_pool!(self, |p| sqlx::query_as("SELECT * FROM address_points").fetch_all(p).await)?;
        Ok(rows)
    }
}
