//! The signed-in user's own account: profile and preferences, export, deletion.

use crate::{AccountPolicy, Stores, System, Usage, usage_key};
use crate::{
    AuthSession, ContentSession, Mail, Message, Notification, OneTimeToken, Outgoing, Page,
    PageRequest, Password, Payment, RoleName, StorageKey, StoreError, Token, TokenPurpose,
    UploadRequest, User, UserId, WriteError,
};

/// Changes to the own profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileChanges {
    /// New full name (`Some(None)` clears it).
    pub full_name: Option<Option<String>>,
    /// New bio (`Some(None)` clears it).
    pub bio: Option<Option<String>>,
    /// New avatar (`Some(None)` clears it).
    pub avatar: Option<Option<String>>,
    /// New web site, an absolute http or https URL (`Some(None)` clears it).
    pub website: Option<Option<String>>,
    /// New location, at most 100 characters (`Some(None)` clears it).
    pub location: Option<Option<String>>,
    /// Preference keys to set; a `null` value removes the key.
    pub preferences: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Why a profile change was refused.
#[derive(Debug, thiserror::Error)]
pub enum UpdateProfileError {
    /// A field is too long (name the field).
    #[error("{0} is too long")]
    TooLong(&'static str),
    /// The web site is not an absolute http or https URL.
    #[error("website must be an absolute http or https URL")]
    Website,
    /// A text field holds control characters (name the field).
    #[error("{0} must not contain control characters")]
    ControlCharacters(&'static str),
    /// The user no longer exists.
    #[error("user not found")]
    NotFound,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why an account could not be deleted.
#[derive(Debug, thiserror::Error)]
pub enum DeleteAccountError {
    /// The request presented an API key, which cannot manage the account.
    #[error(transparent)]
    NeedsSession(#[from] crate::NeedsSession),
    /// The confirming password was wrong.
    #[error("password is wrong")]
    WrongPassword,
    /// Too many wrong passwords: no more checks until `until`.
    #[error("too many wrong passwords")]
    LockedOut {
        /// When the password may be tried again.
        until: time::OffsetDateTime,
    },
    /// Unknown, used or expired deletion token, or another user's.
    #[error("invalid or expired token")]
    InvalidToken,
    /// The user no longer exists.
    #[error("user not found")]
    NotFound,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// One content session with its data and messages, for an export.
#[derive(Debug, Clone)]
pub struct ContentSessionExport {
    /// The session.
    pub session: ContentSession,
    /// Its key/value data.
    pub data: std::collections::BTreeMap<StorageKey, serde_json::Value>,
    /// Its messages, newest first.
    pub messages: Vec<Message>,
}

/// Everything Portico stores about a user (GDPR export), except the
/// password hash: [`AccountExport::user`] never carries it.
#[derive(Debug, Clone)]
pub struct AccountExport {
    /// The account.
    pub user: User,
    /// Roles held.
    pub roles: Vec<RoleName>,
    /// Active sign-in sessions.
    pub sessions: Vec<AuthSession>,
    /// Content sessions with data and messages.
    pub content_sessions: Vec<ContentSessionExport>,
    /// Unexpired notifications.
    pub notifications: Vec<Notification>,
    /// Upload requests.
    pub uploads: Vec<UploadRequest>,
    /// Payments as payer or beneficiary.
    pub payments: Vec<Payment>,
    /// Request counters.
    pub usage: Usage,
    /// The second factor, without its secret or codes.
    pub mfa: Option<MfaFactorExport>,
    /// Identity-provider links, without their tokens.
    pub identity_links: Vec<IdentityLinkExport>,
    /// The account's activity events, newest first.
    pub activity: Vec<crate::ActivityEvent>,
    /// The conversations the user takes part in, most recent first.
    pub conversations: Vec<crate::ConversationEntry>,
    /// The messages the user sent in conversations, newest first.
    pub sent_messages: Vec<crate::ConversationMessage>,
    /// The users the user blocks.
    pub blocks: Vec<crate::Block>,
}

/// An identity link as the export shows it: never its tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityLinkExport {
    /// The provider's configured name.
    pub provider: crate::ProviderName,
    /// The user's id at the provider.
    pub subject: String,
    /// The address the provider reported.
    pub email: Option<crate::Email>,
    /// When it was linked.
    pub created_at: time::OffsetDateTime,
}

impl From<crate::IdentityLink> for IdentityLinkExport {
    fn from(l: crate::IdentityLink) -> Self {
        Self {
            provider: l.provider,
            subject: l.subject,
            email: l.email,
            created_at: l.created_at,
        }
    }
}

/// A second factor as the export shows it: its facts, never its secret or
/// its backup-code hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct MfaFactorExport {
    /// When the enrolment began.
    pub created_at: time::OffsetDateTime,
    /// When it was confirmed (`None`: pending, not asked at sign-in).
    pub confirmed_at: Option<time::OffsetDateTime>,
    /// Backup codes not used yet.
    pub backup_codes_left: usize,
}

/// What a user does with their own account.
#[derive(Clone)]
pub struct Profiles {
    stores: Stores,
    system: System,
    policy: AccountPolicy,
}

/// Longest full name, in characters.
const MAX_NAME: usize = 255;
/// Longest bio, in characters.
const MAX_BIO: usize = 4_000;
/// Longest avatar reference (and web site), in characters.
const MAX_AVATAR: usize = 2_048;
/// Longest location, in characters.
const MAX_LOCATION: usize = 100;

/// Whether `text` is an absolute http or https URL with a host and no
/// credentials (what a profile links to).
fn is_web_url(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && u.host().is_some()
            && u.username().is_empty()
            && u.password().is_none()
    })
}
/// Largest preferences object, in bytes of JSON.
const MAX_PREFERENCES_BYTES: usize = 16 * 1024;

/// Reads every page of a list port.
async fn collect<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, StoreError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, StoreError>>,
{
    let mut out = Vec::new();
    let mut request = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let page = fetch(request).await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => request = PageRequest::after(PageRequest::MAX_LIMIT, c),
            None => return Ok(out),
        }
    }
}

