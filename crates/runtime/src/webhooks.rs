//! Outgoing webhooks' two moving parts: the HTTP transport (reqwest,
//! refusing destinations the policy forbids after DNS, following no
//! redirects, bounded in time and in what it reads) and the worker that
//! works the delivery queue in every instance.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::{WebhookDispatch, WebhookNetPolicy, WebhookResponse, WebhookTransport, WebhookUrl};
use tokio::sync::Notify;

use crate::metrics::Metrics;

/// The most of a receiver's answer that is read (and then dropped).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Resolves names and keeps only the addresses the policy allows; a name
/// with none left fails to resolve, so no connection is made. Checked at
/// each connection, so a name that changes its answer (DNS rebinding)
/// cannot slip through between a check and the connection.
struct PolicyResolver(WebhookNetPolicy);

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refusal = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match policy.check_ip(a.ip()) {
                    Ok(()) => true,
                    Err(e) => {
                        refusal = Some(format!("{host} resolves to {}: {e}", a.ip()));
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let why = refusal.unwrap_or_else(|| format!("{host} has no address"));
                return Err(why.into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Posts deliveries with reqwest.
pub struct HttpTransport {
    client: reqwest::Client,
    policy: WebhookNetPolicy,
}

impl HttpTransport {
    /// A client for `policy` that gives a receiver `timeout` in all
    /// (connecting, sending, answering).
    pub fn new(policy: WebhookNetPolicy, timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve the name itself, past the check.
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("Portico-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(PolicyResolver(policy)))
            .build()
            .map_err(|e| format!("webhook client: {e}"))?;
        Ok(Self { client, policy })
    }
}

#[async_trait]
impl WebhookTransport for HttpTransport {
    async fn post(
        &self,
        url: &WebhookUrl,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> WebhookResponse {
        // A literal address is not resolved, so it is checked here.
        if let Some(ip) = url.ip()
            && let Err(e) = self.policy.check_ip(ip)
        {
            return WebhookResponse::Failed(format!("refused: {e}"));
        }
        let mut request = self
            .client
            .post(url.as_str())
            .header("content-type", "application/json")
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        match request.send().await {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let mut read = 0;
                while read < MAX_RESPONSE_BYTES {
                    match response.chunk().await {
                        Ok(Some(chunk)) => read += chunk.len(),
                        _ => break,
                    }
                }
                WebhookResponse::Status(status)
            }
            Err(e) => WebhookResponse::Failed(crate::error_chain(&e)),
        }
    }
}

/// Works the webhook queue until aborted: at once when woken, every
/// `poll_every` otherwise, backing off while its store is unreachable.
pub async fn run(
    dispatch: WebhookDispatch,
    wake: Arc<Notify>,
    poll_every: Duration,
    metrics: Arc<Metrics>,
) {
    let round = || async {
        let report = dispatch.deliver_due().await?;
        for id in &report.disabled {
            tracing::warn!(webhook = %id, "webhook endpoint failing for 3 days; disabled");
        }
        metrics.webhook("delivered", report.delivered as u64);
        metrics.webhook("retried", report.retried as u64);
        metrics.webhook("dropped", report.dropped as u64);
        metrics.webhook("disabled", report.disabled.len() as u64);
        if report.retried > 0 || report.dropped > 0 {
            tracing::info!(
                delivered = report.delivered,
                retried = report.retried,
                dropped = report.dropped,
                "webhook deliveries failed (see GET /v1/webhooks/{{id}}/deliveries)"
            );
        }
        Ok(report.more_due)
    };
    crate::mail_worker::poll_loop(round, wake, poll_every, "webhooks").await;
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    fn url(s: &str) -> WebhookUrl {
        WebhookUrl::parse(s).unwrap()
    }

    fn transport(allow_loopback: bool, timeout: Duration) -> HttpTransport {
        let policy = WebhookNetPolicy {
            allow_loopback,
            allow_private: false,
        };
        HttpTransport::new(policy, timeout).unwrap()
    }

    /// A server that answers every connection with `answer` (or never,
    /// when empty) and counts the connections it accepted.
    async fn server(answer: &'static str) -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = [0_u8; 4096];
                    let _ = socket.read(&mut buf).await;
                    if answer.is_empty() {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                    } else {
                        let _ = socket.write_all(answer.as_bytes()).await;
                    }
                });
            }
        });
        (port, seen)
    }

    #[tokio::test]
    async fn loopback_is_refused_before_connecting_literal_or_resolved() {
        let (port, seen) = server("HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").await;
        let t = transport(false, Duration::from_secs(5));
        for target in [
            format!("http://127.0.0.1:{port}/"),
            format!("http://[::ffff:127.0.0.1]:{port}/"),
            // A name: refused after DNS, whatever the creation-time check said.
            format!("http://localhost:{port}/"),
        ] {
            match t.post(&url(&target), &[], "{}").await {
                WebhookResponse::Failed(why) => {
                    assert!(why.contains("loopback"), "{target}: {why}")
                }
                other => panic!("{target}: {other:?}"),
            }
        }
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 0);
        // Allowed, the same receiver answers.
        let t = transport(true, Duration::from_secs(5));
        let answer = t
            .post(&url(&format!("http://localhost:{port}/")), &[], "{}")
            .await;
        assert_eq!(answer, WebhookResponse::Status(204));
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let (target, target_seen) =
            server("HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").await;
        let redirect: &'static str = Box::leak(
            format!(
                "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:{target}/\r\ncontent-length: 0\r\n\r\n"
            )
            .into_boxed_str(),
        );
        let (port, _) = server(redirect).await;
        let t = transport(true, Duration::from_secs(5));
        let answer = t
            .post(&url(&format!("http://127.0.0.1:{port}/")), &[], "{}")
            .await;
        assert_eq!(answer, WebhookResponse::Status(307));
        assert_eq!(target_seen.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_receiver_that_never_answers_is_given_up_on() {
        let (port, _) = server("").await;
        let t = transport(true, Duration::from_millis(300));
        let started = Instant::now();
        let answer = t
            .post(&url(&format!("http://127.0.0.1:{port}/")), &[], "{}")
            .await;
        assert!(matches!(answer, WebhookResponse::Failed(_)), "{answer:?}");
        // Functional bound, not a speed target: it gave up instead of waiting.
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
