//! The capture receiver: a small HTTP server standing in for Discord, Slack or a webhook
//! consumer. It answers by a policy — scripted answers first, then a standing answer (200 at
//! first; 500, 429 with `Retry-After`, late, a redirect) — can go down and come back on the same
//! address, records what it got, and counts the deliveries it took by `Idempotency-Key`.
//!
//! It checks what Discord and Slack check, by path: a request to `/discord…` or
//! `/api/webhooks/…` is a Discord webhook execution, one to `/slack…` or `/services/…` a Slack
//! incoming webhook, and a body either service would refuse is answered as that service does
//! (400 with its error) whatever the script says. Such a refusal is a notifier bug, so
//! [`CaptureReceiver::captured`], [`CaptureReceiver::wait_for_requests`] and
//! [`CaptureReceiver::taken`] panic naming it; a test that sends bad bodies on purpose reads
//! [`CaptureReceiver::refusals`].

use super::wait_for;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the receiver answers one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// This status, with `Retry-After: <seconds>` when given.
    Status(u16, Option<u64>),
    /// `302 Found` to this location.
    Redirect(String),
    /// 200, but only after this long: a receiver slower than the gateway's delivery timeout.
    /// Not counted as taken: the gateway gave up first and sends it again.
    Late(Duration),
}

/// How a receiver runs.
#[derive(Debug, Clone)]
pub struct ReceiverOptions {
    /// Keep every request (path, headers, body) for [`CaptureReceiver::captured`]. Long runs
    /// turn it off and only count deliveries.
    pub keep_requests: bool,
    /// Server worker threads.
    pub workers: usize,
}

