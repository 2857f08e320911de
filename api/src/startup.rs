//! The composition root: one place builds the API for the server, the tests and the spec dump.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use domain::cache::ResultCache;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::{Endpoint, EndpointExt, Route, Server};
use poem_openapi::OpenApiService;
use sea_orm::DatabaseConnection;

use crate::auth::{Auth, JwtKeys, KeyError, keys};
use crate::bulk_store::BulkStore;
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::middleware::{BodyLimit, HttpCaching, Problems, RateLimit, RouteIndex, observe};
use crate::routes::accounts::AccountsApi;
use crate::routes::attachments::{AttachmentsApi, store_dir};
use crate::routes::audit::AuditApi;
use crate::routes::auth::AuthApi;
use crate::routes::bulk::BulkApi;
use crate::routes::calendar::CalendarApi;
use crate::routes::changes::ChangesApi;
use crate::routes::contracts::ContractsApi;
use crate::routes::councils::CouncilsApi;
use crate::routes::decisions::DecisionsApi;
use crate::routes::feeds::FeedsApi;
use crate::routes::findings::FindingsApi;
use crate::routes::imports::ImportsApi;
use crate::routes::lots::LotsApi;
use crate::routes::ocds::OcdsApi;
use crate::routes::operations::OperationsApi;
use crate::routes::organizations::OrganizationsApi;
use crate::routes::participation::ParticipationApi;
use crate::routes::payments::PaymentsApi;
use crate::routes::plan_items::PlanItemsApi;
use crate::routes::records::RecordsApi;
use crate::routes::red_flags::RedFlagsApi;
use crate::routes::scrutiny_stats::ScrutinyStatsApi;
use crate::routes::search::SearchApi;
use crate::routes::stats::StatsApi;
use crate::routes::tenders::TendersApi;
use domain::audit::TreeSigner;
use domain::clock::Clock;
use domain::findings::Findings;
use domain::findings::attachments::AttachmentStore;
use domain::findings::calendar::Calendar;

/// The spending records, read-only open data.
type OpenDataApis = (
    OrganizationsApi,
    PlanItemsApi,
    TendersApi,
    LotsApi,
    ContractsApi,
    PaymentsApi,
    DecisionsApi,
    StatsApi,
    BulkApi,
    SearchApi,
    OcdsApi,
    ChangesApi,
    RecordsApi,
);

/// People: tokens, accounts and public councils.
type PeopleApis = (AuthApi, AccountsApi, CouncilsApi);

/// Scrutiny: findings and the calendar their deadlines count on.
type ScrutinyApis = (FindingsApi, AttachmentsApi, ParticipationApi, ScrutinyStatsApi, FeedsApi, CalendarApi);

/// Every operation, by area; a new area is one more entry.
type Apis = (OperationsApi, ImportsApi, OpenDataApis, PeopleApis, AuditApi, ScrutinyApis, RedFlagsApi);

/// What the operations share, built once per process.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub metrics: Metrics,
    pub auth: Arc<Auth>,
    pub signer: TreeSigner,
    pub trust_forwarded_for: bool,
    /// How long `/v1/audit/verify` serves one check's result.
    pub verify_every: Duration,
    /// The findings service, with the calendar and the clock.
    pub findings: Findings,
    /// Where findings' attachments are stored, and the largest one taken.
    pub attachments: Arc<AttachmentStore>,
    pub max_attachment_bytes: u64,
    /// The red-flag indicators' settings.
    pub indicators: Arc<indicators::database::DatabaseSettings>,
    /// Where bulk files are built and served from.
    pub bulk: Arc<BulkStore>,
}

/// The keys a server signs with: access tokens and audit tree heads.
#[derive(Clone)]
pub struct Keys {
    pub jwt: JwtKeys,
    pub audit: TreeSigner,
}

impl Keys {
    /// The keys the settings name (or generated beside a SQLite database); needs no
    /// database, so that a misconfigured server says so before connecting.
    pub fn load(settings: &Settings) -> Result<Keys, KeyError> {
        Ok(Keys { jwt: JwtKeys::load(settings)?, audit: TreeSigner::new(keys::audit_signing_key(settings)?) })
    }
}

