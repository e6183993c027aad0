//! The SMTP transport against a minimal SMTP server on loopback that records
//! what it receives.

use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::support::*;

/// Accepts sessions forever; each DATA payload is pushed to `inbox`.
async fn fake_smtp(listener: TcpListener, inbox: Arc<Mutex<Vec<String>>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let inbox = inbox.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            write.write_all(b"220 fake ESMTP\r\n").await.ok()?;
            let mut data: Option<String> = None;
            while let Some(line) = lines.next_line().await.ok()? {
                if let Some(body) = &mut data {
                    if line == "." {
                        inbox.lock().unwrap().push(data.take().unwrap_or_default());
                        write.write_all(b"250 queued\r\n").await.ok()?;
                    } else {
                        body.push_str(&line);
                        body.push('\n');
                    }
                    continue;
                }
                let verb = line
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_ascii_uppercase();
                let reply: &[u8] = match verb.as_str() {
                    "EHLO" | "HELO" => b"250 fake\r\n",
                    "DATA" => {
                        data = Some(String::new());
                        b"354 go ahead\r\n"
                    }
                    "QUIT" => {
                        write.write_all(b"221 bye\r\n").await.ok()?;
                        return Some(());
                    }
                    _ => b"250 ok\r\n",
                };
                write.write_all(reply).await.ok()?;
            }
            Some(())
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_transport_delivers_the_verification_mail() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox = Arc::new(Mutex::new(Vec::new()));
    let server = tokio::spawn(fake_smtp(listener, inbox.clone()));
    let tweak = move |c: &mut portico::Config| {
        c.mail.transport = portico::config::MailTransport::Smtp;
        c.mail.smtp_url = format!("smtp://127.0.0.1:{port}");
        c.server.public_url = "https://app.example.org".into();
    };
    with_app(Engine::Sqlite, tweak, |app| async move {
        let res = app
            .post(
                "/v1/registrations",
                json!({"email": "hal@example.org", "username": "hal", "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(res.status(), 202);
        app.mail_settled().await;
        let mails = inbox.lock().unwrap().clone();
        assert_eq!(mails.len(), 1, "{mails:?}");
        assert!(mails[0].contains("To: hal@example.org"), "{}", mails[0]);
        assert!(
            mails[0].contains("https://app.example.org/verify-email?token="),
            "{}",
            mails[0]
        );
        assert_eq!(app.mail_count("hal@example.org").await, 0, "nothing in the outbox");
        app
    })
    .await;
    server.abort();
}

/// Mail is queued and sent by a background worker: a relay that accepts
/// connections and then never answers holds up no request, for a known
/// address or an unknown one. (Before, mail went out inside the request, so
/// a registration or reset request waited for the relay, and a known address
/// took visibly longer than an unknown one.)
#[tokio::test]
async fn requests_do_not_wait_for_a_stalled_relay() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (connected, mut tried) = tokio::sync::mpsc::unbounded_channel();
    // Accepts and holds every connection without a greeting.
    let relay = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
            let _ = connected.send(());
        }
    });
    let tweak = move |c: &mut portico::Config| {
        c.mail.transport = portico::config::MailTransport::Smtp;
        c.mail.smtp_url = format!("smtp://127.0.0.1:{port}");
    };
    with_app(Engine::Sqlite, tweak, |app| async move {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .unwrap();
        let post = |path: &'static str, body: serde_json::Value| {
            client.post(app.url(path)).json(&body).send()
        };
        let res = post(
            "/v1/registrations",
            json!({"email": "ida@example.org", "username": "ida", "password": "correct horse battery"}),
        )
        .await
        .expect("an answer while the relay stalls");
        assert_eq!(res.status(), 202);
        for email in [ADMIN_EMAIL, "nobody@example.org"] {
            let res = post("/v1/password-resets", json!({"email": email}))
                .await
                .expect("an answer while the relay stalls");
            assert_eq!(res.status(), 202, "{email}");
        }
        // The worker did try the relay.
        tokio::time::timeout(std::time::Duration::from_secs(10), tried.recv())
            .await
            .expect("the worker connects to the relay");
        app
    })
    .await;
    relay.abort();
}

/// Mail queued while the relay is down is not lost: the worker retries and
/// delivers it, once, when the relay is back.
#[tokio::test]
async fn mail_waits_out_a_relay_outage() {
    let port = crate::faults::free_port();
    let tweak = move |c: &mut portico::Config| {
        c.mail.transport = portico::config::MailTransport::Smtp;
        c.mail.smtp_url = format!("smtp://127.0.0.1:{port}");
        c.mail.first_retry_ms = 200;
    };
    with_app(Engine::Sqlite, tweak, |app| async move {
        let res = app
            .post(
                "/v1/registrations",
                json!({"email": "joan@example.org", "username": "joan", "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(res.status(), 202);
        // Nothing listens yet: the first attempts fail.
        let failed = || async {
            let metrics = app
                .client
                .get(app.url("/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            metrics.contains("portico_mail_total{outcome=\"retried\"}")
        };
        crate::faults::wait_until("a failed attempt", std::time::Duration::from_secs(10), failed)
            .await;
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let relay = tokio::spawn(fake_smtp(listener, inbox.clone()));
        app.mail_settled().await;
        let mails = inbox.lock().unwrap().clone();
        assert_eq!(mails.len(), 1, "delivered once: {mails:?}");
        assert!(mails[0].contains("To: joan@example.org"), "{}", mails[0]);
        relay.abort();
        app
    })
    .await;
}

/// Mail is rendered from templates: a text and an HTML part, the operator's
/// folder replacing a built-in template by its name, the link built from
/// the configured front-end pattern (escaped in the HTML part).
#[tokio::test]
async fn mail_comes_from_templates_with_a_text_and_an_html_part() {
    let templates = std::env::temp_dir().join(format!(
        "portico-templates-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("verify-email.subject.txt"),
        "Welcome to Acme, {{ username }}",
    )
    .unwrap();
    let dir = templates.clone();
    let tweak = move |c: &mut portico::Config| {
        c.mail.templates_dir = dir;
        c.mail.links.verify = "https://app.example/verify?src=mail&token={token}".into();
    };
    with_app(Engine::Sqlite, tweak, |app| async move {
        let res = app
            .post(
                "/v1/registrations",
                json!({"email": "ida@example.org", "username": "ida", "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(res.status(), 202);
        let token = app.last_token("ida@example.org").await;
        assert_eq!(token.len(), 64, "{token}");
        let mail = std::fs::read_dir(&app.outbox)
            .unwrap()
            .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
            .find(|t| t.contains("To: ida@example.org"))
            .expect("the mail");
        assert!(mail.contains("Subject: Welcome to Acme, ida"), "{mail}");
        assert!(mail.contains("Content-Type: multipart/alternative"), "{mail}");
        assert!(mail.contains("Content-Type: text/plain"), "{mail}");
        assert!(mail.contains("Content-Type: text/html"), "{mail}");
        assert!(
            mail.contains(&format!("https://app.example/verify?src=mail&token={token}")),
            "the text part carries the link as it is: {mail}"
        );
        assert!(
            mail.contains(&format!("?src=mail&amp;token={token}")),
            "the HTML part escapes it: {mail}"
        );
        assert!(mail.contains("expires in 24 hours"), "{mail}");
        app
    })
    .await;
    std::fs::remove_dir_all(templates).ok();
}
