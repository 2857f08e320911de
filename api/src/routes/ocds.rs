//! The procurement data as Open Contracting Data Standard 1.1.5 release and record packages.
//! The mapping lives in `domain::ocds`; this module adds the URLs the packages name.

use poem::Request;
use poem::http::uri::Authority;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use sea_orm::DatabaseConnection;
use serde_json::Value;

use domain::ocds;

use super::ApiTags;
use crate::error::{ApiError, ApiResult};

pub struct OcdsApi {
    pub db: DatabaseConnection,
}

#[derive(ApiResponse)]
pub enum ReleasePackageResponse {
    /// An OCDS 1.1.5 release package (`release-package-schema.json`) holding one page of
    /// compiled releases; `links.next` is the next page's absolute URL, absent on the last page.
    #[oai(status = 200)]
    Ok(Json<Value>),
}

#[derive(ApiResponse)]
pub enum RecordPackageResponse {
    /// An OCDS 1.1.5 record package (`record-package-schema.json`) holding the one record of
    /// this contracting process.
    #[oai(status = 200)]
    Ok(Json<Value>),
}

const RELEASES_PATH: &str = "/v1/ocds/releases";
const RECORDS_PATH: &str = "/v1/ocds/records";

#[OpenApi(tag = "ApiTags::Ocds")]
impl OcdsApi {
    /// List OCDS releases
    ///
    /// Every contracting process as an Open Contracting Data Standard 1.1.5 **release package**
    /// (<https://standard.open-contracting.org/1.1/en/schema/>; the body follows OCP's
    /// `release-package-schema.json`, too large a schema to repeat here). Each release is a
    /// compiled release (`tag: ["compiled"]`) of one process: a tender with its lots, the plan
    /// items behind them (`planning`), published bids, awards, contracts with amendments, and
    /// treasury payments as `contracts[].implementation.transactions`; or a contract signed
    /// without a tender (single source), with the award it implies.
    ///
    /// Processes come tenders first, then direct contracts, a page at a time: follow
    /// `links.next` until it is absent. The ocid is `ocds-scrtny-{source}-{upstream id}` of the
    /// tender, or of the direct contract (`ocds-scrtny` is a placeholder prefix: it is not
    /// registered with the Open Contracting Partnership). Release ids name their content, so an
    /// unchanged process keeps its id and a changed one gets a new one.
    ///
    /// Parties are identified by BIN (`KZ-BIN-…`, identifier scheme `KZ-BIN`). Text is in
    /// Russian, with Kazakh and English in `…_kk` and `…_en` fields. `procurementMethod` uses
    /// the OCDS `method` codelist (price quotations are `open`: anyone may quote) and
    /// `procurementMethodDetails` the source's method; statuses use the OCDS codelists, with the
    /// source's status in `statusDetails`. Amounts are JSON numbers, exact to the tiyn.
    /// Extensions used: lots, bids, planning items and status details, listed in `extensions`.
    ///
    /// With nothing to publish, `releases` is empty, although the schema asks for at least one.
    #[oai(path = "/v1/ocds/releases", method = "get", operation_id = "listOcdsReleases")]
    async fn releases(
        &self,
        request: &Request,
        /// Releases per page, 1 to 100; 20 when absent.
        #[oai(name = "limit", validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Where to start: the `cursor` from a previous package's `links.next`. Opaque.
        #[oai(name = "cursor")]
        cursor: Query<Option<String>>,
    ) -> ApiResult<ReleasePackageResponse> {
        let limit = crate::lists::page_limit(limit.0)?;
        let after = cursor.0.as_deref().map(ocds::decode_cursor).transpose()?;
        let page = ocds::releases(&self.db, after.as_ref(), limit).await?;
        let base = base_url(request);
        let page_url = |cursor: Option<&str>| match cursor {
            Some(cursor) => format!("{base}{RELEASES_PATH}?limit={}&cursor={cursor}", limit.get()),
            None => format!("{base}{RELEASES_PATH}?limit={}", limit.get()),
        };
        let uri = page_url(cursor.0.as_deref());
        let next = page.next.map(|cursor| page_url(Some(&cursor.encode())));
        Ok(ReleasePackageResponse::Ok(Json(ocds::release_package(&uri, page.releases, next))))
    }

