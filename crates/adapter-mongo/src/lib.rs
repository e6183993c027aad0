//! Every Portico port on MongoDB, through the official `mongodb` driver.
//!
//! Layout: [`MongoConfig`] and [`MongoStore::connect`] (connects, creates
//! the indexes idempotently, detects transaction support); `codec` turns
//! domain values into BSON and back; `indexes` lists every collection's
//! indexes; `repos` holds one module per port family, each implementing its
//! traits on [`MongoStore`]; [`testing`] (feature `testing`) gives each test
//! a database of its own.
//!
//! Collections follow the original data model (`users`, `permissionsTokens`,
//! `contentSessions`, `notifications`, camelCase fields) and extend it in the
//! same style: `roles`, `sessions`, `refreshTokens`, `userCandidates`,
//! `oneTimeTokens`, `messages`, `uploadRequests`, `payments`, `rateLimits`.
//! Ids are UUIDs (BSON binary subtype 4); times are BSON dates
//! (milliseconds, which is why the domain keeps milliseconds). Uniqueness
//! comes from unique indexes (duplicate key 11000 maps to the domain's
//! conflicts); expiring entities carry TTL indexes, and reads filter on the
//! expiry too, because the TTL monitor runs only about once a minute.
//! Multi-document changes run in a transaction on replica sets and sharded
//! clusters, and on a standalone server in an order that leaves no dangling
//! references.
//!
//! Only standard MongoDB features are used: it is written for real MongoDB
//! (standalone, replica set, or sharded through mongos).

mod codec;
mod error;
mod indexes;
mod repos;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;
use std::time::Duration;

use domain::StoreError;
use domain::Stores;
use mongodb::bson::{Document, doc};
use mongodb::options::ClientOptions;
use mongodb::{Client, ClientSession, Collection, Database};

pub use error::MongoError;
pub use indexes::describe as indexes;

/// How to reach MongoDB.
#[derive(Debug, Clone)]
pub struct MongoConfig {
    /// Any MongoDB connection string: `mongodb://host:27017`,
    /// `mongodb://a,b,c/?replicaSet=rs0`, `mongodb+srv://cluster.example.org`.
    pub url: String,
    /// Database holding Portico's collections.
    pub database: String,
    /// Use transactions for multi-document changes when the deployment
    /// supports them (replica sets, sharded clusters). `false` always takes
    /// the ordered, non-transactional path a standalone server gets.
    pub transactions: bool,
    /// How long opening one connection may take (unless the URL sets
    /// `connectTimeoutMS`).
    pub connect_timeout: Duration,
    /// How long an operation waits for a server it can use before it fails
    /// with an unavailable `StoreError` (unless the URL sets
    /// `serverSelectionTimeoutMS`). The driver monitors the deployment and
    /// reconnects by itself.
    pub server_selection_timeout: Duration,
}

impl MongoConfig {
    /// `url` with database `portico`, a 3 s connect timeout and a 3 s
    /// server-selection timeout.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            database: "portico".into(),
            transactions: true,
            connect_timeout: Duration::from_secs(3),
            server_selection_timeout: Duration::from_secs(3),
        }
    }
}

/// A connected MongoDB database serving every port.
#[derive(Clone)]
pub struct MongoStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    db: Database,
    transactions: bool,
}

impl MongoStore {
    /// Connects, checks the server answers, detects whether it supports
    /// transactions, and creates every index (idempotent).
    pub async fn connect(config: &MongoConfig) -> Result<Self, MongoError> {
        let mut options = ClientOptions::parse(&config.url)
            .await
            .map_err(MongoError::Connect)?;
        options
            .connect_timeout
            .get_or_insert(config.connect_timeout);
        options
            .server_selection_timeout
            .get_or_insert(config.server_selection_timeout);
        let client = Client::with_options(options).map_err(MongoError::Connect)?;
        let db = client.database(&config.database);
        let hello = db
            .run_command(doc! {"hello": 1})
            .await
            .map_err(MongoError::Connect)?;
        // Transactions need a replica set member or a mongos.
        let transactions = config.transactions
            && (hello.contains_key("setName")
                || hello.get_str("msg").is_ok_and(|m| m == "isdbgrid"));
        let store = Self {
            inner: Arc::new(Inner {
                client,
                db,
                transactions,
            }),
        };
        indexes::create_all(&store.inner.db)
            .await
            .map_err(MongoError::Indexes)?;
        Ok(store)
    }

