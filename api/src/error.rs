//! Errors as RFC 9457 problem details (`application/problem+json`), for every failure the API
//! can answer with: its own (`ApiError`) and those poem raises before a handler runs
//! (unknown path, wrong method, unparsable parameter, oversized body).

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::payload::Json;
use poem_openapi::types::ToJSON;
use poem_openapi::{ApiResponse, Object};

use domain::DomainError;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem detail (RFC 9457).
#[derive(Debug, Clone, Object)]
pub struct Problem {
    /// A URI reference naming the kind of problem; `/problems/<kind>`.
    #[oai(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem, the same for every occurrence.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time, for a person to read.
    #[oai(skip_serializing_if_is_none)]
    pub detail: Option<String>,
    /// The request parameters or body fields at fault, each with the reason; absent when the
    /// problem is not about the request's content.
    #[oai(default, skip_serializing_if_is_empty)]
    pub invalid_params: Vec<InvalidParam>,
    /// For a workflow step the object's state does not allow: the state it is in.
    // Boxed, as is the next: every `ApiResult` carries a `Problem`'s size.
    #[oai(skip_serializing_if_is_none)]
    pub state: Option<Box<String>>,
    /// For a workflow step the object's state does not allow: the steps that can follow that
    /// state (empty when it is final).
    #[oai(skip_serializing_if_is_none)]
    pub allowed_steps: Option<Box<Vec<String>>>,
}

/// A request parameter or body field that was rejected.
#[derive(Debug, Clone, Object)]
pub struct InvalidParam {
    /// The parameter's name as the client sent it, e.g. `limit`.
    pub name: String,
    /// Why it was rejected.
    pub reason: String,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<Option<String>>) -> Self {
        Problem {
            problem_type: format!("/problems/{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            invalid_params: Vec::new(),
            state: None,
            allowed_steps: None,
        }
    }

    pub fn invalid_param(name: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Problem {
            invalid_params: vec![InvalidParam { name: name.to_owned(), reason: reason.clone() }],
            ..Problem::new(StatusCode::BAD_REQUEST, "invalid-parameter", format!("parameter `{name}`: {reason}"))
        }
    }
}

