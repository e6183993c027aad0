//! Every collection's indexes, created at start-up. `createIndexes` with an
//! identical specification is a no-op, so this runs at every connect.

use std::time::Duration;

use mongodb::bson::{Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Database, IndexModel};

/// Collection names.
pub(crate) mod names {
    /// User accounts.
    pub(crate) const USERS: &str = "users";
    /// Role grants (`userId`, `role`).
    pub(crate) const GRANTS: &str = "permissionsTokens";
    /// Role definitions, `_id` = name.
    pub(crate) const ROLES: &str = "roles";
    /// Content sessions.
    pub(crate) const CONTENT: &str = "contentSessions";
    /// Messages of content sessions.
    pub(crate) const MESSAGES: &str = "messages";
    /// Notifications; a TTL index removes expired ones.
    pub(crate) const NOTIFICATIONS: &str = "notifications";
    /// Auth sessions.
    pub(crate) const SESSIONS: &str = "sessions";
    /// Refresh tokens.
    pub(crate) const REFRESH: &str = "refreshTokens";
    /// Registration candidates, `_id` = normalized email.
    pub(crate) const CANDIDATES: &str = "userCandidates";
    /// Password-reset and deletion tokens, `_id` = token hash.
    pub(crate) const TOKENS: &str = "oneTimeTokens";
    /// Upload requests.
    pub(crate) const UPLOADS: &str = "uploadRequests";
    /// Payments with their beneficiaries embedded.
    pub(crate) const PAYMENTS: &str = "payments";
    /// Rate-limit and usage counters.
    pub(crate) const RATE_LIMITS: &str = "rateLimits";
    /// Background-job leases, `_id` = job name.
    pub(crate) const LEASES: &str = "jobLeases";
    /// Mail waiting to be sent.
    pub(crate) const MAIL_QUEUE: &str = "mailQueue";
    /// Second factors, `_id` = user id.
    pub(crate) const MFA: &str = "mfaFactors";
    /// Links between users and their identities at providers.
    pub(crate) const LINKS: &str = "identityLinks";
    /// Each user's number of links, `_id` = user id.
    pub(crate) const LINK_COUNTS: &str = "identityLinkCounts";
    /// Provider sign-in flows, `_id` = hash of the state; a TTL index
    /// removes the ones whose callback never came.
    pub(crate) const FLOWS: &str = "oauthFlows";
    /// Changes to authentication, for caches of signed-in callers.
    pub(crate) const AUTH_CHANGES: &str = "authChanges";
    /// Plans, `_id` = name.
    pub(crate) const PLANS: &str = "plans";
    /// The activity log.
    pub(crate) const ACTIVITY: &str = "activityEvents";
    /// Statistics, one document per day, `_id` = `YYYY-MM-DD`.
    pub(crate) const DAILY_STATS: &str = "dailyStats";
    /// The runtime settings: one document, `_id` = `settings`.
    pub(crate) const SETTINGS: &str = "settings";
    /// API keys, unique on the key's hash.
    pub(crate) const API_KEYS: &str = "apiKeys";
    /// Passkeys, unique on the credential id.
    pub(crate) const PASSKEYS: &str = "passkeys";
    /// Each user's number of passkeys, `_id` = user id.
    pub(crate) const PASSKEY_COUNTS: &str = "passkeyCounts";
    /// WebAuthn ceremonies in progress; a TTL index removes the unfinished.
    pub(crate) const PASSKEY_CHALLENGES: &str = "passkeyChallenges";
    /// Conversations between users, unique on `key`.
    pub(crate) const CONVERSATIONS: &str = "conversations";
    /// Their participants, one document each with the read position.
    pub(crate) const PARTICIPANTS: &str = "conversationParticipants";
    /// Their messages, unique on (`conversationId`, `seq`).
    pub(crate) const CONVERSATION_MESSAGES: &str = "conversationMessages";
    /// Blocks between users, unique on (`blockerId`, `blockedId`).
    pub(crate) const BLOCKS: &str = "blocks";
    /// Webhook endpoints.
    pub(crate) const WEBHOOKS: &str = "webhooks";
    /// The webhook delivery log, by endpoint newest first; purged by age.
    pub(crate) const WEBHOOK_ATTEMPTS: &str = "webhookAttempts";
    /// Webhook deliveries waiting to be sent.
    pub(crate) const WEBHOOK_QUEUE: &str = "webhookQueue";
}

