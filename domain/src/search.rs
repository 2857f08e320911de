//! Full-text search over organizations, tenders, contracts and decisions, in Russian, Kazakh
//! and English, on SQLite (FTS5) and PostgreSQL (`tsvector`) behind one interface.
//!
//! What a search means, on both engines:
//!
//! - The text is split on whitespace into words; every word must occur in the record (in any
//!   of its indexed fields, in any language). Words are matched whole, except the last one,
//!   which also matches as a prefix when it is at least two letters or digits long, so that
//!   results follow a reader as they type.
//! - Matching ignores case, Kazakh letters (ә ғ қ ң ө ұ ү һ і) included. Kazakh letters stay
//!   distinct from the Russian letters they resemble: `қаржы` does not match `каржы`.
//! - Operators in the text (`"`, `*`, `-`, `:`, `NEAR`, `OR`, `&`, `!`…) mean nothing: every
//!   word is bound as a parameter and quoted for the engine, never spliced into SQL.
//!
//! Where the engines differ:
//!
//! - PostgreSQL stems Russian (`russian` configuration): `министерства` finds `Министерство`.
//!   SQLite does not stem: an inflected form finds only itself, or its stem typed as the last
//!   word (`министерств` finds both through the prefix match).
//! - SQLite also folds diacritics, so `е` matches `ё` (and `и` matches `й`); PostgreSQL does
//!   not.
//! - The engines tokenize identifiers differently. SQLite splits on every non-alphanumeric
//!   character, so a contract number `990240424458/200000/00` is also found by the buyer's BIN
//!   `990240424458`; PostgreSQL keeps such a number as one token, found only whole.
//! - Ranks are the engine's own: SQLite's `bm25` (negated, so higher is better), PostgreSQL's
//!   `ts_rank_cd` with length normalization. Names, titles and identifiers weigh 1.0, descriptions
//!   and summaries 0.4 on both. Each kind has its own index, so ranks across kinds are
//!   comparable only roughly.
//! - On both, a record whose identifier (an organization's BIN, another record's number) equals
//!   the whole search text gets [`EXACT_IDENTIFIER_BONUS`] added to its rank, so it comes first:
//!   a BIN also matches, as a word or a prefix, the numbers of every contract of that buyer
//!   (`<BIN>/200053/00`), and their short texts would otherwise outrank the organization.
//!
//! The indexes are created by migration `m0002_search` and kept in sync by the database itself
//! (triggers on SQLite, generated columns on PostgreSQL): rows written by any code path are
//! searchable as soon as their transaction commits. On SQLite, `INSERT OR REPLACE` would bypass
//! the delete trigger (SQLite fires it only with `recursive_triggers` on); use upserts instead.

use std::collections::HashMap;
use std::fmt::Write as _;

use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement, Value};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::DomainError;
use crate::names::LocalizedName;
use crate::pagination::{Cursor, Limit, Page};

/// The ordering search results use, stamped into their cursors.
pub const SORT_BY_RELEVANCE: &str = "relevance";
/// The longest search text accepted, in characters; a longer one is an error, not truncated.
pub const MAX_TEXT_CHARS: usize = 500;
/// The most words a search text may have.
pub const MAX_WORDS: usize = 20;

/// Added to the rank of a record whose BIN or number equals the whole search text. Larger than
/// any text rank, so such records come first.
pub const EXACT_IDENTIFIER_BONUS: f64 = 1000.0;

/// Marks around a matched word in [`SearchHit::snippet`]. Brackets that names and
/// descriptions do not use, unlike `«»` or `""`, and that are not HTML.
pub const HIGHLIGHT_START: &str = "⟦";
pub const HIGHLIGHT_END: &str = "⟧";
/// Stands for text left out of a snippet.
pub const ELLIPSIS: &str = "…";

/// The kinds of record search covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchKind {
    Organization,
    Tender,
    Contract,
    Decision,
}

impl SearchKind {
    pub const ALL: [SearchKind; 4] =
        [SearchKind::Organization, SearchKind::Tender, SearchKind::Contract, SearchKind::Decision];

