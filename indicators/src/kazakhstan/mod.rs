//! Kazakhstan's own red flags, over the database.
