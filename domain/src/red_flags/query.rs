//! Reading stored flags: the filtered list, one flag, the flags a record's detail embeds, and
//! what each indicator could judge.

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{Severity, SubjectKind, indicator_coverage, red_flag};
use crate::DomainError;
use crate::kato::KatoCode;
use crate::listing::kato_prefix;
use crate::pagination::{self, Limit, Page};

/// The list's one ordering: by id, oldest flag first.
pub const SORT: &str = "id";
/// How many flags a record's detail embeds; the list's filters give the rest.
pub const EMBEDDED_IN_DETAIL: u64 = 50;

/// Filters of `GET /v1/red-flags`.
#[derive(Debug, Clone, Default)]
pub struct FlagFilters {
    pub indicator: Option<String>,
    /// The organization as buyer or as supplier.
    pub organization_id: Option<i64>,
    /// The buyer's region, with its sub-territories.
    pub region: Option<KatoCode>,
    /// First day included (of `observed_on`).
    pub date_from: Option<NaiveDate>,
    /// Last day included.
    pub date_to: Option<NaiveDate>,
    pub severity: Option<Severity>,
    pub subject_kind: Option<SubjectKind>,
    pub tender_id: Option<i64>,
    pub contract_id: Option<i64>,
    /// Also flags a later computation no longer found.
    pub include_cleared: bool,
}

fn filtered(filters: &FlagFilters) -> sea_orm::Select<red_flag::Entity> {
    let mut query = red_flag::Entity::find();
    if let Some(indicator) = &filters.indicator {
        query = query.filter(red_flag::Column::Indicator.eq(indicator.as_str()));
    }
    if let Some(id) = filters.organization_id {
        query = query
            .filter(Condition::any().add(red_flag::Column::BuyerId.eq(id)).add(red_flag::Column::SupplierId.eq(id)));
    }
    if let Some(region) = &filters.region {
        query = query.filter(red_flag::Column::RegionKato.starts_with(kato_prefix(region)));
    }
    if let Some(from) = filters.date_from {
        query = query.filter(red_flag::Column::ObservedOn.gte(from));
    }
    if let Some(to) = filters.date_to {
        query = query.filter(red_flag::Column::ObservedOn.lte(to));
    }
    if let Some(severity) = filters.severity {
        query = query.filter(red_flag::Column::Severity.eq(severity));
    }
    if let Some(kind) = filters.subject_kind {
        query = query.filter(red_flag::Column::SubjectKind.eq(kind));
    }
    if let Some(id) = filters.tender_id {
        query = query.filter(red_flag::Column::TenderId.eq(id));
    }
    if let Some(id) = filters.contract_id {
        query = query.filter(red_flag::Column::ContractId.eq(id));
    }
    if !filters.include_cleared {
        query = query.filter(red_flag::Column::ClearedAt.is_null());
    }
    query
}

/// One page of flags, in id order, after `cursor`.
pub async fn list(
    db: &DatabaseConnection,
    filters: &FlagFilters,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<red_flag::Model>, DomainError> {
    pagination::by_key(db, filtered(filters), red_flag::Column::Id, |row| row.id, SORT, cursor, limit).await
}

pub async fn get(db: &DatabaseConnection, id: i64) -> Result<Option<red_flag::Model>, DomainError> {
    Ok(red_flag::Entity::find_by_id(id).one(db).await?)
}

/// What a record's detail embeds.
#[derive(Debug, Clone, Copy)]
pub enum Embedding {
    Tender(i64),
    Contract(i64),
    /// As buyer or supplier.
    Organization(i64),
}

/// The flags standing on a record, newest first, at most [`EMBEDDED_IN_DETAIL`].
pub async fn on_record(db: &DatabaseConnection, record: Embedding) -> Result<Vec<red_flag::Model>, DomainError> {
    let filters = match record {
        Embedding::Tender(id) => FlagFilters { tender_id: Some(id), ..FlagFilters::default() },
        Embedding::Contract(id) => FlagFilters { contract_id: Some(id), ..FlagFilters::default() },
        Embedding::Organization(id) => FlagFilters { organization_id: Some(id), ..FlagFilters::default() },
    };
    Ok(filtered(&filters).order_by_desc(red_flag::Column::Id).limit(EMBEDDED_IN_DETAIL).all(db).await?)
}

/// What every indicator could judge at its last computation, by code.
pub async fn coverage(db: &DatabaseConnection) -> Result<Vec<indicator_coverage::Model>, DomainError> {
    Ok(indicator_coverage::Entity::find().order_by_asc(indicator_coverage::Column::Indicator).all(db).await?)
}
