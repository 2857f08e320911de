//! Configuration, layered: built-in defaults, then an optional TOML file (`scrutiny.toml`, or
//! the file `SCRUTINY_CONFIG` names), then the environment (`DATABASE_URL`, `SCRUTINY_*`).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// The SQLite file `make run` creates beside the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://scrutiny.db";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// `sqlite://path`, `sqlite::memory:` or `postgres://user:password@host/db`.
    pub database_url: DatabaseUrl,
    /// Where `serve` listens.
    pub bind: SocketAddr,
    /// Largest request body accepted, in bytes; larger ones get 413.
    pub max_body_bytes: usize,
    /// Connections in the database pool.
    pub database_max_connections: u32,
    /// `text` for people at a terminal, `json` for log collectors.
    pub log_format: LogFormat,
    /// Requests per second each client may sustain; 0 turns rate limiting off (the default).
    pub rate_limit_per_second: u32,
    /// Requests a client may send at once before the per-second rate applies; 0 means the same
    /// as `rate_limit_per_second`.
    pub rate_limit_burst: u32,
    /// Whether to take the client's address from the last `X-Forwarded-For` entry, which the
    /// proxy in front of Scrutiny appends. Only when such a proxy exists: anyone can send the
    /// header, so without one it would let a client pick its own rate-limit key.
    pub trust_forwarded_for: bool,
    /// Imports `serve` runs in the background, each every `every_minutes` (TOML
    /// `[[imports]]` tables, e.g. `source = "goszakup"`, `base_url = "…"`, `only = ["contract"]`,
    /// `every_minutes = 60`). Empty by default.
    pub imports: Vec<ScheduledImport>,
    /// An HS256 secret for access tokens (at least 32 bytes). Either this or
    /// `jwt_private_key`; with neither, a SQLite install generates an Ed25519 key beside its
    /// database file, and a PostgreSQL one refuses to serve.
    pub jwt_secret: Option<Secret>,
    /// A PKCS#8 PEM file holding the Ed25519 key that signs access tokens (EdDSA); its public
    /// key is published at `/.well-known/jwks.json`.
    pub jwt_private_key: Option<PathBuf>,
    /// The HS256 secret that signed tokens before the current one, still accepted while they
    /// live out their lifetime (key rotation).
    pub jwt_previous_secret: Option<Secret>,
    /// The PEM file (public or private Ed25519 key) of the key before the current one,
    /// still accepted and published (key rotation).
    pub jwt_previous_key: Option<PathBuf>,
    /// The tokens' `iss`.
    pub jwt_issuer: String,
    /// The tokens' `aud`.
    pub jwt_audience: String,
    /// Lifetime of an access token.
    pub access_token_seconds: u64,
    /// Lifetime of a refresh token.
    pub refresh_token_seconds: u64,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds; at most 30.
    pub jwt_leeway_seconds: u64,
    /// A PKCS#8 PEM file holding the Ed25519 key that signs the audit log's tree heads. Like
    /// the JWT key, generated beside a SQLite database when absent; required on PostgreSQL.
    pub audit_signing_key: Option<PathBuf>,
    /// Password hashes computed at once (each takes 19 MiB and a core for tens of ms).
    pub password_hash_concurrency: usize,
    /// Failed logins allowed per account and per client address in a minute; the next
    /// attempt gets 429.
    pub login_failures_per_minute: u32,
    /// Registrations accepted per client address in a minute: each costs a password hash,
    /// and a taken email answers 409, so unthrottled registration would both load the
    /// hashing threads and tell anyone which emails have accounts.
    pub registrations_per_minute: u32,
    /// How long `/v1/audit/verify` serves the result of one full check of the chain (which
    /// reads the whole log: 15 to 20 s at a million events, see BENCHMARKS.md) before a
    /// request runs the next.
    pub audit_verify_every_seconds: u64,
    /// The largest attachment a finding takes, in bytes (20 MiB).
    pub max_attachment_bytes: u64,
    /// Where attachments are stored, by SHA-256; beside a SQLite database
    /// (`scrutiny.db.attachments/`) when absent, required on PostgreSQL.
    pub attachments_dir: Option<PathBuf>,
    /// Where bulk files (`/v1/bulk/…`) are built, one per dataset and format at the current
    /// data version; beside a SQLite database (`scrutiny.db.bulk/`) when absent, else a new
    /// directory under the system's temporary directory, removed at shutdown. A server's own:
    /// files left there are deleted when it starts, so two servers must not share one.
    pub bulk_dir: Option<PathBuf>,
    /// The working-day calendar file; the one shipped in `fixtures/calendar/` when absent.
    pub calendar_file: Option<PathBuf>,
    /// The red-flag indicators' settings (cardinal's INI format, with `[KZ..]` sections);
    /// the project's `fixtures/indicators.ini` when absent.
    pub indicators_settings: Option<PathBuf>,
    /// How often passed deadlines are looked for and recorded, in seconds.
    pub deadline_sweep_seconds: u64,
    /// Where the outbox is sent, as `smtp://host:port` or `smtps://user:pass@host`; without
    /// it messages stay in the outbox.
    pub smtp_url: Option<Secret>,
    /// The sender of outgoing mail.
    pub smtp_from: String,
    /// How often the outbox is sent, and the first retry's delay, in seconds.
    pub outbox_every_seconds: u64,
    /// The longest a request may take to be answered (its body, an export, may stream
    /// longer), in seconds; past it, 503.
    pub request_timeout_seconds: u64,
    /// A connection with nothing read or written for this long is closed, in seconds: a client
    /// that sends half its headers and waits does not keep it.
    pub idle_timeout_seconds: u64,
    /// A client must send a request's headers within this many seconds of their first byte,
    /// or the connection is closed: a client dribbling a byte at a time is never idle.
    pub header_read_timeout_seconds: u64,
    /// The most concurrent streams one HTTP/2 connection may open.
    pub http2_max_concurrent_streams: u32,
    /// Exports, bulk downloads, searches and aggregates served at once; past it, 503.
    pub expensive_concurrency: usize,
    /// The longest one database statement of `serve`'s requests may run, in seconds; past it
    /// the statement is cancelled and the request gets 503. PostgreSQL's `statement_timeout`;
    /// on SQLite a progress handler interrupts whatever holds a connection that long.
    /// (Command-line and scheduled imports and refreshes have none.)
    pub statement_timeout_seconds: u64,
    /// Extra trusted CA certificates (PEM) for upstreams with a certificate of their own
    /// (goszakup), for `scrutiny import` and `serve`'s scheduled imports alike.
    pub ca_bundle: Option<PathBuf>,
    /// Seconds before a request to an upstream times out (connect, send, read the body).
    pub upstream_timeout_seconds: u64,
    /// The largest upstream response read, in bytes; a larger one fails the request unread.
    pub upstream_max_body_bytes: u64,
    /// The largest OCDS release, record or document an import takes, in bytes of
    /// decompressed input; a larger one is a reject naming its line, never held whole.
    pub ocds_max_release_bytes: u64,
    /// The OCID prefix of the portal's own contracting processes (`ocds-` and six letters or
    /// digits), registered with the Open Contracting Partnership; imported processes keep their
    /// publisher's. Changing it renames every own process: run `scrutiny red-flags` after.
    pub ocid_prefix: domain::ocds::OcidPrefix,
}

