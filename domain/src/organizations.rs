//! Reading organizations.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::DomainError;
use crate::entities::organization::{self, Column, Entity};
use crate::pagination::{Cursor, Limit, Page};

/// The ordering organization lists use: by id, ascending.
pub const SORT_BY_ID: &str = "id";

/// One page of organizations, in id order, starting after `after`.
pub async fn list(
    db: &DatabaseConnection,
    after: Option<&Cursor>,
    limit: Limit,
) -> Result<Page<organization::Model>, DomainError> {
    let total = Entity::find().count(db).await?;
    let mut query = Entity::find().order_by_asc(Column::Id);
    if let Some(cursor) = after {
        query = query.filter(Column::Id.gt(cursor.id));
    }
    // One row more than asked tells whether another page follows.
    let mut items = query.limit(limit.get() + 1).all(db).await?;
    let next = if items.len() as u64 > limit.get() {
        items.truncate(limit.get() as usize);
        items.last().map(|last| Cursor::after_id(SORT_BY_ID, last.id))
    } else {
        None
    };
    Ok(Page { items, total, next })
}

/// One organization by id.
pub async fn get(db: &DatabaseConnection, id: i64) -> Result<Option<organization::Model>, DomainError> {
    Ok(Entity::find_by_id(id).one(db).await?)
}
