//! API keys over the in-memory adapter: what a key may do (the subset of
//! the user's rights it names, never account management), and every way
//! it stops working.

use std::sync::Arc;

use futures::executor::block_on;
use time::Duration;

use crate::kernel::principal::testing::{principal, signed_in};
use crate::test_support::*;
use crate::*;

struct World {
    clock: Arc<MovableClock>,
    stores: Stores,
    system: System,
    auth: Authentication,
    keys: ApiKeys,
    user: User,
}

fn world() -> World {
    let (mut h, clock, user) = Harness::over_memory();
    h.system.tokens = Arc::new(CountingTokens::new());
    World {
        clock,
        auth: Authentication::new(h.stores.clone(), h.system.clone(), AccountPolicy::default()),
        keys: ApiKeys::new(h.stores.clone(), h.system.clone()),
        stores: h.stores,
        system: h.system,
        user,
    }
}

impl World {
    /// User 1 signed in, holding `permissions` through one role.
    fn caller(&self, permissions: &[&str]) -> Principal {
        let role = Role {
            name: RoleName::parse("writer").unwrap(),
            description: None,
            permissions: permissions
                .iter()
                .map(|p| Permission::parse(p).unwrap())
                .collect(),
            created_at: T0,
            updated_at: T0,
        };
        block_on(self.stores.roles.create(&role)).unwrap();
        block_on(self.stores.roles.grant(self.user.id, &role.name, T0)).unwrap();
        let mut caller = signed_in(&self.user);
        caller = Principal::new(
            self.user.clone(),
            caller.session().clone(),
            vec![role],
            Arc::default(),
        );
        caller
    }

    fn create(
        &self,
        caller: &Principal,
        permissions: Option<&[&str]>,
        expires_at: Option<time::OffsetDateTime>,
    ) -> Result<CreatedApiKey, CreateApiKeyError> {
        block_on(self.keys.create(
            caller,
            NewApiKey {
                name: ApiKeyName::parse("CI deploys").unwrap(),
                permissions:
                    permissions.map(|p| p.iter().map(|p| Permission::parse(p).unwrap()).collect()),
                expires_at,
            },
        ))
    }

    fn through(&self, secret: &ApiKeySecret) -> Result<Principal, AuthenticateError> {
        block_on(
            self.auth
                .authenticate_credential(&Credential::ApiKey(secret.clone())),
        )
    }
}

#[test]
fn a_key_acts_as_its_user_with_only_the_rights_it_names() {
    let w = world();
    let caller = w.caller(&["content:read", "content:write"]);
    let made = w.create(&caller, Some(&["content:read"]), None).unwrap();
    assert!(made.secret.expose().starts_with("pk_") && made.secret.expose().len() == 67);
    assert_eq!(made.key.prefix, &made.secret.expose()[..11]);
    assert_eq!(made.key.key_hash, made.secret.hash());
    let listed = block_on(w.keys.mine(&caller)).unwrap();
    assert_eq!(listed, std::slice::from_ref(&made.key));

    let p = w.through(&made.secret).unwrap();
    assert_eq!((p.user_id(), p.api_key()), (w.user.id, Some(made.key.id)));
    assert!(p.holds(&Permission::parse("content:read").unwrap()));
    assert!(!p.holds(&Permission::parse("content:write").unwrap()));
    // A key without a list has whatever the roles give, and no more.
    let all = w.create(&caller, None, None).unwrap();
    let p = w.through(&all.secret).unwrap();
    assert!(p.holds(&Permission::parse("content:write").unwrap()));
    assert!(!p.holds(&Permission::USERS_READ));
}

