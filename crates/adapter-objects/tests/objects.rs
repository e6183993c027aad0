//! The object store on the local disk and on an S3-compatible server
//! (`S3_ENDPOINT`, default `http://127.0.0.1:9000`: moto or s3s-fs; each test
//! makes its own bucket).

use adapter_objects::{Objects, ObjectsConfig, S3Config};
use domain::{ObjectKey, ObjectStore};
use time::{Duration, OffsetDateTime};

fn key(k: &str) -> ObjectKey {
    ObjectKey::parse(k).unwrap()
}

fn s3_endpoint() -> String {
    std::env::var("S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:9000".into())
}

/// A fresh bucket on the S3 test server.
async fn fresh_bucket() -> Objects {
    let bucket = format!("test-{}", uuid::Uuid::now_v7().simple());
    let endpoint = s3_endpoint();
    // Connecting touches no server (and installs the TLS provider reqwest needs).
    let store = Objects::connect(&ObjectsConfig::S3(S3Config {
        bucket: bucket.clone(),
        region: "us-east-1".into(),
        endpoint: endpoint.clone(),
        access_key_id: "test".into(),
        secret_access_key: "test".into(),
    }))
    .unwrap();
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .expect("S3 test server reachable (make services starts moto)");
    assert!(
        created.status().is_success(),
        "create bucket: {}",
        created.status()
    );
    store
}

fn local(dir: &std::path::Path) -> Objects {
    Objects::connect(&ObjectsConfig::Local {
        root: dir.to_path_buf(),
        base_url: "http://portico.test/".into(),
        secret: vec![1; 32],
    })
    .unwrap()
}

