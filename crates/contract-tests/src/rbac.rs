//! `RoleRepository` contracts.

use domain::services::Stores;
use domain::*;
use time::Duration;

use crate::fixtures::*;

/// Roles read back equal, list sorted by name; a duplicate name is `Conflict`.
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
        Err(CreateError::Conflict)
    ));
}

/// `update` replaces description and permissions; an unknown role is `NotFound`.
pub async fn role_update_and_missing(s: Stores) {
    let t = t0();
    let mut editor = role("editor", &["posts:write"], t);
    s.roles.create(&editor).await.unwrap();
    editor.description = None;
    editor.permissions = [Permission::parse("posts:*").unwrap()]
        .into_iter()
        .collect();
    editor.updated_at = t + Duration::seconds(1);
    s.roles.update(&editor).await.unwrap();
    assert_eq!(s.roles.get(&editor.name).await.unwrap(), Some(editor));
    assert!(matches!(
        s.roles.update(&role("ghost", &[], t)).await,
        Err(WriteError::NotFound)
    ));
}

/// `delete` removes the role and every grant of it; a second delete is `NotFound`.
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
    assert!(matches!(missing, Err(GrantError::RoleNotFound)));
    assert!(
        s.roles
            .roles_of(UserId::from_uuid(id()))
            .await
            .unwrap()
            .is_empty()
    );
}

/// `revoke` removes a grant; revoking what is not granted is `NotFound`.
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

/// `delete_for_user` removes that user's grants only.
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
