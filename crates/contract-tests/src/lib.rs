//! The contract suite: one async test per MUST sentence in the rustdoc of
//! `domain`'s ports. Every Portico adapter runs all of it against a real
//! server; an embedder's own adapter can run it too.
//!
//! Layout: [`fixtures`] builds records; one module per port family
//! ([`users`], [`accounts`], [`auth_changes`], [`rbac`], [`content`],
//! [`notifications`], [`uploads`], [`payments`], [`rate_limit`], [`jobs`],
//! [`mail`], [`mfa`], [`identity`], [`cascade`]) holds the rules, each an
//! `async fn(Stores)` marked `#[contract]`, which registers it: a new rule
//! is written in one place and every adapter runs it. [`system`] holds the
//! contracts of the small ports (`PasswordHasher`, `TokenGenerator`,
//! `IdGenerator`, `Clock`), which take the implementation itself.
//!
//! # Running the suite against your own adapter
//!
//! Implement [`TestStore`] for a handle on a fresh, isolated store (a new
//! database, schema or key prefix) and write an async constructor for it.
//! Then add a test target without the standard harness to your crate (with
//! `contract-tests` as a dev-dependency):
//!
//! ```toml
//! [[test]]
//! name = "contract"
//! harness = false
//! ```
//!
//! ```ignore
//! // tests/contract.rs
//! fn main() {
//!     contract_tests::run_suite(|| async {
//!         Box::new(MyTestStore::connect_fresh().await) as Box<dyn contract_tests::TestStore>
//!     });
//! }
//! ```
//!
//! `cargo test` (or `cargo nextest run`) then lists one test per rule, named
//! after its module (`users::email_taken_case_insensitively`), and takes the
//! usual filters and flags. Each test calls the constructor, runs its rule
//! against `TestStore::stores()` on a multi-threaded runtime, then calls
//! `TestStore::cleanup()` even if the rule failed. Rules pass explicit `now`
//! values relative to the real clock, so stores that expire records
//! natively agree with them. The `contract` example of `adapter-memory`
//! runs the whole suite this way.

// The `#[contract]` attribute names this crate by its path, also inside it.
extern crate self as contract_tests;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;

use async_trait::async_trait;
use domain::Stores;
use futures::FutureExt;
#[doc(hidden)]
pub use inventory;
pub use portico_macros::contract;

pub mod accounts;
pub mod activity;
pub mod api_keys;
pub mod auth_changes;
pub mod cascade;
pub mod content;
pub mod conversations;
pub mod fixtures;
pub mod identity;
pub mod jobs;
pub mod mail;
pub mod mfa;
pub mod notifications;
pub mod passkeys;
pub mod payments;
pub mod plans;
pub mod rate_limit;
pub mod rbac;
pub mod settings;
pub mod standing;
pub mod stats;
pub mod system;
pub mod transfer;
pub mod uploads;
pub mod users;
pub mod webhooks;

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

/// A rule's test, as `#[contract]` registers it.
pub type RuleFn = fn(Stores) -> Pin<Box<dyn Future<Output = ()>>>;

/// One rule of the contract suite, registered by `#[contract]`.
pub struct Rule {
    module: &'static str,
    name: &'static str,
    run: RuleFn,
}

impl Rule {
    /// A rule named `name` in module `module` (a `module_path!()`).
    pub const fn new(module: &'static str, name: &'static str, run: RuleFn) -> Self {
        Self { module, name, run }
    }

    /// `module::name`, the module path without this crate's name.
    pub fn test_name(&self) -> String {
        let module = self
            .module
            .strip_prefix("contract_tests::")
            .unwrap_or(self.module);
        format!("{module}::{}", self.name)
    }
}

inventory::collect!(Rule);

/// Every registered rule, ordered by test name.
pub fn rules() -> Vec<&'static Rule> {
    let mut rules: Vec<&'static Rule> = inventory::iter::<Rule>.into_iter().collect();
    rules.sort_by_key(|r| r.test_name());
    rules
}

/// The `main` of a contract test target (`harness = false`): one test per
/// registered rule, each on a fresh store from `fresh`, with the standard
/// test runner's command line (filters, `--list`, `--exact`, `--ignored`,
/// `--test-threads`), so that `cargo test` and `cargo nextest` run it as
/// they run any test target. Exits with the runner's status.
pub fn run_suite<F, Fut>(fresh: F) -> !
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Box<dyn TestStore>>,
{
    let args = libtest_mimic::Arguments::from_args();
    let trials = rules()
        .into_iter()
        .map(|rule| {
            let fresh = fresh.clone();
            libtest_mimic::Trial::test(rule.test_name(), move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(4)
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start a runtime: {e}"))?;
                runtime.block_on(run(fresh, rule.run));
                Ok(())
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit()
}

#[cfg(test)]
mod tests {
    /// Every `#[contract]` in the sources is registered: the linker kept
    /// them all, and nothing registers twice.
    #[test]
    fn every_marked_rule_is_registered_once() {
        fn count(dir: &std::path::Path) -> usize {
            let mut n = 0;
            for entry in std::fs::read_dir(dir).expect("source folder") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    n += count(&path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("source");
                    n += text.lines().filter(|l| l.trim() == "#[contract]").count();
                }
            }
            n
        }
        let marked = count(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
        let names: std::collections::BTreeSet<String> =
            super::rules().iter().map(|r| r.test_name()).collect();
        assert!(marked > 100, "found only {marked} rules");
        assert_eq!(names.len(), marked);
        assert_eq!(super::rules().len(), marked);
    }
}
