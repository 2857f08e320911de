//! Reading the database in bounded batches: contracts a page at a time in buyer order, each
//! page with the rows around its contracts loaded by `IN (...)` lists.
//!
//! Contracts are walked by `(buyer_id, id)` so that a buyer's contracts come one after another:
//! the per-buyer indicators (KZ04, KZ05) finish a buyer as soon as the walk moves past it, and
//! hold one buyer's small aggregates at a time. Each page is two keyset queries at most (the
//! rest of the current buyer, then the buyers after it), both served by the index on
//! `contracts.buyer_id`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use domain::DomainError;
use domain::entities::{
    award, contract, contract_amendment, lot, organization, payment, plan_item, tender, unreliable_supplier,
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use domain::db::find_in;

use super::facts::{ContractFacts, kazakhstan_date};

/// Contracts per page.
pub const PAGE: u64 = 5_000;
pub use domain::db::IN_CHUNK;

/// Which related rows the enabled indicators read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    /// Lots and the plan items behind them (KZ02, KZ04).
    pub lots: bool,
    pub awards: bool,
    pub amendments: bool,
    pub payments: bool,
    pub register: bool,
    /// The parents of buyers and suppliers (KZ07).
    pub parents: bool,
}

/// Where the walk over contracts is.
#[derive(Debug)]
pub struct Walk {
    page_size: u64,
    /// The last contract read, as `(buyer_id, id)`.
    after: Option<(i64, i64)>,
    /// Only these buyers' contracts (at most [`IN_CHUNK`]), or every buyer's.
    buyers: Option<Vec<i64>>,
    done: bool,
}

impl Walk {
    pub fn new(page_size: u64) -> Self {
        Walk { page_size: page_size.max(1), after: None, buyers: None, done: false }
    }

    /// A walk over the contracts of `buyers` only (at most [`IN_CHUNK`] of them).
    pub fn of_buyers(page_size: u64, buyers: Vec<i64>) -> Self {
        debug_assert!(buyers.len() <= IN_CHUNK);
        Walk { buyers: Some(buyers), ..Walk::new(page_size) }
    }

    /// The next page of contracts in `(buyer_id, id)` order; `None` once all are read. Only
    /// signed contracts: a draft has no date to measure from, and may never be concluded.
    pub async fn next(&mut self, db: &DatabaseConnection) -> Result<Option<Vec<contract::Model>>, DomainError> {
        if self.done {
            return Ok(None);
        }
        let mut page = Vec::new();
        if let Some((buyer_id, id)) = self.after {
            page = contract::Entity::find()
                .filter(contract::Column::SignedAt.is_not_null())
                .filter(contract::Column::BuyerId.eq(buyer_id))
                .filter(contract::Column::Id.gt(id))
                .order_by_asc(contract::Column::Id)
                .limit(self.page_size)
                .all(db)
                .await?;
        }
        let missing = self.page_size - page.len() as u64;
        if missing > 0 {
            let mut later = contract::Entity::find().filter(contract::Column::SignedAt.is_not_null());
            if let Some(buyers) = &self.buyers {
                later = later.filter(contract::Column::BuyerId.is_in(buyers.iter().copied()));
            }
            if let Some((buyer_id, _)) = self.after {
                later = later.filter(contract::Column::BuyerId.gt(buyer_id));
            }
            let later = later
                .order_by_asc(contract::Column::BuyerId)
                .order_by_asc(contract::Column::Id)
                .limit(missing)
                .all(db)
                .await?;
            if (later.len() as u64) < missing {
                self.done = true;
            }
            page.extend(later);
        }
        match page.last() {
            Some(last) => {
                self.after = Some((last.buyer_id, last.id));
                Ok(Some(page))
            }
            None => Ok(None),
        }
    }
}

/// A page of contracts with the rows around them.
#[derive(Debug, Default)]
pub struct Page {
    pub contracts: Vec<contract::Model>,
    organizations: HashMap<i64, organization::Model>,
    parents: BTreeMap<i64, organization::Model>,
    tenders: HashMap<i64, tender::Model>,
    lots: HashMap<i64, lot::Model>,
    plan_items: HashMap<i64, plan_item::Model>,
    awards: HashMap<i64, award::Model>,
    amendments: HashMap<i64, Vec<contract_amendment::Model>>,
    payments: HashMap<i64, Vec<payment::Model>>,
    register: HashMap<i64, Vec<unreliable_supplier::Model>>,
}