    /// Get an OCDS record
    ///
    /// One contracting process as an Open Contracting Data Standard 1.1.5 **record package**
    /// (<https://standard.open-contracting.org/1.1/en/schema/>; the body follows OCP's
    /// `record-package-schema.json`). Its one record holds the `compiledRelease` (the same
    /// release `GET /v1/ocds/releases` lists) and, in `releases`, a link to a release package
    /// that holds exactly that release. No `versionedRelease` is published: Scrutiny keeps the
    /// current state of each record, not its history.
    #[oai(path = "/v1/ocds/records/:ocid", method = "get", operation_id = "getOcdsRecord")]
    async fn record(
        &self,
        request: &Request,
        /// The contracting process's ocid, e.g. `ocds-scrtny-demo-tender-00001`.
        #[oai(name = "ocid")]
        ocid: Path<String>,
    ) -> ApiResult<RecordPackageResponse> {
        let record = ocds::record(&self.db, &ocid.0)
            .await?
            .ok_or_else(|| ApiError::not_found(&format!("contracting process {}", ocid.0)))?;
        let base = base_url(request);
        let uri = format!("{base}{RECORDS_PATH}/{}", encode_path_segment(&record.ocid));
        let release_package_url = format!("{base}{RELEASES_PATH}?limit=1&cursor={}", record.cursor.encode());
        Ok(RecordPackageResponse::Ok(Json(ocds::record_package(&uri, record, &release_package_url))))
    }
}

/// Where clients reached this server, for the absolute URLs OCDS packages need: the `Host` the
/// request names, over the scheme a TLS-terminating proxy reports in `X-Forwarded-Proto`.
/// `X-Forwarded-Host` is ignored: shared caches do not key on it, so honouring it would let
/// one client plant foreign URLs in the responses others get.
fn base_url(request: &Request) -> String {
    let header = |name: &str| request.headers().get(name).and_then(|value| value.to_str().ok());
    let scheme = match header("x-forwarded-proto") {
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    // A host and optional port; anything else (user info, junk) would make invalid URIs.
    let authority = header("host")
        .and_then(|host| host.parse::<Authority>().ok())
        .filter(|authority| !authority.as_str().contains('@'))
        .map_or_else(|| "localhost".to_owned(), |authority| authority.as_str().to_owned());
    format!("{scheme}://{authority}")
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so an upstream id with a
/// slash or space stays one valid path segment.
fn encode_path_segment(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_keep_unreserved_characters_and_encode_the_rest() {
        assert_eq!(encode_path_segment("ocds-scrtny-demo-tender-00001"), "ocds-scrtny-demo-tender-00001");
        assert_eq!(encode_path_segment("a/b c№"), "a%2Fb%20c%E2%84%96");
    }

    #[test]
    fn the_base_url_comes_from_a_valid_host_only() {
        let request = |headers: &[(&str, &str)]| {
            let mut builder = Request::builder();
            for (name, value) in headers {
                builder = builder.header(*name, *value);
            }
            builder.finish()
        };
        assert_eq!(base_url(&request(&[("host", "127.0.0.1:8080")])), "http://127.0.0.1:8080");
        assert_eq!(
            base_url(&request(&[("host", "scrutiny.kz"), ("x-forwarded-proto", "https")])),
            "https://scrutiny.kz"
        );
        assert_eq!(base_url(&request(&[("host", "evil@scrutiny.kz")])), "http://localhost");
        assert_eq!(base_url(&request(&[("host", "a b")])), "http://localhost");
        assert_eq!(
            base_url(&request(&[("host", "scrutiny.kz"), ("x-forwarded-host", "evil.example")])),
            "http://scrutiny.kz"
        );
        assert_eq!(base_url(&request(&[])), "http://localhost");
    }
}
