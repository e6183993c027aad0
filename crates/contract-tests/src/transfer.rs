//! `domain::Transfer` over the store under test: a dump holding every kind
//! of record loads through the ports and dumps back identical, which is
//! what moving a deployment between any two adapters relies on.

use std::sync::Arc;

use async_trait::async_trait;
use domain::*;
use time::{Duration, OffsetDateTime};

use crate::contract;
use crate::fixtures::*;

struct Now;

impl Clock for Now {
    fn now(&self) -> OffsetDateTime {
        t0()
    }
}

/// Collects a dump.
#[derive(Default)]
struct Collect(Vec<DumpRecord>);

#[async_trait]
impl RecordSink for Collect {
    async fn put(&mut self, record: DumpRecord) -> Result<(), DumpError> {
        self.0.push(record);
        Ok(())
    }
}

/// One record of every kind a dump carries, in dump order, every optional
/// field set where the kind has one.
pub fn every_kind(t: OffsetDateTime) -> Vec<DumpRecord> {
    let mut ann = user("ann_dump", t - Duration::days(3));
    ann.locked_until = Some(t + Duration::minutes(5));
    ann.failed_logins = 2;
    ann.profile.bio = Some("bio «ü»".into());
    ann.profile.avatar = Some("avatars/ann.png".into());
    ann.last_accessed_at = Some(t - Duration::hours(1));
    ann.last_active_at = Some(t - Duration::minutes(1));
    ann.suspension = Some(Suspension {
        reason: SuspensionReason::from_stored("spam"),
        since: t - Duration::hours(2),
        until: Some(t + Duration::days(1)),
    });
    ann.plan = Some(PlanAssignment {
        name: PlanName::parse("pro").unwrap(),
        since: t - Duration::days(2),
        until: None,
    });
    let mut bob = user("bob_dump", t - Duration::days(2));
    bob.password_hash = None;
    bob.origin = None;
    let plan = Plan {
        name: PlanName::parse("pro").unwrap(),
        display_name: PlanDisplayName::parse("Pro ✓").unwrap(),
        daily_limit: Some(1000),
        monthly_limit: None,
        features: vec![Feature::parse("export").unwrap()],
        created_at: t - Duration::days(5),
        updated_at: t - Duration::days(4),
    };
    let mut factor = mfa_factor(ann.id, t - Duration::days(1));
    factor.confirmed_at = Some(t - Duration::hours(20));
    factor.last_step = Some(58_000_123);
    factor.backup_codes = code_hashes(3);
    factor
        .backup_codes
        .sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let passkey = Passkey {
        id: PasskeyId::from_uuid(id()),
        user_id: bob.id,
        credential_id: CredentialId::parse(&format!("cred{}", id().simple())).unwrap(),
        credential: r#"{"cred":"x"}"#.into(),
        counter: 7,
        name: PasskeyName::parse("Phone").unwrap(),
        created_at: t - Duration::hours(30),
        last_used_at: Some(t - Duration::hours(3)),
    };
    let api_key = ApiKey {
        id: ApiKeyId::from_uuid(id()),
        user_id: ann.id,
        name: ApiKeyName::parse("ci").unwrap(),
        prefix: "pk_abcd".into(),
        key_hash: token().1,
        permissions: Some([Permission::parse("content:read").unwrap()].into()),
        created_at: t - Duration::hours(10),
        expires_at: Some(t + Duration::days(30)),
        last_used_at: Some(t - Duration::hours(1)),
    };
    let mut session = content_session(ann.id, t - Duration::hours(9));
    session.unread_messages = true;
    let first = message(session.id, "first", t - Duration::hours(8));
    let mut reply = message(session.id, "reply\twith tab", t - Duration::hours(7));
    reply.parent_id = Some(first.id);
    reply.read = true;
    reply.sender = Sender::User(ann.id);
    let mut note = notification(ann.id, t - Duration::hours(6), Some(t + Duration::days(1)));
    note.content_session_id = Some(session.id);
    note.message_id = Some(first.id);
    note.seen_at = Some(t - Duration::hours(5));
    note.response_data = Some(serde_json::json!({"choice": "yes"}));
    let mut done = upload(
        bob.id,
        &format!("uploads/{}.png", id().simple()),
        t - Duration::hours(4),
    );
    done.status = UploadStatus::Completed;
    done.completed_at = Some(t - Duration::hours(4) + Duration::minutes(1));
    done.size = Some(512);
    let mut paid = payment(
        ann.id,
        bob.id,
        ann.id,
        &format!("key-{}", id().simple()),
        t - Duration::hours(3),
    );
    paid.status = PaymentStatus::Succeeded;
    paid.updated_at = t - Duration::hours(2);
    let mut details = serde_json::Map::new();
    details.insert("method".into(), "password".into());
    let event = ActivityEvent {
        id: ActivityEventId::from_uuid(id()),
        kind: ActivityKind::SignInSucceeded,
        at: t - Duration::hours(1),
        user_id: ann.id,
        actor: Actor::Admin(bob.id),
        ip: Some("203.0.113.9".into()),
        device: None,
        details,
    };
    let day = DayStats {
        date: (t - Duration::days(1)).date(),
        counts: DayCounts {
            users_new: 2,
            users_deleted: 0,
            users_active: 1,
            sign_ins: 3,
            sign_in_failures: 1,
            requests: 40,
        },
        totals: Some(Totals {
            users_total: 2,
            users_verified: 2,
            users_suspended: 1,
            sessions_active: Some(1),
        }),
    };
    let conversation = dumped_conversation(&ann, &bob, t);
    vec![
        DumpRecord::Settings(StoredSettings {
            version: 3,
            body: r#"{"mail":{"sign_in":true}}"#.into(),
        }),
        DumpRecord::Plan(plan),
        DumpRecord::Role(role("editor", &["content:read", "content:write"], t)),
        DumpRecord::Webhook(WebhookEndpoint {
            failing_since: Some(t),
            ..crate::webhooks::endpoint("dumped", t)
        }),
        DumpRecord::User(Box::new(bob.clone())),
        DumpRecord::Passkey(passkey),
        DumpRecord::Upload(done),
        DumpRecord::User(Box::new(ann.clone())),
        DumpRecord::RoleGrant(RoleGrant {
            user_id: ann.id,
            role: RoleName::parse("editor").unwrap(),
        }),
        DumpRecord::MfaFactor(factor),
        DumpRecord::IdentityLink(identity_link(ann.id, "github", "ann-gh", t)),
        DumpRecord::ApiKey(api_key),
        DumpRecord::ContentSession(session.clone()),
        DumpRecord::ContentData(ContentDatum {
            content_session_id: session.id,
            key: StorageKey::parse("draft").unwrap(),
            value: serde_json::json!({"text": "hello", "n": 1}),
        }),
        DumpRecord::Message(first),
        DumpRecord::Message(reply),
        DumpRecord::Notification(note),
        DumpRecord::Payment(paid),
        conversation.0,
        conversation.1,
        conversation.2,
        DumpRecord::Block(Block {
            blocker_id: ann.id,
            blocked_id: bob.id,
            created_at: t - Duration::hours(2),
        }),
        DumpRecord::Activity(event),
        DumpRecord::DayStats(day),
    ]
}

