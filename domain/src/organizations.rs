//! Reading organizations.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::DomainError;
use crate::entities::organization::{self, Entity};
use crate::entities::{contract, payment};

/// One organization by id.
pub async fn get(db: &DatabaseConnection, id: i64) -> Result<Option<organization::Model>, DomainError> {
    Ok(Entity::find_by_id(id).one(db).await?)
}

/// Contracts and payments on one side of the table, summed per currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SideTotals {
    pub contract_count: u64,
    /// `(currency, VAT included, minor units)`: sums never mix currencies or VAT bases.
    pub contracted: Vec<(String, bool, i64)>,
    pub payment_count: u64,
    pub paid: Vec<(String, bool, i64)>,
}

/// An organization's totals as a buyer and as a supplier.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub as_buyer: SideTotals,
    pub as_supplier: SideTotals,
}

/// The columns of a table with amounts.
struct AmountColumns<C> {
    party: C,
    amount: C,
    currency: C,
    vat_included: C,
}

/// Sums of a table's amounts per currency and VAT basis where `party = id`, with the row count.
async fn sums<E: EntityTrait>(
    db: &DatabaseConnection,
    columns: AmountColumns<E::Column>,
    id: i64,
) -> Result<(u64, Vec<(String, bool, i64)>), DomainError>
where
    E::Column: ColumnTrait,
{
    // SUM over BIGINT is NUMERIC on PostgreSQL: cast back so both engines return an integer.
    let AmountColumns { party, amount, currency, vat_included } = columns;
    let rows: Vec<(String, bool, i64, i64)> = E::find()
        .select_only()
        .column(currency)
        .column(vat_included)
        .expr(Expr::col(amount).count())
        .expr(Expr::col(amount).sum().cast_as("BIGINT"))
        .filter(party.eq(id))
        .group_by(currency)
        .group_by(vat_included)
        .order_by_asc(currency)
        .order_by_asc(vat_included)
        .into_tuple()
        .all(db)
        .await?;
    let count = rows.iter().map(|(_, _, count, _)| *count as u64).sum();
    Ok((count, rows.into_iter().map(|(currency, vat, _, sum)| (currency, vat, sum)).collect()))
}

/// What an organization bought and sold.
pub async fn totals(db: &DatabaseConnection, id: i64) -> Result<Totals, DomainError> {
    use contract::Column as C;
    use payment::Column as P;
    let contracts =
        |party| AmountColumns { party, amount: C::AmountMinor, currency: C::Currency, vat_included: C::VatIncluded };
    let payments =
        |party| AmountColumns { party, amount: P::AmountMinor, currency: P::Currency, vat_included: P::VatIncluded };
    let (bought_count, bought) = sums::<contract::Entity>(db, contracts(C::BuyerId), id).await?;
    let (sold_count, sold) = sums::<contract::Entity>(db, contracts(C::SupplierId), id).await?;
    let (paid_count, paid) = sums::<payment::Entity>(db, payments(P::PayerId), id).await?;
    let (received_count, received) = sums::<payment::Entity>(db, payments(P::PayeeId), id).await?;
    Ok(Totals {
        as_buyer: SideTotals { contract_count: bought_count, contracted: bought, payment_count: paid_count, paid },
        as_supplier: SideTotals {
            contract_count: sold_count,
            contracted: sold,
            payment_count: received_count,
            paid: received,
        },
    })
}
