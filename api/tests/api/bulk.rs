//! Bulk downloads: whole datasets, gzip-compressed, as CSV and JSON Lines.

use std::io::Read;

use domain::demo;
use flate2::read::GzDecoder;
use serde_json::Value;

use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with, spawn_seeded_app};

async fn download(app: &crate::helpers::TestApp, name: &str) -> String {
    let response = app.get(&format!("/v1/bulk/{name}")).await;
    assert_eq!(response.status(), 200, "{name}");
    assert_eq!(response.headers()["content-type"], "application/gzip");
    assert_eq!(response.headers()["content-disposition"], format!("attachment; filename={name}").as_str());
    let compressed = response.bytes().await.unwrap();
    let mut text = String::new();
    GzDecoder::new(&compressed[..]).read_to_string(&mut text).expect("valid gzip");
    text
}

#[tokio::test]
async fn every_dataset_downloads_whole_in_both_formats() {
    let app = spawn_seeded_app().await;
    let counts = demo::generate().unwrap().counts();
    let index = app.get_json("/v1/bulk").await;
    let files = index["files"].as_array().unwrap();
    assert_eq!(files.len(), 16);
    for (dataset, expected) in [
        ("organizations", counts.organizations),
        ("plan-items", counts.plan_items),
        ("tenders", counts.tenders),
        ("lots", counts.lots),
        ("contracts", counts.contracts),
        ("payments", counts.payments),
        ("decisions", counts.decisions),
    ] {
        let csv = download(&app, &format!("{dataset}.csv.gz")).await;
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        assert_eq!(reader.headers().unwrap().get(0), Some("id"), "{dataset}");
        assert_eq!(reader.records().count() as u64, expected, "{dataset}.csv.gz");

        let jsonl = download(&app, &format!("{dataset}.jsonl.gz")).await;
        let lines: Vec<Value> = jsonl.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        assert_eq!(lines.len() as u64, expected, "{dataset}.jsonl.gz");
        assert!(lines.iter().all(|line| line["provenance"]["source"] == "demo"), "{dataset}");
        assert!(files.iter().any(|f| f["href"] == format!("/v1/bulk/{dataset}.jsonl.gz").as_str()));
    }
    // JSON Lines keep every language of a name.
    let orgs = download(&app, "organizations.jsonl.gz").await;
    let first: Value = serde_json::from_str(orgs.lines().next().unwrap()).unwrap();
    assert!(first["name"]["ru"].is_string() && first["name"]["kk"].is_string() && first["name"]["en"].is_string());
}

#[tokio::test]
async fn an_empty_dataset_is_a_valid_file_and_an_unknown_one_is_a_problem() {
    let app = spawn_app().await;
    let csv = download(&app, "payments.csv.gz").await;
    assert_eq!(csv.lines().count(), 1, "just the header");
    assert_eq!(download(&app, "payments.jsonl.gz").await, "");
    let problem = assert_problem(app.get("/v1/bulk/payments.xlsx").await, 400).await;
    assert_eq!(problem["invalid_params"][0]["name"], "file");
}

