//! Attachments of findings through HTTP: uploads streamed to the content-addressed store,
//! downloads byte for byte, and who may do which when.
//!
//! The multipart bodies are built by hand, as a browser sends them (the file name as raw
//! UTF-8 in `filename="…"`), which also spares reqwest's `multipart` feature.

use std::path::{Path, PathBuf};

use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use domain::entities::{OrganizationKind, organization};

use crate::helpers::{TestApp, User, assert_problem, spawn_app_with};

/// A small but real PDF: one empty page.
const PDF: &[u8] = b"%PDF-1.4\n\
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n\
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj\n\
trailer << /Root 1 0 R >>\n\
%%EOF\n";

const NAME: &str = "Акт проверки №1.pdf";

const BOUNDARY: &str = "scrutiny-test-boundary-7f3a9c";

/// A server over the demo data whose store is a directory the test can look into.
struct Setup {
    app: TestApp,
    store: tempfile::TempDir,
    member: User,
    citizen: User,
    officer: User,
    target: i64,
    council: i64,
}

async fn setup(adjust: impl FnOnce(&mut api::config::Settings)) -> Setup {
    let store = tempfile::tempdir().expect("temp dir");
    let dir = store.path().join("attachments");
    let app = spawn_app_with(|settings| {
        settings.attachments_dir = Some(dir);
        adjust(settings);
    })
    .await;
    domain::demo::seed(&app.db).await.expect("demo data loads");
    let target = organization::Entity::find()
        .filter(organization::Column::Kind.eq(OrganizationKind::StateBody))
        .order_by_asc(organization::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .expect("the demo data has a state body")
        .id;
    let council = app.get_json(&format!("/v1/councils?host_organization_id={target}")).await["items"][0]["id"]
        .as_i64()
        .expect("every state body has a council");
    Setup {
        member: app.user(&["council_member"], Some(council), None).await,
        citizen: app.user(&["citizen"], None, None).await,
        officer: app.user(&["body_officer"], None, Some(target)).await,
        app,
        store,
        target,
        council,
    }
}

impl Setup {
    /// Every file under the store, relative to it.
    fn stored_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else {
                    out.push(path.strip_prefix(root).unwrap().to_path_buf());
                }
            }
        }
        let mut out = Vec::new();
        walk(self.store.path(), self.store.path(), &mut out);
        out.sort();
        out
    }

    /// A draft filed by the council member.
    async fn draft(&self) -> i64 {
        let body = json!({
            "target_organization_id": self.target,
            "council_id": self.council,
            "title": {"ru": "Мониторинг закупок учебников"},
            "facts": ["Учебники поставлены с опозданием"],
            "recommendations": ["Взыскать неустойку"],
        });
        let response = self.app.request(Method::POST, "/v1/findings", Some(&self.member.token)).json(&body).send();
        let response = response.await.unwrap();
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
    }

    async fn step(&self, id: i64, step: &str) {
        let path = format!("/v1/findings/{id}/{step}");
        let response = self.app.request(Method::POST, &path, Some(&self.member.token)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{step}");
    }

    async fn upload(
        &self,
        id: i64,
        user: Option<&User>,
        name: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> reqwest::Response {
        let path = format!("/v1/findings/{id}/attachments");
        self.app
            .request(Method::POST, &path, user.map(|u| u.token.as_str()))
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(multipart(name, media_type, bytes))
            .send()
            .await
            .expect("request sent")
    }

    async fn get(&self, path: &str, user: Option<&User>) -> reqwest::Response {
        self.app.request(Method::GET, path, user.map(|u| u.token.as_str())).send().await.expect("request sent")
    }
}

/// A `multipart/form-data` body with a text field and the file in `file`.
fn multipart(name: &str, media_type: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nсканы актов\r\n").as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: {media_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

async fn created(response: reqwest::Response) -> Value {
    let status = response.status();
    let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 201, "{body}");
    assert_eq!(location.as_deref(), body["href"].as_str());
    body
}

#[tokio::test]
async fn a_filer_attaches_a_pdf_and_it_downloads_byte_for_byte() {
    let setup = setup(|_| {}).await;
    let id = setup.draft().await;

    let attachment = created(setup.upload(id, Some(&setup.member), NAME, "application/pdf", PDF).await).await;
    assert_eq!(attachment["name"], NAME);
    assert_eq!(attachment["media_type"], "application/pdf");
    assert_eq!(attachment["size"], PDF.len());
    assert_eq!(attachment["sha256"], sha256_hex(PDF));
    assert!(attachment["uploaded_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{attachment}");
    let href = attachment["href"].as_str().unwrap().to_owned();
    assert_eq!(href, format!("/v1/findings/{id}/attachments/{}", attachment["id"]));

    let download = setup.get(&href, Some(&setup.member)).await;
    assert_eq!(download.status(), 200);
    let headers = download.headers().clone();
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["etag"].to_str().unwrap(), format!("\"{}\"", sha256_hex(PDF)));
    assert_eq!(headers["content-length"].to_str().unwrap(), PDF.len().to_string());
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment; filename=\""), "{disposition}");
    assert!(
        disposition.ends_with(
            "filename*=UTF-8''%D0%90%D0%BA%D1%82%20%D0%BF%D1%80%D0%BE%D0%B2%D0%B5%D1%80%D0%BA%D0%B8%20%E2%84%961.pdf"
        ),
        "{disposition}"
    );
    assert_eq!(download.bytes().await.unwrap().as_ref(), PDF);

    let list = setup.get(&format!("/v1/findings/{id}/attachments"), Some(&setup.member)).await;
    assert_eq!(list.status(), 200);
    let list: Value = list.json().await.unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0], attachment);

    // The audit log has it.
    let history = setup.get(&format!("/v1/findings/{id}/history?limit=100"), Some(&setup.member)).await;
    let history: Value = history.json().await.unwrap();
    let attach = history["items"].as_array().unwrap().iter().find(|e| e["action"] == "finding.attach");
    let attach = attach.expect("the upload is audited");
    assert_eq!(attach["object_type"], "finding");
    assert_eq!(attach["after"]["attachment"]["sha256"], sha256_hex(PDF));
}

