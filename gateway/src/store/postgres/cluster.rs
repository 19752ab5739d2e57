//! Several gateways on one database: the leases that keep their work apart, and the
//! notifications (LISTEN/NOTIFY) that tell each one about the others' writes at once — queued
//! records, endpoint changes, stored plugins — with polling left only as the fallback.

use super::{Failure, Shared};
use std::time::Duration;
use tokio_postgres::{AsyncMessage, GenericClient};

/// Records were queued (payload: the queueing store's instance).
pub(super) const QUEUE_CHANNEL: &str = "hookgate_queue";
/// An endpoint was saved (payload: its id).
pub(super) const ENDPOINT_CHANNEL: &str = "hookgate_endpoints";
/// The stored plugins changed.
pub(super) const PLUGIN_CHANNEL: &str = "hookgate_plugins";

/// How long a reconnecting listener waits between tries.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

/// How long claims last before another gateway may take the work over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leases {
    /// A gateway's hold on an endpoint's queued records while it processes a batch of them.
    pub processing: Duration,
    /// A gateway's hold on a delivery while it attempts it (longer than an attempt can take).
    pub delivery: Duration,
}

impl Default for Leases {
    fn default() -> Self {
        Self {
            processing: Duration::from_secs(15),
            delivery: Duration::from_secs(60),
        }
    }
}

/// Sends a notification on `channel`; inside a transaction, it is delivered at commit.
pub(super) async fn notify(
    client: &impl GenericClient,
    channel: &str,
    payload: &str,
) -> Result<(), Failure> {
    client
        .execute("SELECT pg_notify($1, $2)", &[&channel, &payload])
        .await?;
    Ok(())
}

/// Listens on the store's channels for good (a task on the store's runtime, ended with it),
/// reconnecting when the connection drops; after each (re)connect it acts as if every channel
/// had spoken, since notifications sent meanwhile are lost.
pub(super) async fn listen(
    config: tokio_postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    instance: i64,
    shared: std::sync::Arc<Shared>,
) {
    loop {
        match config.connect(tls.clone()).await {
            Ok((client, mut connection)) => {
                let (sender, mut received) = tokio::sync::mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    while let Some(Ok(message)) =
                        std::future::poll_fn(|context| connection.poll_message(context)).await
                    {
                        if let AsyncMessage::Notification(notification) = message
                            && sender.send(notification).is_err()
                        {
                            break;
                        }
                    }
                });
                let listening = client
                    .batch_execute(&format!(
                        "LISTEN {QUEUE_CHANNEL}; LISTEN {ENDPOINT_CHANNEL}; LISTEN {PLUGIN_CHANNEL}"
                    ))
                    .await;
                match listening {
                    Ok(()) => {
                        tracing::debug!("listening for the other gateways' changes");
                        shared.everything_changed();
                        while let Some(notification) = received.recv().await {
                            match notification.channel() {
                                QUEUE_CHANNEL if notification.payload() != instance.to_string() => {
                                    shared.inbound_queued();
                                }
                                ENDPOINT_CHANNEL => shared.endpoint_changed(notification.payload()),
                                PLUGIN_CHANNEL => shared.plugins_changed(),
                                _ => {}
                            }
                        }
                        tracing::debug!("the notification connection closed; reconnecting");
                    }
                    Err(error) => tracing::debug!(%error, "LISTEN failed; reconnecting"),
                }
                driver.abort();
            }
            Err(error) => tracing::debug!(%error, "the notification connection failed; retrying"),
        }
        tokio::time::sleep(RECONNECT_EVERY).await;
    }
}
