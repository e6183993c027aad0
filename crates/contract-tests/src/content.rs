//! `ContentSessionRepository` contracts.

use crate::contract;
use domain::Stores;
use domain::*;
use serde_json::json;
use time::Duration;

use crate::fixtures::*;

/// Sessions read back equal; `list_for_user` shows only the user's, newest first, paged.
#[contract]
pub async fn create_get_and_list_own_newest_first(s: Stores) {
    let t = t0();
    let (ann, bob) = (user("ann", t).id, user("bob", t).id);
    let mine: Vec<ContentSession> = (0..3)
        .map(|i| content_session(ann, t + Duration::seconds(i)))
        .collect();
    for c in &mine {
        s.content.create(c).await.unwrap();
    }
    s.content.create(&content_session(bob, t)).await.unwrap();
    assert_eq!(
        s.content.get(mine[0].id).await.unwrap(),
        Some(mine[0].clone())
    );
    assert_eq!(
        s.content
            .get(ContentSessionId::from_uuid(id()))
            .await
            .unwrap(),
        None
    );
    let page = s
        .content
        .list_for_user(ann, PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(page.items, vec![mine[2].clone(), mine[1].clone()]);
    let rest = s
        .content
        .list_for_user(ann, PageRequest::after(2, page.next_cursor.unwrap()))
        .await
        .unwrap();
    assert_eq!(rest.items, vec![mine[0].clone()]);
    assert!(rest.next_cursor.is_none());
}

/// `rename` sets name and `last_accessed_at`; an unknown id is `NotFound`.
#[contract]
pub async fn rename_and_missing(s: Stores) {
    let t = t0();
    let c = content_session(user("ann", t).id, t);
    s.content.create(&c).await.unwrap();
    s.content
        .rename(c.id, None, t + Duration::seconds(3))
        .await
        .unwrap();
    let stored = s.content.get(c.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.name, stored.last_accessed_at),
        (None, t + Duration::seconds(3))
    );
    let ghost = ContentSessionId::from_uuid(id());
    assert!(matches!(
        s.content.rename(ghost, Some("x".into()), t).await,
        Err(WriteError::NotFound)
    ));
}

/// `put_data_within` adds a new key only below the limit, always replaces a
/// held one, and is `NotFound` for an unknown session.
#[contract]
pub async fn data_put_within_limits_new_keys_only(s: Stores) {
    let t = t0();
    let c = content_session(user("ann", t).id, t);
    s.content.create(&c).await.unwrap();
    let key = |k: &str| StorageKey::parse(k).unwrap();
    for k in ["a", "b"] {
        assert_eq!(
            s.content
                .put_data_within(c.id, &key(k), &json!(1), 2)
                .await
                .unwrap(),
            DataPut::Stored
        );
    }
    assert_eq!(
        s.content
            .put_data_within(c.id, &key("c"), &json!(1), 2)
            .await
            .unwrap(),
        DataPut::KeyLimit
    );
    assert_eq!(
        s.content
            .put_data_within(c.id, &key("a"), &json!("new"), 2)
            .await
            .unwrap(),
        DataPut::Stored
    );
    let all = s.content.list_data(c.id).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[&key("a")], json!("new"));
    let ghost = ContentSessionId::from_uuid(id());
    assert!(matches!(
        s.content
            .put_data_within(ghost, &key("a"), &json!(1), 2)
            .await,
        Err(WriteError::NotFound)
    ));
}

/// 16 writers adding distinct keys at once under a limit of 5: exactly 5 land.
#[contract]
pub async fn concurrent_new_keys_stay_within_the_limit(s: Stores) {
    let t = t0();
    let c = content_session(user("ann", t).id, t);
    s.content.create(&c).await.unwrap();
    let outcomes = concurrently(16, |i| {
        let (s, id) = (s.clone(), c.id);
        async move {
            let key = StorageKey::parse(&format!("k{i}")).unwrap();
            s.content
                .put_data_within(id, &key, &json!(i), 5)
                .await
                .unwrap()
        }
    })
    .await;
    let stored = outcomes.iter().filter(|o| **o == DataPut::Stored).count();
    assert_eq!(stored, 5, "{outcomes:?}");
    assert_eq!(s.content.list_data(c.id).await.unwrap().len(), 5);
}

/// Data: put, get, replace, list by key, delete; unknown session or key behave as documented.
#[contract]
pub async fn data_put_get_replace_list_delete(s: Stores) {
    let t = t0();
    let c = content_session(user("ann", t).id, t);
    s.content.create(&c).await.unwrap();
    let (k1, k2) = (
        StorageKey::parse("zeta").unwrap(),
        StorageKey::parse("alpha").unwrap(),
    );
    s.content
        .put_data(c.id, &k1, &json!({"data_key": "data_value"}))
        .await
        .unwrap();
    s.content
        .put_data(c.id, &k1, &json!({"data_key": [1, 2, {"deep": true}]}))
        .await
        .unwrap();
    s.content
        .put_data(c.id, &k2, &json!("plain"))
        .await
        .unwrap();
    assert_eq!(
        s.content.get_data(c.id, &k1).await.unwrap(),
        Some(json!({"data_key": [1, 2, {"deep": true}]}))
    );
    let all = s.content.list_data(c.id).await.unwrap();
    assert_eq!(
        all.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
        vec!["alpha", "zeta"]
    );
    s.content.delete_data(c.id, &k2).await.unwrap();
    assert_eq!(s.content.get_data(c.id, &k2).await.unwrap(), None);
    assert!(matches!(
        s.content.delete_data(c.id, &k2).await,
        Err(WriteError::NotFound)
    ));
    let ghost = ContentSessionId::from_uuid(id());
    assert!(matches!(
        s.content.put_data(ghost, &k1, &json!(1)).await,
        Err(WriteError::NotFound)
    ));
    assert_eq!(s.content.get_data(ghost, &k1).await.unwrap(), None);
    assert!(s.content.list_data(ghost).await.unwrap().is_empty());
}

