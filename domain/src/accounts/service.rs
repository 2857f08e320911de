//! Accounts: registration, roles, changes by their owner or an admin, and what a token's
//! subject is allowed to do. Every change is a [`Write`] with its audit event.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::tables::{account, account_role, council, council_member};
use super::{Actor, Password, PasswordHasher, Principal, Role};
use crate::DomainError;
use crate::entities::{OrganizationKind, organization};
use crate::pagination::{Limit, Page, by_key};
use crate::writes::{IdempotencyKey, Write};

/// The longest display name, NGO name or email accepted, in characters.
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_EMAIL_CHARS: usize = 254;

/// An email address, trimmed; compared lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn new(text: &str) -> Result<Email, DomainError> {
        let text = text.trim();
        let invalid = |reason: &str| DomainError::invalid("email", reason);
        if text.chars().count() > MAX_EMAIL_CHARS {
            return Err(invalid("must be at most 254 characters"));
        }
        let Some((local, domain)) = text.rsplit_once('@') else {
            return Err(invalid("must be an address like name@example.kz"));
        };
        let plausible = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !text.chars().any(|c| c.is_whitespace() || c.is_control());
        if !plausible {
            return Err(invalid("must be an address like name@example.kz"));
        }
        Ok(Email(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key emails are unique by.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A name as people will see it: trimmed, 1 to 200 characters, no control characters.
pub fn name(field: &str, text: &str) -> Result<String, DomainError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_NAME_CHARS {
        return Err(DomainError::invalid(field, format!("must be 1 to {MAX_NAME_CHARS} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(DomainError::invalid(field, "must not contain control characters"));
    }
    Ok(text.to_owned())
}

/// What a citizen gives to register.
#[derive(Debug, Clone)]
pub struct Registration {
    pub email: Email,
    pub password: Password,
    pub display_name: String,
}

/// A role to grant, with what it needs: a council for `council_member`, an organization for
/// `body_officer`, the non-profit's name for `ngo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub role: Option<Role>,
    pub council_id: Option<i64>,
    /// `chair`, `secretary` or `member` (the default), for `council_member`.
    pub position: Option<String>,
    pub organization_id: Option<i64>,
    pub ngo_name: Option<String>,
}

/// An account's seat on a council.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    pub council_id: i64,
    pub position: String,
}

/// An account as its owner and admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub councils: Vec<Seat>,
    pub organization_id: Option<i64>,
    pub ngo_name: Option<String>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// Changes to an account; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct AccountChanges {
    pub display_name: Option<String>,
    /// Only admins may disable or enable an account.
    pub disabled: Option<bool>,
}

pub const POSITIONS: [&str; 3] = ["chair", "secretary", "member"];

pub fn position(text: Option<&str>) -> Result<String, DomainError> {
    let text = text.unwrap_or("member");
    POSITIONS
        .contains(&text)
        .then(|| text.to_owned())
        .ok_or_else(|| DomainError::invalid("position", "must be chair, secretary or member"))
}

/// A citizen registers: a new account with the role `citizen`.
pub async fn register(
    db: &DatabaseConnection,
    hasher: &PasswordHasher,
    actor: &Actor,
    registration: Registration,
    key: Option<&IdempotencyKey>,
) -> Result<AccountView, DomainError> {
    // Hash before the transaction: it takes tens of milliseconds and holds no lock.
    let password_hash = hasher.hash(&registration.password).await?;
    let mut write = Write::begin(db).await?;
    if let Some(replayed) = write.replay(actor, "register", key).await? {
        return Ok(replayed);
    }
    let view = insert_account(&mut write, actor, &registration, password_hash, &[Role::Citizen]).await?;
    write.remember(actor, "register", key, &view).await?;
    write.commit().await?;
    Ok(view)
}

/// The operator creates an account with roles (`scrutiny users create`).
pub async fn create(
    db: &DatabaseConnection,
    hasher: &PasswordHasher,
    actor: &Actor,
    registration: Registration,
    grants: Vec<Grant>,
) -> Result<AccountView, DomainError> {
    if !actor.is_admin() {
        return Err(DomainError::Forbidden("only admins create accounts with roles".into()));
    }
    let password_hash = hasher.hash(&registration.password).await?;
    let mut write = Write::begin(db).await?;
    let mut view = insert_account(&mut write, actor, &registration, password_hash, &[]).await?;
    for grant in grants {
        view = apply_grant(&mut write, actor, view.id, &grant).await?;
    }
    write.commit().await?;
    Ok(view)
}

async fn insert_account(
    write: &mut Write,
    actor: &Actor,
    registration: &Registration,
    password_hash: String,
    roles: &[Role],
) -> Result<AccountView, DomainError> {
    let txn = write.txn();
    let taken =
        account::Entity::find().filter(account::Column::EmailKey.eq(registration.email.key())).count(txn).await? > 0;
    if taken {
        return Err(DomainError::Conflict("an account with this email exists".into()));
    }
    let now = write.now();
    let model = account::ActiveModel {
        email: Set(registration.email.as_str().to_owned()),
        email_key: Set(registration.email.key()),
        display_name: Set(registration.display_name.clone()),
        password_hash: Set(password_hash),
        ngo_name: Set(None),
        organization_id: Set(None),
        disabled_at: Set(None),
        erased_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    for role in roles {
        account_role::ActiveModel { account_id: Set(model.id), role: Set(role.to_string()), granted_at: Set(now) }
            .insert(txn)
            .await?;
    }
    let view = load_existing(txn, model.id).await?;
    let after = snapshot(write, &view).await?;
    write.record(actor, "account.create", "account", view.id, None, Some(after)).await?;
    Ok(view)
}

/// An admin grants a role.
pub async fn grant(
    db: &DatabaseConnection,
    actor: &Actor,
    account_id: i64,
    grant: Grant,
    key: Option<&IdempotencyKey>,
) -> Result<AccountView, DomainError> {
    if !actor.is_admin() {
        return Err(DomainError::Forbidden("only admins grant roles".into()));
    }
    let mut write = Write::begin(db).await?;
    // The account is part of the request: one key on two accounts is two requests.
    let operation = format!("grantRole:{account_id}");
    if let Some(replayed) = write.replay(actor, &operation, key).await? {
        return Ok(replayed);
    }
    let view = apply_grant(&mut write, actor, account_id, &grant).await?;
    write.remember(actor, &operation, key, &view).await?;
    write.commit().await?;
    Ok(view)
}

async fn apply_grant(
    write: &mut Write,
    actor: &Actor,
    account_id: i64,
    grant: &Grant,
) -> Result<AccountView, DomainError> {
    let role = grant.role.ok_or_else(|| DomainError::invalid("role", "is required"))?;
    let txn = write.txn();
    let before_view = load_existing(txn, account_id).await?;
    let now = write.now();
    match role {
        Role::CouncilMember => {
            let council_id =
                grant.council_id.ok_or_else(|| DomainError::invalid("council_id", "is required for council_member"))?;
            if council::Entity::find_by_id(council_id).one(txn).await?.is_none() {
                return Err(DomainError::invalid("council_id", format!("council {council_id} does not exist")));
            }
            let position = position(grant.position.as_deref())?;
            if before_view.disabled {
                return Err(DomainError::invalid("account", format!("account {account_id} is disabled")));
            }
            let seated = council_member::Entity::find()
                .filter(council_member::Column::CouncilId.eq(council_id))
                .filter(council_member::Column::AccountId.ne(account_id))
                .count(txn)
                .await?;
            if seated as usize >= super::councils::MAX_MEMBERS {
                return Err(DomainError::Conflict(format!(
                    "council {council_id} has {} members already, the most it may have",
                    super::councils::MAX_MEMBERS
                )));
            }
            council_member::Entity::delete_many()
                .filter(council_member::Column::CouncilId.eq(council_id))
                .filter(council_member::Column::AccountId.eq(account_id))
                .exec(txn)
                .await?;
            council_member::ActiveModel {
                council_id: Set(council_id),
                account_id: Set(account_id),
                position: Set(position),
                joined_at: Set(now),
            }
            .insert(txn)
            .await?;
            bump_council(txn, council_id, now).await?;
        }
        other => {
            if other == Role::BodyOfficer {
                let organization_id = grant
                    .organization_id
                    .ok_or_else(|| DomainError::invalid("organization_id", "is required for body_officer"))?;
                answerable_organization(txn, "organization_id", organization_id).await?;
                account::Entity::update_many()
                    .col_expr(account::Column::OrganizationId, Expr::value(organization_id))
                    .filter(account::Column::Id.eq(account_id))
                    .exec(txn)
                    .await?;
            }
            if other == Role::Ngo {
                let ngo_name = match (&grant.ngo_name, &before_view.ngo_name) {
                    (Some(given), _) => name("ngo_name", given)?,
                    (None, Some(kept)) => kept.clone(),
                    (None, None) => return Err(DomainError::invalid("ngo_name", "is required for ngo")),
                };
                account::Entity::update_many()
                    .col_expr(account::Column::NgoName, Expr::value(ngo_name))
                    .filter(account::Column::Id.eq(account_id))
                    .exec(txn)
                    .await?;
            }
            account_role::Entity::delete_many()
                .filter(account_role::Column::AccountId.eq(account_id))
                .filter(account_role::Column::Role.eq(other.as_str()))
                .exec(txn)
                .await?;
            account_role::ActiveModel {
                account_id: Set(account_id),
                role: Set(other.to_string()),
                granted_at: Set(now),
            }
            .insert(txn)
            .await?;
        }
    }
    touch(txn, account_id, now).await?;
    let after_view = load_existing(txn, account_id).await?;
    let before = snapshot(write, &before_view).await?;
    let after = snapshot(write, &after_view).await?;
    write.record(actor, &format!("account.grant.{role}"), "account", account_id, Some(before), Some(after)).await?;
    Ok(after_view)
}

/// An admin revokes a role; for `council_member`, the seat on `council_id` (or every seat).
pub async fn revoke(
    db: &DatabaseConnection,
    actor: &Actor,
    account_id: i64,
    role: Role,
    council_id: Option<i64>,
) -> Result<AccountView, DomainError> {
    if !actor.is_admin() {
        return Err(DomainError::Forbidden("only admins revoke roles".into()));
    }
    let mut write = Write::begin(db).await?;
    let txn = write.txn();
    let before_view = load_existing(txn, account_id).await?;
    if !before_view.roles.contains(&role) {
        return Err(DomainError::NotFound(format!("the role {role} of account {account_id}")));
    }
    let now = write.now();
    if role == Role::CouncilMember {
        let mut seats = council_member::Entity::delete_many().filter(council_member::Column::AccountId.eq(account_id));
        if let Some(council_id) = council_id {
            seats = seats.filter(council_member::Column::CouncilId.eq(council_id));
        }
        for seat in before_view.councils.iter().filter(|s| council_id.is_none_or(|c| c == s.council_id)) {
            bump_council(txn, seat.council_id, now).await?;
        }
        if seats.exec(txn).await?.rows_affected == 0 {
            return Err(DomainError::NotFound(format!("a seat of account {account_id} on that council")));
        }
    } else {
        if role == Role::Admin {
            last_admin_check(txn, account_id).await?;
        }
        account_role::Entity::delete_many()
            .filter(account_role::Column::AccountId.eq(account_id))
            .filter(account_role::Column::Role.eq(role.as_str()))
            .exec(txn)
            .await?;
        if role == Role::Ngo {
            account::Entity::update_many()
                .col_expr(account::Column::NgoName, Expr::value(Option::<String>::None))
                .filter(account::Column::Id.eq(account_id))
                .exec(txn)
                .await?;
        }
        if role == Role::BodyOfficer {
            account::Entity::update_many()
                .col_expr(account::Column::OrganizationId, Expr::value(Option::<i64>::None))
                .filter(account::Column::Id.eq(account_id))
                .exec(txn)
                .await?;
        }
    }
    touch(txn, account_id, now).await?;
    let after_view = load_existing(txn, account_id).await?;
    let before = snapshot(&write, &before_view).await?;
    let after = snapshot(&write, &after_view).await?;
    write.record(actor, &format!("account.revoke.{role}"), "account", account_id, Some(before), Some(after)).await?;
    write.commit().await?;
    Ok(after_view)
}

/// Changes an account: its owner may rename it; admins may also disable or enable it.
/// `expected_version` is the version the caller last read (its ETag); `None` for any.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    account_id: i64,
    expected_version: Option<i64>,
    changes: AccountChanges,
) -> Result<AccountView, DomainError> {
    let mut write = Write::begin(db).await?;
    let txn = write.txn();
    let own = actor.account_id() == Some(account_id);
    if !own && !actor.is_admin() {
        return Err(DomainError::NotFound(format!("account {account_id}")));
    }
    let before_view = load_existing(txn, account_id).await?;
    if changes.disabled.is_some() && !actor.is_admin() {
        return Err(DomainError::Forbidden("only admins disable or enable accounts".into()));
    }
    let expected_version = expected_version.unwrap_or(before_view.version);
    if before_view.version != expected_version {
        return Err(DomainError::Stale(format!(
            "account {account_id} is at version {}, not {expected_version}",
            before_view.version
        )));
    }
    if changes.disabled == Some(true) && before_view.roles.contains(&Role::Admin) {
        last_admin_check(txn, account_id).await?;
    }
    let now = write.now();
    let mut update = account::Entity::update_many()
        .col_expr(account::Column::UpdatedAt, Expr::value(now))
        .col_expr(account::Column::Version, Expr::col(account::Column::Version).add(1))
        .filter(account::Column::Id.eq(account_id))
        .filter(account::Column::Version.eq(expected_version));
    if let Some(display_name) = &changes.display_name {
        update = update.col_expr(account::Column::DisplayName, Expr::value(name("display_name", display_name)?));
    }
    // Disabling a disabled account keeps the time it was first disabled.
    match changes.disabled {
        Some(true) if !before_view.disabled => {
            update = update.col_expr(account::Column::DisabledAt, Expr::value(Some(now)));
        }
        Some(false) => {
            update = update.col_expr(account::Column::DisabledAt, Expr::value(Option::<DateTime<Utc>>::None));
        }
        _ => {}
    }
    update.exec(txn).await?;
    if changes.disabled == Some(true) {
        // Re-enabling the account later must not bring old sessions back.
        super::sessions::revoke_all_in(txn, account_id, now).await?;
    }
    if changes.display_name.is_some() {
        for seat in &before_view.councils {
            bump_council(txn, seat.council_id, now).await?;
        }
    }
    let after_view = load_existing(txn, account_id).await?;
    let before = snapshot(&write, &before_view).await?;
    let after = snapshot(&write, &after_view).await?;
    let action = match changes.disabled {
        Some(true) if !before_view.disabled => "account.disable",
        Some(false) if before_view.disabled => "account.enable",
        _ => "account.update",
    };
    write.record(actor, action, "account", account_id, Some(before), Some(after)).await?;
    write.commit().await?;
    Ok(after_view)
}

/// One account, for its owner or an admin; anyone else is told it does not exist.
pub async fn get(db: &DatabaseConnection, actor: &Actor, account_id: i64) -> Result<AccountView, DomainError> {
    if actor.account_id() != Some(account_id) && !actor.is_admin() {
        return Err(DomainError::NotFound(format!("account {account_id}")));
    }
    load_existing(db, account_id).await
}

/// Every account, for admins, in id order, a page at a time.
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    role: Option<Role>,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<AccountView>, DomainError> {
    if !actor.is_admin() {
        return Err(DomainError::Forbidden("only admins list accounts".into()));
    }
    let mut query = account::Entity::find().filter(account::Column::ErasedAt.is_null());
    if let Some(role) = role {
        let holders = if role == Role::CouncilMember {
            council_member::Entity::find().select_only().column(council_member::Column::AccountId).into_query()
        } else {
            account_role::Entity::find()
                .select_only()
                .column(account_role::Column::AccountId)
                .filter(account_role::Column::Role.eq(role.as_str()))
                .into_query()
        };
        query = query.filter(account::Column::Id.in_subquery(holders));
    }
    let page = by_key(db, query, account::Column::Id, |row| row.id, "accounts", cursor, limit).await?;
    let items = views(db, page.items).await?;
    Ok(Page { items, total: page.total, next: page.next })
}

/// What the holder of a token for `account_id` may do; `None` when the account does not
/// exist or is disabled, so its tokens stop working at once.
pub async fn principal(db: &impl ConnectionTrait, account_id: i64) -> Result<Option<Principal>, DomainError> {
    let Some(model) = account::Entity::find_by_id(account_id).one(db).await? else { return Ok(None) };
    if model.disabled_at.is_some() {
        return Ok(None);
    }
    let view = view(db, model).await?;
    Ok(Some(Principal {
        account_id,
        roles: view.roles.iter().copied().collect(),
        councils: view.councils.iter().map(|seat| seat.council_id).collect(),
        organization_id: view.organization_id,
    }))
}

/// The account these credentials belong to. A wrong password, an unknown email and a
/// disabled account all give the same error, after the same work.
pub async fn authenticate(
    db: &DatabaseConnection,
    hasher: &PasswordHasher,
    email: &str,
    password: &str,
) -> Result<i64, DomainError> {
    let key = email.trim().to_lowercase();
    let found = account::Entity::find().filter(account::Column::EmailKey.eq(key)).one(db).await?;
    let matches = hasher.verify(password, found.as_ref().map(|a| a.password_hash.as_str())).await?;
    match found {
        Some(account) if matches && account.disabled_at.is_none() => Ok(account.id),
        _ => Err(DomainError::InvalidCredentials),
    }
}

/// The id of the organization with this BIN, for the command line.
pub async fn organization_by_bin(db: &DatabaseConnection, bin: &str) -> Result<i64, DomainError> {
    organization::Entity::find()
        .filter(organization::Column::Bin.eq(bin))
        .one(db)
        .await?
        .map(|org| org.id)
        .ok_or_else(|| DomainError::invalid("organization", format!("no organization has the BIN {bin}")))
}

/// Checks that an organization exists and answers to the public: a state body or a
/// quasi-public entity (a supplier is not scrutinised).
pub(crate) async fn answerable_organization(
    db: &impl ConnectionTrait,
    field: &str,
    organization_id: i64,
) -> Result<organization::Model, DomainError> {
    let org = organization::Entity::find_by_id(organization_id)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::invalid(field, format!("organization {organization_id} does not exist")))?;
    if !matches!(org.kind, OrganizationKind::StateBody | OrganizationKind::QuasiPublic) {
        return Err(DomainError::invalid(
            field,
            format!("organization {organization_id} is not a state body or quasi-public entity"),
        ));
    }
    Ok(org)
}