/// How often a preferences change is tried against concurrent ones.
const PREFERENCE_ATTEMPTS: usize = 16;

impl Profiles {
    /// Builds the service.
    pub fn new(stores: Stores, system: System, policy: AccountPolicy) -> Self {
        Self {
            stores,
            system,
            policy,
        }
    }

    /// The user, or `None`.
    pub async fn get(&self, user_id: UserId) -> Result<Option<User>, StoreError> {
        self.stores.users.get(user_id).await
    }

    /// Applies profile and preference changes.
    pub async fn update_profile(
        &self,
        user_id: UserId,
        changes: ProfileChanges,
    ) -> Result<User, UpdateProfileError> {
        let checks = [
            ("full_name", &changes.full_name, MAX_NAME),
            ("bio", &changes.bio, MAX_BIO),
            ("avatar", &changes.avatar, MAX_AVATAR),
            ("website", &changes.website, MAX_AVATAR),
            ("location", &changes.location, MAX_LOCATION),
        ];
        for (field, value, max) in checks {
            if let Some(Some(text)) = value
                && !crate::kernel::stores::within(text, max)
            {
                return Err(UpdateProfileError::TooLong(field));
            }
        }
        if let Some(Some(site)) = &changes.website
            && !is_web_url(site)
        {
            return Err(UpdateProfileError::Website);
        }
        if let Some(Some(place)) = &changes.location
            && place.chars().any(char::is_control)
        {
            return Err(UpdateProfileError::ControlCharacters("location"));
        }
        let users = &self.stores.users;
        let mut fields = crate::UserChanges {
            full_name: changes.full_name,
            bio: changes.bio,
            avatar: changes.avatar,
            website: changes.website,
            location: changes.location,
            ..crate::UserChanges::default()
        };
        // Preferences merge key by key into what is stored: compare-and-set
        // on the value read, retried when another change came in between.
        for _ in 0..PREFERENCE_ATTEMPTS {
            if let Some(patch) = &changes.preferences {
                let user = users
                    .get(user_id)
                    .await
                    .map_err(UpdateProfileError::Unexpected)?
                    .ok_or(UpdateProfileError::NotFound)?;
                let mut merged = user.preferences.clone();
                for (k, v) in patch {
                    if v.is_null() {
                        merged.remove(k);
                    } else {
                        merged.insert(k.clone(), v.clone());
                    }
                }
                let size = serde_json::to_vec(&merged).map_or(usize::MAX, |v| v.len());
                if size > MAX_PREFERENCES_BYTES {
                    return Err(UpdateProfileError::TooLong("preferences"));
                }
                fields.preferences = Some(crate::PreferencesSwap {
                    from: user.preferences,
                    to: merged,
                });
            }
            fields.updated_at = Some(self.system.now());
            match users.update_fields(user_id, &fields).await {
                Ok(crate::FieldsUpdate::Written) => {
                    self.stores.announce(crate::AuthChange::User(user_id)).await;
                    return users
                        .get(user_id)
                        .await
                        .map_err(UpdateProfileError::Unexpected)?
                        .ok_or(UpdateProfileError::NotFound);
                }
                Ok(crate::FieldsUpdate::ConditionFailed) => continue,
                Err(crate::WriteError::NotFound) => return Err(UpdateProfileError::NotFound),
                Err(crate::WriteError::Store(e)) => return Err(UpdateProfileError::Unexpected(e)),
            }
        }
        Err(UpdateProfileError::Unexpected(StoreError::msg(format!(
            "preferences kept changing; gave up after {PREFERENCE_ATTEMPTS} attempts"
        ))))
    }

