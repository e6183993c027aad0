//! Sign-in through identity providers (the OAuth accounts collection and
//! `authProviders` of the schemas Portico came from): the links between a
//! user and their identities at providers, the flows in progress between
//! the authorize redirect and the callback, and the provider itself.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{Email, ProviderName, Sealed, StoreError, TokenHash, UserId};

/// A user's identity at a provider: one per (provider, subject) over all
/// users, and at most one per provider for a user.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IdentityLink {
    /// Whose it is.
    pub user_id: UserId,
    /// The provider's configured name.
    pub provider: ProviderName,
    /// The user's stable id at the provider (the ID token's `sub`).
    pub subject: String,
    /// The address the provider reported when the link was made.
    pub email: Option<Email>,
    /// The provider's access and refresh tokens, sealed together by the
    /// [`crate::Sealer`] for this link; `None` when the provider gave none.
    pub tokens: Option<Sealed>,
    /// When the access token expires, as the provider said.
    #[serde(with = "time::serde::rfc3339::option")]
    pub tokens_expire_at: Option<OffsetDateTime>,
    /// When the link was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Why a link was not made.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The identity is linked already (to this user or another), or the
    /// user has a link with this provider already.
    #[error("identity already linked")]
    Conflict,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_failure!(LinkError);

/// What [`IdentityLinkRepository::unlink`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlinked {
    /// The link is gone.
    Removed,
    /// The user had no link with that provider.
    NotLinked,
    /// Kept: it is the user's last link and the caller said one must remain.
    LastLink,
}

/// Stores identity links. Every write is one atomic step; uniqueness is the
/// store's (a unique index, a set-if-absent), never a read before a write.
#[portico_macros::port("identity_links")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait IdentityLinkRepository: Send + Sync {
    /// Stores `link`. MUST return [`LinkError::Conflict`] and store nothing
    /// when (provider, subject) is linked to any user, or when the user has a
    /// link with this provider; of N concurrent links of one identity at most
    /// one succeeds.
    async fn link(&self, link: &IdentityLink) -> Result<(), LinkError>;

    /// The link of (provider, subject), if any.
    async fn find(
        &self,
        provider: &ProviderName,
        subject: &str,
    ) -> Result<Option<IdentityLink>, StoreError>;

    /// The user's links, in provider name order.
    async fn list_for_user(&self, user_id: UserId) -> Result<Vec<IdentityLink>, StoreError>;

    /// Replaces the sealed tokens and their expiry of the user's link with
    /// `provider`; `false` if there is no such link.
    async fn store_tokens(
        &self,
        user_id: UserId,
        provider: &ProviderName,
        tokens: Option<Sealed>,
        expire_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError>;

    /// Replaces the sealed tokens of the user's link with `provider` by `new`
    /// if they are still `old` (re-encryption under a new key); `false`
    /// otherwise.
    async fn reseal(
        &self,
        user_id: UserId,
        provider: &ProviderName,
        old: &Sealed,
        new: &Sealed,
    ) -> Result<bool, StoreError>;

    /// Deletes the user's link with `provider`. With `keep_one`, MUST keep
    /// it and answer [`Unlinked::LastLink`] when it is the user's only link,
    /// deciding atomically: of concurrent unlinks of a user's last two links,
    /// at most one removes its link.
    async fn unlink(
        &self,
        user_id: UserId,
        provider: &ProviderName,
        keep_one: bool,
    ) -> Result<Unlinked, StoreError>;

    /// Deletes every link of the user; returns how many.
    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError>;

    /// Up to `limit` links following `after` in (user id, provider) order
    /// (from the first when `None`): re-encryption walks every link with it.
    async fn list_after(
        &self,
        after: Option<(UserId, ProviderName)>,
        limit: u32,
    ) -> Result<Vec<IdentityLink>, StoreError>;
}

