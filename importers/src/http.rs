//! The HTTP client every upstream source uses: TLS through rustls with an optional extra CA
//! bundle (goszakup serves a certificate of its own; verification is never turned off), a
//! concurrency limit per source, and retries with exponential backoff and full jitter on 429,
//! 5xx, timeouts and dropped connections, honouring `Retry-After`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use tokio::sync::Semaphore;

/// How a source talks to its upstream.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// PEM file of extra trusted CA certificates, added to the platform's roots.
    pub ca_bundle: Option<PathBuf>,
    /// Per-request timeout (connect, send and read the whole body).
    pub timeout: Duration,
    /// Retries after the first attempt, for retryable failures only.
    pub max_retries: u32,
    /// The first backoff; each retry doubles it, up to `max_backoff`, with full jitter.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Requests in flight at once to this upstream.
    pub concurrency: usize,
    /// The largest response body read, in bytes: a larger one fails the request (and the run,
    /// which resumes from its checkpoint) without being held. goszakup's largest pages are
    /// about 1.5 MB.
    pub max_body_bytes: u64,
}

/// The default [`HttpOptions::max_body_bytes`]: 64 MiB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;
/// How much of an error answer is read: only a snippet of it is ever shown.
const ERROR_BODY_BYTES: u64 = 64 * 1024;

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            ca_bundle: None,
            timeout: Duration::from_secs(60),
            max_retries: 5,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            concurrency: 4,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("reading the CA bundle {path}: {reason}")]
    CaBundle { path: String, reason: String },
    #[error("building the HTTP client: {0}")]
    Client(String),
    #[error("{url} answered {status}: {body}")]
    Status { url: String, status: StatusCode, body: String },
    #[error("{url}: {reason} (after {attempts} attempts)")]
    Transport { url: String, reason: String, attempts: u32 },
    #[error("{url}: the response is larger than the {limit} bytes allowed (upstream_max_body_bytes)")]
    TooLarge { url: String, limit: u64 },
}

/// A client for one upstream.
#[derive(Clone)]
pub struct Upstream {
    client: reqwest::Client,
    permits: Arc<Semaphore>,
    options: HttpOptions,
}

/// Hides secrets carried in query strings (`apiKey`, `token`) before a URL reaches a log, an
/// error or a reject report.
pub fn redact_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _))
                if ["apikey", "api_key", "token", "access_token"].contains(&key.to_ascii_lowercase().as_str()) =>
            {
                format!("{key}=***")
            }
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", parts.join("&"))
}