/// What every backend must do.
async fn contract(store: &Objects, keeps_content_type: bool) {
    let a = key("users/1/a.txt");
    assert_eq!(store.head(&a).await.unwrap(), None);
    assert_eq!(store.get(&a).await.unwrap(), None);
    store
        .put(&a, b"hello".to_vec(), "text/plain")
        .await
        .unwrap();
    let meta = store.head(&a).await.unwrap().unwrap();
    assert_eq!(meta.size, 5);
    assert_eq!(
        meta.content_type.as_deref(),
        keeps_content_type.then_some("text/plain")
    );
    assert!(meta.last_modified > OffsetDateTime::now_utc() - Duration::minutes(5));
    assert_eq!(store.get(&a).await.unwrap().as_deref(), Some(&b"hello"[..]));
    for k in ["users/1/b.txt", "users/2/c.txt", "z.bin"] {
        store
            .put(&key(k), vec![0; 3], "application/octet-stream")
            .await
            .unwrap();
    }
    let keys = |v: Vec<domain::ObjectMeta>| {
        v.into_iter()
            .map(|m| m.key.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(store.list(None, 10).await.unwrap()),
        ["users/1/a.txt", "users/1/b.txt", "users/2/c.txt", "z.bin"]
    );
    assert_eq!(
        keys(store.list(Some(a.clone()), 2).await.unwrap()),
        ["users/1/b.txt", "users/2/c.txt"]
    );
    store.delete(&a).await.unwrap();
    store.delete(&a).await.unwrap();
    assert_eq!(store.head(&a).await.unwrap(), None);
}

#[tokio::test]
async fn local_disk_keeps_objects_as_files() {
    let dir = std::env::temp_dir().join(format!("portico-objects-{}", uuid::Uuid::now_v7()));
    let store = local(&dir);
    contract(&store, false).await;
    assert!(dir.join("users/1/b.txt").is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn local_urls_point_at_portico_and_verify() {
    let dir = std::env::temp_dir().join(format!("portico-objects-{}", uuid::Uuid::now_v7()));
    let store = local(&dir);
    let k = key("users/1/a.png");
    let now = OffsetDateTime::now_utc();
    let target = store
        .presign_put(&k, "image/png", 100, now + Duration::hours(1))
        .await
        .unwrap();
    let (url, query) = target.url.split_once('?').unwrap();
    assert_eq!(url, "http://portico.test/v1/objects/users/1/a.png");
    assert_eq!(target.method, "PUT");
    let signed = store.verify_put(&k, query, now).unwrap();
    assert_eq!(
        (signed.max_size, signed.content_type.as_str()),
        (100, "image/png")
    );
    assert!(
        store
            .verify_put(&key("users/2/a.png"), query, now)
            .is_none()
    );
    let get = store
        .presign_get(&k, now + Duration::minutes(5))
        .await
        .unwrap();
    assert!(
        store
            .verify_get(&k, get.split_once('?').unwrap().1, now)
            .is_some()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn s3_bucket_keeps_objects_and_content_types() {
    let store = fresh_bucket().await;
    contract(&store, true).await;
}

#[tokio::test]
async fn s3_presigned_urls_upload_and_download_directly() {
    let store = fresh_bucket().await;
    let k = key("users/1/photo.png");
    let target = store
        .presign_put(
            &k,
            "image/png",
            100,
            OffsetDateTime::now_utc() + Duration::hours(1),
        )
        .await
        .unwrap();
    assert!(!store.serves_urls_itself());
    let client = reqwest::Client::new();
    let mut put = client.put(&target.url).body(vec![9u8; 42]);
    for (name, value) in &target.headers {
        put = put.header(name, value);
    }
    let put = put.send().await.unwrap();
    assert!(put.status().is_success(), "presigned PUT: {}", put.status());
    let meta = store.head(&k).await.unwrap().unwrap();
    assert_eq!(
        (meta.size, meta.content_type.as_deref()),
        (42, Some("image/png"))
    );
    let url = store
        .presign_get(&k, OffsetDateTime::now_utc() + Duration::minutes(5))
        .await
        .unwrap();
    let body = client.get(url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(body.len(), 42);
}

/// `put_stream` writes parts as they come (12 MiB in 1 MiB chunks: three
/// 5 MiB parts), `get_stream` reads them back in chunks, and nothing is
/// left when the body passes the limit or fails.
async fn streams(store: &Objects) {
    let big = key("users/1/big.bin");
    let chunk = vec![7u8; 1024 * 1024];
    let chunks = futures::stream::iter((0..12).map(|_| Ok::<_, std::io::Error>(chunk.clone())));
    let size = store
        .put_stream(&big, "application/octet-stream", chunks, 12 * 1024 * 1024)
        .await
        .unwrap();
    assert_eq!(size, 12 * 1024 * 1024);
    assert_eq!(store.head(&big).await.unwrap().unwrap().size, size);
    let bytes = store.get(&big).await.unwrap().unwrap();
    assert!(bytes.len() as u64 == size && bytes.iter().all(|b| *b == 7));
    // Read back as a stream of chunks, none of them the whole object.
    let (streamed, mut chunks) = store.get_stream(&big).await.unwrap().unwrap();
    assert_eq!(streamed, size);
    let (mut total, mut largest) = (0u64, 0usize);
    while let Some(chunk) = futures::StreamExt::next(&mut chunks).await {
        let chunk = chunk.unwrap();
        assert!(chunk.iter().all(|b| *b == 7));
        total += chunk.len() as u64;
        largest = largest.max(chunk.len());
    }
    assert_eq!(total, size);
    assert!((largest as u64) < size, "one chunk of {largest} bytes");
    assert!(
        store
            .get_stream(&key("users/1/none.bin"))
            .await
            .unwrap()
            .is_none()
    );

    let over = key("users/1/over.bin");
    let chunks = futures::stream::iter((0..3).map(|_| Ok::<_, std::io::Error>(chunk.clone())));
    assert!(matches!(
        store
            .put_stream(&over, "application/octet-stream", chunks, 2 * 1024 * 1024)
            .await,
        Err(adapter_objects::PutStreamError::TooLarge)
    ));
    assert_eq!(store.head(&over).await.unwrap(), None);
    let failing = futures::stream::iter(vec![
        Ok(chunk.clone()),
        Err(std::io::Error::other("the client went away")),
    ]);
    assert!(matches!(
        store
            .put_stream(&over, "application/octet-stream", failing, u64::MAX)
            .await,
        Err(adapter_objects::PutStreamError::Body(_))
    ));
    assert_eq!(store.head(&over).await.unwrap(), None);
}

#[tokio::test]
async fn local_disk_streams_objects_in_parts() {
    let dir = std::env::temp_dir().join(format!("portico-objects-{}", uuid::Uuid::now_v7()));
    let store = local(&dir);
    streams(&store).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn s3_bucket_streams_objects_in_parts() {
    let store = fresh_bucket().await;
    streams(&store).await;
}
