//! Writing records through the ports of an empty store.

use super::{DumpRecord, Transfer};
use crate::{ActivityFilter, PageRequest, RoleName, StoreError, UserFilter};

/// What a store that should be empty holds: `(kind, count)`; at least one
/// record of each kind named (`activity` and `roles` count one page).
pub type Occupied = Vec<(String, u64)>;

/// Why a record could not be written.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store already holds a record with the same key.
    #[error("the target already holds a {kind} with the same key ({key})")]
    Conflict {
        /// The record's kind.
        kind: &'static str,
        /// Its key.
        key: String,
    },
    /// A record names another that is not there (a grant of a role that
    /// was not loaded).
    #[error("a {kind} refers to a record that was not loaded ({key})")]
    Missing {
        /// The record's kind.
        kind: &'static str,
        /// Its key.
        key: String,
    },
}

impl Transfer {
    /// What the stores hold that a restore would collide with: users,
    /// plans, roles other than the built-in `admin` and `user`, webhook
    /// endpoints, activity, and a settings record. Empty when the stores are fresh.
    pub async fn occupied(&self) -> Result<Occupied, StoreError> {
        let s = &self.stores;
        let mut found = Vec::new();
        let users = s.users.count(&UserFilter::default()).await?;
        if users > 0 {
            found.push(("users".to_owned(), users));
        }
        let plans = s.plans.list().await?.len() as u64;
        if plans > 0 {
            found.push(("plans".to_owned(), plans));
        }
        let roles = s
            .roles
            .list()
            .await?
            .into_iter()
            .filter(|r| !matches!(r.name.as_str(), RoleName::ADMIN | RoleName::USER))
            .count() as u64;
        if roles > 0 {
            found.push(("custom roles".to_owned(), roles));
        }
        let activity = s
            .activity
            .list(&ActivityFilter::default(), PageRequest::first(1))
            .await?
            .items
            .len() as u64;
        if activity > 0 {
            found.push(("activity events".to_owned(), activity));
        }
        let webhooks = s.webhooks.list().await?.len() as u64;
        if webhooks > 0 {
            found.push(("webhook endpoints".to_owned(), webhooks));
        }
        if let Some(settings) = s.settings.load().await?
            && settings.version > 0
        {
            found.push(("runtime settings".to_owned(), 1));
        }
        Ok(found)
    }

    /// A loader writing records into these stores.
    pub fn loader(&self) -> DumpLoader<'_> {
        DumpLoader {
            transfer: self,
            open_session: None,
        }
    }
}

/// Writes the records of a dump, in dump order (a user before what refers
/// to it), into stores that should be empty ([`Transfer::occupied`]); call
/// [`DumpLoader::finish`] after the last one.
pub struct DumpLoader<'a> {
    transfer: &'a Transfer,
    /// The content session whose data and messages are being loaded: its
    /// `last_accessed_at`, which each message moves, is set back once they
    /// are in.
    open_session: Option<crate::ContentSession>,
}