    /// The name clients use, also the tie-breaking sort key between kinds.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchKind::Organization => "organization",
            SearchKind::Tender => "tender",
            SearchKind::Contract => "contract",
            SearchKind::Decision => "decision",
        }
    }

    fn from_stored(name: &str) -> Option<SearchKind> {
        SearchKind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    fn layout(self) -> &'static Layout {
        match self {
            SearchKind::Organization => &ORGANIZATIONS,
            SearchKind::Tender => &TENDERS,
            SearchKind::Contract => &CONTRACTS,
            SearchKind::Decision => &DECISIONS,
        }
    }
}

/// Where a kind's records and their index live. The FTS5 column order and the weights follow
/// migration `m0002_search`.
struct Layout {
    table: &'static str,
    /// The FTS5 table (SQLite); on PostgreSQL the base table's `search_vector` column.
    fts_table: &'static str,
    /// `bm25` weights, one per FTS5 column in order: names 1.0, descriptions 0.4, like
    /// PostgreSQL's default weights for A and B.
    bm25_weights: &'static str,
    /// Every indexed column, in FTS5 order, for PostgreSQL's headline.
    indexed: &'static [&'static str],
    /// The columns shown as the hit's name, in ru, kk, en order.
    name: [&'static str; 3],
    /// The BIN (organizations) or the record's number (the others).
    identifier: &'static str,
}

const ORGANIZATIONS: Layout = Layout {
    table: "organizations",
    fts_table: "search_organizations",
    bm25_weights: "1.0, 1.0, 1.0, 1.0",
    indexed: &["name_ru", "name_kk", "name_en", "bin"],
    name: ["name_ru", "name_kk", "name_en"],
    identifier: "bin",
};

const TENDERS: Layout = Layout {
    table: "tenders",
    fts_table: "search_tenders",
    bm25_weights: "1.0, 1.0, 1.0, 1.0",
    indexed: &["number", "name_ru", "name_kk", "name_en"],
    name: ["name_ru", "name_kk", "name_en"],
    identifier: "number",
};

const CONTRACTS: Layout = Layout {
    table: "contracts",
    fts_table: "search_contracts",
    bm25_weights: "1.0, 0.4, 0.4, 0.4",
    indexed: &["number", "description_ru", "description_kk", "description_en"],
    name: ["description_ru", "description_kk", "description_en"],
    identifier: "number",
};

const DECISIONS: Layout = Layout {
    table: "decisions",
    fts_table: "search_decisions",
    bm25_weights: "1.0, 1.0, 1.0, 1.0, 0.4, 0.4, 0.4",
    indexed: &["number", "title_ru", "title_kk", "title_en", "summary_ru", "summary_kk", "summary_en"],
    name: ["title_ru", "title_kk", "title_en"],
    identifier: "number",
};

/// Search text, checked and split into words: what [`search`] and [`text_filter`] take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText {
    words: Vec<String>,
    /// Whether the last word also matches as a prefix.
    prefix_last: bool,
    /// The whole text, its whitespace runs collapsed to one space: compared with identifiers.
    whole: String,
}

