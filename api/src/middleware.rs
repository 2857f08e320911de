//! What wraps every request, from the outside in (see `startup::routes`):
//!
//! 1. [`observe`]: a request id and a tracing span, logs and metrics;
//! 2. [`RateLimit`]: a per-client request rate, answering 429 past it;
//! 3. [`HttpCaching`]: `Cache-Control`, `Vary` and `ETag` on reads, 304 on a matching
//!    `If-None-Match`;
//! 4. [`Problems`]: the conversion of every error into a problem response, innermost so that
//!    the layers above see every response as the client will;
//! 5. [`BodyLimit`]: the body-size limit.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use http_body_util::combinators::BoxBody;
use poem::http::header::{self, HeaderMap};
use poem::http::{HeaderValue, Method, StatusCode};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use poem_openapi::OperationId;
use poem_openapi::error::ParsePathError;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::config::Settings;
use crate::error::{ApiError, Problem, problem_for};
use crate::metrics::Metrics;

pub const REQUEST_ID: &str = "x-request-id";

/// The request id to use: the caller's, if it is short and printable, else a new UUID.
fn request_id(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// The metrics label for a response: the OpenAPI operation that answered, or a fixed name, so
/// that unknown paths cannot blow up the label set.
/// The method as a metrics label: HTTP's own methods by name, any other token as `other`,
/// since a client may send any token and every new label value is a new series to scrape.
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"];
    KNOWN.into_iter().find(|known| *known == method).unwrap_or("other")
}

fn operation_label(response: &Response, path: &str) -> &'static str {
    if let Some(OperationId(id)) = response.data::<OperationId>() {
        return id;
    }
    // Refused before routing, so no operation answered.
    if response.status() == StatusCode::TOO_MANY_REQUESTS {
        return "rateLimited";
    }
    match path {
        "/openapi.json" => "openapiJson",
        "/openapi.yaml" => "openapiYaml",
        p if p == "/docs" || p.starts_with("/docs/") => "docs",
        _ => "unmatched",
    }
}

/// What the spec says about routes that poem's errors do not carry. poem-openapi routes path
/// parameters as `param0`, `param1`…, and its parse errors use those names; this puts back
/// the names clients see. A 405 must list the methods the path allows (`Allow`, RFC 9110).
#[derive(Debug, Default, Clone)]
pub struct RouteIndex {
    /// Each operation's path parameters, in path order.
    by_operation: HashMap<String, Vec<String>>,
    /// Each path template's segments (`None` for a parameter) and its methods.
    methods: Vec<(Vec<Option<String>>, String)>,
}

impl RouteIndex {
    pub fn from_spec(spec_json: &str) -> Self {
        let spec: serde_json::Value = serde_json::from_str(spec_json).expect("poem-openapi emits JSON");
        let mut index = RouteIndex::default();
        for (path, operations) in spec["paths"].as_object().into_iter().flatten() {
            let params: Vec<String> = path
                .split('/')
                .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
                .map(str::to_owned)
                .collect();
            let mut methods: Vec<String> = Vec::new();
            for (method, operation) in operations.as_object().into_iter().flatten() {
                methods.push(method.to_uppercase());
                if let Some(id) = operation["operationId"].as_str() {
                    index.by_operation.insert(id.to_owned(), params.clone());
                }
            }
            // poem answers HEAD wherever it answers GET.
            if methods.iter().any(|m| m == "GET") {
                methods.push("HEAD".to_owned());
            }
            let segments =
                path.split('/').map(|segment| (!segment.starts_with('{')).then(|| segment.to_owned())).collect();
            index.methods.push((segments, methods.join(", ")));
        }
        index
    }

    /// The `Allow` value for a request path, from the first template that matches it.
    fn allowed_methods(&self, path: &str) -> Option<&str> {
        let segments: Vec<&str> = path.split('/').collect();
        self.methods.iter().find_map(|(template, methods)| {
            let matches = template.len() == segments.len()
                && template
                    .iter()
                    .zip(&segments)
                    .all(|(expected, actual)| expected.as_deref().is_none_or(|literal| literal == *actual));
            matches.then_some(methods.as_str())
        })
    }

