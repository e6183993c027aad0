//! The API keys service: a user makes, lists and revokes their keys; an
//! administrator lists and revokes anyone's. A key is refused for these
//! operations itself (a key cannot make keys).

use std::collections::BTreeSet;

use time::{Duration, OffsetDateTime};

use crate::activity::{Happened, record};
use crate::*;

/// Most keys one user may hold.
pub const MAX_API_KEYS_PER_USER: usize = 50;

/// The longest a key may be made to live.
pub const MAX_API_KEY_LIFETIME: Duration = Duration::days(3 * 365);

/// A key to make.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// Its name.
    pub name: ApiKeyName,
    /// What it may do (each one the maker holds); `None`: whatever the
    /// user's roles give at each request.
    pub permissions: Option<Vec<Permission>>,
    /// When it stops working (in the future, within
    /// [`MAX_API_KEY_LIFETIME`]); `None`: never.
    pub expires_at: Option<OffsetDateTime>,
}

/// A key just made: the record and the key itself, shown this once.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    /// The record.
    pub key: ApiKey,
    /// The key.
    pub secret: ApiKeySecret,
}

/// Why a key was not made.
#[derive(Debug, thiserror::Error)]
pub enum CreateApiKeyError {
    /// The request presented an API key.
    #[error(transparent)]
    NeedsSession(#[from] NeedsSession),
    /// Permissions the maker does not hold.
    #[error("permissions the user does not hold")]
    NotHeld(Vec<Permission>),
    /// `expires_at` is not in the future, or too far in it.
    #[error("expires_at must be in the future, within three years")]
    Expiry,
    /// The user holds [`MAX_API_KEYS_PER_USER`] keys already.
    #[error("too many API keys")]
    TooMany,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[from] StoreError),
}

/// Why keys could not be listed or revoked.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyAccessError {
    /// The request presented an API key (for one's own keys).
    #[error(transparent)]
    NeedsSession(#[from] NeedsSession),
    /// The caller lacks a permission (for another user's keys).
    #[error(transparent)]
    Forbidden(#[from] Denied),
    /// No such key (or user).
    #[error("not found")]
    NotFound,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[from] StoreError),
}

/// API keys.
#[derive(Clone)]
pub struct ApiKeys {
    stores: Stores,
    system: System,
}

impl ApiKeys {
    /// Builds the service.
    pub fn new(stores: Stores, system: System) -> Self {
        Self { stores, system }
    }

    /// Makes a key for the signed-in caller: its permissions must be ones
    /// the caller holds now. The key is in the answer, and nowhere else.
    pub async fn create(
        &self,
        caller: &Principal,
        new: NewApiKey,
    ) -> Result<CreatedApiKey, CreateApiKeyError> {
        let user = caller.account()?;
        let now = self.system.now();
        let permissions: Option<BTreeSet<Permission>> =
            new.permissions.map(|p| p.into_iter().collect());
        if let Some(permissions) = &permissions {
            let missing: Vec<Permission> = permissions
                .iter()
                .filter(|p| !caller.holds(p))
                .cloned()
                .collect();
            if !missing.is_empty() {
                return Err(CreateApiKeyError::NotHeld(missing));
            }
        }
        if new
            .expires_at
            .is_some_and(|at| at <= now || at > now + MAX_API_KEY_LIFETIME)
        {
            return Err(CreateApiKeyError::Expiry);
        }
        let keys = &self.stores.api_keys;
        if keys.list_for_user(user.id).await?.len() >= MAX_API_KEYS_PER_USER {
            return Err(CreateApiKeyError::TooMany);
        }
        let secret = ApiKeySecret::from_token(&self.system.tokens.generate());
        let key = ApiKey {
            id: ApiKeyId::from_uuid(self.system.ids.new_id()),
            user_id: user.id,
            name: new.name,
            prefix: secret.prefix(),
            key_hash: secret.hash(),
            permissions,
            created_at: now,
            expires_at: new.expires_at.map(crate::truncate_to_millis),
            last_used_at: None,
        };
        keys.insert(&key).await?;
        self.record(ActivityKind::ApiKeyCreated, caller, &key)
            .await?;
        Ok(CreatedApiKey { key, secret })
    }

    /// The signed-in caller's keys, newest first.
    pub async fn mine(&self, caller: &Principal) -> Result<Vec<ApiKey>, ApiKeyAccessError> {
        let user = caller.account()?;
        Ok(self.stores.api_keys.list_for_user(user.id).await?)
    }

    /// Revokes one of the signed-in caller's keys: it stops working at
    /// once, on every instance.
    pub async fn revoke(&self, caller: &Principal, id: ApiKeyId) -> Result<(), ApiKeyAccessError> {
        let user = caller.account()?.id;
        self.delete(caller, user, id).await
    }

    /// Another user's keys (`users:read`).
    pub async fn of_user(
        &self,
        caller: &Principal,
        user: UserId,
    ) -> Result<Vec<ApiKey>, ApiKeyAccessError> {
        caller.require(&Permission::USERS_READ)?;
        Ok(self.stores.api_keys.list_for_user(user).await?)
    }

    /// Revokes another user's key (`users:write`, and every permission the
    /// user's roles hold).
    pub async fn revoke_of_user(
        &self,
        caller: &Principal,
        user: UserId,
        id: ApiKeyId,
    ) -> Result<(), ApiKeyAccessError> {
        caller.require(&Permission::USERS_WRITE)?;
        let roles = self.stores.roles.roles_of(user).await?;
        caller.may_act_on(&roles)?;
        self.delete(caller, user, id).await
    }

    async fn delete(
        &self,
        caller: &Principal,
        user: UserId,
        id: ApiKeyId,
    ) -> Result<(), ApiKeyAccessError> {
        let key = self
            .stores
            .api_keys
            .list_for_user(user)
            .await?
            .into_iter()
            .find(|k| k.id == id)
            .ok_or(ApiKeyAccessError::NotFound)?;
        match self.stores.api_keys.delete(user, id).await {
            Ok(()) => {}
            Err(WriteError::NotFound) => return Err(ApiKeyAccessError::NotFound),
            Err(WriteError::Store(e)) => return Err(e.into()),
        }
        self.stores
            .announce(AuthChange::Session(key_session(id)))
            .await;
        self.record(ActivityKind::ApiKeyRevoked, caller, &key)
            .await?;
        Ok(())
    }

    async fn record(
        &self,
        kind: ActivityKind,
        caller: &Principal,
        key: &ApiKey,
    ) -> Result<(), StoreError> {
        let happened = Happened::new(
            kind,
            key.user_id,
            Actor::User(caller.user_id()),
            &crate::activity::NO_ORIGIN,
        )
        .with("api_key_id", key.id.to_string())
        .with("name", key.name.as_str())
        .with("prefix", key.prefix.as_str());
        record(&self.stores, &self.system, happened).await
    }
}

/// The session id a key's requests carry (the key's own id), so that the
/// caches drop a revoked key's callers as they drop a session's.
pub(crate) fn key_session(id: ApiKeyId) -> AuthSessionId {
    AuthSessionId::from_uuid(id.as_uuid())
}
