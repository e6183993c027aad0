//! `UserRepository` contracts.

use std::collections::BTreeSet;

use domain::services::Stores;
use domain::*;
use time::Duration;

use crate::fixtures::*;

/// A created user reads back equal, field for field.
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
pub async fn get_missing_is_none(s: Stores) {
    assert_eq!(s.users.get(UserId::from_uuid(id())).await.unwrap(), None);
}

/// A second user with the same email in another case is `EmailTaken`.
pub async fn email_taken_case_insensitively(s: Stores) {
    let t = t0();
    let a = user("ann", t);
    s.users.create(&a).await.unwrap();
    let mut b = user("bob", t);
    b.email = Email::parse("ANN@example.ORG").unwrap();
    assert!(matches!(
        s.users.create(&b).await,
        Err(CreateUserError::EmailTaken)
    ));
    assert_eq!(s.users.get(b.id).await.unwrap(), None);
}

/// A second user with the same username is `UsernameTaken`.
pub async fn username_taken(s: Stores) {
    let t = t0();
    s.users.create(&user("ann", t)).await.unwrap();
    let mut b = user("bob", t);
    b.username = Username::parse("user_ann").unwrap();
    assert!(matches!(
        s.users.create(&b).await,
        Err(CreateUserError::UsernameTaken)
    ));
}

/// Of 16 concurrent creations with one email exactly one succeeds.
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
        .filter(|r| matches!(r, Err(CreateUserError::EmailTaken)))
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

/// `update` writes the mutable fields and leaves the sign-in counters alone.
pub async fn update_writes_fields_but_not_counters(s: Stores) {
    let t = t0();
    let u = user("ann", t);
    s.users.create(&u).await.unwrap();
    s.users.increment_failed_logins(u.id).await.unwrap();
    let mut changed = u.clone();
    changed.email = Email::parse("ann.new@example.org").unwrap();
    changed.username = Username::parse("ann_new").unwrap();
    changed.password_hash = Some(PasswordHash::new("$argon2id$new"));
    changed.verified = false;
    changed.locked = true;
    changed.profile.avatar = Some("users/ann/avatar.png".into());
    changed.preferences.insert("language".into(), "fr".into());
    changed.auth_providers.clear();
    changed.active_content_session_id = None;
    changed.updated_at = t + Duration::seconds(5);
    changed.failed_logins = 99;
    changed.locked_until = Some(t + Duration::days(1));
    changed.last_accessed_at = Some(t + Duration::days(1));
    s.users.update(&changed).await.unwrap();
    let stored = s.users.get(u.id).await.unwrap().unwrap();
    assert_eq!(
        stored.failed_logins, 1,
        "update must not write failed_logins"
    );
    assert_eq!(
        stored.locked_until, None,
        "update must not write locked_until"
    );
    assert_eq!(
        stored.last_accessed_at, None,
        "update must not write last_accessed_at"
    );
    let expected = User {
        failed_logins: 1,
        locked_until: None,
        last_accessed_at: None,
        ..changed
    };
    assert_eq!(stored, expected);
    assert!(
        s.users
            .find_by_email(&Email::parse("ann@example.org").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

/// `update` of an unknown id is `NotFound`.
pub async fn update_missing_is_not_found(s: Stores) {
    let u = user("ghost", t0());
    assert!(matches!(
        s.users.update(&u).await,
        Err(UpdateUserError::NotFound)
    ));
}

/// `update` to another user's email or username reports the clash.
pub async fn update_clash_is_reported(s: Stores) {
    let t = t0();
    let ann = user("ann", t);
    let bob = user("bob", t);
    s.users.create(&ann).await.unwrap();
    s.users.create(&bob).await.unwrap();
    let mut clash = bob.clone();
    clash.email = Email::parse("Ann@example.org").unwrap();
    assert!(matches!(
        s.users.update(&clash).await,
        Err(UpdateUserError::EmailTaken)
    ));
    let mut clash = bob.clone();
    clash.username = ann.username.clone();
    assert!(matches!(
        s.users.update(&clash).await,
        Err(UpdateUserError::UsernameTaken)
    ));
    assert_eq!(s.users.get(bob.id).await.unwrap().unwrap(), bob);
}

/// 20 concurrent increments of `failed_logins` yield 1..=20, each once.
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
    let first = s.users.list(PageRequest::first(2)).await.unwrap();
    let ids: Vec<UserId> = first.items.iter().map(|u| u.id).collect();
    assert_eq!(ids, vec![twin.id, created[4]]);
    let cursor = first.next_cursor.expect("more pages");
    let second = s.users.list(PageRequest::after(3, cursor)).await.unwrap();
    let ids: Vec<UserId> = second.items.iter().map(|u| u.id).collect();
    assert_eq!(ids, vec![created[3], created[2], created[1]]);
    let third = s
        .users
        .list(PageRequest::after(3, second.next_cursor.unwrap()))
        .await
        .unwrap();
    assert_eq!(
        third.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![created[0]]
    );
    assert!(third.next_cursor.is_none(), "the last page has no cursor");
}

/// `delete` removes the user, leaves others, and is `NotFound` the second time.
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
