//! Storage for buurtnet: one [`Store`] in front of SQLite (the default, embedded) or PostgreSQL
//! (for scale, shared by several processes). The backend is chosen by the URL scheme. Each backend
//! has its own embedded migrations; the SQL is written once in the portable subset both speak and
//! run through [`with_pool!`] on whichever pool is open.
//!
//! Times are stored as Unix milliseconds; identifiers come from `id_sequences` blocks so that bulk
//! inserts know their ids up front and several processes never collide.

/// Runs the same code on whichever pool is open. The body is expanded once per backend, so it
/// is type-checked against both.
macro_rules! with_pool {
    ($store:expr, |$p:ident| $body:expr) => {
        match &$store.pool {
            crate::Pool::Sqlite($p) => $body,
            crate::Pool::Postgres($p) => $body,
        }
    };
}

/// Appends one row to the change feed; the last statement of a writing transaction.
macro_rules! record_change {
    ($tx:expr, $lo:expr, $hi:expr, $at:expr) => {{
        let seq: i64 = sqlx::query_scalar(crate::targeting::NEXT_CHANGE).fetch_one(&mut *$tx).await?;
        sqlx::query(crate::targeting::INSERT_CHANGE).bind(seq).bind($lo).bind($hi).bind($at).execute(&mut *$tx).await?;
    }};
}

mod abuse;
pub mod actions;
pub mod alarm_neighbours;
pub mod approvals;
mod areas;
pub mod campaigns;
pub mod conversations;
pub mod copy;
pub mod deliveries;
pub mod device_batches;
mod devices;
pub mod enquiries;
mod error;
pub mod jobs;
mod linked_devices;
pub mod models;
pub mod neighbourhood_members;
mod participants;
mod photos;
mod postgis;
pub mod publishing;
pub mod replies;
pub mod reports;
mod sandbox;
mod staff;
pub mod staff_second_factor;
pub mod staff_sessions;
pub mod targeting;
pub mod upkeep;

pub use devices::{DeviceChange, DevicePlace, DeviceRecord, NewDevice};
pub use error::StoreError;
pub use models::*;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Options for opening a store.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// For SQLite: create the file when it does not exist (its folder must exist).
    pub create_if_missing: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions { max_connections: 10, acquire_timeout: Duration::from_secs(5), create_if_missing: true }
    }
}

#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: Pool,
}

impl Store {
    /// Opens the database named by `url` (`sqlite://path`, `postgres://…`).
    pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Store, StoreError> {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                return Err(StoreError::Config("give SQLite a file path, e.g. sqlite://buurtnet.db".into()));
            }
            let file = Path::new(path);
            let folder = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            if !folder.is_dir() {
                return Err(StoreError::Config(format!(
                    "the folder {} for the SQLite database does not exist; create it or fix the path",
                    folder.display()
                )));
            }
            if !opts.create_if_missing && !file.exists() {
                return Err(StoreError::Config(format!("the SQLite database {} does not exist", file.display())));
            }
            let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
                .map_err(|e| StoreError::Config(format!("bad SQLite URL: {e}")))?
                .create_if_missing(opts.create_if_missing)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .pragma("cache_size", "-65536")
                // Reads of the database file straight from the operating system's page cache,
                // shared by the pool's connections (each connection's own cache is emptied
                // whenever another one commits).
                .pragma("mmap_size", "1073741824")
                .pragma("temp_store", "memory");
            let pool = SqlitePoolOptions::new()
                .max_connections(opts.max_connections)
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(options)
                .await?;
            Ok(Store { pool: Pool::Sqlite(pool) })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::Config(format!("bad PostgreSQL URL: {e}")))?
                .options([("jit", "off")]);
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections)
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(options)
                .await?;
            Ok(Store { pool: Pool::Postgres(pool) })
        } else {
            let scheme = url.split(':').next().unwrap_or_default();
            Err(StoreError::Config(format!(
                "unknown database URL scheme '{scheme}': use sqlite://FILE or postgres://USER@HOST/DB"
            )))
        }
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the embedded migrations of this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlx::migrate!("migrations/sqlite").run(p).await?,
            Pool::Postgres(p) => sqlx::migrate!("migrations/postgres").run(p).await?,
        }
        Ok(())
    }

    /// Applies the embedded migrations up to and including `last` only: for testing a
    /// migration that moves data (build the old schema, write old rows, then [`Store::migrate`]).
    pub async fn migrate_up_to(&self, last: i64) -> Result<(), StoreError> {
        fn upto(mut m: sqlx::migrate::Migrator, last: i64) -> sqlx::migrate::Migrator {
            m.migrations = m.migrations.iter().filter(|x| x.version <= last).cloned().collect::<Vec<_>>().into();
            m
        }
        match &self.pool {
            Pool::Sqlite(p) => upto(sqlx::migrate!("migrations/sqlite"), last).run(p).await?,
            Pool::Postgres(p) => upto(sqlx::migrate!("migrations/postgres"), last).run(p).await?,
        }
        Ok(())
    }

    /// How many migrations have been applied (0 for a database never migrated).
    pub async fn applied_migrations(&self) -> Result<i64, StoreError> {
        let exists: bool = match &self.pool {
            Pool::Sqlite(p) => {
                sqlx::query_scalar("SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
                    .fetch_one(p)
                    .await?
            }
            Pool::Postgres(p) => sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(p).await?,
        };
        if !exists {
            return Ok(0);
        }
        Ok(with_pool!(self, |p| sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success").fetch_one(p).await)?)
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(self, |p| sqlx::query("SELECT 1").execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn close(&self) {
        with_pool!(self, |p| p.close().await)
    }

    /// Reserves `n` consecutive ids of a sequence and returns the first.
    pub async fn allocate_ids(&self, sequence: &str, n: i64) -> Result<i64, StoreError> {
        let first: i64 = with_pool!(self, |p| {
            sqlx::query_scalar("UPDATE id_sequences SET next_id = next_id + $1 WHERE name = $2 RETURNING next_id - $1")
                .bind(n)
                .bind(sequence)
                .fetch_one(p)
                .await
        })?;
        Ok(first)
    }

    pub async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let v = with_pool!(self, |p| {
            sqlx::query_scalar("SELECT value FROM meta WHERE key = $1").bind(key).fetch_optional(p).await
        })?;
        Ok(v)
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        with_pool!(self, |p| {
            sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(key)
                .bind(value)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Returns the stored value, or stores `init` when there is none (first writer wins, so
    /// every process ends up with the same value).
    pub async fn get_or_init_meta(&self, key: &str, init: &str) -> Result<String, StoreError> {
        with_pool!(self, |p| {
            sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                .bind(key)
                .bind(init)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        self.get_meta(key).await?.ok_or_else(|| StoreError::Config(format!("meta key {key} vanished")))
    }
}

impl Store {
    /// Runs one administrative statement (e.g. `CREATE DATABASE` in tests and tools). Never pass
    /// user input.
    pub async fn execute_admin(&self, sql: &str) -> Result<(), StoreError> {
        with_pool!(self, |p| sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The first column of an administrative query, as text (diagnostics and tests). Never pass
    /// user input.
    pub async fn admin_strings(&self, sql: &str) -> Result<Vec<String>, StoreError> {
        let rows = with_pool!(self, |p| sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string())).fetch_all(p).await)?;
        Ok(rows)
    }
}