/// Refuses to leave the portal without an enabled admin.
async fn last_admin_check(db: &impl ConnectionTrait, account_id: i64) -> Result<(), DomainError> {
    let admins = account_role::Entity::find()
        .select_only()
        .column(account_role::Column::AccountId)
        .filter(account_role::Column::Role.eq(Role::Admin.as_str()))
        .into_query();
    let others = account::Entity::find()
        .filter(account::Column::Id.in_subquery(admins))
        .filter(account::Column::Id.ne(account_id))
        .filter(account::Column::DisabledAt.is_null())
        .count(db)
        .await?;
    if others == 0 {
        return Err(DomainError::Conflict("this is the last enabled admin; make another admin first".into()));
    }
    Ok(())
}

async fn touch(db: &impl ConnectionTrait, account_id: i64, now: DateTime<Utc>) -> Result<(), DomainError> {
    account::Entity::update_many()
        .col_expr(account::Column::UpdatedAt, Expr::value(now))
        .col_expr(account::Column::Version, Expr::col(account::Column::Version).add(1))
        .filter(account::Column::Id.eq(account_id))
        .exec(db)
        .await?;
    Ok(())
}

/// A council's public page shows its members' names: a change to them is a new version.
pub(crate) async fn bump_council(
    db: &impl ConnectionTrait,
    council_id: i64,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    council::Entity::update_many()
        .col_expr(council::Column::UpdatedAt, Expr::value(now))
        .col_expr(council::Column::Version, Expr::col(council::Column::Version).add(1))
        .filter(council::Column::Id.eq(council_id))
        .exec(db)
        .await?;
    Ok(())
}

