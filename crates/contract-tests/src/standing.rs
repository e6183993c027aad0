//! `UserRepository` contracts for an account's standing (suspension).

use crate::contract;
use domain::*;
use time::Duration;

use crate::fixtures::*;

/// A suspension reads back exactly as written: on a created user, set
/// with an end, replaced by one without, lifted; other fields untouched.
#[contract]
pub async fn suspension_is_written_replaced_and_lifted(s: Stores) {
    let t = t0();
    let mut u = user("sus", t);
    let first = Suspension {
        reason: SuspensionReason::parse("Spam — «report» #1").unwrap(),
        since: t,
        until: Some(t + Duration::days(7)),
    };
    u.suspension = Some(first.clone());
    s.users.create(&u).await.unwrap();
    assert_eq!(
        s.users.get(u.id).await.unwrap().unwrap().suspension,
        Some(first)
    );

    let open = Suspension {
        reason: SuspensionReason::parse("Chargeback").unwrap(),
        since: t + Duration::hours(1),
        until: None,
    };
    let set = UserChanges {
        suspension: Some(Some(open.clone())),
        ..UserChanges::default()
    };
    assert_eq!(
        s.users.update_fields(u.id, &set).await.unwrap(),
        FieldsUpdate::Written
    );
    let stored = s.users.get(u.id).await.unwrap().unwrap();
    assert_eq!(stored.suspension, Some(open));
    assert_eq!(stored.profile, u.profile, "nothing else moved");
    assert_eq!(stored.locked, u.locked);

    let lift = UserChanges {
        suspension: Some(None),
        ..UserChanges::default()
    };
    s.users.update_fields(u.id, &lift).await.unwrap();
    let stored = s.users.get(u.id).await.unwrap().unwrap();
    assert_eq!(stored.suspension, None);
    assert_eq!(
        s.users
            .find_by_email(&u.email)
            .await
            .unwrap()
            .unwrap()
            .suspension,
        None
    );
}
