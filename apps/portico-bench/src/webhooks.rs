//! `webhooks --count N`: webhook delivery throughput to a receiver on this
//! machine. One endpoint, N events published through the domain (each
//! queued in the configured store), then the worker's own rounds
//! (`WebhookDispatch::deliver_due`: claim 50, sign, post concurrently, log,
//! remove) until the queue is empty. The receiver answers 204 at once on
//! kept-alive connections, so the figure is Portico's side: signing, the
//! HTTP client and the store writes per delivery.

use std::sync::Arc;
use std::time::Instant;

use domain::*;
use portico::Config;
use portico::backends::Backends;
use secrecy::ExposeSecret as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Reads one request (headers and a `content-length` body) from `buf`,
/// returning how many bytes it took, or `None` when more are needed.
fn one_request(buf: &[u8]) -> Option<usize> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (buf.len() >= end + length).then_some(end + length)
}

/// A receiver answering 204 to every request, on kept-alive connections.
async fn receiver() -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0_u8; 16 * 1024];
                loop {
                    while let Some(used) = one_request(&buf) {
                        buf.drain(..used);
                        let answer = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n";
                        if socket.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    Ok(port)
}

/// Publishes `count` events and delivers them; prints the rates.
pub(crate) async fn run(mut config: Config, count: u64) -> Result<(), Box<dyn std::error::Error>> {
    config.webhooks.allow_loopback = true;
    let port = receiver().await?;
    let backends = Backends::connect(&config).await?;
    let runtime = runtime::services::Runtime::build(
        &config,
        &backends,
        Arc::new(runtime::metrics::Metrics::default()),
    )?;
    let stores = backends.stores(&config)?;
    // The endpoint, written through the port with a secret sealed by the
    // keyring the runtime opens (the API would need an administrator).
    let (sealer, _) = runtime::keys::sealer(
        config.security.encryption_keys.expose_secret(),
        &config.server.data_dir,
    )?;
    let id = WebhookId::from_uuid(uuid::Uuid::now_v7());
    let secret: Vec<u8> = (0..32).map(|i| (i * 7 + 3) as u8).collect();
    stores
        .webhooks
        .create(&WebhookEndpoint {
            id,
            url: WebhookUrl::parse(&format!("http://127.0.0.1:{port}/hook"))?,
            events: WebhookEvents::parse(&["user.created"])?,
            secret: sealer.seal(&WebhookEndpoint::secret_context(id), &secret)?,
            description: Some("bench".into()),
            enabled: true,
            failing_since: None,
            created_at: truncate_to_millis(time::OffsetDateTime::now_utc()),
        })
        .await?;

    let started = Instant::now();
    let publishing = futures::stream::iter(0..count).map(|i| {
        let webhooks = runtime.webhooks.clone();
        async move {
            webhooks
                .publish(
                    WebhookEventType::UserCreated,
                    serde_json::json!({ "user_id": uuid::Uuid::now_v7(), "n": i }),
                )
                .await
        }
    });
    use futures::StreamExt as _;
    let mut publishing = publishing.buffer_unordered(32);
    while let Some(published) = publishing.next().await {
        published?;
    }
    let publish_secs = started.elapsed().as_secs_f64();
    eprintln!(
        "webhooks: published {count} events in {publish_secs:.2} s ({:.0}/s)",
        count as f64 / publish_secs
    );

    let started = Instant::now();
    let (mut delivered, mut failed) = (0_usize, 0_usize);
    loop {
        let report = runtime.webhook_dispatch.deliver_due().await?;
        delivered += report.delivered;
        failed += report.retried + report.dropped;
        if report.claimed == 0 {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "webhooks: delivered {delivered} in {secs:.2} s ({:.0}/s), {failed} failed",
        delivered as f64 / secs
    );
    println!("{count} {publish_secs:.3} {delivered} {secs:.3} {failed}");
    backends.close().await;
    Ok(())
}
