//! The contract suite: one async test per MUST sentence in the rustdoc of
//! `domain`'s ports. Every Portico adapter runs all of it against a real
//! server; an embedder's own adapter can run it too.
//!
//! Layout: [`fixtures`] builds records; one module per port family
//! ([`users`], [`accounts`], [`auth_changes`], [`rbac`], [`content`], [`notifications`],
//! [`uploads`], [`payments`], [`rate_limit`], [`jobs`], [`mail`], [`mfa`], [`identity`], [`cascade`]) holds the tests, each
//! a `pub async fn(Stores)`; [`contract_suite!`] expands into one
//! `#[tokio::test]` per test function. [`system`] holds the contracts of the
//! small ports (`PasswordHasher`, `TokenGenerator`, `IdGenerator`, `Clock`),
//! which take the implementation itself.
//!
//! # Running the suite against your own adapter
//!
//! Implement [`TestStore`] for a handle on a fresh, isolated store (a new
//! database, schema or key prefix) and write an async constructor for it. Then,
//! in a test file of your crate (with `contract-tests` and `tokio` as
//! dev-dependencies):
//!
//! ```ignore
//! async fn fresh() -> Box<dyn contract_tests::TestStore> {
//!     Box::new(MyTestStore::connect_fresh().await)
//! }
//! contract_tests::contract_suite!(fresh);
//! ```
//!
//! Each generated test calls `fresh()`, runs one contract against
//! `TestStore::stores()`, then calls `TestStore::cleanup()` even if the
//! contract failed. Tests pass explicit `now` values relative to the real
//! clock, so stores that expire records natively agree with them.

use std::panic::AssertUnwindSafe;

use async_trait::async_trait;
use domain::Stores;
use futures::FutureExt;

pub mod accounts;
pub mod auth_changes;
pub mod cascade;
pub mod content;
pub mod fixtures;
pub mod identity;
pub mod jobs;
pub mod mail;
pub mod mfa;
pub mod notifications;
pub mod payments;
pub mod rate_limit;
pub mod rbac;
pub mod system;
pub mod uploads;
pub mod users;

/// A fresh, empty store under test.
#[async_trait]
pub trait TestStore: Send + Sync {
    /// Every port, backed by this store.
    fn stores(&self) -> Stores;
    /// Removes the store (drops the database, schema or keys).
    async fn cleanup(self: Box<Self>);
}

