//! PostGIS as a yardstick for the targeting benchmark: the same address points in a table with
//! GiST indexes, counted with `ST_DWithin` (geography) and `ST_Intersects` (geometry).
//! Used only by `buurtnet bench targeting --postgis`.

use crate::{Pool, Store, StoreError};

impl Store {
    fn postgis_pool(&self) -> Result<&sqlx::PgPool, StoreError> {
        match &self.pool {
            Pool::Postgres(p) => Ok(p),
            Pool::Sqlite(_) => Err(StoreError::Config("PostGIS needs a PostgreSQL database".into())),
        }
    }

    /// Creates the extension and the points table (PostgreSQL only).
    pub async fn postgis_setup(&self) -> Result<(), StoreError> {
        let p = self.postgis_pool()?;
        for sql in [
            "CREATE EXTENSION IF NOT EXISTS postgis",
            "DROP TABLE IF EXISTS bench_points",
            "CREATE TABLE bench_points (address_id BIGINT PRIMARY KEY, participant_id BIGINT NOT NULL, geog geography(Point, 4326) NOT NULL, geom geometry(Point, 4326) NOT NULL)",
        ] {
            sqlx::query(sql).execute(p).await?;
        }
        Ok(())
    }

    /// Adds points `(address_id, participant_id, lat, lon)`.
    pub async fn postgis_insert(&self, points: &[(i64, i64, f64, f64)]) -> Result<(), StoreError> {
        let p = self.postgis_pool()?;
        for chunk in points.chunks(20_000) {
            let ids: Vec<i64> = chunk.iter().map(|c| c.0).collect();
            let pids: Vec<i64> = chunk.iter().map(|c| c.1).collect();
            let lats: Vec<f64> = chunk.iter().map(|c| c.2).collect();
            let lons: Vec<f64> = chunk.iter().map(|c| c.3).collect();
            sqlx::query(
                "INSERT INTO bench_points (address_id, participant_id, geog, geom)
                 SELECT i, pid, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography, ST_SetSRID(ST_MakePoint(lon, lat), 4326)
                 FROM unnest($1::bigint[], $2::bigint[], $3::float8[], $4::float8[]) AS t(i, pid, lat, lon)",
            )
            .bind(ids)
            .bind(pids)
            .bind(lats)
            .bind(lons)
            .execute(p)
            .await?;
        }
        Ok(())
    }

    /// Builds the GiST indexes and statistics.
    pub async fn postgis_index(&self) -> Result<(), StoreError> {
        let p = self.postgis_pool()?;
        for sql in [
            "CREATE INDEX bench_points_geog ON bench_points USING GIST (geog)",
            "CREATE INDEX bench_points_geom ON bench_points USING GIST (geom)",
            "ANALYZE bench_points",
        ] {
            sqlx::query(sql).execute(p).await?;
        }
        Ok(())
    }

    /// Distinct people within `radius_m` of a point.
    pub async fn postgis_count_circle(&self, lat: f64, lon: f64, radius_m: f64) -> Result<i64, StoreError> {
        let p = self.postgis_pool()?;
        Ok(sqlx::query_scalar(
            "SELECT COUNT(DISTINCT participant_id) FROM bench_points WHERE ST_DWithin(geog, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, $3)",
        )
        .bind(lon)
        .bind(lat)
        .bind(radius_m)
        .fetch_one(p)
        .await?)
    }

    /// Distinct people inside a GeoJSON (multi)polygon, the way PostGIS is used well: the area
    /// cut into small pieces (`ST_Subdivide`) so each GiST probe tests a simple shape.
    pub async fn postgis_count_geometry(&self, geojson: &str) -> Result<i64, StoreError> {
        let p = self.postgis_pool()?;
        Ok(sqlx::query_scalar(
            "WITH area AS (SELECT ST_Subdivide(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326), 255) AS g)
             SELECT COUNT(DISTINCT p.participant_id) FROM bench_points p JOIN area a ON ST_Intersects(p.geom, a.g)",
        )
        .bind(geojson)
        .fetch_one(p)
        .await?)
    }
}