/// An account that exists: an erased one does not.
async fn load_existing(db: &impl ConnectionTrait, account_id: i64) -> Result<AccountView, DomainError> {
    let model = account::Entity::find_by_id(account_id)
        .one(db)
        .await?
        .filter(|model| model.erased_at.is_none())
        .ok_or_else(|| DomainError::NotFound(format!("account {account_id}")))?;
    view(db, model).await
}

/// The account as stored, erased or not (for the erasure's own "after").
async fn load_any(db: &impl ConnectionTrait, account_id: i64) -> Result<AccountView, DomainError> {
    let model = account::Entity::find_by_id(account_id)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("account {account_id}")))?;
    view(db, model).await
}

async fn view(db: &impl ConnectionTrait, model: account::Model) -> Result<AccountView, DomainError> {
    let mut views = views(db, vec![model]).await?;
    views.pop().ok_or_else(|| DomainError::Inconsistent("an account's view went missing".into()))
}

/// The accounts with their roles and seats, in two queries whatever their number.
async fn views(db: &impl ConnectionTrait, models: Vec<account::Model>) -> Result<Vec<AccountView>, DomainError> {
    use std::collections::BTreeMap;
    let ids: Vec<i64> = models.iter().map(|m| m.id).collect();
    let mut roles: BTreeMap<i64, BTreeSet<Role>> = BTreeMap::new();
    for row in account_role::Entity::find().filter(account_role::Column::AccountId.is_in(ids.clone())).all(db).await? {
        if let Ok(role) = row.role.parse() {
            roles.entry(row.account_id).or_default().insert(role);
        }
    }
    let mut seats: BTreeMap<i64, Vec<Seat>> = BTreeMap::new();
    for seat in council_member::Entity::find()
        .filter(council_member::Column::AccountId.is_in(ids))
        .order_by_asc(council_member::Column::CouncilId)
        .all(db)
        .await?
    {
        seats.entry(seat.account_id).or_default().push(Seat { council_id: seat.council_id, position: seat.position });
    }
    Ok(models
        .into_iter()
        .map(|model| {
            let councils = seats.remove(&model.id).unwrap_or_default();
            let mut roles = roles.remove(&model.id).unwrap_or_default();
            if !councils.is_empty() {
                roles.insert(Role::CouncilMember);
            }
            AccountView {
                id: model.id,
                email: model.email,
                display_name: model.display_name,
                roles: roles.into_iter().collect(),
                councils,
                organization_id: model.organization_id,
                ngo_name: model.ngo_name,
                disabled: model.disabled_at.is_some(),
                created_at: model.created_at,
                updated_at: model.updated_at,
                version: model.version,
            }
        })
        .collect())
}

