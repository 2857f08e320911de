//! Files attached to findings: the evidence behind the facts (scans of contracts, acts,
//! photographs, spreadsheets).
//!
//! The bytes live in a content-addressed [`AttachmentStore`] on disk, one file per SHA-256
//! (`root/ab/cdef…`), so the same file attached twice, to one finding or to many, is stored
//! once. An upload streams through an [`AttachmentWriter`]: each chunk is hashed and written
//! to a temporary file in the store's root while the byte limit is enforced, and only a
//! complete file whose first bytes match its declared media type is synced and renamed under
//! its hash, so a crash or a refused upload never leaves a partial file under a hash name.
//!
//! The rows (`finding_attachments`) keep each attachment's name, media type, size and hash;
//! the filers attach while the finding is a draft or in progress (the final document is fixed
//! at completion), and a draft's attachments are as private as the draft.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufWriter};

use super::service::{Findings, steps_from};
use super::tables::{Status, attachment, finding};
use super::view::{HIDDEN_MARKER, is_filer};
use crate::DomainError;
use crate::accounts::{Actor, Role};
use crate::writes::{hex, random_bytes};

/// The most attachments one finding takes.
pub const MAX_ATTACHMENTS: u64 = 50;

/// The longest attachment name kept, in characters.
pub const MAX_NAME_CHARS: usize = 255;

/// The media types accepted, each with the file name extensions it goes by (the first is
/// the one a nameless upload is given).
pub const MEDIA_TYPES: &[(&str, &[&str])] = &[
    ("application/pdf", &["pdf"]),
    ("image/png", &["png"]),
    ("image/jpeg", &["jpg", "jpeg"]),
    ("image/gif", &["gif"]),
    ("image/webp", &["webp"]),
    ("text/plain", &["txt"]),
    ("text/csv", &["csv"]),
    ("application/msword", &["doc"]),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", &["docx"]),
    ("application/vnd.ms-excel", &["xls"]),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", &["xlsx"]),
    ("application/vnd.oasis.opendocument.text", &["odt"]),
    ("application/vnd.oasis.opendocument.spreadsheet", &["ods"]),
    ("application/vnd.ms-powerpoint", &["ppt"]),
    ("application/vnd.openxmlformats-officedocument.presentationml.presentation", &["pptx"]),
];

/// What the refusal of a media type lists.
const ACCEPTED: &str = "PDF, PNG, JPEG, GIF, WebP, plain text, CSV, Word (.doc, .docx), Excel (.xls, .xlsx), \
                        PowerPoint (.ppt, .pptx) and OpenDocument (.odt, .ods)";

/// The field uploads come in, which errors about the file name.
const FIELD: &str = "file";

/// How many leading bytes are kept to check the content against its declared type.
const HEAD_BYTES: usize = 16;

/// Temporary files start with this, so that stale ones can be told from stored ones.
const TEMP_PREFIX: &str = ".upload-";

/// A limit in bytes as people read it: `20 MiB`, or `0.001 MiB (1024 bytes)` when it is not
/// a whole number of MiB.
pub fn mib(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes.is_multiple_of(MIB) {
        return format!("{} MiB", bytes / MIB);
    }
    let fraction = format!("{:.3}", bytes as f64 / MIB as f64);
    let fraction = fraction.trim_end_matches('0').trim_end_matches('.');
    format!("{fraction} MiB ({bytes} bytes)")
}

/// Why the store did not take a file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file went past the limit; what was written of it is deleted.
    #[error("attachments are limited to {}", mib(*limit))]
    TooLarge { limit: u64 },
    /// The file was refused (its type, its content, its emptiness): a 422 naming `file`.
    #[error(transparent)]
    Refused(DomainError),
    /// Reading the upload failed: the client went away or sent a malformed body.
    #[error("reading the upload: {0}")]
    Upload(std::io::Error),
    /// The disk failed.
    #[error("the attachment store: {0}")]
    Io(#[from] std::io::Error),
}