/// A direct conversation of `ann` and `bob` as a dump holds it: the
/// conversation with both participants, bob's message, and ann's reply to
/// it, removed since.
fn dumped_conversation(
    ann: &User,
    bob: &User,
    t: OffsetDateTime,
) -> (DumpRecord, DumpRecord, DumpRecord) {
    use crate::conversations::{chat, direct};
    let started = t - Duration::hours(5);
    let mut c = direct(ann.id, bob.id, started);
    let mut first = chat(
        c.id,
        bob.id,
        "hi «ann»\nsecond line",
        t - Duration::hours(4),
    );
    first.seq = 1;
    let mut reply = chat(c.id, ann.id, "gone", t - Duration::minutes(230));
    reply.seq = 2;
    reply.parent_id = Some(first.id);
    reply.content = None;
    reply.deleted_at = Some(t - Duration::hours(3));
    c.last_seq = 2;
    c.last_activity_at = reply.created_at;
    let mut participants: Vec<Participant> = [(ann.id, 2), (bob.id, 1)]
        .into_iter()
        .map(|(user_id, read_seq)| Participant {
            conversation_id: c.id,
            user_id,
            joined_at: started,
            read_seq,
            last_activity_at: reply.created_at,
        })
        .collect();
    participants.sort_by_key(|p| p.user_id);
    (
        DumpRecord::Conversation(ConversationDump {
            conversation: c,
            participants,
        }),
        DumpRecord::ConversationMessage(first),
        DumpRecord::ConversationMessage(reply),
    )
}