    fn rename(&self, operation: Option<&OperationId>, internal: &str) -> Option<String> {
        let index: usize = internal.strip_prefix("param")?.parse().ok()?;
        self.by_operation.get(operation?.0)?.get(index).cloned()
    }
}

/// Tags the request with an id and a span, logs and measures it, and echoes the id back.
/// Errors are problems already (see [`Problems`]); one that is not still becomes one here.
pub async fn observe<E: Endpoint>(
    endpoint: &E,
    metrics: &Metrics,
    req: Request,
    timeout: Duration,
) -> Result<Response> {
    let id = request_id(&req);
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("request", request_id = %id, method = %method, path = %path);
    let started = Instant::now();
    // Past the timeout the handler is dropped (a write's transaction with it, rolled back).
    let mut response = match tokio::time::timeout(timeout, endpoint.call(req).instrument(span.clone())).await {
        Ok(Ok(output)) => output.into_response(),
        Ok(Err(error)) => problem_response(error, &RouteIndex::default()),
        Err(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("the server could not answer within {} s; retry later", timeout.as_secs()),
        )
        .into_response(),
    };
    let elapsed = started.elapsed();
    let status = response.status();
    metrics.observe(operation_label(&response, &path), method_label(&method), status.as_u16(), elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(status = status.as_u16(), latency_ms = elapsed.as_secs_f64() * 1e3, "answered");
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

/// Turns any error into its problem response, keeping the operation id for metrics. An
/// operation's own `ApiError` arrives already rendered and passes through unchanged.
pub fn problem_response(error: poem::Error, routes_index: &RouteIndex) -> Response {
    let operation = error.data::<OperationId>().copied();
    let mut response = if error.is_from_response() {
        error.into_response()
    } else if let Some(path_error) = error.downcast_ref::<ParsePathError>() {
        let name = routes_index.rename(operation.as_ref(), path_error.name);
        Problem::invalid_param(name.as_deref().unwrap_or(path_error.name), path_error.reason.clone()).into_response()
    } else {
        problem_for(&error).into_response()
    };
    // poem-openapi refuses a missing or non-Bearer `Authorization` itself; RFC 9110 §11.6.1
    // wants every 401 to say how to authenticate.
    if response.status() == StatusCode::UNAUTHORIZED && !response.headers().contains_key(header::WWW_AUTHENTICATE) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    if let Some(operation) = operation {
        response.set_data(operation);
    }
    response
}

/// Turns every error of the endpoints inside into its problem response.
pub struct Problems(pub RouteIndex);

impl<E: Endpoint> Middleware<E> for Problems {
    type Output = ProblemsEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        ProblemsEndpoint { inner, routes_index: self.0.clone() }
    }
}

pub struct ProblemsEndpoint<E> {
    inner: E,
    routes_index: RouteIndex,
}

impl<E: Endpoint> Endpoint for ProblemsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let path = req.uri().path().to_owned();
        Ok(match self.inner.call(req).await {
            Ok(output) => output.into_response(),
            Err(error) => {
                let wrong_method = error.status() == StatusCode::METHOD_NOT_ALLOWED;
                let mut response = problem_response(error, &self.routes_index);
                if wrong_method
                    && let Some(allowed) = self.routes_index.allowed_methods(&path)
                    && let Ok(value) = HeaderValue::from_str(allowed)
                {
                    response.headers_mut().insert(poem::http::header::ALLOW, value);
                }
                response
            }
        })
    }
}

/// Paths for operators and probes: never stored by caches, never rate limited (a throttled
/// readiness probe would take a healthy instance out of its load balancer).
const OPERATIONAL_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// How long shared caches and browsers may reuse an anonymous read without asking again.
pub const PUBLIC_CACHE_CONTROL: &str = "public, max-age=60";

/// What every response's content can depend on besides the URL: `Accept` chooses JSON or CSV
/// on lists, `Accept-Language` the `display` names.
const VARY: &str = "accept, accept-language";

