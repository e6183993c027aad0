//! `UserRepository` contracts.

use crate::contract;
use std::collections::BTreeSet;

use domain::Stores;
use domain::*;
use time::Duration;

use crate::fixtures::*;

/// A created user reads back equal, field for field.
#[contract]
pub async fn create_then_get_roundtrips(s: Stores) {
    let t = t0();
    let mut u = user("ann", t);
    u.locked_until = Some(t + Duration::minutes(5));
    u.failed_logins = 2;
    u.last_accessed_at = Some(t);
    u.profile.bio = Some("Writes things. ünïcødé ✓".into());
    s.users.create(&u).await.unwrap();
    assert_eq!(s.users.get(u.id).await.unwrap(), Some(u));
}

/// Unusual text (controls other than NUL, escapes, quotes, astral and
/// right-to-left characters, noncharacters) reads back exactly, in profile
/// fields and in preference keys and values.
#[contract]
pub async fn every_accepted_string_roundtrips_exactly(s: Stores) {
    let odd = "\u{1}\t\r\n \\u0000 \"quoted\" 'single' é 🦀 \u{202e}rtl\u{202c} \u{ffff} \u{10ffff} $gt {x} %s";
    let t = t0();
    let mut u = user("ann", t);
    u.profile.full_name = Some(odd.into());
    u.profile.bio = Some(format!("{odd}{odd}"));
    u.profile.avatar = Some(odd.into());
    u.preferences
        .insert(odd.into(), serde_json::json!([odd, {"nested": odd}]));
    s.users.create(&u).await.unwrap();
    assert_eq!(s.users.get(u.id).await.unwrap(), Some(u));
}

/// `get` of an unknown id is `Ok(None)`, not an error.
#[contract]
pub async fn get_missing_is_none(s: Stores) {
    assert_eq!(s.users.get(UserId::from_uuid(id())).await.unwrap(), None);
}

/// A second user with the same email in another case is `EmailTaken`.
#[contract]
pub async fn email_taken_case_insensitively(s: Stores) {
    let t = t0();
    let a = user("ann", t);
    s.users.create(&a).await.unwrap();
    let mut b = user("bob", t);
    b.email = Email::parse("ANN@example.ORG").unwrap();
    assert!(matches!(
        s.users.create(&b).await,
        Err(InsertUserError::EmailTaken)
    ));
    assert_eq!(s.users.get(b.id).await.unwrap(), None);
}

/// A second user with the same username is `UsernameTaken`.
#[contract]
pub async fn username_taken(s: Stores) {
    let t = t0();
    s.users.create(&user("ann", t)).await.unwrap();
    let mut b = user("bob", t);
    b.username = Username::parse("user_ann").unwrap();
    assert!(matches!(
        s.users.create(&b).await,
        Err(InsertUserError::UsernameTaken)
    ));
}

/// Of 16 concurrent creations with one email exactly one succeeds.
#[contract]
pub async fn concurrent_creates_with_one_email_make_one_user(s: Stores) {
    let t = t0();
    let results = concurrently(16, |i| {
        let s = s.clone();
        async move {
            let mut u = user(&format!("racer{i}"), t);
            u.email = Email::parse("same@example.org").unwrap();
            s.users.create(&u).await
        }
    })
    .await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let taken = results
        .iter()
        .filter(|r| matches!(r, Err(InsertUserError::EmailTaken)))
        .count();
    assert_eq!((ok, taken), (1, 15), "{results:?}");
    assert!(
        s.users
            .find_by_email(&Email::parse("SAME@example.org").unwrap())
            .await
            .unwrap()
            .is_some()
    );
}