/// A secret from the configuration; its `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    /// The secret itself. Never log this.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// One import `serve` runs periodically: a source with its arguments, as `scrutiny import`
/// takes them, and the interval between the end of one run and the start of the next.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScheduledImport {
    pub every_minutes: u64,
    #[serde(flatten)]
    pub spec: importers::runs::SourceSpec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: DatabaseUrl(DEFAULT_DATABASE_URL.to_owned()),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 1024 * 1024,
            database_max_connections: 10,
            log_format: LogFormat::Text,
            // Off by default: a limit keyed by client address is right only where the server
            // sees client addresses. Behind a proxy without `trust_forwarded_for`, every client
            // shares the proxy's address, and any default rate would throttle the whole
            // audience as one client; and the test suite, which sends hundreds of requests a
            // second from 127.0.0.1, must not be throttled.
            rate_limit_per_second: 0,
            rate_limit_burst: 0,
            trust_forwarded_for: false,
            imports: Vec::new(),
            jwt_secret: None,
            jwt_private_key: None,
            jwt_previous_secret: None,
            jwt_previous_key: None,
            jwt_issuer: "scrutiny".to_owned(),
            jwt_audience: "scrutiny".to_owned(),
            access_token_seconds: 15 * 60,
            refresh_token_seconds: 30 * 24 * 3600,
            jwt_leeway_seconds: 30,
            audit_signing_key: None,
            password_hash_concurrency: 2,
            login_failures_per_minute: 5,
            registrations_per_minute: 20,
            audit_verify_every_seconds: 60,
            max_attachment_bytes: 20 * 1024 * 1024,
            attachments_dir: None,
            bulk_dir: None,
            indicators_settings: None,
            calendar_file: None,
            deadline_sweep_seconds: 60,
            smtp_url: None,
            smtp_from: "Scrutiny <noreply@scrutiny.kz>".to_owned(),
            outbox_every_seconds: 30,
            request_timeout_seconds: 30,
            idle_timeout_seconds: 30,
            header_read_timeout_seconds: 10,
            http2_max_concurrent_streams: 100,
            expensive_concurrency: 8,
            statement_timeout_seconds: 30,
            ca_bundle: None,
            upstream_timeout_seconds: 60,
            upstream_max_body_bytes: importers::http::DEFAULT_MAX_BODY_BYTES,
            ocds_max_release_bytes: importers::sources::ocds::DEFAULT_MAX_RELEASE_BYTES,
            ocid_prefix: domain::ocds::OcidPrefix::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[from] Box<figment::Error>);

