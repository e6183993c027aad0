//! `ConversationRepository` and `BlockRepository` contracts.

use std::collections::BTreeSet;

use domain::Stores;
use domain::*;
use time::{Duration, OffsetDateTime};

use crate::contract;
use crate::fixtures::*;

/// A group of `users` started by the first, at `at`.
pub fn group(users: &[UserId], at: OffsetDateTime) -> Conversation {
    let id = ConversationId::from_uuid(id());
    Conversation {
        id,
        kind: ConversationKind::Group,
        title: Some("Ann's \"team\", ünïcode".into()),
        created_by: users[0],
        created_at: at,
        last_seq: 0,
        last_activity_at: at,
        key: id.to_string(),
    }
}

/// The direct conversation of `a` and `b`.
pub fn direct(a: UserId, b: UserId, at: OffsetDateTime) -> Conversation {
    Conversation {
        kind: ConversationKind::Direct,
        title: None,
        key: Conversation::direct_key(a, b),
        ..group(&[a, b], at)
    }
}

/// A message of `sender` in `conversation`.
pub fn chat(
    conversation: ConversationId,
    sender: UserId,
    text: &str,
    at: OffsetDateTime,
) -> ConversationMessage {
    ConversationMessage {
        id: MessageId::from_uuid(id()),
        conversation_id: conversation,
        seq: 0,
        sender_id: sender,
        content: Some(text.into()),
        parent_id: None,
        created_at: at,
        deleted_at: None,
    }
}

fn users(n: usize) -> Vec<UserId> {
    (0..n).map(|_| UserId::from_uuid(id())).collect()
}

/// A conversation and its participants read back as stored; a second
/// conversation with the same key is refused and writes nothing.
#[contract]
pub async fn conversations_roundtrip_and_keys_are_unique(s: Stores) {
    let t = t0();
    let u = users(3);
    let g = group(&u, t);
    assert!(s.conversations.create(&g, &u).await.unwrap());
    assert_eq!(s.conversations.get(g.id).await.unwrap(), Some(g.clone()));
    let parts = s.conversations.participants(g.id).await.unwrap();
    assert_eq!(
        parts.iter().map(|p| p.user_id).collect::<BTreeSet<_>>(),
        u.iter().copied().collect()
    );
    assert!(
        parts
            .iter()
            .all(|p| p.read_seq == 0 && p.joined_at == t && p.last_activity_at == t)
    );
    let d = direct(u[0], u[1], t);
    assert!(s.conversations.create(&d, &u[..2]).await.unwrap());
    let again = direct(u[1], u[0], t + Duration::seconds(1));
    assert!(!s.conversations.create(&again, &[u[1], u[2]]).await.unwrap());
    assert_eq!(s.conversations.get(again.id).await.unwrap(), None);
    assert_eq!(
        s.conversations.participant(d.id, u[2]).await.unwrap(),
        None,
        "the refused create wrote nothing"
    );
    assert_eq!(
        s.conversations.find_by_key(&d.key).await.unwrap(),
        Some(d.clone())
    );
    assert_eq!(s.conversations.find_by_key("nope").await.unwrap(), None);
    s.conversations
        .rename(g.id, Some("renamed".into()))
        .await
        .unwrap();
    let renamed = s.conversations.get(g.id).await.unwrap().unwrap();
    assert_eq!(
        renamed,
        Conversation {
            title: Some("renamed".into()),
            ..g
        }
    );
    let missing = ConversationId::from_uuid(id());
    assert!(matches!(
        s.conversations.rename(missing, None).await,
        Err(WriteError::NotFound)
    ));
}

/// Concurrent posts each take a different sequence number, none is lost,
/// and listing pages through them highest number first; the sender's
/// read position and everyone's last activity follow.
#[contract]
pub async fn parallel_posts_take_consecutive_numbers(s: Stores) {
    let t = t0();
    let u = users(3);
    let g = group(&u, t);
    s.conversations.create(&g, &u).await.unwrap();
    let runs: Vec<_> = (0..24)
        .map(|i| {
            let repo = s.conversations.clone();
            let m = chat(
                g.id,
                u[i % 3],
                &format!("message {i}"),
                t + Duration::milliseconds(i as i64),
            );
            tokio::spawn(async move { (repo.post(&m).await.unwrap(), m) })
        })
        .collect();
    let mut posted = Vec::new();
    for r in futures::future::join_all(runs).await {
        posted.push(r.unwrap());
    }
    let numbers: BTreeSet<u64> = posted.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, (1..=24).collect(), "24 different numbers, 1 to 24");
    let c = s.conversations.get(g.id).await.unwrap().unwrap();
    assert_eq!(c.last_seq, 24);
    assert_eq!(c.last_activity_at, t + Duration::milliseconds(23));
    let mut listed = Vec::new();
    let mut page = PageRequest::first(7);
    loop {
        let got = s.conversations.list_messages(g.id, page).await.unwrap();
        listed.extend(got.items);
        match got.next_cursor {
            Some(c) => page = PageRequest::after(7, c),
            None => break,
        }
    }
    let seqs: Vec<u64> = listed.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=24).rev().collect::<Vec<_>>());
    for m in &listed {
        let (n, sent) = posted.iter().find(|(_, p)| p.id == m.id).unwrap();
        assert_eq!(
            *m,
            ConversationMessage {
                seq: *n,
                ..sent.clone()
            }
        );
    }
    for (i, user) in u.iter().enumerate() {
        let p = s
            .conversations
            .participant(g.id, *user)
            .await
            .unwrap()
            .unwrap();
        let highest = posted
            .iter()
            .filter(|(_, m)| m.sender_id == *user)
            .map(|(n, _)| *n)
            .max()
            .unwrap();
        assert_eq!(p.read_seq, highest, "participant {i} read up to their own");
        assert_eq!(p.last_activity_at, t + Duration::milliseconds(23));
    }
    let missing = chat(ConversationId::from_uuid(id()), u[0], "x", t);
    assert!(matches!(
        s.conversations.post(&missing).await,
        Err(WriteError::NotFound)
    ));
}

