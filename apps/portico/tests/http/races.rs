//! Security changes racing ordinary writes: an administrator's lock and a
//! confirmed password reset, each while the user's own `PATCH /v1/me` runs
//! concurrently. Before writes became field-level, the profile write read
//! the whole user first and wrote it back, undoing the lock or the new
//! password in about half of the trials.

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_every_engine;
use crate::support::{TestApp, USER_PASSWORD};

const TRIALS: usize = 10;
const WRITES: usize = 10;

/// Runs `WRITES` profile writes with `token` at once; their outcome does
/// not matter (the token may be revoked halfway).
async fn profile_writes(app: &TestApp, token: &str, trial: usize) {
    let writes = (0..WRITES).map(|n| {
        app.client
            .patch(app.url("/v1/me"))
            .bearer_auth(token)
            .json(&json!({"bio": format!("trial {trial} write {n}")}))
            .send()
    });
    let _ = futures::future::join_all(writes).await;
}

async fn lock_and_password_survive_concurrent_profile_writes(app: TestApp) -> TestApp {
    let (mut token, ann_id) = app.signed_in_user("ann").await;
    let admin = app.admin_token().await;
    let user_path = format!("/v1/users/{ann_id}");

    let mut unlocked_again = 0;
    for trial in 0..TRIALS {
        let lock = app.authed(
            Method::PATCH,
            &user_path,
            &admin,
            Some(json!({"locked": true})),
        );
        let (res, ()) = tokio::join!(lock, profile_writes(&app, &token, trial));
        assert_eq!(res.status(), 200);
        let user: Value = app
            .authed(Method::GET, &user_path, &admin, None)
            .await
            .json()
            .await
            .unwrap();
        if user["locked"] != true {
            unlocked_again += 1;
        }
        let res = app
            .authed(
                Method::PATCH,
                &user_path,
                &admin,
                Some(json!({"locked": false})),
            )
            .await;
        assert_eq!(res.status(), 200);
        token = app.sign_in("ann", USER_PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
    }

    let mut password = USER_PASSWORD.to_owned();
    let mut reverted = 0;
    for trial in 0..TRIALS {
        let res = app
            .post("/v1/password-resets", json!({"email": "ann@example.org"}))
            .await;
        assert_eq!(res.status(), 202);
        let reset = app.last_token("ann@example.org").await;
        let new_password = format!("new password number {trial}");
        let confirm = app.post(
            "/v1/password-resets/confirm",
            json!({"token": reset, "new_password": new_password}),
        );
        let (res, ()) = tokio::join!(confirm, profile_writes(&app, &token, trial));
        assert_eq!(res.status(), 204, "trial {trial}");
        let with_new = app
            .post(
                "/v1/sessions",
                json!({"login": "ann", "password": new_password}),
            )
            .await;
        if with_new.status() == 201 {
            let tokens: Value = with_new.json().await.unwrap();
            token = tokens["access_token"].as_str().unwrap().to_owned();
            password = new_password;
        } else {
            reverted += 1;
            token = app.sign_in("ann", &password).await["access_token"]
                .as_str()
                .unwrap()
                .to_owned();
        }
    }
    eprintln!(
        "{TRIALS} trials each with {WRITES} concurrent profile writes: lock undone {unlocked_again}, \
         password reset reverted {reverted}"
    );
    assert_eq!(unlocked_again, 0, "an administrator's lock is never undone");
    assert_eq!(reverted, 0, "a confirmed password reset is never reverted");
    app
}
on_every_engine!(lock_and_password_survive_concurrent_profile_writes, |c| {
    c.rate_limits.ip_per_minute = 0;
    // Ten reset mails to one address within the hour.
    c.mail.per_address_per_hour = 100;
});
