//! Bulk files on disk: each built once per data version, then served from storage with an
//! `ETag`, conditional requests and byte ranges.
//!
//! A file is named by its bulk name and the version it was built at
//! (`contracts.csv.gz.v1234`), written under a temporary name (`.contracts.csv.gz.<uuid>.tmp`)
//! and renamed into place, so a reader never sees half a file. Once the new one is in place,
//! the older versions of that file are deleted: a download already streaming one keeps its
//! open file (on Unix an unlinked file lives until its last descriptor closes), and a request
//! opens its file while holding the file's lock, under which deletions happen too, so it never
//! opens a path that is about to go.
//!
//! One build runs at a time per file; requests for a file being built wait for that build.
//! The build runs in a task of its own, so a client that disconnects (or a request that times
//! out) does not abandon it: the requests after it get the file.
//!
//! Files are not reused across restarts: the directory holds this server's cache only, and a
//! version number alone cannot tell whether the database behind it is the one a leftover file
//! was built from (a restored backup reaches the same numbers with other rows). Leftovers are
//! deleted when the store opens.

use std::collections::HashMap;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use chrono::NaiveDate;
use futures_util::StreamExt;
use poem::Body;
use poem::http::HeaderValue;
use poem::web::headers::{self, Header};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// What a built file reflects: the data version (the change feed's last sequence number),
/// and for files with columns derived from the date (a finding's `overdue`), that date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub data: i64,
    pub day: Option<NaiveDate>,
}

impl Version {
    /// Whether a file built at `built` may answer a request that read this version: one built
    /// later is at least as new (rows only change forward), but a derived date must be the same.
    fn is_covered_by(&self, built: &Version) -> bool {
        built.data >= self.data && built.day == self.day
    }

    fn suffix(&self) -> String {
        match self.day {
            Some(day) => format!("v{}-{}", self.data, day.format("%Y%m%d")),
            None => format!("v{}", self.data),
        }
    }
}

/// A file in place.
#[derive(Debug, Clone)]
struct Built {
    version: Version,
    path: PathBuf,
    etag: String,
}

/// A built file, opened for one response.
#[derive(Debug)]
pub struct Opened {
    pub file: std::fs::File,
    /// The strong entity tag: the first 128 bits of the file's SHA-256, in hex, in quotes. It
    /// names the bytes, not the version: a rebuild after a write elsewhere that leaves this
    /// file's rows unchanged keeps its tag, and clients' `If-None-Match` keeps matching.
    pub etag: String,
    pub len: u64,
    pub modified: SystemTime,
}

/// Where bulk files are kept, with the state of each.
pub struct BulkStore {
    dir: PathBuf,
    /// A directory made for this process alone, removed when the store is dropped.
    owned: bool,
    slots: Mutex<HashMap<&'static str, Arc<tokio::sync::Mutex<Option<Built>>>>>,
}

