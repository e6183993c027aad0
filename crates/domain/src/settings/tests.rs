//! Runtime settings over the in-memory adapter: the catalog's checks,
//! rights, compare-and-set, merging concurrent writers, the event, and the
//! rules that read the values in force.

use std::sync::{Arc, Mutex};

use futures::executor::block_on;
use serde_json::{Map, Value, json};

use crate::kernel::principal::testing::principal;
use crate::test_support::*;
use crate::*;

struct World {
    stores: Stores,
    system: System,
    settings: Settings,
    policy: AccountPolicy,
    user: User,
}

fn defaults() -> SettingDefaults {
    SettingDefaults {
        features: vec![FlagDefault {
            name: Feature::parse("beta").unwrap(),
            default: false,
            description: None,
        }],
        ..SettingDefaults::default()
    }
}

fn world() -> World {
    let (h, _clock, user) = Harness::over_memory();
    let live = LiveSettings::from_defaults(&defaults()).unwrap();
    World {
        settings: Settings::new(h.stores.clone(), h.system.clone(), live.clone()),
        policy: AccountPolicy {
            settings: live,
            ..AccountPolicy::default()
        },
        stores: h.stores,
        system: h.system,
        user,
    }
}

fn admin() -> Principal {
    principal(9, &["settings:write"])
}

fn patch(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn change(w: &World, if_match: Option<u64>, value: Value) -> Result<SettingsView, SettingsError> {
    block_on(w.settings.change(&admin(), if_match, &patch(value)))
}

fn item<'a>(view: &'a SettingsView, key: &str) -> &'a SettingItem {
    view.items.iter().find(|i| i.key == key).unwrap()
}

#[test]
fn the_catalog_lists_every_key_with_its_default_and_refuses_defaults_out_of_range() {
    let w = world();
    let view = block_on(w.settings.read(&admin())).unwrap();
    assert_eq!(view.version, 0);
    let keys: Vec<_> = view.items.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "features.beta",
            "mail.new_device_alerts",
            "mail.sign_in",
            "password.min_length",
            "registration.default_plan",
            "registration.open",
            "security.lockout_attempts",
            "security.lockout_minutes",
        ]
    );
    let min = item(&view, "password.min_length");
    assert_eq!(
        (min.value.clone(), min.default.clone()),
        (json!(10), json!(10))
    );
    assert_eq!(min.kind, SettingType::Integer { min: 8, max: 128 });
    assert_eq!(min.updated_at, None);
    for bad in [
        SettingDefaults {
            password_min_length: 7,
            ..SettingDefaults::default()
        },
        SettingDefaults {
            lockout_minutes: 1441,
            ..SettingDefaults::default()
        },
        SettingDefaults {
            lockout_attempts: 0,
            ..SettingDefaults::default()
        },
    ] {
        assert!(Catalog::new(&bad).is_err(), "{bad:?}");
    }
}

#[test]
fn reading_and_changing_need_settings_write() {
    let w = world();
    let reader = principal(8, &["users:read"]);
    assert!(matches!(
        block_on(w.settings.read(&reader)),
        Err(SettingsError::Forbidden(_))
    ));
    let changed = block_on(w.settings.change(
        &reader,
        None,
        &patch(json!({"registration.open": false})),
    ));
    assert!(matches!(changed, Err(SettingsError::Forbidden(_))));
    assert!(w.policy.settings.current().registration_open);
}

#[test]
fn every_bad_key_and_value_is_named_and_nothing_is_saved() {
    let w = world();
    let err = change(
        &w,
        None,
        json!({
            "registration.open": "yes",
            "password.min_length": 7,
            "security.lockout_minutes": 1.5,
            "registration.default_plan": "gold",
            "features.unknown": true,
            "nope": 1,
            "security.lockout_attempts": 3,
        }),
    )
    .unwrap_err();
    let SettingsError::Invalid(errors) = err else {
        panic!("{err:?}")
    };
    let keys: Vec<_> = errors.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "features.unknown",
            "nope",
            "password.min_length",
            "registration.default_plan",
            "registration.open",
            "security.lockout_minutes",
        ]
    );
    assert!(errors[2].1.contains("8 to 128"), "{errors:?}");
    assert_eq!(block_on(w.stores.settings.load()).unwrap(), None);
    assert!(matches!(
        change(&w, None, json!({})),
        Err(SettingsError::Invalid(_))
    ));
}

