//! Filtered, sorted, keyset-paginated lists over the domain tables.
//!
//! Every list is ordered by one sort key and then by id, and a page ends with a cursor naming
//! its last row's (key, id). The next page starts strictly after that pair, so a walk returns
//! each row once even while rows are inserted, and a deep page costs what the first costs.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, DatabaseBackend, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select,
};

use crate::DomainError;
use crate::biin::Biin;
use crate::cache::ResultCache;
use crate::entities::{self, OrganizationKind, ProcurementMethod, organization};
use crate::kato::KatoCode;
use crate::pagination::{Cursor, Limit, Page};
use crate::search::{self, SearchKind, SearchText};

/// What a list is ordered by, before the id that breaks ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    Id,
    Date,
    Amount,
}

/// An ordering: a field and a direction. Written `date`, `-date`, `amount`, `-amount`, `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

impl Sort {
    pub const ID: Sort = Sort { field: SortField::Id, descending: false };

    /// The name clients use, also stamped into cursors.
    pub fn name(self) -> &'static str {
        match (self.field, self.descending) {
            (SortField::Id, false) => "id",
            (SortField::Id, true) => "-id",
            (SortField::Date, false) => "date",
            (SortField::Date, true) => "-date",
            (SortField::Amount, false) => "amount",
            (SortField::Amount, true) => "-amount",
        }
    }
}

/// Filters the spending lists share. Each list applies the ones its records have; the API
/// offers a list only the parameters it applies.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// The buyer (for payments: the payer), by BIN.
    pub buyer_bin: Option<Biin>,
    /// The supplier (for payments: the payee), by BIN.
    pub supplier_bin: Option<Biin>,
    /// The buyer's kind, e.g. only quasi-public buyers.
    pub buyer_kind: Option<OrganizationKind>,
    /// The buyer's region: a KATO code, matched with its sub-territories.
    pub region: Option<KatoCode>,
    /// A status as stored (the API checks it against the list's status vocabulary).
    pub status: Option<String>,
    pub method: Option<ProcurementMethod>,
    pub fiscal_year: Option<i32>,
    /// First day included.
    pub date_from: Option<NaiveDate>,
    /// Last day included.
    pub date_to: Option<NaiveDate>,
    /// Smallest amount included, in minor units of the record's currency.
    pub amount_min: Option<i64>,
    /// Largest amount included, in minor units.
    pub amount_max: Option<i64>,
    /// Only records belonging to this tender.
    pub tender_id: Option<i64>,
    /// Only records under this contract.
    pub contract_id: Option<i64>,
    /// Organizations: only this kind.
    pub organization_kind: Option<OrganizationKind>,
    /// Organizations: only this BIN.
    pub bin: Option<Biin>,
    /// Free text, matched through the full-text index (see [`crate::search`]); only lists of
    /// searchable records apply it.
    pub text: Option<SearchText>,
}

impl Filters {
    /// The condition on a buyer column, if any buyer filter is set.
    fn buyer_condition<C: ColumnTrait>(&self, column: C) -> Option<Expr> {
        party_condition(column, self.buyer_bin.as_ref(), self.buyer_kind, self.region.as_ref())
    }

    fn supplier_condition<C: ColumnTrait>(&self, column: C) -> Option<Expr> {
        party_condition(column, self.supplier_bin.as_ref(), None, None)
    }
}

/// `column = (SELECT id …)` when a BIN names one organization, else `column IN (SELECT id …)`.
/// The scalar form matters: planners cannot tell that an `IN` list holds a single id, so they
/// pass over the `(party, year, date)` index a one-organization list needs.
fn party_condition<C: ColumnTrait>(
    column: C,
    bin: Option<&Biin>,
    kind: Option<OrganizationKind>,
    region: Option<&KatoCode>,
) -> Option<Expr> {
    let ids = organization_ids(bin, kind, region)?;
    Some(if bin.is_some() {
        Expr::col(column.as_column_ref()).eq(Expr::SubQuery(None, Box::new(ids.into())))
    } else {
        column.in_subquery(ids)
    })
}