#[tokio::test]
async fn a_drafts_attachments_are_its_filers_alone() {
    let setup = setup(|_| {}).await;
    let id = setup.draft().await;
    let attachment = created(setup.upload(id, Some(&setup.member), NAME, "application/pdf", PDF).await).await;
    let href = attachment["href"].as_str().unwrap().to_owned();
    let list = format!("/v1/findings/{id}/attachments");

    assert_problem(setup.get(&href, None).await, 404).await;
    assert_problem(setup.get(&list, None).await, 404).await;
    assert_problem(setup.get(&href, Some(&setup.citizen)).await, 404).await;
    assert_eq!(setup.get(&href, Some(&setup.member)).await.status(), 200);
    // Another finding's id does not reach it either.
    let other = setup.draft().await;
    assert_problem(
        setup.get(&format!("/v1/findings/{other}/attachments/{}", attachment["id"]), Some(&setup.member)).await,
        404,
    )
    .await;

    // Published, they are public.
    setup.step(id, "publish").await;
    let download = setup.get(&href, None).await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap().as_ref(), PDF);
    let listed: Value = setup.get(&list, None).await.json().await.unwrap();
    assert_eq!(listed["items"][0]["sha256"], sha256_hex(PDF));
}

#[tokio::test]
async fn the_same_file_twice_is_stored_once() {
    let setup = setup(|_| {}).await;
    let id = setup.draft().await;
    let first = created(setup.upload(id, Some(&setup.member), NAME, "application/pdf", PDF).await).await;
    let second = created(setup.upload(id, Some(&setup.member), "copy.pdf", "application/pdf", PDF).await).await;
    assert_ne!(first["id"], second["id"]);
    assert_eq!(first["sha256"], second["sha256"]);
    assert_eq!(second["name"], "copy.pdf");

    let hash = sha256_hex(PDF);
    let expected = PathBuf::from("attachments").join(&hash[..2]).join(&hash[2..]);
    assert_eq!(setup.stored_files(), vec![expected.clone()]);
    assert_eq!(std::fs::read(setup.store.path().join(expected)).unwrap(), PDF);
}

