use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a role or permission name is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Wrong length.
    #[error("name must be {0} to {1} characters long")]
    Length(usize, usize),
    /// Characters outside the alphabet, or a malformed `resource:action` pair.
    #[error("name has an invalid form")]
    Invalid,
}

/// A role name: 2–64 of `a-z 0-9 _ -`. `admin` and `user` are built in.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoleName(String);

impl RoleName {
    /// The built-in administrator role; holds every permission (`*`).
    pub const ADMIN: &'static str = "admin";
    /// The built-in role every verified user receives.
    pub const USER: &'static str = "user";

    /// Parses a role name (lowercased).
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let s = input.trim().to_ascii_lowercase();
        if !(2..=64).contains(&s.len()) {
            return Err(NameError::Length(2, 64));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        {
            return Err(NameError::Invalid);
        }
        Ok(Self(s))
    }
    /// The `admin` role name.
    pub fn admin() -> Self {
        Self(Self::ADMIN.to_owned())
    }
    /// The `user` role name.
    pub fn user() -> Self {
        Self(Self::USER.to_owned())
    }
    /// Whether this is `admin` or `user`.
    pub fn is_builtin(&self) -> bool {
        self.0 == Self::ADMIN || self.0 == Self::USER
    }
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A permission: `*`, or `resource:action` where each part is 1–63 of
/// `a-z 0-9 _ - .` and `action` may be `*` (every action on the resource).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Permission(Cow<'static, str>);

impl Permission {
    /// Every permission.
    pub const ALL: Self = Self(Cow::Borrowed("*"));
    /// Read roles and grants.
    pub const ROLES_READ: Self = Self(Cow::Borrowed("roles:read"));
    /// Create, change and delete roles; grant and revoke them.
    pub const ROLES_WRITE: Self = Self(Cow::Borrowed("roles:write"));
    /// List and read any user.
    pub const USERS_READ: Self = Self(Cow::Borrowed("users:read"));
    /// Lock, unlock and verify users.
    pub const USERS_WRITE: Self = Self(Cow::Borrowed("users:write"));
    /// Read every user's activity events.
    pub const ACTIVITY_READ: Self = Self(Cow::Borrowed("activity:read"));
    /// Read the statistics.
    pub const STATS_READ: Self = Self(Cow::Borrowed("stats:read"));
    /// Create, change and delete plans.
    pub const PLANS_WRITE: Self = Self(Cow::Borrowed("plans:write"));
    /// Read and change the runtime settings.
    pub const SETTINGS_WRITE: Self = Self(Cow::Borrowed("settings:write"));
    /// Sign in to the admin console.
    pub const CONSOLE_ACCESS: Self = Self(Cow::Borrowed("console:access"));
    /// Create notifications for any user.
    pub const NOTIFICATIONS_WRITE: Self = Self(Cow::Borrowed("notifications:write"));
    /// Post messages as the assistant or the system.
    pub const CONTENT_POST_AS: Self = Self(Cow::Borrowed("content:post_as"));
    /// List and download backups (every record of every store).
    pub const BACKUPS_READ: Self = Self(Cow::Borrowed("backups:read"));
    /// Start a backup.
    pub const BACKUPS_WRITE: Self = Self(Cow::Borrowed("backups:write"));
    /// Manage outgoing webhooks (whose events name every account's changes).
    pub const WEBHOOKS_WRITE: Self = Self(Cow::Borrowed("webhooks:write"));

    /// Remove any message of a conversation between users (they become tombstones).
    pub const MESSAGES_MODERATE: Self = Self(Cow::Borrowed("messages:moderate"));

    /// Parses a permission.
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let s = input.trim().to_ascii_lowercase();
        if s == "*" {
            return Ok(Self(Cow::Owned(s)));
        }
        let part_ok = |p: &str| {
            (1..=63).contains(&p.len())
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.".contains(c))
        };
        match s.split_once(':') {
            Some((res, act)) if part_ok(res) && (act == "*" || part_ok(act)) => {
                Ok(Self(Cow::Owned(s)))
            }
            _ => Err(NameError::Invalid),
        }
    }

    /// Whether holding `self` allows `wanted`: equal, `*`, or `resource:*` for that resource.
    pub fn grants(&self, wanted: &Permission) -> bool {
        if self.0 == "*" || self == wanted {
            return true;
        }
        match (self.0.split_once(':'), wanted.0.split_once(':')) {
            (Some((res, "*")), Some((wanted_res, _))) => res == wanted_res,
            _ => false,
        }
    }

    /// The permission string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! name_impls {
    ($($t:ident),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.0) }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($t), self.0)
            }
        }
        impl TryFrom<String> for $t {
            type Error = NameError;
            fn try_from(value: String) -> Result<Self, Self::Error> { Self::parse(&value) }
        }
        impl From<$t> for String {
            fn from(value: $t) -> Self { value.0.into() }
        }
    )*};
}
name_impls!(RoleName, Permission);

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Permission {
        Permission::parse(s).unwrap()
    }

    #[test]
    fn wildcards_grant_as_documented() {
        assert!(p("*").grants(&p("users:delete")));
        assert!(p("users:*").grants(&p("users:delete")));
        assert!(!p("users:*").grants(&p("payments:read")));
        assert!(p("users:read").grants(&p("users:read")));
        assert!(!p("users:read").grants(&p("users:write")));
    }

    #[test]
    fn names_parse() {
        assert!(RoleName::parse("Moderator").unwrap().as_str() == "moderator");
        assert!(RoleName::parse("a").is_err());
        assert!(RoleName::admin().is_builtin());
        assert!(Permission::parse("users").is_err());
        assert!(Permission::parse("users:read:all").is_err());
        assert!(Permission::parse(":read").is_err());
    }
}
