//! Reading every record through the ports.

use std::collections::BTreeMap;

use async_trait::async_trait;
use futures::StreamExt;
use time::{Date, Duration, OffsetDateTime};

use super::{ContentDatum, DumpRecord, RoleGrant, Transfer};
use crate::{ActivityFilter, Page, PageRequest, StoreError, User, UserFilter};

/// Where [`Transfer::dump`] puts records, in order.
#[async_trait]
pub trait RecordSink: Send {
    /// Takes the next record.
    async fn put(&mut self, record: DumpRecord) -> Result<(), DumpError>;
}

/// Why a dump stopped.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The sink could not take a record (a full disk, a closed upload).
    #[error("cannot write the dump: {0}")]
    Sink(String),
}

/// Rows per page when listing.
const PAGE: u32 = 200;

/// Users whose records are read at the same time.
const CONCURRENT_USERS: usize = 16;

/// The creation time of the user record that starts `records`.
fn records_created_at(records: &[DumpRecord]) -> OffsetDateTime {
    match records.first() {
        Some(DumpRecord::User(user)) => user.created_at,
        _ => OffsetDateTime::UNIX_EPOCH,
    }
}

/// Every item of a paged listing, oldest first (listings are newest first).
async fn all<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, StoreError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, StoreError>>,
{
    let mut items = Vec::new();
    let mut request = PageRequest::first(PAGE);
    loop {
        let page = fetch(request).await?;
        items.extend(page.items);
        match page.next_cursor {
            Some(cursor) => request = PageRequest::after(PAGE, cursor),
            None => break,
        }
    }
    items.reverse();
    Ok(items)
}

/// Counts what went into the sink.
struct Counting<'a> {
    sink: &'a mut dyn RecordSink,
    counts: BTreeMap<String, u64>,
}

impl Counting<'_> {
    async fn put(&mut self, record: DumpRecord) -> Result<(), DumpError> {
        *self.counts.entry(record.kind().to_owned()).or_default() += 1;
        self.sink.put(record).await
    }
}

impl Transfer {
    /// Puts every record the stores hold into `sink`, in the order a
    /// restore writes them, and returns the count of each kind. Reads go
    /// through the ports while the server serves: each record is read
    /// whole, but a record written during the dump may or may not be in
    /// it. Memory stays flat in the number of users: one account's records
    /// (for 16 accounts at a time) are held, not the
    /// store's.
    pub async fn dump(
        &self,
        sink: &mut dyn RecordSink,
    ) -> Result<BTreeMap<String, u64>, DumpError> {
        let s = &self.stores;
        let mut out = Counting {
            sink,
            counts: BTreeMap::new(),
        };
        if let Some(settings) = s.settings.load().await? {
            out.put(DumpRecord::Settings(settings)).await?;
        }
        for plan in s.plans.list().await? {
            out.put(DumpRecord::Plan(plan)).await?;
        }
        for role in s.roles.list().await? {
            out.put(DumpRecord::Role(role)).await?;
        }
        for endpoint in s.webhooks.list().await? {
            out.put(DumpRecord::Webhook(endpoint)).await?;
        }
        let now = self.now();
        let mut oldest = now;
        let filter = UserFilter::default();
        let mut request = PageRequest::first(PAGE);
        loop {
            let page = s.users.list(&filter, request).await?;
            if let Some(last) = page.items.last() {
                oldest = oldest.min(last.created_at);
            }
            let mut batches = futures::stream::iter(page.items)
                .map(|user| self.user_records(user, now))
                .buffered(CONCURRENT_USERS);
            while let Some(records) = batches.next().await {
                for record in records? {
                    out.put(record).await?;
                }
            }
            match page.next_cursor {
                Some(cursor) => request = PageRequest::after(PAGE, cursor),
                None => break,
            }
        }
        let activity = ActivityFilter::default();
        let mut request = PageRequest::first(PAGE);
        loop {
            let page = s.activity.list(&activity, request).await?;
            for event in page.items {
                oldest = oldest.min(event.at);
                out.put(DumpRecord::Activity(event)).await?;
            }
            match page.next_cursor {
                Some(cursor) => request = PageRequest::after(PAGE, cursor),
                None => break,
            }
        }
        for day in self.days_since(oldest, now).await? {
            out.put(DumpRecord::DayStats(day)).await?;
        }
        Ok(out.counts)
    }

