//! Public profiles: `website` and `location` in the own profile (checked),
//! and other users' profiles by id or username prefix, only for users who
//! made theirs public; anyone else is 404 and never listed.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, expect_problem, json_with};

async fn patch_me(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.authed(Method::PATCH, "/v1/me", token, Some(body)).await
}

async fn search(app: &TestApp, token: &str, q: &str) -> Vec<String> {
    let found = json_with(
        app.authed(Method::GET, &format!("/v1/profiles?q={q}"), token, None)
            .await,
        200,
    )
    .await;
    found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["username"].as_str().unwrap().to_owned())
        .collect()
}

async fn profiles_journey(app: TestApp) -> TestApp {
    let (ann, ann_id) = app.signed_in_user("ann").await;
    let (bob, bob_id) = app.signed_in_user("bob").await;
    let (_, _) = app.signed_in_user("anna").await;

    // Bad input is named and changes nothing.
    for (body, field) in [
        (json!({"website": "javascript:alert(1)"}), "website"),
        (json!({"website": "ftp://files.example.org/"}), "website"),
        (
            json!({"website": "https://user:pw@example.org/"}),
            "website",
        ),
        (json!({"location": "a\u{7}b"}), "location"),
        (json!({"location": "x".repeat(101)}), "location"),
    ] {
        let problem = expect_problem(patch_me(&app, &ann, body).await, 422, "validation").await;
        assert!(problem["errors"].get(field).is_some(), "{problem}");
    }
    // Set, and made public.
    let me = json_with(
        patch_me(
            &app,
            &ann,
            json!({
                "full_name": "Ann Example",
                "website": "https://ann.example.org/",
                "location": "Zürich",
                "preferences": {"privacy": {"profile_visibility": "public"}},
            }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(me["profile"]["website"], "https://ann.example.org/");
    assert_eq!(me["profile"]["location"], "Zürich");

    // Bob sees ann's public profile, and only what it holds.
    let seen = json_with(
        app.authed(Method::GET, &format!("/v1/profiles/{ann_id}"), &bob, None)
            .await,
        200,
    )
    .await;
    assert_eq!(
        seen,
        json!({
            "user_id": ann_id,
            "username": "ann",
            "full_name": "Ann Example",
            "avatar": null,
            "bio": null,
            "website": "https://ann.example.org/",
            "location": "Zürich",
        })
    );
    // Bob's profile is not public (the default): 404, as for nobody.
    for id in [bob_id.clone(), uuid::Uuid::now_v7().to_string()] {
        expect_problem(
            app.authed(Method::GET, &format!("/v1/profiles/{id}"), &ann, None)
                .await,
            404,
            "not-found",
        )
        .await;
    }
    // Search: ann, not anna (private); by the username only.
    assert_eq!(search(&app, &bob, "AN").await, ["ann"]);
    assert!(search(&app, &bob, "bo").await.is_empty());
    assert!(search(&app, &bob, "example").await.is_empty());
    for bad in ["", "a%40b", &"a".repeat(33)] {
        expect_problem(
            app.authed(Method::GET, &format!("/v1/profiles?q={bad}"), &bob, None)
                .await,
            422,
            "validation",
        )
        .await;
    }
    // Signed-in users only.
    let anonymous = app
        .client
        .get(app.url(&format!("/v1/profiles/{ann_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    // Made private again: gone from both.
    json_with(
        patch_me(
            &app,
            &ann,
            json!({"preferences": {"privacy": {"profile_visibility": "private"}}}),
        )
        .await,
        200,
    )
    .await;
    expect_problem(
        app.authed(Method::GET, &format!("/v1/profiles/{ann_id}"), &bob, None)
            .await,
        404,
        "not-found",
    )
    .await;
    assert!(search(&app, &bob, "an").await.is_empty());
    // Cleared with null.
    let me = json_with(
        patch_me(&app, &ann, json!({"website": null, "location": null})).await,
        200,
    )
    .await;
    assert_eq!(me["profile"]["website"], Value::Null);
    assert_eq!(me["profile"]["location"], Value::Null);
    app
}

crate::on_every_engine!(profiles_journey);