/// Every error an operation can return.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// A parameter is missing or malformed; `invalid_params` names it.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// No credentials, or credentials that do not hold: a missing, malformed, forged,
    /// expired or revoked token, a disabled account, a wrong email or password.
    /// `WWW-Authenticate: Bearer` says how to authenticate.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(
        // Boxed: with its header beside it, this variant would make every `ApiResult` large.
        Json<Box<Problem>>,
        /// The scheme to authenticate with: `Bearer`, with the error when a token was refused.
        #[oai(header = "WWW-Authenticate")]
        String,
    ),
    /// The caller's roles do not allow this.
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// Nothing exists at this id, or nothing the caller may see.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The request contradicts what is stored (an email already registered, a council that
    /// exists already).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// `If-Match` names a version that is no longer current: read the object again.
    #[oai(status = 412, content_type = "application/problem+json")]
    PreconditionFailed(Json<Problem>),
    /// The body is well-formed but a field cannot be accepted; `invalid_params` names it.
    /// Also an `Idempotency-Key` reused with another body.
    #[oai(status = 422, content_type = "application/problem+json")]
    UnprocessableEntity(Json<Problem>),
    /// The request body is larger than the server accepts (`max_body_bytes`).
    #[oai(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Json<Problem>),
    /// The request body is not JSON: send `Content-Type: application/json`.
    #[oai(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Json<Problem>),
    /// An update came without `If-Match`: send the ETag of the version it changes.
    #[oai(status = 428, content_type = "application/problem+json")]
    PreconditionRequired(Json<Problem>),
    /// This client sent more requests than the configured rate allows; `Retry-After` says
    /// how many seconds to wait. Only when the server runs with a rate limit.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(
        // Boxed: with its header beside it, this variant would make every `ApiResult` large.
        Json<Box<Problem>>,
        /// Seconds to wait before the next request can succeed.
        #[oai(header = "Retry-After")]
        u64,
    ),
    /// The server failed; the cause is logged under the response's request id, never sent.
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
    /// A dependency, such as the database, is unreachable.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Problem>),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn invalid_param(name: &str, reason: impl Into<String>) -> Self {
        ApiError::BadRequest(Json(Problem::invalid_param(name, reason)))
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(Json(Problem::new(StatusCode::NOT_FOUND, "not-found", format!("{what} does not exist"))))
    }

    /// A refused credential (RFC 6750 §3: `error="invalid_token"`).
    pub fn unauthorized(detail: &str) -> Self {
        ApiError::Unauthorized(
            Json(Box::new(Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", detail.to_owned()))),
            format!("Bearer error=\"invalid_token\", error_description=\"{detail}\""),
        )
    }

    /// The same answer for a wrong password, an unknown email and a disabled account.
    pub fn invalid_credentials() -> Self {
        ApiError::Unauthorized(
            Json(Box::new(Problem::new(
                StatusCode::UNAUTHORIZED,
                "invalid-credentials",
                "wrong email or password".to_owned(),
            ))),
            "Bearer".to_owned(),
        )
    }

    /// Too many failed logins for this account or from this address.
    pub fn too_many_logins(retry_after_seconds: u64) -> Self {
        let detail =
            format!("too many failed logins for this account or from this address; retry in {retry_after_seconds} s");
        ApiError::TooManyRequests(
            Json(Box::new(Problem::new(StatusCode::TOO_MANY_REQUESTS, "too-many-logins", detail))),
            retry_after_seconds,
        )
    }

    /// Too many registrations from this address.
    pub fn too_many_registrations(retry_after_seconds: u64) -> Self {
        let detail = format!("too many registrations from this address; retry in {retry_after_seconds} s");
        ApiError::TooManyRequests(
            Json(Box::new(Problem::new(StatusCode::TOO_MANY_REQUESTS, "too-many-registrations", detail))),
            retry_after_seconds,
        )
    }

    /// A field of a body that cannot be accepted (422), named as the client sent it.
    pub fn unprocessable(name: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        ApiError::UnprocessableEntity(Json(Problem {
            invalid_params: vec![InvalidParam { name: name.to_owned(), reason: reason.clone() }],
            ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-field", format!("`{name}`: {reason}"))
        }))
    }

    /// A domain error about a query parameter: malformed values are 400, not 422.
    pub fn in_query(error: DomainError) -> Self {
        match error {
            DomainError::Invalid { field, reason } => ApiError::invalid_param(&field, reason),
            other => other.into(),
        }
    }

    pub fn precondition_required() -> Self {
        ApiError::PreconditionRequired(Json(Problem::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition-required",
            "updates need If-Match with the ETag of the version they change; GET the object first".to_owned(),
        )))
    }

    /// A client went over its rate; it may try again in `retry_after_seconds`.
    pub fn too_many_requests(per_second: u32, burst: u32, retry_after_seconds: u64) -> Self {
        let detail = format!(
            "this client sent requests faster than {per_second} a second (in bursts of at most {burst}); \
             retry in {retry_after_seconds} s"
        );
        ApiError::TooManyRequests(
            Json(Box::new(Problem::new(StatusCode::TOO_MANY_REQUESTS, "too-many-requests", detail))),
            retry_after_seconds,
        )
    }

    /// Logs the whole cause chain and returns a problem that reveals none of it.
    pub fn internal(error: &(dyn std::error::Error + 'static)) -> Self {
        let mut chain = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        tracing::error!(error = %chain, "request failed");
        ApiError::Internal(Json(Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to answer; the failure is logged under this response's X-Request-Id".to_owned(),
        )))
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::InvalidCursor(reason) => ApiError::invalid_param("cursor", reason),
            // Search text reaches the domain only as the `q` parameter.
            DomainError::InvalidSearchText(reason) => ApiError::invalid_param("q", reason),
            DomainError::Invalid { field, reason } => ApiError::unprocessable(&field, reason),
            DomainError::NotFound(what) => ApiError::not_found(&what),
            DomainError::Forbidden(detail) => {
                ApiError::Forbidden(Json(Problem::new(StatusCode::FORBIDDEN, "forbidden", detail)))
            }
            DomainError::Conflict(detail) => {
                ApiError::Conflict(Json(Problem::new(StatusCode::CONFLICT, "conflict", detail)))
            }
            DomainError::IllegalStep { detail, state, allowed } => ApiError::Conflict(Json(Problem {
                state: Some(Box::new(state)),
                allowed_steps: Some(Box::new(allowed)),
                ..Problem::new(StatusCode::CONFLICT, "illegal-step", detail)
            })),
            DomainError::Stale(detail) => ApiError::PreconditionFailed(Json(Problem::new(
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                format!("{detail}: read it again and retry with its new ETag"),
            ))),
            error @ DomainError::IdempotencyKeyReused => ApiError::unprocessable("Idempotency-Key", error.to_string()),
            DomainError::InvalidCredentials => ApiError::invalid_credentials(),
            error @ DomainError::Busy => {
                ApiError::Unavailable(Json(Problem::new(StatusCode::SERVICE_UNAVAILABLE, "busy", error.to_string())))
            }
            DomainError::Database(sea_orm::DbErr::ConnectionAcquire(_)) => ApiError::Unavailable(Json(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "every database connection is in use; retry in a few seconds".to_owned(),
            ))),
            error if error.is_statement_timeout() => ApiError::Unavailable(Json(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "the database took longer than the server allows for one query; narrow the filters or retry later"
                    .to_owned(),
            ))),
            DomainError::Unavailable(detail) => {
                tracing::error!(detail = %detail, "a write needs what the server does not have");
                ApiError::Unavailable(Json(Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)))
            }
            other => ApiError::internal(&other),
        }
    }
}