/// Look-ups by email ignore case; by username match; unknown ones are `None`.
#[contract]
pub async fn find_by_email_and_username(s: Stores) {
    let t = t0();
    let u = user("ann", t);
    s.users.create(&u).await.unwrap();
    let found = s
        .users
        .find_by_email(&Email::parse("ANN@EXAMPLE.ORG").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, u.id);
    assert_eq!(
        found.email.as_str(),
        "ann@Example.org",
        "the address is kept as given"
    );
    let by_name = s
        .users
        .find_by_username(&Username::parse("USER_ANN").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_name.id, u.id);
    assert!(
        s.users
            .find_by_email(&Email::parse("nobody@example.org").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.users
            .find_by_username(&Username::parse("nobody").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

/// `update_fields` writes exactly the fields it names: the others, the
/// sign-in counters included, stay as they were.
#[contract]
pub async fn update_fields_writes_only_what_it_names(s: Stores) {
    let t = t0();
    let mut u = user("ann", t);
    u.active_content_session_id = Some(ContentSessionId::from_uuid(id()));
    s.users.create(&u).await.unwrap();
    s.users.increment_failed_logins(u.id).await.unwrap();
    let mut prefs = u.preferences.clone();
    prefs.insert("language".into(), "fr".into());
    let changes = UserChanges {
        password_hash: Some(Some(PasswordHash::new("$argon2id$new"))),
        verified: Some(false),
        locked: Some(true),
        avatar: Some(Some("users/ann/avatar.png".into())),
        preferences: Some(PreferencesSwap {
            from: u.preferences.clone(),
            to: prefs.clone(),
        }),
        active_content_session: Some(ActiveSessionChange::Set(None)),
        updated_at: Some(t + Duration::seconds(5)),
        security_changed_at: Some(t + Duration::seconds(7)),
        ..UserChanges::default()
    };
    assert_eq!(
        s.users.update_fields(u.id, &changes).await.unwrap(),
        FieldsUpdate::Written
    );
    let stored = s.users.get(u.id).await.unwrap().unwrap();
    let expected = User {
        password_hash: Some(PasswordHash::new("$argon2id$new")),
        verified: false,
        locked: true,
        profile: Profile {
            avatar: Some("users/ann/avatar.png".into()),
            ..u.profile.clone()
        },
        preferences: prefs,
        active_content_session_id: None,
        updated_at: t + Duration::seconds(5),
        security_changed_at: t + Duration::seconds(7),
        failed_logins: 1,
        ..u.clone()
    };
    assert_eq!(stored, expected);
    // Clearing a field, and nothing else (an edit that moves `updated_at`
    // leaves `security_changed_at` as it was).
    let clear = UserChanges {
        full_name: Some(None),
        password_hash: Some(None),
        updated_at: Some(t + Duration::seconds(9)),
        ..UserChanges::default()
    };
    s.users.update_fields(u.id, &clear).await.unwrap();
    let stored = s.users.get(u.id).await.unwrap().unwrap();
    assert_eq!(
        stored,
        User {
            password_hash: None,
            profile: Profile {
                full_name: None,
                ..expected.profile.clone()
            },
            updated_at: t + Duration::seconds(9),
            ..expected
        }
    );
}

/// `update_fields` of an unknown id is `NotFound`.
#[contract]
pub async fn update_missing_is_not_found(s: Stores) {
    let u = user("ghost", t0());
    let changes = UserChanges {
        locked: Some(true),
        ..UserChanges::default()
    };
    assert!(matches!(
        s.users.update_fields(u.id, &changes).await,
        Err(WriteError::NotFound)
    ));
}

/// A condition that does not hold (preferences changed since read, another
/// active session) writes nothing at all, not even the other fields.
#[contract]
pub async fn update_conditions_write_nothing_when_they_fail(s: Stores) {
    let t = t0();
    let mut u = user("ann", t);
    let active = ContentSessionId::from_uuid(id());
    u.active_content_session_id = Some(active);
    s.users.create(&u).await.unwrap();
    let mut stale = u.preferences.clone();
    stale.insert("theme".into(), "light".into());
    let changes = UserChanges {
        bio: Some(Some("should not land".into())),
        preferences: Some(PreferencesSwap {
            from: stale,
            to: serde_json::Map::new(),
        }),
        ..UserChanges::default()
    };
    assert_eq!(
        s.users.update_fields(u.id, &changes).await.unwrap(),
        FieldsUpdate::ConditionFailed
    );
    let other = UserChanges {
        locked: Some(true),
        active_content_session: Some(ActiveSessionChange::ClearIf(ContentSessionId::from_uuid(
            id(),
        ))),
        ..UserChanges::default()
    };
    assert_eq!(
        s.users.update_fields(u.id, &other).await.unwrap(),
        FieldsUpdate::ConditionFailed
    );
    assert_eq!(s.users.get(u.id).await.unwrap().unwrap(), u);
    let mine = UserChanges {
        active_content_session: Some(ActiveSessionChange::ClearIf(active)),
        ..UserChanges::default()
    };
    assert_eq!(
        s.users.update_fields(u.id, &mine).await.unwrap(),
        FieldsUpdate::Written
    );
    let stored = s.users.get(u.id).await.unwrap().unwrap();
    assert_eq!(stored.active_content_session_id, None);
}

/// Writers of different fields running at once all survive: 8 rounds of
/// password, lock, verified, full name, bio, avatar, and suspension or
/// plan writers, and 8 preference writers adding a key each by compare-and-set,
/// concurrently.
#[contract]
pub async fn concurrent_writers_of_different_fields_all_survive(s: Stores) {
    let t = t0();
    let u = user("ann", t);
    s.users.create(&u).await.unwrap();
    let id = u.id;
    let results = concurrently(64, |i| {
        let s = s.clone();
        async move {
            let round = i / 8;
            let mut c = UserChanges::default();
            match i % 8 {
                6 if round % 2 == 0 => {
                    c.suspension = Some(Some(Suspension {
                        reason: SuspensionReason::parse(&format!("reason-{round}")).unwrap(),
                        since: t,
                        until: None,
                    }));
                }
                6 => {
                    c.plan = Some(Some(PlanAssignment {
                        name: PlanName::parse(&format!("plan-{round}")).unwrap(),
                        since: t,
                        until: None,
                    }));
                }
                0 => c.password_hash = Some(Some(PasswordHash::new(format!("hash-{round}")))),
                1 => c.locked = Some(true),
                2 => c.verified = Some(false),
                3 => c.full_name = Some(Some(format!("name-{round}"))),
                4 => c.bio = Some(Some(format!("bio-{round}"))),
                5 => c.avatar = Some(Some(format!("avatar-{round}"))),
                _ => {
                    // A preference key of its own, merged into what is there.
                    loop {
                        let now = s.users.get(id).await.unwrap().unwrap().preferences;
                        let mut to = now.clone();
                        to.insert(format!("k{round}"), round.into());
                        let swap = UserChanges {
                            preferences: Some(PreferencesSwap { from: now, to }),
                            ..UserChanges::default()
                        };
                        if s.users.update_fields(id, &swap).await.unwrap() == FieldsUpdate::Written
                        {
                            return;
                        }
                    }
                }
            }
            assert_eq!(
                s.users.update_fields(id, &c).await.unwrap(),
                FieldsUpdate::Written
            );
        }
    })
    .await;
    assert_eq!(results.len(), 64);
    let stored = s.users.get(id).await.unwrap().unwrap();
    assert!(
        stored
            .suspension
            .as_ref()
            .is_some_and(|s| s.reason.as_str().starts_with("reason-")),
        "the suspension survived"
    );
    assert!(
        stored
            .plan
            .as_ref()
            .is_some_and(|p| p.name.as_str().starts_with("plan-")),
        "the plan survived"
    );
    assert!(stored.locked, "the lock survived");
    assert!(!stored.verified, "the verified flag survived");
    let ends_in_a_round = |v: Option<&str>, prefix: &str| {
        v.and_then(|v| v.strip_prefix(prefix))
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| n < 8)
    };
    assert!(ends_in_a_round(
        stored.password_hash.as_ref().map(|h| h.as_str()),
        "hash-"
    ));
    assert!(ends_in_a_round(
        stored.profile.full_name.as_deref(),
        "name-"
    ));
    assert!(ends_in_a_round(stored.profile.bio.as_deref(), "bio-"));
    assert!(ends_in_a_round(stored.profile.avatar.as_deref(), "avatar-"));
    for round in 0..8 {
        assert_eq!(
            stored.preferences.get(&format!("k{round}")),
            Some(&serde_json::Value::from(round)),
            "preference k{round} survived: {:?}",
            stored.preferences
        );
    }
    assert_eq!(stored.preferences.get("theme"), Some(&"dark".into()));
}

/// 20 concurrent increments of `failed_logins` yield 1..=20, each once.
#[contract]
pub async fn concurrent_failed_logins_count_exactly(s: Stores) {
    let u = user("ann", t0());
    s.users.create(&u).await.unwrap();
    let counts = concurrently(20, |_| {
        let s = s.clone();
        async move { s.users.increment_failed_logins(u.id).await.unwrap() }
    })
    .await;
    let distinct: BTreeSet<u32> = counts.into_iter().collect();
    assert_eq!(distinct, (1..=20).collect());
    assert_eq!(s.users.get(u.id).await.unwrap().unwrap().failed_logins, 20);
}

/// The counter writes on an unknown id are `NotFound`.
#[contract]
pub async fn counter_writes_on_missing_user_are_not_found(s: Stores) {
    let ghost = UserId::from_uuid(id());
    assert!(matches!(
        s.users.increment_failed_logins(ghost).await,
        Err(WriteError::NotFound)
    ));
    assert!(matches!(
        s.users.set_locked_until(ghost, None).await,
        Err(WriteError::NotFound)
    ));
    assert!(matches!(
        s.users.record_sign_in(ghost, t0()).await,
        Err(WriteError::NotFound)
    ));
}

/// `record_sign_in` clears failures and lockout and stamps `last_accessed_at`.
#[contract]
pub async fn record_sign_in_resets_lockout(s: Stores) {
    let t = t0();
    let u = user("ann", t);
    s.users.create(&u).await.unwrap();
    s.users.increment_failed_logins(u.id).await.unwrap();
    s.users
        .set_locked_until(u.id, Some(t + Duration::minutes(15)))
        .await
        .unwrap();
    let locked = s.users.get(u.id).await.unwrap().unwrap();
    assert_eq!(
        (locked.failed_logins, locked.locked_until),
        (1, Some(t + Duration::minutes(15)))
    );
    s.users
        .record_sign_in(u.id, t + Duration::minutes(20))
        .await
        .unwrap();
    let fresh = s.users.get(u.id).await.unwrap().unwrap();
    assert_eq!(fresh.failed_logins, 0);
    assert_eq!(fresh.locked_until, None);
    assert_eq!(fresh.last_accessed_at, Some(t + Duration::minutes(20)));
}

/// `list` pages newest first and the cursor resumes exactly after the last item.
#[contract]
pub async fn list_is_newest_first_with_cursor(s: Stores) {
    let t = t0();
    let mut created = Vec::new();
    for i in 0..5 {
        let u = user(&format!("u{i}"), t + Duration::seconds(i));
        s.users.create(&u).await.unwrap();
        created.push(u.id);
    }
    // Two users with the same creation time are ordered by id, descending.
    let mut twin = user("twin", t + Duration::seconds(4));
    twin.id = UserId::from_uuid(uuid::Uuid::max());
    s.users.create(&twin).await.unwrap();
    let first = s
        .users
        .list(&UserFilter::default(), PageRequest::first(2))
        .await
        .unwrap();
    let ids: Vec<UserId> = first.items.iter().map(|u| u.id).collect();
    assert_eq!(ids, vec![twin.id, created[4]]);
    let cursor = first.next_cursor.expect("more pages");
    let second = s
        .users
        .list(&UserFilter::default(), PageRequest::after(3, cursor))
        .await
        .unwrap();
    let ids: Vec<UserId> = second.items.iter().map(|u| u.id).collect();
    assert_eq!(ids, vec![created[3], created[2], created[1]]);
    let third = s
        .users
        .list(
            &UserFilter::default(),
            PageRequest::after(3, second.next_cursor.unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(
        third.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![created[0]]
    );
    assert!(third.next_cursor.is_none(), "the last page has no cursor");
}

/// `delete` removes the user, leaves others, and is `NotFound` the second time.
#[contract]
pub async fn delete_removes_only_that_user(s: Stores) {
    let t = t0();
    let all = users(&s, "d", 2, t).await;
    s.users.delete(all[0].id).await.unwrap();
    assert!(s.users.get(all[0].id).await.unwrap().is_none());
    assert!(s.users.get(all[1].id).await.unwrap().is_some());
    assert!(matches!(
        s.users.delete(all[0].id).await,
        Err(WriteError::NotFound)
    ));
    // The email is free again.
    s.users.create(&user("d0", t)).await.unwrap();
}
