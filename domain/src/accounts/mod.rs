//! Accounts, roles, councils and their memberships.