/// The Data Package names every CSV bulk file with its columns in file order, typed so that
/// codes stay text: a tool reading it gets BINs with their leading zeros.
#[tokio::test]
async fn the_data_package_describes_every_csv_bulk_file_column_by_column() {
    let app = spawn_seeded_app().await;
    let package = app.get_json("/v1/bulk/datapackage.json").await;
    assert_eq!(package["profile"], "tabular-data-package");
    let resources = package["resources"].as_array().unwrap();
    let index = app.get_json("/v1/bulk").await;
    let csv_files = index["files"].as_array().unwrap().iter().filter(|f| f["media_type"] == "text/csv").count();
    assert_eq!(resources.len(), csv_files, "one resource per CSV bulk file");
    for resource in resources {
        let path = resource["path"].as_str().unwrap();
        let gzipped = app.get(&format!("/v1/bulk/{path}")).await.bytes().await.unwrap();
        let mut text = String::new();
        GzDecoder::new(&gzipped[..]).read_to_string(&mut text).unwrap();
        let header: Vec<String> =
            csv::Reader::from_reader(text.as_bytes()).headers().unwrap().iter().map(str::to_owned).collect();
        let fields: Vec<String> = resource["schema"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|field| field["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(fields, header, "{path}");
        let type_of = |name: &str| {
            resource["schema"]["fields"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["name"] == name)
                .map(|f| f["type"].clone())
        };
        for column in header.iter().filter(|c| c.ends_with("bin") || c.ends_with("kato") || *c == "upstream_id") {
            assert_eq!(type_of(column).unwrap(), "string", "{path}: {column}");
        }
        if let Some(amount) = type_of("amount") {
            assert_eq!(amount, "number", "{path}");
        }
    }
    let contracts = resources.iter().find(|r| r["name"] == "contracts").unwrap();
    let signed = contracts["schema"]["fields"].as_array().unwrap().iter().find(|f| f["name"] == "signed_at").unwrap();
    assert_eq!(signed["type"], "datetime");
}

/// A server whose bulk files are built in a directory the test can look into.
async fn app_with_bulk_dir() -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let app = spawn_app_with(move |settings| settings.bulk_dir = Some(path)).await;
    (app, dir)
}

/// The names in the bulk directory, sorted.
fn stored(dir: &tempfile::TempDir) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

async fn data_version(app: &TestApp) -> i64 {
    domain::cache::ResultCache::data_version(&app.db).await.unwrap()
}

fn header<'r>(response: &'r reqwest::Response, name: &str) -> &'r str {
    response.headers().get(name).unwrap_or_else(|| panic!("no {name}")).to_str().unwrap()
}

async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.client.get(format!("{}{path}", app.address));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    GzDecoder::new(bytes).read_to_string(&mut text).expect("valid gzip");
    text
}

/// The first download at a version builds the file into the bulk directory; the next ones
/// are served from it, unchanged on disk, with the same strong ETag.
#[tokio::test]
async fn a_second_download_at_the_same_version_is_served_from_storage_without_a_rebuild() {
    use std::os::unix::fs::MetadataExt;
    let (app, dir) = app_with_bulk_dir().await;
    app.insert_suppliers("Поставщик", 3).await;
    let version = data_version(&app).await;

    let first = app.get("/v1/bulk/organizations.csv.gz").await;
    assert_eq!(first.status(), 200);
    let etag = header(&first, "etag").to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"), "strong: {etag}");
    assert_eq!(header(&first, "accept-ranges"), "bytes");
    assert!(header(&first, "last-modified").ends_with(" GMT"));
    let length: usize = header(&first, "content-length").parse().unwrap();
    let bytes = first.bytes().await.unwrap();
    assert_eq!(bytes.len(), length);
    assert_eq!(gunzip(&bytes).lines().count(), 4, "the header and three rows");

    let name = format!("organizations.csv.gz.v{version}");
    assert_eq!(stored(&dir), std::slice::from_ref(&name), "built once, named by file and version");
    let path = dir.path().join(&name);
    let built = std::fs::metadata(&path).unwrap();
    assert_eq!(built.len() as usize, length);

    for _ in 0..3 {
        let again = app.get("/v1/bulk/organizations.csv.gz").await;
        assert_eq!(again.status(), 200);
        assert_eq!(header(&again, "etag"), etag);
        assert_eq!(again.bytes().await.unwrap(), bytes);
    }
    let after = std::fs::metadata(&path).unwrap();
    assert_eq!((after.ino(), after.modified().unwrap()), (built.ino(), built.modified().unwrap()), "not rebuilt");
    assert_eq!(stored(&dir), [name]);

    // Concurrent first downloads of another file share one build.
    let downloads: Vec<_> = (0..6).map(|_| app.get("/v1/bulk/organizations.jsonl.gz")).collect();
    let mut tags = Vec::new();
    for response in futures_util::future::join_all(downloads).await {
        assert_eq!(response.status(), 200);
        tags.push(header(&response, "etag").to_owned());
        assert_eq!(gunzip(&response.bytes().await.unwrap()).lines().count(), 3);
    }
    assert!(tags.windows(2).all(|pair| pair[0] == pair[1]), "{tags:?}");
    assert_eq!(stored(&dir).len(), 2, "one file each, no temporary left: {:?}", stored(&dir));
}

