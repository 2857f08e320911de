//! Attachments of scrutiny findings: uploads streamed to the content-addressed store on disk,
//! listed and downloaded as the finding is visible (a draft's are its filers' alone).
//!
//! An upload is checked before its body is read (the caller, the finding, its state and the
//! declared length), so a refused upload costs nothing; the `file` part then streams chunk
//! by chunk through `domain::findings::attachments::AttachmentWriter`, which hashes it and
//! enforces `max_attachment_bytes`. The general body limit does not apply to this operation
//! (see `middleware::BodyLimit`).

use std::path::PathBuf;
use std::sync::Arc;

use poem::http::StatusCode;
use poem::http::header::CONTENT_TYPE;
use poem::web::Multipart;
use poem::{Body, FromRequest, Request, RequestBody};
use poem_openapi::param::Path;
use poem_openapi::payload::{self, Binary, Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::{ApiResponse, Object, OpenApi};
use tokio::io::AsyncReadExt;

use domain::findings::Findings;
use domain::findings::attachments::{self, AttachmentStore, AttachmentView, StoreError};

use super::ApiTags;
use crate::auth::{Auth, BearerAuth, MaybeBearer};
use crate::config::Settings;
use crate::dto::{Links, Page, Timestamp};
use crate::error::{ApiError, ApiResult, InvalidParam, Problem};

/// What a multipart body may carry besides the file's bytes: boundaries, part headers and
/// small form fields.
pub const MULTIPART_OVERHEAD: u64 = 64 * 1024;

/// The multipart field that carries the file.
const FILE_FIELD: &str = "file";

pub struct AttachmentsApi {
    pub findings: Findings,
    pub auth: Arc<Auth>,
    pub store: Arc<AttachmentStore>,
    /// The largest file accepted (`max_attachment_bytes`).
    pub max_bytes: u64,
}

/// Where attachments are stored: `attachments_dir`, else beside a SQLite database file
/// (`<file>.attachments/`). A PostgreSQL (or in-memory SQLite) install must name one.
pub fn store_dir(settings: &Settings) -> Result<PathBuf, String> {
    if let Some(dir) = &settings.attachments_dir {
        return Ok(dir.clone());
    }
    match settings.database_url.sqlite_file() {
        Some(file) => {
            let mut dir = file.into_os_string();
            dir.push(".attachments");
            Ok(PathBuf::from(dir))
        }
        None => Err("findings' attachments need a directory: set `attachments_dir` (SCRUTINY_ATTACHMENTS_DIR); \
                     only a SQLite database file gets one beside it by default"
            .to_owned()),
    }
}

/// A file attached to a finding.
#[derive(Debug, Clone, Object)]
pub struct Attachment {
    /// The attachment's id.
    pub id: i64,
    /// The name it was uploaded under, without directories or control characters (at most
    /// 255 characters).
    pub name: String,
    /// Its media type, e.g. `application/pdf`.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of its content, in lowercase hex: to check a download against.
    pub sha256: String,
    /// When it was attached (RFC 3339, UTC).
    pub uploaded_at: Timestamp,
    /// Where to download it: `/v1/findings/{id}/attachments/{attachment_id}`.
    pub href: String,
}

fn href(view: &AttachmentView) -> String {
    format!("/v1/findings/{}/attachments/{}", view.finding_id, view.id)
}

impl From<AttachmentView> for Attachment {
    fn from(view: AttachmentView) -> Self {
        Attachment {
            href: href(&view),
            id: view.id,
            name: view.name,
            media_type: view.media_type,
            size: view.size,
            sha256: view.sha256,
            uploaded_at: view.uploaded_at.into(),
        }
    }
}

/// An upload's body, taken unread: the operation checks the caller and the finding before it
/// reads a byte.
pub struct Upload(Body);

impl Payload for Upload {
    const CONTENT_TYPE: &'static str = "multipart/form-data";

    fn check_content_type(content_type: &str) -> bool {
        content_type.split(';').next().is_some_and(|essence| essence.trim().eq_ignore_ascii_case(Self::CONTENT_TYPE))
    }

    fn schema_ref() -> MetaSchemaRef {
        let file = MetaSchema {
            format: Some("binary"),
            description: Some(
                "The file, with its name (`filename`) and media type (`Content-Type`) in the part's headers: PDF, \
                 PNG, JPEG, GIF, WebP, plain text, CSV, Word, Excel, PowerPoint or OpenDocument. Without a media \
                 type (or with `application/octet-stream`) the name's extension decides.",
            ),
            ..MetaSchema::new("string")
        };
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            required: vec![FILE_FIELD],
            properties: vec![(FILE_FIELD, MetaSchemaRef::Inline(Box::new(file)))],
            ..MetaSchema::new("object")
        }))
    }
}

impl ParsePayload for Upload {
    const IS_REQUIRED: bool = true;

    async fn from_request(_request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        Ok(Upload(body.take()?))
    }
}

// The two-argument form: the one-argument one calls the macro by a path only poem-openapi has.
poem_openapi::impl_apirequest_for_payload!(Upload,);

