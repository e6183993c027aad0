//! `PasskeyRepository` and `PasskeyChallengeRepository` contracts:
//! passkeys read back as stored, a credential id registered once over all
//! users, renamed and deleted only by their user, "keep the last one"
//! decided atomically, a signature counter that only moves forward by
//! compare-and-set, and challenges taken once and never after expiry.

use crate::contract;
use domain::*;
use time::Duration;

use crate::fixtures::*;

fn passkey(user: UserId, credential: &str, at: time::OffsetDateTime) -> Passkey {
    Passkey {
        id: PasskeyId::from_uuid(id()),
        user_id: user,
        credential_id: CredentialId::parse(credential).unwrap(),
        credential: format!(r#"{{"cred":"{credential}","flags":["ü"]}}"#),
        counter: 0,
        name: PasskeyName::parse("Phone “work” ✓").unwrap(),
        created_at: at,
        last_used_at: None,
    }
}

/// A fresh credential id (valid unpadded base64url: never 4n+1 long).
fn unique(label: &str) -> String {
    let mut text = format!("{label}-{}", id().simple());
    if text.len() % 4 == 1 {
        text.push('A');
    }
    text
}

/// A passkey comes back from `find_by_credential` and `list_for_user`
/// exactly as inserted; each user sees only their own, oldest first; a
/// credential id is registered once over all users, also when 8 inserts
/// race.
#[contract]
pub async fn passkeys_read_back_as_stored_and_credential_ids_are_unique(s: Stores) {
    let t = t0();
    let (ann, bob) = (UserId::from_uuid(id()), UserId::from_uuid(id()));
    let first = passkey(ann, &unique("a1"), t);
    let mut second = passkey(ann, &unique("a2"), t + Duration::seconds(1));
    second.counter = 41;
    second.last_used_at = Some(t + Duration::seconds(2));
    let other = passkey(bob, &unique("b1"), t);
    for p in [&second, &first, &other] {
        assert!(s.passkeys.insert(p).await.unwrap());
    }
    assert_eq!(
        s.passkeys
            .find_by_credential(&second.credential_id)
            .await
            .unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        s.passkeys.list_for_user(ann).await.unwrap(),
        [first.clone(), second.clone()]
    );
    assert_eq!(
        s.passkeys.list_for_user(bob).await.unwrap(),
        std::slice::from_ref(&other)
    );
    let mut stolen = passkey(bob, first.credential_id.as_str(), t);
    stolen.id = PasskeyId::from_uuid(id());
    assert!(!s.passkeys.insert(&stolen).await.unwrap());
    assert_eq!(s.passkeys.list_for_user(bob).await.unwrap(), [other]);
    let contested = unique("race");
    let wins = concurrently(8, |_| {
        let (s, c) = (s.clone(), contested.clone());
        async move {
            s.passkeys
                .insert(&passkey(UserId::from_uuid(id()), &c, t))
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(wins.iter().filter(|w| **w).count(), 1);
    assert_eq!(
        s.passkeys
            .find_by_credential(&CredentialId::parse("never-registered").unwrap())
            .await
            .unwrap(),
        None
    );
}

/// Only its user renames or deletes a passkey; `delete_for_user` removes
/// every one of the user's and no one else's.
#[contract]
pub async fn passkeys_are_renamed_and_deleted_only_by_their_user(s: Stores) {
    let t = t0();
    let (ann, bob) = (UserId::from_uuid(id()), UserId::from_uuid(id()));
    let a1 = passkey(ann, &unique("a1"), t);
    let a2 = passkey(ann, &unique("a2"), t + Duration::seconds(1));
    let b1 = passkey(bob, &unique("b1"), t);
    for p in [&a1, &a2, &b1] {
        s.passkeys.insert(p).await.unwrap();
    }
    let name = PasskeyName::parse("YubiKey").unwrap();
    assert!(matches!(
        s.passkeys.rename(bob, a1.id, &name).await,
        Err(WriteError::NotFound)
    ));
    s.passkeys.rename(ann, a1.id, &name).await.unwrap();
    let listed = s.passkeys.list_for_user(ann).await.unwrap();
    assert_eq!(listed[0].name, name);
    assert_eq!(
        s.passkeys.delete(bob, a1.id, false).await.unwrap(),
        PasskeyRemoved::NotFound
    );
    assert_eq!(
        s.passkeys.delete(ann, a1.id, false).await.unwrap(),
        PasskeyRemoved::Removed
    );
    assert_eq!(
        s.passkeys.delete(ann, a1.id, false).await.unwrap(),
        PasskeyRemoved::NotFound
    );
    assert_eq!(
        s.passkeys
            .find_by_credential(&a1.credential_id)
            .await
            .unwrap(),
        None
    );
    // The credential id is free again once its passkey is gone.
    assert!(
        s.passkeys
            .insert(&passkey(bob, a1.credential_id.as_str(), t))
            .await
            .unwrap()
    );
    assert_eq!(s.passkeys.delete_for_user(ann).await.unwrap(), 1);
    assert_eq!(
        s.passkeys
            .find_by_credential(&a2.credential_id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.passkeys.list_for_user(bob).await.unwrap().len(), 2);
    assert_eq!(s.passkeys.delete_for_user(ann).await.unwrap(), 0);
}

/// With `keep_one`, the user's only passkey stays; of concurrent deletes
/// of a user's last two passkeys at most one removes its passkey.
#[contract]
pub async fn the_last_passkey_is_kept_atomically_when_asked(s: Stores) {
    let t = t0();
    for _ in 0..3 {
        let ann = UserId::from_uuid(id());
        let a1 = passkey(ann, &unique("a1"), t);
        let a2 = passkey(ann, &unique("a2"), t);
        s.passkeys.insert(&a1).await.unwrap();
        s.passkeys.insert(&a2).await.unwrap();
        let outcomes = concurrently(2, |i| {
            let s = s.clone();
            let id = if i == 0 { a1.id } else { a2.id };
            async move { s.passkeys.delete(ann, id, true).await.unwrap() }
        })
        .await;
        let removed = outcomes
            .iter()
            .filter(|o| **o == PasskeyRemoved::Removed)
            .count();
        assert_eq!(removed, 1, "{outcomes:?}");
        assert_eq!(s.passkeys.list_for_user(ann).await.unwrap().len(), 1);
        let last = s.passkeys.list_for_user(ann).await.unwrap()[0].id;
        assert_eq!(
            s.passkeys.delete(ann, last, true).await.unwrap(),
            PasskeyRemoved::LastOne
        );
        assert_eq!(
            s.passkeys.delete(ann, last, false).await.unwrap(),
            PasskeyRemoved::Removed
        );
    }
}

/// `record_use` is a compare-and-set on the counter: of 16 concurrent uses
/// with the same counter exactly one wins; a counter that does not move
/// forward changes nothing; authenticators without a counter (0 and 0)
/// always pass; a deleted passkey answers `false`.
#[contract]
pub async fn the_signature_counter_only_moves_forward(s: Stores) {
    let t = t0();
    let mut p = passkey(UserId::from_uuid(id()), &unique("c"), t);
    p.counter = 5;
    s.passkeys.insert(&p).await.unwrap();
    let wins = concurrently(16, |_| {
        let s = s.clone();
        async move {
            s.passkeys
                .record_use(p.id, 6, "updated", t + Duration::seconds(1))
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(wins.iter().filter(|w| **w).count(), 1);
    let stored = s
        .passkeys
        .find_by_credential(&p.credential_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            stored.counter,
            stored.credential.as_str(),
            stored.last_used_at
        ),
        (6, "updated", Some(t + Duration::seconds(1)))
    );
    for behind in [6, 3, 0] {
        assert!(
            !s.passkeys
                .record_use(p.id, behind, "clone", t)
                .await
                .unwrap()
        );
    }
    let stored = s
        .passkeys
        .find_by_credential(&p.credential_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.counter, stored.credential.as_str()), (6, "updated"));
    assert!(
        s.passkeys
            .record_use(p.id, 4_000_000_000, "big", t)
            .await
            .unwrap()
    );

    let zero = passkey(UserId::from_uuid(id()), &unique("z"), t);
    s.passkeys.insert(&zero).await.unwrap();
    assert!(s.passkeys.record_use(zero.id, 0, "z1", t).await.unwrap());
    assert!(s.passkeys.record_use(zero.id, 0, "z2", t).await.unwrap());
    s.passkeys
        .delete(zero.user_id, zero.id, false)
        .await
        .unwrap();
    assert!(!s.passkeys.record_use(zero.id, 0, "gone", t).await.unwrap());
    assert!(!s.passkeys.record_use(zero.id, 9, "gone", t).await.unwrap());
}

/// A challenge is taken once (of 8 concurrent takes one wins), comes back
/// as stored, and is never taken once expired, purged or not.
#[contract]
pub async fn challenges_are_taken_once_and_never_after_expiry(s: Stores) {
    let t = t0();
    let registration = PasskeyChallenge {
        id: PasskeyChallengeId::from_uuid(id()),
        user_id: Some(UserId::from_uuid(id())),
        state: r#"{"rs":{"challenge":"ü"}}"#.to_owned(),
        expires_at: t + Duration::minutes(5),
    };
    let sign_in = PasskeyChallenge {
        id: PasskeyChallengeId::from_uuid(id()),
        user_id: None,
        state: "{}".to_owned(),
        expires_at: t + Duration::minutes(5),
    };
    s.passkey_challenges.insert(&registration).await.unwrap();
    s.passkey_challenges.insert(&sign_in).await.unwrap();
    let got = concurrently(8, |_| {
        let s = s.clone();
        async move { s.passkey_challenges.take(registration.id, t).await.unwrap() }
    })
    .await;
    assert_eq!(
        got.into_iter().flatten().collect::<Vec<_>>(),
        vec![registration.clone()]
    );
    assert_eq!(
        s.passkey_challenges
            .take(sign_in.id, t + Duration::minutes(5))
            .await
            .unwrap(),
        None
    );
    let late = PasskeyChallenge {
        id: PasskeyChallengeId::from_uuid(id()),
        expires_at: t + Duration::seconds(1),
        ..sign_in.clone()
    };
    let live = PasskeyChallenge {
        id: PasskeyChallengeId::from_uuid(id()),
        expires_at: t + Duration::minutes(5),
        ..sign_in
    };
    s.passkey_challenges.insert(&late).await.unwrap();
    s.passkey_challenges.insert(&live).await.unwrap();
    s.passkey_challenges
        .purge_expired(t + Duration::seconds(2), PURGE_BATCH)
        .await
        .unwrap();
    assert_eq!(
        s.passkey_challenges
            .take(late.id, t + Duration::seconds(2))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.passkey_challenges.take(live.id, t).await.unwrap(),
        Some(live)
    );
}
