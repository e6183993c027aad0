//! Unit tests of roles, grants and their checks.

use std::sync::Arc;

use super::*;
use crate::MockRoleRepository;
use crate::kernel::principal::testing::principal;
use crate::test_support::*;
use futures::executor::block_on;

fn role(name: &str, perms: &[&str]) -> Role {
    Role {
        name: RoleName::parse(name).unwrap(),
        description: None,
        permissions: perms
            .iter()
            .map(|p| Permission::parse(p).unwrap())
            .collect(),
        created_at: T0,
        updated_at: T0,
    }
}

#[test]
fn every_role_operation_needs_its_permission() {
    // The mocks have no expectations: a denied call touches no store.
    let h = Harness::new();
    let svc = Rbac::new(h.stores, h.system);
    let nobody = principal(1, &["posts:*"]);
    let them = sample_user(2).id;
    let name = RoleName::parse("editor").unwrap();
    let denied = |p: Permission| crate::Denied(p);
    assert!(matches!(
        block_on(svc.list_roles(&nobody)),
        Err(crate::ReadError::Forbidden(d)) if d == denied(Permission::ROLES_READ)
    ));
    let write = || Permission::ROLES_WRITE;
    assert!(matches!(
        block_on(svc.create_role(&nobody, name.clone(), None, BTreeSet::new())),
        Err(RoleError::Forbidden(d)) if d == denied(write())
    ));
    assert!(matches!(
        block_on(svc.update_role(&nobody, &name, Some(None), None)),
        Err(RoleError::Forbidden(d)) if d == denied(write())
    ));
    assert!(matches!(
        block_on(svc.delete_role(&nobody, &name)),
        Err(RoleError::Forbidden(d)) if d == denied(write())
    ));
    assert!(matches!(
        block_on(svc.grant(&nobody, them, &name)),
        Err(GrantRoleError::Forbidden(d)) if d == denied(write())
    ));
    assert!(matches!(
        block_on(svc.revoke(&nobody, them, &name)),
        Err(GrantRoleError::Forbidden(d)) if d == denied(write())
    ));
}

#[test]
fn builtin_roles_cannot_be_deleted_or_repermissioned() {
    let h = Harness::new();
    let svc = Rbac::new(h.stores, h.system);
    let admin = principal(1, &["*"]);
    assert!(matches!(
        block_on(svc.delete_role(&admin, &RoleName::admin())),
        Err(RoleError::BuiltIn)
    ));
    let res = block_on(svc.update_role(&admin, &RoleName::user(), None, Some(BTreeSet::new())));
    assert!(matches!(res, Err(RoleError::BuiltIn)));
}

/// A caller whose roles hold `held`, and a role `target` holding `perms`.
#[allow(clippy::type_complexity)]
fn caller_with(
    held: &[&str],
    target: Role,
) -> (Rbac, Arc<std::sync::Mutex<Vec<&'static str>>>, Principal) {
    caller_over(held, target, Vec::new())
}

/// As [`caller_with`], with every other user holding `others`.
fn caller_over(
    held: &[&str],
    target: Role,
    target_of_others: Vec<Role>,
) -> (Rbac, Arc<std::sync::Mutex<Vec<&'static str>>>, Principal) {
    let mut h = Harness::new();
    let mut repo = MockRoleRepository::new();
    repo.expect_get()
        .returning(move |_| Ok(Some(target.clone())));
    let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (granted, revoked, kept) = (calls.clone(), calls.clone(), calls.clone());
    repo.expect_grant().returning(move |_, _, _| {
        granted.lock().unwrap().push("grant");
        Ok(())
    });
    repo.expect_revoke().returning(move |_, _| {
        revoked.lock().unwrap().push("revoke");
        Ok(())
    });
    repo.expect_revoke_unless_last().returning(move |_, _| {
        kept.lock().unwrap().push("revoke_unless_last");
        Ok(crate::LastHolder::Kept)
    });
    repo.expect_create().returning(|_| Ok(()));
    repo.expect_update_fields().returning(|_, _| Ok(()));
    // Everyone else holds the target role alone.
    let held_by_others = target_of_others.clone();
    repo.expect_roles_of()
        .returning(move |_| Ok(held_by_others.clone()));
    let mut users = crate::MockUserRepository::new();
    users.expect_get().returning(|_| Ok(Some(sample_user(2))));
    h.stores.roles = Arc::new(repo);
    h.stores.users = Arc::new(users);
    (Rbac::new(h.stores, h.system), calls, principal(1, held))
}

#[test]
fn nobody_hands_out_a_permission_they_do_not_hold() {
    let them = sample_user(2).id;
    // roles:write alone is not admin: it cannot grant or revoke admin.
    let (svc, calls, me) = caller_with(&["roles:write"], role("admin", &["*"]));
    let me = &me;
    let my_id = me.user_id();
    assert!(matches!(
        block_on(svc.grant(me, my_id, &RoleName::admin())),
        Err(GrantRoleError::Escalation)
    ));
    assert!(matches!(
        block_on(svc.revoke(me, them, &RoleName::admin())),
        Err(GrantRoleError::Escalation)
    ));
    let everything: BTreeSet<Permission> = [Permission::parse("*").unwrap()].into();
    let name = RoleName::parse("superuser").unwrap();
    assert!(matches!(
        block_on(svc.create_role(me, name.clone(), None, everything.clone())),
        Err(RoleError::Escalation)
    ));
    assert!(matches!(
        block_on(svc.update_role(me, &name, None, Some(everything))),
        Err(RoleError::Escalation)
    ));
    assert!(calls.lock().unwrap().is_empty(), "nothing was written");
    // What one holds can be handed out.
    let (svc, calls, me) = caller_with(
        &["roles:write", "posts:*"],
        role("editor", &["posts:write"]),
    );
    let me = &me;
    block_on(svc.grant(me, them, &RoleName::parse("editor").unwrap())).unwrap();
    let own: BTreeSet<Permission> = [Permission::parse("posts:read").unwrap()].into();
    block_on(svc.create_role(me, RoleName::parse("reader").unwrap(), None, own)).unwrap();
    assert_eq!(*calls.lock().unwrap(), vec!["grant"]);
}

#[test]
fn a_role_manager_does_not_act_on_someone_above_them() {
    let them = sample_user(2).id;
    let (svc, calls, me) = caller_over(
        &["roles:write", "posts:*"],
        role("editor", &["posts:write"]),
        vec![role("admin", &["*"])],
    );
    assert!(matches!(
        block_on(svc.revoke(&me, them, &RoleName::parse("editor").unwrap())),
        Err(GrantRoleError::Escalation)
    ));
    assert!(matches!(
        block_on(svc.grant(&me, them, &RoleName::parse("editor").unwrap())),
        Err(GrantRoleError::Escalation)
    ));
    assert!(calls.lock().unwrap().is_empty(), "nothing was written");
}

#[test]
fn the_last_administrator_keeps_the_admin_role() {
    let (svc, calls, me) = caller_with(&["*"], role("admin", &["*"]));
    assert!(matches!(
        block_on(svc.revoke(&me, me.user_id(), &RoleName::admin())),
        Err(GrantRoleError::LastAdmin)
    ));
    assert_eq!(*calls.lock().unwrap(), vec!["revoke_unless_last"]);
}
