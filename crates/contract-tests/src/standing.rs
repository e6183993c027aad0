//! `UserRepository` contracts for an account's standing (suspension).

use crate::contract;
use domain::*;
use time::{Duration, OffsetDateTime};

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

/// A plan assignment reads back exactly as written: on a created user, set
/// with an end, replaced by one without, removed; other fields untouched.
#[contract]
pub async fn plan_assignment_is_written_replaced_and_removed(s: Stores) {
    let t = t0();
    let mut u = user("planned", t);
    let first = PlanAssignment {
        name: PlanName::parse("pro").unwrap(),
        since: t,
        until: Some(t + Duration::days(30)),
    };
    u.plan = Some(first.clone());
    s.users.create(&u).await.unwrap();
    assert_eq!(s.users.get(u.id).await.unwrap().unwrap().plan, Some(first));

    let open = PlanAssignment {
        name: PlanName::parse("team").unwrap(),
        since: t + Duration::hours(1),
        until: None,
    };
    let set = UserChanges {
        plan: Some(Some(open.clone())),
        ..UserChanges::default()
    };
    s.users.update_fields(u.id, &set).await.unwrap();
    let stored = s.users.get(u.id).await.unwrap().unwrap();
    assert_eq!(stored.plan, Some(open));
    assert_eq!(stored.profile, u.profile, "nothing else moved");
    assert_eq!(stored.suspension, None);

    let remove = UserChanges {
        plan: Some(None),
        ..UserChanges::default()
    };
    s.users.update_fields(u.id, &remove).await.unwrap();
    let stored = s.users.find_by_email(&u.email).await.unwrap().unwrap();
    assert_eq!(stored.plan, None);
}

/// Users in every standing and on every plan, for the filter rules.
async fn standing_population(s: &Stores) -> Vec<User> {
    let t = t0();
    let now = t + Duration::days(1);
    let pro = |until: Option<OffsetDateTime>| PlanAssignment {
        name: PlanName::parse("pro").unwrap(),
        since: t,
        until,
    };
    let suspended = |until: Option<OffsetDateTime>| Suspension {
        reason: SuspensionReason::parse("r").unwrap(),
        since: t,
        until,
    };
    let mut out = Vec::new();
    for i in 0..14 {
        let mut u = user(&format!("pop{i:02}"), t + Duration::seconds(i));
        match i {
            0 => u.email = Email::parse("Zed.Walker@Example.org").unwrap(),
            1 => u.username = Username::parse("zed_w").unwrap(),
            2 => u.locked = true,
            3 => u.locked_until = Some(now + Duration::minutes(5)),
            4 => u.locked_until = Some(now - Duration::minutes(5)),
            5 => u.verified = false,
            6 => u.suspension = Some(suspended(None)),
            7 => u.suspension = Some(suspended(Some(now + Duration::hours(1)))),
            8 => u.suspension = Some(suspended(Some(now - Duration::hours(1)))),
            9 => u.plan = Some(pro(None)),
            10 => u.plan = Some(pro(Some(now + Duration::hours(1)))),
            11 => u.plan = Some(pro(Some(now - Duration::hours(1)))),
            12 => {
                u.plan = Some(pro(None));
                u.locked = true;
                u.suspension = Some(suspended(None));
            }
            _ => {
                u.plan = Some(PlanAssignment {
                    name: PlanName::free(),
                    since: t,
                    until: None,
                });
                u.email = Email::parse("a_b%c@example.org").unwrap();
            }
        }
        s.users.create(&u).await.unwrap();
        out.push(u);
    }
    out
}

/// Every filter of `list` returns exactly the users [`UserFilter::matches`]
/// passes, newest first, through pages of two: prefixes of the email or
/// the username (case-insensitive, `%` and `_` taken literally), each
/// standing, plans with ended assignments on the default plan, and
/// conditions combined.
#[contract]
pub async fn list_filters_by_prefix_standing_and_plan(s: Stores) {
    let all = standing_population(&s).await;
    let now = t0() + Duration::days(1);
    let status = |s: &str| UserStatus::parse(s);
    let plan = |p: &str| PlanName::parse(p).ok();
    let filters = [
        (Some("zed"), None, None),
        (Some("user_pop0"), None, None),
        (Some("a_b%"), None, None),
        (Some("a%"), None, None),
        (Some("nobody"), None, None),
        (None, status("active"), None),
        (None, status("locked"), None),
        (None, status("suspended"), None),
        (None, status("unverified"), None),
        (None, None, plan("pro")),
        (None, None, plan("free")),
        (None, None, plan("gold")),
        (None, status("suspended"), plan("pro")),
        (Some("user_pop1"), status("active"), plan("free")),
    ];
    for (prefix, status, plan) in filters {
        let filter = UserFilter {
            prefix: prefix.map(str::to_owned),
            status,
            plan,
            at: now,
        };
        let mut expected: Vec<&User> = all.iter().filter(|u| filter.matches(u)).collect();
        expected.sort_by_key(|u| std::cmp::Reverse((u.created_at, u.id)));
        let expected: Vec<UserId> = expected.iter().map(|u| u.id).collect();
        let mut got = Vec::new();
        let mut page = PageRequest::first(2);
        loop {
            let listed = s.users.list(&filter, page).await.unwrap();
            assert!(listed.items.len() <= 2);
            got.extend(listed.items.iter().map(|u| u.id));
            match listed.next_cursor {
                Some(cursor) => page = PageRequest::after(2, cursor),
                None => break,
            }
        }
        assert_eq!(got, expected, "filter {filter:?}");
    }
}

/// `mark_active` sets `last_active_at` on the users named (unknown ids
/// ignored), never moves it backwards — of concurrent calls with different
/// times the latest stays — and touches nothing else.
#[contract]
pub async fn mark_active_only_moves_forward(s: Stores) {
    let t = t0();
    let (ann, bob) = (user("active_a", t), user("active_b", t));
    s.users.create(&ann).await.unwrap();
    s.users.create(&bob).await.unwrap();
    let nobody = UserId::from_uuid(id());
    let minute = t + Duration::minutes(1);
    s.users
        .mark_active(&[ann.id, nobody], minute)
        .await
        .unwrap();
    let stored = s.users.get(ann.id).await.unwrap().unwrap();
    assert_eq!(stored.last_active_at, Some(minute));
    assert_eq!(stored.updated_at, ann.updated_at, "nothing else moved");
    assert_eq!(stored.last_accessed_at, None);
    assert_eq!(
        s.users.get(bob.id).await.unwrap().unwrap().last_active_at,
        None
    );
    assert!(
        s.users.get(nobody).await.unwrap().is_none(),
        "no user appears"
    );

    s.users.mark_active(&[ann.id], t).await.unwrap();
    assert_eq!(
        s.users.get(ann.id).await.unwrap().unwrap().last_active_at,
        Some(minute),
        "never backwards"
    );
    concurrently(10, |i| {
        let s = s.clone();
        let ids = [ann.id, bob.id];
        async move {
            let at = t + Duration::minutes(2 + i as i64);
            s.users.mark_active(&ids, at).await.unwrap();
        }
    })
    .await;
    for id in [ann.id, bob.id] {
        assert_eq!(
            s.users.get(id).await.unwrap().unwrap().last_active_at,
            Some(t + Duration::minutes(11)),
            "the latest of the concurrent times"
        );
    }
}