/// The KATO prefix that matches a territory and everything inside it: the code without its
/// trailing zero digits (`750000000` → `75`).
pub fn kato_prefix(code: &KatoCode) -> &str {
    let trimmed = code.as_str().trim_end_matches('0');
    if trimmed.is_empty() { code.as_str() } else { trimmed }
}

/// `SELECT id FROM organizations WHERE …` for the given conditions, or `None` without any.
fn organization_ids(
    bin: Option<&Biin>,
    kind: Option<OrganizationKind>,
    region: Option<&KatoCode>,
) -> Option<SelectStatement> {
    if bin.is_none() && kind.is_none() && region.is_none() {
        return None;
    }
    let mut query = Query::select();
    query.column(organization::Column::Id).from(organization::Entity);
    if let Some(bin) = bin {
        query.and_where(organization::Column::Bin.eq(bin.as_str()));
    }
    if let Some(kind) = kind {
        query.and_where(organization::Column::Kind.eq(kind));
    }
    if let Some(region) = region {
        query.and_where(organization::Column::RegionKato.starts_with(kato_prefix(region)));
    }
    Some(query.to_owned())
}

/// A sort key's value, as a cursor carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    Time(DateTime<Utc>),
    Day(NaiveDate),
    Minor(i64),
}

impl SortValue {
    fn encode(&self) -> String {
        match self {
            SortValue::Time(time) => time.to_rfc3339(),
            SortValue::Day(day) => day.to_string(),
            SortValue::Minor(amount) => amount.to_string(),
        }
    }
}

/// How a table's date column is typed, so a cursor's text can be read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateKind {
    Timestamp,
    Day,
}

/// The columns a list sorts and filters on.
pub struct ListColumns<C> {
    pub id: C,
    pub date: Option<(C, DateKind)>,
    /// Whether some rows have no date (a contract not signed yet). Sorted by date, they come
    /// last in either direction, by id.
    pub date_nullable: bool,
    pub amount: Option<C>,
    pub buyer: Option<C>,
    pub supplier: Option<C>,
    pub status: Option<C>,
    pub method: Option<C>,
    pub fiscal_year: Option<C>,
    pub tender: Option<C>,
    pub contract: Option<C>,
}

impl<C> ListColumns<C> {
    pub const fn new(id: C) -> Self {
        ListColumns {
            id,
            date: None,
            date_nullable: false,
            amount: None,
            buyer: None,
            supplier: None,
            status: None,
            method: None,
            fiscal_year: None,
            tender: None,
            contract: None,
        }
    }
}

/// A table that can be listed: its columns, and each row's sort keys.
pub trait Listable: EntityTrait {
    fn columns() -> ListColumns<Self::Column>;
    fn id_of(model: &Self::Model) -> i64;
    fn date_of(_model: &Self::Model) -> Option<SortValue> {
        None
    }
    fn amount_of(_model: &Self::Model) -> Option<i64> {
        None
    }
    /// The full-text index this table's `text` filter goes through, if it has one.
    fn search_kind() -> Option<SearchKind> {
        None
    }
    /// Conditions only this table has (e.g. the organizations' own kind).
    fn extra_filters(select: Select<Self>, _filters: &Filters) -> Select<Self> {
        select
    }
}