/// Two readers advancing their read positions at once each end at the
/// highest position they asked for; a lower one never moves it back.
#[contract]
pub async fn read_positions_only_rise_under_concurrency(s: Stores) {
    let t = t0();
    let u = users(3);
    let g = group(&u, t);
    s.conversations.create(&g, &u).await.unwrap();
    for i in 0..10 {
        s.conversations
            .post(&chat(g.id, u[2], "x", t + Duration::milliseconds(i)))
            .await
            .unwrap();
    }
    let mut runs = Vec::new();
    for reader in [u[0], u[1]] {
        for n in [3, 9, 1, 7, 10, 2, 5] {
            let repo = s.conversations.clone();
            runs.push(tokio::spawn(async move {
                repo.mark_read(g.id, reader, n).await.unwrap()
            }));
        }
    }
    for r in futures::future::join_all(runs).await {
        r.unwrap();
    }
    for reader in [u[0], u[1]] {
        s.conversations.mark_read(g.id, reader, 4).await.unwrap();
        let p = s
            .conversations
            .participant(g.id, reader)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.read_seq, 10);
    }
    let outsider = UserId::from_uuid(id());
    assert!(matches!(
        s.conversations.mark_read(g.id, outsider, 1).await,
        Err(WriteError::NotFound)
    ));
}

