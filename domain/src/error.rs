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
}