/// A file in the store, as an attachment row records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    /// SHA-256 of the content, lowercase hex: where the store keeps it.
    pub sha256: String,
    pub size: u64,
    /// The name it was uploaded under (see [`file_name`]).
    pub name: String,
    pub media_type: String,
}

/// An attachment as readers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentView {
    pub id: i64,
    pub finding_id: i64,
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub sha256: String,
    pub uploaded_at: DateTime<Utc>,
}

impl From<attachment::Model> for AttachmentView {
    fn from(row: attachment::Model) -> Self {
        AttachmentView {
            id: row.id,
            finding_id: row.finding_id,
            name: row.name,
            media_type: row.media_type,
            size: u64::try_from(row.size).unwrap_or_default(),
            sha256: row.sha256,
            uploaded_at: row.uploaded_at,
        }
    }
}

fn refused(reason: impl Into<String>) -> StoreError {
    StoreError::Refused(DomainError::invalid(FIELD, reason))
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The accepted media type this declared one is, if any (`image/jpg` is taken as JPEG).
fn accepted(declared: &str) -> Option<&'static str> {
    let essence = declared.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let essence = if essence == "image/jpg" { "image/jpeg".to_owned() } else { essence };
    MEDIA_TYPES.iter().map(|(media_type, _)| *media_type).find(|media_type| *media_type == essence)
}

/// The media type a file name's extension suggests.
fn by_extension(name: &str) -> Option<&'static str> {
    let (_, extension) = name.rsplit_once('.')?;
    let extension = extension.to_ascii_lowercase();
    MEDIA_TYPES
        .iter()
        .find(|(_, extensions)| extensions.contains(&extension.as_str()))
        .map(|(media_type, _)| *media_type)
}

/// The media type to store an upload under: the declared one if it is accepted; when none is
/// declared (or only `application/octet-stream`, as `curl -F` sends), the one the file name's
/// extension suggests. Checked before any content is read; [`AttachmentWriter::finish`] then
/// checks the content against it.
pub fn media_type(declared: Option<&str>, file_name: Option<&str>) -> Result<&'static str, DomainError> {
    let declared = declared.map(str::trim).filter(|d| !d.is_empty());
    let generic = declared.is_none_or(|d| d.to_ascii_lowercase().starts_with("application/octet-stream"));
    if generic {
        return file_name.and_then(by_extension).ok_or_else(|| {
            DomainError::invalid(
                FIELD,
                format!("send the file's media type or a name with its extension; accepted are {ACCEPTED}"),
            )
        });
    }
    let declared = declared.unwrap_or_default();
    accepted(declared)
        .ok_or_else(|| DomainError::invalid(FIELD, format!("media type {declared} is not accepted; attach {ACCEPTED}")))
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The name to keep for an upload: the client's, without any directories, control or
/// bidirectional-override characters, at most [`MAX_NAME_CHARS`] characters (the extension
/// kept when it is cut); `attachment.<ext>` when nothing is left.
pub fn file_name(raw: Option<&str>, media_type: &str) -> String {
    let base = raw.unwrap_or_default().rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control() && !is_bidi_control(*c)).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        let extension = MEDIA_TYPES
            .iter()
            .find(|(m, _)| *m == media_type)
            .and_then(|(_, extensions)| extensions.first())
            .unwrap_or(&"bin");
        return format!("attachment.{extension}");
    }
    if cleaned.chars().count() <= MAX_NAME_CHARS {
        return cleaned.to_owned();
    }
    let extension = cleaned.rfind('.').map(|dot| &cleaned[dot..]).filter(|e| e.chars().count() <= 16).unwrap_or("");
    let stem_chars = MAX_NAME_CHARS - extension.chars().count();
    let stem: String = cleaned[..cleaned.len() - extension.len()].chars().take(stem_chars).collect();
    format!("{}{extension}", stem.trim_end())
}