/// HTTP caching for anonymous reads (`GET`/`HEAD` without `Authorization` or `Cookie`).
///
/// A successful read gets `Cache-Control: public, max-age=60` unless its operation set its own
/// (the change feed asks for revalidation every time), and `Vary`. A body held in memory
/// (JSON, YAML, HTML) also gets a strong `ETag`, a hash of its bytes, so that a client
/// repeating `If-None-Match` gets `304 Not Modified` without the body; the server still
/// builds the body to hash it, so this saves bandwidth, not database work. Streamed bodies
/// (CSV exports) are passed through untouched rather than buffered. Operational paths get
/// `Cache-Control: no-store`, and errors nothing.
pub struct HttpCaching;

impl<E: Endpoint> Middleware<E> for HttpCaching {
    type Output = HttpCachingEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        HttpCachingEndpoint { inner }
    }
}

pub struct HttpCachingEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for HttpCachingEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let operational = OPERATIONAL_PATHS.contains(&req.uri().path());
        // poem answers HEAD with the GET handler's headers but without its body, so there is
        // nothing to hash: HEAD gets the caching headers but no ETag.
        let is_get = req.method() == Method::GET;
        let anonymous_read = matches!(*req.method(), Method::GET | Method::HEAD)
            && !req.headers().contains_key(header::AUTHORIZATION)
            && !req.headers().contains_key(header::COOKIE);
        let if_none_match = req.headers().get(header::IF_NONE_MATCH).cloned();
        let mut response = self.inner.call(req).await?.into_response();

        if operational {
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            return Ok(response);
        }
        if !anonymous_read || response.status() != StatusCode::OK {
            return Ok(response);
        }
        let headers = response.headers_mut();
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(PUBLIC_CACHE_CONTROL));
        }
        headers.append(header::VARY, HeaderValue::from_static(VARY));

        if !response.headers().contains_key(header::ETAG) {
            if !is_get || !has_buffered_body(&mut response) {
                return Ok(response);
            }
            // The body is in memory (its exact size is known), so reading it cannot fail or wait.
            let body = response.take_body().into_bytes().await?;
            if let Some(tag) = entity_tag(&body) {
                response.headers_mut().insert(header::ETAG, tag);
            }
            response.set_body(body);
        }
        let current = response.headers().get(header::ETAG).and_then(|tag| tag.to_str().ok());
        let fresh = match (&if_none_match, current) {
            (Some(condition), Some(current)) => condition.to_str().is_ok_and(|list| none_match_fails(list, current)),
            _ => false,
        };
        if fresh {
            return Ok(not_modified(response));
        }
        Ok(response)
    }
}

/// Whether the body is held whole in memory (its exact length is known), as opposed to
/// streamed; only those are hashed.
fn has_buffered_body(response: &mut Response) -> bool {
    let streamed_type = response.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).is_some_and(
        |content_type| content_type.starts_with("text/csv") || content_type.starts_with("text/event-stream"),
    );
    if streamed_type {
        return false;
    }
    let body = response.take_body();
    let boxed: BoxBody<_, std::io::Error> = body.into();
    let exact = http_body::Body::size_hint(&boxed).exact().is_some();
    response.set_body(poem::Body::from(boxed));
    exact
}

/// A strong entity tag for these bytes: the first 128 bits of their SHA-256, in hex. (Hex in
/// quotes is always a valid header value; the `Option` only spares a panic path.)
fn entity_tag(body: &[u8]) -> Option<HeaderValue> {
    let digest = Sha256::digest(body);
    let hex: String = digest[..16].iter().map(|byte| format!("{byte:02x}")).collect();
    HeaderValue::from_str(&format!("\"{hex}\"")).ok()
}

/// Whether an `If-None-Match` list names the current tag (or is `*`), so that the condition
/// fails and the answer is 304. Comparison is weak (RFC 9110 §13.1.2): a `W/` prefix on
/// either side is ignored. A malformed list matches nothing, so the client gets the body.
fn none_match_fails(list: &str, current: &str) -> bool {
    if list.trim() == "*" {
        return true;
    }
    let current = current.trim().trim_start_matches("W/").trim_matches('"');
    let mut rest = list;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return false;
        }
        let weak = rest.starts_with("W/");
        let quoted = if weak { &rest[2..] } else { rest };
        let Some(inner) = quoted.strip_prefix('"') else { return false };
        let Some(end) = inner.find('"') else { return false };
        if &inner[..end] == current {
            return true;
        }
        rest = &inner[end + 1..];
    }
}