/// A user's conversations come most recent activity first, each with its
/// newest message and the user's read position, in pages.
#[contract]
pub async fn a_users_conversations_are_listed_by_last_activity(s: Stores) {
    let t = t0();
    let u = users(4);
    let convs: Vec<Conversation> = (1..=3)
        .map(|i| direct(u[0], u[i], t + Duration::seconds(i as i64)))
        .collect();
    for (i, c) in convs.iter().enumerate() {
        s.conversations.create(c, &[u[0], u[i + 1]]).await.unwrap();
    }
    // The oldest conversation gets a message: it comes first.
    let m = chat(convs[0].id, u[1], "latest", t + Duration::seconds(10));
    s.conversations.post(&m).await.unwrap();
    let first = s
        .conversations
        .list_for_user(u[0], PageRequest::first(2))
        .await
        .unwrap();
    let ids: Vec<ConversationId> = first.items.iter().map(|e| e.conversation.id).collect();
    assert_eq!(ids, [convs[0].id, convs[2].id]);
    let top = &first.items[0];
    assert_eq!(top.unread_count(), 1);
    assert_eq!(top.last_activity_at, t + Duration::seconds(10));
    assert_eq!(
        top.last_message.as_ref().map(|l| (l.id, l.seq)),
        Some((m.id, 1))
    );
    assert!(first.items[1].last_message.is_none());
    let rest = s
        .conversations
        .list_for_user(u[0], PageRequest::after(2, first.next_cursor.unwrap()))
        .await
        .unwrap();
    assert_eq!(
        rest.items
            .iter()
            .map(|e| e.conversation.id)
            .collect::<Vec<_>>(),
        [convs[1].id]
    );
    assert!(rest.next_cursor.is_none());
    let theirs = s
        .conversations
        .list_for_user(u[1], PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(theirs.items.len(), 1);
    assert_eq!(theirs.items[0].unread_count(), 0, "the sender read it");
}

/// Leaving removes only that participant; the last to leave deletes the
/// conversation with its messages. Joining adds with nothing unread and
/// leaves an existing participant as they are.
#[contract]
pub async fn leaving_and_joining(s: Stores) {
    let t = t0();
    let u = users(3);
    let d = direct(u[0], u[1], t);
    s.conversations.create(&d, &u[..2]).await.unwrap();
    let m = chat(d.id, u[0], "hi", t + Duration::seconds(1));
    s.conversations.post(&m).await.unwrap();
    s.conversations
        .join(d.id, &[u[0], u[2]], t + Duration::seconds(2))
        .await
        .unwrap();
    let newcomer = s
        .conversations
        .participant(d.id, u[2])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(newcomer.read_seq, 1);
    assert_eq!(newcomer.joined_at, t + Duration::seconds(2));
    let sender = s
        .conversations
        .participant(d.id, u[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sender.joined_at, t, "an existing participant stays as is");
    assert!(s.conversations.leave(d.id, u[2]).await.unwrap());
    assert!(!s.conversations.leave(d.id, u[2]).await.unwrap());
    assert!(s.conversations.leave(d.id, u[0]).await.unwrap());
    assert!(s.conversations.get(d.id).await.unwrap().is_some());
    assert!(s.conversations.leave(d.id, u[1]).await.unwrap());
    assert_eq!(s.conversations.get(d.id).await.unwrap(), None);
    assert_eq!(s.conversations.get_message(d.id, m.id).await.unwrap(), None);
    assert_eq!(s.conversations.find_by_key(&d.key).await.unwrap(), None);
    assert!(matches!(
        s.conversations.join(d.id, &[u[0]], t).await,
        Err(WriteError::NotFound)
    ));
}

/// Removing a message leaves a tombstone; a deleted account's messages
/// all become tombstones, it leaves every conversation, and those left
/// empty are deleted.
#[contract]
pub async fn tombstones_and_forgotten_users(s: Stores) {
    let t = t0();
    let u = users(3);
    let d = direct(u[0], u[1], t);
    let alone = group(&[u[0], u[2]], t);
    s.conversations.create(&d, &u[..2]).await.unwrap();
    s.conversations.create(&alone, &[u[0]]).await.unwrap();
    let mut m = chat(d.id, u[0], "one", t + Duration::seconds(1));
    m.parent_id = Some(MessageId::from_uuid(id()));
    let other = chat(d.id, u[1], "two", t + Duration::seconds(2));
    let third = chat(alone.id, u[0], "three", t + Duration::seconds(3));
    for x in [&m, &other, &third] {
        s.conversations.post(x).await.unwrap();
    }
    let gone = t + Duration::seconds(5);
    s.conversations
        .remove_message(d.id, m.id, gone)
        .await
        .unwrap();
    s.conversations
        .remove_message(d.id, m.id, gone + Duration::seconds(1))
        .await
        .unwrap();
    let read = s
        .conversations
        .get_message(d.id, m.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        read,
        ConversationMessage {
            seq: 1,
            content: None,
            deleted_at: Some(gone),
            ..m.clone()
        }
    );
    assert!(matches!(
        s.conversations.remove_message(alone.id, m.id, gone).await,
        Err(WriteError::NotFound)
    ));
    assert_eq!(
        s.conversations.get_message(alone.id, m.id).await.unwrap(),
        None
    );
    let sent = s
        .conversations
        .list_sent(u[0], PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(
        sent.items.iter().map(|x| x.id).collect::<Vec<_>>(),
        [third.id, m.id]
    );
    assert_eq!(s.conversations.forget_user(u[0], gone).await.unwrap(), 2);
    assert_eq!(s.conversations.get(alone.id).await.unwrap(), None);
    assert_eq!(s.conversations.participant(d.id, u[0]).await.unwrap(), None);
    let left = s
        .conversations
        .list_messages(d.id, PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(left.items.len(), 2);
    assert!(left.items[1].is_deleted(), "theirs is a tombstone");
    assert_eq!(left.items[0].content.as_deref(), Some("two"));
    assert!(
        s.conversations
            .list_for_user(u[0], PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

/// Blocks are one-way, listed newest first, idempotent, and forgotten in
/// both directions with an account.
#[contract]
pub async fn blocks_are_one_way_and_forgotten_with_an_account(s: Stores) {
    let t = t0();
    let u = users(3);
    let block = |a: usize, b: usize, secs: i64| Block {
        blocker_id: u[a],
        blocked_id: u[b],
        created_at: t + Duration::seconds(secs),
    };
    assert!(s.blocks.block(&block(0, 1, 1)).await.unwrap());
    assert!(!s.blocks.block(&block(0, 1, 9)).await.unwrap());
    assert!(s.blocks.block(&block(0, 2, 2)).await.unwrap());
    assert!(s.blocks.block(&block(2, 0, 3)).await.unwrap());
    assert!(s.blocks.is_blocked(u[0], u[1]).await.unwrap());
    assert!(!s.blocks.is_blocked(u[1], u[0]).await.unwrap());
    assert_eq!(
        s.blocks.list(u[0]).await.unwrap(),
        [block(0, 2, 2), block(0, 1, 1)]
    );
    assert!(s.blocks.unblock(u[0], u[2]).await.unwrap());
    assert!(!s.blocks.unblock(u[0], u[2]).await.unwrap());
    assert_eq!(s.blocks.forget_user(u[0]).await.unwrap(), 2);
    assert!(s.blocks.list(u[0]).await.unwrap().is_empty());
    assert!(!s.blocks.is_blocked(u[2], u[0]).await.unwrap());
}
