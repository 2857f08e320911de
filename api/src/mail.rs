//! Sending the outbox by email.
//!
//! `serve` starts one [`spawn`]ed task that sends what is due every
//! `outbox_every_seconds`, when `smtp_url` is set; without it messages wait in the outbox.
//! Each message is one SMTP attempt, bounded by a timeout; a failed one is tried again by a
//! later run after a growing delay (`domain::notifications::mark_failed`). Senders in
//! several processes may run at once: each message is claimed by one of them
//! (`domain::notifications::due`).
//!
//! `smtp://host:port` is plain SMTP; `smtp://host:port?tls=required` upgrades with STARTTLS;
//! `smtps://user:pass@host[:465]` is SMTP over TLS (rustls, the platform's roots). The URL's
//! path, if any, is the name the client gives in EHLO; otherwise the sender's domain.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::DomainError;
use domain::clock::Clock;
use domain::notifications::{self, Pending};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sea_orm::DatabaseConnection;
use tokio::task::JoinHandle;

/// How long one SMTP attempt (connect, send, quit) may take by default.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// Messages claimed at a time: a run marks a batch well within the claim
/// (`BATCH × ATTEMPT_TIMEOUT` = 5 minutes, against `notifications::CLAIM`, 10).
const BATCH: u64 = 10;

/// The mail layer's one error type. No variant holds the SMTP URL, its password, or a
/// message's address or text.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid SMTP URL: {0}")]
    Url(String),
    #[error("invalid sender address {0:?}: {1}")]
    From(String, String),
    #[error("the recipient's address is not valid")]
    Recipient,
    #[error("the message could not be built: {0}")]
    Build(String),
    /// The server refused this message for good (a 5xx reply).
    #[error("SMTP: {0}")]
    Rejected(String),
    /// The server could not be reached or could not take mail now.
    #[error("SMTP: {0}")]
    Unavailable(String),
    #[error("the SMTP server did not finish within {0:?}")]
    Timeout(Duration),
}

impl MailError {
    /// Whether the failure is the message's own, so the next message may still go through.
    fn is_about_the_message(&self) -> bool {
        matches!(self, MailError::Recipient | MailError::Build(_) | MailError::Rejected(_))
    }
}

/// An SMTP client with its sender address.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The URL with its password masked, for logs.
    server: String,
    /// The URL's password, as written and decoded: masked out of every error kept or logged.
    secrets: Vec<String>,
    timeout: Duration,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer").field("server", &self.server).field("from", &self.from.to_string()).finish()
    }
}

impl Mailer {
    /// The mailer the settings describe; `None` when `smtp_url` is unset.
    pub fn from_settings(settings: &crate::config::Settings) -> Result<Option<Mailer>, MailError> {
        settings.smtp_url.as_ref().map(|url| Mailer::new(url.expose(), &settings.smtp_from)).transpose()
    }