/// The 304 for a response: its headers (`ETag`, `Cache-Control`, `Vary`…) without the body
/// or the headers describing the body.
fn not_modified(mut response: Response) -> Response {
    response.set_status(StatusCode::NOT_MODIFIED);
    response.set_body(poem::Body::empty());
    let headers: &mut HeaderMap = response.headers_mut();
    headers.remove(header::CONTENT_TYPE);
    headers.remove(header::CONTENT_LENGTH);
    response
}

/// The keyed limiter: one GCRA state per client address.
type ClientLimiter = RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>;

/// Forget idle clients after this many checks, so that the state does not grow with every
/// address ever seen.
const SWEEP_EVERY: u64 = 4096;

/// A per-client request rate (GCRA, via `governor`): `rate_limit_per_second` sustained with
/// bursts of `rate_limit_burst`, keyed by the client's IP address (IPv6 by its /64, which is
/// what one subscriber typically holds). Past it, 429 with `Retry-After`.
pub struct RateLimit {
    state: Option<Arc<RateLimitState>>,
}

struct RateLimitState {
    limiter: ClientLimiter,
    per_second: u32,
    burst: u32,
    trust_forwarded_for: bool,
    checks: AtomicU64,
}

impl RateLimit {
    /// The limit the settings ask for; none when `rate_limit_per_second` is 0.
    pub fn from_settings(settings: &Settings) -> Self {
        let state = NonZeroU32::new(settings.rate_limit_per_second).map(|per_second| {
            let burst = NonZeroU32::new(settings.rate_limit_burst).unwrap_or(per_second);
            Arc::new(RateLimitState {
                limiter: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
                per_second: per_second.get(),
                burst: burst.get(),
                trust_forwarded_for: settings.trust_forwarded_for,
                checks: AtomicU64::new(0),
            })
        });
        RateLimit { state }
    }
}

impl<E: Endpoint> Middleware<E> for RateLimit {
    type Output = RateLimitEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        RateLimitEndpoint { inner, state: self.state.clone() }
    }
}

pub struct RateLimitEndpoint<E> {
    inner: E,
    state: Option<Arc<RateLimitState>>,
}

impl<E: Endpoint> Endpoint for RateLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        if let Some(state) = &self.state
            && !OPERATIONAL_PATHS.contains(&req.uri().path())
        {
            let remote = req.remote_addr().as_socket_addr().copied();
            let client = client_key(remote, req.headers(), state.trust_forwarded_for);
            if state.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
                state.limiter.retain_recent();
                state.limiter.shrink_to_fit();
            }
            if let Err(not_until) = state.limiter.check_key(&client) {
                let wait = not_until.wait_time_from(state.limiter.clock().now());
                // Whole seconds, rounded up: a client that waits this long will get through.
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                return Ok(ApiError::too_many_requests(state.per_second, state.burst, seconds.max(1)).into_response());
            }
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

/// Whom a request counts against: the connection's peer, or, when the proxy in front is
/// trusted, the last `X-Forwarded-For` entry (the address that proxy saw; earlier entries are
/// whatever the client chose to send). IPv6 addresses count by their /64.
pub fn client_key(remote: Option<SocketAddr>, headers: &HeaderMap, trust_forwarded_for: bool) -> IpAddr {
    let forwarded = if trust_forwarded_for { last_forwarded_for(headers) } else { None };
    let ip = forwarded.or(remote.map(|addr| addr.ip())).unwrap_or(IpAddr::from([0, 0, 0, 0]));
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & !((1u128 << 64) - 1))),
        v4 => v4,
    }
}

/// The last entry of the last `X-Forwarded-For` header, if it is an address (with or without
/// a port).
fn last_forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let entry = headers.get_all("x-forwarded-for").iter().next_back()?.to_str().ok()?.rsplit(',').next()?.trim();
    entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
}

