//! Import runs as records: what each run read, stored and rejected, and why.

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use sea_orm::DatabaseConnection;

use domain::entities::{import_reject, import_run};
use domain::imports;
use domain::pagination::{Cursor, Limit};

use super::ApiTags;
use crate::dto::Links;
use crate::dto::Timestamp;
use crate::error::{ApiError, ApiResult};
use crate::lists::next_link;
use crate::vocab::ImportRunStatus;

pub struct ImportsApi {
    pub db: DatabaseConnection,
}

/// What happened to the records a run read. `read = inserted + updated + unchanged + deleted +
/// rejected`.
#[derive(Debug, Clone, Object)]
pub struct ImportCounts {
    /// Records read from upstream pages or files.
    pub read: i64,
    /// Records stored for the first time.
    pub inserted: i64,
    /// Stored records whose content changed.
    pub updated: i64,
    /// Records read again with the same content: nothing written.
    pub unchanged: i64,
    /// Records the upstream deleted, removed here too.
    pub deleted: i64,
    /// Records not stored; each has a reject saying why.
    pub rejected: i64,
    /// Repairs of known upstream deviations in stored records (an object where an array
    /// belongs, say); each has a reject with the outcome `repaired`.
    pub repaired: i64,
}

/// One run of an importer.
#[derive(Debug, Clone, Object)]
pub struct ImportRun {
    /// Scrutiny's id for the run; every record it stored names it in `provenance`.
    pub id: i64,
    /// The upstream source: `goszakup`, `samruk`, `egov`, `ocds`, `csv-payments`, `demo`, ….
    pub source: String,
    /// What the run was asked to read: base URL and collections, or files.
    #[oai(skip_serializing_if_is_none)]
    pub scope: Option<String>,
    pub status: ImportRunStatus,
    /// When it started (RFC 3339, UTC).
    pub started_at: Timestamp,
    /// When it ended; absent while running.
    #[oai(skip_serializing_if_is_none)]
    pub finished_at: Option<Timestamp>,
    pub counts: ImportCounts,
    /// For a finished run, the upstream cursor it reached (where the next incremental run
    /// starts); for an unfinished one, where it will resume.
    #[oai(skip_serializing_if_is_none)]
    pub cursor: Option<String>,
    /// Why the run failed, for a failed run.
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<String>,
    /// The run's rejects: `/v1/imports/{id}/rejects`.
    pub rejects_href: String,
}

impl From<import_run::Model> for ImportRun {
    fn from(run: import_run::Model) -> Self {
        ImportRun {
            id: run.id,
            rejects_href: format!("/v1/imports/{}/rejects", run.id),
            source: run.source,
            scope: run.scope.as_deref().map(domain::imports::without_local_paths),
            status: run.status.into(),
            started_at: run.started_at.into(),
            finished_at: run.finished_at.map(Into::into),
            counts: ImportCounts {
                read: run.rows_in,
                inserted: run.rows_inserted,
                updated: run.rows_updated,
                unchanged: run.rows_unchanged,
                deleted: run.rows_deleted,
                rejected: run.rows_rejected,
                repaired: run.rows_repaired,
            },
            cursor: run.checkpoint,
            error: run.error,
        }
    }
}

/// A page of import runs, newest first.
#[derive(Debug, Object)]
pub struct ImportRunPage {
    /// The runs on this page, newest first.
    pub items: Vec<ImportRun>,
    /// How many runs match the filters, across all pages.
    pub total: u64,
    pub links: Links,
}

/// A reject of an import run: a record it rejected, or stored after a repair.
#[derive(Debug, Clone, Object)]
pub struct ImportReject {
    /// The reject's id, increasing in the order the run made them.
    pub id: i64,
    /// What became of the record: `rejected` (not stored) or `repaired` (stored after a repair
    /// of a known upstream deviation).
    pub outcome: String,
    /// The file path or URL the record was read from (secrets in query strings hidden).
    pub input: String,
    /// The line (CSV, JSON Lines) or item position within the input.
    #[oai(skip_serializing_if_is_none)]
    pub position: Option<i64>,
    /// The record's upstream id, when it could be read.
    #[oai(skip_serializing_if_is_none)]
    pub record_id: Option<String>,
    /// Why.
    pub reason: String,
}

impl From<import_reject::Model> for ImportReject {
    fn from(reject: import_reject::Model) -> Self {
        ImportReject {
            id: reject.id,
            outcome: reject.outcome,
            input: reject.input,
            position: reject.position,
            record_id: reject.record_id,
            reason: reject.reason,
        }
    }
}

