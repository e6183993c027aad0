//! Announcements that what authenticated a caller has changed, for servers
//! that cache authenticated principals: every instance over the same store
//! hears every change, whichever instance made it.

use std::fmt;

use async_trait::async_trait;

use crate::{AuthSessionId, StoreError, UserId};

/// What a cached principal may have to be dropped for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthChange {
    /// One session ended or changed its token (sign-out, revocation, a
    /// refresh that rotated its access token).
    Session(AuthSessionId),
    /// Anything about one user: the account (password, lock, verification,
    /// profile, deletion), all of its sessions, or the roles it holds.
    User(UserId),
    /// A role's definition changed: every principal may hold it.
    Everyone,
    /// The runtime settings changed: read them again (no principal is
    /// concerned).
    Settings,
}

impl AuthChange {
    /// The change as a short text (`s <uuid>`, `u <uuid>`, `*` or
    /// `settings`), the form
    /// the adapters store and send.
    pub fn encode(&self) -> String {
        self.to_string()
    }

    /// Reads what [`AuthChange::encode`] wrote; `None` for anything else.
    pub fn decode(text: &str) -> Option<Self> {
        match text.split_once(' ') {
            Some(("s", id)) => id.parse().ok().map(AuthChange::Session),
            Some(("u", id)) => id.parse().ok().map(AuthChange::User),
            None if text == "*" => Some(AuthChange::Everyone),
            None if text == "settings" => Some(AuthChange::Settings),
            _ => None,
        }
    }
}

impl fmt::Display for AuthChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthChange::Session(id) => write!(f, "s {id}"),
            AuthChange::User(id) => write!(f, "u {id}"),
            AuthChange::Everyone => f.write_str("*"),
            AuthChange::Settings => f.write_str("settings"),
        }
    }
}

/// Changes to authentication, shared by every process using the same store.
///
/// Dropping a cached principal twice costs nothing, so the feed delivers at
/// least once: a change MAY arrive more than once, and one published before
/// a subscription started MAY arrive on it. What it MUST NOT do is lose one
/// silently: a subscription that may have missed changes reports an error,
/// and its reader drops everything it cached.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait AuthChangeFeed: Send + Sync {
    /// Announces `change`. Every subscription open when this returns, in
    /// this process or any other over the same store, MUST receive it
    /// within a few seconds (stores without push MAY poll, at least once a
    /// second); concurrent publishers' changes MUST all arrive.
    async fn publish(&self, change: AuthChange) -> Result<(), StoreError>;

    /// Starts listening: see [`AuthChangeFeed::publish`] for what arrives.
    async fn subscribe(&self) -> Result<Box<dyn AuthChangeSubscription>, StoreError>;
}

/// An open subscription to an [`AuthChangeFeed`].
#[async_trait]
pub trait AuthChangeSubscription: Send {
    /// Waits for the next change. An error means the subscription is broken
    /// and may have missed changes: drop what depends on them and subscribe
    /// again.
    async fn next(&mut self) -> Result<AuthChange, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_round_trip_through_their_text_and_junk_is_refused() {
        let id = uuid::Uuid::from_u128(7);
        for change in [
            AuthChange::Session(AuthSessionId::from_uuid(id)),
            AuthChange::User(UserId::from_uuid(id)),
            AuthChange::Everyone,
            AuthChange::Settings,
        ] {
            assert_eq!(AuthChange::decode(&change.encode()), Some(change));
        }
        for junk in ["", "s", "s nope", "x 1", "**", &format!("u {id} more")] {
            assert_eq!(AuthChange::decode(junk), None, "{junk:?}");
        }
    }
}
