//! Who is making a request, and what they may do: the authenticated user,
//! their session and their roles, resolved once per request. Services that
//! need a right take the [`Principal`] and check it themselves, so an
//! embedder calling the domain directly cannot skip a check.
//!
//! A principal is a capability only the domain mints: it comes from
//! [`crate::Authentication::authenticate`] (or `resolve`), its fields are
//! private, and nothing outside this crate can build one or change whose it
//! is or what it holds. Holding one is proof of an authenticated session.

use crate::{AuthSession, Permission, Role, RoleName, StoreError, User, UserId};

/// An authenticated caller (see the module's notes: only the domain makes one).
#[derive(Debug, Clone)]
pub struct Principal {
    // User, session and roles are shared, not copied, by the clones of one
    // resolved principal: a server's cache hands out a clone per request.
    /// The user.
    pub(crate) user: std::sync::Arc<User>,
    /// The session whose token was presented.
    pub(crate) session: std::sync::Arc<AuthSession>,
    roles: std::sync::Arc<[Role]>,
    /// The plan the user was on when the principal was resolved.
    plan: std::sync::Arc<crate::Plan>,
    /// The user's second-factor status once someone asked for it; shared
    /// by the clones of one resolved principal, so a server that caches the
    /// principal reads it from the store once per cached entry.
    mfa: std::sync::Arc<std::sync::OnceLock<crate::MfaStatus>>,
    /// When the credential presented stops working by itself (a JWT's
    /// `exp`), if before the session's own expiry.
    until: Option<time::OffsetDateTime>,
    /// The API key presented, when it was one: what it may do on top of
    /// the roles' limits.
    api_key: Option<std::sync::Arc<ApiKeyGrant>>,
}

/// What an API key presented for a request allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiKeyGrant {
    /// The key.
    pub(crate) id: crate::ApiKeyId,
    /// Its permissions (`None`: whatever the user's roles give).
    pub(crate) permissions: Option<std::collections::BTreeSet<Permission>>,
}

/// The operation manages the account (its password, second factor,
/// passkeys, identity providers, API keys or sessions, or deletes it),
/// which a request authenticated by an API key may not do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an API key cannot manage the account: sign in for this")]
pub struct NeedsSession;

/// The caller lacks a permission the operation needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("this needs the {0} permission")]
pub struct Denied(pub Permission);

/// Why a read that needs a permission failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The caller lacks the permission.
    #[error(transparent)]
    Forbidden(#[from] Denied),
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[from] StoreError),
}

impl Principal {
    /// A principal from what authentication found: the user, the session
    /// and the roles the user holds.
    pub(crate) fn new(
        user: User,
        session: AuthSession,
        roles: Vec<Role>,
        plan: std::sync::Arc<crate::Plan>,
    ) -> Self {
        Self {
            user: std::sync::Arc::new(user),
            session: std::sync::Arc::new(session),
            roles: roles.into(),
            plan,
            mfa: std::sync::Arc::default(),
            until: None,
            api_key: None,
        }
    }

    /// The same principal acting through an API key with `grant`.
    pub(crate) fn through_key(mut self, grant: ApiKeyGrant) -> Self {
        self.api_key = Some(std::sync::Arc::new(grant));
        self
    }

    /// The API key the request presented, if it was one.
    pub fn api_key(&self) -> Option<crate::ApiKeyId> {
        self.api_key.as_ref().map(|k| k.id)
    }

    /// The user, for an operation that manages the account: refused when
    /// the request presented an API key.
    pub fn account(&self) -> Result<&User, NeedsSession> {
        match self.api_key {
            Some(_) => Err(NeedsSession),
            None => Ok(&self.user),
        }
    }

    /// The same principal, current only until `until` (a JWT's `exp`).
    pub(crate) fn until(mut self, until: time::OffsetDateTime) -> Self {
        self.until = Some(until);
        self
    }

    /// The second-factor status recorded by [`crate::MultiFactor::status_of`].
    pub(crate) fn known_mfa(&self) -> Option<crate::MfaStatus> {
        self.mfa.get().copied()
    }

    /// Records the second-factor status read for this principal.
    pub(crate) fn remember_mfa(&self, status: crate::MfaStatus) {
        let _ = self.mfa.set(status);
    }

    /// The user's id.
    pub fn user_id(&self) -> UserId {
        self.user.id
    }

    /// The user as it was when the principal was resolved.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// The session whose token was presented.
    pub fn session(&self) -> &AuthSession {
        &self.session
    }

    /// Records that the session was used at `at` (a server that extends the
    /// session's expiry in the background keeps its cached copy in step).
    pub fn mark_used(&mut self, at: time::OffsetDateTime) {
        std::sync::Arc::make_mut(&mut self.session).last_accessed_at = at;
    }

    /// The plan the user is on: its limits, and the features an app gates on.
    pub fn plan(&self) -> &crate::Plan {
        &self.plan
    }

    /// Whether the user's plan gives `feature`.
    pub fn has_feature(&self, feature: &str) -> bool {
        self.plan.has_feature(feature)
    }