/// A message with `mark_unread` sets the flag in the same step; `mark_read` clears it and marks messages read.
#[contract]
pub async fn message_marks_unread_atomically_and_read_clears(s: Stores) {
    let t = t0();
    let c = content_session(user("ann", t).id, t);
    s.content.create(&c).await.unwrap();
    let quiet = Message {
        read: true,
        ..message(c.id, "mine", t + Duration::seconds(1))
    };
    s.content.add_message(&quiet, false).await.unwrap();
    let stored = s.content.get(c.id).await.unwrap().unwrap();
    assert!(!stored.unread_messages);
    assert_eq!(stored.last_accessed_at, t + Duration::seconds(1));
    let loud = message(c.id, "from the assistant", t + Duration::seconds(2));
    s.content.add_message(&loud, true).await.unwrap();
    let stored = s.content.get(c.id).await.unwrap().unwrap();
    assert!(stored.unread_messages);
    assert_eq!(stored.last_accessed_at, t + Duration::seconds(2));
    s.content.mark_read(c.id).await.unwrap();
    assert!(!s.content.get(c.id).await.unwrap().unwrap().unread_messages);
    let messages = s
        .content
        .list_messages(c.id, PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert!(messages.iter().all(|m| m.read));
    let ghost = ContentSessionId::from_uuid(id());
    assert!(matches!(
        s.content.add_message(&message(ghost, "x", t), true).await,
        Err(WriteError::NotFound)
    ));
    assert!(matches!(
        s.content.mark_read(ghost).await,
        Err(WriteError::NotFound)
    ));
}

/// `get_message` finds a message only through its own session; replies keep their parent.
#[contract]
pub async fn get_message_is_scoped_to_its_session(s: Stores) {
    let t = t0();
    let u = user("ann", t).id;
    let (a, b) = (content_session(u, t), content_session(u, t));
    s.content.create(&a).await.unwrap();
    s.content.create(&b).await.unwrap();
    let root = message(a.id, "root", t);
    let reply = Message {
        parent_id: Some(root.id),
        sender: Sender::User(u),
        ..message(a.id, "reply", t + Duration::seconds(1))
    };
    s.content.add_message(&root, true).await.unwrap();
    s.content.add_message(&reply, false).await.unwrap();
    assert_eq!(
        s.content.get_message(a.id, reply.id).await.unwrap(),
        Some(reply.clone())
    );
    assert_eq!(s.content.get_message(b.id, reply.id).await.unwrap(), None);
}

/// Messages page newest first with a cursor.
#[contract]
pub async fn messages_paginate_newest_first(s: Stores) {
    let t = t0();
    let c = content_session(user("ann", t).id, t);
    s.content.create(&c).await.unwrap();
    let msgs: Vec<Message> = (0..5)
        .map(|i| message(c.id, &format!("m{i}"), t + Duration::seconds(i)))
        .collect();
    for m in &msgs {
        s.content.add_message(m, true).await.unwrap();
    }
    let first = s
        .content
        .list_messages(c.id, PageRequest::first(3))
        .await
        .unwrap();
    let texts: Vec<&str> = first.items.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, vec!["m4", "m3", "m2"]);
    let rest = s
        .content
        .list_messages(c.id, PageRequest::after(3, first.next_cursor.unwrap()))
        .await
        .unwrap();
    let texts: Vec<&str> = rest.items.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, vec!["m1", "m0"]);
    assert!(rest.next_cursor.is_none());
}

/// `delete` removes the session with its data and messages; a second delete is `NotFound`.
#[contract]
pub async fn delete_cascades_to_data_and_messages(s: Stores) {
    let t = t0();
    let u = user("ann", t).id;
    let (gone, kept) = (content_session(u, t), content_session(u, t));
    s.content.create(&gone).await.unwrap();
    s.content.create(&kept).await.unwrap();
    let key = StorageKey::parse("k").unwrap();
    for c in [&gone, &kept] {
        s.content.put_data(c.id, &key, &json!(1)).await.unwrap();
        s.content
            .add_message(&message(c.id, "hi", t), true)
            .await
            .unwrap();
    }
    s.content.delete(gone.id).await.unwrap();
    assert_eq!(s.content.get(gone.id).await.unwrap(), None);
    assert!(s.content.list_data(gone.id).await.unwrap().is_empty());
    assert!(
        s.content
            .list_messages(gone.id, PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(matches!(
        s.content.delete(gone.id).await,
        Err(WriteError::NotFound)
    ));
    assert_eq!(s.content.list_data(kept.id).await.unwrap().len(), 1);
    assert_eq!(
        s.content
            .list_messages(kept.id, PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

/// `delete_for_user` removes that user's sessions (with data and messages) only.
#[contract]
pub async fn content_delete_for_user(s: Stores) {
    let t = t0();
    let (ann, bob) = (user("ann", t).id, user("bob", t).id);
    let a = content_session(ann, t);
    let b = content_session(bob, t);
    s.content.create(&a).await.unwrap();
    s.content.create(&b).await.unwrap();
    s.content
        .add_message(&message(a.id, "hi", t), true)
        .await
        .unwrap();
    assert_eq!(s.content.delete_for_user(ann).await.unwrap(), 1);
    assert_eq!(s.content.get(a.id).await.unwrap(), None);
    assert!(
        s.content
            .list_messages(a.id, PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(s.content.get(b.id).await.unwrap().is_some());
}
