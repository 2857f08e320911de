//! Accounts: registration, the caller's own account, and what admins do with accounts and
//! their roles.

use std::sync::Arc;

use crate::dto::Timestamp;
use poem::Request;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use sea_orm::DatabaseConnection;

use domain::accounts::{self, AccountChanges, AccountView, Email, Grant, MeView, Password, Registration};

use super::ApiTags;
use crate::auth::{Auth, BearerAuth};
use crate::dto::{LocalizedName, OrganizationKind, Page, preferred_language};
use crate::error::ApiResult;
use crate::preconditions::{etag, expected_version, idempotency_key};

pub struct AccountsApi {
    pub db: DatabaseConnection,
    pub auth: Arc<Auth>,
    /// Whether the registration throttle keys clients by `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
}

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum Role {
    /// Files findings in their own name.
    Citizen,
    /// Speaks for a non-profit (`ngo_name`).
    Ngo,
    /// Sits on public councils (`councils`).
    CouncilMember,
    /// Answers for one organization (`organization_id`).
    BodyOfficer,
    /// Keeps public content within the rules.
    Moderator,
    /// Manages accounts, roles and councils.
    Admin,
}

impl From<accounts::Role> for Role {
    fn from(role: accounts::Role) -> Self {
        match role {
            accounts::Role::Citizen => Role::Citizen,
            accounts::Role::Ngo => Role::Ngo,
            accounts::Role::CouncilMember => Role::CouncilMember,
            accounts::Role::BodyOfficer => Role::BodyOfficer,
            accounts::Role::Moderator => Role::Moderator,
            accounts::Role::Admin => Role::Admin,
        }
    }
}

impl From<Role> for accounts::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::Citizen => accounts::Role::Citizen,
            Role::Ngo => accounts::Role::Ngo,
            Role::CouncilMember => accounts::Role::CouncilMember,
            Role::BodyOfficer => accounts::Role::BodyOfficer,
            Role::Moderator => accounts::Role::Moderator,
            Role::Admin => accounts::Role::Admin,
        }
    }
}

/// A seat on a public council.
#[derive(Debug, Clone, Object)]
pub struct Seat {
    /// The council: `/v1/councils/{council_id}`.
    pub council_id: i64,
    /// `chair`, `secretary` or `member`.
    pub position: String,
    /// The council's name; only in `/v1/me`.
    #[oai(skip_serializing_if_is_none)]
    pub council_name: Option<LocalizedName>,
}

/// An account, as its owner and admins see it. Emails are never shown to anyone else.
#[derive(Debug, Clone, Object)]
pub struct Account {
    /// Scrutiny's id for the account.
    pub id: i64,
    /// The email it logs in with.
    pub email: String,
    /// The name others see on councils and findings.
    pub display_name: String,
    /// Every role the account holds.
    pub roles: Vec<Role>,
    /// Its seats on public councils.
    pub councils: Vec<Seat>,
    /// The organization a body officer answers for.
    #[oai(skip_serializing_if_is_none)]
    pub organization_id: Option<i64>,
    /// The non-profit an NGO account speaks for.
    #[oai(skip_serializing_if_is_none)]
    pub ngo_name: Option<String>,
    /// A disabled account cannot log in, and its tokens stop working.
    pub disabled: bool,
    /// When it was registered (RFC 3339, UTC).
    pub created_at: Timestamp,
    /// When it last changed (RFC 3339, UTC).
    pub updated_at: Timestamp,
}

impl From<AccountView> for Account {
    fn from(view: AccountView) -> Self {
        Account {
            id: view.id,
            email: view.email,
            display_name: view.display_name,
            roles: view.roles.into_iter().map(Into::into).collect(),
            councils: view
                .councils
                .into_iter()
                .map(|seat| Seat { council_id: seat.council_id, position: seat.position, council_name: None })
                .collect(),
            organization_id: view.organization_id,
            ngo_name: view.ngo_name,
            disabled: view.disabled,
            created_at: view.created_at.into(),
            updated_at: view.updated_at.into(),
        }
    }
}

/// The organization a body officer answers for.
#[derive(Debug, Clone, Object)]
pub struct OrganizationSummary {
    /// The organization's id: `/v1/organizations/{id}`.
    pub id: i64,
    /// BIN, when it has one.
    #[oai(skip_serializing_if_is_none)]
    pub bin: Option<String>,
    pub name: LocalizedName,
    pub kind: OrganizationKind,
}

/// The caller's own account, with its councils' and organization's names.
#[derive(Debug, Clone, Object)]
pub struct Me {
    #[oai(flatten)]
    pub account: Account,
    /// The organization a body officer answers for.
    #[oai(skip_serializing_if_is_none)]
    pub organization: Option<OrganizationSummary>,
}

