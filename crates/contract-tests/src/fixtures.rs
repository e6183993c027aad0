//! Builders for the records the contract tests store.

use domain::*;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Now, truncated to milliseconds. Tests take times relative to it so that
/// stores with native TTLs (set from real time) agree with the `now` passed in.
pub fn t0() -> OffsetDateTime {
    truncate_to_millis(OffsetDateTime::now_utc())
}

/// A fresh time-ordered id.
pub fn id() -> Uuid {
    Uuid::now_v7()
}

/// A verified user; `tag` makes email and username unique within a test.
pub fn user(tag: &str, at: OffsetDateTime) -> User {
    let mut preferences = serde_json::Map::new();
    preferences.insert("theme".into(), "dark".into());
    User {
        id: UserId::from_uuid(id()),
        email: Email::parse(&format!("{tag}@Example.org")).expect("email"),
        username: Username::parse(&format!("user_{tag}")).expect("username"),
        password_hash: Some(PasswordHash::new(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
        )),
        verified: true,
        locked: false,
        locked_until: None,
        failed_logins: 0,
        profile: Profile {
            full_name: Some(format!("User {tag}")),
            bio: None,
            avatar: None,
            website: Some(format!("https://{tag}.example.org/about?x=1")),
            location: Some("Zürich, CH".into()),
        },
        preferences,
        active_content_session_id: None,
        created_at: at,
        updated_at: at,
        security_changed_at: at,
        last_accessed_at: None,
        last_active_at: None,
        suspension: None,
        plan: None,
        origin: Some(UserOrigin {
            provider: Some("github «test»".into()),
            created_by: Some(UserId::from_uuid(id())),
            ..UserOrigin::new(
                OriginKind::Provider,
                Some("2001:db8::7"),
                Some("Mozilla/5.0 «test»"),
            )
        }),
    }
}

/// A random token and its hash.
pub fn token() -> (Token, TokenHash) {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(id().as_bytes());
    bytes[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    let t = Token::from_bytes(bytes);
    let h = t.hash();
    (t, h)
}

/// An auth session of `user` created at `at`, active for a day, refreshable for 30.
pub fn session(user: UserId, at: OffsetDateTime) -> AuthSession {
    AuthSession {
        id: AuthSessionId::from_uuid(id()),
        user_id: user,
        token_hash: token().1,
        device: Some(domain::Device::new(
            domain::DeviceType::Tablet,
            "Mobile Safari",
            Some("16.6"),
            "iOS «test»",
            Some("16.6"),
            "contract-test",
        )),
        ip: Some("127.0.0.1".into()),
        created_at: at,
        last_accessed_at: at,
        expires_at: at + Duration::days(1),
        refresh_expires_at: at + Duration::days(30),
        revoked_at: None,
    }
}

/// An unused refresh token of `session`.
pub fn refresh_token(session: &AuthSession, at: OffsetDateTime) -> RefreshToken {
    RefreshToken {
        id: RefreshTokenId::from_uuid(id()),
        session_id: session.id,
        user_id: session.user_id,
        token_hash: token().1,
        created_at: at,
        expires_at: session.refresh_expires_at,
        used_at: None,
    }
}

/// A registration candidate for `email` expiring an hour after `at`.
pub fn candidate(email: &str, at: OffsetDateTime) -> RegistrationCandidate {
    RegistrationCandidate {
        email: Email::parse(email).expect("email"),
        username: Username::parse("candidate").expect("username"),
        role: RoleName::user(),
        password_hash: PasswordHash::new("$argon2id$stub"),
        token_hash: token().1,
        created_at: at,
        expires_at: at + Duration::hours(1),
        origin: Some(UserOrigin::new(
            OriginKind::Registration,
            Some("198.51.100.7"),
            Some("curl/8.5.0"),
        )),
    }
}

/// A pending TOTP factor of `user` with a made-up sealed secret.
pub fn mfa_factor(user: UserId, at: OffsetDateTime) -> MfaFactor {
    MfaFactor {
        id: MfaFactorId::from_uuid(id()),
        user_id: user,
        secret: Sealed::from_stored(format!("k1:{}", id().simple())),
        confirmed_at: None,
        last_step: None,
        backup_codes: Vec::new(),
        created_at: at,
    }
}

/// `n` distinct backup-code hashes.
pub fn code_hashes(n: usize) -> Vec<TokenHash> {
    (0..n).map(|_| token().1).collect()
}

/// A link of `user` to `subject` at `provider`, with sealed tokens.
pub fn identity_link(
    user: UserId,
    provider: &str,
    subject: &str,
    at: OffsetDateTime,
) -> IdentityLink {
    IdentityLink {
        user_id: user,
        provider: ProviderName::parse(provider).expect("provider"),
        subject: subject.to_owned(),
        email: Some(Email::parse(&format!("{subject}@idp.example")).expect("email")),
        tokens: Some(Sealed::from_stored(format!("k1:{}", id().simple()))),
        tokens_expire_at: Some(at + Duration::hours(1)),
        created_at: at,
    }
}

/// A sign-in flow at `provider` begun at `at` (expiring 10 minutes later),
/// linking for `linking` when given.
pub fn oauth_flow(provider: &str, linking: Option<UserId>, at: OffsetDateTime) -> OAuthFlow {
    OAuthFlow {
        state_hash: token().1,
        provider: ProviderName::parse(provider).expect("provider"),
        pkce_verifier: id().simple().to_string(),
        nonce: id().simple().to_string(),
        redirect_uri: "https://app.example/done?x=1".into(),
        linking_user: linking,
        created_at: at,
        expires_at: at + Duration::minutes(10),
    }
}

/// A single-use token of `user` expiring an hour after `at`.
pub fn one_time(user: UserId, purpose: TokenPurpose, at: OffsetDateTime) -> OneTimeToken {
    OneTimeToken {
        token_hash: token().1,
        purpose,
        user_id: user,
        created_at: at,
        expires_at: at + Duration::hours(1),
    }
}

/// A role with the given permissions.
pub fn role(name: &str, perms: &[&str], at: OffsetDateTime) -> Role {
    Role {
        name: RoleName::parse(name).expect("role"),
        description: Some(format!("{name} role")),
        permissions: perms
            .iter()
            .map(|p| Permission::parse(p).expect("permission"))
            .collect(),
        created_at: at,
        updated_at: at,
    }
}

/// A content session of `user`.
pub fn content_session(user: UserId, at: OffsetDateTime) -> ContentSession {
    ContentSession {
        id: ContentSessionId::from_uuid(id()),
        user_id: user,
        name: Some("notes".into()),
        unread_messages: false,
        created_at: at,
        last_accessed_at: at,
    }
}

/// A message from the assistant.
pub fn message(session: ContentSessionId, text: &str, at: OffsetDateTime) -> Message {
    Message {
        id: MessageId::from_uuid(id()),
        content_session_id: session,
        sender: Sender::Assistant,
        content: text.into(),
        parent_id: None,
        read: false,
        created_at: at,
    }
}

/// A notification for `user`.
pub fn notification(
    user: UserId,
    at: OffsetDateTime,
    expires_at: Option<OffsetDateTime>,
) -> Notification {
    Notification {
        id: NotificationId::from_uuid(id()),
        user_id: user,
        content_session_id: None,
        conversation_id: Some(ConversationId::from_uuid(id())),
        message_id: None,
        task_id: Some("task-1".into()),
        kind: "info".into(),
        toast_message: Some("hello".into()),
        image: None,
        urgency: Urgency::High,
        persistent: false,
        seen_at: None,
        response_data: None,
        created_at: at,
        expires_at,
    }
}

/// A pending upload request of `user` for `key`, expiring an hour after `at`.
pub fn upload(user: UserId, key: &str, at: OffsetDateTime) -> UploadRequest {
    UploadRequest {
        id: UploadId::from_uuid(id()),
        user_id: user,
        object_key: ObjectKey::parse(key).expect("key"),
        content_type: "image/png".into(),
        max_size: 1024,
        status: UploadStatus::Pending,
        created_at: at,
        expires_at: at + Duration::hours(1),
        completed_at: None,
        size: None,
    }
}

/// A pending payment of 1000 EUR cents from `payer`, split 700/300.
pub fn payment(payer: UserId, a: UserId, b: UserId, key: &str, at: OffsetDateTime) -> Payment {
    Payment {
        id: PaymentId::from_uuid(id()),
        payer_id: payer,
        amount: Money::new(1000, Currency::parse("EUR").expect("currency")).expect("money"),
        beneficiaries: vec![
            Beneficiary {
                user_id: a,
                amount_minor: 700,
            },
            Beneficiary {
                user_id: b,
                amount_minor: 300,
            },
        ],
        description: Some("dinner".into()),
        status: PaymentStatus::Pending,
        idempotency_key: IdempotencyKey::parse(key).expect("key"),
        request_fingerprint: format!("fp-{key}"),
        created_at: at,
        updated_at: at,
    }
}

/// Creates `n` users tagged `{prefix}{i}` and returns them.
pub async fn users(
    stores: &domain::Stores,
    prefix: &str,
    n: usize,
    at: OffsetDateTime,
) -> Vec<User> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let u = user(
            &format!("{prefix}{i}"),
            at + Duration::milliseconds(i as i64),
        );
        stores.users.create(&u).await.expect("create user");
        out.push(u);
    }
    out
}

