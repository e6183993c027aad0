//! The export of everything stored about a user.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::*;
use domain::*;

/// Everything stored about a user. The password hash is never part of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportView {
    /// The account, with what only the export shows.
    pub user: ExportUserView,
    /// Names of the roles held, ordered by name.
    pub roles: Vec<String>,
    /// Sign-in sessions still active; `current` marks the exporting one.
    pub sessions: Vec<SessionView>,
    /// Content sessions, each with its data and messages.
    pub content_sessions: Vec<ContentSessionExportView>,
    /// Notifications not yet expired, newest first.
    pub notifications: Vec<NotificationView>,
    /// Upload requests, newest first.
    pub uploads: Vec<UploadView>,
    /// Payments where the user pays or receives, newest first.
    pub payments: Vec<PaymentView>,
    /// Request counters at the time of the export.
    pub usage: UsageView,
    /// The second factor (never its secret or backup codes); `null` if none.
    pub mfa: Option<MfaExportView>,
    /// The account's activity events kept (see `activity.retention_days`), newest first.
    pub activity: Vec<ActivityEventView>,
    /// The conversations the user takes part in, most recent activity first.
    pub conversations: Vec<ConversationSummaryView>,
    /// The messages the user sent in conversations, newest first.
    pub sent_messages: Vec<ConversationMessageView>,
    /// The users the user blocks.
    pub blocks: Vec<BlockView>,
}

/// A second factor in the export.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaExportView {
    /// Always `totp`.
    pub kind: &'static str,
    /// When the enrolment began.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    /// When it was confirmed; `null` while pending.
    #[serde(with = "time::serde::rfc3339::option")]
    pub confirmed_at: Option<time::OffsetDateTime>,
    /// Backup codes not used yet.
    pub backup_codes_left: usize,
}

/// The account as the export shows it: the usual view plus the sign-in
/// facts kept about it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportUserView {
    /// What `GET /v1/me` shows.
    #[serde(flatten)]
    pub account: UserView,
    /// Failed sign-ins since the last success; they lead to a lockout.
    pub failed_logins: u32,
    /// Identity providers the account is linked to.
    pub auth_providers: Vec<ProviderLinkView>,
}

/// A link to an identity provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderLinkView {
    /// The provider's configured name, for example `google`.
    pub provider: String,
    /// The user's id at that provider.
    pub subject: String,
    /// The address the provider reported when the link was made.
    pub email: Option<String>,
    /// When it was linked.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

impl From<domain::IdentityLinkExport> for ProviderLinkView {
    fn from(l: domain::IdentityLinkExport) -> Self {
        Self {
            provider: l.provider.into(),
            subject: l.subject,
            email: l.email.map(|e| e.as_str().to_owned()),
            created_at: l.created_at,
        }
    }
}

/// A content session with everything in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContentSessionExportView {
    /// The session.
    pub session: ContentSessionView,
    /// Values by storage key, ordered by key.
    #[schema(value_type = Object)]
    pub data: BTreeMap<String, serde_json::Value>,
    /// Its messages, newest first.
    pub messages: Vec<MessageView>,
}

impl From<ContentSessionExport> for ContentSessionExportView {
    fn from(c: ContentSessionExport) -> Self {
        Self {
            session: c.session.into(),
            data: c
                .data
                .into_iter()
                .map(|(k, v)| (k.as_str().to_owned(), v))
                .collect(),
            messages: c.messages.into_iter().map(MessageView::from).collect(),
        }
    }
}

impl ExportView {
    /// The wire form of `account`, exported through the session `current`.
    pub fn new(account: AccountExport, current: domain::AuthSessionId) -> Self {
        let AccountExport {
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
        } = account;
        let failed_logins = user.failed_logins;
        Self {
            user: ExportUserView {
                account: user.into(),
                failed_logins,
                auth_providers: identity_links.into_iter().map(Into::into).collect(),
            },
            roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
            sessions: SessionList::of(sessions, current).items,
            content_sessions: content_sessions.into_iter().map(Into::into).collect(),
            notifications: notifications.into_iter().map(Into::into).collect(),
            uploads: uploads.into_iter().map(Into::into).collect(),
            payments: payments.into_iter().map(Into::into).collect(),
            usage: usage.into(),
            mfa: mfa.map(|f| MfaExportView {
                kind: "totp",
                created_at: f.created_at,
                confirmed_at: f.confirmed_at,
                backup_codes_left: f.backup_codes_left,
            }),
            activity: activity.into_iter().map(Into::into).collect(),
            conversations: conversations.into_iter().map(Into::into).collect(),
            sent_messages: sent_messages.into_iter().map(Into::into).collect(),
            blocks: blocks.into_iter().map(Into::into).collect(),
        }
    }
}
