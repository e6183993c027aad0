//! `RoleRepository` contracts.

use crate::contract;
use domain::Stores;
use domain::*;
use time::Duration;

use crate::fixtures::*;

/// Roles read back equal, list sorted by name; a duplicate name is `Conflict`.
#[contract]
pub async fn role_create_get_list_and_conflict(s: Stores) {
    let t = t0();
    let editor = role("editor", &["posts:write", "posts:read"], t);
    let auditor = role("auditor", &["*"], t);
    s.roles.create(&editor).await.unwrap();
    s.roles.create(&auditor).await.unwrap();
    assert_eq!(
        s.roles.get(&editor.name).await.unwrap(),
        Some(editor.clone())
    );
    assert_eq!(
        s.roles
            .get(&RoleName::parse("nobody").unwrap())
            .await
            .unwrap(),
        None
    );
    let names: Vec<String> = s
        .roles
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name.to_string())
        .collect();
    assert_eq!(names, vec!["auditor", "editor"]);
    assert!(matches!(
        s.roles.create(&role("editor", &[], t)).await,
        Err(InsertError::Conflict)
    ));
}

/// `update` replaces description and permissions; an unknown role is `NotFound`.
#[contract]
pub async fn role_update_and_missing(s: Stores) {
    let t = t0();
    let mut editor = role("editor", &["posts:write"], t);
    s.roles.create(&editor).await.unwrap();
    editor.description = None;
    editor.permissions = [Permission::parse("posts:*").unwrap()]
        .into_iter()
        .collect();
    editor.updated_at = t + Duration::seconds(1);
    let changes = RoleChanges {
        description: Some(None),
        permissions: Some(editor.permissions.clone()),
        updated_at: editor.updated_at,
    };
    s.roles.update_fields(&editor.name, &changes).await.unwrap();
    assert_eq!(
        s.roles.get(&editor.name).await.unwrap(),
        Some(editor.clone())
    );
    // Only what is named changes.
    let describe = RoleChanges {
        description: Some(Some("Edits posts".into())),
        permissions: None,
        updated_at: t + Duration::seconds(2),
    };
    s.roles
        .update_fields(&editor.name, &describe)
        .await
        .unwrap();
    let stored = s.roles.get(&editor.name).await.unwrap().unwrap();
    assert_eq!(stored.permissions, editor.permissions);
    assert_eq!(stored.description.as_deref(), Some("Edits posts"));
    assert!(matches!(
        s.roles
            .update_fields(&RoleName::parse("ghost").unwrap(), &describe)
            .await,
        Err(WriteError::NotFound)
    ));
}

/// A description and a permission change written at once both survive.
#[contract]
pub async fn concurrent_role_edits_of_different_fields_survive(s: Stores) {
    let t = t0();
    let editor = role("editor", &["posts:write"], t);
    s.roles.create(&editor).await.unwrap();
    let wanted: std::collections::BTreeSet<Permission> = [Permission::parse("posts:*").unwrap()]
        .into_iter()
        .collect();
    let results = concurrently(16, |i| {
        let (s, name, wanted) = (s.clone(), editor.name.clone(), wanted.clone());
        async move {
            let changes = if i % 2 == 0 {
                RoleChanges {
                    description: Some(Some("described".into())),
                    permissions: None,
                    updated_at: t,
                }
            } else {
                RoleChanges {
                    description: None,
                    permissions: Some(wanted),
                    updated_at: t,
                }
            };
            s.roles.update_fields(&name, &changes).await
        }
    })
    .await;
    assert!(results.iter().all(Result::is_ok));
    let stored = s.roles.get(&editor.name).await.unwrap().unwrap();
    assert_eq!(stored.description.as_deref(), Some("described"));
    assert_eq!(stored.permissions, wanted);
}

/// `delete` removes the role and every grant of it; a second delete is `NotFound`.
#[contract]
pub async fn role_delete_removes_grants(s: Stores) {
    let t = t0();
    let u = user("ann", t);
    s.users.create(&u).await.unwrap();
    let editor = role("editor", &["posts:write"], t);
    s.roles.create(&editor).await.unwrap();
    s.roles.grant(u.id, &editor.name, t).await.unwrap();
    s.roles.delete(&editor.name).await.unwrap();
    assert!(s.roles.roles_of(u.id).await.unwrap().is_empty());
    assert!(matches!(
        s.roles.delete(&editor.name).await,
        Err(WriteError::NotFound)
    ));
    // Re-creating the role does not bring the old grant back.
    s.roles.create(&editor).await.unwrap();
    assert!(s.roles.roles_of(u.id).await.unwrap().is_empty());
}

