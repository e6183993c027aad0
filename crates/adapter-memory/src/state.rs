//! The maps behind every port, and the listing helper they share.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use domain::*;
use time::OffsetDateTime;

/// A queued message and the instant it is due.
pub(crate) struct Queued {
    pub(crate) mail: QueuedMail,
    pub(crate) due_at: OffsetDateTime,
}

/// A rate-limit counter's identity: key, window length (0 for all time)
/// and window start (Unix seconds; 0 for all time).
pub(crate) type CounterKey = (String, u32, i64);

/// A counter's value and when its window ends.
pub(crate) struct Counter {
    pub(crate) count: u64,
    pub(crate) ends_at: Option<OffsetDateTime>,
}

/// Everything the store holds. Each port's file reads and writes its part.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) users: HashMap<UserId, User>,
    pub(crate) plans: std::collections::BTreeMap<PlanName, Plan>,
    pub(crate) activity: HashMap<ActivityEventId, ActivityEvent>,
    pub(crate) stats: std::collections::BTreeMap<time::Date, DayStats>,
    pub(crate) settings: Option<StoredSettings>,
    pub(crate) api_keys: std::collections::BTreeMap<ApiKeyId, ApiKey>,
    pub(crate) passkeys: std::collections::BTreeMap<PasskeyId, Passkey>,
    pub(crate) passkey_challenges: HashMap<PasskeyChallengeId, PasskeyChallenge>,
    /// By normalized email: one candidate per address.
    pub(crate) candidates: HashMap<String, RegistrationCandidate>,
    pub(crate) sessions: HashMap<AuthSessionId, AuthSession>,
    pub(crate) refresh_tokens: HashMap<TokenHash, RefreshToken>,
    /// With the tries spent on each.
    pub(crate) one_time: HashMap<(TokenHash, TokenPurpose), (OneTimeToken, u32)>,
    pub(crate) roles: BTreeMap<RoleName, Role>,
    pub(crate) grants: BTreeSet<(UserId, RoleName)>,
    pub(crate) content: HashMap<ContentSessionId, ContentSession>,
    pub(crate) data: HashMap<ContentSessionId, BTreeMap<StorageKey, serde_json::Value>>,
    pub(crate) messages: HashMap<MessageId, Message>,
    pub(crate) notifications: HashMap<NotificationId, Notification>,
    pub(crate) uploads: HashMap<UploadId, UploadRequest>,
    pub(crate) payments: HashMap<PaymentId, Payment>,
    pub(crate) counters: HashMap<CounterKey, Counter>,
    /// Holder and end of each lease.
    pub(crate) leases: HashMap<String, (String, OffsetDateTime)>,
    pub(crate) mail: HashMap<QueuedMailId, Queued>,
    pub(crate) mfa: HashMap<UserId, MfaFactor>,
    pub(crate) links: BTreeMap<(UserId, ProviderName), IdentityLink>,
    pub(crate) flows: HashMap<TokenHash, OAuthFlow>,
    pub(crate) conversations: HashMap<ConversationId, Conversation>,
    /// By conversation, then user.
    pub(crate) participants: BTreeMap<(ConversationId, UserId), Participant>,
    /// By conversation, then sequence number.
    pub(crate) conversation_messages: BTreeMap<(ConversationId, u64), ConversationMessage>,
    /// By blocker, then blocked.
    pub(crate) blocks: BTreeMap<(UserId, UserId), Block>,
    pub(crate) webhooks: BTreeMap<WebhookId, WebhookEndpoint>,
    /// Every endpoint's delivery log, in the order written.
    pub(crate) webhook_attempts: Vec<WebhookAttempt>,
    /// Each delivery and the instant it is due.
    pub(crate) webhook_queue: HashMap<WebhookDeliveryId, (WebhookDelivery, OffsetDateTime)>,
}

/// The page `request` asks for of `items`, newest first by
/// `(created_at, id)`, resumed strictly after the request's cursor.
pub(crate) fn page_of<'a, T, I>(items: I, request: PageRequest) -> Page<T>
where
    T: Listed + Clone + 'a,
    I: IntoIterator<Item = &'a T>,
{
    let key = |item: &T| {
        let p = item.position();
        (p.at, p.id)
    };
    let after = request.cursor().map(|c| (c.at, c.id));
    let mut picked: Vec<T> = items
        .into_iter()
        .filter(|item| after.is_none_or(|after| key(item) < after))
        .cloned()
        .collect();
    picked.sort_by_key(|item| std::cmp::Reverse(key(item)));
    picked.truncate(request.limit() as usize + 1);
    Page::from_overfetch(picked, request)
}

/// `n` as a count a port returns.
pub(crate) fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Removes at most `limit` entries of `map` that are `expired`; how many.
pub(crate) fn purge<K, V>(
    map: &mut HashMap<K, V>,
    limit: u32,
    expired: impl Fn(&V) -> bool,
) -> u64 {
    let mut left = limit;
    map.retain(|_, v| {
        if left > 0 && expired(v) {
            left -= 1;
            false
        } else {
            true
        }
    });
    u64::from(limit - left)
}
