//! Production implementations of `domain`'s small system ports:
//! [`SystemClock`], [`UuidV7Ids`], [`OsRandomTokens`] and [`Argon2Hasher`],
//! plus [`BlockingPoolHasher`], which moves hashing off the async workers.
//! Storage lives in the adapters; this crate only talks to the OS clock and RNG.

use async_trait::async_trait;
use domain::{
    Clock, IdGenerator, Password, PasswordHash, PasswordHasher, StoreError, Token, TokenGenerator,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// The system clock in UTC, truncated to milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        domain::truncate_to_millis(OffsetDateTime::now_utc())
    }
}

/// Time-ordered UUID v7 ids (good index locality).
#[derive(Debug, Clone, Copy, Default)]
pub struct UuidV7Ids;

impl IdGenerator for UuidV7Ids {
    fn new_id(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// 256-bit tokens from the operating system's CSPRNG.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandomTokens;

impl TokenGenerator for OsRandomTokens {
    fn generate(&self) -> Token {
        let mut bytes = [0u8; Token::BYTES];
        // The OS RNG does not fail on supported platforms; without it no secret
        // can be made safely, so stopping is the only sound answer.
        getrandom::fill(&mut bytes)
            .expect("the operating system's random number generator is unavailable");
        Token::from_bytes(bytes)
    }
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for Argon2Params {
    /// OWASP's minimum for argon2id: 19 MiB, 2 iterations, 1 lane.
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Why hasher parameters are unusable.
#[derive(Debug, thiserror::Error)]
#[error("invalid argon2 parameters: {0}")]
pub struct InvalidParams(String);

/// Argon2id password hashing (PHC strings). Hashing runs on the calling
/// thread and costs tens of milliseconds: servers should call it from a
/// blocking pool with bounded concurrency.
#[derive(Clone)]
pub struct Argon2Hasher {
    params: argon2::Params,
    dummy: String,
}

impl std::fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Argon2Hasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Argon2Hasher {
    /// A hasher with `params`. Computes one dummy hash up front for
    /// [`PasswordHasher::verify_dummy`].
    pub fn new(params: Argon2Params) -> Result<Self, InvalidParams> {
        let params = argon2::Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(|e| InvalidParams(e.to_string()))?;
        let mut hasher = Self {
            params,
            dummy: String::new(),
        };
        hasher.dummy = hasher
            .hash_blocking("portico dummy password")
            .map_err(|e| InvalidParams(e.to_string()))?;
        Ok(hasher)
    }

    fn argon2(&self) -> argon2::Argon2<'static> {
        argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            self.params.clone(),
        )
    }

    fn hash_blocking(&self, password: &str) -> Result<String, StoreError> {
        use argon2::password_hash::{PasswordHasher as _, SaltString};
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| StoreError::msg(format!("random salt: {e}")))?;
        let salt =
            SaltString::encode_b64(&salt).map_err(|e| StoreError::msg(format!("salt: {e}")))?;
        self.argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| StoreError::msg(format!("hashing password: {e}")))
    }

    fn verify_blocking(&self, password: &str, phc: &str) -> bool {
        use argon2::password_hash::{PasswordHash as Phc, PasswordVerifier as _};
        // An unparsable hash never matches; the check itself is constant time.
        Phc::new(phc).is_ok_and(|parsed| {
            self.argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, StoreError> {
        self.hash_blocking(password.expose()).map(PasswordHash::new)
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, StoreError> {
        Ok(self.verify_blocking(password.expose(), hash.as_str()))
    }

    async fn verify_dummy(&self, password: &Password) -> Result<(), StoreError> {
        let _ = self.verify_blocking(password.expose(), &self.dummy);
        Ok(())
    }
}

/// Runs an [`Argon2Hasher`] on `concurrency` dedicated threads, off the async
/// workers, so they stay free to serve other requests while a login storm
/// queues here; the queue is fair (first come, first served).
///
/// Dedicated threads rather than tokio's blocking pool: each hash allocates
/// its memory cost (19 MiB by default), and the allocator keeps that much per
/// thread that ever hashed. A fixed set of threads bounds it to
/// `concurrency` × the memory cost; the blocking pool's changing threads had
/// grown a server past 250 MiB under a login storm.
#[derive(Debug, Clone)]
pub struct BlockingPoolHasher {
    jobs: tokio::sync::mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce(&Argon2Hasher) + Send>;

impl BlockingPoolHasher {
    /// Wraps `inner`; `concurrency` is clamped to at least 1. The threads
    /// end when the last clone of the hasher is dropped.
    pub fn new(inner: Argon2Hasher, concurrency: usize) -> Self {
        let inner = std::sync::Arc::new(inner);
        let (jobs, queue) = tokio::sync::mpsc::channel::<Job>(1024);
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        for i in 0..concurrency.max(1) {
            let (inner, queue) = (inner.clone(), queue.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        // Hold the lock only to take one job.
                        let job = match queue.lock() {
                            Ok(mut q) => q.blocking_recv(),
                            Err(_) => return,
                        };
                        match job {
                            Some(job) => job(&inner),
                            None => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                // Fewer threads only means a longer queue; none at all is
                // reported on the first hash.
                eprintln!("cannot start password hashing thread {i}: {e}");
            }
        }
        Self { jobs }
    }

    async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Argon2Hasher) -> T + Send + 'static,
    {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |h| {
            let _ = done.send(work(h));
        });
        // Waits (asynchronously) only while 1,024 hashes are already queued.
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::msg("password hashing threads stopped"))?;
        result
            .await
            .map_err(|_| StoreError::msg("password hashing thread stopped"))
    }
}

#[async_trait]
impl PasswordHasher for BlockingPoolHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, StoreError> {
        let password = password.clone();
        self.run(move |h| h.hash_blocking(password.expose()))
            .await?
            .map(PasswordHash::new)
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, StoreError> {
        let (password, hash) = (password.clone(), hash.clone());
        self.run(move |h| h.verify_blocking(password.expose(), hash.as_str()))
            .await
    }

    async fn verify_dummy(&self, password: &Password) -> Result<(), StoreError> {
        let password = password.clone();
        self.run(move |h| {
            let _ = h.verify_blocking(password.expose(), &h.dummy);
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    fn cheap() -> Argon2Hasher {
        Argon2Hasher::new(Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    #[test]
    fn argon2_meets_the_password_hasher_contract() {
        let h = cheap();
        block_on(contract_tests::system::password_hasher(&h));
        let pw = Password::new("correct horse battery").unwrap();
        let hash = block_on(h.hash(&pw)).unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_blocking_pool_hasher_meets_the_contract() {
        let h = BlockingPoolHasher::new(cheap(), 1);
        contract_tests::system::password_hasher(&h).await;
    }

    #[test]
    fn default_params_meet_owasp_minimum() {
        let p = Argon2Params::default();
        assert!(p.memory_kib >= 19 * 1024 && p.iterations >= 2 && p.parallelism >= 1);
        assert!(
            Argon2Hasher::new(Argon2Params {
                memory_kib: 1,
                iterations: 0,
                parallelism: 0
            })
            .is_err()
        );
    }

    #[test]
    fn tokens_ids_and_clock_meet_their_contracts() {
        contract_tests::system::token_generator(&OsRandomTokens);
        contract_tests::system::id_generator(&UuidV7Ids);
        contract_tests::system::clock(&SystemClock);
    }
}