/// Granting twice leaves one grant; granting an unknown role is `RoleNotFound`.
#[contract]
pub async fn grant_is_idempotent_and_needs_the_role(s: Stores) {
    let t = t0();
    let u = user("ann", t);
    s.users.create(&u).await.unwrap();
    let (b, a) = (role("beta", &["b:read"], t), role("alpha", &["a:read"], t));
    s.roles.create(&b).await.unwrap();
    s.roles.create(&a).await.unwrap();
    s.roles.grant(u.id, &b.name, t).await.unwrap();
    s.roles.grant(u.id, &b.name, t).await.unwrap();
    s.roles.grant(u.id, &a.name, t).await.unwrap();
    assert_eq!(s.roles.roles_of(u.id).await.unwrap(), vec![a, b]);
    let missing = s
        .roles
        .grant(u.id, &RoleName::parse("nope").unwrap(), t)
        .await;
    assert!(matches!(missing, Err(GrantWriteError::RoleNotFound)));
    assert!(
        s.roles
            .roles_of(UserId::from_uuid(id()))
            .await
            .unwrap()
            .is_empty()
    );
}

/// `revoke` removes a grant; revoking what is not granted is `NotFound`.
#[contract]
pub async fn revoke_needs_a_grant(s: Stores) {
    let t = t0();
    let u = user("ann", t);
    s.users.create(&u).await.unwrap();
    let r = role("editor", &[], t);
    s.roles.create(&r).await.unwrap();
    s.roles.grant(u.id, &r.name, t).await.unwrap();
    s.roles.revoke(u.id, &r.name).await.unwrap();
    assert!(s.roles.roles_of(u.id).await.unwrap().is_empty());
    assert!(matches!(
        s.roles.revoke(u.id, &r.name).await,
        Err(WriteError::NotFound)
    ));
}

/// `revoke_unless_last` revokes while another holder is left and keeps the
/// last grant; a user without the grant is `NotFound`.
#[contract]
pub async fn revoke_unless_last_keeps_the_last_holder(s: Stores) {
    let t = t0();
    let all = users(&s, "l", 3, t).await;
    let r = role("keeper", &[], t);
    s.roles.create(&r).await.unwrap();
    for u in &all[..2] {
        s.roles.grant(u.id, &r.name, t).await.unwrap();
    }
    assert_eq!(
        s.roles
            .revoke_unless_last(all[0].id, &r.name)
            .await
            .unwrap(),
        LastHolder::Revoked
    );
    assert_eq!(
        s.roles
            .revoke_unless_last(all[1].id, &r.name)
            .await
            .unwrap(),
        LastHolder::Kept
    );
    assert_eq!(s.roles.roles_of(all[1].id).await.unwrap().len(), 1);
    assert!(matches!(
        s.roles.revoke_unless_last(all[2].id, &r.name).await,
        Err(WriteError::NotFound)
    ));
}

/// Eight holders revoking themselves at once: the role keeps at least one
/// holder, and exactly those refused still hold it.
#[contract]
pub async fn concurrent_revocations_keep_a_holder(s: Stores) {
    let t = t0();
    let all = users(&s, "c", 8, t).await;
    let r = role("keeper", &[], t);
    s.roles.create(&r).await.unwrap();
    for u in &all {
        s.roles.grant(u.id, &r.name, t).await.unwrap();
    }
    let ids: Vec<UserId> = all.iter().map(|u| u.id).collect();
    let outcomes = concurrently(8, |i| {
        let (s, name, id) = (s.clone(), r.name.clone(), ids[i]);
        async move { s.roles.revoke_unless_last(id, &name).await.unwrap() }
    })
    .await;
    let kept = outcomes.iter().filter(|o| **o == LastHolder::Kept).count();
    assert!(kept >= 1, "{outcomes:?}");
    let mut holders = 0;
    for id in &ids {
        holders += s.roles.roles_of(*id).await.unwrap().len();
    }
    assert_eq!(holders, kept, "{outcomes:?}");
}

/// `delete_for_user` removes that user's grants only.
#[contract]
pub async fn role_delete_for_user(s: Stores) {
    let t = t0();
    let all = users(&s, "r", 2, t).await;
    let r = role("editor", &[], t);
    s.roles.create(&r).await.unwrap();
    for u in &all {
        s.roles.grant(u.id, &r.name, t).await.unwrap();
    }
    assert_eq!(s.roles.delete_for_user(all[0].id).await.unwrap(), 1);
    assert!(s.roles.roles_of(all[0].id).await.unwrap().is_empty());
    assert_eq!(s.roles.roles_of(all[1].id).await.unwrap().len(), 1);
}
