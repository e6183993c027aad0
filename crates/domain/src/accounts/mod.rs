//! Accounts: users and their addresses, names and passwords; registration
//! through a verified address; password reset and change; the own profile,
//! export and deletion; the administrator's user management; and the guard
//! that limits password and code guessing.

mod admin;
mod candidates;
mod email;
pub(crate) mod guard;
mod hasher;
mod origin;
mod password;
mod passwords;
mod policy;
mod profile;
mod public_profiles;
mod registration;
mod standing;
mod username;
mod users;

pub use admin::*;
pub use candidates::*;
pub use email::{Email, EmailError};
pub use hasher::*;
pub use origin::*;
pub use password::{Password, PasswordError, PasswordHash};
pub use passwords::*;
pub use policy::*;
pub use profile::*;
pub use public_profiles::*;
pub use registration::*;
pub use standing::*;
pub use username::{Username, UsernameError};
pub use users::*;