impl SearchText {
    /// Checks free text from a reader. Errors (all [`DomainError::InvalidSearchText`], which the
    /// API reports as parameter `q`): empty or blank; longer than [`MAX_TEXT_CHARS`]; no letter
    /// or digit to search for; more than [`MAX_WORDS`] words.
    pub fn parse(text: &str) -> Result<SearchText, DomainError> {
        let invalid = |reason: String| Err(DomainError::InvalidSearchText(reason));
        if text.trim().is_empty() {
            return invalid("must not be empty".into());
        }
        let length = text.chars().count();
        if length > MAX_TEXT_CHARS {
            return invalid(format!("must be at most {MAX_TEXT_CHARS} characters, got {length}"));
        }
        // Control characters (NUL above all, which PostgreSQL rejects in text) separate words.
        let pieces: Vec<&str> =
            text.split(|c: char| c.is_whitespace() || c.is_control()).filter(|piece| !piece.is_empty()).collect();
        let whole = pieces.join(" ");
        let words: Vec<String> =
            pieces.into_iter().filter(|word| word.chars().any(char::is_alphanumeric)).map(str::to_owned).collect();
        if words.is_empty() {
            return invalid("must contain a letter or a digit".into());
        }
        if words.len() > MAX_WORDS {
            return invalid(format!("must have at most {MAX_WORDS} words, got {}", words.len()));
        }
        let last = words.last().expect("words is not empty");
        // A one-letter prefix matches a good part of the dictionary: not worth the cost.
        let prefix_last = last.chars().all(char::is_alphanumeric) && last.chars().count() >= 2;
        Ok(SearchText { words, prefix_last, whole })
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// An FTS5 query: every word a quoted string (a `"` inside doubled), implicitly ANDed. Inside
    /// quotes FTS5 reads no operator, and a word its tokenizer splits (`10000037-1`) becomes
    /// a phrase of its parts.
    fn fts5_query(&self) -> String {
        let mut query = String::new();
        for word in &self.words {
            if !query.is_empty() {
                query.push(' ');
            }
            let _ = write!(query, "\"{}\"", word.replace('"', "\"\""));
        }
        if self.prefix_last {
            query.push_str(" *");
        }
        query
    }

    /// A `tsquery` expression: each word through `russian` (stemmed) OR `simple` (as typed),
    /// the words ANDed. `plainto_tsquery` reads no operator and parses a word the way the
    /// documents were parsed; the prefix word, all letters and digits, is quoted by
    /// `quote_literal` before `to_tsquery` sees it.
    fn push_tsquery(&self, sql: &mut Sql) {
        sql.push("(");
        let last = self.words.len() - 1;
        for (index, word) in self.words.iter().enumerate() {
            if index > 0 {
                sql.push(" && ");
            }
            sql.push("(");
            for (position, configuration) in ["russian", "simple"].into_iter().enumerate() {
                if position > 0 {
                    sql.push(" || ");
                }
                if self.prefix_last && index == last {
                    sql.push(&format!("to_tsquery('{configuration}'::regconfig, quote_literal("));
                    sql.bind(word.as_str());
                    sql.push(") || ':*')");
                } else {
                    sql.push(&format!("plainto_tsquery('{configuration}'::regconfig, "));
                    sql.bind(word.as_str());
                    sql.push(")");
                }
            }
            sql.push(")");
        }
        sql.push(")");
    }

    /// Identifies the search a cursor belongs to, so a cursor cannot be replayed against
    /// another text or another set of kinds.
    fn fingerprint(&self, kinds: &[SearchKind]) -> String {
        let mut hasher = Sha256::new();
        for word in &self.words {
            hasher.update(word.as_bytes());
            hasher.update([0]);
        }
        hasher.update([u8::from(self.prefix_last)]);
        hasher.update(self.whole.as_bytes());
        hasher.update([0]);
        for kind in kinds {
            hasher.update(kind.as_str().as_bytes());
            hasher.update([0]);
        }
        hasher.finalize().iter().take(8).map(|byte| format!("{byte:02x}")).collect()
    }
}

/// A search: text, the kinds to search (all when empty), page size, and where the previous
/// page ended.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub text: SearchText,
    pub kinds: Vec<SearchKind>,
    pub limit: Limit,
    /// A cursor from a previous page of the same search (`Cursor::decode(token,
    /// SORT_BY_RELEVANCE)`); one from another search is rejected.
    pub after: Option<Cursor>,
}

/// One record that matched.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub kind: SearchKind,
    pub id: i64,
    /// An organization's or tender's name, a contract's description, a decision's title.
    pub name: LocalizedName,
    /// The BIN of an organization; the number of a tender, contract or decision.
    pub identifier: Option<String>,
    /// A short excerpt of the indexed text around the matched words, each between
    /// [`HIGHLIGHT_START`] and [`HIGHLIGHT_END`].
    pub snippet: Option<String>,
    /// Relevance, higher first; see the module documentation for what it is on each engine.
    pub rank: f64,
}

