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
}