/// Runs `n` copies of `f` at once on the runtime and collects their results.
pub async fn concurrently<T, F, Fut>(n: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let handles: Vec<_> = (0..n).map(|i| tokio::spawn(f(i))).collect();
    let mut out = Vec::with_capacity(n);
    for h in handles {
        out.push(h.await.expect("task panicked"));
    }
    out
}

/// A queued mail of `kind` to `to`, queued at `at` and expiring a day later.
pub fn queued_mail(kind: OutgoingKind, to: &str, at: OffsetDateTime) -> QueuedMail {
    let to = Email::parse(to).unwrap();
    let token = token().0;
    let body = match kind {
        OutgoingKind::Verification => Outgoing::Mail(Mail::Verification {
            to,
            username: Username::parse("mailed_user").unwrap(),
            token,
        }),
        OutgoingKind::PasswordReset => Outgoing::Mail(Mail::PasswordReset { to, token }),
        OutgoingKind::AccountDeletion => Outgoing::Mail(Mail::AccountDeletion { to, token }),
        OutgoingKind::ResetRequest => Outgoing::ResetRequest { to },
        OutgoingKind::SignInRequest => Outgoing::SignInRequest {
            to,
            flow: token,
            redirect_uri: Some("https://app.example/done?x=\"é\"".into()),
            expires_at: at + time::Duration::minutes(10),
        },
        OutgoingKind::SignIn => Outgoing::Mail(Mail::SignIn {
            to,
            link: domain::EmailLinkToken::parse(&format!("{}.{}", token.expose(), token.expose()))
                .unwrap(),
            code: domain::EmailCode::parse("012345").unwrap(),
            redirect_uri: None,
            expires_at: at + time::Duration::minutes(10),
        }),
        OutgoingKind::Notice => Outgoing::Mail(Mail::Notice {
            to,
            notice: Notice::ProviderLinked {
                provider: "github".into(),
            },
        }),
    };
    QueuedMail {
        id: QueuedMailId::from_uuid(id()),
        body,
        created_at: at,
        expires_at: at + time::Duration::days(1),
        attempts: 0,
    }
}
