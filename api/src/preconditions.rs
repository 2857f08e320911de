//! The headers of conditional and repeatable writes: an object's version as its `ETag`,
//! `If-Match` on updates (428 without it, 412 when stale), and `Idempotency-Key` on
//! creating POSTs.

use poem::Request;
use poem_openapi::types::ToJSON;

use domain::writes::IdempotencyKey;

use crate::error::{ApiError, ApiResult};

/// The strong ETag of version `version` of object `kind` `id`, e.g. `"account-7-v3"`.
/// Representations in other languages of the same version share the version part: a tag
/// may carry a suffix after a `.` (`"council-2-v5.kk"`), which `If-Match` ignores.
pub fn etag(kind: &str, id: i64, version: i64) -> String {
    format!("\"{kind}-{id}-v{version}\"")
}

/// The same, for one of several representations of the version (a language, say).
pub fn etag_of_variant(kind: &str, id: i64, version: i64, variant: &str) -> String {
    format!("\"{kind}-{id}-v{version}.{variant}\"")
}

/// The version an update expects, from `If-Match`: 428 without the header; the first tag
/// naming this object gives the version, and a header naming none of its versions gets 412
/// (RFC 9110 §13.1.1: a weak tag never matches).
/// `If-Match: *` matches whatever version is current (`None`).
pub fn expected_version(kind: &str, id: i64, if_match: Option<&str>) -> ApiResult<Option<i64>> {
    let Some(header) = if_match else { return Err(ApiError::precondition_required()) };
    if header.trim() == "*" {
        return Ok(None);
    }
    let prefix = format!("{kind}-{id}-v");
    let version = header.split(',').map(str::trim).find_map(|tag| {
        let inner = tag.strip_prefix('"')?.strip_suffix('"')?;
        let version = inner.strip_prefix(&prefix)?;
        version.split('.').next()?.parse::<i64>().ok()
    });
    // A tag that names no version of this object cannot match the current one: -1 is never
    // a version, so the domain answers 412 with the current version in its detail.
    Ok(Some(version.unwrap_or(-1)))
}

/// The idempotency key of a creating request, hashed with its parsed body. The header is
/// read from the request itself: poem-openapi drops a value that is not visible ASCII as if
/// it were absent, and a client must not believe a retry is safe when it is not.
pub fn idempotency_key(req: &Request, declared: Option<&str>, body: &impl ToJSON) -> ApiResult<Option<IdempotencyKey>> {
    let key = match declared {
        Some(key) => key,
        None if req.headers().contains_key("idempotency-key") => {
            return Err(ApiError::unprocessable("Idempotency-Key", "must be 1 to 255 printable ASCII characters"));
        }
        None => return Ok(None),
    };
    Ok(Some(IdempotencyKey::new(key, &body.to_json())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_names_a_version_of_this_object() {
        assert_eq!(expected_version("account", 7, Some("\"account-7-v3\"")).unwrap(), Some(3));
        assert_eq!(expected_version("council", 2, Some("W/\"x\", \"council-2-v5.kk\"")).unwrap(), Some(5));
        assert_eq!(expected_version("account", 7, Some("\"account-8-v3\"")).unwrap(), Some(-1));
        assert_eq!(expected_version("account", 7, Some("W/\"account-7-v3\"")).unwrap(), Some(-1));
        assert_eq!(expected_version("account", 7, Some("*")).unwrap(), None);
        assert!(matches!(expected_version("account", 7, None), Err(ApiError::PreconditionRequired(_))));
    }
}
