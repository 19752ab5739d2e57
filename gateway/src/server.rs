//! The running gateway, composed: opens the store, loads the plugins, builds the
//! [`Services`], starts the workers (processing, deliveries, retention) and serves HTTP until
//! SIGINT/SIGTERM. Nothing here does the work itself.

use crate::bitbucket::BitbucketApi;
use crate::builtin::BUILTIN_PLUGINS;
use crate::config::ValidatedConfig;
use crate::delivery::{Delivering, DeliverySettings, Outbox};
use crate::http::abuse::AbuseGuards;
use crate::http::{self, HttpState};
use crate::metrics::Metrics;
use crate::ops::Services;
use crate::pipeline::{Escalating, Processing, ProcessingQueue};
use crate::runtime::{PluginEngine, PluginRegistry};
use crate::store::postgres::{Leases, PostgresStore};
use crate::store::redb::RedbStore;
use crate::store::{InboundRetention, SharedStore, now_ms};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// Runs the gateway until it is stopped by a signal. With `listener`, serves on it (tests bind
/// port 0); otherwise binds `config.listen`. `admin_token` overrides the token file.
pub async fn run(
    config: ValidatedConfig,
    listener: Option<TcpListener>,
    admin_token: Option<String>,
) -> anyhow::Result<()> {
    run_until(config, listener, admin_token, std::future::pending()).await
}

