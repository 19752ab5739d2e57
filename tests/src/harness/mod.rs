//! The one test harness, used by the `it` tests, the soak and the bench alike: a gateway in
//! this process ([`TestGateway`]), the real binary as a child process ([`ChildGateway`]: spawn,
//! wait for `/readyz`, `kill -9`, restart on the same data dir), both driven through one
//! [`GatewayClient`] (admin API, webhooks, metrics), and one [`CaptureReceiver`] whose answers
//! are scripted or set by mode (healthy, 500, 429 with `Retry-After`, late, down).

mod chat_services;
mod child_process;
mod client;
mod in_process;
mod receiver;

pub use chat_services::{discord_refusal, slack_refusal};
pub use child_process::{ChildGateway, ChildGatewayConfig, GatewayProgram, ServerProcess};
pub use client::GatewayClient;
pub use in_process::TestGateway;
pub use receiver::{Answer, CaptureReceiver, Captured, ReceiverOptions};

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

/// The admin token of test gateways.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

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

/// Serves `routes` on a free loopback port from a thread of its own (one worker, no signal
/// handling), for the fakes of services on the internet; returns `http://127.0.0.1:<port>`.
pub fn serve_fake(
    name: &'static str,
    routes: impl Fn(&mut actix_web::web::ServiceConfig) + Send + Clone + 'static,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            actix_web::HttpServer::new(move || actix_web::App::new().configure(routes.clone()))
                .workers(1)
                .disable_signals()
                .listen(listener)
                .expect("listen")
                .run()
                .await
                .unwrap_or_else(|error| panic!("{name}: {error}"));
        });
    });
    url
}

/// A free loopback address (bound and released: a child process binds it next).
pub fn free_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
}
