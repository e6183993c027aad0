//! Unit tests of provider sign-in over mocked stores and a mocked provider.

use std::sync::{Arc, Mutex};

use futures::executor::block_on;

use super::*;
use crate::test_support::*;
use crate::*;
use crate::{
    MockIdentityLinkRepository, MockIdentityProvider, MockOAuthFlowRepository,
    MockOneTimeTokenRepository, MockRoleRepository, MockUserRepository,
};
use time::Duration;

pub(super) const APP: &str = "https://app.example/after-sign-in";

pub(super) fn name(n: &str) -> ProviderName {
    ProviderName::parse(n).unwrap()
}

pub(super) fn provider(
    link_by_email: bool,
    answer: Result<ProviderIdentity, &'static str>,
) -> MockIdentityProvider {
    let mut p = MockIdentityProvider::new();
    p.expect_name().return_const(name("corp"));
    p.expect_display_name().return_const("Corp SSO".to_owned());
    p.expect_link_by_verified_email()
        .return_const(link_by_email);
    p.expect_authorize_url()
        .returning(|r| Ok(format!("https://idp.example/auth?state={}", r.state)));
    p.expect_exchange().returning(move |_, _, _| match &answer {
        Ok(id) => Ok(id.clone()),
        Err(why) => Err(ProviderError::Rejected((*why).to_owned())),
    });
    p
}

pub(super) fn identity(email: &str, verified: bool) -> ProviderIdentity {
    ProviderIdentity {
        subject: "sub-1".into(),
        email: Some(Email::parse(email).unwrap()),
        email_verified: verified,
        name: Some("Ann Example".into()),
        preferred_username: Some("Ann!".into()),
        tokens: ProviderTokens {
            access_token: "at".into(),
            refresh_token: Some("rt".into()),
            expires_at: None,
        },
    }
}

pub(super) fn flow(provider: &str, linking: Option<UserId>) -> OAuthFlow {
    OAuthFlow {
        state_hash: fixed_token().hash_with(&fixed_token()),
        provider: name(provider),
        pkce_verifier: "verifier".into(),
        nonce: "nonce".into(),
        redirect_uri: APP.into(),
        linking_user: linking,
        created_at: T0,
        expires_at: T0 + Duration::minutes(10),
    }
}

pub(super) fn flows_holding(flow: Option<OAuthFlow>) -> MockOAuthFlowRepository {
    let held = Mutex::new(flow);
    let mut flows = MockOAuthFlowRepository::new();
    flows
        .expect_take()
        .returning(move |_, _| Ok(held.lock().unwrap().take()));
    flows
}

/// Exchange codes issued, in memory.
pub(super) fn codes() -> (MockOneTimeTokenRepository, Arc<Mutex<Vec<OneTimeToken>>>) {
    let all: Arc<Mutex<Vec<OneTimeToken>>> = Arc::default();
    let mut tokens = MockOneTimeTokenRepository::new();
    let a = all.clone();
    tokens.expect_insert().returning(move |t| {
        a.lock().unwrap().push(t.clone());
        Ok(())
    });
    (tokens, all)
}

pub(super) fn federation(h: Harness, p: MockIdentityProvider) -> Federation {
    let policy = FederationPolicy {
        redirect_allowlist: vec![APP.to_owned()],
        ..FederationPolicy::default()
    };
    Federation::new(
        h.stores,
        h.system,
        AccountPolicy::default(),
        policy,
        vec![Arc::new(p)],
    )
}

#[test]
fn only_allow_listed_addresses_end_a_flow() {
    let f = federation(Harness::new(), provider(false, Err("unused")));
    assert!(f.redirect_allowed(APP));
    assert!(f.redirect_allowed(&format!("{APP}?next=/home")));
    for bad in [
        "https://app.example/after-sign-in.evil.example",
        "https://app.example/after-sign-in/../admin",
        "https://app.example/after-sign-in#frag",
        "https://app.example/after-sign-inx",
        "https://evil.example/after-sign-in",
        "http://app.example/after-sign-in",
        " https://app.example/after-sign-in",
        "",
    ] {
        assert!(!f.redirect_allowed(bad), "{bad}");
    }
}

#[test]
fn a_flow_to_elsewhere_is_refused_before_the_provider_is_asked() {
    let mut p = MockIdentityProvider::new();
    p.expect_name().return_const(name("corp"));
    p.expect_authorize_url().never();
    let f = federation(Harness::new(), p);
    let e = block_on(f.begin("corp", "https://evil.example/")).unwrap_err();
    assert!(matches!(e, BeginFlowError::RedirectNotAllowed));
    let e = block_on(f.begin("nope", APP)).unwrap_err();
    assert!(matches!(e, BeginFlowError::UnknownProvider));
}