/// Refuses bodies over a size: by `Content-Length` up front, and for chunked bodies by
/// reading at most one byte past the limit.
///
/// Attachment uploads (`POST /v1/findings/{id}/attachments`) pass through unread: their
/// operation checks the caller and the finding first, then refuses a `Content-Length` past
/// `max_attachment_bytes` (plus the multipart overhead) and streams the file to disk, counting
/// it against that limit, so a 20 MiB upload is never held in memory.
pub struct BodyLimit(pub usize);

/// Whether the request is an attachment upload, which enforces its own, larger limit.
fn is_attachment_upload(req: &Request) -> bool {
    if req.method() != Method::POST {
        return false;
    }
    let mut segments = req.uri().path().split('/');
    matches!(
        (segments.next(), segments.next(), segments.next(), segments.next(), segments.next(), segments.next()),
        (Some(""), Some("v1"), Some("findings"), Some(id), Some("attachments"), None) if !id.is_empty()
    )
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint { inner, max: self.0 }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
    max: usize,
}

fn too_large(max: usize) -> Response {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
        format!("request bodies are limited to {max} bytes"),
    )
    .into_response()
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        if is_attachment_upload(&req) {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        let declared = req
            .headers()
            .get(poem::http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        match declared {
            Some(length) if length > self.max as u64 => return Ok(too_large(self.max)),
            Some(_) => {}
            None if req.headers().contains_key(poem::http::header::TRANSFER_ENCODING) => {
                match req.take_body().into_bytes_limit(self.max).await {
                    Ok(bytes) => req.set_body(bytes),
                    Err(_) => return Ok(too_large(self.max)),
                }
            }
            None => {}
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURRENT: &str = "\"0123abcd\"";

    #[test]
    fn if_none_match_lists_compare_weakly() {
        assert!(none_match_fails("\"0123abcd\"", CURRENT));
        assert!(none_match_fails("W/\"0123abcd\"", CURRENT));
        assert!(none_match_fails("\"other\", W/\"0123abcd\"", CURRENT));
        assert!(none_match_fails("\"a,b\",\"0123abcd\"", CURRENT));
        assert!(none_match_fails(" * ", CURRENT));
        assert!(!none_match_fails("\"other\"", CURRENT));
        assert!(!none_match_fails("0123abcd", CURRENT), "unquoted is malformed");
        assert!(!none_match_fails("\"0123abcd", CURRENT), "unterminated is malformed");
        assert!(!none_match_fails("", CURRENT));
    }

    #[test]
    fn entity_tags_are_quoted_and_follow_the_bytes() {
        let tag = entity_tag(b"{}").unwrap();
        assert_eq!(Some(&tag), entity_tag(b"{}").as_ref());
        assert_ne!(Some(tag.clone()), entity_tag(b"{ }"));
        let text = tag.to_str().unwrap();
        assert!(text.starts_with('"') && text.ends_with('"') && text.len() == 34, "{text}");
    }

    #[test]
    fn clients_are_keyed_by_address_and_ipv6_by_its_64() {
        let remote: Option<SocketAddr> = Some("192.0.2.7:5555".parse().unwrap());
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("198.51.100.1, 203.0.113.9"));
        assert_eq!(client_key(remote, &headers, false), "192.0.2.7".parse::<IpAddr>().unwrap());
        assert_eq!(client_key(remote, &headers, true), "203.0.113.9".parse::<IpAddr>().unwrap());
        headers.insert("x-forwarded-for", HeaderValue::from_static("not an address"));
        assert_eq!(client_key(remote, &headers, true), "192.0.2.7".parse::<IpAddr>().unwrap());
        let v6: Option<SocketAddr> = Some("[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:443".parse().unwrap());
        assert_eq!(client_key(v6, &HeaderMap::new(), false), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        let mapped: Option<SocketAddr> = Some("[::ffff:192.0.2.7]:1".parse().unwrap());
        assert_eq!(client_key(mapped, &HeaderMap::new(), false), "192.0.2.7".parse::<IpAddr>().unwrap());
    }
}

/// What a handler that panicked answers: a 500 problem like any other failure (the panic is
/// logged), rather than a connection dropped without a word.
pub fn panic_problem(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %message, "a handler panicked");
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the server failed to answer; the failure is logged under this response's X-Request-Id".to_owned(),
    )
    .into_response()
}

