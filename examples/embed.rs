//! A service that embeds Portico's domain with no web framework: plain
//! tokio, the SQL adapter on SQLite, the production clock, ids, tokens and
//! password hashing of `platform`, and a mailer of its own.
//!
//! It registers Ann, verifies her address with the token of the mail the
//! domain sends, signs her in, authenticates the access token into a
//! `Principal` (what every use case takes) and creates a content session
//! as her, printing each step.
//!
//! ```text
//! cargo run -p portico-examples --example embed            # SQLite in memory
//! cargo run -p portico-examples --example embed -- sqlite://data/embed.db
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use adapter_sql::{SqlConfig, SqlStore};
use async_trait::async_trait;
use domain::{
    AccountPolicy, Authentication, ContentLimits, ContentSessions, Email, Mail, MailDelivery,
    MailPolicy, Mailer, Password, Rbac, Registration, SignInRequest, SignedIn, StoreError, System,
    Token, Username,
};

/// The embedder's mailer: it would hand the mail to their own provider;
/// here it prints it and keeps the last verification token.
#[derive(Default)]
struct ConsoleMailer {
    verification: Mutex<Option<Token>>,
}

#[async_trait]
impl Mailer for ConsoleMailer {
    async fn send(&self, mail: &Mail) -> Result<(), StoreError> {
        match mail {
            Mail::Verification {
                to,
                username,
                token,
            } => {
                println!(
                    "mail to {to}: welcome {username}, confirm your address with the link in this mail"
                );
                *self
                    .verification
                    .lock()
                    .map_err(|_| StoreError::msg("mailer state poisoned"))? = Some(token.clone());
            }
            other => println!("mail: {other:?}"),
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sqlite::memory:".to_owned());

    // The stores: every port on one SQLite database, migrated on connect.
    let db = SqlStore::connect(&SqlConfig::new(url.clone())).await?;
    let stores = db.stores();
    println!("connected to {url} ({} engine)", db.engine());

    // The outside world: clock, ids, tokens, hashing on its own threads,
    // a sealing key for secrets at rest, objects on local disk, our mailer.
    let mailer = Arc::new(ConsoleMailer::default());
    let data = std::env::temp_dir().join(format!("portico-embed-{}", std::process::id()));
    let key = platform::Keyring::new_entry("k1");
    let system = System {
        clock: Arc::new(platform::SystemClock),
        ids: Arc::new(platform::UuidV7Ids),
        tokens: Arc::new(platform::OsRandomTokens),
        hasher: Arc::new(platform::BlockingPoolHasher::bounded(
            platform::Argon2Hasher::new(platform::Argon2Params::default())?,
            1,
            Duration::from_secs(5),
        )),
        mailer: mailer.clone(),
        objects: Arc::new(adapter_objects::Objects::connect(
            &adapter_objects::ObjectsConfig::Local {
                root: data.join("objects"),
                base_url: "http://127.0.0.1:8080".into(),
                secret: vec![7; 32],
            },
        )?),
        sealer: Arc::new(platform::Keyring::parse([key.as_str()])?),
        // User-Agents kept as they are; the server plugs in `adapter-uap`.
        devices: Arc::new(domain::UnparsedDevices),
    };

    // The use cases, each from the ports it needs.
    let policy = AccountPolicy::default();
    let rbac = Rbac::new(stores.clone(), system.clone());
    let registration = Registration::new(stores.clone(), system.clone(), policy.clone());
    let mail = MailDelivery::new(
        stores.clone(),
        system.clone(),
        policy.clone(),
        MailPolicy::default(),
    );
    let auth = Authentication::new(stores.clone(), system.clone(), policy.clone());
    let content = ContentSessions::new(stores.clone(), system.clone(), ContentLimits::default());
    rbac.ensure_builtin_roles().await?;

    // Register: the domain queues a verification mail; delivering the
    // queue hands it to our mailer.
    let email = Email::parse("ann@example.org")?;
    registration
        .register(
            email.clone(),
            Username::parse("ann")?,
            Password::new("correct horse battery staple")?,
        )
        .await?;
    println!("registered ann <{email}>");
    let report = mail.deliver_due().await?;
    println!("delivered {} mail(s)", report.delivered);

    // Verify with the token from the mail.
    let token = mailer
        .verification
        .lock()
        .map_err(|_| "mailer state poisoned")?
        .take()
        .ok_or("no verification mail was sent")?;
    let ann = registration.verify(&token).await?;
    println!("verified {} ({})", ann.username, ann.id);

    // Sign in, then authenticate the access token as a request would.
    let issued = match auth
        .sign_in(SignInRequest {
            login: "ann".into(),
            password: Password::for_sign_in("correct horse battery staple")?,
            user_agent: Some("embed example".into()),
            ip: None,
        })
        .await?
    {
        SignedIn::Session(issued) => issued,
        SignedIn::MfaRequired(_) => return Err("ann has no second factor yet".into()),
    };
    println!("signed in: session {}", issued.session.id);
    let principal = auth.authenticate(&issued.access_token).await?;
    println!(
        "authenticated the access token as {} with roles {:?}",
        principal.user().username,
        principal
            .roles()
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
    );

    // A use case as Ann: the principal is the only way to act as her.
    let notes = content.create(&principal, Some("notes".into())).await?;
    println!(
        "created content session {} ({:?}) for {}",
        notes.id,
        notes.name.as_deref().unwrap_or(""),
        principal.user().username
    );

    db.close().await;
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}