#[test]
fn begin_keeps_state_verifier_and_nonce_for_ten_minutes() {
    let mut h = Harness::new();
    let stored = Arc::new(Mutex::new(None));
    let mut flows = MockOAuthFlowRepository::new();
    let s = stored.clone();
    flows.expect_insert().returning(move |f| {
        *s.lock().unwrap() = Some(f.clone());
        Ok(())
    });
    h.stores.oauth_flows = Arc::new(flows);
    let f = federation(h, provider(false, Err("unused")));
    let begun = block_on(f.begin("corp", APP)).unwrap();
    let flow = stored.lock().unwrap().clone().unwrap();
    assert_eq!(
        begun.authorize_url,
        format!("https://idp.example/auth?state={}", fixed_token().expose())
    );
    assert_eq!(
        flow.state_hash,
        fixed_token().hash_with(&begun.browser_secret),
        "only the hash of state and the browser's secret is kept"
    );
    assert_eq!(
        Some(begun.cookie_id),
        flow_cookie_id(fixed_token().expose())
    );
    assert_eq!(flow.expires_at - flow.created_at, Duration::minutes(10));
    assert_eq!(flow.redirect_uri, APP);
    assert_eq!(flow.linking_user, None);
}

#[test]
fn an_unknown_or_reused_state_is_refused() {
    let mut h = Harness::new();
    h.stores.oauth_flows = Arc::new(flows_holding(Some(flow("corp", None))));
    let mut links = MockIdentityLinkRepository::new();
    links.expect_find().returning(|_, _| Ok(None));
    h.stores.identity_links = Arc::new(links);
    let f = federation(h, provider(false, Err("bad signature")));
    let first = block_on(f.callback(
        "corp",
        fixed_token().expose(),
        Some(fixed_token().expose()),
        Ok("code"),
    ))
    .unwrap();
    assert_eq!(first.redirect_to, format!("{APP}?error=provider_rejected"));
    let again = block_on(f.callback(
        "corp",
        fixed_token().expose(),
        Some(fixed_token().expose()),
        Ok("code"),
    ));
    assert!(matches!(again, Err(CallbackError::InvalidState)));
    let garbage = block_on(f.callback(
        "corp",
        "not a token",
        Some(fixed_token().expose()),
        Ok("code"),
    ));
    assert!(matches!(garbage, Err(CallbackError::InvalidState)));
}

#[test]
fn a_state_from_another_provider_is_refused() {
    let mut h = Harness::new();
    h.stores.oauth_flows = Arc::new(flows_holding(Some(flow("other", None))));
    let f = federation(h, provider(false, Err("unused")));
    let r = block_on(f.callback(
        "corp",
        fixed_token().expose(),
        Some(fixed_token().expose()),
        Ok("code"),
    ));
    assert!(matches!(r, Err(CallbackError::InvalidState)));
}

#[test]
fn a_known_identity_signs_in_with_a_one_minute_code() {
    let mut h = Harness::new();
    h.stores.oauth_flows = Arc::new(flows_holding(Some(flow("corp", None))));
    let user = sample_user(7);
    let mut links = MockIdentityLinkRepository::new();
    let uid = user.id;
    links.expect_find().returning(move |p, s| {
        Ok(Some(IdentityLink {
            user_id: uid,
            provider: p.clone(),
            subject: s.to_owned(),
            email: None,
            tokens: None,
            tokens_expire_at: None,
            created_at: T0,
        }))
    });
    links
        .expect_store_tokens()
        .withf(|_, _, t, _| t.is_some())
        .returning(|_, _, _, _| Ok(true));
    h.stores.identity_links = Arc::new(links);
    let mut users = MockUserRepository::new();
    users
        .expect_get()
        .returning(move |_| Ok(Some(user.clone())));
    h.stores.users = Arc::new(users);
    let (tokens, issued) = codes();
    h.stores.one_time_tokens = Arc::new(tokens);
    let f = federation(h, provider(false, Ok(identity("ann@example.org", true))));
    let out = block_on(f.callback(
        "corp",
        fixed_token().expose(),
        Some(fixed_token().expose()),
        Ok("code"),
    ))
    .unwrap();
    assert_eq!(out.result, Ok(CallbackSuccess::SignedIn(uid)));
    assert_eq!(
        out.redirect_to,
        format!("{APP}?code={}", fixed_token().expose())
    );
    let issued = issued.lock().unwrap();
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].purpose, TokenPurpose::OAuthExchange);
    assert_eq!(
        issued[0].expires_at - issued[0].created_at,
        Duration::seconds(60)
    );
}