#[derive(ApiResponse)]
pub enum AttachmentCreated {
    /// The attachment, stored.
    #[oai(status = 201)]
    Created(
        Json<Attachment>,
        /// Where to download it.
        #[oai(header = "Location")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum AttachmentList {
    /// The finding's attachments, in the order they were attached (at most 50, on one page).
    #[oai(status = 200)]
    Ok(Json<Page<Attachment>>),
}

#[derive(ApiResponse)]
pub enum AttachmentDownload {
    /// The file, streamed, with its own media type as `Content-Type`.
    #[oai(status = 200, content_type = "*/*")]
    Ok(
        Binary<Body>,
        /// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266): browsers save the file
        /// under its name, whatever its script.
        #[oai(header = "Content-Disposition")]
        String,
        /// `nosniff`: browsers take the file as its media type and never guess another.
        #[oai(header = "X-Content-Type-Options")]
        String,
        /// The file's SHA-256 in quotes; the content behind an attachment never changes.
        #[oai(header = "ETag")]
        String,
        /// The file's size in bytes.
        #[oai(header = "Content-Length")]
        u64,
    ),
}

fn too_large(max_bytes: u64) -> ApiError {
    let reason = StoreError::TooLarge { limit: max_bytes }.to_string();
    ApiError::PayloadTooLarge(Json(Problem {
        invalid_params: vec![InvalidParam { name: FILE_FIELD.to_owned(), reason: reason.clone() }],
        ..Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", reason)
    }))
}

fn bad_body(detail: String) -> ApiError {
    ApiError::BadRequest(Json(Problem::new(StatusCode::BAD_REQUEST, "invalid-body", detail)))
}

fn store_error(error: StoreError, max_bytes: u64) -> ApiError {
    match error {
        StoreError::TooLarge { .. } => too_large(max_bytes),
        StoreError::Refused(error) => error.into(),
        StoreError::Upload(error) => bad_body(format!("the upload was cut off or is malformed: {error}")),
        error @ StoreError::Io(_) => ApiError::internal(&error),
    }
}

/// `"a.pdf"` as an RFC 5987 `ext-value`: UTF-8, every byte but `attr-char` percent-encoded.
fn percent_encoded(name: &str) -> String {
    let mut out = String::with_capacity(name.len() * 3);
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `Content-Disposition` for a download (RFC 6266): an ASCII `filename` for old clients (other
/// characters as `_`), and the exact name as `filename*`.
pub fn content_disposition(name: &str) -> String {
    let fallback: String =
        name.chars().map(|c| if (' '..='~').contains(&c) && c != '"' && c != '\\' { c } else { '_' }).collect();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{}", percent_encoded(name))
}

/// The body's declared length, if any.
fn declared_length(req: &Request) -> Option<u64> {
    req.headers().get(poem::http::header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

#[OpenApi(tag = "ApiTags::Findings")]
impl AttachmentsApi {
    /// Attach a file to a finding
    ///
    /// Its filers attach evidence while the finding is a draft or in progress (409 once it is
    /// completed: the final document is fixed), at most 50 files per finding. The body is
    /// `multipart/form-data` with the file in the `file` part: PDF, images (PNG, JPEG, GIF,
    /// WebP), text or CSV, Word, Excel, PowerPoint or OpenDocument, up to
    /// `max_attachment_bytes` (20 MiB unless configured; 413 past it). The content must match
    /// its declared type (422 naming `file` otherwise). Stored once per SHA-256, and recorded
    /// in the audit log as `finding.attach`.
    #[oai(path = "/v1/findings/:id/attachments", method = "post", operation_id = "uploadAttachment")]
    async fn upload(
        &self,
        req: &Request,
        bearer: BearerAuth,
        /// The finding's id.
        #[oai(name = "id")]
        id: Path<i64>,
        body: Upload,
    ) -> ApiResult<AttachmentCreated> {
        let actor = self.auth.actor(&bearer).await?;
        self.findings.may_attach(&actor, id.0).await?;
        if declared_length(req).is_some_and(|length| length > self.max_bytes.saturating_add(MULTIPART_OVERHEAD)) {
            return Err(too_large(self.max_bytes));
        }
        let mut multipart = Multipart::from_request(req, &mut RequestBody::new(body.0))
            .await
            .map_err(|error| bad_body(format!("the multipart body: {error}")))?;
        let mut stored = None;
        let mut other_bytes = 0u64;
        while let Some(field) =
            multipart.next_field().await.map_err(|error| bad_body(format!("the multipart body: {error}")))?
        {
            if field.name() != Some(FILE_FIELD) {
                // Other form fields are read past, within the overhead allowance.
                let mut reader = std::pin::pin!(field.into_async_read());
                let mut sink = [0u8; 8 * 1024];
                loop {
                    let read = reader
                        .read(&mut sink)
                        .await
                        .map_err(|error| bad_body(format!("the upload was cut off or is malformed: {error}")))?;
                    if read == 0 {
                        break;
                    }
                    other_bytes += read as u64;
                    if other_bytes > MULTIPART_OVERHEAD {
                        return Err(too_large(self.max_bytes));
                    }
                }
                continue;
            }
            if stored.is_some() {
                return Err(ApiError::unprocessable(FILE_FIELD, "send one file per request"));
            }
            let media_type = attachments::media_type(field.content_type(), field.file_name())?;
            let name = attachments::file_name(field.file_name(), media_type);
            let mut writer = self.store.writer(self.max_bytes).await.map_err(|e| store_error(e, self.max_bytes))?;
            writer.write_from(field.into_async_read()).await.map_err(|e| store_error(e, self.max_bytes))?;
            stored = Some(writer.finish(&name, media_type).await.map_err(|e| store_error(e, self.max_bytes))?);
        }
        let stored = stored.ok_or_else(|| ApiError::unprocessable(FILE_FIELD, "the body has no `file` part"))?;
        let attachment = Attachment::from(self.findings.attach(&actor, id.0, stored).await?);
        let location = attachment.href.clone();
        Ok(AttachmentCreated::Created(Json(attachment), location))
    }

    /// List a finding's attachments
    ///
    /// Their names, media types, sizes and SHA-256 hashes, in the order they were attached.
    /// A draft's are 404 to anyone but its filers and admins, like the draft.
    #[oai(path = "/v1/findings/:id/attachments", method = "get", operation_id = "listAttachments")]
    async fn list(
        &self,
        bearer: MaybeBearer,
        /// The finding's id.
        #[oai(name = "id")]
        id: Path<i64>,
    ) -> ApiResult<AttachmentList> {
        let actor = self.auth.reader(&bearer).await?;
        let items: Vec<Attachment> =
            self.findings.attachments(&actor, id.0).await?.into_iter().map(Attachment::from).collect();
        let total = items.len() as u64;
        Ok(AttachmentList::Ok(Json(Page { items, total, links: Links { next: None } })))
    }

    /// Download an attachment
    ///
    /// The file as it was uploaded, streamed with its media type, `Content-Disposition:
    /// attachment` (its name, in any script) and `X-Content-Type-Options: nosniff`; its ETag
    /// is its SHA-256. A draft's are 404 to anyone but its filers and admins.
    #[oai(path = "/v1/findings/:id/attachments/:attachment_id", method = "get", operation_id = "downloadAttachment")]
    async fn download(
        &self,
        bearer: MaybeBearer,
        /// The finding's id.
        #[oai(name = "id")]
        id: Path<i64>,
        /// The attachment's id, as the finding's list gives it.
        #[oai(name = "attachment_id")]
        attachment_id: Path<i64>,
    ) -> ApiResult<payload::Response<AttachmentDownload>> {
        let actor = self.auth.reader(&bearer).await?;
        let view = self.findings.attachment(&actor, id.0, attachment_id.0).await?;
        let (file, size) = self.store.open(&view.sha256).await.map_err(|error| {
            tracing::error!(sha256 = %view.sha256, "attachment {} of finding {} is not in the store", view.id, id.0);
            store_error(error, self.max_bytes)
        })?;
        if size != view.size {
            let error = std::io::Error::other(format!(
                "the stored file {} has {size} bytes, its attachment row says {}",
                view.sha256, view.size
            ));
            return Err(ApiError::internal(&error));
        }
        let download = AttachmentDownload::Ok(
            Binary(Body::from_async_read(file)),
            content_disposition(&view.name),
            "nosniff".to_owned(),
            format!("\"{}\"", view.sha256),
            size,
        );
        Ok(payload::Response::new(download).header(CONTENT_TYPE, view.media_type.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_carry_any_name() {
        assert_eq!(
            content_disposition("Акт проверки №1.pdf"),
            "attachment; filename=\"___ ________ _1.pdf\"; \
             filename*=UTF-8''%D0%90%D0%BA%D1%82%20%D0%BF%D1%80%D0%BE%D0%B2%D0%B5%D1%80%D0%BA%D0%B8%20%E2%84%961.pdf"
        );
        assert_eq!(
            content_disposition("a \"b\"\\c.txt"),
            "attachment; filename=\"a _b__c.txt\"; filename*=UTF-8''a%20%22b%22%5Cc.txt"
        );
    }

    #[test]
    fn the_store_lives_beside_a_sqlite_file_or_where_configured() {
        let sqlite = Settings {
            database_url: crate::config::DatabaseUrl("sqlite:///var/lib/scrutiny/scrutiny.db?mode=rwc".into()),
            ..Settings::default()
        };
        assert_eq!(store_dir(&sqlite).unwrap(), PathBuf::from("/var/lib/scrutiny/scrutiny.db.attachments"));
        let postgres =
            Settings { database_url: crate::config::DatabaseUrl("postgres://u@h/db".into()), ..Settings::default() };
        assert!(store_dir(&postgres).unwrap_err().contains("attachments_dir"));
        let configured = Settings { attachments_dir: Some("/srv/files".into()), ..postgres };
        assert_eq!(store_dir(&configured).unwrap(), PathBuf::from("/srv/files"));
    }
}
