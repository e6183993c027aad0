//! Access JWTs through the services, over the in-memory adapter, with a
//! stand-in signer (the real one, Ed25519, is the platform crate's, checked
//! there and by an independent verifier in the HTTP tests): what a JWT
//! carries, and every way it stops working at Portico.

use std::sync::Arc;

use futures::executor::block_on;
use time::Duration;

use crate::test_support::*;
use crate::*;

/// Claims as JSON between two fixed parts, "signed" by the last part
/// naming a key this signer holds.
struct Stand(Vec<&'static str>);

impl AccessTokenSigner for Stand {
    fn sign(&self, claims: &AccessClaims) -> Result<String, StoreError> {
        let json = serde_json::to_string(claims).unwrap();
        Ok(format!(
            "h.{}.{}",
            hex(json.as_bytes()),
            self.0.last().unwrap()
        ))
    }
    fn verify(&self, token: &str) -> Option<AccessClaims> {
        let mut parts = token.split('.');
        let (_, body, key) = (parts.next()?, parts.next()?, parts.next()?);
        if !self.0.contains(&key) {
            return None;
        }
        let bytes: Vec<u8> = (0..body.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&body[i..i + 2], 16).unwrap())
            .collect();
        serde_json::from_slice(&bytes).ok()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct World {
    clock: Arc<MovableClock>,
    auth: Authentication,
    stores: Stores,
    user: User,
}

fn world(keys: Vec<&'static str>) -> World {
    let (mut h, clock, user) = Harness::over_memory();
    h.system.tokens = Arc::new(CountingTokens::new());
    let jwt = JwtAccess {
        signer: Arc::new(Stand(keys)),
        issuer: "https://id.example".into(),
        ttl: Duration::minutes(5),
    };
    World {
        clock,
        auth: Authentication::new(h.stores.clone(), h.system.clone(), AccountPolicy::default())
            .with_jwt(jwt),
        stores: h.stores,
        user,
    }
}

fn session(w: &World) -> IssuedSession {
    match block_on(w.auth.sign_in(SignInRequest {
        login: w.user.email.as_str().to_owned(),
        password: Password::for_sign_in("right password").unwrap(),
        user_agent: None,
        ip: None,
    }))
    .unwrap()
    {
        SignedIn::Session(s) => s,
        SignedIn::MfaRequired(_) => panic!("no second factor here"),
    }
}

fn accepted(w: &World, jwt: &str) -> bool {
    match block_on(w.auth.resolve_credential(&Credential::Jwt(jwt.to_owned()))) {
        Ok(p) => {
            assert_eq!(p.user_id(), w.user.id);
            true
        }
        Err(AuthenticateError::Unauthenticated) => false,
        Err(e) => panic!("{e:?}"),
    }
}

#[test]
fn a_sign_in_issues_a_jwt_naming_the_user_session_roles_and_plan() {
    let w = world(vec!["k1"]);
    let issued = session(&w);
    let jwt = issued.jwt.clone().expect("a JWT");
    assert_eq!(jwt.expires_at, T0 + Duration::minutes(5));
    let claims = Stand(vec!["k1"]).verify(&jwt.token).unwrap();
    assert_eq!(claims.iss, "https://id.example");
    assert_eq!(claims.sub, w.user.id);
    assert_eq!(claims.sid, issued.session.id);
    assert_eq!(
        (claims.iat, claims.exp),
        (T0.unix_timestamp(), T0.unix_timestamp() + 300)
    );
    assert_eq!(claims.jti, issued.access_token.hash().as_str());
    assert_eq!(claims.plan, "free");
    assert!(accepted(&w, &jwt.token));
    // The opaque token still authenticates the same session (the cookie).
    assert!(block_on(w.auth.authenticate(&issued.access_token)).is_ok());
}

#[test]
fn a_jwt_stops_at_exp_and_a_cached_principal_knows_it() {
    let w = world(vec!["k1"]);
    let jwt = session(&w).jwt.unwrap().token;
    let principal = block_on(w.auth.resolve_credential(&Credential::Jwt(jwt.clone()))).unwrap();
    assert!(principal.is_current(T0 + Duration::seconds(299)));
    assert!(!principal.is_current(T0 + Duration::seconds(300)));
    w.clock.set(T0 + Duration::seconds(300));
    assert!(!accepted(&w, &jwt));
}

#[test]
fn revocation_sign_out_refresh_and_a_lock_end_a_jwt_at_once() {
    let w = world(vec!["k1"]);
    // Revoked (as a sign-out does).
    let issued = session(&w);
    let jwt = issued.jwt.unwrap().token;
    let caller = block_on(w.auth.authenticate(&issued.access_token)).unwrap();
    block_on(w.auth.revoke_session(&caller, issued.session.id)).unwrap();
    assert!(!accepted(&w, &jwt));
    // Refreshed: the old JWT's token is rotated away, the new one works.
    let issued = session(&w);
    let old = issued.jwt.unwrap().token;
    let fresh = block_on(w.auth.refresh(&issued.refresh_token)).unwrap();
    assert!(!accepted(&w, &old));
    assert!(accepted(&w, &fresh.jwt.unwrap().token));
    // The user locked.
    let jwt = session(&w).jwt.unwrap().token;
    block_on(w.stores.users.update_fields(
        w.user.id,
        &UserChanges {
            locked: Some(true),
            ..UserChanges::default()
        },
    ))
    .unwrap();
    assert!(!accepted(&w, &jwt));
}

#[test]
fn forged_foreign_or_mismatched_jwts_are_refused() {
    let w = world(vec!["k1"]);
    let issued = session(&w);
    let signer = Stand(vec!["k1"]);
    let claims = signer.verify(&issued.jwt.unwrap().token).unwrap();
    // A key the signer does not hold.
    assert!(!accepted(&w, &Stand(vec!["k9"]).sign(&claims).unwrap()));
    // Another issuer.
    let other = AccessClaims {
        iss: "https://other.example".into(),
        ..claims.clone()
    };
    assert!(!accepted(&w, &signer.sign(&other).unwrap()));
    // The session of another user, or another session id, under this jti.
    for bad in [
        AccessClaims {
            sub: UserId::from_uuid(uuid::Uuid::from_u128(77)),
            ..claims.clone()
        },
        AccessClaims {
            sid: AuthSessionId::from_uuid(uuid::Uuid::from_u128(77)),
            ..claims.clone()
        },
    ] {
        assert!(!accepted(&w, &signer.sign(&bad).unwrap()));
    }
    assert!(accepted(&w, &signer.sign(&claims).unwrap()));
    // Without JWTs on, even a well-made one is refused.
    let plain = Authentication::new(
        w.stores.clone(),
        {
            let (h, _, _) = Harness::over_memory();
            h.system
        },
        AccountPolicy::default(),
    );
    assert!(matches!(
        block_on(plain.resolve_credential(&Credential::Jwt(signer.sign(&claims).unwrap()))),
        Err(AuthenticateError::Unauthenticated)
    ));
}

#[test]
fn credentials_parse_by_shape() {
    let t = Token::from_bytes([3; 32]);
    assert!(matches!(
        Credential::parse(t.expose()),
        Some(Credential::Session(_))
    ));
    assert!(matches!(
        Credential::parse("eyJh.eyJi.c2ln"),
        Some(Credential::Jwt(_))
    ));
    for bad in [
        "",
        "a.b",
        "a..c",
        "a.b.c.d",
        "not a token",
        "a.b.c=",
        &"x".repeat(70),
    ] {
        assert!(Credential::parse(bad).is_none(), "{bad}");
    }
}
