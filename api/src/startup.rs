//! The composition root: one place builds the API for the server, the tests and the spec dump.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use domain::cache::ResultCache;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::{Endpoint, EndpointExt, Route, Server};
use poem_openapi::OpenApiService;
use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::middleware::{BodyLimit, HttpCaching, Problems, RateLimit, RouteIndex, observe};
use crate::routes::bulk::BulkApi;
use crate::routes::changes::ChangesApi;
use crate::routes::contracts::ContractsApi;
use crate::routes::decisions::DecisionsApi;
use crate::routes::imports::ImportsApi;
use crate::routes::lots::LotsApi;
use crate::routes::ocds::OcdsApi;
use crate::routes::operations::OperationsApi;
use crate::routes::organizations::OrganizationsApi;
use crate::routes::payments::PaymentsApi;
use crate::routes::plan_items::PlanItemsApi;
use crate::routes::search::SearchApi;
use crate::routes::stats::StatsApi;
use crate::routes::tenders::TendersApi;

type Apis = (
    OperationsApi,
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
    ImportsApi,
);

const DESCRIPTION: &str = "\
Open data on public spending in Kazakhstan: state bodies and the quasi-public sector (national \
holdings and companies), their procurement, contracts and payments, gathered from goszakup.gov.kz, \
zakup.sk.kz, the treasury, data.egov.kz and OCDS publications.

Reads need no account. Errors are RFC 9457 problem details (`application/problem+json`). Lists \
use keyset pagination: follow `links.next` until it is absent. Money is exact: a decimal string \
with currency and VAT basis. Times are RFC 3339 in UTC.

Caching: successful reads carry `Cache-Control: public, max-age=60` (the change feed: `no-cache`) \
and `Vary: Accept, Accept-Language`; those with a JSON or YAML body also carry a strong `ETag` \
derived from the body's bytes. Send it back in `If-None-Match` (a list of tags or `*` also works) \
to get `304 Not Modified` without the body while the data is unchanged. CSV exports are streamed \
and carry no `ETag`; `/healthz`, `/readyz` and `/metrics` carry `Cache-Control: no-store`.

Rate limiting: when the server is configured with a rate, each client address gets that many \
requests per second with a burst allowance; past it, the answer is `429 Too Many Requests`, a \
problem with a `Retry-After` header in seconds. Operational paths are never limited.";

/// The OpenAPI service over every operation.
pub fn api_service(db: DatabaseConnection, metrics: Metrics) -> OpenApiService<Apis, ()> {
    let cache = Arc::new(ResultCache::default());
    OpenApiService::new(
        (
            OperationsApi { db: db.clone(), metrics },
            OrganizationsApi { db: db.clone(), cache: cache.clone() },
            PlanItemsApi { db: db.clone(), cache: cache.clone() },
            TendersApi { db: db.clone(), cache: cache.clone() },
            LotsApi { db: db.clone(), cache: cache.clone() },
            ContractsApi { db: db.clone(), cache: cache.clone() },
            PaymentsApi { db: db.clone(), cache: cache.clone() },
            DecisionsApi { db: db.clone(), cache: cache.clone() },
            StatsApi { db: db.clone(), cache: cache.clone() },
            BulkApi { db: db.clone() },
            SearchApi { db: db.clone() },
            OcdsApi { db: db.clone() },
            ChangesApi { db: db.clone() },
            ImportsApi { db },
        ),
        "Scrutiny",
        env!("CARGO_PKG_VERSION"),
    )
    .summary("Public scrutiny of state and quasi-public spending in Kazakhstan")
    .description(DESCRIPTION)
    .license(poem_openapi::LicenseObject::new("MIT"))
}

/// The spec as YAML, built without a database.
pub fn openapi_yaml() -> String {
    api_service(DatabaseConnection::default(), Metrics::new(0)).spec_yaml()
}

/// Every route, wrapped in the middleware every request passes through.
pub fn routes(db: DatabaseConnection, settings: &Settings) -> impl Endpoint + 'static {
    let metrics = Metrics::new(settings.database_max_connections);
    let api = api_service(db, metrics.clone());
    let routes_index = RouteIndex::from_spec(&api.spec());
    let app = Route::new()
        .at("/openapi.json", api.spec_endpoint())
        .at("/openapi.yaml", api.spec_endpoint_yaml())
        .nest("/docs", api.swagger_ui())
        .nest("/", api)
        .with(BodyLimit(settings.max_body_bytes))
        .with(Problems(routes_index))
        .with(HttpCaching)
        .with(RateLimit::from_settings(settings));
    app.around(move |endpoint, request| {
        let metrics = metrics.clone();
        async move { observe(endpoint.as_ref(), &metrics, request).await }
    })
}

/// A server bound to its port, not yet serving.
pub struct Application {
    acceptor: TcpAcceptor,
    address: SocketAddr,
    db: DatabaseConnection,
    settings: Settings,
}

impl Application {
    /// Binds `settings.bind` (port 0 picks a free port).
    pub async fn build(settings: Settings, db: DatabaseConnection) -> std::io::Result<Self> {
        let acceptor = TcpListener::bind(settings.bind).into_acceptor().await?;
        let address = acceptor
            .local_addr()
            .first()
            .and_then(|addr| addr.as_socket_addr().copied())
            .ok_or_else(|| std::io::Error::other("listener has no socket address"))?;
        Ok(Application { acceptor, address, db, settings })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until Ctrl-C or SIGTERM, then lets requests in flight finish (up to 10 s).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let schedule = crate::schedule::spawn(self.db.clone(), &self.settings.imports);
        let app = routes(self.db, &self.settings);
        let served = Server::new_with_acceptor(self.acceptor)
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