/// A JSON value with every object's keys in sorted order (PostgreSQL's
/// jsonb keeps them in its own).
fn canonical(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect(),
            )
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(canonical).collect())
        }
        other => other,
    }
}

/// Records as sorted JSON lines, to compare dumps whatever their order.
fn lines(records: &[DumpRecord]) -> Vec<String> {
    let mut lines: Vec<String> = records
        .iter()
        .map(|r| canonical(serde_json::to_value(r).unwrap()).to_string())
        .collect();
    lines.sort();
    lines
}

/// A dump's records, loaded in order into an empty store through
/// `Transfer::load`, come back from `Transfer::dump` identical (every
/// field of every kind), each user before the records that refer to it;
/// the store then reports itself occupied.
#[contract]
pub async fn a_dump_loads_and_dumps_back_identical(s: Stores) {
    let transfer = Transfer::new(s.clone(), Arc::new(Now));
    assert_eq!(transfer.occupied().await.unwrap(), Vec::new());
    let records = every_kind(t0());
    let mut loader = transfer.loader();
    for record in &records {
        loader
            .load(record)
            .await
            .unwrap_or_else(|e| panic!("loading {}: {e}", record.kind()));
    }
    loader.finish().await.unwrap();
    let mut out = Collect::default();
    let counts = transfer.dump(&mut out).await.unwrap();
    let (read, written) = (lines(&out.0), lines(&records));
    let missing: Vec<&String> = written.iter().filter(|l| !read.contains(l)).collect();
    let changed: Vec<&String> = read.iter().filter(|l| !written.contains(l)).collect();
    assert!(
        missing.is_empty() && changed.is_empty() && read.len() == written.len(),
        "written but not read back: {missing:#?}\nread back instead: {changed:#?}"
    );
    assert_eq!(counts.values().sum::<u64>(), records.len() as u64);
    let position = |kind: &str| out.0.iter().position(|r| r.kind() == kind).unwrap();
    assert!(position("user") < position("grant"));
    assert!(position("content_session") < position("message"));
    assert!(position("conversation") < position("conversation_message"));
    let occupied = transfer.occupied().await.unwrap();
    let names: Vec<&str> = occupied.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "users",
            "plans",
            "custom roles",
            "activity events",
            "webhook endpoints",
            "runtime settings"
        ]
    );
    assert_eq!(occupied[0].1, 2);
}

/// Loaded with several accounts at once (`Transfer::load_all`), a dump in
/// which each payment names users of other accounts still reads back
/// identical: a payment waits for the accounts before it.
#[contract]
pub async fn a_dump_loads_with_accounts_in_parallel(s: Stores) {
    let t = t0();
    let users: Vec<User> = (0..12)
        .map(|i| user(&format!("par{i}"), t - Duration::minutes(i)))
        .collect();
    let source = Transfer::new(s.clone(), Arc::new(Now));
    // A dump's own order: the newest account first, each with its records;
    // a payment in the group of the oldest user it names.
    let mut records = Vec::new();
    for (i, u) in users.iter().enumerate() {
        records.push(DumpRecord::User(Box::new(u.clone())));
        let mut session = content_session(u.id, t);
        session.name = Some(format!("s{i}"));
        records.push(DumpRecord::ContentSession(session.clone()));
        records.push(DumpRecord::Message(message(session.id, "hi", t)));
        if i > 0 {
            let newer = &users[i - 1];
            let mut paid = payment(u.id, newer.id, u.id, &format!("k-{}", id().simple()), t);
            paid.status = PaymentStatus::Succeeded;
            records.push(DumpRecord::Payment(paid));
        }
    }
    let numbered = records
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, r)| (i as u64 + 2, r));
    let loaded = source
        .load_all(futures::stream::iter(numbered), 8, 1000, &|_| {})
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded, records.len() as u64);
    let mut out = Collect::default();
    source.dump(&mut out).await.unwrap();
    assert_eq!(lines(&out.0), lines(&records));
}