/// An authorization code flow between the redirect to the provider and its
/// callback, kept server-side under the hash of its `state`.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthFlow {
    /// Hash of the `state` sent to the provider (the browser holds `state`).
    pub state_hash: TokenHash,
    /// The provider the flow went to; a callback for another one is refused.
    pub provider: ProviderName,
    /// The PKCE code verifier (S256), sent with the code exchange.
    pub pkce_verifier: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// Where the browser returns once the flow ends (allow-listed).
    pub redirect_uri: String,
    /// Set when a signed-in user links the provider rather than signs in.
    pub linking_user: Option<UserId>,
    /// When it began.
    pub created_at: OffsetDateTime,
    /// When its callback stops being accepted.
    pub expires_at: OffsetDateTime,
}

/// Stores flows in progress.
#[portico_macros::port("oauth_flows")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait OAuthFlowRepository: Send + Sync {
    /// Stores a flow. The store MAY expire it natively at `expires_at`.
    async fn insert(&self, flow: &OAuthFlow) -> Result<(), StoreError>;

    /// Atomically deletes and returns the flow with `state_hash` if
    /// unexpired at `now`. Single use: of N concurrent calls at most one gets
    /// it. An expired flow MUST NOT be returned even if not yet removed.
    async fn take(
        &self,
        state_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<OAuthFlow>, StoreError>;

    /// Deletes the flows that would link a provider to the user; returns
    /// how many.
    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError>;

    /// Deletes flows expired at `now`; returns how many (0 where the store
    /// expires them natively).
    /// At most `limit` per call: the purge calls again while a batch comes
    /// back full, so no statement holds its locks long.
    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError>;
}

/// What the domain asks of a provider to start a flow.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    /// The `state` to send (random, single use).
    pub state: String,
    /// The `nonce` the ID token must carry (OIDC).
    pub nonce: String,
    /// The PKCE verifier; the provider sends its S256 challenge.
    pub pkce_verifier: String,
}

/// The provider's tokens after a code exchange.
#[derive(Clone, PartialEq)]
pub struct ProviderTokens {
    /// The access token.
    pub access_token: String,
    /// The refresh token, when the provider issued one.
    pub refresh_token: Option<String>,
    /// When the access token expires, when the provider said.
    pub expires_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for ProviderTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderTokens")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Who the provider says signed in, after every check of its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderIdentity {
    /// The stable subject id at the provider.
    pub subject: String,
    /// The email the provider reports, if any.
    pub email: Option<Email>,
    /// Whether the provider says it verified that email.
    pub email_verified: bool,
    /// A display name, if the provider gave one.
    pub name: Option<String>,
    /// A preferred username, if the provider gave one (a hint only).
    pub preferred_username: Option<String>,
    /// The provider's tokens.
    pub tokens: ProviderTokens,
}

/// Why a provider step failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider's answer failed a check: a bad or unsigned ID token, a
    /// wrong issuer, audience or nonce, an expired token, a refused code.
    #[error("the identity provider's answer was refused: {0}")]
    Rejected(String),
    /// The provider could not be reached or answered with garbage.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
}

/// An identity provider: builds the authorize URL and turns a callback's
/// code into a checked identity (OpenID Connect with discovery and ID-token
/// verification, or plain OAuth 2.0 with a userinfo endpoint).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait IdentityProvider: Send + Sync {
    /// The name it is configured under.
    fn name(&self) -> &ProviderName;
    /// What a sign-in button shows.
    fn display_name(&self) -> &str;
    /// Whether a first sign-in may link to an existing user with the same
    /// address when the provider says it verified it.
    fn link_by_verified_email(&self) -> bool;
    /// The URL to send the browser to: authorization code flow with
    /// `state`, the S256 challenge of the verifier and (OIDC) `nonce`.
    async fn authorize_url(&self, request: &AuthorizeRequest) -> Result<String, ProviderError>;
    /// Exchanges `code` with the verifier and checks the result (for OIDC:
    /// the ID token's signature against the provider's keys, issuer,
    /// audience, expiry and that it carries `nonce`).
    async fn exchange(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<ProviderIdentity, ProviderError>;
}
