//! Portico's compiled examples, run by `.ci/run`:
//!
//! - `cargo run -p portico-examples --example embed`: a small service that
//!   embeds `domain` over SQLite with no web framework: it registers a user,
//!   verifies the address from the mail it sends, signs in, authenticates
//!   the token into a `Principal` and creates a content session.
//! - `cargo run -p portico-examples --example contract`: the contract suite
//!   against the in-memory adapter, the way an embedder tests an adapter of
//!   their own (`docs/writing-an-adapter.md`).