/// The account as the audit log keeps it: email and display name as salted hashes.
async fn snapshot(write: &Write, view: &AccountView) -> Result<Value, DomainError> {
    Ok(json!({
        "id": view.id,
        "email": write.personal(view.id, &view.email).await?,
        "display_name": write.personal(view.id, &view.display_name).await?,
        "roles": view.roles,
        "councils": view.councils,
        "organization_id": view.organization_id,
        "ngo_name": view.ngo_name,
        "disabled": view.disabled,
        "version": view.version,
    }))
}

/// An organization as an account refers to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationRef {
    pub id: i64,
    pub bin: Option<String>,
    pub name: crate::names::LocalizedName,
    pub kind: OrganizationKind,
}

/// A seat with its council's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatView {
    pub council_id: i64,
    pub position: String,
    pub council_name: crate::names::LocalizedName,
}

/// The caller's own account, with the names of its councils and organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeView {
    pub account: AccountView,
    pub organization: Option<OrganizationRef>,
    pub councils: Vec<SeatView>,
}

/// The actor's own account.
pub async fn me(db: &DatabaseConnection, actor: &Actor) -> Result<MeView, DomainError> {
    let account_id =
        actor.account_id().ok_or_else(|| DomainError::Forbidden("only accounts have an account".into()))?;
    let account = load_existing(db, account_id).await?;
    let organization = match account.organization_id {
        Some(id) => organization::Entity::find_by_id(id).one(db).await?.map(|org| OrganizationRef {
            id: org.id,
            bin: org.bin,
            name: crate::names::LocalizedName { ru: org.name_ru, kk: org.name_kk, en: org.name_en },
            kind: org.kind,
        }),
        None => None,
    };
    let names: std::collections::BTreeMap<i64, council::Model> = council::Entity::find()
        .filter(council::Column::Id.is_in(account.councils.iter().map(|s| s.council_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let councils = account
        .councils
        .iter()
        .map(|seat| SeatView {
            council_id: seat.council_id,
            position: seat.position.clone(),
            council_name: names
                .get(&seat.council_id)
                .map(|c| crate::names::LocalizedName {
                    ru: c.name_ru.clone(),
                    kk: c.name_kk.clone(),
                    en: c.name_en.clone(),
                })
                .unwrap_or_default(),
        })
        .collect();
    Ok(MeView { account, organization, councils })
}

/// The id of the account with this email (any case), for the command line.
pub async fn id_by_email(db: &DatabaseConnection, email: &str) -> Result<i64, DomainError> {
    account::Entity::find()
        .filter(account::Column::EmailKey.eq(email.trim().to_lowercase()))
        .one(db)
        .await?
        .map(|a| a.id)
        .ok_or_else(|| DomainError::NotFound(format!("an account with the email {email}")))
}

/// What an erased account's email and name become.
pub const ERASED_NAME: &str = "[erased]";

/// Erases a person: their email and display name, in the account and beside the audit log
/// (whose leaves hold only salted hashes, so every proof stays valid). The account is
/// disabled, its sessions end and its council seats are vacated. The owner or an admin.
pub async fn erase(db: &DatabaseConnection, actor: &Actor, account_id: i64) -> Result<AccountView, DomainError> {
    if actor.account_id() != Some(account_id) && !actor.is_admin() {
        return Err(DomainError::NotFound(format!("account {account_id}")));
    }
    let mut write = Write::begin(db).await?;
    let txn = write.txn();
    let before_view = load_existing(txn, account_id).await?;
    if before_view.roles.contains(&Role::Admin) && !before_view.disabled {
        last_admin_check(txn, account_id).await?;
    }
    let now = write.now();
    for seat in &before_view.councils {
        bump_council(txn, seat.council_id, now).await?;
    }
    council_member::Entity::delete_many().filter(council_member::Column::AccountId.eq(account_id)).exec(txn).await?;
    let placeholder = format!("erased-{account_id}@erased.invalid");
    account::Entity::update_many()
        .col_expr(account::Column::Email, Expr::value(placeholder.clone()))
        .col_expr(account::Column::EmailKey, Expr::value(placeholder))
        .col_expr(account::Column::DisplayName, Expr::value(ERASED_NAME))
        // Not a PHC string: no password matches it.
        .col_expr(account::Column::PasswordHash, Expr::value("!erased"))
        .col_expr(account::Column::DisabledAt, Expr::value(Some(now)))
        .col_expr(account::Column::ErasedAt, Expr::value(Some(now)))
        .col_expr(account::Column::UpdatedAt, Expr::value(now))
        .col_expr(account::Column::Version, Expr::col(account::Column::Version).add(1))
        .filter(account::Column::Id.eq(account_id))
        .exec(txn)
        .await?;
    super::sessions::revoke_all_in(txn, account_id, now).await?;
    let after_view = load_any(txn, account_id).await?;
    let before = snapshot(&write, &before_view).await?;
    let after = snapshot(&write, &after_view).await?;
    write.record(actor, "account.erase", "account", account_id, Some(before), Some(after)).await?;
    // Last, so that the snapshots just taken are erased too.
    write.erase_personal_data(account_id).await?;
    // Messages not yet sent to the person go too: nobody is left to receive them.
    crate::notifications::drop_for_account(write.txn(), account_id, write.now()).await?;
    write.commit().await?;
    Ok(after_view)
}
