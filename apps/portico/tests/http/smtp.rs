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
        let mails = inbox.lock().unwrap().clone();
        assert_eq!(mails.len(), 1, "{mails:?}");
        assert!(mails[0].contains("To: hal@example.org"), "{}", mails[0]);
        assert!(
            mails[0].contains("https://app.example.org/verify-email?token="),
            "{}",
            mails[0]
        );
        assert_eq!(app.mail_count("hal@example.org"), 0, "nothing in the outbox");
        app
    })
    .await;
    server.abort();
}