/// What a file's first bytes say it is, for the types that have a signature.
fn sniff(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"%PDF-") {
        Some("a PDF document")
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("a PNG image")
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("a JPEG image")
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some("a GIF image")
    } else if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        Some("a WebP image")
    } else if head.starts_with(b"PK\x03\x04") {
        Some("a ZIP archive (an Office Open XML or OpenDocument file)")
    } else {
        None
    }
}

/// The signature a declared type needs, as [`sniff`] names it; `None` for types without one
/// (text, and the legacy binary Office formats).
fn signature_of(media_type: &str) -> Option<&'static str> {
    match media_type {
        "application/pdf" => Some("a PDF document"),
        "image/png" => Some("a PNG image"),
        "image/jpeg" => Some("a JPEG image"),
        "image/gif" => Some("a GIF image"),
        "image/webp" => Some("a WebP image"),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        | "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        | "application/vnd.oasis.opendocument.text"
        | "application/vnd.oasis.opendocument.spreadsheet" => {
            Some("a ZIP archive (an Office Open XML or OpenDocument file)")
        }
        _ => None,
    }
}

/// Whether the content's first bytes fit the declared type; the reason when they do not.
fn check_signature(media_type: &str, head: &[u8]) -> Result<(), String> {
    let Some(expected) = signature_of(media_type) else { return Ok(()) };
    let found = sniff(head);
    if found == Some(expected) {
        return Ok(());
    }
    let looks =
        found.map_or_else(|| "its first bytes match no known format".to_owned(), |f| format!("it looks like {f}"));
    Err(format!("declared {media_type}, but the content is not {expected}: {looks}"))
}

/// Files by SHA-256 under `root`: `root/ab/cdef…` (the first two hex digits name the
/// directory). Nothing touches the disk until the first write; directories are made as needed.
#[derive(Debug, Clone)]
pub struct AttachmentStore {
    pub root: PathBuf,
}

