//! Mail delivery off the request path. Use cases queue what is to be mailed
//! in the [`MailQueue`](crate::MailQueue) and return; [`MailDelivery`] (run by
//! a background worker) hands due messages to the [`Mailer`](crate::Mailer),
//! retries failures with exponential back-off and drops messages whose link
//! has expired or that failed too often.

use time::Duration;

use crate::{AccountPolicy, Passwords, Stores, System};
use crate::{Outgoing, OutgoingKind, QueuedMail, QueuedMailId, StoreError, WriteError};

/// How the queue is worked.
#[derive(Debug, Clone)]
pub struct MailPolicy {
    /// Messages claimed per round.
    pub batch: u32,
    /// How long a claimed message stays hidden from other workers: a worker
    /// that dies mid-delivery delays its messages this long.
    pub claim_for: Duration,
    /// Delay before the first retry; each further retry waits twice as long.
    pub first_retry: Duration,
    /// The longest delay between retries.
    pub max_retry: Duration,
    /// Attempts before a message is dropped.
    pub max_attempts: u32,
}

impl Default for MailPolicy {
    /// 20 a round; retries after 5 s, 10 s, 20 s, … up to 15 minutes apart,
    /// 10 attempts in all (about 36 minutes).
    fn default() -> Self {
        Self {
            batch: 20,
            claim_for: Duration::minutes(2),
            first_retry: Duration::seconds(5),
            max_retry: Duration::minutes(15),
            max_attempts: 10,
        }
    }
}

impl MailPolicy {
    /// The wait after failed attempt number `attempts` (1-based).
    pub fn retry_delay(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        let delay = self.first_retry * 2_i32.saturating_pow(doublings);
        delay.min(self.max_retry)
    }
}

/// One failed delivery attempt, for the log.
#[derive(Debug)]
pub struct DeliveryFailure {
    /// The message.
    pub id: QueuedMailId,
    /// Its kind.
    pub kind: OutgoingKind,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// Whether it was dropped (too many attempts) rather than left to retry.
    pub dropped: bool,
    /// The error the mailer or a store returned.
    pub error: StoreError,
}

/// What one round did.
#[derive(Debug, Default)]
pub struct DeliveryReport {
    /// Messages claimed.
    pub claimed: usize,
    /// Whether the claim took a full batch, so more may be due at once.
    pub more_due: bool,
    /// Handed to the mailer (or, for a reset request to an unknown address,
    /// done without mail).
    pub delivered: usize,
    /// Dropped unsent because their link had expired.
    pub expired: usize,
    /// Failed attempts, retried later or dropped.
    pub failures: Vec<DeliveryFailure>,
}

/// Works the mail queue.
#[derive(Clone)]
pub struct MailDelivery {
    stores: Stores,
    system: System,
    passwords: Passwords,
    policy: MailPolicy,
}

impl MailDelivery {
    /// Builds the service. `accounts` gives reset tokens their lifetime.
    pub fn new(
        stores: Stores,
        system: System,
        accounts: AccountPolicy,
        policy: MailPolicy,
    ) -> Self {
        Self {
            passwords: Passwords::new(stores.clone(), system.clone(), accounts),
            stores,
            system,
            policy,
        }
    }

    /// Claims one batch of due messages and works each; `more_due` in the
    /// report says whether to run again at once.
    pub async fn deliver_due(&self) -> Result<DeliveryReport, StoreError> {
        let queue = &self.stores.mail_queue;
        let now = self.system.now();
        let claimed = queue
            .claim(now, now + self.policy.claim_for, self.policy.batch)
            .await?;
        let mut report = DeliveryReport {
            claimed: claimed.len(),
            more_due: claimed.len() >= self.policy.batch as usize,
            ..DeliveryReport::default()
        };
        for message in claimed {
            if message.expires_at <= now {
                queue.remove(message.id).await?;
                report.expired += 1;
                continue;
            }
            match self.deliver(&message.body).await {
                Ok(()) => {
                    queue.remove(message.id).await?;
                    report.delivered += 1;
                }
                Err(error) => {
                    let dropped = message.attempts >= self.policy.max_attempts;
                    if dropped {
                        queue.remove(message.id).await?;
                    } else {
                        let at = self.system.now() + self.policy.retry_delay(message.attempts);
                        match queue.retry_at(message.id, at).await {
                            Ok(()) | Err(WriteError::NotFound) => {}
                            Err(WriteError::Store(e)) => return Err(e),
                        }
                    }
                    report.failures.push(DeliveryFailure {
                        id: message.id,
                        kind: message.body.kind(),
                        attempts: message.attempts,
                        dropped,
                        error,
                    });
                }
            }
        }
        Ok(report)
    }

