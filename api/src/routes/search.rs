//! Full-text search across organizations, tenders, contracts and decisions.

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use sea_orm::DatabaseConnection;

use domain::pagination::{Cursor, Limit};
use domain::search::{self as search_domain, SORT_BY_RELEVANCE, SearchQuery, SearchText};

use super::ApiTags;
use crate::dto::{Links, LocalizedName, preferred_language};
use crate::error::ApiResult;

pub struct SearchApi {
    pub db: DatabaseConnection,
}

/// A kind of record search covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SearchKind {
    /// A state body, quasi-public entity or supplier; matched on its names and BIN.
    Organization,
    /// A procurement announcement; matched on its number and names.
    Tender,
    /// A contract; matched on its number and description.
    Contract,
    /// An order, resolution or board decision; matched on its number, title and summary.
    Decision,
}

impl From<SearchKind> for search_domain::SearchKind {
    fn from(kind: SearchKind) -> Self {
        match kind {
            SearchKind::Organization => search_domain::SearchKind::Organization,
            SearchKind::Tender => search_domain::SearchKind::Tender,
            SearchKind::Contract => search_domain::SearchKind::Contract,
            SearchKind::Decision => search_domain::SearchKind::Decision,
        }
    }
}

impl From<search_domain::SearchKind> for SearchKind {
    fn from(kind: search_domain::SearchKind) -> Self {
        match kind {
            search_domain::SearchKind::Organization => SearchKind::Organization,
            search_domain::SearchKind::Tender => SearchKind::Tender,
            search_domain::SearchKind::Contract => SearchKind::Contract,
            search_domain::SearchKind::Decision => SearchKind::Decision,
        }
    }
}

impl SearchKind {
    /// Where the record itself is served.
    fn collection(self) -> &'static str {
        match self {
            SearchKind::Organization => "/v1/organizations",
            SearchKind::Tender => "/v1/tenders",
            SearchKind::Contract => "/v1/contracts",
            SearchKind::Decision => "/v1/decisions",
        }
    }
}

/// A record that matched a search.
#[derive(Debug, Clone, Object)]
pub struct SearchHit {
    /// What kind of record matched.
    pub kind: SearchKind,
    /// The record's id among records of its kind.
    pub id: i64,
    /// The record's path in this API, e.g. `/v1/tenders/42`.
    pub href: String,
    /// An organization's or tender's name, a contract's description, a decision's title.
    pub name: LocalizedName,
    /// The organization's BIN or IIN; organizations only, when known.
    #[oai(skip_serializing_if_is_none)]
    pub bin: Option<String>,
    /// The tender's, contract's or decision's number, e.g. `10000037-1`, `№ 125`.
    #[oai(skip_serializing_if_is_none)]
    pub number: Option<String>,
    /// An excerpt of the matched text, each matched word between `⟦` and `⟧` (not HTML:
    /// escape the text, then replace the brackets to highlight). Left-out text is `…`.
    #[oai(skip_serializing_if_is_none)]
    pub snippet: Option<String>,
    /// Relevance, higher is better: ranks order the hits of one search and mean nothing
    /// across searches or deployments. A BIN or number equal to `q` adds 1000.
    pub rank: f64,
}

/// A page of search hits.
#[derive(Debug, Object)]
pub struct SearchPage {
    /// The hits on this page, most relevant first; equal ranks are ordered by kind, then id.
    pub items: Vec<SearchHit>,
    /// How many records match, across all pages.
    pub total: u64,
    pub links: Links,
}

#[derive(ApiResponse)]
pub enum SearchResponse {
    /// One page of hits; an empty page when nothing matches.
    #[oai(status = 200)]
    Ok(Json<SearchPage>),
}

#[OpenApi(tag = "ApiTags::Search")]
impl SearchApi {
    /// Search records by text
    ///
    /// Full-text search over organizations (names, BIN), tenders (number, names), contracts
    /// (number, description) and decisions (number, title, summary), in Russian, Kazakh and
    /// English at once.
    ///
    /// Every word of `q` must occur in a record, in any field and any language; the last word
    /// also matches as a prefix (at least two characters), so results follow typing. Case is
    /// ignored, Kazakh letters included (`ҚАРЖЫ` finds `қаржы`). Characters such as `"`, `*`,
    /// `-` or `:` are not operators: they only separate the parts of a word. On PostgreSQL
    /// Russian words also match their other forms (`министерства` finds `министерство`); on
    /// SQLite deployments only the form typed, or a prefix of it as the last word, matches.
    ///
    /// Hits come most relevant first: names, titles and identifiers count more than descriptions
    /// and summaries, and a record whose BIN or number is exactly `q` comes before all others.
    /// They come a page at a time: follow `links.next` until it is absent. While the data does
    /// not change, each hit appears exactly once.
    #[oai(path = "/v1/search", method = "get", operation_id = "search")]
    async fn search(
        &self,
        req: &Request,
        /// The text to search for: 1 to 500 characters, at most 20 words, with at least one
        /// letter or digit, e.g. `Қаржы министрлігі`, `противогаз`, or a BIN.
        #[oai(name = "q")]
        q: Query<String>,
        /// Only these kinds of record; repeat the parameter for several
        /// (`kind=tender&kind=contract`). Every kind when absent.
        #[oai(name = "kind")]
        kind: Query<Option<Vec<SearchKind>>>,
        /// Page size, 1 to 100; 20 when absent.
        #[oai(name = "limit", validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Where to start: the `cursor` from a previous page's `links.next`, for the same `q`
        /// and `kind`. Opaque.
        #[oai(name = "cursor")]
        cursor: Query<Option<String>>,
    ) -> ApiResult<SearchResponse> {
        let text = SearchText::parse(&q.0)?;
        let limit = crate::lists::page_limit(limit.0)?;
        let after = cursor.0.as_deref().map(|token| Cursor::decode(token, SORT_BY_RELEVANCE)).transpose()?;
        let kinds = kind.0.unwrap_or_default().into_iter().map(Into::into).collect();
        let page = search_domain::search(&self.db, &SearchQuery { text, kinds, limit, after }).await?;
        let language = preferred_language(req);
        let items = page
            .items
            .into_iter()
            .map(|hit| {
                let kind = SearchKind::from(hit.kind);
                let (bin, number) = match kind {
                    SearchKind::Organization => (hit.identifier, None),
                    _ => (None, hit.identifier),
                };
                SearchHit {
                    kind,
                    id: hit.id,
                    href: format!("{}/{}", kind.collection(), hit.id),
                    name: LocalizedName::new(hit.name.ru, hit.name.kk, hit.name.en, language),
                    bin,
                    number,
                    snippet: hit.snippet,
                    rank: hit.rank,
                }
            })
            .collect();
        Ok(SearchResponse::Ok(Json(SearchPage {
            items,
            total: page.total,
            links: Links { next: page.next.map(|next| next_link(req, limit, &next)) },
        })))
    }
}

/// The request's own path and query (still percent-encoded as the client sent it), with
/// `limit` and `cursor` replaced.
fn next_link(req: &Request, limit: Limit, next: &Cursor) -> String {
    let mut query: Vec<String> = req
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("cursor=") && !pair.starts_with("limit="))
        .map(str::to_owned)
        .collect();
    query.push(format!("limit={}", limit.get()));
    query.push(format!("cursor={}", next.encode()));
    format!("{}?{}", req.uri().path(), query.join("&"))
}
