//! The domain layer's one error type.

use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("database error")]
    Database(#[from] DbErr),
    #[error("invalid cursor: {0}")]
    InvalidCursor(String),
    #[error("demo data is inconsistent: {0}")]
    DemoData(String),
    /// The full-text search text (`q`) is empty, too long or has no word to search for.
    #[error("invalid search text: {0}")]
    InvalidSearchText(String),
    /// Stored rows contradict each other (a reference to a missing row, say).
    #[error("stored data is inconsistent: {0}")]
    Inconsistent(String),
    /// A field of a write is malformed or refers to something that cannot be used; `field`
    /// names it as the client sent it.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// The object does not exist, or the actor may not see it (which is not told apart).
    #[error("{0} does not exist")]
    NotFound(String),
    /// The actor may see the object but lacks the role to do this.
    #[error("{0}")]
    Forbidden(String),
    /// The write contradicts the stored state (an email already registered, say).
    #[error("{0}")]
    Conflict(String),
    /// A workflow step the object's state does not allow: `state` is where it is, `allowed`
    /// the steps that can follow (none when final).
    #[error("{detail}")]
    IllegalStep { detail: String, state: String, allowed: Vec<String> },
    /// The object changed since the version the caller read.
    #[error("{0}")]
    Stale(String),
    /// An idempotency key came again with another request.
    #[error("this Idempotency-Key was used with another request")]
    IdempotencyKeyReused,
    /// Something the write needs is not there (a calendar year not yet in the file); the
    /// write did not happen.
    #[error("{0}")]
    Unavailable(String),
    /// Too many writes queued for the audit log's head; the write did not happen.
    #[error("too many writes at once; retry in a few seconds")]
    Busy,
    /// Wrong email or password, or a refresh token that is unknown, expired, used or revoked.
    #[error("invalid credentials")]
    InvalidCredentials,
}

impl DomainError {
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        DomainError::Invalid { field: field.to_owned(), reason: reason.into() }
    }

    /// Whether the database cancelled a statement that ran past its `statement_timeout`
    /// (PostgreSQL's `query_canceled`, 57014; SQLite's `SQLITE_INTERRUPT`, 9, from the progress
    /// handler `db::connect` arms).
    pub fn is_statement_timeout(&self) -> bool {
        use sea_orm::RuntimeErr;
        match self {
            DomainError::Database(
                DbErr::Query(RuntimeErr::SqlxError(error)) | DbErr::Exec(RuntimeErr::SqlxError(error)),
            ) => {
                matches!(error.as_database_error().and_then(|database| database.code()).as_deref(), Some("57014" | "9"))
            }
            _ => false,
        }
    }
}
