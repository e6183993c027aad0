//! Plans through the services, over the in-memory adapter: who may change
//! them, the built-in default, assignment with an end, what the principal
//! carries, and the quota verdict at a window's edges.

use std::sync::{Arc, Mutex};

use futures::executor::block_on;
use time::Duration;
use time::macros::datetime;

use crate::kernel::principal::testing::principal;
use crate::test_support::*;
use crate::*;

struct World {
    clock: Arc<MovableClock>,
    plans: Plans,
    auth: Authentication,
    admin: UserAdmin,
    user: User,
}

fn default_plan() -> Arc<Plan> {
    Arc::new(Plan::free(
        Some(100),
        Some(1_000),
        parse_features(["basic"]).unwrap(),
    ))
}

fn world() -> World {
    let (h, clock, user) = Harness::over_memory();
    let policy = AccountPolicy {
        default_plan: default_plan(),
        ..AccountPolicy::default()
    };
    World {
        clock,
        plans: Plans::new(h.stores.clone(), h.system.clone(), default_plan()),
        auth: Authentication::new(h.stores.clone(), h.system.clone(), policy),
        admin: UserAdmin::new(h.stores, h.system),
        user,
    }
}

fn pro() -> NewPlan {
    NewPlan {
        name: PlanName::parse("pro").unwrap(),
        display_name: PlanDisplayName::parse("Pro").unwrap(),
        daily_limit: Some(10_000),
        monthly_limit: None,
        features: parse_features(["export", "sso"]).unwrap(),
    }
}

fn signed_in(w: &World) -> Principal {
    let signed = block_on(w.auth.sign_in(SignInRequest {
        login: w.user.email.as_str().to_owned(),
        password: Password::for_sign_in("right password").unwrap(),
        user_agent: None,
        ip: None,
    }))
    .unwrap();
    let SignedIn::Session(s) = signed else {
        panic!("no second factor here")
    };
    block_on(w.auth.authenticate(&s.access_token)).unwrap()
}

#[test]
fn only_plans_write_changes_plans_and_the_default_is_built_in() {
    let w = world();
    let nobody = principal(2, &[]);
    let admin = principal(99, &["plans:write"]);
    assert!(matches!(
        block_on(w.plans.create(&nobody, pro())),
        Err(PlanError::Forbidden(_))
    ));
    let created = block_on(w.plans.create(&admin, pro())).unwrap();
    assert_eq!(created.created_at, T0);
    assert!(matches!(
        block_on(w.plans.create(&admin, pro())),
        Err(PlanError::Duplicate)
    ));
    let free = NewPlan {
        name: PlanName::free(),
        ..pro()
    };
    assert!(matches!(
        block_on(w.plans.create(&admin, free)),
        Err(PlanError::Duplicate)
    ));
    let too_big = NewPlan {
        name: PlanName::parse("big").unwrap(),
        daily_limit: Some(Plan::MAX_LIMIT + 1),
        ..pro()
    };
    assert!(matches!(
        block_on(w.plans.create(&admin, too_big)),
        Err(PlanError::LimitTooLarge)
    ));

    // Everyone reads them, the default first.
    let names: Vec<String> = block_on(w.plans.list(&nobody))
        .unwrap()
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    assert_eq!(names, ["free", "pro"]);

    let free = PlanName::free();
    for result in [
        block_on(w.plans.update(&admin, &free, PlanChanges::default())).map(drop),
        block_on(w.plans.delete(&admin, &free)),
    ] {
        assert!(matches!(result, Err(PlanError::BuiltIn)));
    }
    let changes = PlanChanges {
        monthly_limit: Some(Some(5)),
        ..PlanChanges::default()
    };
    assert!(matches!(
        block_on(w.plans.update(&nobody, &created.name, changes.clone())),
        Err(PlanError::Forbidden(_))
    ));
    w.clock.set(T0 + Duration::minutes(1));
    let changed = block_on(w.plans.update(&admin, &created.name, changes)).unwrap();
    assert_eq!(changed.monthly_limit, Some(5));
    assert_eq!(changed.daily_limit, Some(10_000), "untouched");
    assert_eq!(changed.updated_at, T0 + Duration::minutes(1));
    let gold = PlanName::parse("gold").unwrap();
    assert!(matches!(
        block_on(w.plans.update(&admin, &gold, PlanChanges::default())),
        Err(PlanError::NotFound)
    ));
    assert!(matches!(
        block_on(w.plans.delete(&admin, &gold)),
        Err(PlanError::NotFound)
    ));
}

