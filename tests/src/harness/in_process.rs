//! A real gateway running in this process (`hookgate::run_until`) on 127.0.0.1, port 0.

use super::{ADMIN_TOKEN, GatewayClient, wait_for};
use hookgate::config::GatewayConfig;
use serde_json::Value;
use std::net::TcpListener;
use std::ops::Deref;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A gateway running in this process; its [`GatewayClient`] methods are called on it directly.
pub struct TestGateway {
    /// Its data folder (deleted with the gateway).
    pub data_dir: tempfile::TempDir,
    client: GatewayClient,
    /// Stops the gateway when sent to (or dropped).
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Its redb file (`None` on PostgreSQL), waited for at drop until released.
    database: Option<PathBuf>,
}

impl TestGateway {
    /// Starts a gateway with test settings (private destinations allowed, a short retry
    /// schedule), adjusted by `adjust`, and waits until `/readyz` answers.
    pub fn start(adjust: impl FnOnce(&mut GatewayConfig)) -> Self {
        hookgate::install_tls_provider();
        let data_dir = tempfile::tempdir().expect("temp dir");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().unwrap();
        let mut config = GatewayConfig {
            listen: address.to_string(),
            data_dir: data_dir.path().to_path_buf(),
            public_url: Some(format!("http://{address}")),
            ..GatewayConfig::default()
        };
        config.delivery.allow_private_destinations = true;
        config.delivery.retry_schedule = vec!["200ms".into(), "400ms".into()];
        config.delivery.timeout_secs = 2;
        // Plugin calls get 5 s, not 50 ms: a busy test machine can deschedule a call past the
        // default and fail a record the test expects processed. Tests of the time limit set it.
        config.plugins.timeout_ms = 5000;
        adjust(&mut config);
        let config = config.validate().expect("valid test config");
        let database = config
            .database_url
            .is_none()
            .then(|| config.data_dir.join(hookgate::datadir::DATABASE_FILE));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            if let Err(error) = runtime.block_on(hookgate::run_until(
                config,
                Some(listener),
                Some(ADMIN_TOKEN.into()),
                async {
                    let _ = stopped.await;
                },
            )) {
                eprintln!("test gateway stopped: {error:#}");
            }
        });
        let gateway = Self {
            data_dir,
            client: GatewayClient::new(format!("http://{address}"), ADMIN_TOKEN),
            stop: Some(stop),
            thread: Some(thread),
            database,
        };
        wait_for("the gateway to be ready", Duration::from_secs(60), || {
            assert!(
                !gateway
                    .thread
                    .as_ref()
                    .is_some_and(|thread| thread.is_finished()),
                "the test gateway stopped while starting (its error is printed above)"
            );
            gateway.ready_status() == Some(200)
        });
        gateway
    }

    /// The data folder.
    pub fn data_path(&self) -> PathBuf {
        self.data_dir.path().to_path_buf()
    }
}

impl TestGateway {
    /// Copies plugin components into the gateway's drop-in folder (`(file name, bytes)`) and
    /// waits until `GET /api/v1/plugins` lists each one, by plugin name, as a drop-in without
    /// error; returns those list items.
    pub fn install_dropins(&self, plugins: &[(&str, &str, Vec<u8>)]) -> Vec<Value> {
        let folder = self.data_path().join("plugins");
        for (_, file, bytes) in plugins {
            crate::drop_in(&folder, file, bytes);
        }
        let mut listed = Vec::new();
        wait_for("the drop-ins to load", Duration::from_secs(120), || {
            let (_, answer) = self.api("GET", "/plugins", None);
            let items = answer["items"].as_array().cloned().unwrap_or_default();
            if let Some(error) = items.iter().find(|item| !item["error"].is_null()) {
                panic!("a drop-in was refused: {error}");
            }
            listed = plugins
                .iter()
                .filter_map(|(name, ..)| {
                    items
                        .iter()
                        .find(|item| item["name"] == *name && item["source"] == "dropin")
                        .cloned()
                })
                .collect();
            listed.len() == plugins.len()
        });
        listed
    }
}

impl Drop for TestGateway {
    /// Stops the gateway and waits (boundedly) for it to release its database, plugin engine
    /// and threads: a test binary starts hundreds, and leaked engines exhaust the process's
    /// memory mappings.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let started = Instant::now();
            while !thread.is_finished() && started.elapsed() < Duration::from_secs(30) {
                std::thread::sleep(Duration::from_millis(10));
            }
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
        if let Some(database) = self.database.take() {
            wait_for_release(&database);
        }
    }
}

/// Waits (boundedly) until no thread of a stopped gateway holds its redb file. The store's
/// commit threads end only once the runtime that fed them has gone, a moment after `run_until`
/// returns, and until then the file is locked: a test that opens it next (a restart on the same
/// data dir, `hookgate storage copy`) found it "in use by another process" on a busy machine.
fn wait_for_release(database: &std::path::Path) {
    let started = Instant::now();
    while database.exists() && started.elapsed() < Duration::from_secs(30) {
        match hookgate::store::redb::RedbStore::open(database) {
            Err(error) if error.to_string().contains("is in use by another process") => {
                std::thread::sleep(Duration::from_millis(10));
            }
            // Released (the probe closes it again at once), or unreadable for another reason
            // that the next open reports itself.
            _ => return,
        }
    }
}

impl Deref for TestGateway {
    type Target = GatewayClient;

    fn deref(&self) -> &GatewayClient {
        &self.client
    }
}