impl BulkStore {
    /// A store in `dir`, which is created when the first file is built. Files a previous
    /// process left there under one of `names` are deleted (see the module comment); nothing
    /// else in the directory is touched.
    pub fn open(dir: PathBuf, names: &[&str]) -> BulkStore {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let file_name = entry.file_name();
                let file_name = file_name.to_string_lossy();
                if names.iter().any(|name| is_ours(name, &file_name)) {
                    remove(&entry.path());
                }
            }
        }
        BulkStore { dir, owned: false, slots: Mutex::default() }
    }

    /// A store in a new directory under the system's temporary directory, removed with the
    /// store: for servers with no directory configured and no database file to keep one beside.
    pub fn temporary() -> BulkStore {
        let dir = std::env::temp_dir().join(format!("scrutiny-bulk-{}", uuid::Uuid::new_v4().simple()));
        BulkStore { dir, owned: true, slots: Mutex::default() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file `name` at `version` or later, opened; built first with `build` (which gives the
    /// file's bytes as a stream) when there is none. Requests for a file being built wait for
    /// that build.
    pub async fn file<F>(&self, name: &'static str, version: Version, build: F) -> io::Result<Opened>
    where
        F: FnOnce() -> Body + Send + 'static,
    {
        let slot = self.slots.lock().unwrap_or_else(PoisonError::into_inner).entry(name).or_default().clone();
        let current = slot.lock_owned().await;
        if let Some(built) = current.as_ref().filter(|built| version.is_covered_by(&built.version)) {
            match open(&built.path, &built.etag) {
                // Deleted behind the store's back (someone cleaned the directory): build anew.
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                opened => return opened,
            }
        }
        let dir = self.dir.clone();
        // The lock goes with the build, so that the requests after this one wait for it even
        // if this one is gone.
        let task = tokio::spawn(async move {
            let mut current = current;
            let built = build_file(&dir, name, version, build()).await?;
            let opened = open(&built.path, &built.etag)?;
            remove_others(&dir, name, &built.path);
            *current = Some(built);
            Ok(opened)
        });
        task.await.map_err(io::Error::other)?
    }
}

impl Drop for BulkStore {
    fn drop(&mut self) {
        if self.owned {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Whether a directory entry is a file of bulk file `name`: a version of it, or a temporary one.
fn is_ours(name: &str, file_name: &str) -> bool {
    file_name.strip_prefix(name).is_some_and(|rest| rest.starts_with(".v"))
        || file_name
            .strip_prefix('.')
            .and_then(|rest| rest.strip_prefix(name))
            .is_some_and(|rest| rest.starts_with('.') && rest.ends_with(".tmp"))
}

fn remove(path: &Path) {
    if let Err(error) = std::fs::remove_file(path)
        && error.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %error, "could not delete an old bulk file");
    }
}

/// Deletes every other version of `name`, and temporary files a crashed build left.
fn remove_others(dir: &Path, name: &str, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path != keep && is_ours(name, &entry.file_name().to_string_lossy()) {
            remove(&path);
        }
    }
}

fn open(path: &Path, etag: &str) -> io::Result<Opened> {
    let file = std::fs::File::open(path)?;
    let metadata = file.metadata()?;
    Ok(Opened { len: metadata.len(), modified: metadata.modified()?, etag: etag.to_owned(), file })
}

/// Writes `body` to a temporary file, hashing it, then renames it to its version's name.
async fn build_file(dir: &Path, name: &str, version: Version, body: Body) -> io::Result<Built> {
    tokio::fs::create_dir_all(dir).await?;
    let temporary = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let written = async {
        let mut file = tokio::fs::File::create_new(&temporary).await?;
        let mut hasher = Sha256::new();
        let mut chunks = body.into_bytes_stream();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        Ok::<_, io::Error>(hasher.finalize())
    }
    .await;
    let digest = match written {
        Ok(digest) => digest,
        Err(error) => {
            remove(&temporary);
            return Err(error);
        }
    };
    let path = dir.join(format!("{name}.{}", version.suffix()));
    if let Err(error) = tokio::fs::rename(&temporary, &path).await {
        remove(&temporary);
        return Err(error);
    }
    let hex: String = digest[..16].iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(Built { version, path, etag: format!("\"{hex}\"") })
}

/// The request headers a download's answer depends on, as sent.
#[derive(Debug, Default, Clone)]
pub struct Conditions {
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub range: Option<String>,
    pub if_range: Option<String>,
}

/// How a download is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 304: the client's copy is current.
    NotModified,
    /// 200: the whole file.
    Whole,
    /// 206: these bytes of it.
    Part(Range<u64>),
    /// 416: no range asked for lies within the file.
    Unsatisfiable,
}

/// The answer to `conditions` for a file with this tag, modification time and length, in the
/// order of RFC 9110 §13.2.2: `If-None-Match` (or, without it, `If-Modified-Since`) first, then
/// `If-Range`, then `Range`.
pub fn answer(conditions: &Conditions, etag: &str, modified: SystemTime, len: u64) -> Answer {
    let tag = headers::ETag::from_str(etag).ok();
    let not_modified = match (&conditions.if_none_match, &conditions.if_modified_since) {
        (Some(list), _) => typed::<headers::IfNoneMatch>(list)
            .zip(tag.as_ref())
            .is_some_and(|(condition, tag)| !condition.precondition_passes(tag)),
        (None, Some(since)) => {
            typed::<headers::IfModifiedSince>(since).is_some_and(|since| !since.is_modified(modified))
        }
        (None, None) => false,
    };
    if not_modified {
        return Answer::NotModified;
    }
    let Some(range) = &conditions.range else { return Answer::Whole };
    // A validator that no longer matches means the client's part belongs to another file: it
    // gets this one whole.
    if let Some(if_range) = &conditions.if_range {
        let last_modified = headers::LastModified::from(modified);
        let current = typed::<headers::IfRange>(if_range)
            .is_some_and(|condition| !condition.is_modified(tag.as_ref(), Some(&last_modified)));
        if !current {
            return Answer::Whole;
        }
    }
    match byte_ranges(range, len) {
        Ranges::Ignored => Answer::Whole,
        Ranges::One(part) => Answer::Part(part),
        Ranges::None => Answer::Unsatisfiable,
    }
}

fn typed<H: Header>(value: &str) -> Option<H> {
    let value = HeaderValue::from_str(value).ok()?;
    H::decode(&mut std::iter::once(&value)).ok()
}

/// What a `Range` header asks of a file of `len` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ranges {
    /// Not a valid byte range set, or more than one range: answered with the whole file, as
    /// RFC 9110 §14.2 allows (a multipart answer is one more format for every client to read).
    Ignored,
    /// One range within the file, clamped to it.
    One(Range<u64>),
    /// No range in the set lies within the file.
    None,
}

/// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n` sets (RFC 9110 §14.1.2).
fn byte_ranges(header: &str, len: u64) -> Ranges {
    let Some((unit, set)) = header.split_once('=') else { return Ranges::Ignored };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return Ranges::Ignored;
    }
    let mut specs = Vec::new();
    for spec in set.split(',').map(str::trim).filter(|spec| !spec.is_empty()) {
        let Some((first, last)) = spec.split_once('-') else { return Ranges::Ignored };
        let (first, last) = (first.trim(), last.trim());
        let resolved = match (position(first), position(last)) {
            // `-n`: the last n bytes (all of them when the file is shorter).
            (None, Some(suffix)) if first.is_empty() => {
                (suffix > 0 && len > 0).then(|| len.saturating_sub(suffix)..len)
            }
            // `a-`: from a to the end.
            (Some(first), None) if last.is_empty() => (first < len).then_some(first..len),
            (Some(first), Some(last)) if first <= last => (first < len).then(|| first..last.saturating_add(1).min(len)),
            _ => return Ranges::Ignored,
        };
        specs.push(resolved);
    }
    match specs.as_slice() {
        [] => Ranges::Ignored,
        specs if specs.iter().all(Option::is_none) => Ranges::None,
        [Some(one)] => Ranges::One(one.clone()),
        _ => Ranges::Ignored,
    }
}