impl DumpLoader<'_> {
    /// Writes one record.
    pub async fn load(&mut self, record: &DumpRecord) -> Result<(), LoadError> {
        if !matches!(record, DumpRecord::ContentData(_) | DumpRecord::Message(_)) {
            self.close_session().await?;
        }
        let s = &self.transfer.stores;
        let kind = record.kind();
        let conflict = |key: String| LoadError::Conflict { kind, key };
        match record {
            DumpRecord::Settings(settings) => {
                let current = s.settings.load().await?.map_or(0, |c| c.version);
                s.settings
                    .save(current, settings)
                    .await
                    .map_err(|e| match e {
                        crate::SaveSettingsError::Stale => conflict("settings".into()),
                        crate::SaveSettingsError::Store(e) => e.into(),
                    })?;
            }
            DumpRecord::Plan(plan) => s.plans.create(plan).await.map_err(|e| match e {
                crate::InsertPlanError::Duplicate => conflict(plan.name.as_str().into()),
                crate::InsertPlanError::Store(e) => e.into(),
            })?,
            DumpRecord::Role(role) => {
                // The built-in roles exist in a fresh store; the dump's
                // copy (whose permissions may have been changed) replaces
                // them.
                if s.roles.get(&role.name).await?.is_some() {
                    match s.roles.delete(&role.name).await {
                        Ok(()) | Err(crate::WriteError::NotFound) => {}
                        Err(crate::WriteError::Store(e)) => return Err(e.into()),
                    }
                }
                s.roles.create(role).await.map_err(|e| match e {
                    crate::InsertError::Conflict => conflict(role.name.as_str().into()),
                    crate::InsertError::Store(e) => e.into(),
                })?;
            }
            DumpRecord::User(user) => s.users.create(user).await.map_err(|e| match e {
                crate::InsertUserError::EmailTaken => conflict(user.email.as_str().into()),
                crate::InsertUserError::UsernameTaken => conflict(user.username.as_str().into()),
                crate::InsertUserError::Store(e) => e.into(),
            })?,
            DumpRecord::RoleGrant(grant) => {
                let at = self.transfer.now();
                s.roles
                    .grant(grant.user_id, &grant.role, at)
                    .await
                    .map_err(|e| match e {
                        crate::GrantWriteError::RoleNotFound => LoadError::Missing {
                            kind,
                            key: grant.role.as_str().into(),
                        },
                        crate::GrantWriteError::Store(e) => e.into(),
                    })?;
            }
            DumpRecord::MfaFactor(factor) => {
                let pending = crate::MfaFactor {
                    confirmed_at: None,
                    last_step: None,
                    backup_codes: Vec::new(),
                    ..factor.clone()
                };
                if !s.mfa.begin(&pending).await? {
                    return Err(conflict(factor.user_id.to_string()));
                }
                if let Some(at) = factor.confirmed_at {
                    let step = factor.last_step.unwrap_or(0);
                    s.mfa
                        .confirm(factor.user_id, factor.id, step, &factor.backup_codes, at)
                        .await?;
                }
            }
            DumpRecord::IdentityLink(link) => {
                s.identity_links.link(link).await.map_err(|e| match e {
                    crate::LinkError::Store(e) => LoadError::Store(e),
                    _ => conflict(format!("{} {}", link.provider.as_str(), link.subject)),
                })?
            }
            DumpRecord::Passkey(passkey) => {
                if !s.passkeys.insert(passkey).await? {
                    return Err(conflict(passkey.credential_id.as_str().into()));
                }
            }
            DumpRecord::ApiKey(key) => s.api_keys.insert(key).await?,
            DumpRecord::ContentSession(session) => {
                s.content.create(session).await?;
                self.open_session = Some(session.clone());
            }
            DumpRecord::ContentData(datum) => s
                .content
                .put_data(datum.content_session_id, &datum.key, &datum.value)
                .await
                .map_err(|e| write_error(e, kind, datum.content_session_id.to_string()))?,
            DumpRecord::Message(message) => s
                .content
                .add_message(message, false)
                .await
                .map_err(|e| write_error(e, kind, message.content_session_id.to_string()))?,
            DumpRecord::Notification(notification) => s.notifications.create(notification).await?,
            DumpRecord::Upload(upload) => s.uploads.create(upload).await.map_err(|e| match e {
                crate::InsertError::Conflict => conflict(upload.id.to_string()),
                crate::InsertError::Store(e) => e.into(),
            })?,
            DumpRecord::Payment(payment) => {
                s.payments.create(payment).await.map_err(|e| match e {
                    crate::InsertPaymentError::Store(e) => LoadError::Store(e),
                    _ => conflict(payment.id.to_string()),
                })?
            }
            DumpRecord::Webhook(endpoint) => s.webhooks.create(endpoint).await?,
            DumpRecord::Conversation(dumped) => {
                let c = &dumped.conversation;
                let fresh = crate::Conversation {
                    last_seq: 0,
                    ..c.clone()
                };
                let users: Vec<crate::UserId> =
                    dumped.participants.iter().map(|p| p.user_id).collect();
                if !s.conversations.create(&fresh, &users).await? {
                    return Err(conflict(c.key.clone()));
                }
                // Posting raises only the sender's position, never above
                // the one dumped: set them first.
                for p in &dumped.participants {
                    s.conversations
                        .mark_read(c.id, p.user_id, p.read_seq)
                        .await
                        .map_err(|e| write_error(e, kind, c.id.to_string()))?;
                }
            }
            DumpRecord::ConversationMessage(message) => {
                s.conversations
                    .post(message)
                    .await
                    .map_err(|e| write_error(e, kind, message.conversation_id.to_string()))?;
            }
            DumpRecord::Block(block) => {
                s.blocks.block(block).await?;
            }
            DumpRecord::Activity(event) => s.activity.append(event).await?,
            DumpRecord::DayStats(day) => {
                s.stats.add(day.date, &day.counts).await?;
                if let Some(totals) = &day.totals {
                    s.stats.set_totals(day.date, totals).await?;
                }
            }
        }
        Ok(())
    }

    /// Completes what the last records left open; call after the last.
    pub async fn finish(&mut self) -> Result<(), LoadError> {
        self.close_session().await
    }

    async fn close_session(&mut self) -> Result<(), LoadError> {
        if let Some(session) = self.open_session.take() {
            self.transfer
                .stores
                .content
                .rename(session.id, session.name.clone(), session.last_accessed_at)
                .await
                .map_err(|e| write_error(e, "content_session", session.id.to_string()))?;
        }
        Ok(())
    }
}

/// A [`crate::WriteError`] of a write that names `key`.
fn write_error(e: crate::WriteError, kind: &'static str, key: String) -> LoadError {
    match e {
        crate::WriteError::NotFound => LoadError::Missing { kind, key },
        crate::WriteError::Store(e) => e.into(),
    }
}