impl AppState {
    pub fn new(
        db: DatabaseConnection,
        settings: &Settings,
        keys: Keys,
        calendar: Arc<Calendar>,
        attachments: AttachmentStore,
        indicators: Arc<indicators::database::DatabaseSettings>,
    ) -> AppState {
        AppState {
            indicators,
            bulk: Arc::new(crate::routes::bulk::store(settings)),
            attachments: Arc::new(attachments),
            max_attachment_bytes: settings.max_attachment_bytes,
            findings: Findings::new(db.clone(), calendar, Clock::system()),
            auth: Auth::new(db.clone(), settings, keys.jwt),
            db,
            metrics: Metrics::new(settings.database_max_connections),
            signer: keys.audit,
            trust_forwarded_for: settings.trust_forwarded_for,
            verify_every: Duration::from_secs(settings.audit_verify_every_seconds),
        }
    }

    /// State for printing the spec: no database, throwaway keys.
    fn for_spec() -> AppState {
        let db = DatabaseConnection::default();
        let settings = Settings::default();
        AppState {
            // Never touched: the spec needs no disk.
            attachments: Arc::new(AttachmentStore::new(std::env::temp_dir())),
            max_attachment_bytes: settings.max_attachment_bytes,
            auth: Auth::new(db.clone(), &settings, JwtKeys::ephemeral()),
            findings: Findings::new(db.clone(), Arc::new(Calendar::shipped()), Clock::system()),
            db,
            metrics: Metrics::new(0),
            signer: TreeSigner::new(ed25519_dalek::SigningKey::from_bytes(&[7u8; 32])),
            trust_forwarded_for: false,
            verify_every: Duration::ZERO,
            indicators: Arc::new(indicators::database::DatabaseSettings::project()),
            // Never touched either: its directory is made by the first build.
            bulk: Arc::new(BulkStore::temporary()),
        }
    }
}

const DESCRIPTION: &str = "\
Open data on public spending in Kazakhstan: state bodies and the quasi-public sector (national \
holdings and companies), their procurement, contracts and payments, gathered from goszakup.gov.kz, \
zakup.sk.kz, the treasury, data.egov.kz and OCDS publications.

Reads need no account. Writes need a bearer access token from `POST /v1/auth/token` (a JWT, \
valid 15 minutes; refresh it with `POST /v1/auth/refresh`). Updates need `If-Match` with the \
object's `ETag` (412 when it changed since, 428 without it); creating POSTs take an \
`Idempotency-Key` that makes a retry return the first answer. Every write is recorded in the \
public audit log (`/v1/audit/…`), which anyone can verify as a Certificate Transparency log \
(RFC 9162). Errors are RFC 9457 problem details (`application/problem+json`). Lists \
use keyset pagination: follow `links.next` until it is absent. Money is exact: a decimal string \
with currency and VAT basis. Times are RFC 3339 in UTC.

Caching: successful reads carry `Cache-Control: public, max-age=60` (the change feed: `no-cache`) \
and `Vary: Accept, Accept-Language`; those with a JSON or YAML body also carry a strong `ETag` \
derived from the body's bytes. Send it back in `If-None-Match` (a list of tags or `*` also works) \
to get `304 Not Modified` without the body while the data is unchanged. CSV exports are streamed \
and carry no `ETag`; bulk files (`/v1/bulk/…`) are built once per data version and carry a strong \
`ETag` of their bytes, `Last-Modified` and `Accept-Ranges: bytes` (a `Range` gets `206`, resumable \
with `If-Range`); `/healthz`, `/readyz` and `/metrics` carry `Cache-Control: no-store`.

Rate limiting: when the server is configured with a rate, each client address gets that many \
requests per second with a burst allowance; past it, the answer is `429 Too Many Requests`, a \
problem with a `Retry-After` header in seconds. Operational paths are never limited.";

