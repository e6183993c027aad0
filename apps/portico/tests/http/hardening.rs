//! The third hardening review, each finding tried the way an attacker with
//! a stolen session (or a support role) would, with the release behaviour
//! it found and what it must be now.

use reqwest::Method;
use serde_json::{Value, json};

use crate::mfa::{enable_totp, totp_code};
use crate::oauth::{
    APP, callback_url, exchange, finish, links, location, provider_token, providers, query,
    sign_in_code, start_link,
};
use crate::on_every_engine;
use crate::support::*;

/// A six-digit code that is not `code`.
fn wrong_code(code: &str) -> String {
    let n: u32 = code.parse().expect("six digits");
    format!("{:06}", (n + 500_000) % 1_000_000)
}

/// Finding 1: with the right password and a wrong code, turning TOTP off
/// or renewing the backup codes answered 403 `wrong-code` thirty times in a
/// row (the right password cleared the count each time). Wrong codes now
/// accumulate whatever the password did, and the fifth locks.
async fn the_right_password_does_not_clear_the_code_lockout(app: TestApp) -> TestApp {
    let (token, _) = app.signed_in_user("ann").await;
    let (secret, _) = enable_totp(&app, &token).await;
    let mut statuses = Vec::new();
    for i in 0..30 {
        let body = json!({"password": USER_PASSWORD, "code": wrong_code(&totp_code(&secret, 0))});
        let path = if i % 2 == 0 {
            "/v1/me/mfa/totp"
        } else {
            "/v1/me/mfa/backup-codes"
        };
        let method = if i % 2 == 0 {
            Method::DELETE
        } else {
            Method::POST
        };
        let res = app.authed(method, path, &token, Some(body)).await;
        statuses.push(res.status().as_u16());
        // Enrolment asks for the password too (and is refused: TOTP is on).
        let res = app
            .authed(
                Method::POST,
                "/v1/me/mfa/totp",
                &token,
                Some(json!({"password": USER_PASSWORD})),
            )
            .await;
        assert_ne!(res.status(), 201);
        if *statuses.last().unwrap() == 423 {
            break;
        }
    }
    assert_eq!(statuses, [403, 403, 403, 403, 423], "{statuses:?}");
    app
}
// Wrong codes are counted in fixed windows aligned to the clock (as
// passwords are): five straddling a window's end are counted in two, which
// failed this test once under CI load on MongoDB (eight 403s, then 423). A
// day's window makes that unlikely.
on_every_engine!(the_right_password_does_not_clear_the_code_lockout, |c| c
    .security
    .lockout_minutes =
    24 * 60);