/// Runs one contract against a fresh store and cleans up whether it passed or not.
pub async fn run<F, Fut, C, CFut>(fresh: F, contract: C)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Box<dyn TestStore>>,
    C: FnOnce(Stores) -> CFut,
    CFut: std::future::Future<Output = ()>,
{
    let store = fresh().await;
    let outcome = AssertUnwindSafe(contract(store.stores()))
        .catch_unwind()
        .await;
    store.cleanup().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Expands into one `#[tokio::test]` per contract test, each on a fresh store
/// from `$fresh` (an `async fn() -> Box<dyn TestStore>` in scope at the call
/// site). Tests are grouped in one module per port family, so their names read
/// `users::email_taken_case_insensitively`.
#[macro_export]
macro_rules! contract_suite {
    ($fresh:ident) => {
        $crate::__contract_modules!($fresh;
            users: create_then_get_roundtrips, every_accepted_string_roundtrips_exactly, get_missing_is_none, email_taken_case_insensitively,
                username_taken, concurrent_creates_with_one_email_make_one_user, find_by_email_and_username,
                update_fields_writes_only_what_it_names, update_missing_is_not_found,
                update_conditions_write_nothing_when_they_fail, concurrent_writers_of_different_fields_all_survive,
                concurrent_failed_logins_count_exactly, counter_writes_on_missing_user_are_not_found,
                record_sign_in_resets_lockout, list_is_newest_first_with_cursor, delete_removes_only_that_user;
            accounts: candidate_is_taken_once, candidate_put_replaces_same_email, expired_candidate_is_not_taken,
                concurrent_candidate_takes_have_one_winner, candidate_purge_keeps_unexpired,
                session_roundtrips_and_missing_is_none, find_active_hides_expired_and_revoked,
                touch_slides_active_sessions_only, rotate_replaces_the_access_token,
                list_active_is_own_newest_first, revoke_is_owner_only_and_once, revoke_all_counts,
                refresh_token_is_fresh_then_reused, concurrent_refresh_has_one_fresh,
                expired_or_unknown_refresh_is_invalid, session_purge_removes_after_refresh_expiry,
                session_delete_for_user, one_time_token_is_consumed_once_for_its_purpose,
                concurrent_one_time_consumes_have_one_winner, one_time_delete_for_user_by_purpose,
                one_time_purge_expired, one_time_tries_count_on_the_token, concurrent_tries_count_exactly;
            rbac: role_create_get_list_and_conflict, role_update_and_missing,
                concurrent_role_edits_of_different_fields_survive, role_delete_removes_grants,
                grant_is_idempotent_and_needs_the_role, revoke_needs_a_grant, role_delete_for_user,
                revoke_unless_last_keeps_the_last_holder, concurrent_revocations_keep_a_holder;
            content: create_get_and_list_own_newest_first, rename_and_missing, data_put_get_replace_list_delete,
                data_put_within_limits_new_keys_only, concurrent_new_keys_stay_within_the_limit,
                message_marks_unread_atomically_and_read_clears, get_message_is_scoped_to_its_session,
                messages_paginate_newest_first, delete_cascades_to_data_and_messages, content_delete_for_user;
            notifications: get_is_owner_only_and_hides_expired, list_filters_and_paginates,
                mark_seen_keeps_first_time_and_is_owner_only, mark_all_seen_counts_changes,
                response_and_delete_are_owner_only, purge_removes_expired_only, notification_delete_for_user;
            uploads: create_get_and_key_conflict, complete_is_compare_and_set, list_for_user_paginates,
                list_expired_is_pending_only_oldest_first, references_and_delete, upload_delete_for_user;
            payments: create_get_roundtrips_with_beneficiaries, duplicate_key_returns_the_existing_payment,
                concurrent_creates_with_one_key_make_one_payment, list_includes_payer_and_beneficiary_payments,
                transition_is_compare_and_set, concurrent_transitions_have_one_winner;
            rate_limit: hit_counts_within_a_window_and_restarts_in_the_next, concurrent_hits_count_exactly,
                hit_many_counts_each_window_in_order, concurrent_hit_many_count_exactly,
                peek_does_not_count_and_forget_resets, all_time_window_never_resets, purge_removes_ended_windows,
                give_back_takes_one_hit_back_never_below_zero, add_batch_sums_into_each_window,
                concurrent_batches_and_hits_sum_exactly;
            cascade: deleting_a_users_records_leaves_others_intact;
            jobs: lease_is_exclusive_until_expiry_and_renewable, lease_release_is_holder_only,
                concurrent_lease_takes_have_one_winner, feed_announces_new_notifications,
                feed_announces_a_burst_at_one_instant, feed_skips_what_came_before_and_never_repeats;
            auth_changes: published_changes_reach_every_subscription, concurrent_publishes_all_arrive,
                a_subscription_keeps_delivering_after_a_quiet_spell;
            mail: queued_mail_of_every_kind_roundtrips, claim_hides_until_and_retry_reschedules,
                concurrent_claims_never_share_a_message;
            mfa: factor_begins_pending_and_confirms_by_id, concurrent_confirms_have_one_winner,
                accept_step_refuses_replay_and_earlier_steps, concurrent_accepts_of_one_step_have_one_winner,
                backup_code_is_used_once, replace_backup_codes_leaves_one_whole_set,
                reseal_is_compare_and_set, delete_needs_the_id_and_takes_the_codes,
                list_after_walks_every_factor_in_user_order, one_time_find_does_not_consume;
            identity: link_find_and_list_roundtrip, link_refuses_a_taken_identity_or_a_second_per_provider,
                concurrent_links_of_one_identity_have_one_winner, store_tokens_and_reseal_are_per_link,
                unlink_keeps_the_last_link_when_asked, concurrent_unlinks_keep_one_link,
                links_delete_for_user_and_list_after, flow_is_taken_once,
                concurrent_takes_of_a_flow_have_one_winner, expired_flow_is_never_taken,
                flow_delete_for_user, exchange_code_is_single_use;
        );
    };
}

#[macro_export]
#[doc(hidden)]
macro_rules! __contract_modules {
    ($fresh:ident; $($module:ident : $($test:ident),+ ;)+) => {
        $(
            mod $module {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $test() {
                        $crate::run(super::$fresh, $crate::$module::$test).await;
                    }
                )+
            }
        )+
    };
}