#[test]
fn a_key_cannot_name_rights_its_user_lacks_nor_make_an_administrator() {
    let w = world();
    let caller = w.caller(&["content:read"]);
    match w.create(&caller, Some(&["content:read", "users:write"]), None) {
        Err(CreateApiKeyError::NotHeld(p)) => assert_eq!(p, [Permission::USERS_WRITE]),
        other => panic!("{other:?}"),
    }
    // An administrator's key naming one right is no administrator.
    let admin = principal(1, &["*"]);
    let made = w.create(&admin, Some(&["content:read"]), None).unwrap();
    let admin_role = Role {
        name: RoleName::admin(),
        description: None,
        permissions: [Permission::ALL].into_iter().collect(),
        created_at: T0,
        updated_at: T0,
    };
    block_on(w.stores.roles.create(&admin_role)).unwrap();
    block_on(w.stores.roles.grant(w.user.id, &RoleName::admin(), T0)).unwrap();
    let p = w.through(&made.secret).unwrap();
    assert!(p.holds(&Permission::parse("content:read").unwrap()));
    assert!(!p.holds(&Permission::USERS_WRITE));
    assert!(!p.is_admin());
    // The same user's key with every right is.
    let all = w.create(&admin, Some(&["*"]), None).unwrap();
    assert!(w.through(&all.secret).unwrap().is_admin());
    assert!(!p.may_access(UserId::from_uuid(uuid::Uuid::from_u128(42))));
}

#[test]
fn a_key_is_refused_for_every_account_management_operation() {
    let w = world();
    let caller = w.caller(&["content:read"]);
    let made = w.create(&caller, None, None).unwrap();
    let key = w.through(&made.secret).unwrap();
    let policy = AccountPolicy::default();
    let pw = Password::for_sign_in("right password").unwrap();
    let mfa = MultiFactor::new(w.stores.clone(), w.system.clone(), policy.clone());
    assert!(matches!(
        block_on(mfa.enrol(&key, &pw, None)),
        Err(EnrolError::NeedsSession(_))
    ));
    let passwords = Passwords::new(w.stores.clone(), w.system.clone(), policy.clone());
    let new = Password::new("a new password!").unwrap();
    assert!(matches!(
        block_on(passwords.change_password(&key, &pw, &new, None, None)),
        Err(ChangePasswordError::NeedsSession(_))
    ));
    let profiles = Profiles::new(w.stores.clone(), w.system.clone(), policy);
    assert!(matches!(
        block_on(profiles.delete_with_password(&key, &pw, None)),
        Err(DeleteAccountError::NeedsSession(_))
    ));
    assert!(matches!(
        block_on(profiles.request_deletion(&key)),
        Err(DeleteAccountError::NeedsSession(_))
    ));
    assert!(matches!(
        block_on(w.auth.revoke_session(&key, key.session().id)),
        Err(RevokeSessionError::NeedsSession(_))
    ));
    let passkeys = Passkeys::new(
        w.stores.clone(),
        w.system.clone(),
        AccountPolicy::default(),
        Arc::new(MockPasskeyCeremony::new()),
    );
    assert!(matches!(
        block_on(passkeys.mine(&key)),
        Err(PasskeyError::NeedsSession(_))
    ));
    assert!(matches!(
        block_on(passkeys.begin_registration(&key, Some(&pw), None)),
        Err(PasskeyError::NeedsSession(_))
    ));
    assert!(matches!(
        block_on(passkeys.remove(&key, PasskeyId::from_uuid(uuid::Uuid::nil()))),
        Err(PasskeyError::NeedsSession(_))
    ));
    assert!(matches!(
        w.create(&key, None, None),
        Err(CreateApiKeyError::NeedsSession(_))
    ));
    assert!(matches!(
        block_on(w.keys.mine(&key)),
        Err(ApiKeyAccessError::NeedsSession(_))
    ));
    assert!(matches!(
        block_on(w.keys.revoke(&key, made.key.id)),
        Err(ApiKeyAccessError::NeedsSession(_))
    ));
    // Still alive: nothing above did anything.
    assert!(w.through(&made.secret).is_ok());
}

