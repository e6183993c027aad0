//! `IdentityLinkRepository` and `OAuthFlowRepository` contracts, and the
//! one-time exchange codes of provider sign-in.

use crate::contract;
use domain::Stores;
use domain::*;
use time::Duration;

use crate::fixtures::*;

fn name(n: &str) -> ProviderName {
    ProviderName::parse(n).unwrap()
}

/// `link` stores what `find` and `list_for_user` (in provider order) read
/// back; an identity never linked is not found.
#[contract]
pub async fn link_find_and_list_roundtrip(s: Stores) {
    let t = t0();
    let u = user("ann", t).id;
    let b = identity_link(u, "zeta", "ann-z", t);
    let a = identity_link(u, "alpha", "ann-a", t);
    s.identity_links.link(&b).await.unwrap();
    s.identity_links.link(&a).await.unwrap();
    let mut plain = identity_link(user("bob", t).id, "alpha", "bob-a", t);
    plain.email = None;
    plain.tokens = None;
    plain.tokens_expire_at = None;
    s.identity_links.link(&plain).await.unwrap();
    assert_eq!(
        s.identity_links.find(&a.provider, "ann-a").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        s.identity_links
            .find(&plain.provider, "bob-a")
            .await
            .unwrap(),
        Some(plain)
    );
    assert_eq!(
        s.identity_links.find(&a.provider, "ann-z").await.unwrap(),
        None
    );
    assert_eq!(
        s.identity_links.find(&name("nope"), "ann-a").await.unwrap(),
        None
    );
    assert_eq!(s.identity_links.list_for_user(u).await.unwrap(), vec![a, b]);
    assert!(
        s.identity_links
            .list_for_user(user("cid", t).id)
            .await
            .unwrap()
            .is_empty()
    );
}

/// An identity links to one user only, and a user to one identity per
/// provider; a refused link stores nothing.
#[contract]
pub async fn link_refuses_a_taken_identity_or_a_second_per_provider(s: Stores) {
    let t = t0();
    let (ann, bob) = (user("ann", t).id, user("bob", t).id);
    let first = identity_link(ann, "corp", "sub-1", t);
    s.identity_links.link(&first).await.unwrap();
    let taken = identity_link(bob, "corp", "sub-1", t);
    assert!(matches!(
        s.identity_links.link(&taken).await,
        Err(LinkError::Conflict)
    ));
    let second = identity_link(ann, "corp", "sub-2", t);
    assert!(matches!(
        s.identity_links.link(&second).await,
        Err(LinkError::Conflict)
    ));
    assert_eq!(
        s.identity_links
            .find(&first.provider, "sub-2")
            .await
            .unwrap(),
        None
    );
    assert!(
        s.identity_links
            .list_for_user(bob)
            .await
            .unwrap()
            .is_empty()
    );
    // The same subject at another provider is another identity.
    s.identity_links
        .link(&identity_link(bob, "other", "sub-1", t))
        .await
        .unwrap();
    assert_eq!(
        s.identity_links
            .find(&first.provider, "sub-1")
            .await
            .unwrap(),
        Some(first)
    );
}

/// Of 8 users linking one identity at once exactly one gets it.
#[contract]
pub async fn concurrent_links_of_one_identity_have_one_winner(s: Stores) {
    let t = t0();
    let wins = concurrently(8, |i| {
        let s = s.clone();
        async move {
            let l = identity_link(user(&format!("u{i}"), t).id, "corp", "shared", t);
            match s.identity_links.link(&l).await {
                Ok(()) => Some(l.user_id),
                Err(LinkError::Conflict) => None,
                Err(e) => panic!("{e}"),
            }
        }
    })
    .await;
    let winners: Vec<_> = wins.into_iter().flatten().collect();
    assert_eq!(winners.len(), 1);
    let got = s
        .identity_links
        .find(&name("corp"), "shared")
        .await
        .unwrap();
    assert_eq!(got.map(|l| l.user_id), Some(winners[0]));
}

