use futures::executor::block_on;

use super::*;
use crate::kernel::principal::testing::principal;
use crate::test_support::*;
use crate::{ActivityFilter, PageRequest};

/// The service over the in-memory adapter with users 1–4 stored, and
/// principals for them (4 holds `messages:moderate`).
fn setup() -> (Conversations, crate::Stores, [crate::Principal; 4]) {
    let (h, _clock, _) = Harness::over_memory();
    for n in 2..=4 {
        block_on(h.stores.users.create(&sample_user(n))).unwrap();
    }
    let stores = h.stores.clone();
    let svc = Conversations::new(h.stores, h.system, ConversationLimits::default());
    let people = [
        principal(1, &[]),
        principal(2, &[]),
        principal(3, &[]),
        principal(4, &["messages:moderate"]),
    ];
    (svc, stores, people)
}

fn id(n: u128) -> crate::UserId {
    sample_user(n).id
}

#[test]
fn a_pair_has_one_direct_conversation() {
    let (svc, _, [ann, bob, ..]) = setup();
    let first = block_on(svc.start(&ann, &[id(2)], None)).unwrap();
    assert!(first.created);
    let again = block_on(svc.start(&bob, &[id(1)], None)).unwrap();
    assert!(!again.created, "the pair's conversation is returned");
    assert_eq!(again.view.conversation.id, first.view.conversation.id);
    // Whoever left is back when it is started again.
    block_on(svc.leave(&ann, first.view.conversation.id)).unwrap();
    let back = block_on(svc.start(&bob, &[id(1)], None)).unwrap();
    assert_eq!(back.view.participants.len(), 2);
}

#[test]
fn bad_participants_are_refused_by_name() {
    let (svc, _, [ann, ..]) = setup();
    let unknown = id(99);
    assert!(matches!(
        block_on(svc.start(&ann, &[unknown], None)),
        Err(ConversationError::UserNotFound(u)) if u == unknown
    ));
    for bad in [vec![], vec![id(2), id(2)], vec![id(1)]] {
        assert!(matches!(
            block_on(svc.start(&ann, &bad, None)),
            Err(ConversationError::Invalid {
                field: "participant_ids",
                ..
            })
        ));
    }
    assert!(matches!(
        block_on(svc.start(&ann, &[id(2)], Some("title"))),
        Err(ConversationError::Invalid { field: "title", .. })
    ));
}

#[test]
fn outsiders_are_told_nothing_exists() {
    let (svc, _, [ann, _, carl, _]) = setup();
    let c = block_on(svc.start(&ann, &[id(2)], None)).unwrap();
    let cid = c.view.conversation.id;
    let m = block_on(svc.post(&ann, cid, "hello", None)).unwrap();
    assert!(matches!(
        block_on(svc.get(&carl, cid)),
        Err(ConversationError::NotFound)
    ));
    assert!(matches!(
        block_on(svc.post(&carl, cid, "hi", None)),
        Err(ConversationError::NotFound)
    ));
    assert!(matches!(
        block_on(svc.messages(&carl, cid, PageRequest::first(10))),
        Err(ConversationError::NotFound)
    ));
    assert!(matches!(
        block_on(svc.remove_message(&carl, cid, m.id)),
        Err(ConversationError::NotFound)
    ));
}

#[test]
fn unread_counts_follow_posts_and_read_positions() {
    let (svc, stores, [ann, bob, ..]) = setup();
    let cid = block_on(svc.start(&ann, &[id(2)], None))
        .unwrap()
        .view
        .conversation
        .id;
    let mut sent = Vec::new();
    for text in ["one", "two", "three"] {
        sent.push(block_on(svc.post(&ann, cid, text, None)).unwrap());
    }
    let unread = |who: &crate::Principal| {
        block_on(svc.list(who, PageRequest::first(10)))
            .unwrap()
            .items[0]
            .unread_count()
    };
    assert_eq!((unread(&ann), unread(&bob)), (0, 3));
    block_on(svc.mark_read(&bob, cid, sent[1].id)).unwrap();
    assert_eq!(unread(&bob), 1);
    // Reading an earlier message does not move the position back.
    block_on(svc.mark_read(&bob, cid, sent[0].id)).unwrap();
    assert_eq!(unread(&bob), 1);
    let page = block_on(svc.messages(&ann, cid, PageRequest::first(10))).unwrap();
    let read_by: Vec<usize> = page.items.iter().map(|m| m.read_by.len()).collect();
    assert_eq!(read_by, vec![0, 1, 1], "newest first; bob read two");
    // Each post notified the other participant.
    let bobs = block_on(stores.notifications.list(
        id(2),
        false,
        T0 + time::Duration::hours(1),
        PageRequest::first(10),
    ))
    .unwrap();
    assert_eq!(bobs.items.len(), 3);
    assert!(
        bobs.items
            .iter()
            .all(|n| n.kind == "message" && n.conversation_id == Some(cid))
    );
}