    /// Every port, backed by this database.
    pub fn stores(&self) -> Stores {
        Stores::from_one(Arc::new(self.clone()))
    }

    /// Checks that the server answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.inner
            .db
            .run_command(doc! {"ping": 1})
            .await
            .map(|_| ())
            .map_err(error::store("ping"))
    }

    /// Whether multi-document changes run in transactions here.
    pub fn transactions(&self) -> bool {
        self.inner.transactions
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.inner.db
    }

    fn coll(&self, name: &str) -> Collection<Document> {
        self.inner.db.collection(name)
    }

    /// A session with a started transaction, or `None` where the deployment
    /// has no transactions (multi-document steps then run in a safe order).
    async fn begin(&self) -> Result<Option<ClientSession>, mongodb::error::Error> {
        if !self.inner.transactions {
            return Ok(None);
        }
        let mut session = self.inner.client.start_session().await?;
        session.start_transaction().await?;
        Ok(Some(session))
    }
}

impl MongoStore {
    /// Every document matching `filter`, read inside the transaction if any.
    async fn find_in(
        &self,
        collection: &str,
        filter: Document,
        session: &mut Option<ClientSession>,
    ) -> Result<Vec<Document>, mongodb::error::Error> {
        use futures::TryStreamExt;
        let c = self.coll(collection);
        match session.as_mut() {
            Some(s) => {
                let mut cursor = c.find(filter).session(&mut *s).await?;
                cursor.stream(s).try_collect().await
            }
            None => c.find(filter).await?.try_collect().await,
        }
    }
}

impl MongoStore {
    /// Deletes the documents of `parent` matching `filter`, after the
    /// documents of `child` whose `field` names one of them: children first,
    /// so none outlives its parent; in one transaction where there are any.
    /// Returns how many parents were deleted.
    async fn delete_cascade(
        &self,
        parent: &str,
        filter: Document,
        child: &str,
        field: &str,
    ) -> Result<u64, mongodb::error::Error> {
        let mut s = self.begin().await?;
        let ids: Vec<mongodb::bson::Bson> = self
            .find_in(parent, filter, &mut s)
            .await?
            .into_iter()
            .filter_map(|d| d.get("_id").cloned())
            .collect();
        if ids.is_empty() {
            commit(s).await?;
            return Ok(0);
        }
        let mut children = Document::new();
        children.insert(field, doc! {"$in": ids.clone()});
        run!(self.coll(child).delete_many(children), s)?;
        let r = run!(self.coll(parent).delete_many(doc! {"_id": {"$in": ids}}), s)?;
        commit(s).await?;
        Ok(r.deleted_count)
    }
}

/// Commits the transaction `begin` started, if any.
async fn commit(session: Option<ClientSession>) -> Result<(), mongodb::error::Error> {
    match session {
        Some(mut s) => s.commit_transaction().await,
        None => Ok(()),
    }
}

/// Runs a driver action inside the session's transaction when there is one.
macro_rules! run {
    ($action:expr, $session:expr) => {
        match $session.as_mut() {
            Some(s) => $action.session(s).await,
            None => $action.await,
        }
    };
}
pub(crate) use run;

/// Retries a transactional step up to three times on a transient
/// transaction error (a write conflict between concurrent transactions).
macro_rules! retrying {
    ($body:expr) => {{
        let mut attempt = 0;
        loop {
            attempt += 1;
            match $body.await {
                Err(e)
                    if attempt < 3
                        && e.contains_label(mongodb::error::TRANSIENT_TRANSACTION_ERROR) =>
                {
                    continue;
                }
                other => break other,
            }
        }
    }};
}
pub(crate) use retrying;
