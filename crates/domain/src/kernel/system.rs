//! Small ports for the outside world that every feature uses: time, ids and
//! randomness. They keep every rule in `domain` deterministic under test.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::Token;

/// The current time.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, in UTC. MUST have at most millisecond precision (stores keep
    /// milliseconds; see [`crate::truncate_to_millis`]).
    fn now(&self) -> OffsetDateTime;
}

/// New unique ids.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait IdGenerator: Send + Sync {
    /// A new, never-before-returned UUID (v7 preferred for index locality).
    fn new_id(&self) -> Uuid;
}

/// New secret tokens.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait TokenGenerator: Send + Sync {
    /// A new token from a cryptographically secure RNG (256 bits).
    fn generate(&self) -> Token;
}
