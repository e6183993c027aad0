//! Deleting a user through every port (what `Profiles::delete_account` does).

use crate::contract;
use domain::Stores;
use domain::*;
use serde_json::json;

use crate::fixtures::*;

/// After every port's `delete_for_user` and `users.delete`, nothing of the
/// user is left and the other user's records are untouched.
#[contract]
pub async fn deleting_a_users_records_leaves_others_intact(s: Stores) {
    let t = t0();
    let people = users(&s, "c", 2, t).await;
    let editor = role("editor", &["posts:write"], t);
    s.roles.create(&editor).await.unwrap();
    let mut records = Vec::new();
    for u in &people {
        let session = session(u.id, t);
        s.sessions.create(&session).await.unwrap();
        s.sessions
            .add_refresh_token(&refresh_token(&session, t))
            .await
            .unwrap();
        let reset = one_time(u.id, TokenPurpose::PasswordReset, t);
        s.one_time_tokens.insert(&reset).await.unwrap();
        let factor = mfa_factor(u.id, t);
        s.mfa.begin(&factor).await.unwrap();
        let link = identity_link(u.id, "corp", &format!("sub-{}", u.id), t);
        s.identity_links.link(&link).await.unwrap();
        let flow = oauth_flow("corp", Some(u.id), t);
        s.oauth_flows.insert(&flow).await.unwrap();
        s.roles.grant(u.id, &editor.name, t).await.unwrap();
        let cs = content_session(u.id, t);
        s.content.create(&cs).await.unwrap();
        s.content
            .put_data(cs.id, &StorageKey::parse("k").unwrap(), &json!({"a": 1}))
            .await
            .unwrap();
        s.content
            .add_message(&message(cs.id, "hi", t), true)
            .await
            .unwrap();
        let n = notification(u.id, t, None);
        s.notifications.create(&n).await.unwrap();
        let up = upload(u.id, &format!("users/{}/a.png", u.id), t);
        s.uploads.create(&up).await.unwrap();
        let usage = domain::usage_key(u.id);
        s.rate_limiter
            .hit(&usage, Window::AllTime, t)
            .await
            .unwrap();
        records.push((session, reset, cs, n, up, usage, link, flow));
    }
    let gone = people[0].id;
    s.uploads.delete_for_user(gone).await.unwrap();
    s.content.delete_for_user(gone).await.unwrap();
    s.notifications.delete_for_user(gone).await.unwrap();
    s.one_time_tokens.delete_for_user(gone, None).await.unwrap();
    assert_eq!(s.mfa.delete_for_user(gone).await.unwrap(), 1);
    assert_eq!(s.identity_links.delete_for_user(gone).await.unwrap(), 1);
    assert_eq!(s.oauth_flows.delete_for_user(gone).await.unwrap(), 1);
    s.sessions.delete_for_user(gone).await.unwrap();
    s.roles.delete_for_user(gone).await.unwrap();
    s.rate_limiter.forget(&records[0].5).await.unwrap();
    s.users.delete(gone).await.unwrap();

    for (i, (session, reset, cs, n, up, usage, link, flow)) in records.iter().enumerate() {
        let u = people[i].id;
        let present = i == 1;
        assert_eq!(s.users.get(u).await.unwrap().is_some(), present, "user {i}");
        assert_eq!(
            s.sessions.get(session.id).await.unwrap().is_some(),
            present,
            "session {i}"
        );
        let tok = s
            .one_time_tokens
            .consume(&reset.token_hash, TokenPurpose::PasswordReset, t)
            .await
            .unwrap();
        assert_eq!(tok.is_some(), present, "token {i}");
        assert_eq!(s.mfa.get(u).await.unwrap().is_some(), present, "factor {i}");
        assert_eq!(
            s.identity_links
                .find(&link.provider, &link.subject)
                .await
                .unwrap()
                .is_some(),
            present,
            "link {i}"
        );
        assert_eq!(
            s.oauth_flows
                .take(&flow.state_hash, t)
                .await
                .unwrap()
                .is_some(),
            present,
            "flow {i}"
        );
        assert_eq!(
            s.roles.roles_of(u).await.unwrap().len(),
            usize::from(present),
            "grants {i}"
        );
        assert_eq!(
            s.content.get(cs.id).await.unwrap().is_some(),
            present,
            "content {i}"
        );
        assert_eq!(
            s.content.list_data(cs.id).await.unwrap().len(),
            usize::from(present),
            "data {i}"
        );
        assert_eq!(
            s.notifications.get(u, n.id, t).await.unwrap().is_some(),
            present,
            "notification {i}"
        );
        assert_eq!(
            s.uploads.get(up.id).await.unwrap().is_some(),
            present,
            "upload {i}"
        );
        assert_eq!(
            s.rate_limiter
                .peek(usage, Window::AllTime, t)
                .await
                .unwrap(),
            u64::from(present),
            "usage {i}"
        );
    }
    assert!(
        s.roles.get(&editor.name).await.unwrap().is_some(),
        "roles themselves stay"
    );
}