    /// A mailer sending through the server at `url` as `from` (`Name <address>` or an
    /// address).
    pub fn new(url: &str, from: &str) -> Result<Mailer, MailError> {
        let from: Mailbox =
            from.parse().map_err(|e: lettre::address::AddressError| MailError::From(from.to_owned(), e.to_string()))?;
        let mut secrets: Vec<String> =
            url_password(url).map(|password| vec![password.to_owned(), percent_decode(password)]).unwrap_or_default();
        secrets.dedup();
        // Masking a password of a letter or two would mangle every error ("invalid ***eer
        // certificate") to hide next to nothing.
        secrets.retain(|secret| secret.chars().count() >= 4);
        // lettre's error names no part of the URL; its kind is enough.
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Url(mask(&e.to_string(), &secrets)))?
            .timeout(Some(ATTEMPT_TIMEOUT));
        if !url_has_path(url) {
            // Servers judge the EHLO name; the sender's domain is the best one known here.
            builder = builder.hello_name(ClientId::Domain(from.email.domain().to_owned()));
        }
        Ok(Mailer { transport: builder.build(), from, server: mask_url(url), secrets, timeout: ATTEMPT_TIMEOUT })
    }

    /// The same mailer with another bound on each attempt.
    pub fn with_timeout(mut self, timeout: Duration) -> Mailer {
        self.timeout = timeout;
        self
    }

    /// Sends one message, once.
    pub async fn send(&self, pending: &Pending) -> Result<(), MailError> {
        let message = self.message(pending)?;
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Err(_) => Err(MailError::Timeout(self.timeout)),
            Ok(Ok(_response)) => Ok(()),
            Ok(Err(error)) => {
                let text = mask(&error.to_string(), &self.secrets);
                // The server's reply may quote the recipient; the outbox keeps no address.
                let text = mask_address(&text, &pending.to);
                if error.is_permanent() { Err(MailError::Rejected(text)) } else { Err(MailError::Unavailable(text)) }
            }
        }
    }

    fn message(&self, pending: &Pending) -> Result<Message, MailError> {
        let address: Address = pending.to.parse().map_err(|_| MailError::Recipient)?;
        let message_id =
            format!("<outbox-{}-{}@{}>", pending.id, uuid::Uuid::new_v4().simple(), self.from.email.domain());
        Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(Some(pending.display_name.clone()), address))
            .subject(pending.subject.clone())
            .message_id(Some(message_id))
            // UTF-8 plain text; lettre picks the transfer encoding (base64 for Cyrillic).
            .header(ContentType::TEXT_PLAIN)
            .body(pending.body.clone())
            .map_err(|e| MailError::Build(e.to_string()))
    }
}

/// Sends every due message once; returns (sent, failed). A failure that is not the message's
/// own (the server is down, slow or busy) ends the run: the rest of its batch is marked
/// failed with the same error, untried, and what was not yet claimed waits for the next run.
pub async fn send_due(
    db: &DatabaseConnection,
    mailer: &Mailer,
    now: DateTime<Utc>,
    retry_base: Duration,
) -> Result<(usize, usize), DomainError> {
    let (mut sent, mut failed) = (0, 0);
    loop {
        let batch = notifications::due(db, now, BATCH).await?;
        let claimed = batch.len() as u64;
        let mut unavailable: Option<String> = None;
        for pending in batch {
            if let Some(reason) = &unavailable {
                notifications::mark_failed(db, pending.id, now, &format!("not tried: {reason}"), retry_base).await?;
                failed += 1;
                continue;
            }
            match mailer.send(&pending).await {
                Ok(()) => {
                    notifications::mark_sent(db, pending.id, now).await?;
                    sent += 1;
                }
                Err(error) => {
                    tracing::warn!(
                        outbox_message = pending.id,
                        attempt = pending.attempts + 1,
                        server = %mailer.server,
                        error = %error,
                        "outbox message not sent; it will be tried again"
                    );
                    let text = error.to_string();
                    notifications::mark_failed(db, pending.id, now, &text, retry_base).await?;
                    failed += 1;
                    if !error.is_about_the_message() {
                        unavailable = Some(text);
                    }
                }
            }
        }
        if unavailable.is_some() || claimed < BATCH {
            return Ok((sent, failed));
        }
    }
}

/// The background task `serve` starts: send_due every `every` (also the first retry's
/// delay); errors logged (never the URL's password; never message bodies or addresses).
/// Run one per process: several processes may each run one (messages are claimed), but two
/// in one process would only compete.
pub fn spawn(db: DatabaseConnection, mailer: Mailer, every: Duration) -> JoinHandle<()> {
    spawn_with_clock(db, mailer, every, Clock::system())
}

/// The same, judging what is due by `clock`: the clock the writes that enqueue are stamped
/// with, so a test that moves it finds its messages due.
pub fn spawn_with_clock(db: DatabaseConnection, mailer: Mailer, every: Duration, clock: Clock) -> JoinHandle<()> {
    let every = every.max(Duration::from_secs(1));
    tokio::spawn(async move {
        tracing::info!(server = %mailer.server, every_seconds = every.as_secs(), "outbox sender started");
        loop {
            match send_due(&db, &mailer, clock.now(), every).await {
                Ok((0, 0)) => {}
                Ok((sent, failed)) => tracing::info!(sent, failed, "outbox sent"),
                Err(error) => tracing::error!(error = %error, "outbox could not be read or marked; retrying next run"),
            }
            tokio::time::sleep(every).await;
        }
    })
}