/// The filtered query, before ordering and paging.
pub fn filtered<E: Listable>(backend: DatabaseBackend, filters: &Filters) -> Select<E>
where
    E::Column: ColumnTrait,
{
    let columns = E::columns();
    let mut select = E::find();
    if let (Some(kind), Some(text)) = (E::search_kind(), &filters.text) {
        select = select.filter(search::text_filter(backend, kind, text));
    }
    if let Some(condition) = columns.buyer.and_then(|column| filters.buyer_condition(column)) {
        select = select.filter(condition);
    }
    if let Some(condition) = columns.supplier.and_then(|column| filters.supplier_condition(column)) {
        select = select.filter(condition);
    }
    if let (Some(column), Some(status)) = (columns.status, &filters.status) {
        select = select.filter(column.eq(status.as_str()));
    }
    if let (Some(column), Some(method)) = (columns.method, filters.method) {
        select = select.filter(column.eq(method));
    }
    if let (Some(column), Some(year)) = (columns.fiscal_year, filters.fiscal_year) {
        select = select.filter(column.eq(year));
    }
    if let (Some(column), Some(tender)) = (columns.tender, filters.tender_id) {
        select = select.filter(column.eq(tender));
    }
    if let (Some(column), Some(contract)) = (columns.contract, filters.contract_id) {
        select = select.filter(column.eq(contract));
    }
    if let Some((column, kind)) = columns.date {
        if let Some(from) = filters.date_from {
            select = select.filter(match kind {
                DateKind::Timestamp => column.gte(from.and_time(NaiveTime::MIN).and_utc()),
                DateKind::Day => column.gte(from),
            });
        }
        if let Some(to) = filters.date_to {
            select = select.filter(match (kind, to.succ_opt()) {
                (DateKind::Timestamp, Some(next)) => column.lt(next.and_time(NaiveTime::MIN).and_utc()),
                (DateKind::Timestamp, None) => Expr::value(true),
                (DateKind::Day, _) => column.lte(to),
            });
        }
    }
    if let Some(column) = columns.amount {
        if let Some(min) = filters.amount_min {
            select = select.filter(column.gte(min));
        }
        if let Some(max) = filters.amount_max {
            select = select.filter(column.lte(max));
        }
    }
    E::extra_filters(select, filters)
}

/// Which sorts a table supports.
pub fn supports<E: Listable>(field: SortField) -> bool {
    let columns = E::columns();
    match field {
        SortField::Id => true,
        SortField::Date => columns.date.is_some(),
        SortField::Amount => columns.amount.is_some(),
    }
}

/// One page of `E`, filtered, in `sort` order, after `after`.
///
/// The total is counted once per data version (see [`ResultCache`]): a large list's count
/// costs a scan, its pages only an index seek.
pub async fn page<E: Listable>(
    db: &DatabaseConnection,
    cache: &ResultCache,
    filters: &Filters,
    sort: Sort,
    after: Option<&Cursor>,
    limit: Limit,
) -> Result<Page<E::Model>, DomainError>
where
    E::Model: Sync,
{
    let base = filtered::<E>(db.get_database_backend(), filters);
    let key = format!("count:{}", base.clone().build(db.get_database_backend()));
    let total = cache.get_or_compute(db, key, || async { Ok(base.clone().count(db).await?) }).await?;
    let mut items = ordered_after::<E>(base, sort, after)?.limit(limit.get() + 1).all(db).await?;
    // One row more than asked tells whether another page follows.
    let next = if items.len() as u64 > limit.get() {
        items.truncate(limit.get() as usize);
        items.last().map(|last| cursor_after::<E>(sort, last))
    } else {
        None
    };
    Ok(Page { items, total, next })
}

/// The cursor that resumes after `row`.
pub fn cursor_after<E: Listable>(sort: Sort, row: &E::Model) -> Cursor {
    let value = match sort.field {
        SortField::Id => None,
        SortField::Date => E::date_of(row).map(|value| value.encode()),
        SortField::Amount => E::amount_of(row).map(|amount| amount.to_string()),
    };
    Cursor { sort: sort.name().to_owned(), value, id: E::id_of(row) }
}