    async fn deliver(&self, body: &Outgoing) -> Result<(), StoreError> {
        match body {
            Outgoing::Mail(mail) => self.system.mailer.send(mail).await,
            Outgoing::ResetRequest { to } => match self.passwords.issue_reset(to).await? {
                Some(mail) => self.system.mailer.send(&mail).await,
                None => Ok(()),
            },
            Outgoing::SignInRequest {
                to,
                flow,
                redirect_uri,
                expires_at,
            } => match crate::passwordless::email::issue(
                &self.stores,
                &self.system,
                to,
                flow,
                redirect_uri.as_deref(),
                *expires_at,
            )
            .await?
            {
                Some(mail) => self.system.mailer.send(&mail).await,
                None => Ok(()),
            },
        }
    }
}

/// Counts one mail of `kind` to `to` in the address's hourly window;
/// whether it is within `mails_per_address_per_hour`. The key holds a hash
/// of the normalized address, not the address.
pub(crate) async fn within_address_limit(
    stores: &Stores,
    system: &System,
    policy: &AccountPolicy,
    kind: &str,
    to: &crate::Email,
) -> Result<bool, StoreError> {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(to.normalized().as_bytes());
    let short: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let count = stores
        .rate_limiter
        .hit(
            &format!("mail:{kind}:{short}"),
            crate::Window::Seconds(3600),
            system.now(),
        )
        .await?;
    Ok(count.count <= u64::from(policy.mails_per_address_per_hour))
}

/// How long a notice waits for delivery before it is dropped.
const NOTICE_TTL: Duration = Duration::days(1);

/// Queues a notice of a security change to `to`.
pub(crate) async fn notify(
    stores: &Stores,
    system: &System,
    to: &crate::Email,
    notice: crate::Notice,
) -> Result<(), StoreError> {
    let body = Outgoing::Mail(crate::Mail::Notice {
        to: to.clone(),
        notice,
    });
    queue(stores, system, body, NOTICE_TTL).await
}

