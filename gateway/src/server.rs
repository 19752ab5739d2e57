//! The running gateway: opens the store, loads the plugins, starts the workers (processing,
//! deliveries, retention) and serves HTTP until SIGINT/SIGTERM.

use crate::bitbucket_connect::BitbucketApi;
use crate::builtin::BUILTIN_PLUGINS;
use crate::committer::InboundCommitter;
use crate::config::ValidatedConfig;
use crate::http;
use crate::http::abuse::AbuseGuards;
use crate::metrics::Metrics;
use crate::runtime::{PluginEngine, PluginRegistry};
use crate::store::{Store, now_ms};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;
use tokio::sync::Notify;

/// What every handler and worker shares.
pub struct AppState {
    /// Validated configuration.
    pub config: ValidatedConfig,
    /// The database.
    pub store: Store,
    /// Loaded plugins.
    pub registry: Arc<PluginRegistry>,
    /// The admin API's bearer token.
    pub admin_token: String,
    /// Group commit of inbound records.
    pub committer: InboundCommitter,
    /// Records waiting for processing.
    pub backlog: AtomicU64,
    /// Wakes the processing worker.
    pub pipeline_wake: Notify,
    /// Wakes the delivery worker.
    pub delivery_wake: Notify,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// Rate limits and the rejected-record cap of the ingest path.
    pub abuse: AbuseGuards,
    /// The web console's templates and sessions.
    pub console: http::ui::Console,
    /// The Bitbucket Cloud API, for `bitbucket connect` and `disconnect`.
    pub bitbucket: BitbucketApi,
}

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
    crate::datadir::prepare(&data_dir)?;
    let store = Store::open(&data_dir.join("hookgate.redb"))
        .with_context(|| format!("opening the database in {}", data_dir.display()))?;
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
    let state = Arc::new(AppState {
        committer: InboundCommitter::start(store.clone()),
        store,
        registry,
        admin_token,
        backlog: AtomicU64::new(backlog),
        pipeline_wake: Notify::new(),
        delivery_wake: Notify::new(),
        metrics: Metrics::default(),
        abuse: AbuseGuards::new(&config.abuse),
        console: http::ui::Console::new().context("compiling the console templates")?,
        bitbucket: BitbucketApi::new(&config.bitbucket_api_url)
            .context("the [bitbucket] api_url")?,
        config,
    });

    match state.store.disabled_destination_count() {
        Ok(0) => {}
        Ok(count) => {
            tracing::warn!("{count} destinations are disabled after consecutive failures");
            state.metrics.set_disabled_destinations(count);
        }
        Err(error) => tracing::error!(%error, "counting disabled destinations"),
    }
    let client = crate::delivery::client(&state.config);
    let workers = [
        tokio::spawn(crate::pipeline::run(state.clone())),
        tokio::spawn(crate::delivery::run(state.clone(), client)),
        tokio::spawn(retention(state.clone())),
        tokio::spawn({
            let state = state.clone();
            async move {
                let per_minute = state.config.abuse.rejected_records_per_minute;
                http::abuse::report_suppressed_records(&state.abuse, per_minute).await
            }
        }),
    ];

    let data = web::Data::from(state.clone());
    let max_body = state.config.max_body_bytes;
    let limits = state.config.abuse;
    // actix counts connections per worker; the configured bound is for the whole server.
    let http_workers = std::thread::available_parallelism().map_or(1, usize::from);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(max_body + 1))
            .configure(http::routes)
    })
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

/// Prunes the inbound log hourly to the retention bounds.
async fn retention(state: Arc<AppState>) {
    loop {
        let store = state.store.clone();
        let older_than = now_ms().saturating_sub(state.config.retention.as_millis() as u64);
        let max_records = state.config.retention_max_records;
        match tokio::task::spawn_blocking(move || store.prune_inbound(older_than, max_records))
            .await
        {
            Ok(Ok(0)) => {}
            Ok(Ok(removed)) => tracing::info!("retention: removed {removed} inbound records"),
            Ok(Err(error)) => tracing::error!(%error, "retention failed"),
            Err(_) => return,
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}