#[test]
fn revocation_a_lock_a_suspension_expiry_and_deletion_end_a_key() {
    let w = world();
    let caller = w.caller(&["content:read"]);
    let revoked = w.create(&caller, None, None).unwrap();
    block_on(w.keys.revoke(&caller, revoked.key.id)).unwrap();
    assert!(w.through(&revoked.secret).is_err());
    assert!(matches!(
        block_on(w.keys.revoke(&caller, revoked.key.id)),
        Err(ApiKeyAccessError::NotFound)
    ));

    let made = w
        .create(&caller, None, Some(T0 + Duration::hours(1)))
        .unwrap();
    let set = |changes: UserChanges| {
        block_on(w.stores.users.update_fields(w.user.id, &changes)).unwrap();
    };
    set(UserChanges {
        locked: Some(true),
        ..UserChanges::default()
    });
    assert!(w.through(&made.secret).is_err());
    set(UserChanges {
        locked: Some(false),
        suspension: Some(Some(Suspension {
            reason: SuspensionReason::parse("spam").unwrap(),
            since: T0,
            until: None,
        })),
        ..UserChanges::default()
    });
    assert!(w.through(&made.secret).is_err());
    set(UserChanges {
        suspension: Some(None),
        ..UserChanges::default()
    });
    assert!(w.through(&made.secret).is_ok());
    // The key's own expiry, also for a principal resolved before it.
    let p = w.through(&made.secret).unwrap();
    assert!(!p.is_current(T0 + Duration::hours(1)));
    w.clock.set(T0 + Duration::hours(1));
    assert!(w.through(&made.secret).is_err());
    w.clock.set(T0);
    // Expiry must be ahead, within three years.
    for at in [T0, T0 - Duration::hours(1), T0 + Duration::days(4 * 365)] {
        assert!(matches!(
            w.create(&caller, None, Some(at)),
            Err(CreateApiKeyError::Expiry)
        ));
    }
    // The account's deletion takes its keys.
    let profiles = Profiles::new(w.stores.clone(), w.system.clone(), AccountPolicy::default());
    block_on(profiles.delete_account(w.user.id)).unwrap();
    assert!(
        block_on(w.stores.api_keys.find_by_hash(&made.secret.hash()))
            .unwrap()
            .is_none()
    );
}

#[test]
fn use_is_recorded_at_most_once_a_touch_interval() {
    let w = world();
    let caller = w.caller(&["content:read"]);
    let made = w.create(&caller, None, None).unwrap();
    w.clock.set(T0 + Duration::minutes(5));
    w.through(&made.secret).unwrap();
    let stored = block_on(w.stores.api_keys.find_by_hash(&made.secret.hash()))
        .unwrap()
        .unwrap();
    assert_eq!(stored.last_used_at, Some(T0 + Duration::minutes(5)));
    // An older use never moves it back.
    block_on(w.stores.api_keys.record_use(made.key.id, T0)).unwrap();
    let stored = block_on(w.stores.api_keys.find_by_hash(&made.secret.hash()))
        .unwrap()
        .unwrap();
    assert_eq!(stored.last_used_at, Some(T0 + Duration::minutes(5)));
}

#[test]
fn administrators_list_and_revoke_with_their_permissions() {
    let w = world();
    let caller = w.caller(&["content:read"]);
    let made = w.create(&caller, None, None).unwrap();
    let nobody = principal(7, &["content:read"]);
    assert!(matches!(
        block_on(w.keys.of_user(&nobody, w.user.id)),
        Err(ApiKeyAccessError::Forbidden(_))
    ));
    let reader = principal(8, &["users:read"]);
    assert_eq!(
        block_on(w.keys.of_user(&reader, w.user.id)).unwrap().len(),
        1
    );
    assert!(matches!(
        block_on(w.keys.revoke_of_user(&reader, w.user.id, made.key.id)),
        Err(ApiKeyAccessError::Forbidden(_))
    ));
    let admin = principal(9, &["*"]);
    block_on(w.keys.revoke_of_user(&admin, w.user.id, made.key.id)).unwrap();
    assert!(w.through(&made.secret).is_err());
}

#[test]
fn keys_and_names_parse_at_the_boundary() {
    let t = Token::from_bytes([5; 32]);
    let text = format!("pk_{}", t.expose());
    assert_eq!(ApiKeySecret::parse(&text).unwrap().expose(), text);
    for bad in ["pk_", "pk_xyz", t.expose(), &format!("sk_{}", t.expose())] {
        assert_eq!(ApiKeySecret::parse(bad), Err(ApiKeyError::Malformed));
    }
    assert!(matches!(
        Credential::parse(&text),
        Some(Credential::ApiKey(_))
    ));
    assert!(Credential::parse("pk_nope").is_none());
    assert_eq!(ApiKeyName::parse("  CI  ").unwrap().as_str(), "CI");
    for bad in ["", "   ", "a\u{7}b", &"x".repeat(101)] {
        assert_eq!(ApiKeyName::parse(bad), Err(ApiKeyError::Name));
    }
    assert!(!format!("{:?}", ApiKeySecret::parse(&text).unwrap()).contains(&t.expose()[8..]));
}
