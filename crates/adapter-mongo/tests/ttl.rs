//! The TTL indexes really delete: an expired notification disappears from
//! the collection once the server's TTL monitor has run (about once a
//! minute), not only from reads. Waits up to three minutes.

use std::time::{Duration, Instant};

use adapter_mongo::testing::TestDatabase;
use domain::{Notification, NotificationId, NotificationRepository, Urgency, UserId};
use mongodb::bson::{Document, doc};

#[tokio::test]
async fn the_ttl_monitor_deletes_expired_notifications() {
    let db = TestDatabase::fresh().await;
    let now = domain::truncate_to_millis(time::OffsetDateTime::now_utc());
    let n = Notification {
        id: NotificationId::from_uuid(uuid::Uuid::now_v7()),
        user_id: UserId::from_uuid(uuid::Uuid::now_v7()),
        content_session_id: None,
        conversation_id: None,
        message_id: None,
        task_id: None,
        kind: "ttl_probe".into(),
        toast_message: None,
        image: None,
        urgency: Urgency::Normal,
        persistent: false,
        seen_at: None,
        response_data: None,
        created_at: now - time::Duration::minutes(2),
        expires_at: Some(now - time::Duration::minutes(1)),
    };
    db.store.create(&n).await.unwrap();
    // Reads hide it at once...
    assert!(db.store.get(n.user_id, n.id, now).await.unwrap().is_none());
    // ...and the TTL monitor deletes the document.
    let raw = db.store.database().collection::<Document>("notifications");
    let started = Instant::now();
    let gone = loop {
        if raw
            .count_documents(doc! {"type": "ttl_probe"})
            .await
            .unwrap()
            == 0
        {
            break true;
        }
        if started.elapsed() > Duration::from_secs(180) {
            break false;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    db.cleanup().await;
    assert!(
        gone,
        "the expired notification was not removed by the TTL index within 3 minutes"
    );
    println!(
        "TTL monitor removed the notification after {:?}",
        started.elapsed()
    );
}
