//! Account journeys over HTTP, on SQLite, PostgreSQL, MongoDB, and MongoDB
//! for durable records with sessions and counters in SQLite.

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_every_engine;
use crate::support::*;

const PW: &str = "correct horse battery";

async fn register_verify_sign_in_refresh_reuse_sign_out(app: TestApp) -> TestApp {
    // Register: 202, and a verification mail with a token link in the outbox.
    let res = app
        .post(
            "/v1/registrations",
            json!({"email": "Ann@Example.org", "username": "ann", "password": PW}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let token = app.last_token("Ann@Example.org").await;
    assert_eq!(token.len(), 64, "256-bit token, hex");

    // Verify: 201 with the user; a second use of the token fails.
    let res = app
        .post("/v1/registrations/verify", json!({"token": token}))
        .await;
    assert_eq!(res.status(), 201);
    let user: Value = res.json().await.unwrap();
    assert_eq!(user["username"], "ann");
    assert_eq!(user["verified"], true);
    let again = app
        .post("/v1/registrations/verify", json!({"token": token}))
        .await;
    expect_problem(again, 400, "invalid-token").await;

    // Registering the same email again answers the same and mails nothing.
    let before = app.mail_count("ann@example.org").await + app.mail_count("Ann@Example.org").await;
    let res = app
        .post(
            "/v1/registrations",
            json!({"email": "ann@example.org", "username": "ann2", "password": PW}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let after = app.mail_count("ann@example.org").await + app.mail_count("Ann@Example.org").await;
    assert_eq!(before, after, "no mail for an existing account");

    // Sign in by username, then by email.
    let tokens = app.sign_in("ann", PW).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh1 = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(access.len(), 64);
    app.sign_in("ANN@example.org", PW).await;

    // Me, with the usage counters counting this request.
    let me: Value = app
        .authed(Method::GET, "/v1/me", &access, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "Ann@Example.org");
    assert_eq!(me["roles"], json!(["user"]));
    assert!(me["usage"]["all_time"].as_u64().unwrap() >= 1);
    let me2: Value = app
        .authed(Method::GET, "/v1/me", &access, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        me2["usage"]["all_time"].as_u64().unwrap(),
        me["usage"]["all_time"].as_u64().unwrap() + 1
    );

    // Refresh: a new pair; the old access token of the session is replaced.
    let res = app
        .post("/v1/sessions/refresh", json!({"refresh_token": refresh1}))
        .await;
    assert_eq!(res.status(), 201);
    let rotated: Value = res.json().await.unwrap();
    let access2 = rotated["access_token"].as_str().unwrap().to_owned();
    let refresh2 = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(access2, access);
    let res = app.authed(Method::GET, "/v1/me", &access, None).await;
    expect_problem(res, 401, "unauthenticated").await;
    let res = app.authed(Method::GET, "/v1/me", &access2, None).await;
    assert_eq!(res.status(), 200);

    // Reusing the first refresh token is rejected and revokes the family.
    let res = app
        .post("/v1/sessions/refresh", json!({"refresh_token": refresh1}))
        .await;
    expect_problem(res, 401, "refresh-token-reused").await;
    let res = app.authed(Method::GET, "/v1/me", &access2, None).await;
    expect_problem(res, 401, "unauthenticated").await;
    let res = app
        .post("/v1/sessions/refresh", json!({"refresh_token": refresh2}))
        .await;
    assert_eq!(res.status(), 400, "the family's newest token is dead too");

    // A fresh session: list, then sign out.
    let tokens = app.sign_in("ann", PW).await;
    let access3 = tokens["access_token"].as_str().unwrap().to_owned();
    let list: Value = app
        .authed(Method::GET, "/v1/sessions", &access3, None)
        .await
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "the email sign-in and this one: {list}");
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    let res = app
        .authed(Method::DELETE, "/v1/sessions/current", &access3, None)
        .await;
    assert_eq!(res.status(), 204);
    let res = app.authed(Method::GET, "/v1/me", &access3, None).await;
    expect_problem(res, 401, "unauthenticated").await;
    app
}
on_every_engine!(register_verify_sign_in_refresh_reuse_sign_out);

async fn repeated_failures_lock_the_account(app: TestApp) -> TestApp {
    app.register_user("bob", PW).await;
    for _ in 0..4 {
        let res = app
            .post(
                "/v1/sessions",
                json!({"login": "bob", "password": "wrong password"}),
            )
            .await;
        expect_problem(res, 401, "invalid-credentials").await;
    }
    let res = app
        .post(
            "/v1/sessions",
            json!({"login": "bob", "password": "wrong password"}),
        )
        .await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 24 * 3600, "Retry-After {retry}");
    expect_problem(res, 423, "locked-out").await;
    // Even the right password is refused while locked.
    let res = app
        .post("/v1/sessions", json!({"login": "bob", "password": PW}))
        .await;
    expect_problem(res, 423, "locked-out").await;
    // An unknown login looks like a wrong password.
    let res = app
        .post(
            "/v1/sessions",
            json!({"login": "nobody", "password": "wrong password"}),
        )
        .await;
    expect_problem(res, 401, "invalid-credentials").await;

    // An administrator's unlock clears the lockout.
    let admin = app.sign_in(ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let admin_token = admin["access_token"].as_str().unwrap();
    let bob = find_user(&app, admin_token, "bob").await;
    let path = format!("/v1/users/{}", bob["id"].as_str().unwrap());
    let res = app
        .authed(
            Method::PATCH,
            &path,
            admin_token,
            Some(json!({"locked": false})),
        )
        .await;
    assert_eq!(res.status(), 200);
    app.sign_in("bob", PW).await;
    // And an administrator's lock refuses a correct password.
    let res = app
        .authed(
            Method::PATCH,
            &path,
            admin_token,
            Some(json!({"locked": true})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .post("/v1/sessions", json!({"login": "bob", "password": PW}))
        .await;
    expect_problem(res, 403, "account-locked").await;
    app
}
// Attempts are counted in fixed windows aligned to the clock: five
// attempts straddling a window's end are counted in two windows, which
// with the default 15 minutes made this test fail about once in 300 runs
// (seen under CI load on MongoDB). A day's window makes that unlikely.
on_every_engine!(repeated_failures_lock_the_account, |c| c
    .security
    .lockout_minutes =
    24 * 60);

async fn find_user(app: &TestApp, admin_token: &str, username: &str) -> Value {
    let page: Value = app
        .authed(Method::GET, "/v1/users?limit=200", admin_token, None)
        .await
        .json()
        .await
        .unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .cloned()
        .unwrap_or_else(|| panic!("{username} in {page}"))
}

async fn password_reset_revokes_every_session(app: TestApp) -> TestApp {
    app.register_user("cleo", PW).await;
    let first = app.sign_in("cleo", PW).await;
    let second = app.sign_in("cleo", PW).await;

    // Unknown addresses get the same answer, and no mail.
    let res = app
        .post(
            "/v1/password-resets",
            json!({"email": "nobody@example.org"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    assert_eq!(app.mail_count("nobody@example.org").await, 0);

    let res = app
        .post("/v1/password-resets", json!({"email": "cleo@example.org"}))
        .await;
    assert_eq!(res.status(), 202);
    let token = app.last_token("cleo@example.org").await;
    let res = app
        .post(
            "/v1/password-resets/confirm",
            json!({"token": token, "new_password": "short"}),
        )
        .await;
    let body = expect_problem(res, 422, "validation").await;
    assert!(body["errors"]["new_password"].is_array(), "{body}");
    let res = app
        .post(
            "/v1/password-resets/confirm",
            json!({"token": token, "new_password": "a brand new password"}),
        )
        .await;
    assert_eq!(res.status(), 204);

    for tokens in [&first, &second] {
        let t = tokens["access_token"].as_str().unwrap();
        let res = app.authed(Method::GET, "/v1/me", t, None).await;
        expect_problem(res, 401, "unauthenticated").await;
    }
    let res = app
        .post("/v1/sessions", json!({"login": "cleo", "password": PW}))
        .await;
    expect_problem(res, 401, "invalid-credentials").await;
    app.sign_in("cleo", "a brand new password").await;

    // Changing the password in /v1/me needs the current one and keeps this session.
    let tokens = app.sign_in("cleo", "a brand new password").await;
    let t = tokens["access_token"].as_str().unwrap();
    let res = app
        .authed(
            Method::PATCH,
            "/v1/me",
            t,
            Some(json!({"password": {"current_password": "wrong password", "new_password": "third password!"}})),
        )
        .await;
    expect_problem(res, 403, "wrong-password").await;
    let res = app
        .authed(
            Method::PATCH,
            "/v1/me",
            t,
            Some(json!({"password": {"current_password": "a brand new password", "new_password": "third password!"}})),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.authed(Method::GET, "/v1/me", t, None).await.status(),
        200
    );
    app.sign_in("cleo", "third password!").await;
    app
}
on_every_engine!(password_reset_revokes_every_session);

async fn a_granted_role_flips_a_permission_check(app: TestApp) -> TestApp {
    let dana = app.register_user("dana", PW).await;
    let dana_id = dana["id"].as_str().unwrap().to_owned();
    let dana_token = app.sign_in("dana", PW).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = app.sign_in(ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let admin_token = admin["access_token"].as_str().unwrap();

    let res = app
        .authed(Method::GET, "/v1/users", &dana_token, None)
        .await;
    expect_problem(res, 403, "forbidden").await;

    let res = app
        .authed(
            Method::POST,
            "/v1/roles",
            admin_token,
            Some(json!({"name": "support", "description": "Reads accounts", "permissions": ["users:read"]})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let res = app
        .authed(
            Method::POST,
            "/v1/roles",
            admin_token,
            Some(json!({"name": "support", "permissions": []})),
        )
        .await;
    expect_problem(res, 409, "already-exists").await;
    let res = app
        .authed(
            Method::PUT,
            &format!("/v1/users/{dana_id}/roles/support"),
            admin_token,
            None,
        )
        .await;
    assert_eq!(res.status(), 204);

    // The check flips: Dana may now read users, but still not write roles.
    let res = app
        .authed(Method::GET, "/v1/users", &dana_token, None)
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .authed(Method::GET, "/v1/roles", &dana_token, None)
        .await;
    expect_problem(res, 403, "forbidden").await;
    let me: Value = app
        .authed(Method::GET, "/v1/me", &dana_token, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["roles"], json!(["support", "user"]));

    // Built-in roles keep their permissions; revoking flips the check back.
    let res = app
        .authed(
            Method::PATCH,
            "/v1/roles/admin",
            admin_token,
            Some(json!({"permissions": []})),
        )
        .await;
    expect_problem(res, 409, "built-in-role").await;
    let res = app
        .authed(
            Method::DELETE,
            &format!("/v1/users/{dana_id}/roles/support"),
            admin_token,
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    let res = app
        .authed(Method::GET, "/v1/users", &dana_token, None)
        .await;
    expect_problem(res, 403, "forbidden").await;

    // Deleting the role; listing shows the built-ins only.
    let res = app
        .authed(Method::DELETE, "/v1/roles/support", admin_token, None)
        .await;
    assert_eq!(res.status(), 204);
    let roles: Value = app
        .authed(Method::GET, "/v1/roles", admin_token, None)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<_> = roles["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["admin", "user"]);
    app
}
on_every_engine!(a_granted_role_flips_a_permission_check);

async fn export_holds_what_was_stored_and_deletion_removes_it(app: TestApp) -> TestApp {
    let user = app.register_user("erin", PW).await;
    let id = user["id"].as_str().unwrap().to_owned();
    let t = app.sign_in("erin", PW).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .authed(
            Method::PATCH,
            "/v1/me",
            &t,
            Some(json!({"full_name": "Erin Example", "bio": "Writes tests", "preferences": {"theme": "dark"}})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["profile"]["full_name"], "Erin Example");
    assert_eq!(me["preferences"]["theme"], "dark");
    // null clears, absent keeps.
    let me: Value = app
        .authed(Method::PATCH, "/v1/me", &t, Some(json!({"bio": null})))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["profile"]["bio"], Value::Null);
    assert_eq!(me["profile"]["full_name"], "Erin Example");

    let res = app.authed(Method::GET, "/v1/me/export", &t, None).await;
    assert_eq!(res.status(), 200);
    let export: Value = res.json().await.unwrap();
    let text = export.to_string();
    assert!(text.contains("Erin Example"), "{text}");
    assert!(text.contains("\"theme\":\"dark\""), "{text}");
    assert!(text.contains("erin@example.org"));
    assert!(!export["sessions"].as_array().unwrap().is_empty());
    assert!(!text.contains("argon2"), "no password hash in the export");

    // Deletion by mailed token: 202, then the token confirms.
    let res = app.authed(Method::DELETE, "/v1/me", &t, None).await;
    assert_eq!(res.status(), 202);
    let token = app.last_token("erin@example.org").await;
    let res = app
        .authed(
            Method::DELETE,
            "/v1/me",
            &t,
            Some(json!({"password": "wrong password"})),
        )
        .await;
    expect_problem(res, 403, "wrong-password").await;
    let res = app
        .authed(Method::DELETE, "/v1/me", &t, Some(json!({"token": token})))
        .await;
    assert_eq!(res.status(), 204);

    // Gone: the token, the sign-in, and the administrator's view.
    let res = app.authed(Method::GET, "/v1/me", &t, None).await;
    expect_problem(res, 401, "unauthenticated").await;
    let res = app
        .post("/v1/sessions", json!({"login": "erin", "password": PW}))
        .await;
    expect_problem(res, 401, "invalid-credentials").await;
    let admin = app.sign_in(ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let res = app
        .authed(
            Method::GET,
            &format!("/v1/users/{id}"),
            admin["access_token"].as_str().unwrap(),
            None,
        )
        .await;
    expect_problem(res, 404, "not-found").await;
    // The username is free again.
    let avail: Value = app
        .client
        .get(app.url("/v1/usernames/erin"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(avail["available"], true);
    app
}
on_every_engine!(export_holds_what_was_stored_and_deletion_removes_it);

async fn password_deletion_is_immediate(app: TestApp) -> TestApp {
    app.register_user("fay", PW).await;
    let t = app.sign_in("fay", PW).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .authed(Method::DELETE, "/v1/me", &t, Some(json!({"password": PW})))
        .await;
    assert_eq!(res.status(), 204);
    let res = app
        .post("/v1/sessions", json!({"login": "fay", "password": PW}))
        .await;
    expect_problem(res, 401, "invalid-credentials").await;
    app
}
on_every_engine!(password_deletion_is_immediate);

/// Before verifying, the address with its own password answers
/// `email-not-verified` with how to get a new mail; registering again is
/// that way (the new link replaces the old), and then sign-in works.
async fn unverified_address_is_told_and_a_new_mail_replaces_the_old(app: TestApp) -> TestApp {
    let body = json!({"email": "gil@example.org", "username": "gil", "password": PW});
    assert_eq!(
        app.post("/v1/registrations", body.clone()).await.status(),
        202
    );
    let first = app.last_token("gil@example.org").await;
    let res = app
        .post(
            "/v1/sessions",
            json!({"login": "gil@example.org", "password": PW}),
        )
        .await;
    let problem = expect_problem(res, 403, "email-not-verified").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("register again"),
        "{problem}"
    );
    // A wrong password, or the username, tells nothing.
    let res = app
        .post(
            "/v1/sessions",
            json!({"login": "gil@example.org", "password": "not the password"}),
        )
        .await;
    expect_problem(res, 401, "invalid-credentials").await;
    let res = app
        .post("/v1/sessions", json!({"login": "gil", "password": PW}))
        .await;
    expect_problem(res, 401, "invalid-credentials").await;
    // Resend: register again; the old link stops working, the new one works.
    assert_eq!(app.post("/v1/registrations", body).await.status(), 202);
    app.mail_settled().await;
    let second = app.last_token("gil@example.org").await;
    assert_ne!(first, second);
    let res = app
        .post("/v1/registrations/verify", json!({"token": first}))
        .await;
    expect_problem(res, 400, "invalid-token").await;
    let res = app
        .post("/v1/registrations/verify", json!({"token": second}))
        .await;
    assert_eq!(res.status(), 201);
    app.sign_in("gil@example.org", PW).await;
    app
}
on_every_engine!(unverified_address_is_told_and_a_new_mail_replaces_the_old);