/// Installs rustls's ring provider as the process's TLS crypto provider; every reqwest client
/// in the process needs it (reqwest is built without a provider of its own). Idempotent.
pub fn init_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Upstream {
    /// `headers` go with every request (an `Authorization` header is marked sensitive so it
    /// never shows in debug output).
    pub fn new(options: HttpOptions, mut headers: HeaderMap) -> Result<Upstream, FetchError> {
        init_tls();
        for (_, value) in headers.iter_mut() {
            value.set_sensitive(true);
        }
        // A redirect stays on the scheme, host and port it started from: the default headers
        // (a token) go with every request, so an upstream must not steer them elsewhere.
        let same_origin = reqwest::redirect::Policy::custom(|attempt| {
            let start = attempt.previous().first().map(|url| url.origin());
            if attempt.previous().len() > 10 {
                attempt.error("more than 10 redirects")
            } else if start.is_some_and(|start| start != attempt.url().origin()) {
                let refused =
                    format!("a redirect to another host ({}) was refused", attempt.url().host_str().unwrap_or("?"));
                attempt.error(refused)
            } else {
                attempt.follow()
            }
        });
        let mut builder = reqwest::Client::builder()
            .redirect(same_origin)
            .timeout(options.timeout)
            .default_headers(headers)
            .user_agent(concat!("scrutiny-importer/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &options.ca_bundle {
            let pem = std::fs::read(path).map_err(|error| FetchError::CaBundle {
                path: path.display().to_string(),
                reason: error.to_string(),
            })?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|error| FetchError::CaBundle {
                path: path.display().to_string(),
                reason: error.to_string(),
            })?;
            if certificates.is_empty() {
                return Err(FetchError::CaBundle {
                    path: path.display().to_string(),
                    reason: "no PEM certificate in it".into(),
                });
            }
            builder = builder.tls_certs_merge(certificates);
        }
        let client = builder.build().map_err(|error| FetchError::Client(error.to_string()))?;
        let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
        Ok(Upstream { client, permits, options })
    }

    /// A bearer token header set, for sources that need one.
    pub fn bearer(token: &str) -> Result<HeaderMap, FetchError> {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| FetchError::Client("the token is not a valid header value".into()))?;
        headers.insert(reqwest::header::AUTHORIZATION, value);
        Ok(headers)
    }

    pub async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        self.send(Method::GET, url, None).await
    }

    pub async fn post_json(&self, url: &str, body: &serde_json::Value) -> Result<Vec<u8>, FetchError> {
        self.send(Method::POST, url, Some(body)).await
    }

    async fn send(&self, method: Method, url: &str, body: Option<&serde_json::Value>) -> Result<Vec<u8>, FetchError> {
        let shown = redact_url(url);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome: Result<(), (StatusCode, Option<Duration>, String)> = {
                let _permit = self.permits.acquire().await.expect("the semaphore is never closed");
                let mut request = self.client.request(method.clone(), url);
                if let Some(body) = body {
                    request = request.json(body);
                }
                match request.send().await {
                    Ok(response) => {
                        let status = response.status();
                        let retry_after = retry_after(response.headers());
                        let limit = if status.is_success() { self.options.max_body_bytes } else { ERROR_BODY_BYTES };
                        match read_body(response, limit).await {
                            Ok(Body::Whole(bytes)) if status.is_success() => return Ok(bytes),
                            Ok(Body::Whole(bytes) | Body::Cut(bytes)) if !status.is_success() => {
                                Err((status, retry_after, String::from_utf8_lossy(&bytes).into_owned()))
                            }
                            Ok(_) => return Err(FetchError::TooLarge { url: shown, limit }),
                            Err(error) => Err((StatusCode::OK, None, describe(&error))),
                        }
                    }
                    Err(error) => Err((StatusCode::OK, None, describe(&error))),
                }
            };
            let (status, retry_after, detail) = outcome.unwrap_err();
            let transport = status == StatusCode::OK;
            let retryable = transport || status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if !retryable || attempt > self.options.max_retries {
                return Err(if transport {
                    FetchError::Transport { url: shown, reason: detail, attempts: attempt }
                } else {
                    FetchError::Status { url: shown, status, body: snippet(&detail) }
                });
            }
            let wait = retry_after.unwrap_or_else(|| self.backoff(attempt)).min(self.options.max_backoff);
            tracing::warn!(
                url = %shown,
                attempt,
                status = if transport { None } else { Some(status.as_u16()) },
                wait_ms = wait.as_millis() as u64,
                detail = %snippet(&detail),
                "upstream request failed; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Full jitter: a uniform wait between zero and the doubled base.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.options.base_backoff.saturating_mul(1 << attempt.min(16)).min(self.options.max_backoff);
        ceiling.mul_f64(fastrand::f64())
    }
}

/// A body as read: whole, or cut at the limit.
enum Body {
    Whole(Vec<u8>),
    Cut(Vec<u8>),
}

/// Reads a body a chunk at a time, stopping at `limit` bytes: an upstream that sends more (or
/// announces more) is never held whole.
async fn read_body(mut response: reqwest::Response, limit: u64) -> Result<Body, reqwest::Error> {
    if response.content_length().is_some_and(|length| length > limit) {
        return Ok(Body::Cut(Vec::new()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if (body.len() + chunk.len()) as u64 > limit {
            let room = limit as usize - body.len();
            body.extend_from_slice(&chunk[..room]);
            return Ok(Body::Cut(body));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Body::Whole(body))
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (date.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().ok()
}

fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() { "timed out".to_owned() } else { error.to_string() };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    // reqwest puts the URL in its messages; keep secrets out.
    redact_url(&text)
}

fn snippet(body: &str) -> String {
    let trimmed: String = body.chars().take(200).collect();
    trimmed.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_query_strings_are_hidden() {
        assert_eq!(
            redact_url("https://data.egov.kz/api/v4/x/v1?apiKey=s3cret&source=%7B%7D"),
            "https://data.egov.kz/api/v4/x/v1?apiKey=***&source=%7B%7D"
        );
        assert_eq!(
            redact_url("https://ows.goszakup.gov.kz/v3/contract/all"),
            "https://ows.goszakup.gov.kz/v3/contract/all"
        );
    }

    #[test]
    fn a_ca_bundle_that_cannot_be_used_stops_the_client_with_the_reason() {
        let missing = HttpOptions { ca_bundle: Some("/nonexistent/ca.pem".into()), ..HttpOptions::default() };
        let error = Upstream::new(missing, HeaderMap::new()).err().expect("a missing file is an error").to_string();
        assert!(error.contains("/nonexistent/ca.pem"), "{error}");

        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("ca.pem");
        std::fs::write(&not_pem, "not a certificate").unwrap();
        let options = HttpOptions { ca_bundle: Some(not_pem), ..HttpOptions::default() };
        let error = Upstream::new(options, HeaderMap::new()).err().expect("no certificate is an error").to_string();
        assert!(error.contains("no PEM certificate"), "{error}");
    }

    #[test]
    fn retry_after_reads_seconds() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
    }
}
