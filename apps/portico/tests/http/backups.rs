//! Backups through the API: started on demand (202 with the name it will
//! have), listed once written, downloaded through a redirect to a streamed,
//! signed URL as a dump `portico restore` accepts, pruned to
//! `backups.keep`, written by the scheduled job, and refused to users
//! without the permissions.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::faults::wait_until;
use crate::support::{Engine, TestApp, expect_problem, json_with, with_app};

async fn list(app: &TestApp, token: &str) -> Vec<Value> {
    json_with(
        app.authed(Method::GET, "/v1/backups", token, None).await,
        200,
    )
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn listed(app: &TestApp, token: &str, name: &str) {
    wait_until("the backup is listed", Duration::from_secs(30), || async {
        list(app, token).await.iter().any(|b| b["name"] == name)
    })
    .await;
}

async fn start(app: &TestApp, token: &str) -> String {
    let started = json_with(
        app.authed(Method::POST, "/v1/backups", token, None).await,
        202,
    )
    .await;
    started["name"].as_str().unwrap().to_owned()
}

async fn on_demand_journey(app: TestApp) -> TestApp {
    let root = app.admin_token().await;
    let (ann, _) = app.signed_in_user("ann").await;
    // Without backups:read or backups:write: 403, nothing revealed.
    expect_problem(
        app.authed(Method::GET, "/v1/backups", &ann, None).await,
        403,
        "forbidden",
    )
    .await;
    expect_problem(
        app.authed(Method::POST, "/v1/backups", &ann, None).await,
        403,
        "forbidden",
    )
    .await;
    assert!(list(&app, &root).await.is_empty());

    let name = start(&app, &root).await;
    assert!(
        name.starts_with("portico-") && name.ends_with(".jsonl.zst"),
        "{name}"
    );
    listed(&app, &root, &name).await;
    let download = format!("/v1/backups/{name}/download");
    expect_problem(
        app.authed(Method::GET, &download, &ann, None).await,
        403,
        "forbidden",
    )
    .await;
    for bad in ["portico-20990101T000000Z.jsonl.zst", "..%2Fportico.db", "x"] {
        let res = app
            .authed(
                Method::GET,
                &format!("/v1/backups/{bad}/download"),
                &root,
                None,
            )
            .await;
        assert_eq!(res.status(), 404, "{bad}");
    }

    // The download: a redirect to a signed URL whose bytes are a dump the
    // restore accepts, holding both accounts.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = no_redirects
        .get(app.url(&download))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let res = app.client.get(&location).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let bytes = res.bytes().await.unwrap();
    assert_eq!(bytes[..4], [0x28, 0xb5, 0x2f, 0xfd], "zstd");
    let file = app.data_dir.join("downloaded.jsonl.zst");
    std::fs::write(&file, &bytes).unwrap();
    let summary = runtime::dumps::check(&file).unwrap();
    assert_eq!(summary.counts["user"], 2, "{:?}", summary.counts);
    let item = list(&app, &root).await.remove(0);
    assert_eq!(item["size"], bytes.len());

    // keep = 2: a third backup removes the oldest.
    let mut names = vec![name];
    for _ in 0..2 {
        // Names are the start time to the second.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let next = start(&app, &root).await;
        listed(&app, &root, &next).await;
        names.push(next);
    }
    wait_until(
        "the oldest backup is pruned",
        Duration::from_secs(30),
        || async { list(&app, &root).await.len() == 2 },
    )
    .await;
    let kept: Vec<String> = list(&app, &root)
        .await
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kept, [names[2].clone(), names[1].clone()], "newest first");
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_start_list_download_and_prune() {
    with_app(Engine::Sqlite, |c| c.backups.keep = 2, on_demand_journey).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_start_list_download_and_prune_on_postgres() {
    with_app(Engine::Postgres, |c| c.backups.keep = 2, on_demand_journey).await;
}

/// With `backups.every`, the job writes one by itself (its first run comes
/// within a tenth of the interval).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_job_writes_backups() {
    with_app(
        Engine::Sqlite,
        |c| {
            c.jobs.enabled = true;
            c.backups.every = "1m".into();
        },
        |app| async move {
            let root = app.admin_token().await;
            wait_until("the scheduled backup", Duration::from_secs(30), || async {
                !list(&app, &root).await.is_empty()
            })
            .await;
            app
        },
    )
    .await;
}
