//! A minimum data rate for request bodies, the way Kestrel does it: after a
//! grace period, a body must keep arriving at `min_rate` bytes per second on
//! average, or the read fails (408, and the connection closes). A client
//! sending one byte a second cannot hold a connection open, however long its
//! body, while a large upload on a slow but moving link still completes.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpMessage as _;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use futures::Stream;
use tokio::time::{Instant, Sleep};

/// The rule: `grace` first, then at least `min_rate` bytes per second.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyRate {
    /// Time a body may take before the rate counts.
    pub(crate) grace: Duration,
    /// Average bytes per second a body must keep up after the grace time.
    pub(crate) min_rate: u64,
}

impl BodyRate {
    /// Wraps the payload of `req` so that it fails when it falls behind.
    pub(crate) async fn enforce(
        self,
        mut req: ServiceRequest,
        next: Next<impl MessageBody>,
    ) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
        let payload = req.take_payload();
        let started = Instant::now();
        let guarded = Guarded {
            inner: payload,
            rule: self,
            started,
            received: 0,
            timer: Box::pin(tokio::time::sleep_until(started + self.grace)),
        };
        req.set_payload(Payload::Stream {
            payload: Box::pin(guarded),
        });
        next.call(req).await
    }
}

struct Guarded {
    inner: Payload,
    rule: BodyRate,
    started: Instant,
    received: u64,
    /// Fires when the body is behind: the moment by which more than
    /// `received` bytes must have arrived.
    timer: Pin<Box<Sleep>>,
}

impl Guarded {
    fn deadline(&self) -> Instant {
        let earned =
            Duration::from_secs_f64(self.received as f64 / self.rule.min_rate.max(1) as f64);
        self.started + self.rule.grace + earned
    }
}

impl Stream for Guarded {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                self.received += chunk.len() as u64;
                let deadline = self.deadline();
                self.timer.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(other) => Poll::Ready(other),
            Poll::Pending => match self.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "request body arrived too slowly",
                ))))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}