/// `store_tokens` replaces a link's tokens (or clears them); `reseal`
/// replaces them only while they are still the old value.
#[contract]
pub async fn store_tokens_and_reseal_are_per_link(s: Stores) {
    let t = t0();
    let u = user("ann", t).id;
    let l = identity_link(u, "corp", "sub", t);
    s.identity_links.link(&l).await.unwrap();
    let other = identity_link(user("bob", t).id, "corp", "bob", t);
    s.identity_links.link(&other).await.unwrap();
    let fresh = Sealed::from_stored("k1:fresh");
    let later = t + Duration::hours(2);
    assert!(
        s.identity_links
            .store_tokens(u, &l.provider, Some(fresh.clone()), Some(later))
            .await
            .unwrap()
    );
    assert!(
        !s.identity_links
            .store_tokens(u, &name("nope"), Some(fresh.clone()), None)
            .await
            .unwrap()
    );
    let got = s
        .identity_links
        .find(&l.provider, "sub")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.tokens, Some(fresh.clone()));
    assert_eq!(got.tokens_expire_at, Some(later));
    let new = Sealed::from_stored("k2:new");
    assert!(
        !s.identity_links
            .reseal(u, &l.provider, &Sealed::from_stored("k1:stale"), &new)
            .await
            .unwrap()
    );
    assert!(
        s.identity_links
            .reseal(u, &l.provider, &fresh, &new)
            .await
            .unwrap()
    );
    let got = s
        .identity_links
        .find(&l.provider, "sub")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.tokens, Some(new));
    assert!(
        s.identity_links
            .store_tokens(u, &l.provider, None, None)
            .await
            .unwrap()
    );
    let got = s
        .identity_links
        .find(&l.provider, "sub")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.tokens, got.tokens_expire_at), (None, None));
    assert_eq!(
        s.identity_links.find(&l.provider, "bob").await.unwrap(),
        Some(other),
        "another user's link is untouched"
    );
}

/// `unlink` removes a link; with `keep_one` it keeps a user's only link.
#[contract]
pub async fn unlink_keeps_the_last_link_when_asked(s: Stores) {
    let t = t0();
    let u = user("ann", t).id;
    let a = identity_link(u, "alpha", "a", t);
    let b = identity_link(u, "beta", "b", t);
    s.identity_links.link(&a).await.unwrap();
    s.identity_links.link(&b).await.unwrap();
    let links = &s.identity_links;
    assert_eq!(
        links.unlink(u, &name("nope"), true).await.unwrap(),
        Unlinked::NotLinked
    );
    assert_eq!(
        links.unlink(u, &a.provider, true).await.unwrap(),
        Unlinked::Removed
    );
    assert_eq!(
        links.unlink(u, &b.provider, true).await.unwrap(),
        Unlinked::LastLink
    );
    assert_eq!(links.list_for_user(u).await.unwrap(), vec![b.clone()]);
    assert_eq!(
        links.unlink(u, &b.provider, false).await.unwrap(),
        Unlinked::Removed
    );
    assert_eq!(
        links.unlink(u, &b.provider, false).await.unwrap(),
        Unlinked::NotLinked
    );
    assert_eq!(links.find(&b.provider, "b").await.unwrap(), None);
    // The identity is free to link again.
    links
        .link(&identity_link(user("bob", t).id, "beta", "b", t))
        .await
        .unwrap();
}

/// Concurrent unlinks of a user's last two links with `keep_one`: exactly
/// one goes, the other stays.
#[contract]
pub async fn concurrent_unlinks_keep_one_link(s: Stores) {
    let t = t0();
    for round in 0..4 {
        let u = user(&format!("r{round}"), t).id;
        for p in ["alpha", "beta"] {
            s.identity_links
                .link(&identity_link(u, p, &format!("{p}-{round}"), t))
                .await
                .unwrap();
        }
        let outcomes = concurrently(2, |i| {
            let s = s.clone();
            async move {
                let p = name(["alpha", "beta"][i]);
                s.identity_links.unlink(u, &p, true).await.unwrap()
            }
        })
        .await;
        let removed = outcomes.iter().filter(|o| **o == Unlinked::Removed).count();
        assert_eq!(removed, 1, "round {round}: {outcomes:?}");
        assert_eq!(s.identity_links.list_for_user(u).await.unwrap().len(), 1);
    }
}

/// `delete_for_user` removes every link of the user only, and frees the
/// identities; `list_after` walks every link in (user, provider) order.
#[contract]
pub async fn links_delete_for_user_and_list_after(s: Stores) {
    let t = t0();
    let mut people: Vec<UserId> = (0..3).map(|i| user(&format!("w{i}"), t).id).collect();
    people.sort();
    let mut all = Vec::new();
    for (i, u) in people.iter().enumerate() {
        for p in ["beta", "alpha"] {
            let l = identity_link(*u, p, &format!("{p}{i}"), t);
            s.identity_links.link(&l).await.unwrap();
            all.push(l);
        }
    }
    all.sort_by(|a, b| (a.user_id, &a.provider).cmp(&(b.user_id, &b.provider)));
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = s.identity_links.list_after(after.clone(), 4).await.unwrap();
        assert!(page.len() <= 4);
        let Some(last) = page.last() else { break };
        after = Some((last.user_id, last.provider.clone()));
        walked.extend(page);
    }
    // Other tests' links may share the store only in engines without a
    // fresh store per test; keep to this test's users.
    walked.retain(|l| people.contains(&l.user_id));
    assert_eq!(walked, all);
    assert_eq!(
        s.identity_links.delete_for_user(people[0]).await.unwrap(),
        2
    );
    assert_eq!(
        s.identity_links.delete_for_user(people[0]).await.unwrap(),
        0
    );
    assert!(
        s.identity_links
            .list_for_user(people[0])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.identity_links
            .list_for_user(people[1])
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        s.identity_links
            .find(&name("alpha"), "alpha0")
            .await
            .unwrap(),
        None
    );
    s.identity_links
        .link(&identity_link(people[2], "gamma", "alpha0", t))
        .await
        .unwrap();
}