fn present_me(me: MeView, req: &Request) -> Me {
    let language = preferred_language(req);
    let mut account = Account::from(me.account);
    account.councils = me
        .councils
        .into_iter()
        .map(|seat| Seat {
            council_id: seat.council_id,
            position: seat.position,
            council_name: Some(LocalizedName::new(
                seat.council_name.ru,
                seat.council_name.kk,
                seat.council_name.en,
                language,
            )),
        })
        .collect();
    Me {
        account,
        organization: me.organization.map(|org| OrganizationSummary {
            id: org.id,
            bin: org.bin,
            name: LocalizedName::new(org.name.ru, org.name.kk, org.name.en, language),
            kind: org.kind.into(),
        }),
    }
}

/// What a citizen gives to register. (No `Debug`: it holds the password.)
#[derive(Clone, Object)]
pub struct NewAccount {
    /// An email address; unique, whatever its case.
    #[oai(validator(max_length = 254))]
    pub email: String,
    /// At least 10 characters, and not one of the most common passwords.
    #[oai(validator(max_length = 1024))]
    pub password: String,
    /// The name others will see, 1 to 200 characters.
    #[oai(validator(max_length = 200))]
    pub display_name: crate::dto::Text,
}

/// Changes to an account; absent fields stay as they are.
#[derive(Debug, Clone, Object)]
pub struct AccountPatch {
    /// A new display name (the owner or an admin).
    #[oai(validator(max_length = 200))]
    pub display_name: Option<crate::dto::Text>,
    /// Disable (`true`) or enable (`false`) the account; admins only.
    pub disabled: Option<bool>,
}

/// A role to grant, with what it needs.
#[derive(Debug, Clone, Object)]
pub struct RoleGrant {
    pub role: Role,
    /// For `council_member`: the council to seat the account on.
    pub council_id: Option<i64>,
    /// For `council_member`: `chair`, `secretary` or `member` (the default).
    #[oai(validator(max_length = 24))]
    pub position: Option<String>,
    /// For `body_officer`: the state body or quasi-public entity it answers for.
    pub organization_id: Option<i64>,
    /// For `ngo`: the non-profit's name.
    #[oai(validator(max_length = 200))]
    pub ngo_name: Option<crate::dto::Text>,
}

