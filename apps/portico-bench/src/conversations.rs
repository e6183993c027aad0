//! `conversations --messages N`: the cost of the three conversation
//! operations as a store fills. Two signed-in users, `ann` and `bob`; their
//! direct conversation holds N messages (written through the port, in
//! order), and ann takes part in 99 more conversations of 10 messages
//! each. Then, through the domain service as the HTTP routes call it:
//! posting a message into the big conversation (participant and block
//! checks, the rate-limit hit, the post, the other participant's
//! notification), listing its newest 50 messages (with who read them),
//! and listing ann's 50 most recent conversations (with unread counts and
//! newest messages). Prints `messages post/s newest50/s list/s`.

use std::sync::Arc;
use std::time::Instant;

use domain::*;
use futures::StreamExt as _;
use portico::Config;
use portico::backends::Backends;

/// Operations timed per figure.
const ROUNDS: u32 = 2_000;
/// Other conversations of the measured user.
const OTHERS: u64 = 99;

async fn signed_in(
    runtime: &runtime::services::Runtime,
    stores: &Stores,
    name: &str,
    hash: &PasswordHash,
) -> Result<Principal, Box<dyn std::error::Error>> {
    let now = truncate_to_millis(time::OffsetDateTime::now_utc());
    let user = User::new_verified(
        UserId::from_uuid(uuid::Uuid::now_v7()),
        Email::parse(&format!("{name}@bench.example.org"))?,
        Username::parse(name)?,
        hash.clone(),
        now,
    );
    stores.users.create(&user).await?;
    let signed = runtime
        .auth
        .sign_in(SignInRequest {
            login: name.to_owned(),
            password: Password::new("bench password".to_owned())?,
            user_agent: None,
            ip: None,
        })
        .await?;
    let SignedIn::Session(issued) = signed else {
        return Err("a second factor was asked for".into());
    };
    Ok(runtime.auth.authenticate(&issued.access_token).await?)
}

/// Writes `count` messages of `sender` into `conversation` through the
/// port, a few at a time, with a progress line every 100,000.
async fn fill(
    stores: &Stores,
    conversation: ConversationId,
    sender: UserId,
    count: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let repo: Arc<dyn ConversationRepository> = stores.conversations.clone();
    let start = Instant::now();
    let mut posts = futures::stream::iter(0..count)
        .map(|i| {
            let repo = repo.clone();
            async move {
                let m = ConversationMessage {
                    id: MessageId::from_uuid(uuid::Uuid::now_v7()),
                    conversation_id: conversation,
                    seq: 0,
                    sender_id: sender,
                    content: Some(format!(
                        "message {i}: a line of ordinary length, more or less"
                    )),
                    parent_id: None,
                    created_at: truncate_to_millis(time::OffsetDateTime::now_utc()),
                    deleted_at: None,
                };
                repo.post(&m).await.map(|_| ())
            }
        })
        .buffer_unordered(8);
    let mut done = 0_u64;
    while let Some(posted) = posts.next().await {
        posted?;
        done += 1;
        if done.is_multiple_of(100_000) {
            eprintln!(
                "conversations: {done}/{count} messages written ({:.0}/s)",
                done as f64 / start.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

/// Runs `op` [`ROUNDS`] times one after another; operations per second.
async fn rate<F, Fut>(mut op: F) -> Result<f64, Box<dyn std::error::Error>>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Result<(), Box<dyn std::error::Error>>>,
{
    let start = Instant::now();
    for i in 0..ROUNDS {
        op(i).await?;
    }
    Ok(f64::from(ROUNDS) / start.elapsed().as_secs_f64())
}

/// Seeds N messages and times the three operations; prints the rates.
pub(crate) async fn run(
    mut config: Config,
    messages: u64,
    hash: PasswordHash,
) -> Result<(), Box<dyn std::error::Error>> {
    config.content.conversation_posts_per_minute = u64::MAX;
    let backends = Backends::connect(&config).await?;
    let runtime = runtime::services::Runtime::build(
        &config,
        &backends,
        Arc::new(runtime::metrics::Metrics::default()),
    )?;
    let stores = backends.stores(&config)?;
    let ann = signed_in(&runtime, &stores, "ann", &hash).await?;
    let bob = signed_in(&runtime, &stores, "bob", &hash).await?;
    let conversations = &runtime.conversations;
    let big = conversations
        .start(&ann, &[bob.user_id()], None)
        .await?
        .view
        .conversation
        .id;
    let seeding = Instant::now();
    fill(&stores, big, bob.user_id(), messages).await?;
    for i in 0..OTHERS {
        let other = signed_in(&runtime, &stores, &format!("other{i}"), &hash).await?;
        let id = conversations
            .start(&ann, &[other.user_id()], None)
            .await?
            .view
            .conversation
            .id;
        fill(&stores, id, other.user_id(), 10).await?;
    }
    // The big conversation is the most recent again.
    conversations.post(&bob, big, "latest", None).await?;
    eprintln!(
        "conversations: seeded {} messages in {:.1} s",
        messages + OTHERS * 10 + 1,
        seeding.elapsed().as_secs_f64()
    );

    let post = rate(|i| {
        let (conversations, ann) = (conversations.clone(), ann.clone());
        async move {
            conversations
                .post(&ann, big, &format!("reply {i}"), None)
                .await?;
            Ok(())
        }
    })
    .await?;
    let newest = rate(|_| {
        let (conversations, bob) = (conversations.clone(), bob.clone());
        async move {
            let page = conversations
                .messages(&bob, big, PageRequest::first(50))
                .await?;
            assert_eq!(page.items.len(), 50);
            Ok(())
        }
    })
    .await?;
    let list = rate(|_| {
        let (conversations, ann) = (conversations.clone(), ann.clone());
        async move {
            let page = conversations.list(&ann, PageRequest::first(50)).await?;
            assert_eq!(page.items.len(), 50);
            Ok(())
        }
    })
    .await?;
    eprintln!(
        "conversations: {messages} messages: post {post:.0}/s, newest 50 {newest:.0}/s, list {list:.0}/s"
    );
    println!("{messages} {post:.0} {newest:.0} {list:.0}");
    backends.close().await;
    Ok(())
}