#[tokio::test]
async fn only_the_filers_attach() {
    let setup = setup(|_| {}).await;
    let id = setup.draft().await;
    // A draft is not there for anyone else.
    assert_problem(setup.upload(id, Some(&setup.officer), NAME, "application/pdf", PDF).await, 404).await;
    setup.step(id, "publish").await;
    let problem = assert_problem(setup.upload(id, Some(&setup.citizen), NAME, "application/pdf", PDF).await, 403).await;
    assert!(problem["detail"].as_str().unwrap().contains("filers"), "{problem}");
    assert_problem(setup.upload(id, Some(&setup.officer), NAME, "application/pdf", PDF).await, 403).await;
    assert_problem(setup.upload(id, None, NAME, "application/pdf", PDF).await, 401).await;
    assert_problem(setup.upload(i64::MAX, Some(&setup.member), NAME, "application/pdf", PDF).await, 404).await;
    assert!(setup.stored_files().is_empty(), "{:?}", setup.stored_files());
}

#[tokio::test]
async fn an_upload_past_the_limit_is_refused_and_leaves_nothing() {
    let setup = setup(|settings| settings.max_attachment_bytes = 1024).await;
    let id = setup.draft().await;

    // Past the limit while streaming.
    let mut big = PDF.to_vec();
    big.resize(4 * 1024, b' ');
    let problem = assert_problem(setup.upload(id, Some(&setup.member), NAME, "application/pdf", &big).await, 413).await;
    assert!(problem["detail"].as_str().unwrap().contains("MiB"), "{problem}");
    assert_eq!(problem["invalid_params"][0]["name"], "file");
    assert!(setup.stored_files().is_empty(), "{:?}", setup.stored_files());

    // Past it by its declared length, refused before it is read.
    let mut huge = PDF.to_vec();
    huge.resize(80 * 1024, b' ');
    assert_problem(setup.upload(id, Some(&setup.member), NAME, "application/pdf", &huge).await, 413).await;
    assert!(setup.stored_files().is_empty(), "{:?}", setup.stored_files());

    // Within it, fine.
    created(setup.upload(id, Some(&setup.member), NAME, "application/pdf", PDF).await).await;
}

#[tokio::test]
async fn content_that_is_not_its_declared_type_is_refused() {
    let setup = setup(|_| {}).await;
    let id = setup.draft().await;
    let problem = assert_problem(setup.upload(id, Some(&setup.member), "photo.png", "image/png", PDF).await, 422).await;
    assert_eq!(problem["invalid_params"][0]["name"], "file");
    assert!(problem["invalid_params"][0]["reason"].as_str().unwrap().contains("PDF"), "{problem}");

    let problem =
        assert_problem(setup.upload(id, Some(&setup.member), "page.html", "text/html", b"<html>").await, 422).await;
    assert_eq!(problem["invalid_params"][0]["name"], "file");
    assert!(setup.stored_files().is_empty(), "{:?}", setup.stored_files());

    // Not multipart at all.
    let response = setup
        .app
        .request(Method::POST, &format!("/v1/findings/{id}/attachments"), Some(&setup.member.token))
        .json(&json!({"file": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 415).await;
}

#[tokio::test]
async fn nothing_is_attached_once_the_finding_is_completed() {
    let setup = setup(|_| {}).await;
    let id = setup.draft().await;
    setup.step(id, "publish").await;
    created(setup.upload(id, Some(&setup.member), NAME, "application/pdf", PDF).await).await;
    setup.step(id, "complete").await;
    let problem = assert_problem(setup.upload(id, Some(&setup.member), NAME, "application/pdf", PDF).await, 409).await;
    assert!(problem["detail"].as_str().unwrap().contains("completed"), "{problem}");
    // What was attached stays readable.
    let listed: Value = setup.get(&format!("/v1/findings/{id}/attachments"), None).await.json().await.unwrap();
    assert_eq!(listed["total"], 1);
}