/// The problem for any error poem or poem-openapi raised.
pub fn problem_for(error: &poem::Error) -> Problem {
    use poem_openapi::error::{ParseParamError, ParseRequestPayloadError};
    if let Some(param) = error.downcast_ref::<ParseParamError>() {
        return Problem::invalid_param(param.name, plain_reason(&param.reason));
    }
    if let Some(payload) = error.downcast_ref::<ParseRequestPayloadError>() {
        return Problem::new(StatusCode::BAD_REQUEST, "invalid-body", plain_reason(&payload.reason));
    }
    let status = error.status();
    let (kind, detail) = match status {
        StatusCode::NOT_FOUND => ("not-found", "no resource at this path".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "this path does not accept this method".to_owned()),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload-too-large", error.to_string()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", error.to_string()),
        status if status.is_server_error() => {
            tracing::error!(error = %error, "request failed");
            (
                "internal",
                "the server failed to answer; the failure is logged under this response's X-Request-Id".to_owned(),
            )
        }
        _ => ("bad-request", error.to_string()),
    };
    Problem::new(status, kind, detail)
}

/// poem-openapi's parse and validation messages in a person's words: what is wrong and what
/// is allowed (`failed to parse "string_date": … (occurred while parsing …)` becomes
/// "must be a day as YYYY-MM-DD…", `verification failed. maximum(100, exclusive: false)`
/// becomes "must be at most 100").
pub fn plain_reason(reason: &str) -> String {
    let reason = reason.split(" (occurred while parsing").next().unwrap_or(reason).trim();
    // A body's field: `… field `title` verification failed. maxLength(500)`.
    if let Some((head, check)) = reason.split_once("verification failed. ") {
        let head = head.trim_end();
        let plain = plain_check(check.trim());
        return if head.is_empty() { plain } else { format!("{head} {plain}") };
    }
    let kind = reason.strip_prefix("failed to parse \"").and_then(|rest| rest.split('"').next()).unwrap_or("");
    match kind {
        "string_date" | "optional_string_date" => {
            "must be a day as YYYY-MM-DD, between 1900-01-01 and 2100-12-31".to_owned()
        }
        k if k.contains("date-time") => "must be a time in RFC 3339, such as 2026-03-27T05:00:00Z".to_owned(),
        k if k.starts_with("integer") => "must be a whole number".to_owned(),
        k if k.starts_with("boolean") => "must be true or false".to_owned(),
        _ => reason.to_owned(),
    }
}

/// One validator's text (`maximum(100, exclusive: false)`) in plain words.
fn plain_check(check: &str) -> String {
    let Some((name, argument)) = check.split_once('(') else { return check.to_owned() };
    let argument = argument.strip_suffix(')').unwrap_or(argument);
    let first = argument.split(',').next().unwrap_or(argument).trim();
    let exclusive = argument.contains("exclusive: true");
    match name {
        "maximum" if exclusive => format!("must be less than {first}"),
        "maximum" => format!("must be at most {first}"),
        "minimum" if exclusive => format!("must be more than {first}"),
        "minimum" => format!("must be at least {first}"),
        "maxLength" => format!("must be at most {first} characters long"),
        "minLength" if first == "1" => "must not be empty".to_owned(),
        "minLength" => format!("must be at least {first} characters long"),
        "maxItems" => format!("must have at most {first} items"),
        "minItems" => format!("must have at least {first} items"),
        "pattern" => match argument.trim_matches('"') {
            "^[0-9]{12}$" => "must be 12 digits (a BIN or IIN)".to_owned(),
            "^[0-9]{9}$" => "must be 9 digits (a KATO code)".to_owned(),
            "^[A-Za-z0-9_-]+$" => "must be a cursor this API gave (letters, digits, `-` and `_`)".to_owned(),
            pattern => format!("must match the pattern {pattern}"),
        },
        _ => check.to_owned(),
    }
}

/// The problem as a complete response, for places outside poem-openapi's typed responses.
impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Response::builder().status(status).content_type(PROBLEM_JSON).body(self.to_json_string())
    }
}

#[cfg(test)]
mod plain_words {
    use super::plain_reason;

    #[test]
    fn framework_messages_read_as_what_is_wrong_and_what_is_allowed() {
        let cases = [
            (
                "failed to parse \"string_date\": input contains invalid characters (occurred while parsing \"optional_string_date\")",
                "must be a day as YYYY-MM-DD, between 1900-01-01 and 2100-12-31",
            ),
            ("verification failed. maximum(100, exclusive: false)", "must be at most 100"),
            ("verification failed. minimum(1, exclusive: false)", "must be at least 1"),
            ("verification failed. maxLength(500)", "must be at most 500 characters long"),
            ("verification failed. pattern(\"^[0-9]{12}$\")", "must be 12 digits (a BIN or IIN)"),
            ("failed to parse \"integer_uint64\": invalid digit found in string", "must be a whole number"),
            (
                "failed to parse \"FindingInput\": field `reasoning` verification failed. minLength(1)",
                "failed to parse \"FindingInput\": field `reasoning` must not be empty",
            ),
        ];
        for (framework, plain) in cases {
            assert_eq!(plain_reason(framework), plain, "{framework}");
        }
    }
}