/// [`run`], also stopping when `stop` completes, releasing the database, the plugin
/// engine and every thread (a process that hosts many gateways, like the tests, needs that).
pub async fn run_until(
    config: ValidatedConfig,
    listener: Option<TcpListener>,
    admin_token: Option<String>,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    crate::install_tls_provider();
    crate::datadir::create_private_dir(&config.data_dir)?;
    // Absolute from here on: the compile cache requires it, and logs are clearer.
    let data_dir = std::fs::canonicalize(&config.data_dir)
        .with_context(|| format!("resolving {}", config.data_dir.display()))?;
    match &config.database_url {
        Some(_) => crate::datadir::prepare_folders(&data_dir)?,
        None => crate::datadir::prepare(&data_dir)?,
    }
    let store: SharedStore = match &config.database_url {
        // The error names the URL, its password replaced.
        Some(url) => {
            let lease = config.storage_lease;
            let store = PostgresStore::open(url.expose())
                .context("opening the PostgreSQL database")?
                .with_leases(Leases {
                    processing: lease,
                    // Longer than an attempt can take (a mail may wait on two timeouts).
                    delivery: lease + 2 * config.delivery_timeout,
                });
            tracing::info!(database = %url.redacted(), "records are kept in PostgreSQL");
            Arc::new(store)
        }
        None => Arc::new(
            RedbStore::open(&data_dir.join(crate::datadir::DATABASE_FILE))
                .with_context(|| format!("opening the database in {}", data_dir.display()))?,
        ),
    };
    let engine = PluginEngine::new(config.plugin_limits, Some(&data_dir.join("cache")))
        .context("starting the plugin engine")?;
    let registry = PluginRegistry::new(engine, BUILTIN_PLUGINS, Some(data_dir.join("plugins")))
        .context("loading the plugins")?;
    let _watch = registry.watch().context("watching the plugin folder")?;
    let (admin_token, token_source) = match admin_token {
        Some(token) => (token, "HOOKGATE_ADMIN_TOKEN".to_string()),
        None => {
            let path = data_dir.join("admin-token");
            (
                crate::datadir::admin_token_file(&path)?,
                path.display().to_string(),
            )
        }
    };
    let token_chars = admin_token.chars().count();
    if token_chars < crate::config::MIN_ADMIN_TOKEN_CHARS {
        anyhow::bail!(
            "the admin token from {token_source} has {token_chars} characters; it needs at least {} \
             (a guessable token opens the whole admin API). Use a long random one, e.g. \
             `openssl rand -hex 32`, or remove it to have one generated in <data-dir>/admin-token",
            crate::config::MIN_ADMIN_TOKEN_CHARS
        );
    }

    let listener = match listener {
        Some(listener) => listener,
        None => TcpListener::bind(config.listen)
            .with_context(|| format!("listening on {}", config.listen))?,
    };
    let address = listener.local_addr()?;
    tracing::info!("hookgate listening on http://{address}");
    tracing::info!("admin token: {token_source}");
    // The registry has logged each plugin as it loaded; repeat only the refusals here.
    let snapshot = registry.snapshot();
    for error in snapshot.errors() {
        tracing::warn!(
            "plugin file {} refused: {}",
            error.file.display(),
            error.error
        );
    }

    let backlog = store
        .queue_depth()
        .context("reading the processing queue")?;
    if backlog > 0 {
        tracing::info!("resuming {backlog} inbound records left pending at the last stop");
    }
    let metrics = Arc::new(Metrics::default());
    match store.disabled_destination_count() {
        Ok(0) => {}
        Ok(count) => {
            tracing::warn!("{count} destinations are disabled after consecutive failures");
            metrics.set_disabled_destinations(count);
        }
        Err(error) => tracing::error!(%error, "counting disabled destinations"),
    }
    match store.endpoints() {
        Ok(endpoints) => {
            let quarantined: usize = endpoints.iter().map(|e| e.quarantined.len()).sum();
            if quarantined > 0 {
                tracing::warn!(
                    "{quarantined} plugins are quarantined for an endpoint; release them \
                     (POST /api/v1/endpoints/{{id}}/plugins/{{name}}/release) once fixed"
                );
            }
            metrics.set_quarantined_plugins(quarantined as u64);
            for endpoint in endpoints.iter().filter(|endpoint| {
                endpoint.secret.as_deref().is_some_and(|secret| {
                    crate::verify::secret_key_bytes(secret)
                        < crate::config::MIN_ENDPOINT_SECRET_BYTES
                })
            }) {
                tracing::warn!(
                    endpoint = %endpoint.name,
                    "endpoint {:?} has a signing secret shorter than {} bytes, which a guess can \
                     find; rotate it (POST /api/v1/endpoints/{{id}}/rotate-secret) and give the \
                     sender the new one",
                    endpoint.name,
                    crate::config::MIN_ENDPOINT_SECRET_BYTES
                );
            }
        }
        Err(error) => tracing::error!(%error, "reading the endpoints"),
    }
    let services = Arc::new(Services {
        queue: Arc::new(ProcessingQueue::start(store.clone(), backlog)),
        outbox: Arc::new(Outbox::default()),
        store,
        registry,
        metrics,
        config,
        directory_writes: Default::default(),
    });
    let state = Arc::new(HttpState {
        abuse: AbuseGuards::new(&services.config.abuse),
        console: http::ui::Console::new(services.config.public_url.starts_with("https://"))
            .context("compiling the console templates")?
            .with_sessions_in(services.store.clone()),
        bitbucket: Arc::new(
            BitbucketApi::new(
                &services.config.bitbucket_api_url,
                services.config.bitbucket_timeout,
            )
            .context("the [bitbucket] api_url")?,
        ),
        bitbucket_oauth: bitbucket_oauth(&services.config)?,
        api_sessions: http::api::sessions::ApiSessions::default().keep_in(services.store.clone()),
        admin_token,
        services: services.clone(),
    });

    // Plugins uploaded through the API, loaded before the first request.
    crate::ops::plugins::sync_stored(&services).context("loading the stored plugins")?;
    let stored_plugins_changed = Arc::new(tokio::sync::Notify::new());
    services.store.watch(Arc::new(ClusterWakeups {
        queue: Arc::downgrade(&services.queue),
        plugins: stored_plugins_changed.clone(),
    }));

    let processing = Processing {
        store: services.store.clone(),
        registry: services.registry.clone(),
        metrics: services.metrics.clone(),
        queue: services.queue.clone(),
        outbox: services.outbox.clone(),
        twilio: services.config.twilio.clone(),
        quarantines: crate::pipeline::Quarantines::new(
            services.config.quarantine_after,
            services.store.clone(),
            services.metrics.clone(),
        ),
    };
    let mailer = services
        .config
        .smtp
        .as_ref()
        .map(crate::delivery::Mailer::new)
        .transpose()
        .map_err(|error| anyhow::anyhow!("invalid configuration `smtp`: {error}"))?;
    if let Some(mailer) = &mailer {
        tracing::info!(?mailer, "email destinations are sent through [smtp]");
    }
    let delivering = Delivering {
        mailer,
        store: services.store.clone(),
        metrics: services.metrics.clone(),
        outbox: services.outbox.clone(),
        settings: DeliverySettings::from_config(&services.config),
        client: crate::delivery::client(&services.config),
    };
    let ack_key = services
        .store
        .secret_key(crate::ops::ack_links::KEY_NAME)
        .context("reading the acknowledge links' key")?;
    let public_url = services.config.public_url.clone();
    let escalating = Escalating {
        store: services.store.clone(),
        registry: services.registry.clone(),
        outbox: services.outbox.clone(),
        twilio: services.config.twilio.clone(),
        ack_link: Arc::new(move |alert, user| {
            Some(crate::ops::ack_links::link(
                &public_url,
                &ack_key,
                alert,
                user,
            ))
        }),
    };
    let retention_bounds = RetentionBounds {
        max_age: services.config.retention,
        max_records: services.config.retention_max_records,
        max_rejected_records: services.config.retention_max_rejected_records,
        closed_alerts: services.config.closed_alert_retention,
        finished_deliveries: services.config.finished_delivery_retention,
    };
    let workers = [
        tokio::spawn(processing.run()),
        tokio::spawn(delivering.run()),
        tokio::spawn(escalating.run()),
        tokio::spawn(retention(
            services.store.clone(),
            retention_bounds,
            services.config.retention_interval,
        )),
        tokio::spawn(resync_backlog(services.clone())),
        tokio::spawn(sync_stored_plugins(
            services.clone(),
            stored_plugins_changed,
        )),
        tokio::spawn({
            let state = state.clone();
            async move {
                let per_minute = state.services.config.abuse.rejected_records_per_minute;
                http::abuse::report_suppressed_records(&state.abuse, per_minute).await
            }
        }),
    ];

    let data = web::Data::from(state.clone());
    let max_body = services.config.max_body_bytes;
    let limits = services.config.abuse;
    // actix counts connections per worker; the configured bound is for the whole server.
    let http_workers = std::thread::available_parallelism().map_or(1, usize::from);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(max_body + 1))
            .wrap(actix_web::middleware::from_fn(
                http::connections::body_deadline,
            ))
            .configure(http::routes)
    })
    .on_connect(http::connections::on_connect(state.clone()))
    .workers(http_workers)
    .max_connections(limits.max_connections.div_ceil(http_workers))
    .client_request_timeout(limits.header_timeout)
    .client_disconnect_timeout(Duration::from_secs(1))
    .keep_alive(limits.keep_alive)
    .shutdown_timeout(10)
    .listen(listener)?
    .run();
    let handle = server.handle();
    let mut server = std::pin::pin!(server);
    let result = tokio::select! {
        result = &mut server => result,
        () = stop => {
            // Not graceful: idle keep-alive connections would hold a graceful stop for the
            // whole shutdown timeout, and a request cut here was never answered, so nothing
            // acknowledged is lost. The command is sent at once; the server future, polled
            // below, carries it out (awaiting the handle first would wait on itself).
            let stopped = handle.stop(false);
            let result = server.await;
            stopped.await;
            result
        }
    };
    for worker in workers {
        worker.abort();
    }
    tracing::info!("hookgate stopped");
    result.context("serving HTTP")
}

