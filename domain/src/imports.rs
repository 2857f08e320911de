//! Import runs and their rejects, as a reader audits them.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::DomainError;
use crate::entities::{ImportRunStatus, import_reject, import_run};

/// Runs, newest first, optionally of one source and status, after the run `before` (exclusive).
pub async fn list(
    db: &DatabaseConnection,
    source: Option<&str>,
    status: Option<ImportRunStatus>,
    before: Option<i64>,
    limit: u64,
) -> Result<(Vec<import_run::Model>, u64), DomainError> {
    let mut query = import_run::Entity::find();
    if let Some(source) = source {
        query = query.filter(import_run::Column::Source.eq(source));
    }
    if let Some(status) = status {
        query = query.filter(import_run::Column::Status.eq(status));
    }
    let total = query.clone().count(db).await?;
    if let Some(before) = before {
        query = query.filter(import_run::Column::Id.lt(before));
    }
    let runs = query.order_by_desc(import_run::Column::Id).limit(limit).all(db).await?;
    Ok((runs, total))
}

pub async fn get(db: &DatabaseConnection, id: i64) -> Result<Option<import_run::Model>, DomainError> {
    Ok(import_run::Entity::find_by_id(id).one(db).await?)
}

/// A run's rejects in the order they were made, after the reject `after` (exclusive).
pub async fn rejects(
    db: &DatabaseConnection,
    run_id: i64,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<import_reject::Model>, DomainError> {
    let mut query = import_reject::Entity::find().filter(import_reject::Column::ImportRunId.eq(run_id));
    if let Some(after) = after {
        query = query.filter(import_reject::Column::Id.gt(after));
    }
    Ok(query.order_by_asc(import_reject::Column::Id).limit(limit).all(db).await?)
}

/// `text` as the public may see it: every absolute local path (a word starting with `/`) cut
/// to its file name. A run's scope names the files it read by their absolute paths (so that
/// the same files resume the same run wherever the command is started), which say nothing to
/// a reader and something about the server to an attacker. URLs are kept (their secrets are
/// already redacted).
pub fn without_local_paths(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let trimmed = word.trim_end_matches([':', ',', ')', ';']);
            let tail = &word[trimmed.len()..];
            match trimmed.strip_prefix('/') {
                Some(rest) if !rest.is_empty() => {
                    let name = std::path::Path::new(trimmed).file_name().and_then(|name| name.to_str()).unwrap_or("");
                    format!("{name}{tail}")
                }
                _ => word.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_keep_only_their_file_names_and_urls_stay() {
        assert_eq!(
            without_local_paths("payments /srv/imports/2026/treasury.csv /tmp/x/b.csv"),
            "payments treasury.csv b.csv"
        );
        assert_eq!(
            without_local_paths("input: reading /home/ops/feed.json: permission denied"),
            "input: reading feed.json: permission denied"
        );
        assert_eq!(
            without_local_paths("https://ows.goszakup.gov.kz/v3/contract/all answered 500"),
            "https://ows.goszakup.gov.kz/v3/contract/all answered 500"
        );
        assert_eq!(without_local_paths("a / b"), "a / b");
    }
}