enum Kind {
    Plain,
    Unique,
    /// Documents are deleted once this date field is in the past.
    Ttl,
}

fn index(keys: Document, kind: Kind) -> IndexModel {
    let options = match kind {
        Kind::Plain => None,
        Kind::Unique => Some(IndexOptions::builder().unique(true).build()),
        Kind::Ttl => Some(IndexOptions::builder().expire_after(Duration::ZERO).build()),
    };
    IndexModel::builder().keys(keys).options(options).build()
}

/// Every index, per collection.
fn all() -> Vec<(&'static str, Vec<IndexModel>)> {
    use Kind::*;
    use names::*;
    let newest = |owner: &str| {
        let mut keys = Document::new();
        keys.insert(owner, 1);
        keys.insert("createdAt", -1);
        keys.insert("_id", -1);
        index(keys, Plain)
    };
    vec![
        (
            USERS,
            vec![
                index(doc! {"emailNormalized": 1}, Unique),
                index(doc! {"username": 1}, Unique),
                index(doc! {"createdAt": -1, "_id": -1}, Plain),
                // Whether a plan is in use; the admin list's plan filter.
                index(doc! {"plan.name": 1}, Plain),
            ],
        ),
        (
            GRANTS,
            vec![
                index(doc! {"userId": 1}, Plain),
                index(doc! {"userId": 1, "role": 1}, Unique),
                index(doc! {"role": 1}, Plain),
            ],
        ),
        (
            CONTENT,
            vec![index(doc! {"userId": 1}, Plain), newest("userId")],
        ),
        (
            MESSAGES,
            vec![
                index(doc! {"contentSessionId": 1}, Plain),
                newest("contentSessionId"),
            ],
        ),
        (
            NOTIFICATIONS,
            vec![
                index(doc! {"userId": 1}, Plain),
                index(doc! {"expiresAt": 1}, Ttl),
                newest("userId"),
                // The notification feed polls by creation time.
                index(doc! {"createdAt": 1}, Plain),
            ],
        ),
        (
            API_KEYS,
            vec![index(doc! {"keyHash": 1}, Unique), newest("userId")],
        ),
        (
            SESSIONS,
            vec![
                index(doc! {"tokenHash": 1}, Unique),
                newest("userId"),
                index(doc! {"refreshExpiresAt": 1}, Ttl),
            ],
        ),
        (
            REFRESH,
            vec![
                index(doc! {"tokenHash": 1}, Unique),
                index(doc! {"sessionId": 1}, Plain),
                index(doc! {"userId": 1}, Plain),
                index(doc! {"expiresAt": 1}, Ttl),
            ],
        ),
        (
            CANDIDATES,
            vec![
                index(doc! {"tokenHash": 1}, Unique),
                index(doc! {"expiresAt": 1}, Ttl),
            ],
        ),
        (
            TOKENS,
            vec![
                index(doc! {"userId": 1, "purpose": 1}, Plain),
                index(doc! {"expiresAt": 1}, Ttl),
            ],
        ),
        (
            UPLOADS,
            vec![
                index(doc! {"objectKey": 1}, Unique),
                newest("userId"),
                index(doc! {"status": 1, "expiresAt": 1}, Plain),
            ],
        ),
        (
            PAYMENTS,
            vec![
                index(doc! {"payerId": 1, "idempotencyKey": 1}, Unique),
                newest("payerId"),
                newest("beneficiaries.userId"),
            ],
        ),
        (
            RATE_LIMITS,
            vec![
                index(doc! {"key": 1}, Plain),
                index(doc! {"windowEnd": 1}, Ttl),
            ],
        ),
        (
            AUTH_CHANGES,
            vec![
                index(doc! {"at": 1}, Plain),
                index(doc! {"expiresAt": 1}, Ttl),
            ],
        ),
        (
            LINKS,
            vec![
                index(doc! {"provider": 1, "subject": 1}, Unique),
                index(doc! {"userId": 1, "provider": 1}, Unique),
            ],
        ),
        (
            FLOWS,
            vec![
                index(doc! {"linkingUser": 1}, Plain),
                index(doc! {"expiresAt": 1}, Ttl),
            ],
        ),
        (
            PASSKEYS,
            vec![
                index(doc! {"credentialId": 1}, Unique),
                index(doc! {"userId": 1, "createdAt": 1, "_id": 1}, Plain),
            ],
        ),
        (PASSKEY_CHALLENGES, vec![index(doc! {"expiresAt": 1}, Ttl)]),
        (CONVERSATIONS, vec![index(doc! {"key": 1}, Unique)]),
        (
            PARTICIPANTS,
            vec![
                index(doc! {"conversationId": 1, "userId": 1}, Unique),
                // A user's conversations by last activity.
                index(
                    doc! {"userId": 1, "lastActivityAt": -1, "conversationId": -1},
                    Plain,
                ),
            ],
        ),
        (
            CONVERSATION_MESSAGES,
            vec![
                index(doc! {"conversationId": 1, "seq": -1}, Unique),
                newest("senderId"),
            ],
        ),
        (
            BLOCKS,
            vec![
                index(doc! {"blockerId": 1, "blockedId": 1}, Unique),
                index(doc! {"blockedId": 1}, Plain),
            ],
        ),
        (
            ACTIVITY,
            vec![
                index(doc! {"userId": 1, "at": -1, "_id": -1}, Plain),
                index(doc! {"at": -1, "_id": -1}, Plain),
                index(doc! {"actorId": 1}, Plain),
            ],
        ),
        (
            MAIL_QUEUE,
            vec![index(doc! {"dueAt": 1, "createdAt": 1, "_id": 1}, Plain)],
        ),
        (
            WEBHOOK_QUEUE,
            vec![index(doc! {"dueAt": 1, "createdAt": 1, "_id": 1}, Plain)],
        ),
        (
            WEBHOOK_ATTEMPTS,
            vec![
                index(doc! {"endpointId": 1, "at": -1, "attempt": -1}, Plain),
                index(doc! {"at": 1}, Plain),
            ],
        ),
        (
            WEBHOOKS,
            vec![index(doc! {"createdAt": 1, "_id": 1}, Plain)],
        ),
    ]
}

/// Creates every index (idempotent).
pub(crate) async fn create_all(db: &Database) -> Result<(), mongodb::error::Error> {
    for (collection, models) in all() {
        db.collection::<Document>(collection)
            .create_indexes(models)
            .await?;
    }
    Ok(())
}

/// Every collection with its index key patterns (marked `unique` or `TTL`),
/// as [`crate::MongoStore::connect`] creates them.
pub fn describe() -> Vec<(&'static str, Vec<String>)> {
    all()
        .into_iter()
        .map(|(c, models)| {
            let keys = models
                .iter()
                .map(|m| {
                    let ttl = m.options.as_ref().is_some_and(|o| o.expire_after.is_some());
                    let unique = m.options.as_ref().and_then(|o| o.unique).unwrap_or(false);
                    let tag = if ttl {
                        " TTL"
                    } else if unique {
                        " unique"
                    } else {
                        ""
                    };
                    format!("{}{tag}", m.keys)
                })
                .collect();
            (c, keys)
        })
        .collect()
}