/// Wakes this gateway's workers when another gateway on the shared database writes. The store
/// holds this, and the queue holds the store: a weak queue, or neither is ever dropped (a
/// stopped gateway would keep its database connections open).
struct ClusterWakeups {
    queue: std::sync::Weak<ProcessingQueue>,
    plugins: Arc<tokio::sync::Notify>,
}

impl crate::store::StoreEvents for ClusterWakeups {
    fn inbound_queued(&self) {
        if let Some(queue) = self.queue.upgrade() {
            queue.wake();
        }
    }

    fn plugins_changed(&self) {
        self.plugins.notify_one();
    }
}

/// How often a gateway looks for plugins uploaded through another gateway when no
/// notification came (the fallback of LISTEN/NOTIFY; SPEC §13 asks for 2 s).
const STORED_PLUGINS_EVERY: Duration = Duration::from_secs(1);

/// Keeps the plugins uploaded through the API loaded as the store has them. A store of this
/// process alone changes only through this gateway's own upload and delete, which load the
/// change themselves: nothing to watch then.
async fn sync_stored_plugins(services: Arc<Services>, changed: Arc<tokio::sync::Notify>) {
    if !services.store.is_shared() {
        return;
    }
    loop {
        let _ = tokio::time::timeout(STORED_PLUGINS_EVERY, changed.notified()).await;
        let services = services.clone();
        match tokio::task::spawn_blocking(move || crate::ops::plugins::sync_stored(&services)).await
        {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::debug!(%error, "reading the stored plugins"),
            Err(_) => return,
        }
    }
}