#[test]
fn replies_stay_in_their_conversation() {
    let (svc, _, [ann, ..]) = setup();
    let one = block_on(svc.start(&ann, &[id(2)], None)).unwrap();
    let other = block_on(svc.start(&ann, &[id(3)], None)).unwrap();
    let m = block_on(svc.post(&ann, one.view.conversation.id, "hi", None)).unwrap();
    assert!(matches!(
        block_on(svc.post(&ann, other.view.conversation.id, "re", Some(m.id))),
        Err(ConversationError::Invalid {
            field: "parent_id",
            ..
        })
    ));
    let reply = block_on(svc.post(&ann, one.view.conversation.id, "re", Some(m.id))).unwrap();
    assert_eq!(reply.parent_id, Some(m.id));
    for bad in ["", "  ", "bell\u{7}", &"x".repeat(MAX_MESSAGE_CHARS + 1)] {
        assert!(matches!(
            block_on(svc.post(&ann, one.view.conversation.id, bad, None)),
            Err(ConversationError::Invalid {
                field: "content",
                ..
            })
        ));
    }
    assert!(block_on(svc.post(&ann, one.view.conversation.id, "a\n\tb", None)).is_ok());
}

#[test]
fn a_blocked_user_cannot_reach_the_blocker() {
    let (svc, _, [ann, bob, ..]) = setup();
    let cid = block_on(svc.start(&ann, &[id(2)], None))
        .unwrap()
        .view
        .conversation
        .id;
    block_on(svc.block(&ann, id(2))).unwrap();
    assert!(matches!(
        block_on(svc.post(&bob, cid, "hi", None)),
        Err(ConversationError::Blocked)
    ));
    // The blocker still may; a new conversation is refused like an unknown user.
    assert!(block_on(svc.post(&ann, cid, "bye", None)).is_ok());
    assert!(matches!(
        block_on(svc.start(&bob, &[id(1), id(3)], None)),
        Err(ConversationError::UserNotFound(u)) if u == id(1)
    ));
    block_on(svc.unblock(&ann, id(2))).unwrap();
    assert!(block_on(svc.post(&bob, cid, "hi again", None)).is_ok());
}

#[test]
fn only_the_sender_or_a_moderator_removes_a_message() {
    let (svc, stores, [ann, bob, _, moderator]) = setup();
    let cid = block_on(svc.start(&ann, &[id(2)], None))
        .unwrap()
        .view
        .conversation
        .id;
    let m = block_on(svc.post(&ann, cid, "hello", None)).unwrap();
    assert!(matches!(
        block_on(svc.remove_message(&bob, cid, m.id)),
        Err(ConversationError::Forbidden(_))
    ));
    block_on(svc.remove_message(&moderator, cid, m.id)).unwrap();
    let page = block_on(svc.messages(&ann, cid, PageRequest::first(10))).unwrap();
    assert!(page.items[0].message.is_deleted());
    let mine = ActivityFilter {
        user_id: Some(id(1)),
        ..ActivityFilter::default()
    };
    let events = block_on(stores.activity.list(&mine, PageRequest::first(10))).unwrap();
    assert_eq!(events.items[0].kind, crate::ActivityKind::MessageRemoved);
    assert_eq!(events.items[0].actor, crate::Actor::Admin(id(4)));
}

#[test]
fn posting_is_rate_limited_per_sender() {
    let (h, _clock, _) = Harness::over_memory();
    block_on(h.stores.users.create(&sample_user(2))).unwrap();
    let svc = Conversations::new(
        h.stores,
        h.system,
        ConversationLimits {
            posts_per_minute: 2,
        },
    );
    let ann = principal(1, &[]);
    let cid = block_on(svc.start(&ann, &[id(2)], None))
        .unwrap()
        .view
        .conversation
        .id;
    for _ in 0..2 {
        block_on(svc.post(&ann, cid, "hi", None)).unwrap();
    }
    assert!(matches!(
        block_on(svc.post(&ann, cid, "hi", None)),
        Err(ConversationError::RateLimited { retry_after }) if (1..=60).contains(&retry_after)
    ));
}
