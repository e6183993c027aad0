//! On Redis Cluster, notification announcements go out as sharded pub/sub
//! on the node that owns the notifications family's slot: a client that
//! `SSUBSCRIBE`s to the feed channel there hears each new notification.
//! (Classic pub/sub crosses the cluster bus, which can drop messages.)

use std::time::Duration;

use adapter_redis::testing::{TestRedis, redis_cluster_url};
use contract_tests::fixtures;
use domain::NotificationRepository;
use fred::prelude::*;

#[tokio::test]
async fn announcements_are_sharded_pub_sub_on_the_familys_node() {
    let db = TestRedis::fresh(&redis_cluster_url()).await;
    assert!(
        db.store.is_cluster(),
        "REDIS_CLUSTER_URL must name a cluster"
    );
    let config = Config::from_url(&redis_cluster_url()).unwrap();
    let listener = Builder::from_config(config)
        .build_subscriber_client()
        .unwrap();
    listener.init().await.unwrap();
    let mut messages = listener.message_rx();
    let channel = format!("{{{}:notifications}}:feed", db.store.prefix());
    listener.ssubscribe(channel.clone()).await.unwrap();

    let user = fixtures::user("feed", fixtures::t0());
    let n = fixtures::notification(user.id, fixtures::t0(), None);
    db.store.create(&n).await.unwrap();

    let heard = tokio::time::timeout(Duration::from_secs(10), messages.recv())
        .await
        .expect("no sharded announcement within 10 s")
        .unwrap();
    assert_eq!(heard.channel.to_string(), channel);
    assert_eq!(
        heard.value.as_string().unwrap(),
        format!("{} {}", user.id, n.id)
    );
    let _ = listener.quit().await;
    db.cleanup().await;
}