/// The password in `scheme://user:password@host...`, as written.
fn url_password(url: &str) -> Option<&str> {
    let authority = authority(url)?;
    let user_info = &authority[..authority.rfind('@')?];
    user_info.split_once(':').map(|(_, password)| password).filter(|password| !password.is_empty())
}

/// The authority of `scheme://authority/path?query`.
fn authority(url: &str) -> Option<&str> {
    let rest = &url[url.find("://")? + 3..];
    Some(&rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())])
}

/// Whether the URL names a path beyond `/` (lettre's EHLO name).
fn url_has_path(url: &str) -> bool {
    let Some(start) = url.find("://") else { return false };
    let rest = &url[start + 3..];
    let Some(path_start) = rest.find('/') else { return false };
    let path = &rest[path_start..];
    let path = &path[..path.find(['?', '#']).unwrap_or(path.len())];
    path.len() > 1
}

/// The URL with its password masked.
fn mask_url(url: &str) -> String {
    match url_password(url) {
        Some(password) => url.replacen(&format!(":{password}@"), ":***@", 1),
        None => url.to_owned(),
    }
}

fn mask(text: &str, secrets: &[String]) -> String {
    secrets.iter().fold(text.to_owned(), |text, secret| text.replace(secret.as_str(), "***"))
}

/// `text` with the recipient's address (in any letter case) replaced.
fn mask_address(text: &str, address: &str) -> String {
    if address.is_empty() {
        return text.to_owned();
    }
    let (lower, needle) = (text.to_ascii_lowercase(), address.to_ascii_lowercase());
    let mut masked = String::with_capacity(text.len());
    let mut last = 0;
    // ASCII lower-casing keeps byte offsets, so positions in `lower` hold in `text`.
    for (start, _) in lower.match_indices(&needle) {
        masked.push_str(&text[last..start]);
        masked.push_str("<recipient>");
        last = start + needle.len();
    }
    masked.push_str(&text[last..]);
    masked
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(high), Some(low)) =
                (bytes.get(i + 1).and_then(|b| hex(*b)), bytes.get(i + 2).and_then(|b| hex(*b)))
        {
            decoded.push((high * 16 + low) as u8);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        let url = "smtps://mailer:p%40ss@mail.example.kz";
        assert_eq!(url_password(url), Some("p%40ss"));
        assert_eq!(mask_url(url), "smtps://mailer:***@mail.example.kz");
        let mailer = Mailer::new(url, "Scrutiny <noreply@scrutiny.kz>").unwrap();
        assert!(!format!("{mailer:?}").contains("p%40ss"));
        assert_eq!(mailer.secrets, ["p%40ss", "p@ss"]);
        assert_eq!(mask("auth failed for p@ss", &mailer.secrets), "auth failed for ***");
        assert_eq!(url_password("smtp://localhost:2525"), None);
    }

    #[test]
    fn the_recipient_is_masked_in_replies() {
        assert_eq!(
            mask_address("550 5.1.1 <Ivan@Mail.kz>: user unknown", "ivan@mail.kz"),
            "550 5.1.1 <<recipient>>: user unknown"
        );
    }

    #[test]
    fn the_ehlo_name_is_the_path_or_the_senders_domain() {
        assert!(!url_has_path("smtp://localhost:2525"));
        assert!(!url_has_path("smtp://localhost:2525/?tls=required"));
        assert!(url_has_path("smtp://localhost:2525/scrutiny.kz"));
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(matches!(Mailer::new("smtp://localhost", "not an address"), Err(MailError::From(..))));
        assert!(matches!(Mailer::new("http://localhost", "noreply@scrutiny.kz"), Err(MailError::Url(_))));
        assert!(Mailer::new("smtp://localhost:2525?tls=required", "noreply@scrutiny.kz").is_ok());
    }
}