impl AttachmentStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        AttachmentStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the file with this hash lives; `None` for anything but 64 lowercase hex digits
    /// (so a stored hash can never name a path outside the store).
    pub fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        is_sha256(sha256).then(|| self.root.join(&sha256[..2]).join(&sha256[2..]))
    }

    /// Starts writing an upload of at most `max_bytes`.
    pub async fn writer(&self, max_bytes: u64) -> Result<AttachmentWriter, StoreError> {
        tokio::fs::create_dir_all(&self.root).await?;
        let temp = self.root.join(format!("{TEMP_PREFIX}{}", hex(&random_bytes::<16>())));
        let file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&temp).await?;
        Ok(AttachmentWriter {
            root: self.root.clone(),
            temp: Some(temp),
            file: Some(BufWriter::with_capacity(128 * 1024, file)),
            hasher: Sha256::new(),
            size: 0,
            max_bytes,
            head: Vec::with_capacity(HEAD_BYTES),
        })
    }

    /// The stored file with this hash, opened for reading, with its size.
    pub async fn open(&self, sha256: &str) -> Result<(tokio::fs::File, u64), StoreError> {
        let path = self.path_of(sha256).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not a SHA-256: {sha256:?}"))
        })?;
        let file = tokio::fs::File::open(&path).await?;
        let size = file.metadata().await?.len();
        Ok((file, size))
    }

    /// Whether a file with this hash is stored.
    pub async fn contains(&self, sha256: &str) -> bool {
        match self.path_of(sha256) {
            Some(path) => tokio::fs::try_exists(path).await.unwrap_or(false),
            None => false,
        }
    }

    /// Removes temporary files older than `older_than`, which only a crash mid-upload leaves;
    /// for startup. Returns how many went.
    pub async fn remove_stale_uploads(&self, older_than: Duration) -> std::io::Result<usize> {
        let mut entries = match tokio::fs::read_dir(&self.root).await {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(error) => return Err(error),
        };
        let mut removed = 0;
        while let Some(entry) = entries.next_entry().await? {
            if !entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                continue;
            }
            let modified = entry.metadata().await?.modified()?;
            if modified.elapsed().is_ok_and(|age| age >= older_than) {
                tokio::fs::remove_file(entry.path()).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// An upload being written: hashed and counted chunk by chunk into a temporary file, which
/// [`AttachmentWriter::finish`] moves under its hash. Dropped unfinished (the request was
/// refused, or the client went away), it deletes the temporary file.
pub struct AttachmentWriter {
    root: PathBuf,
    temp: Option<PathBuf>,
    file: Option<BufWriter<tokio::fs::File>>,
    hasher: Sha256,
    size: u64,
    max_bytes: u64,
    head: Vec<u8>,
}

impl AttachmentWriter {
    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Writes the next chunk. Past the limit, it stops, deletes what it wrote and says so.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        let size = self.size + chunk.len() as u64;
        if size > self.max_bytes {
            self.discard().await;
            return Err(StoreError::TooLarge { limit: self.max_bytes });
        }
        let Some(file) = self.file.as_mut() else {
            return Err(std::io::Error::other("the upload was already discarded").into());
        };
        if let Err(error) = file.write_all(chunk).await {
            self.discard().await;
            return Err(error.into());
        }
        self.hasher.update(chunk);
        if self.head.len() < HEAD_BYTES {
            let wanted = (HEAD_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..wanted]);
        }
        self.size = size;
        Ok(())
    }

    /// Writes everything `reader` yields, 64 KiB at a time. A failed read is
    /// [`StoreError::Upload`]; the temporary file is deleted on any error.
    pub async fn write_from(&mut self, reader: impl AsyncRead + Send) -> Result<(), StoreError> {
        let mut reader = std::pin::pin!(reader);
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = match reader.read(&mut buffer).await {
                Ok(0) => return Ok(()),
                Ok(read) => read,
                Err(error) => {
                    self.discard().await;
                    return Err(StoreError::Upload(error));
                }
            };
            self.write(&buffer[..read]).await?;
        }
    }

    /// Checks the content against `media_type` (which [`media_type`] accepted), then syncs
    /// the file and moves it under its hash, unless the store has that content already.
    pub async fn finish(mut self, name: &str, media_type: &str) -> Result<StoredFile, StoreError> {
        if self.size == 0 {
            self.discard().await;
            return Err(refused("is empty"));
        }
        let Some(media_type) = accepted(media_type) else {
            self.discard().await;
            return Err(refused(format!("media type {media_type} is not accepted; attach {ACCEPTED}")));
        };
        if let Err(reason) = check_signature(media_type, &self.head) {
            self.discard().await;
            return Err(refused(reason));
        }
        let result = self.store().await;
        if result.is_err() {
            self.discard().await;
        }
        let sha256 = result?;
        Ok(StoredFile { sha256, size: self.size, name: name.to_owned(), media_type: media_type.to_owned() })
    }

    async fn store(&mut self) -> Result<String, StoreError> {
        let mut file = self.file.take().ok_or_else(|| std::io::Error::other("the upload was already discarded"))?;
        file.flush().await?;
        let file = file.into_inner();
        file.sync_all().await?;
        drop(file);
        let sha256 = hex(&self.hasher.clone().finalize());
        let directory = self.root.join(&sha256[..2]);
        let target = directory.join(&sha256[2..]);
        let temp = self.temp.clone().ok_or_else(|| std::io::Error::other("the upload has no temporary file"))?;
        if tokio::fs::try_exists(&target).await? {
            // The same content is stored already: keep that one.
            tokio::fs::remove_file(&temp).await?;
        } else {
            tokio::fs::create_dir_all(&directory).await?;
            tokio::fs::rename(&temp, &target).await?;
            sync_directory(&directory).await;
        }
        self.temp = None;
        Ok(sha256)
    }

    /// Deletes what was written.
    async fn discard(&mut self) {
        self.file = None;
        if let Some(temp) = self.temp.take() {
            let _ = tokio::fs::remove_file(temp).await;
        }
    }
}