/// The OpenAPI service over every operation.
pub fn api_service(state: &AppState) -> OpenApiService<Apis, ()> {
    let cache = Arc::new(ResultCache::default());
    let db = state.db.clone();
    let open_data = (
        OrganizationsApi {
            db: db.clone(),
            cache: cache.clone(),
            findings: state.findings.clone(),
            indicators: state.indicators.clone(),
        },
        PlanItemsApi { db: db.clone(), cache: cache.clone() },
        TendersApi {
            db: db.clone(),
            cache: cache.clone(),
            findings: state.findings.clone(),
            indicators: state.indicators.clone(),
        },
        LotsApi { db: db.clone(), cache: cache.clone() },
        ContractsApi {
            db: db.clone(),
            cache: cache.clone(),
            findings: state.findings.clone(),
            indicators: state.indicators.clone(),
        },
        PaymentsApi { db: db.clone(), cache: cache.clone() },
        DecisionsApi { db: db.clone(), cache: cache.clone() },
        StatsApi { db: db.clone(), cache: cache.clone() },
        BulkApi { db: db.clone(), findings: state.findings.clone(), store: state.bulk.clone() },
        SearchApi { db: db.clone() },
        OcdsApi { db: db.clone() },
        ChangesApi { db: db.clone() },
        RecordsApi { db: db.clone() },
    );
    let people = (
        AuthApi { auth: state.auth.clone(), trust_forwarded_for: state.trust_forwarded_for },
        AccountsApi { db: db.clone(), auth: state.auth.clone(), trust_forwarded_for: state.trust_forwarded_for },
        CouncilsApi { db: db.clone(), auth: state.auth.clone() },
    );
    OpenApiService::new(
        (
            OperationsApi { db: db.clone(), metrics: state.metrics.clone() },
            ImportsApi { db: db.clone() },
            open_data,
            people,
            AuditApi {
                db: db.clone(),
                signer: state.signer.clone(),
                tree: Arc::new(Default::default()),
                verified: Arc::new(Default::default()),
                verify_every: state.verify_every,
            },
            (
                FindingsApi { findings: state.findings.clone(), auth: state.auth.clone() },
                AttachmentsApi {
                    findings: state.findings.clone(),
                    auth: state.auth.clone(),
                    store: state.attachments.clone(),
                    max_bytes: state.max_attachment_bytes,
                },
                ParticipationApi { findings: state.findings.clone(), auth: state.auth.clone() },
                ScrutinyStatsApi { findings: state.findings.clone(), cache: cache.clone() },
                FeedsApi { findings: state.findings.clone() },
                CalendarApi { calendar: state.findings.calendar.clone(), clock: state.findings.clock.clone() },
            ),
            RedFlagsApi { db, findings: state.findings.clone(), settings: state.indicators.clone() },
        ),
        "Scrutiny",
        env!("CARGO_PKG_VERSION"),
    )
    .summary("Public scrutiny of state and quasi-public spending in Kazakhstan")
    .description(DESCRIPTION)
    .license(poem_openapi::LicenseObject::new("MIT").url("https://opensource.org/license/mit"))
}

/// The spec as YAML, built without a database.
pub fn openapi_yaml() -> String {
    crate::spec::yaml(&crate::spec::for_clients(&api_service(&AppState::for_spec()).spec_yaml()))
}

/// An endpoint answering one fixed document.
fn document(content_type: &'static str, body: String) -> impl Endpoint + 'static {
    poem::endpoint::make_sync(move |_| poem::Response::builder().content_type(content_type).body(body.clone()))
}

/// Every route, wrapped in the middleware every request passes through.
pub fn routes(state: &AppState, settings: &Settings) -> impl Endpoint + 'static {
    let metrics = state.metrics.clone();
    let api = api_service(state);
    let routes_index = RouteIndex::from_spec(&api.spec());
    let spec = crate::spec::for_clients(&api.spec_yaml());
    let app = Route::new()
        .at("/openapi.json", document("application/json; charset=utf-8", crate::spec::json(&spec)))
        .at("/openapi.yaml", document("application/yaml; charset=utf-8", crate::spec::yaml(&spec)))
        .nest("/docs", api.swagger_ui())
        .nest("/", api)
        .with(poem::middleware::CatchPanic::new().with_handler(crate::middleware::panic_problem))
        .with(crate::middleware::ExpensiveLimit::new(settings.expensive_concurrency))
        .with(BodyLimit(settings.max_body_bytes))
        .with(crate::middleware::NoNulInQuery)
        .with(Problems(routes_index))
        .with(HttpCaching)
        .with(RateLimit::from_settings(settings));
    let timeout = Duration::from_secs(settings.request_timeout_seconds.max(1));
    app.around(move |endpoint, request| {
        let metrics = metrics.clone();
        async move { observe(endpoint.as_ref(), &metrics, request, timeout).await }
    })
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("binding the address: {0}")]
    Bind(#[from] std::io::Error),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("the working-day calendar: {0}")]
    Calendar(#[from] domain::findings::calendar::CalendarError),
    #[error("the attachment store: {0}")]
    Attachments(String),
    #[error("the red-flag indicators' settings: {0}")]
    Indicators(String),
    #[error("the OCID prefix: {0}")]
    OcidPrefix(String),
}

/// The indicators' settings the configuration names, or the project's own.
pub fn indicator_settings(settings: &Settings) -> Result<indicators::database::DatabaseSettings, StartupError> {
    match &settings.indicators_settings {
        None => Ok(indicators::database::DatabaseSettings::project()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|error| StartupError::Indicators(format!("reading {}: {error}", path.display())))?;
            indicators::database::DatabaseSettings::parse(&text)
                .map_err(|error| StartupError::Indicators(format!("{}: {error}", path.display())))
        }
    }
}