impl Settings {
    /// How imports talk to upstreams: the same for `scrutiny import` and scheduled imports.
    pub fn upstream(&self) -> importers::http::HttpOptions {
        importers::http::HttpOptions {
            ca_bundle: self.ca_bundle.clone(),
            timeout: std::time::Duration::from_secs(self.upstream_timeout_seconds.max(1)),
            max_body_bytes: self.upstream_max_body_bytes.max(1),
            ..Default::default()
        }
    }

    /// Reads the layers. `file` overrides the default file name; a missing file is fine.
    pub fn load(file: Option<PathBuf>) -> Result<Settings, ConfigError> {
        let file = file
            .or_else(|| std::env::var_os("SCRUTINY_CONFIG").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("scrutiny.toml"));
        Self::figment(file).extract().map_err(|e| ConfigError(Box::new(e)))
    }

    fn figment(file: PathBuf) -> Figment {
        Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("SCRUTINY_").ignore(&["CONFIG"]))
            .merge(Env::raw().only(&["DATABASE_URL"]))
    }
}

/// A database URL. It may hold a password, so its `Debug` and `Display` hide it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(pub String);

impl DatabaseUrl {
    /// The database file, for a SQLite URL naming one (not an in-memory database).
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        let rest = self.0.strip_prefix("sqlite://").or_else(|| self.0.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or_default();
        (!path.is_empty() && !path.starts_with(":memory:") && !self.0.contains("mode=memory"))
            .then(|| PathBuf::from(path))
    }

    /// Whether it names an in-memory SQLite database, which lives in its one pool.
    pub fn is_in_memory(&self) -> bool {
        domain::db::is_in_memory(&self.0)
    }

    /// The URL itself, for connecting. Never log this.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        let url = &self.0;
        let Some(scheme_end) = url.find("://") else { return url.clone() };
        let authority_start = scheme_end + 3;
        let authority_end = url[authority_start..].find('/').map_or(url.len(), |i| authority_start + i);
        let authority = &url[authority_start..authority_end];
        let Some(at) = authority.rfind('@') else { return url.clone() };
        let user_info = &authority[..at];
        let user = user_info.split(':').next().unwrap_or_default();
        if user_info.contains(':') {
            format!("{}{user}:***{}", &url[..authority_start], &url[authority_start + at..])
        } else {
            url.clone()
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let url = DatabaseUrl("postgres://scrutiny:s3cret@db.internal:5432/scrutiny".into());
        assert_eq!(url.redacted(), "postgres://scrutiny:***@db.internal:5432/scrutiny");
        assert!(!format!("{url:?} {url}").contains("s3cret"));
        let settings = Settings { database_url: url, ..Settings::default() };
        assert!(!format!("{settings:?}").contains("s3cret"));
    }