#[test]
fn an_unverified_email_creates_nothing() {
    let mut h = Harness::new();
    h.stores.oauth_flows = Arc::new(flows_holding(Some(flow("corp", None))));
    let mut links = MockIdentityLinkRepository::new();
    links.expect_find().returning(|_, _| Ok(None));
    links.expect_link().never();
    h.stores.identity_links = Arc::new(links);
    let mut users = MockUserRepository::new();
    users.expect_create().never();
    h.stores.users = Arc::new(users);
    let f = federation(h, provider(true, Ok(identity("ann@example.org", false))));
    let out = block_on(f.callback(
        "corp",
        fixed_token().expose(),
        Some(fixed_token().expose()),
        Ok("code"),
    ))
    .unwrap();
    assert_eq!(out.redirect_to, format!("{APP}?error=email_unverified"));
}

#[test]
fn an_existing_address_links_only_when_the_provider_allows_it() {
    for allowed in [false, true] {
        let mut h = Harness::new();
        h.stores.oauth_flows = Arc::new(flows_holding(Some(flow("corp", None))));
        let user = sample_user(3);
        let uid = user.id;
        let mut links = MockIdentityLinkRepository::new();
        links.expect_find().returning(|_, _| Ok(None));
        links
            .expect_link()
            .times(usize::from(allowed))
            .withf(move |l| l.user_id == uid && l.subject == "sub-1" && l.tokens.is_some())
            .returning(|_| Ok(()));
        h.stores.identity_links = Arc::new(links);
        let mut users = MockUserRepository::new();
        let u = user.clone();
        users
            .expect_find_by_email()
            .returning(move |_| Ok(Some(u.clone())));
        users
            .expect_get()
            .returning(move |_| Ok(Some(user.clone())));
        users.expect_create().never();
        h.stores.users = Arc::new(users);
        let (tokens, _) = codes();
        h.stores.one_time_tokens = Arc::new(tokens);
        let f = federation(
            h,
            provider(allowed, Ok(identity("user3@example.org", true))),
        );
        let out = block_on(f.callback(
            "corp",
            fixed_token().expose(),
            Some(fixed_token().expose()),
            Ok("code"),
        ))
        .unwrap();
        if allowed {
            assert_eq!(out.result, Ok(CallbackSuccess::SignedIn(uid)));
        } else {
            assert_eq!(out.redirect_to, format!("{APP}?error=account_exists"));
        }
    }
}

#[test]
fn a_new_identity_creates_a_verified_user_without_a_password() {
    let mut h = Harness::new();
    h.stores.oauth_flows = Arc::new(flows_holding(Some(flow("corp", None))));
    let mut links = MockIdentityLinkRepository::new();
    links.expect_find().returning(|_, _| Ok(None));
    links.expect_link().returning(|_| Ok(()));
    h.stores.identity_links = Arc::new(links);
    let created = Arc::new(Mutex::new(Vec::<User>::new()));
    let mut users = MockUserRepository::new();
    users.expect_find_by_email().returning(|_| Ok(None));
    let c = created.clone();
    users.expect_create().returning(move |u| {
        let mut c = c.lock().unwrap();
        c.push(u.clone());
        // The first username is taken: a suffixed one follows.
        if c.len() == 1 {
            Err(InsertUserError::UsernameTaken)
        } else {
            Ok(())
        }
    });
    h.stores.users = Arc::new(users);
    let mut roles = MockRoleRepository::new();
    roles.expect_grant().returning(|_, _, _| Ok(()));
    h.stores.roles = Arc::new(roles);
    let (tokens, _) = codes();
    h.stores.one_time_tokens = Arc::new(tokens);
    let f = federation(h, provider(false, Ok(identity("ann@example.org", true))));
    let out = block_on(f.callback(
        "corp",
        fixed_token().expose(),
        Some(fixed_token().expose()),
        Ok("code"),
    ))
    .unwrap();
    let created = created.lock().unwrap();
    let user = created.last().unwrap();
    assert_eq!(out.result, Ok(CallbackSuccess::Created(user.id)));
    assert!(user.verified);
    assert!(user.password_hash.is_none());
    assert_eq!(created[0].username.as_str(), "ann");
    assert!(
        user.username.as_str().starts_with("ann-"),
        "{}",
        user.username
    );
    assert_eq!(user.profile.full_name.as_deref(), Some("Ann Example"));
}