/// A byte position: digits only; one past `u64::MAX` is still a position (past any file).
fn position(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn byte_ranges_follow_rfc_9110() {
        assert_eq!(byte_ranges("bytes=0-9", 100), Ranges::One(0..10));
        assert_eq!(byte_ranges("bytes=90-", 100), Ranges::One(90..100));
        assert_eq!(byte_ranges("bytes=-10", 100), Ranges::One(90..100));
        assert_eq!(byte_ranges("bytes=-1000", 100), Ranges::One(0..100), "a suffix longer than the file");
        assert_eq!(byte_ranges("bytes=50-1000", 100), Ranges::One(50..100), "clamped to the end");
        assert_eq!(byte_ranges("Bytes = 99-99", 100), Ranges::One(99..100));
        assert_eq!(byte_ranges("bytes=0-99999999999999999999999", 100), Ranges::One(0..100));
        assert_eq!(byte_ranges("bytes=100-", 100), Ranges::None);
        assert_eq!(byte_ranges("bytes=100-200", 100), Ranges::None);
        assert_eq!(byte_ranges("bytes=-0", 100), Ranges::None);
        assert_eq!(byte_ranges("bytes=200-300, 400-", 100), Ranges::None);
        assert_eq!(byte_ranges("bytes=0-9,20-29", 100), Ranges::Ignored, "several ranges: the whole file");
        assert_eq!(byte_ranges("bytes=0-9, 200-", 100), Ranges::Ignored);
        for invalid in ["bytes=9-0", "bytes=a-b", "bytes=", "bytes=5", "items=0-9", "0-9", "bytes=--5", "bytes=+1-2"] {
            assert_eq!(byte_ranges(invalid, 100), Ranges::Ignored, "{invalid}");
        }
    }

    #[test]
    fn conditions_are_evaluated_in_rfc_order() {
        let (tag, len) = ("\"abc\"", 100);
        let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        let date =
            |t: SystemTime| chrono::DateTime::<chrono::Utc>::from(t).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let ask = |conditions: Conditions| answer(&conditions, tag, modified, len);
        assert_eq!(ask(Conditions::default()), Answer::Whole);
        assert_eq!(ask(Conditions { if_none_match: Some(tag.into()), ..Default::default() }), Answer::NotModified);
        assert_eq!(
            ask(Conditions { if_none_match: Some("W/\"abc\"".into()), ..Default::default() }),
            Answer::NotModified
        );
        assert_eq!(
            ask(Conditions { if_none_match: Some("\"x\", \"abc\"".into()), ..Default::default() }),
            Answer::NotModified
        );
        assert_eq!(ask(Conditions { if_none_match: Some("*".into()), ..Default::default() }), Answer::NotModified);
        assert_eq!(ask(Conditions { if_none_match: Some("\"old\"".into()), ..Default::default() }), Answer::Whole);
        assert_eq!(
            ask(Conditions { if_modified_since: Some(date(modified)), ..Default::default() }),
            Answer::NotModified
        );
        let earlier = date(modified - Duration::from_secs(5));
        assert_eq!(ask(Conditions { if_modified_since: Some(earlier.clone()), ..Default::default() }), Answer::Whole);
        assert_eq!(
            ask(Conditions {
                if_none_match: Some("\"old\"".into()),
                if_modified_since: Some(date(modified)),
                ..Default::default()
            }),
            Answer::Whole,
            "If-Modified-Since is ignored beside If-None-Match"
        );
        let range = Some("bytes=10-19".to_owned());
        assert_eq!(ask(Conditions { range: range.clone(), ..Default::default() }), Answer::Part(10..20));
        assert_eq!(
            ask(Conditions { range: range.clone(), if_range: Some(tag.into()), ..Default::default() }),
            Answer::Part(10..20)
        );
        assert_eq!(
            ask(Conditions { range: range.clone(), if_range: Some("\"old\"".into()), ..Default::default() }),
            Answer::Whole
        );
        assert_eq!(
            ask(Conditions { range: range.clone(), if_range: Some("W/\"abc\"".into()), ..Default::default() }),
            Answer::Whole,
            "If-Range compares strongly"
        );
        assert_eq!(
            ask(Conditions { range: range.clone(), if_range: Some(date(modified)), ..Default::default() }),
            Answer::Part(10..20)
        );
        assert_eq!(ask(Conditions { range, if_range: Some(earlier), ..Default::default() }), Answer::Whole);
        assert_eq!(ask(Conditions { range: Some("bytes=500-".into()), ..Default::default() }), Answer::Unsatisfiable);
        assert_eq!(
            ask(Conditions { if_none_match: Some(tag.into()), range: Some("bytes=500-".into()), ..Default::default() }),
            Answer::NotModified
        );
    }

    #[test]
    fn only_bulk_files_and_their_temporaries_are_ours() {
        assert!(is_ours("contracts.csv.gz", "contracts.csv.gz.v12"));
        assert!(is_ours("findings.csv.gz", "findings.csv.gz.v12-20260101"));
        assert!(is_ours("contracts.csv.gz", ".contracts.csv.gz.0123abcd.tmp"));
        assert!(!is_ours("contracts.csv.gz", "contracts.jsonl.gz.v12"));
        assert!(!is_ours("contracts.csv.gz", "contracts.csv.gz"));
        assert!(!is_ours("contracts.csv.gz", "notes.txt"));
        assert!(!is_ours("contracts.csv.gz", ".contracts.csv.gz.swp"));
    }

    #[tokio::test]
    async fn a_file_is_built_once_per_version_and_old_versions_go() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.gz.v1"), "left by another process").unwrap();
        std::fs::write(dir.path().join("unrelated"), "kept").unwrap();
        let store = Arc::new(BulkStore::open(dir.path().to_owned(), &["a.gz"]));
        assert!(!dir.path().join("a.gz.v1").exists(), "leftovers are deleted on opening");
        let builds = Arc::new(AtomicUsize::new(0));
        let fetch = |data: i64, text: &'static str| {
            let (store, builds) = (store.clone(), builds.clone());
            tokio::spawn(async move {
                let version = Version { data, day: None };
                let mut opened = store
                    .file("a.gz", version, move || {
                        builds.fetch_add(1, Ordering::SeqCst);
                        let slow = futures_util::stream::once(async move {
                            tokio::time::sleep(Duration::from_millis(30)).await;
                            Ok::<_, io::Error>(text)
                        });
                        Body::from_bytes_stream(slow)
                    })
                    .await
                    .unwrap();
                let mut content = String::new();
                io::Read::read_to_string(&mut opened.file, &mut content).unwrap();
                (opened.etag, content)
            })
        };
        let first: Vec<_> = (0..5).map(|_| fetch(1, "one")).collect();
        for answer in first {
            assert_eq!(answer.await.unwrap().1, "one");
        }
        assert_eq!(builds.load(Ordering::SeqCst), 1, "five concurrent requests, one build");
        let (tag, _) = fetch(1, "one").await.unwrap();
        assert_eq!(builds.load(Ordering::SeqCst), 1);

        let old = std::fs::File::open(dir.path().join("a.gz.v1")).unwrap();
        let (new_tag, content) = fetch(2, "two").await.unwrap();
        assert_eq!((builds.load(Ordering::SeqCst), content.as_str()), (2, "two"));
        assert_ne!(tag, new_tag);
        let mut names: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        names.sort();
        assert_eq!(names, ["a.gz.v2", "unrelated"]);
        let mut streaming = String::new();
        io::Read::read_to_string(&mut &old, &mut streaming).unwrap();
        assert_eq!(streaming, "one", "a file already open outlives its deletion");

        assert_eq!(fetch(1, "one").await.unwrap().1, "two", "a request that read an older version gets the newer file");
        assert_eq!(builds.load(Ordering::SeqCst), 2);
    }
}