/// A page of a run's rejects.
#[derive(Debug, Object)]
pub struct ImportRejectPage {
    /// The rejects on this page, in the order the run made them.
    pub items: Vec<ImportReject>,
    pub links: Links,
}

#[derive(ApiResponse)]
pub enum ImportRunListResponse {
    /// A page of import runs, newest first.
    #[oai(status = 200)]
    Ok(Json<ImportRunPage>),
}

#[derive(ApiResponse)]
pub enum ImportRunResponse {
    /// The import run.
    #[oai(status = 200)]
    Ok(Json<ImportRun>),
}

#[derive(ApiResponse)]
pub enum ImportRejectListResponse {
    /// A page of the run's rejects, in the order they were made.
    #[oai(status = 200)]
    Ok(Json<ImportRejectPage>),
}

const RUNS_CURSOR: &str = "imports";
const REJECTS_CURSOR: &str = "rejects";

fn cursor(token: Option<String>, kind: &str) -> ApiResult<Option<i64>> {
    token
        .map(|token| {
            Cursor::decode(&token, kind).map(|c| c.id).map_err(|e| ApiError::invalid_param("cursor", e.to_string()))
        })
        .transpose()
}

fn limit(requested: Option<u64>) -> ApiResult<Limit> {
    Limit::new(requested).map_err(|reason| ApiError::invalid_param("limit", reason))
}

#[OpenApi(tag = "ApiTags::Imports")]
impl ImportsApi {
    /// List import runs
    ///
    /// Every run of an importer (and of the demo seed), newest first: its source and scope,
    /// when it ran, how many records it read, inserted, updated, left unchanged, deleted and
    /// rejected, the upstream cursor it reached, and why it failed if it did.
    #[oai(path = "/v1/imports", method = "get", operation_id = "listImportRuns")]
    async fn list(
        &self,
        req: &Request,
        /// Only runs of this source, e.g. `goszakup`.
        source: Query<Option<String>>,
        /// Only runs in this state.
        status: Query<Option<ImportRunStatus>>,
        /// Runs per page, 1 to 100 (default 20).
        limit: Query<Option<u64>>,
        /// The `links.next` cursor of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<ImportRunListResponse> {
        let limit = self::limit(limit.0)?;
        let before = self::cursor(cursor.0, RUNS_CURSOR)?;
        let (runs, total) =
            imports::list(&self.db, source.0.as_deref(), status.0.map(Into::into), before, limit.get()).await?;
        let next = (runs.len() as u64 == limit.get())
            .then(|| runs.last())
            .flatten()
            .map(|last| next_link(req, limit.get(), &Cursor::after_id(RUNS_CURSOR, last.id)));
        Ok(ImportRunListResponse::Ok(Json(ImportRunPage {
            items: runs.into_iter().map(ImportRun::from).collect(),
            total,
            links: Links { next },
        })))
    }

    /// Get an import run
    #[oai(path = "/v1/imports/:id", method = "get", operation_id = "getImportRun")]
    async fn get(
        &self,
        /// The run's id.
        id: Path<i64>,
    ) -> ApiResult<ImportRunResponse> {
        let run =
            imports::get(&self.db, id.0).await?.ok_or_else(|| ApiError::not_found(&format!("import run {}", id.0)))?;
        Ok(ImportRunResponse::Ok(Json(run.into())))
    }

    /// List an import run's rejects
    ///
    /// The records the run rejected, each with its input (file or URL), position, upstream id
    /// and the reason, and the records it stored after repairing a known upstream deviation;
    /// `outcome` tells which. The same lines are in the reject report `scrutiny import` writes.
    #[oai(path = "/v1/imports/:id/rejects", method = "get", operation_id = "listImportRejects")]
    async fn rejects(
        &self,
        req: &Request,
        /// The run's id.
        id: Path<i64>,
        /// Rejects per page, 1 to 100 (default 20).
        limit: Query<Option<u64>>,
        /// The `links.next` cursor of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<ImportRejectListResponse> {
        let limit = self::limit(limit.0)?;
        let after = self::cursor(cursor.0, REJECTS_CURSOR)?;
        imports::get(&self.db, id.0).await?.ok_or_else(|| ApiError::not_found(&format!("import run {}", id.0)))?;
        let rejects = imports::rejects(&self.db, id.0, after, limit.get()).await?;
        let next = (rejects.len() as u64 == limit.get())
            .then(|| rejects.last())
            .flatten()
            .map(|last| next_link(req, limit.get(), &Cursor::after_id(REJECTS_CURSOR, last.id)));
        Ok(ImportRejectListResponse::Ok(Json(ImportRejectPage {
            items: rejects.into_iter().map(ImportReject::from).collect(),
            links: Links { next },
        })))
    }
}