/// A write builds a new version with new content and a new ETag; the old version's file is
/// deleted, and `If-None-Match` revalidates against the current one.
#[tokio::test]
async fn a_write_changes_the_etag_and_the_content_and_old_versions_are_removed() {
    let (app, dir) = app_with_bulk_dir().await;
    app.insert_suppliers("Старый", 2).await;
    let before = app.get("/v1/bulk/organizations.jsonl.gz").await;
    let old_tag = header(&before, "etag").to_owned();
    assert_eq!(gunzip(&before.bytes().await.unwrap()).lines().count(), 2);

    let unchanged = get_with(&app, "/v1/bulk/organizations.jsonl.gz", &[("if-none-match", &old_tag)]).await;
    assert_eq!(unchanged.status(), 304);
    assert_eq!(header(&unchanged, "etag"), old_tag);
    assert!(unchanged.bytes().await.unwrap().is_empty());
    let listed = format!("\"other\", {old_tag}");
    let unchanged = get_with(&app, "/v1/bulk/organizations.jsonl.gz", &[("if-none-match", &listed)]).await;
    assert_eq!(unchanged.status(), 304, "a tag in a list");

    app.insert_suppliers("Новый", 1).await;
    let version = data_version(&app).await;
    let after = get_with(&app, "/v1/bulk/organizations.jsonl.gz", &[("if-none-match", &old_tag)]).await;
    assert_eq!(after.status(), 200, "the client's copy is stale");
    let new_tag = header(&after, "etag").to_owned();
    assert_ne!(new_tag, old_tag);
    let text = gunzip(&after.bytes().await.unwrap());
    assert_eq!(text.lines().count(), 3);
    assert!(text.contains("Новый 0"), "{text}");
    assert_eq!(stored(&dir), [format!("organizations.jsonl.gz.v{version}")], "the old version is gone");

    let current = get_with(&app, "/v1/bulk/organizations.jsonl.gz", &[("if-none-match", &new_tag)]).await;
    assert_eq!(current.status(), 304);
}

