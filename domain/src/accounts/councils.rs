//! Public councils: one at each state body and quasi-public entity (its host), with members
//! whose display names and positions are public and whose emails never are.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::service::{answerable_organization, bump_council, name, position};
use super::tables::{account, council, council_member};
use super::{Actor, Role};
use crate::DomainError;
use crate::entities::{OrganizationKind, organization};
use crate::names::LocalizedName;
use crate::pagination::{Limit, Page, by_key};
use crate::writes::{IdempotencyKey, Write};

/// The most members one council may have set at once.
pub const MAX_MEMBERS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouncilView {
    pub id: i64,
    pub host_organization_id: i64,
    pub name: LocalizedName,
    pub member_count: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// A seat as the public sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub account_id: i64,
    pub display_name: String,
    pub position: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouncilDetail {
    pub council: CouncilView,
    pub members: Vec<MemberView>,
}

/// A council to create.
#[derive(Debug, Clone, Serialize)]
pub struct NewCouncil {
    pub host_organization_id: i64,
    /// Absent parts are named after the host ("Общественный совет при …").
    pub name: LocalizedName,
}

/// One member to seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewMember {
    pub account_id: i64,
    pub position: Option<String>,
}

/// Councils in id order, optionally only the one at `host_organization_id`.
pub async fn list(
    db: &DatabaseConnection,
    host_organization_id: Option<i64>,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<CouncilView>, DomainError> {
    let mut query = council::Entity::find();
    if let Some(host) = host_organization_id {
        query = query.filter(council::Column::HostOrganizationId.eq(host));
    }
    let page = by_key(db, query, council::Column::Id, |row| row.id, "councils", cursor, limit).await?;
    let counts = member_counts(db, page.items.iter().map(|c| c.id).collect()).await?;
    page.try_map(|row| {
        let count = counts.get(&row.id).copied();
        Ok(view(row, count))
    })
}

/// A council with its members.
pub async fn get(db: &impl ConnectionTrait, council_id: i64) -> Result<CouncilDetail, DomainError> {
    let row = council::Entity::find_by_id(council_id)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("council {council_id}")))?;
    detail(db, row).await
}

/// The council at an organization, if it has one.
pub async fn of_organization(
    db: &DatabaseConnection,
    organization_id: i64,
) -> Result<Option<CouncilView>, DomainError> {
    let Some(row) =
        council::Entity::find().filter(council::Column::HostOrganizationId.eq(organization_id)).one(db).await?
    else {
        return Ok(None);
    };
    let count = member_counts(db, vec![row.id]).await?.get(&row.id).copied();
    Ok(Some(view(row, count)))
}

/// An admin creates a council at a state body or quasi-public entity that has none.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewCouncil,
    key: Option<&IdempotencyKey>,
) -> Result<CouncilDetail, DomainError> {
    if !actor.is_admin() {
        return Err(DomainError::Forbidden("only admins create councils".into()));
    }
    let mut write = Write::begin(db).await?;
    if let Some(replayed) = write.replay(actor, "createCouncil", key).await? {
        return Ok(replayed);
    }
    let detail = insert(&mut write, actor, new).await?;
    write.remember(actor, "createCouncil", key, &detail).await?;
    write.commit().await?;
    Ok(detail)
}