    /// The daily statistics from the day before `oldest` to tomorrow, read
    /// a year at a time.
    async fn days_since(
        &self,
        oldest: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Vec<crate::DayStats>, StoreError> {
        let last: Date = (now + Duration::days(1)).date();
        let mut from: Date = (oldest - Duration::days(1)).date();
        let mut days = Vec::new();
        while from <= last {
            let to = (from + Duration::days(365)).min(last);
            days.extend(self.stores.stats.days(from, to).await?);
            from = to + Duration::days(1);
        }
        Ok(days)
    }

    /// Whether the user at `me` (`(created_at, id)`) is, of the payment's
    /// payer and beneficiaries, the one a dump writes last (users go newest
    /// first), so that the payment follows every user it names. A user
    /// deleted since does not count.
    async fn restored_last(
        &self,
        me: (OffsetDateTime, crate::UserId),
        payment: &crate::Payment,
    ) -> Result<bool, StoreError> {
        let others = std::iter::once(payment.payer_id)
            .chain(payment.beneficiaries.iter().map(|b| b.user_id))
            .filter(|other| *other != me.1);
        for other in others {
            if let Some(user) = self.stores.users.get(other).await?
                && (user.created_at, user.id) < me
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// One user's records: the account, then what refers to it.
    async fn user_records(
        &self,
        user: User,
        now: OffsetDateTime,
    ) -> Result<Vec<DumpRecord>, StoreError> {
        let s = &self.stores;
        let id = user.id;
        let mut records = vec![DumpRecord::User(Box::new(user))];
        for role in s.roles.roles_of(id).await? {
            records.push(DumpRecord::RoleGrant(RoleGrant {
                user_id: id,
                role: role.name,
            }));
        }
        if let Some(mut factor) = s.mfa.get(id).await? {
            // A set: in one order whatever the store returns.
            factor
                .backup_codes
                .sort_by(|a, b| a.as_str().cmp(b.as_str()));
            records.push(DumpRecord::MfaFactor(factor));
        }
        records.extend(
            s.identity_links
                .list_for_user(id)
                .await?
                .into_iter()
                .map(DumpRecord::IdentityLink),
        );
        records.extend(
            s.passkeys
                .list_for_user(id)
                .await?
                .into_iter()
                .map(DumpRecord::Passkey),
        );
        records.extend(
            s.api_keys
                .list_for_user(id)
                .await?
                .into_iter()
                .map(DumpRecord::ApiKey),
        );
        for session in all(|page| s.content.list_for_user(id, page)).await? {
            let session_id = session.id;
            records.push(DumpRecord::ContentSession(session));
            for (key, value) in s.content.list_data(session_id).await? {
                records.push(DumpRecord::ContentData(ContentDatum {
                    content_session_id: session_id,
                    key,
                    value,
                }));
            }
            for message in all(|page| s.content.list_messages(session_id, page)).await? {
                records.push(DumpRecord::Message(message));
            }
        }
        for notification in all(|page| s.notifications.list(id, false, now, page)).await? {
            records.push(DumpRecord::Notification(notification));
        }
        for upload in all(|page| s.uploads.list_for_user(id, page)).await? {
            records.push(DumpRecord::Upload(upload));
        }
        let me = (records_created_at(&records), id);
        for payment in all(|page| s.payments.list_for_user(id, page)).await? {
            if self.restored_last(me, &payment).await? {
                records.push(DumpRecord::Payment(payment));
            }
        }
        records.extend(s.blocks.list(id).await?.into_iter().map(DumpRecord::Block));
        for entry in all(|page| s.conversations.list_for_user(id, page)).await? {
            let conversation = entry.conversation;
            let participants = s.conversations.participants(conversation.id).await?;
            // Written once: with the participant whose id is the smallest.
            if participants.iter().map(|p| p.user_id).min() != Some(id) {
                continue;
            }
            let cid = conversation.id;
            records.push(DumpRecord::Conversation(crate::ConversationDump {
                conversation,
                participants,
            }));
            let mut messages = all(|page| s.conversations.list_messages(cid, page)).await?;
            messages.reverse();
            records.extend(messages.into_iter().map(DumpRecord::ConversationMessage));
        }
        Ok(records)
    }
}
