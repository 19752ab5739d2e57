//! A real gateway on 127.0.0.1 (port 0) and a capture receiver that records what it is sent
//! and answers as scripted.

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use hookgate::config::GatewayConfig;
use serde_json::Value;
use std::collections::VecDeque;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The admin token of test gateways.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

/// A gateway running in this process.
pub struct TestGateway {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Its data folder (deleted with the gateway).
    pub data_dir: tempfile::TempDir,
    client: reqwest::blocking::Client,
    /// Stops the gateway when sent to (or dropped).
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
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
            url: format!("http://{address}"),
            data_dir,
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            stop: Some(stop),
            thread: Some(thread),
        };
        wait_for("the gateway to be ready", Duration::from_secs(60), || {
            assert!(
                !gateway
                    .thread
                    .as_ref()
                    .is_some_and(|thread| thread.is_finished()),
                "the test gateway stopped while starting (its error is printed above)"
            );
            gateway
                .client
                .get(format!("{}/readyz", gateway.url))
                .send()
                .is_ok_and(|response| response.status().is_success())
        });
        gateway
    }

    /// The data folder.
    pub fn data_path(&self) -> PathBuf {
        self.data_dir.path().to_path_buf()
    }

    /// An admin API call; returns the status and the JSON answer.
    pub fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .client
            .request(method, format!("{}/api/v1{path}", self.url))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().expect("API request");
        let status = response.status().as_u16();
        let text = response.text().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Creates an endpoint; returns its answer (with `id`, `url`, `secret`).
    pub fn create_endpoint(&self, body: Value) -> Value {
        let (status, answer) = self.api("POST", "/endpoints", Some(body));
        assert_eq!(status, 201, "creating the endpoint: {answer}");
        answer
    }

    /// Posts a webhook as Bitbucket does, signed with `secret` when given.
    pub fn post_hook(
        &self,
        endpoint_url: &str,
        event_key: &str,
        body: &str,
        secret: Option<&str>,
        request_uuid: &str,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .post(endpoint_url)
            .header("Content-Type", "application/json")
            .header("User-Agent", "Bitbucket-Webhooks/2.0")
            .header("X-Event-Key", event_key)
            .header("X-Request-UUID", request_uuid)
            .header("X-Attempt-Number", "1")
            .header("X-Hook-UUID", "81424cfd-6ea3-47d0-bb73-ae76bb3fb3a0")
            .body(body.to_string());
        if let Some(secret) = secret {
            request = request.header(
                "X-Hub-Signature",
                hookgate::verify::sign_hub_sha256(secret, body.as_bytes()),
            );
        }
        let response = request.send().expect("posting the webhook");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    /// Waits until the inbound record is no longer pending and returns it in full.
    pub fn processed(&self, inbound_id: &str) -> Value {
        let mut record = Value::Null;
        wait_for(
            "the record to be processed",
            Duration::from_secs(30),
            || {
                record = self.api("GET", &format!("/inbound/{inbound_id}"), None).1;
                record["status"] != "pending"
            },
        );
        record
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

    /// Posts a webhook with exactly these headers (and `Content-Type: application/json`);
    /// returns the status and the JSON answer.
    pub fn post_raw(
        &self,
        endpoint_url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Value) {
        let mut request = self
            .client
            .post(endpoint_url)
            .header("Content-Type", "application/json")
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().expect("posting the webhook");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
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
    }
}

/// The shortest a test waits for something to happen before failing.
pub const LIVENESS_FLOOR: Duration = Duration::from_secs(120);

/// Polls `condition` every 20 ms until it holds, or panics after `limit` — and never before
/// [`LIVENESS_FLOOR`]: the limits are liveness bounds, and a 2-core machine running every test
/// at once (browser included) can take that long.
pub fn wait_for(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let limit = limit.max(LIVENESS_FLOOR);
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Request path.
    pub path: String,
    /// Headers, lower-cased names.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
    /// When it arrived.
    pub at: Instant,
}

impl Captured {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

#[derive(Default)]
struct Receiver {
    captured: Vec<Captured>,
    /// Answers to give, in order (status, Retry-After); 200 when empty.
    script: VecDeque<(u16, Option<u64>)>,
    /// When set, every request is answered `302 Found` to this location instead.
    redirect_to: Option<String>,
}

/// A small HTTP server that records every request and answers as scripted.
#[derive(Clone)]
pub struct CaptureReceiver {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    state: Arc<Mutex<Receiver>>,
}

impl CaptureReceiver {
    /// Starts a receiver.
    pub fn start() -> Self {
        hookgate::install_tls_provider();
        let state: Arc<Mutex<Receiver>> = Arc::default();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = state.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let data = web::Data::new(shared);
                HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .default_service(web::to(capture))
                })
                .workers(1)
                .disable_signals()
                .listen(listener)
                .unwrap()
                .run()
                .await
                .unwrap();
            });
        });
        Self { url, state }
    }

    /// Queues answers for the next requests.
    pub fn answer_with(&self, answers: &[(u16, Option<u64>)]) {
        self.state
            .lock()
            .unwrap()
            .script
            .extend(answers.iter().copied());
    }

    /// Answers every request from now on with `302 Found` and this `Location`.
    pub fn redirect_to(&self, location: &str) {
        self.state.lock().unwrap().redirect_to = Some(location.to_string());
    }

    /// Everything received so far.
    pub fn captured(&self) -> Vec<Captured> {
        self.state.lock().unwrap().captured.clone()
    }

    /// Waits until `count` requests have arrived and returns them.
    pub fn wait_for_requests(&self, count: usize) -> Vec<Captured> {
        wait_for(
            &format!("{count} requests at the receiver"),
            Duration::from_secs(30),
            || self.captured().len() >= count,
        );
        self.captured()
    }
}

async fn capture(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<Receiver>>>,
) -> HttpResponse {
    let (status, retry_after) = {
        let mut receiver = state.lock().unwrap();
        receiver.captured.push(Captured {
            path: request.path().to_string(),
            headers: request
                .headers()
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_string(),
                        value.to_str().unwrap_or("").to_string(),
                    )
                })
                .collect(),
            body: String::from_utf8_lossy(&body).into_owned(),
            at: Instant::now(),
        });
        if let Some(location) = &receiver.redirect_to {
            return HttpResponse::Found()
                .insert_header(("Location", location.as_str()))
                .finish();
        }
        receiver.script.pop_front().unwrap_or((200, None))
    };
    let mut response = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
    if let Some(seconds) = retry_after {
        response.insert_header(("Retry-After", seconds.to_string()));
    }
    response.body(format!("answered {status}"))
}