#[cfg(test)]
mod panics {
    use poem::http::StatusCode;
    use poem::middleware::CatchPanic;
    use poem::{EndpointExt, Route, get, handler};

    use super::panic_problem;

    #[handler]
    fn boom() -> &'static str {
        panic!("a handler's bug")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_a_500_problem() {
        let app = Route::new().at("/boom", get(boom)).with(CatchPanic::new().with_handler(panic_problem));
        let response = poem::test::TestClient::new(app).get("/boom").send().await;
        response.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
        response.assert_content_type("application/problem+json");
        let body = response.json().await;
        body.value().object().get("type").assert_string("/problems/internal");
    }
}

/// A cap on expensive requests at once: exports (`format=csv` or `Accept: text/csv`), bulk
/// files, full-text search and aggregates. Past it the answer is 503 with `Retry-After`
/// at once, never a queue that grows. A permit is held until the response body has been
/// sent, since an export's cost is in its streamed body.
#[derive(Clone)]
pub struct ExpensiveLimit(pub Arc<tokio::sync::Semaphore>);

impl ExpensiveLimit {
    pub fn new(permits: usize) -> Self {
        ExpensiveLimit(Arc::new(tokio::sync::Semaphore::new(permits)))
    }
}

/// Whether a request is one of the expensive kinds [`ExpensiveLimit`] caps.
fn is_expensive(req: &Request) -> bool {
    let path = req.uri().path();
    let query = req.uri().query().unwrap_or("");
    let csv = query.split('&').any(|pair| pair == "format=csv")
        || req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/csv"));
    csv || path.starts_with("/v1/bulk/") || path == "/v1/search" || path.starts_with("/v1/stats/")
}

impl<E: Endpoint> Middleware<E> for ExpensiveLimit {
    type Output = ExpensiveLimitEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        ExpensiveLimitEndpoint { inner, permits: self.0.clone() }
    }
}

pub struct ExpensiveLimitEndpoint<E> {
    inner: E,
    permits: Arc<tokio::sync::Semaphore>,
}

impl<E: Endpoint> Endpoint for ExpensiveLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        if !is_expensive(&req) {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            let mut response = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many exports, bulk downloads, searches and aggregates at once; retry in a second".to_owned(),
            )
            .into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return Ok(response);
        };
        let mut response = self.inner.call(req).await.map(IntoResponse::into_response)?;
        // The permit goes with the body: it is released when the body is sent or dropped.
        let body = response.take_body().into_bytes_stream();
        let guarded = futures_util::StreamExt::map(body, move |chunk| {
            let _held = &permit;
            chunk
        });
        response.set_body(poem::Body::from_bytes_stream(guarded));
        Ok(response)
    }
}

/// Refuses a query string holding a NUL character (`%00`) with a 400 naming the parameter.
/// No field takes one, and PostgreSQL cannot even compare a text with one ("invalid byte
/// sequence"): passed on, it became a 500 wherever a filter reached the database.
pub struct NoNulInQuery;

impl<E: Endpoint> Middleware<E> for NoNulInQuery {
    type Output = NoNulInQueryEndpoint<E>;
    fn transform(&self, inner: E) -> Self::Output {
        NoNulInQueryEndpoint { inner }
    }
}

pub struct NoNulInQueryEndpoint<E> {
    inner: E,
}

/// The name of the first query parameter whose name or value holds `%00`, shown as sent.
fn parameter_with_nul(query: &str) -> Option<String> {
    query.split('&').find(|pair| pair.as_bytes().windows(3).any(|w| w == b"%00")).map(|pair| {
        let name = pair.split_once('=').map_or(pair, |(name, _)| name);
        if name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') { name.to_owned() } else { "?".to_owned() }
    })
}

impl<E: Endpoint> Endpoint for NoNulInQueryEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        if let Some(name) = req.uri().query().and_then(parameter_with_nul) {
            return Ok(crate::error::Problem::invalid_param(
                &name,
                "holds a NUL character (%00), which no parameter accepts",
            )
            .into_response());
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}