    #[test]
    fn urls_without_passwords_are_unchanged() {
        for plain in ["sqlite://scrutiny.db", "postgres://postgres@127.0.0.1/test", "sqlite::memory:"] {
            assert_eq!(DatabaseUrl(plain.into()).redacted(), plain);
        }
    }

    // figment's Jail API returns its large error type by value.
    #[allow(clippy::result_large_err)]
    #[test]
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("custom.toml", "bind = \"0.0.0.0:9000\"\nmax_body_bytes = 10\n")?;
            jail.set_env("SCRUTINY_MAX_BODY_BYTES", "20");
            jail.set_env("DATABASE_URL", "postgres://u@h/db");
            let settings = Settings::load(Some("custom.toml".into())).expect("loads");
            assert_eq!(settings.bind.to_string(), "0.0.0.0:9000");
            assert_eq!(settings.max_body_bytes, 20);
            assert_eq!(settings.database_url.expose(), "postgres://u@h/db");
            assert_eq!(settings.log_format, LogFormat::Text);
            assert_eq!(settings.rate_limit_per_second, 0, "rate limiting is off by default");
            Ok(())
        });
    }

    #[allow(clippy::result_large_err)]
    #[test]
    fn scheduled_imports_come_from_the_file_with_their_secrets_hidden() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "scrutiny.toml",
                "[[imports]]\nsource = \"goszakup\"\nbase_url = \"https://ows.goszakup.gov.kz\"\n\
                 token = \"t0ken\"\nonly = [\"contract\"]\nevery_minutes = 60\n\n\
                 [[imports]]\nsource = \"egov\"\nbase_url = \"https://data.egov.kz\"\napi_key = \"k3y\"\n\
                 dataset = \"gov_agencies\"\nevery_minutes = 1440\n",
            )?;
            let settings = Settings::load(None).expect("loads");
            assert_eq!(settings.imports.len(), 2);
            assert_eq!(settings.imports[0].every_minutes, 60);
            assert_eq!(settings.imports[1].spec.name(), "egov");
            let shown = format!("{settings:?}");
            assert!(!shown.contains("t0ken") && !shown.contains("k3y"), "{shown}");
            Ok(())
        });
    }

    #[allow(clippy::result_large_err)]
    #[test]
    fn the_rate_limit_comes_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SCRUTINY_RATE_LIMIT_PER_SECOND", "5");
            jail.set_env("SCRUTINY_RATE_LIMIT_BURST", "20");
            jail.set_env("SCRUTINY_TRUST_FORWARDED_FOR", "true");
            let settings = Settings::load(Some("absent.toml".into())).expect("loads");
            assert_eq!((settings.rate_limit_per_second, settings.rate_limit_burst), (5, 20));
            assert!(settings.trust_forwarded_for);
            Ok(())
        });
    }

    #[allow(clippy::result_large_err)]
    #[test]
    fn a_bad_value_names_its_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SCRUTINY_BIND", "not an address");
            let error = Settings::load(Some("absent.toml".into())).unwrap_err().to_string();
            assert!(error.to_lowercase().contains("bind"), "{error}");
            Ok(())
        });
    }

    #[allow(clippy::result_large_err)]
    #[test]
    fn the_ocid_prefix_comes_from_the_environment_and_is_checked() {
        figment::Jail::expect_with(|jail| {
            assert_eq!(Settings::load(Some("absent.toml".into())).unwrap().ocid_prefix.as_str(), "ocds-scrtny");
            jail.set_env("SCRUTINY_OCID_PREFIX", "ocds-kz4p1c");
            assert_eq!(Settings::load(Some("absent.toml".into())).unwrap().ocid_prefix.as_str(), "ocds-kz4p1c");
            jail.set_env("SCRUTINY_OCID_PREFIX", "ocds-placeholder");
            let error = Settings::load(Some("absent.toml".into())).unwrap_err().to_string();
            assert!(error.to_lowercase().contains("ocid_prefix") && error.contains("six letters or digits"), "{error}");
            Ok(())
        });
    }
}