impl Drop for AttachmentWriter {
    fn drop(&mut self) {
        self.file = None;
        if let Some(temp) = self.temp.take() {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// Makes a rename durable (on Unix a directory can be synced; elsewhere this is skipped).
async fn sync_directory(directory: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = tokio::fs::File::open(directory).await {
        let _ = dir.sync_all().await;
    }
    #[cfg(not(unix))]
    let _ = directory;
}

/// Whether the actor sees a hidden finding's content (as `view` judges it).
fn sees_hidden(actor: &Actor, row: &finding::Model) -> bool {
    actor.is_admin() || actor.has(Role::Moderator) || is_filer(actor, row)
}

fn conflict_unless_open(row: &finding::Model) -> Result<(), DomainError> {
    if matches!(row.status, Status::Draft | Status::InProgress) {
        return Ok(());
    }
    let next = steps_from(row.status);
    let next = if next.is_empty() { "none: it is final".to_owned() } else { next.join(", ") };
    Err(DomainError::Conflict(format!(
        "finding {} is {}: files are attached while it is a draft or in progress, and the final document \
         was fixed when it was completed; the steps from {} are: {next}",
        row.id,
        row.status.as_str(),
        row.status.as_str()
    )))
}

/// Checks the stored file's fields, which the caller may have built by hand.
fn checked(stored: StoredFile) -> Result<StoredFile, DomainError> {
    if !is_sha256(&stored.sha256) {
        return Err(DomainError::invalid(FIELD, "sha256 must be 64 lowercase hex digits"));
    }
    if stored.size == 0 || i64::try_from(stored.size).is_err() {
        return Err(DomainError::invalid(FIELD, "is empty"));
    }
    let media_type = accepted(&stored.media_type).ok_or_else(|| {
        DomainError::invalid(FIELD, format!("media type {} is not accepted; attach {ACCEPTED}", stored.media_type))
    })?;
    let name = file_name(Some(&stored.name), media_type);
    Ok(StoredFile { media_type: media_type.to_owned(), name, ..stored })
}

impl Findings {
    /// The finding, if this actor may attach to it now: 404 when they cannot see it, 403
    /// unless they file for it, 409 once it is completed, 422 at [`MAX_ATTACHMENTS`].
    async fn attachable(
        &self,
        db: &impl ConnectionTrait,
        actor: &Actor,
        finding_id: i64,
    ) -> Result<finding::Model, DomainError> {
        let row = self.visible(db, actor, finding_id).await?;
        if !is_filer(actor, &row) {
            return Err(DomainError::Forbidden("only the finding's filers attach files to it".into()));
        }
        conflict_unless_open(&row)?;
        let count = attachment::Entity::find().filter(attachment::Column::FindingId.eq(finding_id)).count(db).await?;
        if count >= MAX_ATTACHMENTS {
            return Err(DomainError::invalid(
                FIELD,
                format!("finding {finding_id} has {count} attachments, the most it takes ({MAX_ATTACHMENTS})"),
            ));
        }
        Ok(row)
    }

    /// Whether this actor may attach a file to this finding now: checked before an upload's
    /// body is read, so that a refused upload costs nothing. [`Findings::attach`] checks again.
    pub async fn may_attach(&self, actor: &Actor, finding_id: i64) -> Result<(), DomainError> {
        self.attachable(&self.db, actor, finding_id).await.map(|_| ())
    }

    /// Records a stored file as an attachment of the finding, by one of its filers, while it
    /// is a draft or in progress; audited as `finding.attach`.
    pub async fn attach(
        &self,
        actor: &Actor,
        finding_id: i64,
        stored: StoredFile,
    ) -> Result<AttachmentView, DomainError> {
        let stored = checked(stored)?;
        let mut write = self.begin().await?;
        self.attachable(write.txn(), actor, finding_id).await?;
        let account_id = actor.account_id().unwrap_or_default();
        let row = attachment::ActiveModel {
            finding_id: Set(finding_id),
            sha256: Set(stored.sha256),
            name: Set(stored.name),
            media_type: Set(stored.media_type),
            size: Set(stored.size as i64),
            account_id: Set(account_id),
            uploaded_at: Set(write.now()),
            ..Default::default()
        }
        .insert(write.txn())
        .await?;
        let view = AttachmentView::from(row);
        // The file's name stays out of the public log (a draft's attachments are private):
        // its hash, type and size identify it.
        let after = json!({
            "attachment": {"id": view.id, "sha256": view.sha256, "media_type": view.media_type, "size": view.size},
            "account_id": account_id,
        });
        write.record(actor, "finding.attach", "finding", finding_id, None, Some(after)).await?;
        write.commit().await?;
        Ok(view)
    }

    /// The finding's attachments in the order they came (404 when the actor cannot see the
    /// finding). On a finding a moderator hid, others see them with their names masked.
    pub async fn attachments(&self, actor: &Actor, finding_id: i64) -> Result<Vec<AttachmentView>, DomainError> {
        let row = self.visible(&self.db, actor, finding_id).await?;
        let masked = row.hidden_at.is_some() && !sees_hidden(actor, &row);
        Ok(attachment::Entity::find()
            .filter(attachment::Column::FindingId.eq(finding_id))
            .order_by_asc(attachment::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| {
                let mut view = AttachmentView::from(row);
                if masked {
                    view.name = HIDDEN_MARKER.to_owned();
                }
                view
            })
            .collect())
    }

    /// One attachment of the finding, to download: 404 when the actor cannot see the finding
    /// or it has no such attachment, 403 when a moderator hid the finding from the actor.
    pub async fn attachment(
        &self,
        actor: &Actor,
        finding_id: i64,
        attachment_id: i64,
    ) -> Result<AttachmentView, DomainError> {
        let row = self.visible(&self.db, actor, finding_id).await?;
        let found = attachment::Entity::find_by_id(attachment_id)
            .one(&self.db)
            .await?
            .filter(|a| a.finding_id == finding_id)
            .ok_or_else(|| DomainError::NotFound(format!("attachment {attachment_id} of finding {finding_id}")))?;
        if row.hidden_at.is_some() && !sees_hidden(actor, &row) {
            return Err(DomainError::Forbidden(format!(
                "finding {finding_id} was hidden by a moderator: its attachments are withheld"
            )));
        }
        Ok(AttachmentView::from(found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

    struct TempRoot(PathBuf);

    impl TempRoot {
        fn new() -> Self {
            TempRoot(std::env::temp_dir().join(format!("scrutiny-store-{}", hex(&random_bytes::<8>()))))
        }

        /// Every file under the root, as paths relative to it.
        fn files(&self) -> Vec<String> {
            fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
                for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                    let path = entry.path();
                    if path.is_dir() {
                        walk(&path, root, out);
                    } else {
                        out.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
                    }
                }
            }
            let mut out = Vec::new();
            walk(&self.0, &self.0, &mut out);
            out.sort();
            out
        }
    }

    impl Drop for TempRoot {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    async fn put(store: &AttachmentStore, bytes: &[u8], media_type: &str) -> Result<StoredFile, StoreError> {
        let mut writer = store.writer(1024).await?;
        for chunk in bytes.chunks(7) {
            writer.write(chunk).await?;
        }
        writer.finish("Акт.pdf", media_type).await
    }

    #[tokio::test]
    async fn files_are_stored_once_under_their_hash() {
        let root = TempRoot::new();
        let store = AttachmentStore::new(&root.0);
        let first = put(&store, PDF, "application/pdf").await.unwrap();
        assert_eq!(first.sha256, hex(&Sha256::digest(PDF)));
        assert_eq!(first.size, PDF.len() as u64);
        let second = put(&store, PDF, "application/pdf").await.unwrap();
        assert_eq!(first, second);
        assert_eq!(root.files(), vec![format!("{}/{}", &first.sha256[..2], &first.sha256[2..])]);
        let (_, size) = store.open(&first.sha256).await.unwrap();
        assert_eq!(size, PDF.len() as u64);
        assert!(store.contains(&first.sha256).await);
        assert!(store.path_of("../../etc/passwd").is_none());
    }

    #[tokio::test]
    async fn past_the_limit_nothing_is_left() {
        let root = TempRoot::new();
        let store = AttachmentStore::new(&root.0);
        let error = put(&store, &[b'a'; 2000], "text/plain").await.unwrap_err();
        assert!(matches!(error, StoreError::TooLarge { limit: 1024 }), "{error}");
        assert_eq!(error.to_string(), "attachments are limited to 0.001 MiB (1024 bytes)");
        assert!(root.files().is_empty(), "{:?}", root.files());
    }

    #[tokio::test]
    async fn content_must_match_its_declared_type() {
        let root = TempRoot::new();
        let store = AttachmentStore::new(&root.0);
        let error = put(&store, PDF, "image/png").await.unwrap_err();
        let StoreError::Refused(DomainError::Invalid { field, reason }) = error else { panic!("{error}") };
        assert_eq!(field, "file");
        assert!(reason.contains("looks like a PDF document"), "{reason}");
        assert!(matches!(put(&store, b"", "text/plain").await, Err(StoreError::Refused(_))));
        assert!(root.files().is_empty(), "{:?}", root.files());
        // A writer dropped mid-way leaves nothing either.
        let mut writer = store.writer(1024).await.unwrap();
        writer.write(b"%PDF-").await.unwrap();
        drop(writer);
        assert!(root.files().is_empty(), "{:?}", root.files());
    }

    #[test]
    fn media_types_come_from_the_declaration_or_the_extension() {
        assert_eq!(media_type(Some("application/pdf"), None).unwrap(), "application/pdf");
        assert_eq!(media_type(Some("IMAGE/JPG"), None).unwrap(), "image/jpeg");
        assert_eq!(media_type(Some("text/csv; charset=utf-8"), None).unwrap(), "text/csv");
        assert_eq!(media_type(Some("application/octet-stream"), Some("Отчёт.XLSX")).unwrap(), MEDIA_TYPES[10].0);
        assert_eq!(media_type(None, Some("scan.jpeg")).unwrap(), "image/jpeg");
        assert!(media_type(Some("text/html"), Some("a.pdf")).is_err());
        assert!(media_type(None, Some("program.exe")).is_err());
        assert!(media_type(None, None).is_err());
    }

    #[test]
    fn names_lose_paths_and_control_characters_and_keep_their_extension() {
        assert_eq!(file_name(Some("C:\\Users\\me\\Акт приёмки.pdf"), "application/pdf"), "Акт приёмки.pdf");
        assert_eq!(file_name(Some("../../etc/passwd"), "text/plain"), "passwd");
        assert_eq!(file_name(Some("a\u{0}b\r\n.pdf"), "application/pdf"), "ab.pdf");
        assert_eq!(file_name(Some("invoice\u{202E}fdp.exe"), "application/pdf"), "invoicefdp.exe");
        assert_eq!(file_name(Some("  "), "image/jpeg"), "attachment.jpg");
        assert_eq!(file_name(Some(".."), "application/pdf"), "attachment.pdf");
        assert_eq!(file_name(None, "text/csv"), "attachment.csv");
        let long = format!("{}.docx", "ж".repeat(400));
        let kept = file_name(Some(&long), MEDIA_TYPES[8].0);
        assert_eq!(kept.chars().count(), MAX_NAME_CHARS);
        assert!(kept.ends_with("ж.docx"), "{kept}");
    }

    #[test]
    fn limits_read_in_mib() {
        assert_eq!(mib(20 * 1024 * 1024), "20 MiB");
        assert_eq!(mib(1536 * 1024), "1.5 MiB (1572864 bytes)");
    }
}
