//! The one test harness, used by the `it` tests, the soak and the bench alike: a gateway in
//! this process ([`TestGateway`]), the real binary as a child process ([`ChildGateway`]: spawn,
//! wait for `/readyz`, `kill -9`, restart on the same data dir), both driven through one
//! [`GatewayClient`] (admin API, webhooks, metrics), and one [`CaptureReceiver`] whose answers
//! are scripted or set by mode (healthy, 500, 429 with `Retry-After`, late, down).

mod child_process;
mod client;
mod in_process;
mod receiver;

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

/// A free loopback address (bound and released: a child process binds it next).
pub fn free_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
}