    /// Everything stored about the user, as one document.
    pub async fn export(&self, user_id: UserId) -> Result<Option<AccountExport>, StoreError> {
        let s = &self.stores;
        let Some(mut user) = s.users.get(user_id).await? else {
            return Ok(None);
        };
        // A credential, not data the user can take elsewhere.
        user.password_hash = None;
        let now = self.system.now();
        let roles = s
            .roles
            .roles_of(user_id)
            .await?
            .into_iter()
            .map(|r| r.name)
            .collect();
        let sessions = s.sessions.list_active(user_id, now).await?;
        let mut content_sessions = Vec::new();
        for session in collect(|p| s.content.list_for_user(user_id, p)).await? {
            let data = s.content.list_data(session.id).await?;
            let messages = collect(|p| s.content.list_messages(session.id, p)).await?;
            content_sessions.push(ContentSessionExport {
                session,
                data,
                messages,
            });
        }
        let notifications = collect(|p| s.notifications.list(user_id, false, now, p)).await?;
        let uploads = collect(|p| s.uploads.list_for_user(user_id, p)).await?;
        let payments = collect(|p| s.payments.list_for_user(user_id, p)).await?;
        let usage = crate::limits::stored_usage(&*s.rate_limiter, user_id, now).await?;
        let mfa = s.mfa.get(user_id).await?.map(|f| MfaFactorExport {
            created_at: f.created_at,
            confirmed_at: f.confirmed_at,
            backup_codes_left: f.backup_codes.len(),
        });
        let identity_links = s
            .identity_links
            .list_for_user(user_id)
            .await?
            .into_iter()
            .map(IdentityLinkExport::from)
            .collect();
        let mine = crate::ActivityFilter {
            user_id: Some(user_id),
            ..crate::ActivityFilter::default()
        };
        let activity = collect(|p| s.activity.list(&mine, p)).await?;
        let conversations = collect(|p| s.conversations.list_for_user(user_id, p)).await?;
        let sent_messages = collect(|p| s.conversations.list_sent(user_id, p)).await?;
        let blocks = s.blocks.list(user_id).await?;
        Ok(Some(AccountExport {
            user,
            roles,
            sessions,
            content_sessions,
            notifications,
            uploads,
            payments,
            usage,
            mfa,
            identity_links,
            activity,
            conversations,
            sent_messages,
            blocks,
        }))
    }
}

#[path = "deletion.rs"]
mod deletion;

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;
