use std::fmt;

/// What can go wrong in storage, sorted by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Wrong URL, missing folder, …: a message for the operator.
    #[error("{0}")]
    Config(String),
    /// A unique constraint was violated; the name of the constraint or column.
    #[error("conflict on {0}")]
    Conflict(String),
    /// The database cannot be reached or the pool is exhausted: try again later (HTTP 503).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(DbError),
    /// A text holds a character the database cannot store (PostgreSQL refuses NUL, `\0`):
    /// bad input, not a fault of the server.
    #[error("a text holds a character the database cannot store: {0}")]
    InvalidText(String),
    /// A stored value this code wrote cannot be read back (a damaged row).
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

/// The underlying sqlx error, kept for the log.
#[derive(Debug)]
pub struct DbError(pub sqlx::Error);

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                StoreError::Unavailable(e.to_string())
            }
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                let what = db.constraint().map(String::from).unwrap_or_else(|| db.message().to_string());
                StoreError::Conflict(what)
            }
            // character_not_in_repertoire: PostgreSQL's answer to a NUL in a text.
            sqlx::Error::Database(db) if db.code().as_deref() == Some("22021") => {
                StoreError::InvalidText(db.message().to_string())
            }
            _ => StoreError::Database(DbError(e)),
        }
    }
}

impl StoreError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}
