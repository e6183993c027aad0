//! `CandidateRepository`, `SessionRepository` and `OneTimeTokenRepository`
//! contracts, one file per port.

mod candidates;
mod one_time;
mod sessions;

pub use candidates::*;
pub use one_time::*;
pub use sessions::*;
