//! What can go wrong in a store, by kind. The store does not know HTTP: `error.rs` maps each kind
//! to MLflow's error code in one place, so a handler never decides a status itself.

/// A store operation's failure. The messages of the first four are MLflow's wording (its tests
/// match them) and reach the client as they are.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The entity named does not exist (`RESOURCE_DOES_NOT_EXIST`).
    #[error("{0}")]
    NotFound(String),
    /// A name or key that must be unique is taken (`RESOURCE_ALREADY_EXISTS`).
    #[error("{0}")]
    AlreadyExists(String),
    /// The entity exists but its state forbids the change: a deleted run, a logged param given a
    /// new value, a restore of something active (MLflow answers `INVALID_PARAMETER_VALUE`).
    #[error("{0}")]
    InvalidState(String),
    /// A value the database cannot hold or an argument that names nothing sensible
    /// (`INVALID_PARAMETER_VALUE`).
    #[error("{0}")]
    Invalid(String),
    /// The database is momentarily unavailable (SQLite busy, PostgreSQL connection lost): a 503 with
    /// `Retry-After`, which the client retries.
    #[error("store temporarily unavailable: {0}")]
    Busy(String),
    /// A stored value that cannot be read back (a row written by something else): the server's
    /// fault, not the client's.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// Anything else the database reported. Logged with its cause; the client gets an opaque
    /// message, since SQL errors can reveal schema and values of other users.
    #[error("database error")]
    Db(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::Io(_)
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::Busy(e.to_string()),
            sqlx::Error::Database(db) => {
                let msg = db.message().to_ascii_lowercase();
                // SQLITE_BUSY / SQLITE_LOCKED and their extended codes (sqlx reports the extended
                // code), and PostgreSQL's connection, serialization, shutdown and too-many-
                // connections classes.
                let busy = msg.contains("database is locked")
                    || msg.contains("database table is locked")
                    || db.code().is_some_and(|c| {
                        c.starts_with("08")
                            || c.starts_with("57P")
                            || matches!(
                                c.as_ref(),
                                "40001"
                                    | "40P01"
                                    | "53300"
                                    | "5"
                                    | "6"
                                    | "261"
                                    | "262"
                                    | "517"
                                    | "773"
                            )
                    });
                if busy {
                    StoreError::Busy(e.to_string())
                } else if db.code().as_deref() == Some("22021") {
                    // PostgreSQL text cannot hold a NUL character; the value came from the client.
                    StoreError::Invalid(
                        "Invalid value: text containing a NUL character (\\u0000) cannot be stored \
                         in the PostgreSQL backend store"
                            .into(),
                    )
                } else {
                    StoreError::Db(e)
                }
            }
            _ => StoreError::Db(e),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