/// Searches the given kinds (all when `query.kinds` is empty) and returns one page of hits,
/// most relevant first; equal ranks are ordered by kind name, then id. Follow `next` for the
/// following page: while the data does not change, a walk returns every hit exactly once.
pub async fn search(db: &DatabaseConnection, query: &SearchQuery) -> Result<Page<SearchHit>, DomainError> {
    let backend = supported(db.get_database_backend())?;
    let kinds = normalized_kinds(&query.kinds);
    let fingerprint = query.text.fingerprint(&kinds);
    let after = query.after.as_ref().map(|cursor| Position::from_cursor(cursor, &fingerprint)).transpose()?;

    let total = count(db, backend, &query.text, &kinds).await?;

    let mut sql = Sql::new(backend);
    sql.push("SELECT kind, id, rank FROM (");
    push_union(&mut sql, &query.text, &kinds, true);
    sql.push(") AS hits");
    if let Some(after) = &after {
        // Strictly after (rank desc, kind asc, id asc) of the last hit shown.
        sql.push(" WHERE rank < ");
        sql.bind(after.rank);
        sql.push(" OR (rank = ");
        sql.bind(after.rank);
        sql.push(" AND (kind > ");
        sql.bind(after.kind.as_str());
        sql.push(" OR (kind = ");
        sql.bind(after.kind.as_str());
        sql.push(" AND id > ");
        sql.bind(after.id);
        sql.push(")))");
    }
    sql.push(" ORDER BY rank DESC, kind ASC, id ASC LIMIT ");
    // One row more than asked tells whether another page follows.
    sql.bind((query.limit.get() + 1) as i64);
    let rows = db.query_all_raw(sql.into_statement()).await?;

    let mut ranked = Vec::with_capacity(rows.len());
    for row in rows {
        let kind: String = row.try_get_by_index(0)?;
        let kind = SearchKind::from_stored(&kind)
            .ok_or_else(|| DomainError::Inconsistent(format!("search returned an unknown kind {kind:?}")))?;
        ranked.push(Position { kind, id: row.try_get_by_index(1)?, rank: row.try_get_by_index(2)? });
    }
    let next = if ranked.len() as u64 > query.limit.get() {
        ranked.truncate(query.limit.get() as usize);
        ranked.last().map(|last| last.to_cursor(&fingerprint))
    } else {
        None
    };

    let mut details = HashMap::new();
    for kind in kinds {
        let ids: Vec<i64> = ranked.iter().filter(|hit| hit.kind == kind).map(|hit| hit.id).collect();
        if !ids.is_empty() {
            for (id, detail) in fetch_details(db, backend, &query.text, kind, &ids).await? {
                details.insert((kind, id), detail);
            }
        }
    }
    let items = ranked
        .into_iter()
        .map(|position| {
            // A row deleted between the two queries keeps its place, without its details.
            let detail = details.remove(&(position.kind, position.id)).unwrap_or_default();
            SearchHit {
                kind: position.kind,
                id: position.id,
                name: detail.name,
                identifier: detail.identifier,
                snippet: detail.snippet,
                rank: position.rank,
            }
        })
        .collect();
    Ok(Page { items, total, next })
}

/// A condition for list queries: the rows of `kind`'s table whose indexed text matches `text`,
/// with the same meaning as [`search`] (every word, last one also as a prefix, Russian stemmed on
/// PostgreSQL). It renders as `"<table>"."id" IN (SELECT <ids matching text>)` with the words
/// bound as values, so it combines with any other filter on a query over that table:
///
/// ```ignore
/// let text = SearchText::parse(q)?; // DomainError::InvalidSearchText -> 400 naming `q`
/// let select = contract::Entity::find()
///     .filter(contract::Column::FiscalYear.eq(2024))
///     .filter(search::text_filter(db.get_database_backend(), SearchKind::Contract, &text));
/// ```
///
/// The column is qualified with the table's name (`organizations`, `tenders`, `contracts`,
/// `decisions`), so the query must select from that table unaliased; joins are fine. It filters
/// and does not order: a list keeps its own sort.
///
/// # Panics
///
/// On a backend other than SQLite or PostgreSQL, which the migrations already refuse.
pub fn text_filter(backend: DatabaseBackend, kind: SearchKind, text: &SearchText) -> SimpleExpr {
    let layout = kind.layout();
    let table = layout.table;
    // A fresh builder numbers placeholders from 1, as `Expr::cust_with_values` expects.
    let mut sql = Sql::new(backend);
    match backend {
        DatabaseBackend::Sqlite => {
            let fts = layout.fts_table;
            sql.push(&format!("\"{table}\".\"id\" IN (SELECT rowid FROM \"{fts}\" WHERE \"{fts}\" MATCH "));
            sql.bind(text.fts5_query());
            sql.push(")");
        }
        DatabaseBackend::Postgres => {
            sql.push(&format!(
                "\"{table}\".\"id\" IN (SELECT matched.id FROM \"{table}\" AS matched WHERE matched.search_vector @@ "
            ));
            text.push_tsquery(&mut sql);
            sql.push(")");
        }
        other => panic!("full-text search supports SQLite and PostgreSQL, not {other:?}"),
    }
    Expr::cust_with_values(sql.text, sql.values)
}

