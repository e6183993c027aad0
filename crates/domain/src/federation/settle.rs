//! What a checked identity leads to: the link it names, a new link to an
//! existing account, or a new user; and the one-time exchange code of a
//! finished sign-in.

use time::OffsetDateTime;

use super::errors::{CallbackSuccess, FlowFailed, FlowFailure};
use super::service::Federation;
use crate::*;

/// The context provider tokens are sealed under: whose and which link.
pub(super) fn context(user: UserId, provider: &ProviderName) -> String {
    format!("oauth:{user}:{provider}")
}

/// A username to offer a new provider user: the provider's hint or the
/// address's local part, cut to the allowed characters.
pub(super) fn username_base(identity: &ProviderIdentity, email: &Email) -> String {
    let hint = identity
        .preferred_username
        .clone()
        .unwrap_or_else(|| email.as_str().split('@').next().unwrap_or("").to_owned());
    let mut base: String = hint
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(*c))
        .skip_while(|c| !c.is_ascii_alphanumeric())
        .take(24)
        .collect();
    if base.len() < 3 {
        base = format!("user{base}");
    }
    base
}

impl Federation {
    pub(super) async fn exchange_code(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Token, StoreError> {
        let code = self.system.tokens.generate();
        self.stores
            .one_time_tokens
            .insert(&OneTimeToken {
                token_hash: code.hash(),
                purpose: TokenPurpose::OAuthExchange,
                user_id: user,
                created_at: now,
                expires_at: now + self.policy.exchange_ttl,
            })
            .await?;
        Ok(code)
    }

    /// A checked identity: the link it names, a new link, or a new user.
    pub(super) async fn settle(
        &self,
        provider: &dyn IdentityProvider,
        flow: &OAuthFlow,
        identity: ProviderIdentity,
        now: OffsetDateTime,
    ) -> Result<CallbackSuccess, FlowFailed> {
        let links = &self.stores.identity_links;
        let existing = links
            .find(&flow.provider, &identity.subject)
            .await
            .map_err(FlowFailed::server)?;
        if let Some(user) = flow.linking_user {
            return match existing {
                Some(link) if link.user_id == user => Ok(CallbackSuccess::Linked(user)),
                Some(_) => Err(FlowFailure::AlreadyLinked.into()),
                None => {
                    let user = self.signable(user).await?;
                    self.link_existing(user, flow, &identity, now).await?;
                    Ok(CallbackSuccess::Linked(user))
                }
            };
        }
        if let Some(link) = existing {
            let user = self.signable(link.user_id).await?;
            self.store_tokens(user, &flow.provider, &identity.tokens)
                .await
                .map_err(FlowFailed::server)?;
            return Ok(CallbackSuccess::SignedIn(user));
        }
        let email = match (&identity.email, identity.email_verified) {
            (Some(email), true) => email.clone(),
            _ => return Err(FlowFailure::EmailUnverified.into()),
        };
        if let Some(user) = self
            .stores
            .users
            .find_by_email(&email)
            .await
            .map_err(FlowFailed::server)?
        {
            if !provider.link_by_verified_email() {
                return Err(FlowFailure::AccountExists.into());
            }
            let user = self.signable(user.id).await?;
            self.link_existing(user, flow, &identity, now).await?;
            return Ok(CallbackSuccess::SignedIn(user));
        }
        let user = self.create_user(flow, &identity, email, now).await?;
        if let Err(failure) = self.link(user, flow, &identity, now).await {
            // A parallel callback of the same identity linked it first: the
            // user just made is nobody's.
            return match self.stores.users.delete(user).await {
                Ok(()) => Err(failure),
                Err(e) => Err(FlowFailed::with(
                    failure.kind,
                    format!("could not remove the unlinked new user {user}: {e}"),
                )),
            };
        }
        crate::stats::count(&self.stores, now, crate::DayCounts::new_user())
            .await
            .map_err(FlowFailed::server)?;
        Ok(CallbackSuccess::Created(user))
    }

    /// `user` if it may sign in (exists, not locked by an administrator,
    /// not marked unverified by one).
    async fn signable(&self, user: UserId) -> Result<UserId, FlowFailed> {
        match self.stores.users.get(user).await {
            Ok(Some(u)) if u.locked => Err(FlowFailure::Locked.into()),
            Ok(Some(u)) if !u.verified => Err(FlowFailed::with(
                FlowFailure::EmailUnverified,
                format!("user {user} is marked unverified"),
            )),
            Ok(Some(u)) => Ok(u.id),
            Ok(None) => Err(FlowFailed::with(
                FlowFailure::ServerError,
                format!("linked user {user} is gone"),
            )),
            Err(e) => Err(FlowFailed::server(e)),
        }
    }

    fn seal_tokens(
        &self,
        user: UserId,
        provider: &ProviderName,
        tokens: &ProviderTokens,
    ) -> Result<crate::Sealed, StoreError> {
        let plain = serde_json::json!({
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
        });
        self.system
            .sealer
            .seal(&context(user, provider), plain.to_string().as_bytes())
    }

    async fn store_tokens(
        &self,
        user: UserId,
        provider: &ProviderName,
        tokens: &ProviderTokens,
    ) -> Result<(), StoreError> {
        let sealed = self.seal_tokens(user, provider, tokens)?;
        self.stores
            .identity_links
            .store_tokens(user, provider, Some(sealed), tokens.expires_at)
            .await
            .map(drop)
    }

    async fn link(
        &self,
        user: UserId,
        flow: &OAuthFlow,
        identity: &ProviderIdentity,
        now: OffsetDateTime,
    ) -> Result<(), FlowFailed> {
        let tokens = self
            .seal_tokens(user, &flow.provider, &identity.tokens)
            .map_err(FlowFailed::server)?;
        let link = IdentityLink {
            user_id: user,
            provider: flow.provider.clone(),
            subject: identity.subject.clone(),
            email: identity.email.clone(),
            tokens: Some(tokens),
            tokens_expire_at: identity.tokens.expires_at,
            created_at: now,
        };
        match self.stores.identity_links.link(&link).await {
            Ok(()) => Ok(()),
            Err(LinkError::Conflict) => Err(FlowFailure::AlreadyLinked.into()),
            Err(LinkError::Store(e)) => Err(FlowFailed::server(e)),
        }
    }

    /// Links the identity to an existing account and tells its owner by
    /// mail: every new way into an account is announced.
    async fn link_existing(
        &self,
        user: UserId,
        flow: &OAuthFlow,
        identity: &ProviderIdentity,
        now: OffsetDateTime,
    ) -> Result<(), FlowFailed> {
        self.link(user, flow, identity, now).await?;
        let owner = self
            .stores
            .users
            .get(user)
            .await
            .map_err(FlowFailed::server)?;
        if let Some(owner) = owner {
            let notice = Notice::ProviderLinked {
                provider: flow.provider.as_str().to_owned(),
            };
            crate::mail::delivery::notify(&self.stores, &self.system, &owner.email, notice)
                .await
                .map_err(FlowFailed::server)?;
        }
        Ok(())
    }

    /// A new verified user without a password, with the default role.
    async fn create_user(
        &self,
        flow: &OAuthFlow,
        identity: &ProviderIdentity,
        email: Email,
        now: OffsetDateTime,
    ) -> Result<UserId, FlowFailed> {
        if !self.accounts.settings.current().registration_open {
            return Err(FlowFailure::RegistrationClosed.into());
        }
        let base = username_base(identity, &email);
        let mut attempt = 0;
        let user = loop {
            let name = if attempt == 0 {
                base.clone()
            } else {
                let suffix = &self.system.tokens.generate().hash();
                format!("{base}-{}", &suffix.as_str()[..6])
            };
            let username = Username::parse(&name)
                .map_err(|e| FlowFailed::with(FlowFailure::ServerError, e))?;
            let mut user = User::new_verified_without_password(
                UserId::from_uuid(self.system.ids.new_id()),
                email.clone(),
                username,
                now,
            );
            user.profile.full_name = identity.name.clone().map(|n| n.chars().take(200).collect());
            user.plan = self.accounts.starting_plan(now);
            user.origin = Some(crate::UserOrigin {
                provider: Some(flow.provider.as_str().to_owned()),
                ..crate::UserOrigin::new(crate::OriginKind::Provider, None, None)
            });
            match self.stores.users.create(&user).await {
                Ok(()) => break user,
                Err(InsertUserError::UsernameTaken) if attempt < 5 => attempt += 1,
                Err(InsertUserError::EmailTaken) => return Err(FlowFailure::AccountExists.into()),
                Err(InsertUserError::UsernameTaken) => {
                    return Err(FlowFailed::with(
                        FlowFailure::ServerError,
                        format!("no free username near {base}"),
                    ));
                }
                Err(InsertUserError::Store(e)) => return Err(FlowFailed::server(e)),
            }
        };
        match self
            .stores
            .roles
            .grant(user.id, &self.accounts.default_role, now)
            .await
        {
            Ok(()) => {
                let data =
                    serde_json::json!({ "user_id": user.id, "provider": flow.provider.as_str() });
                crate::webhooks::publish(
                    &self.stores,
                    &self.system,
                    crate::WebhookEventType::UserCreated,
                    data,
                )
                .await
                .map_err(FlowFailed::server)?;
                Ok(user.id)
            }
            Err(GrantWriteError::RoleNotFound) => Err(FlowFailed::server(StoreError::msg(
                format!("role {} does not exist", self.accounts.default_role),
            ))),
            Err(GrantWriteError::Store(e)) => Err(FlowFailed::server(e)),
        }
    }
}
