//! Reading single records of the kinds that have no list of their own: budget lines, bids,
//! awards, contract amendments and delivery acts (the change feed links to each).

use sea_orm::{DatabaseConnection, EntityTrait};

use crate::DomainError;
use crate::entities::{award, bid, budget_line, contract_amendment, delivery_act, organization};

/// A record with the organization it names: a budget line's administrator, a bid's bidder,
/// an award's supplier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithOrganization<M> {
    pub record: M,
    pub organization: organization::Model,
}

/// The record, with its organization loaded; a reference to a missing organization is
/// inconsistent data, not an absent record.
async fn with_organization<M>(
    db: &DatabaseConnection,
    record: Option<M>,
    organization_id: impl Fn(&M) -> i64,
    what: &str,
) -> Result<Option<WithOrganization<M>>, DomainError> {
    let Some(record) = record else {
        return Ok(None);
    };
    let id = organization_id(&record);
    let organization = organization::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::Inconsistent(format!("{what} refers to organization {id}")))?;
    Ok(Some(WithOrganization { record, organization }))
}

/// One budget line by id, with its administrator.
pub async fn budget_line(
    db: &DatabaseConnection,
    id: i64,
) -> Result<Option<WithOrganization<budget_line::Model>>, DomainError> {
    let row = budget_line::Entity::find_by_id(id).one(db).await?;
    with_organization(db, row, |line| line.administrator_id, &format!("budget line {id}")).await
}

/// One bid by id, with its bidder.
pub async fn bid(db: &DatabaseConnection, id: i64) -> Result<Option<WithOrganization<bid::Model>>, DomainError> {
    let row = bid::Entity::find_by_id(id).one(db).await?;
    with_organization(db, row, |bid| bid.bidder_id, &format!("bid {id}")).await
}

/// One award by id, with its supplier.
pub async fn award(db: &DatabaseConnection, id: i64) -> Result<Option<WithOrganization<award::Model>>, DomainError> {
    let row = award::Entity::find_by_id(id).one(db).await?;
    with_organization(db, row, |award| award.supplier_id, &format!("award {id}")).await
}

/// One contract amendment by id.
pub async fn contract_amendment(
    db: &DatabaseConnection,
    id: i64,
) -> Result<Option<contract_amendment::Model>, DomainError> {
    Ok(contract_amendment::Entity::find_by_id(id).one(db).await?)
}

/// One delivery act by id.
pub async fn delivery_act(db: &DatabaseConnection, id: i64) -> Result<Option<delivery_act::Model>, DomainError> {
    Ok(delivery_act::Entity::find_by_id(id).one(db).await?)
}
