//! Areas (geography) and the offline address-point table.

use crate::{AddressPoint, AreaRow, AreaSummary, Store, StoreError};
use sqlx::QueryBuilder;

const AREA_BATCH: usize = 200;
const POINT_BATCH: usize = 1000;

impl Store {
    /// Replaces all areas in one transaction and bumps `areas_version`, so running servers reload.
    pub async fn replace_areas(&self, areas: &[AreaRow], version: &str) -> Result<(), StoreError> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM areas").execute(&mut *tx).await?;
            for chunk in areas.chunks(AREA_BATCH) {
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
                qb.build().execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO meta (key, value) VALUES ('areas_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(version)
                .execute(&mut *tx)
                .await?;
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
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM address_points").execute(&mut *tx).await?;
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
                qb.push(" ON CONFLICT (postcode, house_number) DO NOTHING");
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await
        })?;
        Ok(())
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