#[derive(ApiResponse)]
pub enum AccountCreated {
    /// The new account. Log in with `POST /v1/auth/token`.
    #[oai(status = 201)]
    Created(
        Json<Account>,
        /// The account's version, for `If-Match`.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum AccountResponse {
    /// The account.
    #[oai(status = 200)]
    Ok(
        Json<Account>,
        /// The account's version, for `If-Match` on updates.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum MeResponse {
    /// The caller's account.
    #[oai(status = 200)]
    Ok(
        Json<Me>,
        /// The account's version, for `If-Match` on updates.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum AccountPageResponse {
    /// A page of accounts, in id order.
    #[oai(status = 200)]
    Ok(Json<Page<Account>>),
}

fn account_response(view: AccountView) -> AccountResponse {
    let tag = etag("account", view.id, view.version);
    AccountResponse::Ok(Json(view.into()), tag)
}

#[OpenApi(tag = "ApiTags::Accounts")]
impl AccountsApi {
    /// Register
    ///
    /// Creates a citizen's account. With `Idempotency-Key`, a retry returns the account the
    /// first request created. Each address may register 20 accounts a minute (configurable);
    /// past that, 429 with `Retry-After`.
    #[oai(path = "/v1/accounts", method = "post", operation_id = "registerAccount")]
    async fn register(
        &self,
        req: &Request,
        body: Json<NewAccount>,
        /// Makes a retry safe: the same key with the same body returns the first answer; with
        /// another body, 422.
        #[oai(name = "Idempotency-Key")]
        key: Header<Option<String>>,
    ) -> ApiResult<AccountCreated> {
        // The password stays out of the stored request hash: a plain SHA-256 of it would be
        // a shortcut past argon2.
        let request = serde_json::json!({"email": body.email, "display_name": body.display_name.as_ref()});
        let key = idempotency_key(req, key.0.as_deref(), &request)?;
        let client = crate::middleware::client_key(
            req.remote_addr().as_socket_addr().copied(),
            req.headers(),
            self.trust_forwarded_for,
        );
        self.auth.registration(client)?;
        let registration = Registration {
            email: Email::new(&body.email)?,
            password: Password::new(&body.password)?,
            display_name: accounts::name("display_name", body.display_name.as_ref())?,
        };
        let view = accounts::register(
            &self.db,
            &self.auth.hasher,
            &domain::accounts::Actor::Anonymous,
            registration,
            key.as_ref(),
        )
        .await?;
        let tag = etag("account", view.id, view.version);
        Ok(AccountCreated::Created(Json(view.into()), tag))
    }

    /// The caller's account
    ///
    /// The account the token belongs to, with its roles, its councils and its organization.
    #[oai(path = "/v1/me", method = "get", operation_id = "getMe")]
    async fn me(&self, req: &Request, bearer: BearerAuth) -> ApiResult<MeResponse> {
        let actor = self.auth.actor(&bearer).await?;
        let me = accounts::me(&self.db, &actor).await?;
        let tag = etag("account", me.account.id, me.account.version);
        Ok(MeResponse::Ok(Json(present_me(me, req)), tag))
    }

    /// List accounts
    ///
    /// Every account, in id order; admins only.
    #[oai(path = "/v1/accounts", method = "get", operation_id = "listAccounts")]
    async fn list(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// Only accounts holding this role.
        #[oai(name = "role")]
        role: Query<Option<Role>>,
        /// Page size, 1 to 100; 20 when absent.
        #[oai(name = "limit", validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Where to start: the `cursor` from a previous page's `links.next`. Opaque.
        #[oai(name = "cursor", validator(min_length = 1, max_length = 512, pattern = r"^[A-Za-z0-9_-]+$"))]
        cursor: Query<Option<String>>,
    ) -> ApiResult<AccountPageResponse> {
        let actor = self.auth.actor(&bearer).await?;
        let limit = crate::lists::page_limit(limit.0)?;
        let page = accounts::list(&self.db, &actor, role.0.map(Into::into), cursor.0.as_deref(), limit).await?;
        Ok(AccountPageResponse::Ok(Json(Page::new(req, limit, page, Account::from))))
    }

    /// Get an account
    ///
    /// One account, for its owner and admins; anyone else gets 404.
    #[oai(path = "/v1/accounts/:id", method = "get", operation_id = "getAccount")]
    async fn get(
        &self,
        bearer: BearerAuth,
        /// The account's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<AccountResponse> {
        let actor = self.auth.actor(&bearer).await?;
        Ok(account_response(accounts::get(&self.db, &actor, id.0).await?))
    }

    /// Change an account
    ///
    /// The owner may change the display name; admins may also disable or enable the
    /// account. Needs `If-Match` with the account's ETag.
    #[oai(path = "/v1/accounts/:id", method = "patch", operation_id = "updateAccount")]
    async fn update(
        &self,
        bearer: BearerAuth,
        /// The account's id.
        #[oai(name = "id")]
        id: Path<i64>,
        /// The ETag of the version this change applies to.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<AccountPatch>,
    ) -> ApiResult<AccountResponse> {
        let actor = self.auth.actor(&bearer).await?;
        let version = expected_version("account", id.0, if_match.0.as_deref())?;
        let changes = AccountChanges { display_name: body.0.display_name.map(String::from), disabled: body.0.disabled };
        Ok(account_response(accounts::update(&self.db, &actor, id.0, version, changes).await?))
    }

    /// Erase an account
    ///
    /// Erases a person, at their own request or an admin's: the email and display name are
    /// removed from the account and from beside the audit log (whose entries hold only salted
    /// hashes of them, so every proof stays valid); the account is disabled, its sessions end
    /// and its council seats are vacated.
    #[oai(path = "/v1/accounts/:id", method = "delete", operation_id = "eraseAccount")]
    async fn erase(
        &self,
        bearer: BearerAuth,
        /// The account's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<AccountResponse> {
        let actor = self.auth.actor(&bearer).await?;
        Ok(account_response(accounts::erase(&self.db, &actor, id.0).await?))
    }

    /// Grant a role
    ///
    /// Admins grant a role: `council_member` with `council_id` (and `position`),
    /// `body_officer` with `organization_id`, `ngo` with `ngo_name`.
    #[oai(path = "/v1/accounts/:id/roles", method = "post", operation_id = "grantRole")]
    async fn grant(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// The account's id.
        #[oai(name = "id")]
        id: Path<i64>,
        /// Makes a retry safe: the same key with the same body returns the first answer.
        #[oai(name = "Idempotency-Key")]
        key: Header<Option<String>>,
        body: Json<RoleGrant>,
    ) -> ApiResult<AccountResponse> {
        let actor = self.auth.actor(&bearer).await?;
        let key = idempotency_key(req, key.0.as_deref(), &body.0)?;
        let grant = Grant {
            role: Some(body.0.role.into()),
            council_id: body.0.council_id,
            position: body.0.position,
            organization_id: body.0.organization_id,
            ngo_name: body.0.ngo_name.map(String::from),
        };
        Ok(account_response(accounts::grant(&self.db, &actor, id.0, grant, key.as_ref()).await?))
    }

    /// Revoke a role
    ///
    /// Admins revoke a role; for `council_member`, the seat on `council_id` (every seat
    /// when absent).
    #[oai(path = "/v1/accounts/:id/roles/:role", method = "delete", operation_id = "revokeRole")]
    async fn revoke(
        &self,
        bearer: BearerAuth,
        /// The account's id.
        #[oai(name = "id")]
        id: Path<i64>,
        /// The role to revoke.
        #[oai(name = "role")]
        role: Path<Role>,
        /// For `council_member`: the council whose seat to take away.
        #[oai(name = "council_id")]
        council_id: Query<Option<i64>>,
    ) -> ApiResult<AccountResponse> {
        let actor = self.auth.actor(&bearer).await?;
        Ok(account_response(accounts::revoke(&self.db, &actor, id.0, role.0.into(), council_id.0).await?))
    }
}
