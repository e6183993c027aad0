//! Deleting the own account: with the password, or by a mailed
//! confirmation; and the deletion itself, dependents first (the rest of
//! [`Profiles`] is in the parent module).

use super::*;

impl Profiles {
    /// Deletes the account after checking its password.
    pub async fn delete_with_password(
        &self,
        caller: &crate::Principal,
        password: &Password,
        ip: Option<&str>,
    ) -> Result<(), DeleteAccountError> {
        let user_id = caller.account()?.id;
        let user = self
            .stores
            .users
            .get(user_id)
            .await
            .map_err(DeleteAccountError::Unexpected)?
            .ok_or(DeleteAccountError::NotFound)?;
        let guard =
            crate::accounts::guard::PasswordGuard::new(&self.stores, &self.system, &self.policy);
        match guard
            .check(crate::accounts::guard::Subject::User(&user), ip, password)
            .await
            .map_err(DeleteAccountError::Unexpected)?
        {
            crate::accounts::guard::Guess::Right => {}
            crate::accounts::guard::Guess::Wrong => return Err(DeleteAccountError::WrongPassword),
            crate::accounts::guard::Guess::LockedOut { until } => {
                return Err(DeleteAccountError::LockedOut { until });
            }
        }
        self.delete_account(user_id).await
    }

    /// Mails the user a single-use token that confirms deletion (deletion requests).
    pub async fn request_deletion(
        &self,
        caller: &crate::Principal,
    ) -> Result<(), DeleteAccountError> {
        let user_id = caller.account()?.id;
        let user = self
            .stores
            .users
            .get(user_id)
            .await
            .map_err(DeleteAccountError::Unexpected)?
            .ok_or(DeleteAccountError::NotFound)?;
        let now = self.system.now();
        let token = self.system.tokens.generate();
        let record = OneTimeToken {
            token_hash: token.hash(),
            purpose: TokenPurpose::AccountDeletion,
            user_id,
            created_at: now,
            expires_at: now + self.policy.deletion_ttl,
        };
        let tokens = &self.stores.one_time_tokens;
        tokens
            .delete_for_user(user_id, Some(TokenPurpose::AccountDeletion))
            .await
            .map_err(DeleteAccountError::Unexpected)?;
        tokens
            .insert(&record)
            .await
            .map_err(DeleteAccountError::Unexpected)?;
        let mail = Mail::AccountDeletion {
            to: user.email,
            token,
        };
        crate::mail::delivery::queue(
            &self.stores,
            &self.system,
            Outgoing::Mail(mail),
            self.policy.deletion_ttl,
        )
        .await
        .map_err(DeleteAccountError::Unexpected)
    }

    /// Deletes the account whose deletion token this is.
    /// `user_id` must be the token's own user: a deletion token deletes only
    /// the account it was mailed for, whoever presents it.
    pub async fn confirm_deletion(
        &self,
        caller: &crate::Principal,
        token: &Token,
    ) -> Result<(), DeleteAccountError> {
        let user_id = caller.account()?.id;
        let now = self.system.now();
        let record = self
            .stores
            .one_time_tokens
            .consume(&token.hash(), TokenPurpose::AccountDeletion, now)
            .await
            .map_err(DeleteAccountError::Unexpected)?
            .ok_or(DeleteAccountError::InvalidToken)?;
        if record.user_id != user_id {
            return Err(DeleteAccountError::InvalidToken);
        }
        self.delete_account(user_id).await
    }

    /// Deletes the user and everything they own, dependents first so that a
    /// failure part-way never leaves records pointing at a missing user.
    /// Uploaded objects are deleted from object storage; any the store fails
    /// to delete become dangling and the upload sweep removes them. Payments
    /// are kept: they are the other party's records too.
    pub async fn delete_account(&self, user_id: UserId) -> Result<(), DeleteAccountError> {
        let s = &self.stores;
        let unexpected = DeleteAccountError::Unexpected;
        let uploads = collect(|p| s.uploads.list_for_user(user_id, p))
            .await
            .map_err(unexpected)?;
        for upload in &uploads {
            self.system
                .objects
                .delete(&upload.object_key)
                .await
                .map_err(unexpected)?;
        }
        s.uploads
            .delete_for_user(user_id)
            .await
            .map_err(unexpected)?;
        s.content
            .delete_for_user(user_id)
            .await
            .map_err(unexpected)?;
        s.notifications
            .delete_for_user(user_id)
            .await
            .map_err(unexpected)?;
        // Messages sent to others stay as tombstones (the conversation is
        // the others' too); the user leaves every conversation.
        s.conversations
            .forget_user(user_id, self.system.now())
            .await
            .map_err(unexpected)?;
        s.blocks.forget_user(user_id).await.map_err(unexpected)?;
        s.one_time_tokens
            .delete_for_user(user_id, None)
            .await
            .map_err(unexpected)?;
        s.mfa.delete_for_user(user_id).await.map_err(unexpected)?;
        s.identity_links
            .delete_for_user(user_id)
            .await
            .map_err(unexpected)?;
        s.oauth_flows
            .delete_for_user(user_id)
            .await
            .map_err(unexpected)?;
        s.activity
            .delete_for_user(user_id)
            .await
            .map_err(unexpected)?;
        s.sessions
            .delete_for_user(user_id)
            .await
            .map_err(unexpected)?;
        s.api_keys
            .delete_for_user(user_id)
            .await
            .map_err(unexpected)?;
        s.passkeys
            .delete_for_user(user_id)
            .await
            .map_err(unexpected)?;
        s.announce(crate::AuthChange::User(user_id)).await;
        s.roles.delete_for_user(user_id).await.map_err(unexpected)?;
        s.rate_limiter
            .forget(&usage_key(user_id))
            .await
            .map_err(unexpected)?;
        match s.users.delete(user_id).await {
            Ok(()) => {
                s.announce(crate::AuthChange::User(user_id)).await;
                // What stays of the account: one event, with only its id.
                let tombstone = crate::activity::Happened::new(
                    crate::ActivityKind::AccountDeleted,
                    user_id,
                    crate::Actor::User(user_id),
                    &crate::activity::NO_ORIGIN,
                );
                crate::activity::record(s, &self.system, tombstone)
                    .await
                    .map_err(unexpected)
            }
            Err(WriteError::NotFound) => Err(DeleteAccountError::NotFound),
            Err(WriteError::Store(e)) => Err(DeleteAccountError::Unexpected(e)),
        }
    }
}