async fn insert(write: &mut Write, actor: &Actor, new: NewCouncil) -> Result<CouncilDetail, DomainError> {
    let txn = write.txn();
    let host = answerable_organization(txn, "host_organization_id", new.host_organization_id).await?;
    let exists = council::Entity::find().filter(council::Column::HostOrganizationId.eq(host.id)).count(txn).await? > 0;
    if exists {
        return Err(DomainError::Conflict(format!("organization {} already has a public council", host.id)));
    }
    let clean = |field: &str, part: Option<String>| part.map(|text| name(field, &text)).transpose();
    let given = LocalizedName {
        ru: clean("name.ru", new.name.ru)?,
        kk: clean("name.kk", new.name.kk)?,
        en: clean("name.en", new.name.en)?,
    };
    let named = default_name(&host);
    let now = write.now();
    let row = council::ActiveModel {
        host_organization_id: Set(host.id),
        name_ru: Set(given.ru.or(named.ru)),
        name_kk: Set(given.kk.or(named.kk)),
        name_en: Set(given.en.or(named.en)),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let detail = detail(txn, row).await?;
    write.record(actor, "council.create", "council", detail.council.id, None, Some(snapshot(&detail))).await?;
    Ok(detail)
}

/// An admin sets a council's members, replacing the list. Each member must be an enabled
/// account; seating someone makes them a `council_member` of this council.
pub async fn set_members(
    db: &DatabaseConnection,
    actor: &Actor,
    council_id: i64,
    expected_version: Option<i64>,
    members: Vec<NewMember>,
) -> Result<CouncilDetail, DomainError> {
    if !actor.is_admin() {
        return Err(DomainError::Forbidden("only admins set council members".into()));
    }
    if members.len() > MAX_MEMBERS {
        return Err(DomainError::invalid("members", format!("at most {MAX_MEMBERS} members")));
    }
    let mut seats = BTreeMap::new();
    for (index, member) in members.iter().enumerate() {
        let position = position(member.position.as_deref()).map_err(|_| {
            DomainError::invalid(&format!("members[{index}].position"), "must be chair, secretary or member")
        })?;
        if seats.insert(member.account_id, position).is_some() {
            return Err(DomainError::invalid(
                &format!("members[{index}].account_id"),
                format!("account {} is listed twice", member.account_id),
            ));
        }
    }
    let mut write = Write::begin(db).await?;
    let txn = write.txn();
    let before = get(txn, council_id).await?;
    let expected_version = expected_version.unwrap_or(before.council.version);
    if before.council.version != expected_version {
        return Err(DomainError::Stale(format!(
            "council {council_id} is at version {}, not {expected_version}",
            before.council.version
        )));
    }
    for (index, account_id) in seats.keys().enumerate() {
        let enabled = account::Entity::find_by_id(*account_id).one(txn).await?.is_some_and(|a| a.disabled_at.is_none());
        if !enabled {
            return Err(DomainError::invalid(
                &format!("members[{index}].account_id"),
                format!("account {account_id} does not exist or is disabled"),
            ));
        }
    }
    let now = write.now();
    council_member::Entity::delete_many().filter(council_member::Column::CouncilId.eq(council_id)).exec(txn).await?;
    for (account_id, position) in &seats {
        council_member::ActiveModel {
            council_id: Set(council_id),
            account_id: Set(*account_id),
            position: Set(position.clone()),
            joined_at: Set(now),
        }
        .insert(txn)
        .await?;
    }
    bump_council(txn, council_id, now).await?;
    let after = get(txn, council_id).await?;
    write
        .record(actor, "council.set_members", "council", council_id, Some(snapshot(&before)), Some(snapshot(&after)))
        .await?;
    write.commit().await?;
    Ok(after)
}

/// Gives every state body and quasi-public entity without a council its council, as the
/// law has it; the demo seed calls this. Returns how many were created.
pub async fn ensure_for_public_organizations(db: &DatabaseConnection, actor: &Actor) -> Result<usize, DomainError> {
    if !actor.has(Role::Admin) {
        return Err(DomainError::Forbidden("only admins create councils".into()));
    }
    let hosted = council::Entity::find().select_only().column(council::Column::HostOrganizationId).into_query();
    let hosts = organization::Entity::find()
        .filter(organization::Column::Kind.is_in([OrganizationKind::StateBody, OrganizationKind::QuasiPublic]))
        .filter(organization::Column::Id.not_in_subquery(hosted))
        .order_by_asc(organization::Column::Id)
        .all(db)
        .await?;
    if hosts.is_empty() {
        return Ok(0);
    }
    let mut write = Write::begin(db).await?;
    for host in &hosts {
        insert(&mut write, actor, NewCouncil { host_organization_id: host.id, name: LocalizedName::default() }).await?;
    }
    write.commit().await?;
    Ok(hosts.len())
}

/// "Общественный совет при …", "… жанындағы қоғамдық кеңес", "Public council at …", after
/// the host's name in each language it has.
fn default_name(host: &organization::Model) -> LocalizedName {
    LocalizedName {
        ru: host.name_ru.as_ref().map(|n| format!("Общественный совет при {n}")),
        kk: host.name_kk.as_ref().map(|n| format!("{n} жанындағы қоғамдық кеңес")),
        en: host.name_en.as_ref().map(|n| format!("Public council at {n}")),
    }
}

async fn member_counts(db: &impl ConnectionTrait, ids: Vec<i64>) -> Result<BTreeMap<i64, u64>, DomainError> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let rows: Vec<(i64, i64)> = council_member::Entity::find()
        .select_only()
        .column(council_member::Column::CouncilId)
        .column_as(council_member::Column::AccountId.count(), "n")
        .filter(council_member::Column::CouncilId.is_in(ids))
        .group_by(council_member::Column::CouncilId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(id, n)| (id, n as u64)).collect())
}

fn view(row: council::Model, member_count: Option<u64>) -> CouncilView {
    CouncilView {
        id: row.id,
        host_organization_id: row.host_organization_id,
        name: LocalizedName { ru: row.name_ru, kk: row.name_kk, en: row.name_en },
        member_count: member_count.unwrap_or(0),
        created_at: row.created_at,
        updated_at: row.updated_at,
        version: row.version,
    }
}

async fn detail(db: &impl ConnectionTrait, row: council::Model) -> Result<CouncilDetail, DomainError> {
    let seats = council_member::Entity::find()
        .filter(council_member::Column::CouncilId.eq(row.id))
        .order_by_asc(council_member::Column::AccountId)
        .all(db)
        .await?;
    let names: BTreeMap<i64, String> = account::Entity::find()
        .filter(account::Column::Id.is_in(seats.iter().map(|s| s.account_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.display_name))
        .collect();
    let members: Vec<MemberView> = seats
        .into_iter()
        .map(|seat| MemberView {
            display_name: names.get(&seat.account_id).cloned().unwrap_or_default(),
            account_id: seat.account_id,
            position: seat.position,
        })
        .collect();
    Ok(CouncilDetail { council: view(row, Some(members.len() as u64)), members })
}

/// A council as the audit log keeps it: members by account id (their names are personal
/// data and stay out of the log).
fn snapshot(detail: &CouncilDetail) -> Value {
    json!({
        "id": detail.council.id,
        "host_organization_id": detail.council.host_organization_id,
        "name": detail.council.name,
        "members": detail.members.iter().map(|m| json!({"account_id": m.account_id, "position": m.position})).collect::<Vec<_>>(),
        "version": detail.council.version,
    })
}