/// How often a gateway on a shared database reads the cluster's backlog.
const BACKLOG_RESYNC_EVERY: Duration = Duration::from_millis(500);

/// On a shared database, keeps the ingest backlog bound for the whole cluster: the queue's
/// count is read from the database, since the other gateways' appends never pass here.
async fn resync_backlog(services: Arc<Services>) {
    if !services.store.is_shared() {
        return;
    }
    loop {
        tokio::time::sleep(BACKLOG_RESYNC_EVERY).await;
        let store = services.store.clone();
        match tokio::task::spawn_blocking(move || store.queue_depth()).await {
            Ok(Ok(depth)) => services.queue.resync(depth),
            Ok(Err(error)) => tracing::debug!(%error, "reading the cluster's backlog"),
            Err(_) => return,
        }
    }
}

/// The retention bounds, from `[retention]`.
struct RetentionBounds {
    max_age: Duration,
    max_records: u64,
    max_rejected_records: u64,
    /// How long closed alerts are kept; `None`: for good.
    closed_alerts: Option<Duration>,
    /// How long finished deliveries are kept; `None`: for good.
    finished_deliveries: Option<Duration>,
}

/// Prunes the inbound log to the retention bounds (age; count of accepted records and, apart,
/// of rejected ones), and the closed alerts and finished deliveries when they are kept for a
/// time, at start-up and then every `interval` (`[retention] interval`, hourly by default).
async fn retention(store: SharedStore, bounds: RetentionBounds, interval: Duration) {
    loop {
        let store_for_history = store.clone();
        let store = store.clone();
        let prune = InboundRetention {
            older_than_ms: now_ms().saturating_sub(bounds.max_age.as_millis() as u64),
            max_records: bounds.max_records,
            max_rejected_records: bounds.max_rejected_records,
        };
        match tokio::task::spawn_blocking(move || store.prune_inbound(&prune)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(removed)) => tracing::info!("retention: removed {removed} inbound records"),
            Ok(Err(error)) => tracing::error!(%error, "retention failed"),
            Err(_) => return,
        }
        if let Some(kept) = bounds.closed_alerts {
            let store = store_for_history.clone();
            let before = now_ms().saturating_sub(kept.as_millis() as u64);
            match tokio::task::spawn_blocking(move || store.prune_closed_alerts(before)).await {
                Ok(Ok(0)) => {}
                Ok(Ok(removed)) => tracing::info!("retention: removed {removed} closed alerts"),
                Ok(Err(error)) => tracing::error!(%error, "retention of closed alerts failed"),
                Err(_) => return,
            }
        }
        if let Some(kept) = bounds.finished_deliveries {
            let store = store_for_history.clone();
            let before = now_ms().saturating_sub(kept.as_millis() as u64);
            match tokio::task::spawn_blocking(move || store.prune_finished_deliveries(before)).await
            {
                Ok(Ok(0)) => {}
                Ok(Ok(removed)) => {
                    tracing::info!("retention: removed {removed} finished deliveries")
                }
                Ok(Err(error)) => {
                    tracing::error!(%error, "retention of finished deliveries failed")
                }
                Err(_) => return,
            }
        }
        tokio::time::sleep(interval).await;
    }
}

/// The OAuth connect flow when a consumer is configured; its tokens' key is made on first use
/// (`bitbucket-tokens.key` under the data dir, 0600), kept apart from the database.
fn bitbucket_oauth(
    config: &crate::config::ValidatedConfig,
) -> anyhow::Result<Option<Arc<crate::ops::bitbucket_oauth::BitbucketOAuthConnect>>> {
    use crate::bitbucket::{oauth::BitbucketOAuth, sealed};
    let Some(settings) = config.bitbucket_oauth.clone() else {
        return Ok(None);
    };
    let key = crate::datadir::key_file(&config.data_dir.join(sealed::KEY_FILE))
        .context("the Bitbucket tokens' key")?;
    Ok(Some(Arc::new(
        crate::ops::bitbucket_oauth::BitbucketOAuthConnect::new(
            BitbucketOAuth::new(settings, config.bitbucket_timeout),
            sealed::TokenSealer::new(&key),
        ),
    )))
}