/// A flow is taken once, whole.
#[contract]
pub async fn flow_is_taken_once(s: Stores) {
    let t = t0();
    let sign_in = oauth_flow("corp", None, t);
    let linking = oauth_flow("corp", Some(user("ann", t).id), t);
    s.oauth_flows.insert(&sign_in).await.unwrap();
    s.oauth_flows.insert(&linking).await.unwrap();
    assert_eq!(
        s.oauth_flows.take(&sign_in.state_hash, t).await.unwrap(),
        Some(sign_in.clone())
    );
    assert_eq!(
        s.oauth_flows.take(&sign_in.state_hash, t).await.unwrap(),
        None
    );
    assert_eq!(
        s.oauth_flows.take(&linking.state_hash, t).await.unwrap(),
        Some(linking)
    );
    assert_eq!(s.oauth_flows.take(&token().1, t).await.unwrap(), None);
}

/// Of 8 concurrent takes of one flow exactly one gets it.
#[contract]
pub async fn concurrent_takes_of_a_flow_have_one_winner(s: Stores) {
    let t = t0();
    let f = oauth_flow("corp", None, t);
    s.oauth_flows.insert(&f).await.unwrap();
    let got = concurrently(8, |_| {
        let (s, h) = (s.clone(), f.state_hash.clone());
        async move { s.oauth_flows.take(&h, t).await.unwrap() }
    })
    .await;
    assert_eq!(got.into_iter().flatten().collect::<Vec<_>>(), vec![f]);
}

/// An expired flow is never taken, whether or not it was purged, and a
/// purge leaves live flows.
#[contract]
pub async fn expired_flow_is_never_taken(s: Stores) {
    let t = t0();
    let old = oauth_flow("corp", None, t - Duration::minutes(20));
    let live = oauth_flow("corp", None, t);
    s.oauth_flows.insert(&old).await.unwrap();
    s.oauth_flows.insert(&live).await.unwrap();
    assert_eq!(s.oauth_flows.take(&old.state_hash, t).await.unwrap(), None);
    s.oauth_flows
        .purge_expired(t, domain::PURGE_BATCH)
        .await
        .unwrap();
    assert_eq!(s.oauth_flows.take(&old.state_hash, t).await.unwrap(), None);
    assert_eq!(
        s.oauth_flows.take(&live.state_hash, t).await.unwrap(),
        Some(live)
    );
    // A flow is refused from its expiry on, not only after it.
    let edge = oauth_flow("corp", None, t);
    s.oauth_flows.insert(&edge).await.unwrap();
    assert_eq!(
        s.oauth_flows
            .take(&edge.state_hash, edge.expires_at)
            .await
            .unwrap(),
        None
    );
}

/// `delete_for_user` removes the user's linking flows only.
#[contract]
pub async fn flow_delete_for_user(s: Stores) {
    let t = t0();
    let (ann, bob) = (user("ann", t).id, user("bob", t).id);
    let mine = oauth_flow("corp", Some(ann), t);
    let theirs = oauth_flow("corp", Some(bob), t);
    let sign_in = oauth_flow("corp", None, t);
    for f in [&mine, &theirs, &sign_in] {
        s.oauth_flows.insert(f).await.unwrap();
    }
    assert_eq!(s.oauth_flows.delete_for_user(ann).await.unwrap(), 1);
    assert_eq!(s.oauth_flows.take(&mine.state_hash, t).await.unwrap(), None);
    assert!(
        s.oauth_flows
            .take(&theirs.state_hash, t)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        s.oauth_flows
            .take(&sign_in.state_hash, t)
            .await
            .unwrap()
            .is_some()
    );
}

/// An exchange code is a one-time token of its own purpose: another
/// purpose's lookup does not spend it, and it is consumed once under
/// concurrency.
#[contract]
pub async fn exchange_code_is_single_use(s: Stores) {
    let t = t0();
    let mut code = one_time(user("ann", t).id, TokenPurpose::OAuthExchange, t);
    code.expires_at = t + Duration::seconds(60);
    s.one_time_tokens.insert(&code).await.unwrap();
    assert_eq!(
        s.one_time_tokens
            .consume(&code.token_hash, TokenPurpose::MfaSignIn, t)
            .await
            .unwrap(),
        None
    );
    let got = concurrently(8, |_| {
        let (s, h) = (s.clone(), code.token_hash.clone());
        async move {
            s.one_time_tokens
                .consume(&h, TokenPurpose::OAuthExchange, t)
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(got.into_iter().flatten().collect::<Vec<_>>(), vec![code]);
}
