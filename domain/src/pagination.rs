//! Keyset pagination: a page ends with an opaque cursor naming its last row, and the next page
//! starts strictly after it. Unlike offsets, a deep page costs what the first page costs, and
//! rows inserted meanwhile neither repeat nor vanish from a walk.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use serde::{Deserialize, Serialize};

use crate::DomainError;

/// The largest page a client may ask for.
pub const MAX_LIMIT: u64 = 100;
/// The page size when a client names none.
pub const DEFAULT_LIMIT: u64 = 20;

/// Where the previous page ended. `sort` names the ordering the cursor belongs to, so a cursor
/// cannot be replayed against another ordering; `value` is the sort key of the last row
/// (absent when sorting by id alone) and `id` breaks ties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "s")]
    pub sort: String,
    #[serde(rename = "v", default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(rename = "i")]
    pub id: i64,
}

impl Cursor {
    pub fn after_id(sort: &str, id: i64) -> Self {
        Cursor { sort: sort.to_owned(), value: None, id }
    }

    /// The opaque token handed to clients.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("cursor serializes"))
    }

    /// Reads a token back, checking it belongs to the ordering `sort`.
    pub fn decode(token: &str, sort: &str) -> Result<Self, DomainError> {
        let invalid = || DomainError::InvalidCursor("not a cursor this API issued".into());
        let bytes = URL_SAFE_NO_PAD.decode(token.as_bytes()).map_err(|_| invalid())?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if cursor.sort != sort {
            return Err(DomainError::InvalidCursor(format!(
                "this cursor belongs to sort order {:?}, not {sort:?}",
                cursor.sort
            )));
        }
        Ok(cursor)
    }
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many rows match, across all pages.
    pub total: u64,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// The same page with each item turned into something else.
    pub fn try_map<U, E>(self, present: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self.items.into_iter().map(present).collect::<Result<_, _>>()?,
            total: self.total,
            next: self.next,
        })
    }
}

/// One page of `query` in ascending order of its integer key column `key` (read back from a
/// row by `key_of`), after `cursor`, which must belong to the ordering named `sort`.
pub async fn by_key<E: EntityTrait>(
    db: &impl ConnectionTrait,
    query: Select<E>,
    key: E::Column,
    key_of: impl Fn(&E::Model) -> i64,
    sort: &str,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<E::Model>, DomainError>
where
    E::Model: Sync,
{
    let after = cursor.map(|token| Cursor::decode(token, sort)).transpose()?;
    let total = query.clone().count(db).await?;
    let query = match &after {
        Some(after) => query.filter(key.gt(after.id)),
        None => query,
    };
    let mut items = query.order_by_asc(key).limit(limit.get() + 1).all(db).await?;
    let more = items.len() as u64 > limit.get();
    items.truncate(limit.get() as usize);
    let next = if more { items.last().map(|last| Cursor::after_id(sort, key_of(last))) } else { None };
    Ok(Page { items, total, next })
}

/// A page size within bounds: 1 to [`MAX_LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(u64);

impl Limit {
    pub fn new(requested: Option<u64>) -> Result<Self, String> {
        match requested.unwrap_or(DEFAULT_LIMIT) {
            0 => Err("limit must be at least 1".into()),
            n if n > MAX_LIMIT => Err(format!("limit must be at most {MAX_LIMIT}, got {n}")),
            n => Ok(Limit(n)),
        }
    }
    pub fn get(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks_the_sort() {
        let cursor = Cursor { sort: "amount_desc".into(), value: Some("1000".into()), id: 42 };
        let token = cursor.encode();
        assert_eq!(Cursor::decode(&token, "amount_desc").unwrap(), cursor);
        assert!(matches!(Cursor::decode(&token, "id"), Err(DomainError::InvalidCursor(_))));
        assert!(matches!(Cursor::decode("garbage!", "id"), Err(DomainError::InvalidCursor(_))));
        assert!(matches!(Cursor::decode("eyJ4IjoxfQ", "id"), Err(DomainError::InvalidCursor(_))));
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(Limit::new(None).unwrap().get(), DEFAULT_LIMIT);
        assert_eq!(Limit::new(Some(100)).unwrap().get(), 100);
        assert!(Limit::new(Some(101)).is_err());
        assert!(Limit::new(Some(0)).is_err());
    }
}
