//! `MfaRepository` contracts, and `OneTimeTokenRepository::find`.

use crate::contract;
use std::collections::BTreeSet;

use domain::Stores;
use domain::*;

use crate::fixtures::*;

fn set(codes: &[TokenHash]) -> BTreeSet<String> {
    codes.iter().map(|c| c.as_str().to_owned()).collect()
}

/// A confirmed factor of a new user, with `codes` as its backup codes.
async fn confirmed(s: &Stores, codes: &[TokenHash]) -> MfaFactor {
    let t = t0();
    let f = mfa_factor(user("ann", t).id, t);
    assert!(s.mfa.begin(&f).await.unwrap());
    assert!(s.mfa.confirm(f.user_id, f.id, 100, codes, t).await.unwrap());
    s.mfa.get(f.user_id).await.unwrap().unwrap()
}

/// `begin` stores a pending factor, replaces a pending one, and refuses
/// (changing nothing) once one is confirmed; `confirm` needs the pending
/// factor's id; `get` reads back what was written.
#[contract]
pub async fn factor_begins_pending_and_confirms_by_id(s: Stores) {
    let t = t0();
    let u = user("ann", t).id;
    assert_eq!(s.mfa.get(u).await.unwrap(), None);
    let first = mfa_factor(u, t);
    assert!(s.mfa.begin(&first).await.unwrap());
    assert_eq!(s.mfa.get(u).await.unwrap(), Some(first.clone()));
    let second = mfa_factor(u, t);
    assert!(s.mfa.begin(&second).await.unwrap());
    assert_eq!(s.mfa.get(u).await.unwrap(), Some(second.clone()));
    let codes = code_hashes(10);
    assert!(!s.mfa.confirm(u, first.id, 7, &codes, t).await.unwrap());
    assert!(s.mfa.confirm(u, second.id, 7, &codes, t).await.unwrap());
    let got = s.mfa.get(u).await.unwrap().unwrap();
    assert_eq!(got.confirmed_at, Some(t));
    assert_eq!(got.last_step, Some(7));
    assert_eq!(got.secret, second.secret);
    assert_eq!(set(&got.backup_codes), set(&codes));
    assert!(!s.mfa.confirm(u, second.id, 8, &[], t).await.unwrap());
    assert!(!s.mfa.begin(&mfa_factor(u, t)).await.unwrap());
    assert_eq!(s.mfa.get(u).await.unwrap(), Some(got));
}

/// Of 8 concurrent confirmations of one pending factor exactly one wins.
#[contract]
pub async fn concurrent_confirms_have_one_winner(s: Stores) {
    let t = t0();
    let f = mfa_factor(user("ann", t).id, t);
    s.mfa.begin(&f).await.unwrap();
    let wins = concurrently(8, |i| {
        let (s, f) = (s.clone(), f.clone());
        async move {
            let codes = code_hashes(3);
            let won = s
                .mfa
                .confirm(f.user_id, f.id, i as i64, &codes, t)
                .await
                .unwrap();
            won.then_some(codes)
        }
    })
    .await;
    let winners: Vec<_> = wins.into_iter().flatten().collect();
    assert_eq!(winners.len(), 1);
    let got = s.mfa.get(f.user_id).await.unwrap().unwrap();
    assert_eq!(set(&got.backup_codes), set(&winners[0]));
}

/// `accept_step` takes a step only above the last one, of a confirmed
/// factor with that id.
#[contract]
pub async fn accept_step_refuses_replay_and_earlier_steps(s: Stores) {
    let t = t0();
    let u = user("ann", t).id;
    let pending = mfa_factor(u, t);
    s.mfa.begin(&pending).await.unwrap();
    assert!(!s.mfa.accept_step(u, pending.id, 200).await.unwrap());
    s.mfa.confirm(u, pending.id, 100, &[], t).await.unwrap();
    assert!(!s.mfa.accept_step(u, pending.id, 100).await.unwrap());
    assert!(!s.mfa.accept_step(u, pending.id, 99).await.unwrap());
    assert!(s.mfa.accept_step(u, pending.id, 101).await.unwrap());
    assert!(!s.mfa.accept_step(u, pending.id, 101).await.unwrap());
    let other = MfaFactorId::from_uuid(id());
    assert!(!s.mfa.accept_step(u, other, 500).await.unwrap());
    assert_eq!(s.mfa.get(u).await.unwrap().unwrap().last_step, Some(101));
}

/// Of 12 concurrent acceptances of one step exactly one wins.
#[contract]
pub async fn concurrent_accepts_of_one_step_have_one_winner(s: Stores) {
    let f = confirmed(&s, &[]).await;
    let wins = concurrently(12, |_| {
        let (s, f) = (s.clone(), f.clone());
        async move { s.mfa.accept_step(f.user_id, f.id, 101).await.unwrap() }
    })
    .await;
    assert_eq!(wins.iter().filter(|w| **w).count(), 1);
}

/// A backup code is removed by its use: of 12 concurrent uses one wins,
/// and the other codes stay.
#[contract]
pub async fn backup_code_is_used_once(s: Stores) {
    let codes = code_hashes(4);
    let f = confirmed(&s, &codes).await;
    let code = codes[1].clone();
    let wins = concurrently(12, |_| {
        let (s, f, code) = (s.clone(), f.clone(), code.clone());
        async move { s.mfa.use_backup_code(f.user_id, f.id, &code).await.unwrap() }
    })
    .await;
    assert_eq!(wins.iter().filter(|w| **w).count(), 1);
    let left = s.mfa.get(f.user_id).await.unwrap().unwrap().backup_codes;
    assert_eq!(
        set(&left),
        set(&[codes[0].clone(), codes[2].clone(), codes[3].clone()])
    );
    let other = MfaFactorId::from_uuid(id());
    assert!(
        !s.mfa
            .use_backup_code(f.user_id, other, &codes[0])
            .await
            .unwrap()
    );
    assert!(
        !s.mfa
            .use_backup_code(f.user_id, f.id, &token().1)
            .await
            .unwrap()
    );
}