/// Orders `select` by `sort` then id, starting strictly after `after`.
pub fn ordered_after<E: Listable>(
    select: Select<E>,
    sort: Sort,
    after: Option<&Cursor>,
) -> Result<Select<E>, DomainError> {
    let columns = E::columns();
    let invalid = |what: &str| DomainError::InvalidCursor(format!("the cursor's {what} does not fit this list"));
    let sort_column = match sort.field {
        SortField::Id => None,
        SortField::Date => Some(columns.date.ok_or_else(|| invalid("sort"))?.0),
        SortField::Amount => Some(columns.amount.ok_or_else(|| invalid("sort"))?),
    };
    let order = if sort.descending { sea_orm::Order::Desc } else { sea_orm::Order::Asc };
    // Rows without a date come after the dated ones, on both engines (SQLite would put NULLs
    // first and PostgreSQL last).
    let nulls_last = sort.field == SortField::Date && columns.date_nullable;
    let mut select = select;
    if let (Some(column), true) = (sort_column, nulls_last) {
        select = select.order_by(Expr::col(column).is_null(), sea_orm::Order::Asc);
    }
    if let Some(column) = sort_column {
        select = select.order_by(column, order.clone());
    }
    select = select.order_by(columns.id, order);

    let Some(cursor) = after else { return Ok(select) };
    let id = cursor.id;
    let Some(column) = sort_column else {
        return Ok(select.filter(if sort.descending { columns.id.lt(id) } else { columns.id.gt(id) }));
    };
    let after_id = if sort.descending { columns.id.lt(id) } else { columns.id.gt(id) };
    let Some(text) = cursor.value.as_deref() else {
        // Among the undated rows at the end: only id orders them.
        return match nulls_last {
            true => Ok(select.filter(Expr::col(column).is_null().and(after_id))),
            false => Err(invalid("position")),
        };
    };
    let value: sea_orm::Value = match (sort.field, columns.date.map(|(_, kind)| kind)) {
        (SortField::Amount, _) => text.parse::<i64>().map_err(|_| invalid("position"))?.into(),
        (SortField::Date, Some(DateKind::Timestamp)) => {
            DateTime::parse_from_rfc3339(text).map_err(|_| invalid("position"))?.with_timezone(&Utc).into()
        }
        (SortField::Date, _) => text.parse::<NaiveDate>().map_err(|_| invalid("position"))?.into(),
        (SortField::Id, _) => unreachable!("handled above"),
    };
    // A row-value comparison, `(key, id) > (value, last_id)`, rather than the equivalent OR of
    // two conditions: PostgreSQL turns it into one range scan of the (key, id) index, which
    // keeps a deep page as cheap as the first. SQLite has understood row values since 3.15.
    let row = Expr::tuple([Expr::col(column), Expr::col(columns.id)]);
    let position = Expr::tuple([Expr::val(value), Expr::val(id)]);
    let after = if sort.descending { row.lt(position) } else { row.gt(position) };
    Ok(select.filter(if nulls_last { after.or(Expr::col(column).is_null()) } else { after }))
}

macro_rules! listable {
    ($module:ident { $($field:ident : $value:expr),* $(,)? } $(, date: $date:expr)? $(, amount: $amount:expr)? $(, search: $search:expr)?) => {
        impl Listable for entities::$module::Entity {
            fn columns() -> ListColumns<entities::$module::Column> {
                type C = entities::$module::Column;
                ListColumns { $($field: $value,)* ..ListColumns::new(C::Id) }
            }
            fn id_of(model: &entities::$module::Model) -> i64 {
                model.id
            }
            $(fn date_of(model: &entities::$module::Model) -> Option<SortValue> {
                #[allow(clippy::redundant_closure_call)]
                ($date)(model)
            })?
            $(fn amount_of(model: &entities::$module::Model) -> Option<i64> {
                #[allow(clippy::redundant_closure_call)]
                Some(($amount)(model))
            })?
            $(fn search_kind() -> Option<SearchKind> {
                Some($search)
            })?
        }
    };
}

listable!(tender {
    date: Some((C::PublishedAt, DateKind::Timestamp)),
    amount: Some(C::AmountMinor),
    buyer: Some(C::BuyerId),
    status: Some(C::Status),
    method: Some(C::ProcurementMethod),
    fiscal_year: Some(C::FiscalYear),
}, date: |m: &entities::tender::Model| Some(SortValue::Time(m.published_at)), amount: |m: &entities::tender::Model| m.amount_minor, search: SearchKind::Tender);