    /// The roles the user holds.
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// Whether the user holds the `admin` role (through an API key: and
    /// the key holds every permission).
    pub fn is_admin(&self) -> bool {
        self.roles
            .iter()
            .any(|r| r.name.as_str() == RoleName::ADMIN)
            && self.key_grants(&Permission::ALL)
    }

    /// Whether any of the user's roles grants `wanted` (through an API key:
    /// and the key grants it too).
    pub fn holds(&self, wanted: &Permission) -> bool {
        self.roles
            .iter()
            .flat_map(|r| r.permissions.iter())
            .any(|p| p.grants(wanted))
            && self.key_grants(wanted)
    }

    /// Whether the API key presented (if any) grants `wanted`.
    fn key_grants(&self, wanted: &Permission) -> bool {
        match self.api_key.as_deref() {
            Some(ApiKeyGrant {
                permissions: Some(permissions),
                ..
            }) => permissions.iter().any(|p| p.grants(wanted)),
            _ => true,
        }
    }

    /// Whether the user holds every one of `permissions` (so may hand them out).
    pub fn holds_all<'a>(&self, permissions: impl IntoIterator<Item = &'a Permission>) -> bool {
        permissions.into_iter().all(|p| self.holds(p))
    }

    /// `Ok` when this caller holds every permission a user with
    /// `target_roles` holds: acting on a user (locking, verifying, removing
    /// a factor, granting or revoking a role) must not let a role act on
    /// someone with more rights than its own, such as a support role on an
    /// administrator. The error names a permission the caller lacks.
    pub fn may_act_on(&self, target_roles: &[Role]) -> Result<(), Denied> {
        match target_roles
            .iter()
            .flat_map(|r| r.permissions.iter())
            .find(|p| !self.holds(p))
        {
            None => Ok(()),
            Some(missing) => Err(Denied(missing.clone())),
        }
    }

    /// `Ok` when the user holds `wanted`.
    pub fn require(&self, wanted: &Permission) -> Result<(), Denied> {
        if self.holds(wanted) {
            Ok(())
        } else {
            Err(Denied(wanted.clone()))
        }
    }

    /// Whether this principal, resolved earlier, still authenticates at
    /// `now` as far as it can tell by itself: the session has not expired
    /// or been revoked, the credential presented (a JWT) has not expired,
    /// and the user is not locked. (Changes made since it
    /// was resolved come through [`AuthChange`](crate::AuthChange)s.)
    pub fn is_current(&self, now: time::OffsetDateTime) -> bool {
        self.session.revoked_at.is_none()
            && self.session.expires_at > now
            && self.until.is_none_or(|until| until > now)
            && !self.user.locked
    }

    /// Whether this caller may see and change what `owner` owns: the owner
    /// themselves, or an administrator. Anyone else is told "not found", so
    /// ids of other users' resources do not leak.
    pub fn may_access(&self, owner: UserId) -> bool {
        self.user.id == owner || self.is_admin()
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use std::collections::BTreeSet;

    use super::*;
    use crate::test_support::{T0, sample_user};

    /// `user` signed in with a session, holding no role.
    pub(crate) fn signed_in(user: &User) -> Principal {
        let mut p = principal(0, &[]);
        p.user = std::sync::Arc::new(user.clone());
        std::sync::Arc::make_mut(&mut p.session).user_id = user.id;
        p.roles = std::sync::Arc::from(Vec::new());
        p
    }

    /// User `n` with one role holding `permissions` (`admin` when it is `*`).
    pub(crate) fn principal(n: u128, permissions: &[&str]) -> Principal {
        let user = sample_user(n);
        let session = AuthSession {
            id: crate::AuthSessionId::from_uuid(uuid::Uuid::from_u128(n + 7000)),
            user_id: user.id,
            token_hash: crate::Token::from_bytes([7; 32]).hash(),
            device: None,
            ip: None,
            created_at: T0,
            last_accessed_at: T0,
            expires_at: T0 + time::Duration::days(1),
            refresh_expires_at: T0 + time::Duration::days(30),
            revoked_at: None,
        };
        let permissions: BTreeSet<Permission> = permissions
            .iter()
            .map(|p| Permission::parse(p).unwrap())
            .collect();
        let name = if permissions.contains(&Permission::ALL) {
            RoleName::admin()
        } else {
            RoleName::parse("tester").unwrap()
        };
        let role = Role {
            name,
            description: None,
            permissions,
            created_at: T0,
            updated_at: T0,
        };
        Principal::new(user, session, vec![role], std::sync::Arc::default())
    }
}

#[cfg(test)]
mod tests {
    use super::testing::principal;
    use super::*;

    #[test]
    fn holds_follows_the_roles_wildcards() {
        let admin = principal(1, &["*"]);
        assert!(admin.is_admin() && admin.holds(&Permission::ROLES_WRITE));
        let reader = principal(2, &["roles:read", "users:*"]);
        assert!(!reader.is_admin());
        assert!(reader.holds(&Permission::ROLES_READ));
        assert!(reader.holds(&Permission::USERS_WRITE));
        assert_eq!(
            reader.require(&Permission::ROLES_WRITE),
            Err(Denied(Permission::ROLES_WRITE))
        );
        assert!(!reader.may_access(crate::UserId::from_uuid(uuid::Uuid::from_u128(77))));
    }
}