impl Page {
    pub async fn load(
        db: &DatabaseConnection,
        contracts: Vec<contract::Model>,
        needs: Needs,
    ) -> Result<Page, DomainError> {
        let contract_ids: Vec<i64> = contracts.iter().map(|contract| contract.id).collect();
        let mut organization_ids = BTreeSet::new();
        let mut supplier_ids = BTreeSet::new();
        for contract in &contracts {
            organization_ids.insert(contract.buyer_id);
            organization_ids.insert(contract.supplier_id);
            supplier_ids.insert(contract.supplier_id);
        }
        let organizations = by_id(
            find_in::<organization::Entity>(db, organization::Column::Id, &set(&organization_ids)).await?,
            |organization| organization.id,
        );
        let parents = if needs.parents {
            let parent_ids: BTreeSet<i64> =
                organizations.values().filter_map(|organization| organization.parent_id).collect();
            // A parent that is a buyer or supplier on this page is held already; the others are
            // read. Every parent is in the map either way, so the evidence does not depend on
            // which contracts share a page.
            let (held, missing): (BTreeSet<i64>, BTreeSet<i64>) =
                parent_ids.into_iter().partition(|id| organizations.contains_key(id));
            let mut parents: BTreeMap<i64, organization::Model> =
                held.into_iter().filter_map(|id| organizations.get(&id).map(|o| (id, o.clone()))).collect();
            parents.extend(
                find_in::<organization::Entity>(db, organization::Column::Id, &set(&missing))
                    .await?
                    .into_iter()
                    .map(|organization| (organization.id, organization)),
            );
            parents
        } else {
            BTreeMap::new()
        };
        // Every flag names its process's ocid, so tenders are always read.
        let tender_ids: BTreeSet<i64> = contracts.iter().filter_map(|contract| contract.tender_id).collect();
        let tenders =
            by_id(find_in::<tender::Entity>(db, tender::Column::Id, &set(&tender_ids)).await?, |tender| tender.id);

        let (lots, plan_items) = if needs.lots {
            let lot_ids: BTreeSet<i64> = contracts.iter().filter_map(|contract| contract.lot_id).collect();
            let lots = by_id(find_in::<lot::Entity>(db, lot::Column::Id, &set(&lot_ids)).await?, |lot| lot.id);
            let item_ids: BTreeSet<i64> = lots.values().filter_map(|lot| lot.plan_item_id).collect();
            let items =
                by_id(find_in::<plan_item::Entity>(db, plan_item::Column::Id, &set(&item_ids)).await?, |item| item.id);
            (lots, items)
        } else {
            (HashMap::new(), HashMap::new())
        };
        let awards = if needs.awards {
            let award_ids: BTreeSet<i64> = contracts.iter().filter_map(|contract| contract.award_id).collect();
            by_id(find_in::<award::Entity>(db, award::Column::Id, &set(&award_ids)).await?, |award| award.id)
        } else {
            HashMap::new()
        };
        let mut amendments = HashMap::new();
        if needs.amendments {
            let rows = find_in::<contract_amendment::Entity>(db, contract_amendment::Column::ContractId, &contract_ids)
                .await?;
            amendments = group(rows, |amendment| amendment.contract_id);
            for rows in amendments.values_mut() {
                rows.sort_by_key(|amendment| (amendment.sequence, amendment.id));
            }
        }
        let mut payments = HashMap::new();
        if needs.payments {
            let rows = find_in::<payment::Entity>(db, payment::Column::ContractId, &contract_ids).await?;
            payments = group(rows, |payment| payment.contract_id.unwrap_or_default());
            for rows in payments.values_mut() {
                rows.sort_by_key(|payment| (payment.paid_at, payment.id));
            }
        }
        let mut register = HashMap::new();
        if needs.register {
            let rows = find_in::<unreliable_supplier::Entity>(
                db,
                unreliable_supplier::Column::OrganizationId,
                &set(&supplier_ids),
            )
            .await?;
            register = group(rows, |entry| entry.organization_id);
            for rows in register.values_mut() {
                rows.sort_by_key(|entry| (entry.included_on, entry.id));
            }
        }
        Ok(Page {
            contracts,
            organizations,
            parents,
            tenders,
            lots,
            plan_items,
            awards,
            amendments,
            payments,
            register,
        })
    }

    /// The rows around one of the page's contracts.
    pub fn facts<'a>(&'a self, contract: &'a contract::Model) -> Result<ContractFacts<'a>, DomainError> {
        let organization = |id: i64| {
            self.organizations.get(&id).ok_or_else(|| {
                DomainError::Inconsistent(format!(
                    "contract {} refers to organization {id}, which is missing",
                    contract.id
                ))
            })
        };
        let tender = match contract.tender_id {
            Some(id) => Some(self.tenders.get(&id).ok_or_else(|| {
                DomainError::Inconsistent(format!("contract {} refers to tender {id}, which is missing", contract.id))
            })?),
            None => None,
        };
        let lot = contract.lot_id.and_then(|id| self.lots.get(&id));
        Ok(ContractFacts {
            contract,
            buyer: organization(contract.buyer_id)?,
            supplier: organization(contract.supplier_id)?,
            tender,
            lot,
            plan_item: lot.and_then(|lot| lot.plan_item_id).and_then(|id| self.plan_items.get(&id)),
            award: contract.award_id.and_then(|id| self.awards.get(&id)),
            amendments: self.amendments.get(&contract.id).map_or(&[], Vec::as_slice),
            payments: self.payments.get(&contract.id).map_or(&[], Vec::as_slice),
            register: self.register.get(&contract.supplier_id).map_or(&[], Vec::as_slice),
            parents: &self.parents,
            signed_on: kazakhstan_date(contract.signed_at.ok_or_else(|| {
                DomainError::Inconsistent(format!(
                    "contract {} is not signed; only signed ones are walked",
                    contract.id
                ))
            })?),
        })
    }
}

fn set(ids: &BTreeSet<i64>) -> Vec<i64> {
    ids.iter().copied().collect()
}

fn by_id<T>(rows: Vec<T>, id: impl Fn(&T) -> i64) -> HashMap<i64, T> {
    rows.into_iter().map(|row| (id(&row), row)).collect()
}

fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> i64) -> HashMap<i64, Vec<T>> {
    let mut groups: HashMap<i64, Vec<T>> = HashMap::new();
    for row in rows {
        groups.entry(key(&row)).or_default().push(row);
    }
    groups
}
