//! Limits on connections and their bodies, below the routes: the per-client connection cap,
//! applied as a connection is accepted, and the body deadline of every route that reads a body
//! (ingest keeps its own, which also records the rejection).

use super::HttpState;
use super::abuse::ConnectionSlots;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::{InternalError, PayloadError};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use futures_util::Stream;
use serde_json::json;
use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The answer written to a connection over its client's cap, before it is closed.
fn over_cap_answer() -> String {
    let body = r#"{"error":"too many open connections from this address (http.max_connections_per_client)"}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n\
         Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// `HttpServer::on_connect`: takes a slot for the new connection's client (kept in the
/// connection's data, so it is freed when the connection ends), or — over the cap — writes a
/// 503 and shuts the socket at once, so it never holds one of `max_connections`.
pub fn on_connect(
    slots: Arc<HttpState>,
) -> impl Fn(&dyn Any, &mut actix_web::dev::Extensions) + Send + Sync + 'static {
    move |connection, data| {
        let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() else {
            return;
        };
        let Ok(peer) = stream.peer_addr() else {
            return;
        };
        let slots: &ConnectionSlots = &slots.abuse.connections;
        match slots.open(peer.ip()) {
            Some(slot) => {
                data.insert(slot);
            }
            None => {
                tracing::debug!(peer = %peer.ip(), cap = slots.per_client(), "connection over the per-client cap refused");
                // A fresh socket's send buffer takes the few bytes at once; if not, the close
                // alone tells the client.
                let _ = stream.try_write(over_cap_answer().as_bytes());
                let _ = socket2::SockRef::from(stream).shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

/// Middleware: every request body must arrive within `[http] body_timeout_secs` of the
/// request, on every route (the console's sign-in, the API, forms). A body still arriving then
/// is answered 408 and its connection closed; so is any answer given before its body was read,
/// so a slow sender never keeps the connection. Ingest applies the same deadline itself.
pub async fn body_deadline(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let timeout = request
        .app_data::<web::Data<HttpState>>()
        .map(|state| state.services.config.abuse.body_timeout);
    let (Some(timeout), false) = (timeout, request.path().starts_with("/hooks/")) else {
        return next
            .call(request)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let payload = request.take_payload();
    if matches!(payload, Payload::None) {
        return next
            .call(request)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let watch = BodyWatch::default();
    request.set_payload(Payload::Stream {
        payload: Box::pin(DeadlinePayload {
            inner: payload,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            watch: watch.clone(),
        }),
    });
    let result = next.call(request).await;
    if watch.expired.get() {
        let answer = HttpResponse::RequestTimeout()
            .force_close()
            .json(json!({"error": format!("body not received within {} s", timeout.as_secs())}));
        return match result {
            Ok(response) => {
                let (request, _) = response.into_parts();
                Ok(ServiceResponse::new(request, answer).map_into_right_body())
            }
            // A handler or guard that failed on the body: its error answers with the 408.
            Err(_) => Err(InternalError::from_response("body deadline passed", answer).into()),
        };
    }
    let mut response = result?;
    if !watch.finished.get() {
        response
            .response_mut()
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
    }
    Ok(response.map_into_left_body())
}

/// What became of a watched body.
#[derive(Clone, Default)]
struct BodyWatch {
    /// Its deadline passed before it ended.
    expired: Rc<Cell<bool>>,
    /// It was read to its end.
    finished: Rc<Cell<bool>>,
}

/// A request body that fails once its deadline passes.
struct DeadlinePayload {
    inner: Payload,
    deadline: Pin<Box<tokio::time::Sleep>>,
    watch: BodyWatch,
}

impl Stream for DeadlinePayload {
    type Item = Result<web::Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.watch.expired.get() {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(context) {
            Poll::Ready(None) => {
                this.watch.finished.set(true);
                Poll::Ready(None)
            }
            Poll::Ready(Some(chunk)) => Poll::Ready(Some(chunk)),
            Poll::Pending => match this.deadline.as_mut().poll(context) {
                Poll::Ready(()) => {
                    this.watch.expired.set(true);
                    Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "body deadline passed",
                    )))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}
