//! Moving data between stores: every durable record read through the
//! ports as a stream of [`DumpRecord`]s ([`Transfer::dump`]) and written back
//! through the ports of another store ([`Transfer::load_all`],
//! [`DumpLoader`]).
//!
//! Because both directions use only the repository ports, any pair of
//! adapters works, an embedder's included: SQLite to PostgreSQL, MongoDB or
//! Redis, or back. Records keep their ids, times, password hashes and
//! sealed secrets as they are, so the same keyring makes them usable.
//!
//! What travels: settings, plans, roles, and for each user the account,
//! its role grants, second factor, provider links, passkeys, API keys,
//! content sessions (with their data and messages), live notifications,
//! uploads, payments, blocks, and the conversations between users (once,
//! with their participants, read positions and messages, tombstones
//! included); then the activity log and the daily statistics.
//! What does not: sign-in sessions and the single-use tokens, pending
//! registrations, provider flows and passkey ceremonies (short-lived; a
//! user signs in again), rate-limit counters, job leases, and mail still
//! queued (see [`NOT_CARRIED`]).

mod backups;
mod dump;
mod format;
mod load;
mod pipeline;

#[cfg(test)]
mod tests;

pub use backups::{BACKUP_LINK_TTL, BACKUP_PREFIX, BackupError, BackupInfo, BackupName, Backups};
pub use dump::{DumpError, RecordSink};
pub use format::{
    DUMP_FORMAT, DUMP_VERSION, DumpHeader, DumpLine, DumpTrailer, DumpValidator, FormatError,
    iso_date,
};
pub use load::{DumpLoader, LoadError, Occupied};
pub use pipeline::LoadFailure;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{
    ActivityEvent, ApiKey, Block, Clock, ContentSession, ContentSessionId, Conversation,
    ConversationMessage, DayStats, IdentityLink, Message, MfaFactor, Notification, Participant,
    Passkey, Payment, Plan, Role, RoleName, StorageKey, StoredSettings, Stores, UploadRequest,
    User, UserId, WebhookEndpoint,
};

/// The kinds of records that do not travel in a dump, and why.
pub const NOT_CARRIED: &[(&str, &str)] = &[
    (
        "sign-in sessions and refresh tokens",
        "users sign in again on the new store",
    ),
    (
        "single-use tokens (verification, reset, email sign-in)",
        "expire within hours; ask again",
    ),
    (
        "pending registrations",
        "expire within a day; register again",
    ),
    (
        "provider sign-in flows and passkey ceremonies",
        "live for minutes",
    ),
    ("rate-limit and quota counters", "windows start afresh"),
    ("job leases", "taken again by the new instances"),
    ("queued mail", "let the old server send it before the dump"),
    (
        "queued webhook deliveries and the delivery log",
        "let the old server deliver what is queued before the dump; the log is kept 30 days",
    ),
];

/// A user's role: the grant of `role` to `user_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleGrant {
    /// The user.
    pub user_id: UserId,
    /// The role.
    pub role: RoleName,
}

/// One value a content session stores under a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentDatum {
    /// The content session.
    pub content_session_id: ContentSessionId,
    /// The key.
    pub key: StorageKey,
    /// The value.
    pub value: serde_json::Value,
}

macro_rules! records {
    ($($(#[$doc:meta])* $variant:ident($ty:ty) = $wire:literal,)*) => {
        /// One record of a dump, tagged with its kind. Records that refer
        /// to others come after them (a user before its grants, a content
        /// session before its messages), which is the order a restore
        /// writes them in.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "kind", content = "record")]
        pub enum DumpRecord {
            $($(#[$doc])* #[serde(rename = $wire)] $variant($ty),)*
        }

        impl DumpRecord {
            /// Every kind's wire name, in dump order.
            pub const KINDS: &'static [&'static str] = &[$($wire),*];

            /// This record's kind (`user`, `message`, …).
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => $wire,)*
                }
            }
        }
    };
}

records! {
    /// The runtime settings record.
    Settings(StoredSettings) = "settings",
    /// A plan.
    Plan(Plan) = "plan",
    /// A role (built-in ones too: their permissions may have been changed).
    Role(Role) = "role",
    /// A webhook endpoint, its secret sealed.
    Webhook(WebhookEndpoint) = "webhook",
    /// A user account, with its password hash.
    User(Box<User>) = "user",
    /// A role granted to a user.
    RoleGrant(RoleGrant) = "grant",
    /// A second factor, its secret sealed.
    MfaFactor(MfaFactor) = "mfa_factor",
    /// A link to an identity provider, its tokens sealed.
    IdentityLink(IdentityLink) = "identity_link",
    /// A passkey.
    Passkey(Passkey) = "passkey",
    /// An API key (its hash).
    ApiKey(ApiKey) = "api_key",
    /// A content session.
    ContentSession(ContentSession) = "content_session",
    /// A value stored in a content session.
    ContentData(ContentDatum) = "content_data",
    /// A message of a content session.
    Message(Message) = "message",
    /// A notification that has not expired.
    Notification(Notification) = "notification",
    /// An upload request.
    Upload(UploadRequest) = "upload",
    /// A payment.
    Payment(Payment) = "payment",
    /// A conversation between users, with its participants.
    Conversation(ConversationDump) = "conversation",
    /// A message of a conversation between users, in the conversation's order.
    ConversationMessage(ConversationMessage) = "conversation_message",
    /// A user blocking another.
    Block(Block) = "block",
    /// An activity event.
    Activity(ActivityEvent) = "activity",
    /// A day's statistics.
    DayStats(DayStats) = "day_stats",
}

/// A conversation and its participants, as a dump holds it. Loading
/// writes the conversation, its participants (joining when it was
/// started) and their read positions; its messages follow as their own
/// records and take their sequence numbers again, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationDump {
    /// The conversation.
    pub conversation: Conversation,
    /// Its participants.
    pub participants: Vec<Participant>,
}

/// Dumps and loads the records of a set of [`Stores`].
#[derive(Clone)]
pub struct Transfer {
    stores: Stores,
    clock: Arc<dyn Clock>,
}

impl Transfer {
    /// The transfer service over `stores`; `clock` says which
    /// notifications have expired and when grants are written.
    pub fn new(stores: Stores, clock: Arc<dyn Clock>) -> Self {
        Self { stores, clock }
    }

    fn now(&self) -> time::OffsetDateTime {
        crate::truncate_to_millis(self.clock.now())
    }
}