/// `replace_backup_codes` voids the old set; of concurrent replacements
/// exactly one set survives whole.
#[contract]
pub async fn replace_backup_codes_leaves_one_whole_set(s: Stores) {
    let old = code_hashes(3);
    let f = confirmed(&s, &old).await;
    let sets = concurrently(6, |_| {
        let (s, f) = (s.clone(), f.clone());
        async move {
            let codes = code_hashes(3);
            assert!(
                s.mfa
                    .replace_backup_codes(f.user_id, f.id, &codes)
                    .await
                    .unwrap()
            );
            set(&codes)
        }
    })
    .await;
    let now = set(&s.mfa.get(f.user_id).await.unwrap().unwrap().backup_codes);
    assert!(sets.contains(&now), "a mixture of sets: {now:?}");
    assert!(
        !s.mfa
            .use_backup_code(f.user_id, f.id, &old[0])
            .await
            .unwrap()
    );
    let pending = mfa_factor(user("bob", t0()).id, t0());
    s.mfa.begin(&pending).await.unwrap();
    assert!(
        !s.mfa
            .replace_backup_codes(pending.user_id, pending.id, &old)
            .await
            .unwrap()
    );
}

/// `reseal` replaces the secret only while it is still the old one.
#[contract]
pub async fn reseal_is_compare_and_set(s: Stores) {
    let f = confirmed(&s, &[]).await;
    let new = Sealed::from_stored("k2:abcdef");
    assert!(
        s.mfa
            .reseal(f.user_id, f.id, &f.secret, &new)
            .await
            .unwrap()
    );
    assert!(
        !s.mfa
            .reseal(f.user_id, f.id, &f.secret, &new)
            .await
            .unwrap()
    );
    let got = s.mfa.get(f.user_id).await.unwrap().unwrap();
    assert_eq!(got.secret, new);
    assert_eq!(got.last_step, f.last_step);
}

/// `delete` needs the factor's id and takes the backup codes with it;
/// `delete_for_user` counts what it removed.
#[contract]
pub async fn delete_needs_the_id_and_takes_the_codes(s: Stores) {
    let codes = code_hashes(2);
    let f = confirmed(&s, &codes).await;
    assert!(
        !s.mfa
            .delete(f.user_id, MfaFactorId::from_uuid(id()))
            .await
            .unwrap()
    );
    assert!(s.mfa.delete(f.user_id, f.id).await.unwrap());
    assert_eq!(s.mfa.get(f.user_id).await.unwrap(), None);
    assert!(!s.mfa.delete(f.user_id, f.id).await.unwrap());
    // A new enrolment starts without the old codes.
    let again = mfa_factor(f.user_id, t0());
    s.mfa.begin(&again).await.unwrap();
    s.mfa
        .confirm(f.user_id, again.id, 1, &[], t0())
        .await
        .unwrap();
    assert!(
        !s.mfa
            .use_backup_code(f.user_id, again.id, &codes[0])
            .await
            .unwrap()
    );
    assert_eq!(s.mfa.delete_for_user(f.user_id).await.unwrap(), 1);
    assert_eq!(s.mfa.delete_for_user(f.user_id).await.unwrap(), 0);
}

/// `list_after` pages through every factor in ascending user id order.
#[contract]
pub async fn list_after_walks_every_factor_in_user_order(s: Stores) {
    let t = t0();
    let mut users: Vec<UserId> = Vec::new();
    for i in 0..5 {
        let u = user(&format!("u{i}"), t).id;
        s.mfa.begin(&mfa_factor(u, t)).await.unwrap();
        users.push(u);
    }
    users.sort();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = s.mfa.list_after(after, 2).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(last.user_id);
        seen.extend(page.iter().map(|f| f.user_id));
    }
    assert_eq!(seen, users);
}

/// `find` shows an unexpired token of its purpose without consuming it.
#[contract]
pub async fn one_time_find_does_not_consume(s: Stores) {
    let t = t0();
    let tok = one_time(user("ann", t).id, TokenPurpose::MfaSignIn, t);
    s.one_time_tokens.insert(&tok).await.unwrap();
    let find = |purpose, at| {
        let (s, hash) = (s.clone(), tok.token_hash.clone());
        async move { s.one_time_tokens.find(&hash, purpose, at).await.unwrap() }
    };
    assert_eq!(find(TokenPurpose::MfaSignIn, t).await, Some(tok.clone()));
    assert_eq!(find(TokenPurpose::MfaSignIn, t).await, Some(tok.clone()));
    assert_eq!(find(TokenPurpose::PasswordReset, t).await, None);
    assert_eq!(find(TokenPurpose::MfaSignIn, tok.expires_at).await, None);
    let taken = s
        .one_time_tokens
        .consume(&tok.token_hash, TokenPurpose::MfaSignIn, t)
        .await
        .unwrap();
    assert_eq!(taken, Some(tok.clone()));
    assert_eq!(find(TokenPurpose::MfaSignIn, t).await, None);
}