/// Single ranges get 206 with exactly those bytes, and consecutive ranges reassemble the file;
/// several ranges at once get the whole file; `If-Range` with a stale tag gets the whole file.
#[tokio::test]
async fn ranges_give_exactly_those_bytes_and_reassemble_the_file() {
    let (app, _dir) = app_with_bulk_dir().await;
    app.insert_suppliers("Поставщик", 200).await;
    let path = "/v1/bulk/organizations.csv.gz";
    let whole = app.get(path).await;
    let etag = header(&whole, "etag").to_owned();
    let whole = whole.bytes().await.unwrap();
    let len = whole.len();
    assert!(len > 1000, "{len}");

    let part = |range: String| {
        let app = &app;
        async move { get_with(app, path, &[("range", &range)]).await }
    };
    let first = part("bytes=0-99".into()).await;
    assert_eq!(first.status(), 206);
    assert_eq!(header(&first, "content-range"), format!("bytes 0-99/{len}"));
    assert_eq!(header(&first, "content-length"), "100");
    assert_eq!(header(&first, "etag"), etag);
    assert_eq!(header(&first, "content-type"), "application/gzip");
    let mut reassembled = first.bytes().await.unwrap().to_vec();
    let middle = part(format!("bytes=100-{}", len / 2)).await;
    assert_eq!(middle.status(), 206);
    reassembled.extend_from_slice(&middle.bytes().await.unwrap());
    let rest = part(format!("bytes={}-", len / 2 + 1)).await;
    assert_eq!(rest.status(), 206);
    assert_eq!(header(&rest, "content-range"), format!("bytes {}-{}/{len}", len / 2 + 1, len - 1));
    reassembled.extend_from_slice(&rest.bytes().await.unwrap());
    assert_eq!(reassembled, whole.to_vec(), "the parts make the file");

    let suffix = part("bytes=-50".into()).await;
    assert_eq!(suffix.status(), 206);
    assert_eq!(header(&suffix, "content-range"), format!("bytes {}-{}/{len}", len - 50, len - 1));
    assert_eq!(suffix.bytes().await.unwrap(), whole.slice(len - 50..));
    let past_the_end = part(format!("bytes={}-{}", len - 10, len + 1000)).await;
    assert_eq!(past_the_end.bytes().await.unwrap(), whole.slice(len - 10..), "clamped to the end");

    let several = part("bytes=0-9,20-29".into()).await;
    assert_eq!(several.status(), 200, "several ranges get the whole file");
    assert_eq!(several.bytes().await.unwrap(), whole);
    let malformed = part("bytes=9-0".into()).await;
    assert_eq!(malformed.status(), 200, "a malformed range is ignored");

    let resumed = get_with(&app, path, &[("range", "bytes=10-19"), ("if-range", &etag)]).await;
    assert_eq!(resumed.status(), 206);
    assert_eq!(resumed.bytes().await.unwrap(), whole.slice(10..20));
    let changed = get_with(&app, path, &[("range", "bytes=10-19"), ("if-range", "\"another\"")]).await;
    assert_eq!(changed.status(), 200, "the file changed since: all of it");
    assert_eq!(changed.bytes().await.unwrap(), whole);
    let fresh = get_with(&app, path, &[("range", "bytes=10-19"), ("if-none-match", &etag)]).await;
    assert_eq!(fresh.status(), 304, "If-None-Match comes before Range");
}

#[tokio::test]
async fn a_range_past_the_end_gets_416_with_the_size() {
    let (app, _dir) = app_with_bulk_dir().await;
    let path = "/v1/bulk/payments.csv.gz";
    let len = app.get(path).await.bytes().await.unwrap().len();
    for range in [format!("bytes={len}-"), format!("bytes={}-{}", len + 10, len + 20), "bytes=-0".to_owned()] {
        let response = get_with(&app, path, &[("range", &range)]).await;
        assert_eq!(header(&response, "content-range"), format!("bytes */{len}"), "{range}");
        let problem = assert_problem(response, 416).await;
        assert_eq!(problem["type"], "/problems/range-not-satisfiable");
    }
}

/// Findings files have columns derived from the date (`overdue`), so they are rebuilt when
/// the day changes even without a write; the content decides the ETag, so it stays the same
/// when nothing in them changed.
#[tokio::test]
async fn findings_files_are_rebuilt_when_the_day_changes() {
    let (app, dir) = app_with_bulk_dir().await;
    let today = domain::findings::calendar::kazakhstan_date(app.clock.now());
    let first = app.get("/v1/bulk/findings.csv.gz").await;
    assert_eq!(first.status(), 200);
    let etag = header(&first, "etag").to_owned();
    let version = data_version(&app).await;
    assert_eq!(stored(&dir), [format!("findings.csv.gz.v{version}-{}", today.format("%Y%m%d"))]);

    app.clock.advance(chrono::Duration::days(1));
    let tomorrow = domain::findings::calendar::kazakhstan_date(app.clock.now());
    let next = app.get("/v1/bulk/findings.csv.gz").await;
    assert_eq!(header(&next, "etag"), etag, "no finding, so the same bytes");
    assert_eq!(stored(&dir), [format!("findings.csv.gz.v{version}-{}", tomorrow.format("%Y%m%d"))]);
}