impl Default for ReceiverOptions {
    /// Keeps every request; one worker.
    fn default() -> Self {
        Self {
            keep_requests: true,
            workers: 1,
        }
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

struct ReceiverState {
    keep_requests: bool,
    captured: Vec<Captured>,
    /// Answers for the next requests, in order.
    script: VecDeque<Answer>,
    /// The answer when the script is empty.
    standing: Answer,
    /// Requests received.
    received: u64,
    /// Idempotency keys answered 2xx in time, and how often.
    taken: HashMap<String, u64>,
    /// Requests refused as Discord or Slack would refuse them: `path: reason`.
    refusals: Vec<String>,
}

struct RunningServer {
    handle: actix_web::dev::ServerHandle,
    thread: std::thread::JoinHandle<()>,
}

/// The receiver; clones share it.
#[derive(Clone)]
pub struct CaptureReceiver {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    address: SocketAddr,
    workers: usize,
    state: Arc<Mutex<ReceiverState>>,
    server: Arc<Mutex<Option<RunningServer>>>,
}

impl CaptureReceiver {
    /// Starts a receiver that keeps every request and answers 200.
    pub fn start() -> Self {
        Self::start_with(ReceiverOptions::default())
    }

    /// Starts a receiver with these options, answering 200.
    pub fn start_with(options: ReceiverOptions) -> Self {
        hookgate::install_tls_provider();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        let address = listener.local_addr().expect("receiver address");
        let receiver = Self {
            url: format!("http://{address}"),
            address,
            workers: options.workers,
            state: Arc::new(Mutex::new(ReceiverState {
                keep_requests: options.keep_requests,
                captured: Vec::new(),
                script: VecDeque::new(),
                standing: Answer::Status(200, None),
                received: 0,
                taken: HashMap::new(),
                refusals: Vec::new(),
            })),
            server: Arc::default(),
        };
        receiver.serve(listener);
        receiver
    }

    fn serve(&self, listener: TcpListener) {
        let (state, workers) = (self.state.clone(), self.workers);
        let (handle_sender, handle_receiver) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("receiver runtime");
            runtime.block_on(async move {
                let data = web::Data::new(state);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .default_service(web::to(receive))
                })
                .workers(workers)
                .disable_signals()
                .shutdown_timeout(0)
                .listen(listener)
                .expect("receiver listen")
                .run();
                let _ = handle_sender.send(server.handle());
                let _ = server.await;
            });
        });
        let handle = handle_receiver.recv().expect("the receiver started");
        *self.server.lock().unwrap() = Some(RunningServer { handle, thread });
    }

    /// Queues answers for the next requests: (status, `Retry-After` seconds).
    pub fn answer_with(&self, answers: &[(u16, Option<u64>)]) {
        self.state.lock().unwrap().script.extend(
            answers
                .iter()
                .map(|&(status, retry_after)| Answer::Status(status, retry_after)),
        );
    }

    /// Answers every request from now on (after any scripted answers) with `answer`.
    pub fn answer_always(&self, answer: Answer) {
        self.state.lock().unwrap().standing = answer;
    }

    /// Answers every request from now on with `302 Found` and this `Location`.
    pub fn redirect_to(&self, location: &str) {
        self.answer_always(Answer::Redirect(location.to_string()));
    }

    /// Closes the listener and every connection: connections are refused until
    /// [`Self::come_back`]. Going down twice is a no-op.
    pub fn go_down(&self) {
        let running = self.server.lock().unwrap().take();
        if let Some(running) = running {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(running.handle.stop(false));
            let _ = running.thread.join();
        }
    }

    /// Listens again on the same address (the gateway's destinations point at it); a no-op
    /// when it is up.
    pub fn come_back(&self) {
        if self.server.lock().unwrap().is_some() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        let listener = loop {
            match TcpListener::bind(self.address) {
                Ok(listener) => break listener,
                Err(error) => {
                    assert!(Instant::now() < deadline, "rebinding the receiver: {error}");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        };
        self.serve(listener);
    }

    /// Everything received so far (empty unless it keeps requests). Panics if Discord or
    /// Slack would have refused one.
    pub fn captured(&self) -> Vec<Captured> {
        let state = self.state.lock().unwrap();
        assert_no_refusals(&state.refusals);
        state.captured.clone()
    }

    /// Waits until `count` requests have arrived and returns them. Panics if Discord or Slack
    /// would have refused one.
    pub fn wait_for_requests(&self, count: usize) -> Vec<Captured> {
        wait_for(
            &format!("{count} requests at the receiver"),
            Duration::from_secs(30),
            || self.captured().len() >= count,
        );
        self.captured()
    }

    /// The requests answered as Discord or Slack refuse a malformed body (`path: reason`).
    pub fn refusals(&self) -> Vec<String> {
        self.state.lock().unwrap().refusals.clone()
    }

    /// Requests received so far, however answered.
    pub fn received(&self) -> u64 {
        self.state.lock().unwrap().received
    }

    /// Deliveries taken (answered 2xx in time), by `Idempotency-Key`, and how often each.
    /// Panics if Discord or Slack would have refused a request.
    pub fn taken(&self) -> HashMap<String, u64> {
        let state = self.state.lock().unwrap();
        assert_no_refusals(&state.refusals);
        state.taken.clone()
    }
}

fn assert_no_refusals(refusals: &[String]) {
    assert!(
        refusals.is_empty(),
        "the receiver refused {} request(s) as Discord or Slack would: {refusals:?}",
        refusals.len()
    );
}

async fn receive(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<ReceiverState>>>,
) -> HttpResponse {
    let answer = {
        let mut state = state.lock().unwrap();
        state.received += 1;
        if state.keep_requests {
            state.captured.push(Captured {
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
        }
        if let Some(refusal) = super::chat_services::refusal(&request, &body) {
            state
                .refusals
                .push(format!("{}: {}", request.path(), refusal.reason));
            return refusal.response();
        }
        let answer = match state.script.pop_front() {
            Some(answer) => answer,
            None => state.standing.clone(),
        };
        if matches!(answer, Answer::Status(200..=299, _)) {
            let key = request
                .headers()
                .get("idempotency-key")
                .and_then(|value| value.to_str().ok())
                .unwrap_or("")
                .to_string();
            *state.taken.entry(key).or_default() += 1;
        }
        answer
    };
    match answer {
        Answer::Status(status, retry_after) => {
            let status = actix_web::http::StatusCode::from_u16(status).expect("an HTTP status");
            let mut response = HttpResponse::build(status);
            if let Some(seconds) = retry_after {
                response.insert_header(("Retry-After", seconds.to_string()));
            }
            if status == actix_web::http::StatusCode::NO_CONTENT {
                response.finish()
            } else {
                response.body(format!("answered {}", status.as_u16()))
            }
        }
        Answer::Redirect(location) => HttpResponse::Found()
            .insert_header(("Location", location))
            .finish(),
        Answer::Late(delay) => {
            tokio::time::sleep(delay).await;
            HttpResponse::Ok().finish()
        }
    }
}