#[test]
fn a_change_bumps_the_version_applies_at_once_and_writes_its_event() {
    let w = world();
    let view = change(
        &w,
        Some(0),
        json!({"security.lockout_attempts": 3, "features.beta": true}),
    )
    .unwrap();
    assert_eq!(view.version, 1);
    let attempts = item(&view, "security.lockout_attempts");
    assert_eq!(attempts.value, json!(3));
    assert_eq!(attempts.updated_at, Some(T0));
    assert_eq!(attempts.updated_by, Some(admin().user_id()));
    let now = w.policy.settings.current();
    assert_eq!((now.version, now.lockout_attempts), (1, 3));
    assert_eq!(w.settings.features().get("beta"), Some(&true));
    let events = block_on(w.stores.activity.list(
        &ActivityFilter {
            kind: Some(ActivityKind::SettingsChanged),
            ..ActivityFilter::default()
        },
        PageRequest::first(10),
    ))
    .unwrap()
    .items;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor, Actor::Admin(admin().user_id()));
    assert_eq!(events[0].details["version"], json!(1));
    assert_eq!(
        events[0].details["changes"]["security.lockout_attempts"],
        json!({"from": 5, "to": 3})
    );
    // The same values again change nothing: no version, no event.
    let again = change(&w, None, json!({"security.lockout_attempts": 3})).unwrap();
    assert_eq!(again.version, 1);
    // `null` puts a key back to its default.
    let reset = change(&w, Some(1), json!({"security.lockout_attempts": null})).unwrap();
    assert_eq!(reset.version, 2);
    assert_eq!(item(&reset, "security.lockout_attempts").value, json!(5));
    assert_eq!(item(&reset, "security.lockout_attempts").updated_at, None);
    assert_eq!(w.policy.settings.current().lockout_attempts, 5);
}

#[test]
fn a_stale_if_match_is_refused_and_changes_nothing() {
    let w = world();
    change(&w, None, json!({"registration.open": false})).unwrap();
    let err = change(&w, Some(0), json!({"password.min_length": 12})).unwrap_err();
    assert!(
        matches!(err, SettingsError::Stale { expected: 0 }),
        "{err:?}"
    );
    assert_eq!(w.policy.settings.current().password_min_length, 10);
}

/// A settings store where another instance saves its own change just
/// before this instance's first save.
struct Interleaved {
    inner: Arc<dyn SettingsRepository>,
    other: Mutex<Option<Map<String, Value>>>,
    other_settings: Settings,
}

#[async_trait::async_trait]
impl SettingsRepository for Interleaved {
    async fn load(&self) -> Result<Option<StoredSettings>, StoreError> {
        self.inner.load().await
    }
    async fn save(&self, expected: u64, next: &StoredSettings) -> Result<(), SaveSettingsError> {
        let other = self.other.lock().unwrap().take();
        if let Some(other) = other {
            self.other_settings
                .change(&admin(), None, &other)
                .await
                .unwrap();
        }
        self.inner.save(expected, next).await
    }
}