#[test]
fn an_assignment_gives_its_features_until_its_end_and_a_plan_in_use_stays() {
    let w = world();
    let admin = principal(99, &["plans:write", "users:write"]);
    let before = signed_in(&w);
    assert_eq!(before.plan().name.as_str(), "free");
    assert!(before.has_feature("basic") && !before.has_feature("export"));

    let writer = w.admin.writer(&admin).unwrap();
    let pro_name = PlanName::parse("pro").unwrap();
    assert!(matches!(
        block_on(writer.assign_plan(w.user.id, pro_name.clone(), None)),
        Err(AdminUserError::UnknownPlan)
    ));
    block_on(w.plans.create(&admin, pro())).unwrap();
    assert!(matches!(
        block_on(writer.assign_plan(w.user.id, pro_name.clone(), Some(T0))),
        Err(AdminUserError::UntilNotInFuture)
    ));
    let until = T0 + Duration::days(30);
    let user = block_on(writer.assign_plan(w.user.id, pro_name.clone(), Some(until))).unwrap();
    assert_eq!(
        user.plan,
        Some(PlanAssignment {
            name: pro_name.clone(),
            since: T0,
            until: Some(until)
        })
    );
    let on_pro = signed_in(&w);
    assert_eq!(on_pro.plan().name, pro_name);
    assert!(on_pro.has_feature("export") && !on_pro.has_feature("basic"));

    // In use: it stays.
    assert!(matches!(
        block_on(w.plans.delete(&admin, &pro_name)),
        Err(PlanError::InUse)
    ));

    // At its end the user is back on the default plan, and the plan is free to go.
    w.clock.set(T0 + Duration::days(30));
    assert_eq!(signed_in(&w).plan().name.as_str(), "free");
    block_on(w.plans.delete(&admin, &pro_name)).unwrap();

    // Naming the default plan removes an assignment.
    block_on(w.plans.create(&admin, pro())).unwrap();
    block_on(writer.assign_plan(w.user.id, pro_name.clone(), None)).unwrap();
    let user = block_on(writer.assign_plan(w.user.id, PlanName::free(), None)).unwrap();
    assert_eq!(user.plan, None);
}

#[test]
fn a_deleted_plan_reads_as_the_default() {
    let w = world();
    let admin = principal(99, &["plans:write", "users:write"]);
    block_on(w.plans.create(&admin, pro())).unwrap();
    // An assignment written behind the service's back (a race with the
    // deletion's check, or a restored dump).
    let mut user = w.user.clone();
    user.plan = Some(PlanAssignment {
        name: PlanName::parse("gone").unwrap(),
        since: T0,
        until: None,
    });
    let plan = block_on(w.plans.plan_of(&user, T0)).unwrap();
    assert_eq!(plan.name.as_str(), "free");
    assert_eq!(plan.daily_limit, Some(100));
}

#[test]
fn a_quota_lets_its_limit_through_and_refuses_the_next_until_the_window_ends() {
    let plan = Plan {
        daily_limit: Some(3),
        monthly_limit: Some(5),
        ..Plan::default()
    };
    let now = datetime!(2027-01-31 18:00 UTC);
    let usage = |day, month| Usage {
        last_minute: 1,
        last_day: day,
        last_month: month,
        all_time: month,
    };
    assert_eq!(check_quota(&plan, &usage(3, 3), now), Ok(()));
    let day = check_quota(&plan, &usage(4, 4), now).unwrap_err();
    assert_eq!(day.window, QuotaWindow::Day);
    assert_eq!(day.limit, 3);
    assert_eq!(day.resets_at, datetime!(2027-02-01 0:00 UTC));
    assert_eq!(day.window_seconds, 86_400);
    // Both over: the month, whose end is later, is the one reported.
    let month = check_quota(&plan, &usage(6, 6), now).unwrap_err();
    assert_eq!(month.window, QuotaWindow::Month);
    assert_eq!(month.window_seconds, 31 * 86_400);
    assert_eq!(
        check_quota(&Plan::default(), &usage(u64::MAX, u64::MAX), now),
        Ok(())
    );
    let zero = Plan {
        daily_limit: Some(0),
        ..Plan::default()
    };
    assert!(
        check_quota(&zero, &usage(1, 1), now).is_err(),
        "a limit of 0 refuses everything"
    );
    let status = QuotaStatus::of(&plan, usage(2, 2), now);
    assert_eq!(status.day_resets_at, datetime!(2027-02-01 0:00 UTC));
    assert_eq!(status.month_resets_at, datetime!(2027-02-01 0:00 UTC));
}

#[test]
fn buffered_usage_counts_the_month() {
    let mut h = Harness::new();
    h.stores = MemoryStore::new().stores();
    let clock = Arc::new(MovableClock(Mutex::new(datetime!(2027-01-31 23:59 UTC))));
    h.system.clock = clock.clone();
    let limits = RateLimits::buffered(h.stores.clone(), h.system.clone());
    let user = UserId::from_uuid(uuid::Uuid::from_u128(7));
    for _ in 0..3 {
        block_on(limits.record_usage(user)).unwrap();
    }
    block_on(limits.flush()).unwrap();
    let usage = block_on(limits.record_usage(user)).unwrap();
    assert_eq!((usage.last_day, usage.last_month), (4, 4));
    clock.set(datetime!(2027-02-01 0:00 UTC));
    let usage = block_on(limits.record_usage(user)).unwrap();
    assert_eq!(
        (usage.last_day, usage.last_month, usage.all_time),
        (1, 1, 5),
        "February starts afresh"
    );
    block_on(limits.flush()).unwrap();
    assert_eq!(block_on(limits.usage(user)).unwrap().last_month, 1);
}