/// Finding 2: a profile edit (or setting the active content session)
/// started the guessing counters afresh, round after round. Only a new
/// password or an administrator's unlock does now.
async fn an_account_edit_does_not_reset_the_lockout(app: TestApp) -> TestApp {
    let (token, _) = app.signed_in_user("bob").await;
    let change = |current: &str| json!({"password": {"current_password": current, "new_password": "a whole new password"}});
    let mut statuses = Vec::new();
    for round in 0..3 {
        for _ in 0..3 {
            let res = app
                .authed(Method::PATCH, "/v1/me", &token, Some(change("wrong guess")))
                .await;
            statuses.push(res.status().as_u16());
        }
        let res = app
            .authed(
                Method::PATCH,
                "/v1/me",
                &token,
                Some(json!({"full_name": format!("Bob {round}")})),
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    assert_eq!(
        statuses,
        [403, 403, 403, 403, 423, 423, 423, 423, 423],
        "{statuses:?}"
    );
    // The right password is not even checked while locked out.
    let res = app
        .authed(Method::PATCH, "/v1/me", &token, Some(change(USER_PASSWORD)))
        .await;
    expect_problem(res, 423, "locked-out").await;
    // An administrator's unlock starts the counts afresh.
    let bob: Value = json_with(app.authed(Method::GET, "/v1/me", &token, None).await, 200).await;
    let admin = app.admin_token().await;
    let path = format!("/v1/users/{}", bob["id"].as_str().unwrap());
    let res = app
        .authed(Method::PATCH, &path, &admin, Some(json!({"locked": false})))
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .authed(Method::PATCH, "/v1/me", &token, Some(change(USER_PASSWORD)))
        .await;
    assert_eq!(res.status(), 200);
    app
}
on_every_engine!(an_account_edit_does_not_reset_the_lockout);

/// A user given `role` (created by the administrator with `permissions`);
/// returns their token and id.
async fn user_with_role(
    app: &TestApp,
    name: &str,
    role: &str,
    permissions: &[&str],
) -> (String, String) {
    let admin = app.admin_token().await;
    let res = app
        .authed(
            Method::POST,
            "/v1/roles",
            &admin,
            Some(json!({"name": role, "permissions": permissions})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let (token, id) = app.signed_in_user(name).await;
    let res = app
        .authed(
            Method::PUT,
            &format!("/v1/users/{id}/roles/{role}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    (token, id)
}

/// The bootstrap administrator's id.
async fn admin_id(app: &TestApp) -> String {
    let admin = app.admin_token().await;
    let me = json_with(app.authed(Method::GET, "/v1/me", &admin, None).await, 200).await;
    me["id"].as_str().unwrap().to_owned()
}

/// Finding 5: a support role with `users:read, users:write` removed an
/// administrator's TOTP (204) and locked administrators. Acting on a user
/// needs every permission the target holds; the user whose factor an
/// administrator removed is told by mail.
async fn a_support_role_cannot_act_on_administrators(app: TestApp) -> TestApp {
    let (support, support_id) =
        user_with_role(&app, "sam", "support", &["users:read", "users:write"]).await;
    let admin_id = admin_id(&app).await;
    let res = app
        .authed(
            Method::DELETE,
            &format!("/v1/users/{admin_id}/mfa"),
            &support,
            None,
        )
        .await;
    expect_problem(res, 403, "forbidden").await;
    for body in [json!({"locked": true}), json!({"verified": false})] {
        let res = app
            .authed(
                Method::PATCH,
                &format!("/v1/users/{admin_id}"),
                &support,
                Some(body),
            )
            .await;
        expect_problem(res, 403, "forbidden").await;
    }
    // The administrator is untouched: still signs in and is not locked.
    app.admin_token().await;
    // On an ordinary user the role works, and the user hears of it.
    let (ann, ann_id) = app.signed_in_user("ann").await;
    enable_totp(&app, &ann).await;
    let before = app.mail_count("ann@example.org").await;
    let res = app
        .authed(
            Method::DELETE,
            &format!("/v1/users/{ann_id}/mfa"),
            &support,
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(app.mail_count("ann@example.org").await, before + 1);
    let mail = app.last_mail("ann@example.org").await;
    assert!(mail.contains("two-step sign-in"), "{mail}");
    let res = app
        .authed(
            Method::PATCH,
            &format!("/v1/users/{ann_id}"),
            &support,
            Some(json!({"locked": true})),
        )
        .await;
    assert_eq!(res.status(), 200);
    // Nobody acts on a user who holds more than they do, themselves aside.
    let res = app
        .authed(
            Method::PATCH,
            &format!("/v1/users/{support_id}"),
            &support,
            Some(json!({"verified": true})),
        )
        .await;
    assert_eq!(res.status(), 200);
    app
}
on_every_engine!(a_support_role_cannot_act_on_administrators);

/// Finding 3: the callback accepted whoever held the state, so a victim's
/// browser opening an attacker's stopped callback URL was signed in as the
/// attacker. A flow is bound to the browser that started it.
async fn a_callback_works_only_in_the_browser_that_started_it(app: TestApp) -> TestApp {
    let attackers = callback_url(&app, "corp").await;
    // The victim's browser (no flow cookie) opens the attacker's URL.
    let victim = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = victim.get(&attackers.callback).send().await.unwrap();
    expect_problem(res, 400, "invalid-token").await;
    // Another browser with a flow cookie of its own does no better.
    let other = callback_url(&app, "corp").await;
    let res = other.browser.get(&attackers.callback).send().await.unwrap();
    expect_problem(res, 400, "invalid-token").await;
    // The browser that started it finishes it, and the cookie goes.
    let res = attackers
        .browser
        .get(&attackers.callback)
        .send()
        .await
        .unwrap();
    let cleared = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("portico_oauth_"));
    assert!(cleared, "the flow cookie is cleared");
    assert!(query(&location(&res), "code").is_some());
    // The cookie's attributes.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/v1/oauth/corp/authorize"))
        .query(&[("redirect_uri", APP)])
        .send()
        .await
        .unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    for part in ["HttpOnly", "SameSite=Lax", "Path=/v1/oauth/", "Max-Age=600"] {
        assert!(cookie.contains(part), "{part} in {cookie}");
    }
    app
}
on_every_engine!(
    a_callback_works_only_in_the_browser_that_started_it,
    super::providers
);

/// Findings 3 and 8: a `redirect_uri` whose query plants `code` (read
/// first by front ends) or carries a control character (which answered 500
/// at the callback, after the code was minted) is refused at the start.
async fn a_return_address_cannot_plant_a_code_or_a_control_character(app: TestApp) -> TestApp {
    for bad in [
        format!("{APP}?code=ATTACKERCODE"),
        format!("{APP}?linked=corp"),
        format!("{APP}?error=x"),
        format!("{APP}?state=x"),
        format!("{APP}?x=\u{1}"),
    ] {
        let res = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(app.url("/v1/oauth/corp/authorize"))
            .query(&[("redirect_uri", bad.as_str())])
            .send()
            .await
            .unwrap();
        let body = expect_problem(res, 422, "validation").await;
        assert!(body["errors"]["redirect_uri"].is_array(), "{bad:?}: {body}");
    }
    let (token, _) = app.signed_in_user("ann").await;
    let res = app
        .authed(
            Method::POST,
            "/v1/me/providers/corp",
            &token,
            Some(json!({"redirect_uri": format!("{APP}?code=X"), "password": USER_PASSWORD})),
        )
        .await;
    expect_problem(res, 422, "validation").await;
    app
}
on_every_engine!(
    a_return_address_cannot_plant_a_code_or_a_control_character,
    super::providers
);

/// Finding 4: with only a stolen access token, linking an identity of the
/// thief's needed nothing more, survived the owner's password change, and a
/// pending link flow completed after sign-out. Linking asks for the
/// password; sign-out, revocation and a new password cancel pending
/// flows; the owner is told by mail.
async fn linking_asks_for_the_password_and_dies_with_the_session(app: TestApp) -> TestApp {
    let (token, _) = app.signed_in_user("ann").await;
    let start = |password: Option<&str>| {
        let mut body = json!({"redirect_uri": APP});
        if let Some(p) = password {
            body["password"] = json!(p);
        }
        app.authed(Method::POST, "/v1/me/providers/ann-idp", &token, Some(body))
    };
    expect_problem(start(None).await, 403, "reauthentication-required").await;
    expect_problem(start(Some("not the password")).await, 403, "wrong-password").await;
    // A flow started before sign-out does not complete after it.
    let second = app.sign_in("ann", USER_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let flow = start_link(&app, &second, "ann-idp", Some(USER_PASSWORD)).await;
    let res = app
        .authed(Method::DELETE, "/v1/sessions/current", &second, None)
        .await;
    assert_eq!(res.status(), 204);
    let res = flow.browser.get(&flow.callback).send().await.unwrap();
    expect_problem(res, 400, "invalid-token").await;
    // Nor one started before a password change.
    let flow = start_link(&app, &token, "ann-idp", Some(USER_PASSWORD)).await;
    let change = json!({"password": {"current_password": USER_PASSWORD, "new_password": "a whole new password"}});
    let res = app
        .authed(Method::PATCH, "/v1/me", &token, Some(change))
        .await;
    assert_eq!(res.status(), 200);
    let res = flow.browser.get(&flow.callback).send().await.unwrap();
    expect_problem(res, 400, "invalid-token").await;
    assert!(links(&app, &token).await.is_empty());
    // With the password, the link is made and the owner hears of it.
    let flow = start_link(&app, &token, "ann-idp", Some("a whole new password")).await;
    assert_eq!(finish(&flow).await, format!("{APP}?linked=ann-idp"));
    assert_eq!(links(&app, &token).await, vec!["ann-idp"]);
    let mail = app.last_mail("ann@example.org").await;
    assert!(
        mail.contains("ann-idp was linked to your account"),
        "{mail}"
    );
    app
}
on_every_engine!(
    linking_asks_for_the_password_and_dies_with_the_session,
    super::providers
);

/// Finding 7: an administrator's `verified = false` stopped password
/// sign-in (403 `email-not-verified`) but not a provider sign-in (201).
async fn an_unverified_account_does_not_sign_in_through_a_provider(app: TestApp) -> TestApp {
    let token = provider_token(&app, "corp").await;
    let me = json_with(app.authed(Method::GET, "/v1/me", &token, None).await, 200).await;
    let code_before = sign_in_code(&app, "corp").await.expect("a code");
    let admin = app.admin_token().await;
    let path = format!("/v1/users/{}", me["id"].as_str().unwrap());
    let res = app
        .authed(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"verified": false})),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        sign_in_code(&app, "corp").await,
        Err("email_unverified".to_owned())
    );
    let res = exchange(&app, &code_before).await;
    expect_problem(res, 403, "email-not-verified").await;
    app
}
on_every_engine!(
    an_unverified_account_does_not_sign_in_through_a_provider,
    super::providers
);

/// Finding 10: eight reset requests for one address from eight addresses
/// sent eight mails. One address gets at most three of a kind an hour,
/// whoever asks; the answers stay the same.
async fn one_address_gets_a_bounded_number_of_mails(app: TestApp) -> TestApp {
    app.register_user("ann", USER_PASSWORD).await;
    let before = app.mail_count("ann@example.org").await;
    for i in 0..8 {
        let res = app
            .client
            .post(app.url("/v1/password-resets"))
            .header("X-Forwarded-For", format!("10.0.0.{i}"))
            .json(&json!({"email": "ann@example.org"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
    }
    assert_eq!(app.mail_count("ann@example.org").await, before + 3);
    // Verification resends (registering again) are bounded the same way.
    for _ in 0..8 {
        let res = app
            .post(
                "/v1/registrations",
                json!({"email": "cyd@example.org", "username": "cyd", "password": USER_PASSWORD}),
            )
            .await;
        assert_eq!(res.status(), 202);
    }
    assert_eq!(app.mail_count("cyd@example.org").await, 3);
    app
}
on_every_engine!(one_address_gets_a_bounded_number_of_mails, |c| {
    c.server.trusted_proxies = portico::proxies::TrustedProxies::Count(1);
});

/// Finding 11: `evil>,<victim@example.org` was accepted (202), then the
/// mailer refused it on each of ten retries. Addresses are parsed at the
/// boundary as strictly as the mailer takes them.
async fn an_address_the_mailer_refuses_is_refused_at_once(app: TestApp) -> TestApp {
    for email in [
        "evil>,<victim@example.org",
        "\"a b\"@example.org",
        "a..b@example.org",
    ] {
        let res = app
            .post(
                "/v1/registrations",
                json!({"email": email, "username": "eve", "password": USER_PASSWORD}),
            )
            .await;
        let body = expect_problem(res, 422, "validation").await;
        assert!(body["errors"]["email"].is_array(), "{email}: {body}");
        let res = app
            .post("/v1/password-resets", json!({"email": email}))
            .await;
        expect_problem(res, 422, "validation").await;
    }
    app
}
on_every_engine!(an_address_the_mailer_refuses_is_refused_at_once);

/// Finding 12: a live stream outlived its sign-out by up to 5 s and
/// delivered notifications created after the sign-out had returned. It
/// ends at once on the instance that made the change, and delivers
/// nothing created after it.
async fn a_stream_ends_with_its_sign_out_at_once(app: TestApp) -> TestApp {
    use crate::notifications::{notify, read_until_end, stream};
    let (ann, ann_id) = app.signed_in_user("ann").await;
    let root = app.admin_token().await;
    let res = stream(&app, &ann, None).await;
    let signed_out = app
        .authed(Method::DELETE, "/v1/sessions/current", &ann, None)
        .await;
    assert_eq!(signed_out.status(), 204);
    notify(&app, &root, &ann_id, "after-sign-out").await;
    let text = read_until_end(res, std::time::Duration::from_secs(15)).await;
    assert!(
        !text.contains("after-sign-out"),
        "delivered after sign-out: {text}"
    );
    app
}
on_every_engine!(a_stream_ends_with_its_sign_out_at_once);

/// The same across two instances: signed out on one, the stream on the
/// other delivers nothing created after the sign-out, and ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_on_another_instance_ends_with_its_sign_out() {
    with_two_apps(
        Engine::Postgres,
        |_| {},
        |one, two| async move {
            use crate::notifications::{notify, read_until_end, stream};
            let (ann, ann_id) = one.signed_in_user("ann").await;
            let root = two.admin_token().await;
            let res = stream(&one, &ann, None).await;
            let signed_out = two
                .authed(Method::DELETE, "/v1/sessions/current", &ann, None)
                .await;
            assert_eq!(signed_out.status(), 204);
            notify(&two, &root, &ann_id, "after-sign-out").await;
            let started = std::time::Instant::now();
            let text = read_until_end(res, std::time::Duration::from_secs(15)).await;
            assert!(
                !text.contains("after-sign-out"),
                "delivered after sign-out: {text}"
            );
            println!(
                "stream on the other instance ended {:?} after the notification",
                started.elapsed()
            );
            (one, two)
        },
    )
    .await;
}

/// Finding 14: `POST /v1/password-resets` and `/confirm` answered 429
/// under a flood without the document saying so. Every operation that
/// needs no credentials is held to the per-IP limit, and the document says
/// so for exactly those (both come from one rule): the second call of each
/// with a limit of one a minute is a documented 429 (the suite's response
/// check fails on an undocumented one).
async fn every_public_operation_documents_its_429(app: TestApp) -> TestApp {
    let doc: Value = json_with(
        app.client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let mut tried = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let public = op["security"].as_array().is_some_and(Vec::is_empty);
            let signed_in = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            if signed_in {
                assert!(
                    op["responses"].get("429").is_some(),
                    "{method} {path} is limited per user but documents no 429"
                );
            }
            if !public || !path.starts_with("/v1/") {
                continue;
            }
            assert!(
                op["responses"].get("429").is_some(),
                "{method} {path} documents no 429"
            );
            let concrete = path
                .replace("{provider}", "corp")
                .replace("{username}", "someone")
                .replace("{key}", "users/x/y");
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut statuses = Vec::new();
            for _ in 0..2 {
                let res = app
                    .client
                    .request(method.clone(), app.url(&concrete))
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                statuses.push(res.status().as_u16());
                if res.status() == 429 {
                    assert!(res.headers().get("retry-after").is_some());
                }
            }
            assert_eq!(statuses[1], 429, "{method} {concrete}: {statuses:?}");
            tried.push(format!("{method} {path}"));
        }
    }
    assert!(
        tried.iter().any(|t| t == "POST /v1/password-resets"),
        "{tried:?}"
    );
    assert!(
        tried
            .iter()
            .any(|t| t == "POST /v1/password-resets/confirm"),
        "{tried:?}"
    );
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_public_operation_documents_its_429_on_sqlite() {
    with_app(
        Engine::Sqlite,
        |c| c.rate_limits.ip_per_minute = 1,
        every_public_operation_documents_its_429,
    )
    .await;
}