#[test]
fn concurrent_writers_of_different_keys_both_survive_without_if_match() {
    let w = world();
    let other_settings = Settings::new(
        w.stores.clone(),
        w.system.clone(),
        LiveSettings::from_defaults(&defaults()).unwrap(),
    );
    let mut stores = w.stores.clone();
    stores.settings = Arc::new(Interleaved {
        inner: w.stores.settings.clone(),
        other: Mutex::new(Some(patch(json!({"password.min_length": 12})))),
        other_settings: other_settings.clone(),
    });
    let live = LiveSettings::from_defaults(&defaults()).unwrap();
    let here = Settings::new(stores.clone(), w.system.clone(), live.clone());
    let view =
        block_on(here.change(&admin(), None, &patch(json!({"registration.open": false})))).unwrap();
    assert_eq!(view.version, 2);
    assert_eq!(item(&view, "password.min_length").value, json!(12));
    assert_eq!(item(&view, "registration.open").value, json!(false));
    // The other instance hears of it when it reads the record again.
    assert!(other_settings.live().current().registration_open);
    assert!(block_on(other_settings.refresh()).unwrap());
    assert!(!other_settings.live().current().registration_open);
    assert!(!block_on(other_settings.refresh()).unwrap(), "nothing new");
    // With If-Match the same interleaving is refused.
    stores.settings = Arc::new(Interleaved {
        inner: w.stores.settings.clone(),
        other: Mutex::new(Some(patch(json!({"password.min_length": 14})))),
        other_settings,
    });
    let here = Settings::new(stores, w.system.clone(), live);
    let err = block_on(here.change(
        &admin(),
        Some(2),
        &patch(json!({"registration.open": true})),
    ))
    .unwrap_err();
    assert!(
        matches!(err, SettingsError::Stale { expected: 2 }),
        "{err:?}"
    );
}

#[test]
fn registration_reads_open_the_password_minimum_and_the_starting_plan() {
    let w = world();
    let registration = Registration::new(w.stores.clone(), w.system.clone(), w.policy.clone());
    let register = |password: &str| {
        block_on(registration.register(
            Email::parse("new@example.com").unwrap(),
            Username::parse("newcomer").unwrap(),
            Password::new(password).unwrap(),
        ))
    };
    change(&w, None, json!({"registration.open": false})).unwrap();
    assert!(matches!(
        register("long enough pw"),
        Err(RegisterError::Closed)
    ));
    change(
        &w,
        None,
        json!({"registration.open": true, "password.min_length": 16}),
    )
    .unwrap();
    assert!(matches!(
        register("long enough pw"),
        Err(RegisterError::WeakPassword(PasswordError::TooShort {
            min: 16
        }))
    ));
    // A plan must exist to be named; new accounts then start on it.
    block_on(w.stores.plans.create(&Plan {
        name: PlanName::parse("starter").unwrap(),
        ..Plan::default()
    }))
    .unwrap();
    change(&w, None, json!({"registration.default_plan": "starter"})).unwrap();
    block_on(Rbac::new(w.stores.clone(), w.system.clone()).ensure_builtin_roles()).unwrap();
    register("a long enough password").unwrap();
    let user = block_on(registration.verify(&fixed_token())).unwrap();
    assert_eq!(
        user.plan.map(|p| p.name.to_string()),
        Some("starter".into())
    );
    // … and it cannot be deleted while new accounts start on it.
    let plans = Plans::new(w.stores.clone(), w.system.clone(), Arc::default())
        .with_settings(w.policy.settings.clone());
    let plan_admin = principal(9, &["plans:write"]);
    let name = PlanName::parse("starter").unwrap();
    assert!(matches!(
        block_on(plans.delete(&plan_admin, &name)),
        Err(PlanError::InUse)
    ));
}

#[test]
fn the_lockout_follows_its_settings() {
    let w = world();
    change(&w, None, json!({"security.lockout_attempts": 2})).unwrap();
    let auth = Authentication::new(w.stores.clone(), w.system.clone(), w.policy.clone());
    let sign_in = |password: &str| {
        block_on(auth.sign_in(SignInRequest {
            login: w.user.email.as_str().to_owned(),
            password: Password::for_sign_in(password).unwrap(),
            user_agent: None,
            ip: Some("192.0.2.1".into()),
        }))
    };
    assert!(matches!(
        sign_in("wrong password"),
        Err(SignInError::InvalidCredentials)
    ));
    assert!(matches!(
        sign_in("wrong password"),
        Err(SignInError::LockedOut { .. })
    ));
    assert!(matches!(
        sign_in("right password"),
        Err(SignInError::LockedOut { .. })
    ));
}
