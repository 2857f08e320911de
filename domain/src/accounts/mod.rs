//! People: accounts with their roles, public councils with their members, passwords, and the
//! sessions behind refresh tokens. Who may do what is decided here, beside the change.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub mod councils;
pub mod password;
pub mod service;
pub mod sessions;
pub mod tables;

pub use password::{Password, PasswordHasher};
pub use service::*;

/// What an account may do. One account can hold several roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Anyone registered: files findings in their own name.
    Citizen,
    /// Speaks for a non-profit, named in the account.
    Ngo,
    /// Sits on one or more public councils (held through memberships).
    CouncilMember,
    /// Answers for one organization: a state body or quasi-public entity.
    BodyOfficer,
    /// Keeps public content within the rules.
    Moderator,
    /// Manages accounts, roles and councils.
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] =
        [Role::Citizen, Role::Ngo, Role::CouncilMember, Role::BodyOfficer, Role::Moderator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Citizen => "citizen",
            Role::Ngo => "ngo",
            Role::CouncilMember => "council_member",
            Role::BodyOfficer => "body_officer",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Role::ALL.into_iter().find(|role| role.as_str() == text).ok_or_else(|| {
            let names: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
            format!("unknown role {text:?}; one of {}", names.join(", "))
        })
    }
}

/// An authenticated account, as a write sees it: its roles, councils and organization,
/// read from the database when its token was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account_id: i64,
    pub roles: BTreeSet<Role>,
    /// The councils the account sits on.
    pub councils: BTreeSet<i64>,
    /// The organization a body officer answers for.
    pub organization_id: Option<i64>,
}

impl Principal {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Who performs a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A caller without credentials (registering an account).
    Anonymous,
    Account(Principal),
    /// The operator, through a command (`cli`, `seed`).
    System(&'static str),
}

impl Actor {
    /// How the audit log names the actor.
    pub fn label(&self) -> String {
        match self {
            Actor::Anonymous => "anonymous".to_owned(),
            Actor::Account(principal) => format!("account:{}", principal.account_id),
            Actor::System(name) => format!("system:{name}"),
        }
    }

    pub fn account_id(&self) -> Option<i64> {
        match self {
            Actor::Account(principal) => Some(principal.account_id),
            _ => None,
        }
    }

    /// Whether the actor holds this role; the operator holds every role.
    pub fn has(&self, role: Role) -> bool {
        match self {
            Actor::Account(principal) => principal.has(role),
            Actor::System(_) => true,
            Actor::Anonymous => false,
        }
    }

    /// Admins and the operator.
    pub fn is_admin(&self) -> bool {
        self.has(Role::Admin)
    }
}