/// A server bound to its port, not yet serving.
pub struct Application {
    acceptor: TcpAcceptor,
    address: SocketAddr,
    state: AppState,
    settings: Settings,
}

impl Application {
    /// Loads the keys, then binds `settings.bind` (port 0 picks a free port).
    pub async fn build(settings: Settings, db: DatabaseConnection) -> Result<Self, StartupError> {
        let keys = Keys::load(&settings)?;
        Self::build_with_keys(settings, db, keys).await
    }

    /// Binds `settings.bind` with keys already loaded.
    pub async fn build_with_keys(settings: Settings, db: DatabaseConnection, keys: Keys) -> Result<Self, StartupError> {
        domain::ocds::use_ocid_prefix(settings.ocid_prefix.clone())
            .map_err(|error| StartupError::OcidPrefix(error.to_string()))?;
        let calendar = match &settings.calendar_file {
            Some(path) => Calendar::from_file(path)?,
            None => Calendar::shipped(),
        };
        let attachments = AttachmentStore::new(store_dir(&settings).map_err(StartupError::Attachments)?);
        let indicators = Arc::new(indicator_settings(&settings)?);
        let state = AppState::new(db, &settings, keys, Arc::new(calendar), attachments, indicators);
        let acceptor = TcpListener::bind(settings.bind).into_acceptor().await?;
        let address = acceptor
            .local_addr()
            .first()
            .and_then(|addr| addr.as_socket_addr().copied())
            .ok_or_else(|| std::io::Error::other("listener has no socket address"))?;
        Ok(Application { acceptor, address, state, settings })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The clock writes are stamped with and deadlines judged by; tests move it.
    pub fn clock(&self) -> Clock {
        self.state.findings.clock.clone()
    }

    /// Serves until Ctrl-C or SIGTERM, then lets requests in flight finish (up to 10 s).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        // Scheduled imports and the red-flag refreshes after them are batch work: they get a
        // small pool of their own, without the statement timeout that bounds requests (an
        // in-memory database has only the one pool, which holds it).
        let batch_db = match (self.settings.imports.is_empty(), self.settings.database_url.is_in_memory()) {
            (false, false) => domain::db::connect(
                self.settings.database_url.expose(),
                &domain::db::PoolOptions { max_connections: 2, ..domain::db::PoolOptions::default() },
            )
            .await
            .map_err(std::io::Error::other)?,
            _ => self.state.db.clone(),
        };
        let mut schedule = crate::schedule::spawn(
            batch_db,
            &self.settings.imports,
            self.settings.upstream(),
            self.settings.ocds_max_release_bytes,
            self.state.indicators.clone(),
        );
        schedule.push(crate::schedule::spawn_deadlines(
            self.state.findings.clone(),
            Duration::from_secs(self.settings.deadline_sweep_seconds.max(1)),
        ));
        match crate::mail::Mailer::from_settings(&self.settings) {
            Ok(Some(mailer)) => schedule.push(crate::mail::spawn_with_clock(
                self.state.db.clone(),
                mailer,
                Duration::from_secs(self.settings.outbox_every_seconds.max(1)),
                self.state.findings.clock.clone(),
            )),
            Ok(None) => tracing::info!("no SMTP server configured: messages stay in the outbox"),
            Err(error) => {
                tracing::error!(error = %error, "the SMTP settings are unusable: messages stay in the outbox")
            }
        }
        let app = routes(&self.state, &self.settings);
        let header_timeout = Duration::from_secs(self.settings.header_read_timeout_seconds.max(1));
        let acceptor = crate::slow_clients::HeaderDeadlineAcceptor::new(self.acceptor, header_timeout);
        let served = Server::new_with_acceptor(acceptor)
            .idle_timeout(Duration::from_secs(self.settings.idle_timeout_seconds.max(1)))
            .http2_max_concurrent_streams(self.settings.http2_max_concurrent_streams.max(1))
            .run_with_graceful_shutdown(app, shutdown_signal(), Some(Duration::from_secs(10)))
            .await;
        for task in schedule {
            task.abort();
        }
        served
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}
