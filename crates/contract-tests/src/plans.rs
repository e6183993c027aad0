//! `PlanRepository` contracts.

use crate::contract;
use domain::*;
use time::Duration;

use crate::fixtures::*;

fn plan(name: &str, at: time::OffsetDateTime) -> Plan {
    Plan {
        name: PlanName::parse(name).unwrap(),
        display_name: PlanDisplayName::parse(&format!("Plan «{name}»")).unwrap(),
        daily_limit: Some(1_000),
        monthly_limit: None,
        features: parse_features(["export", "ai.long-context"]).unwrap(),
        created_at: at,
        updated_at: at,
    }
}

/// A plan reads back exactly as created (limits of 0, the largest and
/// none; features in order), and `list` holds every plan ordered by name.
#[contract]
pub async fn plans_read_back_and_list_by_name(s: Stores) {
    let t = t0();
    let mut big = plan("team", t);
    big.daily_limit = Some(Plan::MAX_LIMIT);
    big.monthly_limit = Some(0);
    big.features = Vec::new();
    let pro = plan("pro", t + Duration::seconds(1));
    s.plans.create(&big).await.unwrap();
    s.plans.create(&pro).await.unwrap();
    assert_eq!(s.plans.get(&big.name).await.unwrap(), Some(big.clone()));
    assert_eq!(s.plans.get(&pro.name).await.unwrap(), Some(pro.clone()));
    assert_eq!(
        s.plans
            .get(&PlanName::parse("gold").unwrap())
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.plans.list().await.unwrap(), vec![pro, big]);
}

/// Of 8 concurrent creations of one name exactly one succeeds; the others
/// are `Duplicate`.
#[contract]
pub async fn concurrent_creations_of_one_name_one_wins(s: Stores) {
    let results = concurrently(8, |i| {
        let s = s.clone();
        async move {
            let mut p = plan("pro", t0());
            p.daily_limit = Some(i as u64);
            s.plans.create(&p).await
        }
    })
    .await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1);
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, InsertPlanError::Duplicate))
    );
    assert_eq!(s.plans.list().await.unwrap().len(), 1);
}

/// `update` writes exactly the fields named (a limit set to none included);
/// concurrent writers of different fields all survive; an unknown name is
/// `NotFound`.
#[contract]
pub async fn update_writes_only_named_fields(s: Stores) {
    let t = t0();
    let p = plan("pro", t);
    s.plans.create(&p).await.unwrap();
    let later = t + Duration::hours(1);
    let changes = PlanChanges {
        daily_limit: Some(None),
        updated_at: Some(later),
        ..PlanChanges::default()
    };
    s.plans.update(&p.name, &changes).await.unwrap();
    let stored = s.plans.get(&p.name).await.unwrap().unwrap();
    assert_eq!(stored.daily_limit, None);
    assert_eq!(stored.updated_at, later);
    assert_eq!(stored.display_name, p.display_name, "nothing else moved");
    assert_eq!(stored.features, p.features);

    let results = concurrently(4, |i| {
        let s = s.clone();
        let name = p.name.clone();
        async move {
            let mut c = PlanChanges::default();
            match i {
                0 => c.display_name = Some(PlanDisplayName::parse("Professional").unwrap()),
                1 => c.daily_limit = Some(Some(5)),
                2 => c.monthly_limit = Some(Some(100)),
                _ => c.features = Some(parse_features(["sso"]).unwrap()),
            }
            s.plans.update(&name, &c).await
        }
    })
    .await;
    assert!(results.iter().all(Result::is_ok));
    let stored = s.plans.get(&p.name).await.unwrap().unwrap();
    assert_eq!(stored.display_name.as_str(), "Professional");
    assert_eq!(
        (stored.daily_limit, stored.monthly_limit),
        (Some(5), Some(100))
    );
    assert_eq!(stored.features, parse_features(["sso"]).unwrap());

    let missing = PlanName::parse("gold").unwrap();
    assert!(matches!(
        s.plans.update(&missing, &changes).await,
        Err(WriteError::NotFound)
    ));
}

/// `delete` removes the plan, leaves others, and is `NotFound` the second time.
#[contract]
pub async fn delete_removes_only_that_plan(s: Stores) {
    let t = t0();
    let (pro, team) = (plan("pro", t), plan("team", t));
    s.plans.create(&pro).await.unwrap();
    s.plans.create(&team).await.unwrap();
    s.plans.delete(&pro.name).await.unwrap();
    assert_eq!(s.plans.get(&pro.name).await.unwrap(), None);
    assert_eq!(s.plans.list().await.unwrap(), vec![team]);
    assert!(matches!(
        s.plans.delete(&pro.name).await,
        Err(WriteError::NotFound)
    ));
}