listable!(contract {
    date: Some((C::SignedAt, DateKind::Timestamp)),
    date_nullable: true,
    amount: Some(C::AmountMinor),
    buyer: Some(C::BuyerId),
    supplier: Some(C::SupplierId),
    status: Some(C::Status),
    method: Some(C::ProcurementMethod),
    fiscal_year: Some(C::FiscalYear),
    tender: Some(C::TenderId),
}, date: |m: &entities::contract::Model| m.signed_at.map(SortValue::Time), amount: |m: &entities::contract::Model| m.amount_minor, search: SearchKind::Contract);

listable!(payment {
    date: Some((C::PaidAt, DateKind::Timestamp)),
    amount: Some(C::AmountMinor),
    buyer: Some(C::PayerId),
    supplier: Some(C::PayeeId),
    fiscal_year: Some(C::FiscalYear),
    contract: Some(C::ContractId),
}, date: |m: &entities::payment::Model| Some(SortValue::Time(m.paid_at)), amount: |m: &entities::payment::Model| m.amount_minor);

listable!(plan_item {
    amount: Some(C::AmountMinor),
    buyer: Some(C::BuyerId),
    method: Some(C::ProcurementMethod),
    fiscal_year: Some(C::FiscalYear),
}, amount: |m: &entities::plan_item::Model| m.amount_minor);

impl Listable for entities::lot::Entity {
    fn columns() -> ListColumns<entities::lot::Column> {
        type C = entities::lot::Column;
        ListColumns {
            amount: Some(C::AmountMinor),
            status: Some(C::Status),
            tender: Some(C::TenderId),
            ..ListColumns::new(C::Id)
        }
    }
    fn id_of(model: &entities::lot::Model) -> i64 {
        model.id
    }
    fn amount_of(model: &entities::lot::Model) -> Option<i64> {
        Some(model.amount_minor)
    }
    /// Lots have no buyer column: their buyer is their tender's.
    fn extra_filters(select: Select<Self>, filters: &Filters) -> Select<Self> {
        let Some(buyers) = filters.buyer_condition(entities::tender::Column::BuyerId) else { return select };
        let tenders = Query::select()
            .column(entities::tender::Column::Id)
            .from(entities::tender::Entity)
            .and_where(buyers)
            .to_owned();
        select.filter(entities::lot::Column::TenderId.in_subquery(tenders))
    }
}

listable!(decision {
    date: Some((C::AdoptedOn, DateKind::Day)),
    buyer: Some(C::OrganizationId),
}, date: |m: &entities::decision::Model| Some(SortValue::Day(m.adopted_on)), search: SearchKind::Decision);

impl Listable for organization::Entity {
    fn columns() -> ListColumns<organization::Column> {
        ListColumns::new(organization::Column::Id)
    }
    fn id_of(model: &organization::Model) -> i64 {
        model.id
    }
    fn search_kind() -> Option<SearchKind> {
        Some(SearchKind::Organization)
    }
    fn extra_filters(mut select: Select<Self>, filters: &Filters) -> Select<Self> {
        if let Some(kind) = filters.organization_kind {
            select = select.filter(organization::Column::Kind.eq(kind));
        }
        if let Some(bin) = &filters.bin {
            select = select.filter(organization::Column::Bin.eq(bin.as_str()));
        }
        if let Some(region) = &filters.region {
            select = select.filter(organization::Column::RegionKato.starts_with(kato_prefix(region)));
        }
        select
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kato_prefixes_cover_sub_territories() {
        assert_eq!(kato_prefix(&"750000000".parse().unwrap()), "75");
        assert_eq!(kato_prefix(&"751110000".parse().unwrap()), "75111");
        assert_eq!(kato_prefix(&"000000000".parse().unwrap()), "000000000");
    }

    #[test]
    fn sort_names_round_trip_through_cursors() {
        for sort in [
            Sort::ID,
            Sort { field: SortField::Date, descending: true },
            Sort { field: SortField::Amount, descending: false },
        ] {
            let cursor = Cursor { sort: sort.name().into(), value: Some("1".into()), id: 3 };
            assert_eq!(Cursor::decode(&cursor.encode(), sort.name()).unwrap(), cursor);
        }
    }
}
