//! What wraps every request: a request id and a tracing span, metrics, the body-size limit,
//! and the conversion of every error into a problem response.

use std::collections::HashMap;
use std::time::Instant;

use poem::http::{HeaderValue, StatusCode};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use poem_openapi::OperationId;
use poem_openapi::error::ParsePathError;
use tracing::Instrument;

use crate::error::{Problem, problem_for};
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
fn operation_label(response: &Response, path: &str) -> &'static str {
    if let Some(OperationId(id)) = response.data::<OperationId>() {
        return id;
    }
    match path {
        "/openapi.json" => "openapiJson",
        "/openapi.yaml" => "openapiYaml",
        p if p == "/docs" || p.starts_with("/docs/") => "docs",
        _ => "unmatched",
    }
}

/// The path parameters of each operation, in path order, from the spec. poem-openapi routes
/// path parameters as `param0`, `param1`…, and its parse errors use those names; this puts
/// back the names clients see.
#[derive(Debug, Default, Clone)]
pub struct PathParamNames(HashMap<String, Vec<String>>);

impl PathParamNames {
    pub fn from_spec(spec_json: &str) -> Self {
        let spec: serde_json::Value = serde_json::from_str(spec_json).expect("poem-openapi emits JSON");
        let mut names = HashMap::new();
        for (path, operations) in spec["paths"].as_object().into_iter().flatten() {
            let params: Vec<String> = path
                .split('/')
                .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
                .map(str::to_owned)
                .collect();
            for operation in operations.as_object().into_iter().flat_map(|o| o.values()) {
                if let Some(id) = operation["operationId"].as_str() {
                    names.insert(id.to_owned(), params.clone());
                }
            }
        }
        PathParamNames(names)
    }

    fn rename(&self, operation: Option<&OperationId>, internal: &str) -> Option<String> {
        let index: usize = internal.strip_prefix("param")?.parse().ok()?;
        self.0.get(operation?.0)?.get(index).cloned()
    }
}

/// Tags the request with an id and a span, logs and measures it, and echoes the id back.
pub async fn observe<E: Endpoint>(
    endpoint: &E,
    metrics: &Metrics,
    path_params: &PathParamNames,
    req: Request,
) -> Result<Response> {
    let id = request_id(&req);
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("request", request_id = %id, method = %method, path = %path);
    let started = Instant::now();
    let mut response = match endpoint.call(req).instrument(span.clone()).await {
        Ok(output) => output.into_response(),
        Err(error) => problem_response(error, path_params),
    };
    let elapsed = started.elapsed();
    let status = response.status();
    metrics.observe(operation_label(&response, &path), &method, status.as_u16(), elapsed.as_secs_f64());
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
pub fn problem_response(error: poem::Error, path_params: &PathParamNames) -> Response {
    let operation = error.data::<OperationId>().copied();
    let mut response = if error.is_from_response() {
        error.into_response()
    } else if let Some(path_error) = error.downcast_ref::<ParsePathError>() {
        let name = path_params.rename(operation.as_ref(), path_error.name);
        Problem::invalid_param(name.as_deref().unwrap_or(path_error.name), path_error.reason.clone()).into_response()
    } else {
        problem_for(&error).into_response()
    };
    if let Some(operation) = operation {
        response.set_data(operation);
    }
    response
}

/// Refuses bodies over a size: by `Content-Length` up front, and for chunked bodies by
/// reading at most one byte past the limit.
pub struct BodyLimit(pub usize);

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