/// Queues `body` for delivery; it is dropped unsent after `ttl` (the life of
/// the link it carries).
pub(crate) async fn queue(
    stores: &Stores,
    system: &System,
    body: Outgoing,
    ttl: Duration,
) -> Result<(), StoreError> {
    let now = system.now();
    stores
        .mail_queue
        .enqueue(&QueuedMail {
            id: QueuedMailId::from_uuid(system.ids.new_id()),
            body,
            created_at: now,
            expires_at: now + ttl,
            attempts: 0,
        })
        .await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use futures::executor::block_on;

    use super::*;
    use crate::test_support::*;
    use crate::{
        Email, Mail, MailQueue, MockMailer, MockOneTimeTokenRepository, MockUserRepository,
        TokenPurpose,
    };

    fn ann() -> Email {
        Email::parse("ann@example.org").unwrap()
    }

    /// A harness whose queue holds `body`, queued at T0 with `attempts`.
    fn queued(body: Outgoing, attempts: u32, ttl: Duration) -> (Harness, Arc<MemoryStore>) {
        let mut h = Harness::new();
        let queue = Arc::new(MemoryStore::new());
        block_on(queue.enqueue(&QueuedMail {
            id: QueuedMailId::from_uuid(uuid::Uuid::from_u128(1)),
            body,
            created_at: T0 - Duration::seconds(1),
            expires_at: T0 + ttl,
            attempts,
        }))
        .unwrap();
        h.stores.mail_queue = queue.clone();
        (h, queue)
    }

    fn delivery(h: Harness) -> MailDelivery {
        MailDelivery::new(
            h.stores,
            h.system,
            AccountPolicy::default(),
            MailPolicy::default(),
        )
    }

    fn deletion_mail() -> Outgoing {
        Outgoing::Mail(Mail::AccountDeletion {
            to: ann(),
            token: fixed_token(),
        })
    }

    #[test]
    fn a_delivered_message_leaves_the_queue() {
        let (mut h, queue) = queued(deletion_mail(), 0, Duration::hours(1));
        let mut mailer = MockMailer::new();
        mailer
            .expect_send()
            .withf(|m| matches!(m, Mail::AccountDeletion { .. }))
            .times(1)
            .returning(|_| Ok(()));
        h.system.mailer = Arc::new(mailer);
        let report = block_on(delivery(h).deliver_due()).unwrap();
        assert_eq!((report.claimed, report.delivered), (1, 1));
        assert!(queue.queued_mail().is_empty());
    }

    #[test]
    fn a_failed_delivery_is_retried_later_then_dropped_after_the_last_attempt() {
        let (mut h, queue) = queued(deletion_mail(), 0, Duration::hours(1));
        let mut mailer = MockMailer::new();
        mailer
            .expect_send()
            .returning(|_| Err(StoreError::msg("relay refused")));
        h.system.mailer = Arc::new(mailer);
        let svc = delivery(h);
        let report = block_on(svc.deliver_due()).unwrap();
        assert_eq!(report.failures.len(), 1);
        assert!(!report.failures[0].dropped);
        let (message, due) = queue.queued_mail().remove(0);
        assert_eq!((message.attempts, due), (1, T0 + Duration::seconds(5)));
        // Not due again yet.
        assert_eq!(block_on(svc.deliver_due()).unwrap().claimed, 0);

        let (mut h, queue) = queued(deletion_mail(), 9, Duration::hours(1));
        let mut mailer = MockMailer::new();
        mailer
            .expect_send()
            .returning(|_| Err(StoreError::msg("relay refused")));
        h.system.mailer = Arc::new(mailer);
        let report = block_on(delivery(h).deliver_due()).unwrap();
        assert_eq!(report.failures[0].attempts, 10);
        assert!(report.failures[0].dropped);
        assert!(queue.queued_mail().is_empty());
    }

    #[test]
    fn an_expired_message_is_dropped_unsent() {
        // The mailer has no expectations: sending would panic.
        let (h, queue) = queued(deletion_mail(), 0, Duration::ZERO);
        let report = block_on(delivery(h).deliver_due()).unwrap();
        assert_eq!((report.claimed, report.expired), (1, 1));
        assert!(queue.queued_mail().is_empty());
    }

    #[test]
    fn a_reset_request_for_an_unknown_address_is_done_without_mail() {
        let (mut h, queue) = queued(Outgoing::ResetRequest { to: ann() }, 0, Duration::hours(1));
        let mut users = MockUserRepository::new();
        users.expect_find_by_email().returning(|_| Ok(None));
        h.stores.users = Arc::new(users);
        let report = block_on(delivery(h).deliver_due()).unwrap();
        assert_eq!(report.delivered, 1);
        assert!(queue.queued_mail().is_empty());
    }

    #[test]
    fn a_reset_request_for_an_account_issues_a_fresh_token_and_mails_it() {
        let (mut h, queue) = queued(Outgoing::ResetRequest { to: ann() }, 0, Duration::hours(1));
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_email()
            .returning(|_| Ok(Some(sample_user(1))));
        let mut tokens = MockOneTimeTokenRepository::new();
        tokens
            .expect_delete_for_user()
            .withf(|_, purpose| *purpose == Some(TokenPurpose::PasswordReset))
            .times(1)
            .returning(|_, _| Ok(1));
        tokens
            .expect_insert()
            .withf(|t| {
                t.token_hash == fixed_token().hash() && t.expires_at == T0 + Duration::hours(1)
            })
            .times(1)
            .returning(|_| Ok(()));
        let mut mailer = MockMailer::new();
        mailer
            .expect_send()
            .withf(|m| matches!(m, Mail::PasswordReset { token, .. } if *token == fixed_token()))
            .times(1)
            .returning(|_| Ok(()));
        h.stores.users = Arc::new(users);
        h.stores.one_time_tokens = Arc::new(tokens);
        h.system.mailer = Arc::new(mailer);
        block_on(delivery(h).deliver_due()).unwrap();
        assert!(queue.queued_mail().is_empty());
    }

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let p = MailPolicy::default();
        let delays: Vec<i64> = (1..=9).map(|n| p.retry_delay(n).whole_seconds()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 320, 640, 900]);
        assert_eq!(p.retry_delay(0).whole_seconds(), 5);
        assert_eq!(p.retry_delay(u32::MAX), p.max_retry);
    }
}