/// Makes a SQLite connection load the FTS5 indexes, outside any transaction.
///
/// FTS5 reads its configuration when a connection first uses an index (and again after any
/// schema change). When that first use is a search trigger fired inside a deferred write
/// transaction, the read pins the transaction to a snapshot; if another writer commits before
/// the write lock is taken, SQLite cannot upgrade the stale snapshot and fails the write at
/// once with "database is locked", without waiting out the busy timeout. `db::connect` calls
/// this on every new connection and before handing out an idle one: a cached statement that
/// reads nothing, cheap once the indexes are loaded. Before migration `m0002_search` the tables do not exist and
/// there is nothing to load.
pub(crate) async fn connect_sqlite_indexes(connection: &mut sea_orm::sqlx::SqliteConnection) {
    const TOUCH_EVERY_INDEX: &str =
        "SELECT 1 FROM search_organizations, search_tenders, search_contracts, search_decisions WHERE 0";
    if let Err(error) = sea_orm::sqlx::query(TOUCH_EVERY_INDEX).execute(&mut *connection).await {
        tracing::debug!(%error, "full-text indexes not loaded (not migrated yet?)");
    }
}

fn supported(backend: DatabaseBackend) -> Result<DatabaseBackend, DomainError> {
    match backend {
        DatabaseBackend::Sqlite | DatabaseBackend::Postgres => Ok(backend),
        other => Err(DomainError::Database(sea_orm::DbErr::Custom(format!(
            "full-text search supports SQLite and PostgreSQL, not {other:?}"
        )))),
    }
}

/// The kinds to search, each once, in a fixed order (it feeds the cursor's fingerprint).
fn normalized_kinds(kinds: &[SearchKind]) -> Vec<SearchKind> {
    let mut kinds = if kinds.is_empty() { SearchKind::ALL.to_vec() } else { kinds.to_vec() };
    kinds.sort();
    kinds.dedup();
    kinds
}

/// A hit's place in the ordering.
struct Position {
    kind: SearchKind,
    id: i64,
    rank: f64,
}

impl Position {
    /// The cursor's value is `rank~kind~fingerprint`; Rust prints an `f64` in the shortest
    /// form that parses back to the same number, so the next page resumes exactly.
    fn to_cursor(&self, fingerprint: &str) -> Cursor {
        Cursor {
            sort: SORT_BY_RELEVANCE.to_owned(),
            value: Some(format!("{}~{}~{fingerprint}", self.rank, self.kind.as_str())),
            id: self.id,
        }
    }

    fn from_cursor(cursor: &Cursor, fingerprint: &str) -> Result<Position, DomainError> {
        let invalid = || DomainError::InvalidCursor("not a cursor this API issued".into());
        if cursor.sort != SORT_BY_RELEVANCE {
            return Err(invalid());
        }
        let value = cursor.value.as_deref().ok_or_else(invalid)?;
        let mut parts = value.splitn(3, '~');
        let (Some(rank), Some(kind), Some(issued_for)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid());
        };
        let rank: f64 = rank.parse().ok().filter(|rank: &f64| rank.is_finite()).ok_or_else(invalid)?;
        let kind = SearchKind::from_stored(kind).ok_or_else(invalid)?;
        if issued_for != fingerprint {
            return Err(DomainError::InvalidCursor(
                "this cursor belongs to another search: repeat the same q and kind".into(),
            ));
        }
        Ok(Position { kind, id: cursor.id, rank })
    }
}

/// How many records match, across the kinds searched.
async fn count(
    db: &DatabaseConnection,
    backend: DatabaseBackend,
    text: &SearchText,
    kinds: &[SearchKind],
) -> Result<u64, DomainError> {
    let mut sql = Sql::new(backend);
    sql.push("SELECT COUNT(*) FROM (");
    push_union(&mut sql, text, kinds, false);
    sql.push(") AS hits");
    let row = db.query_one_raw(sql.into_statement()).await?;
    let count: i64 = match row {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    Ok(count as u64)
}

/// `SELECT kind, id[, rank]` of the matching rows of each kind, `UNION ALL`ed.
fn push_union(sql: &mut Sql, text: &SearchText, kinds: &[SearchKind], with_rank: bool) {
    for (index, kind) in kinds.iter().enumerate() {
        if index > 0 {
            sql.push(" UNION ALL ");
        }
        let layout = kind.layout();
        let name = kind.as_str();
        match sql.backend {
            DatabaseBackend::Postgres => {
                let table = layout.table;
                sql.push(&format!("SELECT '{name}' AS kind, \"{table}\".id AS id"));
                if with_rank {
                    // Normalization 1 divides by 1 + log(length): a short name that matches
                    // outranks a long text that mentions the word once.
                    sql.push(&format!(", ts_rank_cd(\"{table}\".search_vector, "));
                    text.push_tsquery(sql);
                    sql.push(", 1)::float8");
                    push_exact_bonus(sql, &format!("\"{table}\".\"{}\"", layout.identifier), text);
                    sql.push(" AS rank");
                }
                sql.push(&format!(" FROM \"{table}\" WHERE \"{table}\".search_vector @@ "));
                text.push_tsquery(sql);
            }
            _ => {
                let fts = layout.fts_table;
                sql.push(&format!("SELECT '{name}' AS kind, \"{fts}\".rowid AS id"));
                if with_rank {
                    // bm25 is lower for better matches; negated, every engine ranks higher first.
                    sql.push(&format!(", -bm25(\"{fts}\", {})", layout.bm25_weights));
                    push_exact_bonus(sql, &format!("\"{fts}\".\"{}\"", layout.identifier), text);
                    sql.push(" AS rank");
                }
                sql.push(&format!(" FROM \"{fts}\" WHERE \"{fts}\" MATCH "));
                sql.bind(text.fts5_query());
            }
        }
    }
}

/// `+ <bonus when the identifier column equals the whole text>`.
fn push_exact_bonus(sql: &mut Sql, identifier: &str, text: &SearchText) {
    sql.push(&format!(" + CASE WHEN {identifier} = "));
    sql.bind(text.whole.as_str());
    sql.push(&format!(" THEN {EXACT_IDENTIFIER_BONUS:.1} ELSE 0.0 END"));
}

/// What a hit shows besides its place.
#[derive(Default)]
struct Detail {
    name: LocalizedName,
    identifier: Option<String>,
    snippet: Option<String>,
}

/// Names, identifier and snippet of the hits of one kind on the page. Snippets cost more than
/// matching, so they are made for the page only.
async fn fetch_details(
    db: &DatabaseConnection,
    backend: DatabaseBackend,
    text: &SearchText,
    kind: SearchKind,
    ids: &[i64],
) -> Result<Vec<(i64, Detail)>, DomainError> {
    let layout = kind.layout();
    let table = layout.table;
    let [ru, kk, en] = layout.name;
    let identifier = layout.identifier;
    let mut sql = Sql::new(backend);
    match backend {
        DatabaseBackend::Postgres => {
            // The headline reads every indexed field; the `russian` configuration normalizes
            // its words, and the query (stems OR words as typed) then marks Russian inflections
            // and Kazakh words alike.
            let document = layout.indexed.iter().map(|column| format!("\"{column}\"")).collect::<Vec<_>>().join(", ");
            sql.push(&format!(
                "SELECT id, \"{ru}\", \"{kk}\", \"{en}\", \"{identifier}\", \
                 ts_headline('russian'::regconfig, concat_ws(' · ', {document}), "
            ));
            text.push_tsquery(&mut sql);
            sql.push(&format!(
                ", 'StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_END}, MaxWords=16, MinWords=4, \
                 MaxFragments=2, FragmentDelimiter=\" {ELLIPSIS} \"') FROM \"{table}\" WHERE id IN ("
            ));
        }
        _ => {
            let fts = layout.fts_table;
            sql.push(&format!(
                "SELECT record.id, record.\"{ru}\", record.\"{kk}\", record.\"{en}\", record.\"{identifier}\", \
                 snippet(\"{fts}\", -1, '{HIGHLIGHT_START}', '{HIGHLIGHT_END}', '{ELLIPSIS}', 16) \
                 FROM \"{fts}\" JOIN \"{table}\" AS record ON record.id = \"{fts}\".rowid WHERE \"{fts}\" MATCH "
            ));
            sql.bind(text.fts5_query());
            sql.push(&format!(" AND \"{fts}\".rowid IN ("));
        }
    }
    for (index, id) in ids.iter().enumerate() {
        if index > 0 {
            sql.push(", ");
        }
        sql.bind(*id);
    }
    sql.push(")");
    let rows = db.query_all_raw(sql.into_statement()).await?;
    rows.into_iter()
        .map(|row| {
            let id: i64 = row.try_get_by_index(0)?;
            let name = LocalizedName::from_parts(
                row.try_get_by_index::<Option<String>>(1)?.as_deref(),
                row.try_get_by_index::<Option<String>>(2)?.as_deref(),
                row.try_get_by_index::<Option<String>>(3)?.as_deref(),
            );
            let identifier: Option<String> = row.try_get_by_index(4)?;
            let snippet: Option<String> = row.try_get_by_index(5)?;
            Ok((id, Detail { name, identifier, snippet: snippet.filter(|snippet| !snippet.trim().is_empty()) }))
        })
        .collect()
}

/// SQL text and its bound values, with the backend's placeholders (`?` or `$n`).
struct Sql {
    backend: DatabaseBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    fn new(backend: DatabaseBackend) -> Sql {
        Sql { backend, text: String::new(), values: Vec::new() }
    }

    fn push(&mut self, sql: &str) {
        self.text.push_str(sql);
    }

    fn bind(&mut self, value: impl Into<Value>) {
        self.values.push(value.into());
        match self.backend {
            DatabaseBackend::Postgres => {
                let _ = write!(self.text, "${}", self.values.len());
            }
            _ => self.text.push('?'),
        }
    }

    fn into_statement(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{ActiveModelTrait, EntityTrait, QueryFilter, QuerySelect, Set};

    use super::*;
    use crate::entities::{OrganizationKind, organization};

    #[test]
    fn blank_text_and_text_without_words_are_refused() {
        for text in ["", "   ", "\t\n", "\"", "* : -", "'", "№"] {
            assert!(matches!(SearchText::parse(text), Err(DomainError::InvalidSearchText(_))), "{text:?}");
        }
        let too_long = "а".repeat(MAX_TEXT_CHARS + 1);
        assert!(matches!(SearchText::parse(&too_long), Err(DomainError::InvalidSearchText(_))));
        let too_many = "слово ".repeat(MAX_WORDS + 1);
        assert!(matches!(SearchText::parse(&too_many), Err(DomainError::InvalidSearchText(_))));
    }

    #[test]
    fn fts5_queries_quote_every_word_and_prefix_only_a_plain_last_word() {
        let query = |text: &str| SearchText::parse(text).unwrap().fts5_query();
        assert_eq!(query("Қаржы министрлігі"), "\"Қаржы\" \"министрлігі\" *");
        assert_eq!(query("a\"b NEAR(x"), "\"a\"\"b\" \"NEAR(x\"");
        assert_eq!(query("10000037-1"), "\"10000037-1\"");
        assert_eq!(query("ы"), "\"ы\"", "a one-letter last word is not a prefix");
        assert_eq!(query("ab\0cd"), "\"ab\" \"cd\" *", "NUL separates words");
    }

    #[test]
    fn cursors_resume_only_the_search_they_came_from() {
        let text = SearchText::parse("закуп").unwrap();
        let kinds = normalized_kinds(&[]);
        let fingerprint = text.fingerprint(&kinds);
        let position = Position { kind: SearchKind::Tender, id: 7, rank: 0.1 + 0.2 };
        let back = Position::from_cursor(&position.to_cursor(&fingerprint), &fingerprint).unwrap();
        assert_eq!((back.kind, back.id, back.rank), (SearchKind::Tender, 7, 0.1 + 0.2));
        let other = SearchText::parse("закупки").unwrap().fingerprint(&kinds);
        assert!(matches!(
            Position::from_cursor(&position.to_cursor(&fingerprint), &other),
            Err(DomainError::InvalidCursor(_))
        ));
        let fewer_kinds = text.fingerprint(&normalized_kinds(&[SearchKind::Tender]));
        assert_ne!(fewer_kinds, fingerprint);
    }

    async fn sqlite_with_organization(name_kk: &str) -> (DatabaseConnection, i64) {
        let db = crate::db::connect("sqlite::memory:", &Default::default()).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        let organization = organization::ActiveModel {
            bin: Set(Some("990240424458".into())),
            name_ru: Set(Some("Министерство финансов Республики Казахстан".into())),
            name_kk: Set(Some(name_kk.into())),
            kind: Set(OrganizationKind::StateBody),
            source: Set("test".into()),
            upstream_id: Set("mf".into()),
            fetched_at: Set(chrono::Utc::now()),
            content_hash: Set("0".repeat(64)),
            ..Default::default()
        }
        .insert(&db)
        .await
        .unwrap();
        (db, organization.id)
    }

    async fn matching_ids(db: &DatabaseConnection, text: &str) -> Vec<i64> {
        let text = SearchText::parse(text).unwrap();
        organization::Entity::find()
            .select_only()
            .column(organization::Column::Id)
            .filter(text_filter(db.get_database_backend(), SearchKind::Organization, &text))
            .into_tuple()
            .all(db)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_sqlite_tokenizer_folds_the_case_of_every_kazakh_letter() {
        let (db, id) = sqlite_with_organization("ӘҒҚҢӨҰҮҺІ Қаржы министрлігі").await;
        for text in ["әғқңөұүһі", "ӘҒҚҢӨҰҮҺІ", "ӘғҚңӨұҮһІ", "қаржы", "ҚАРЖЫ", "Қаржы министрлігі", "МИНИСТРЛІГІ"]
        {
            assert_eq!(matching_ids(&db, text).await, vec![id], "{text}");
        }
        // Kazakh letters are letters of their own, not Russian ones with a diacritic.
        assert!(matching_ids(&db, "каржы").await.is_empty());
    }

    #[tokio::test]
    async fn the_last_word_matches_as_a_prefix_and_operators_mean_nothing() {
        let (db, id) = sqlite_with_organization("Қаржы министрлігі").await;
        assert_eq!(matching_ids(&db, "министерств").await, vec![id]);
        assert_eq!(matching_ids(&db, "финанс министерство").await, Vec::<i64>::new(), "only the last word is a prefix");
        assert_eq!(matching_ids(&db, "9902404").await, vec![id], "a BIN's beginning");
        for hostile in [
            "\"",
            "финансов\"",
            "NEAR(финансов",
            "финансов*",
            "a:b",
            "'; DROP TABLE organizations; --",
            "-финансов",
            "финансов OR x",
        ] {
            let Ok(text) = SearchText::parse(hostile) else { continue };
            let found = organization::Entity::find()
                .filter(text_filter(db.get_database_backend(), SearchKind::Organization, &text))
                .all(&db)
                .await;
            assert!(found.is_ok(), "{hostile}: {found:?}");
        }
        assert_eq!(organization::Entity::find().all(&db).await.unwrap().len(), 1);
    }
}
