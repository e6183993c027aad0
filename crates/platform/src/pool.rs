//! [`BlockingPoolHasher`]: argon2 on dedicated threads, with a bounded wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use argon2::Block;
use async_trait::async_trait;
use domain::{Password, PasswordHash, PasswordHasher, StoreError};

use crate::Argon2Hasher;

/// Runs an [`Argon2Hasher`] on `concurrency` dedicated threads, off the async
/// workers, so they stay free to serve other requests while a login storm
/// queues here; the queue is fair (first come, first served).
///
/// Dedicated threads rather than tokio's blocking pool: argon2 needs its
/// memory cost (19 MiB by default) as working memory. Each thread here keeps
/// one such buffer and reuses it for every hash, so memory stays at
/// `concurrency` × the memory cost and no hash pays for mapping and zeroing
/// it; the blocking pool's changing threads had grown a server past 250 MiB
/// under a login storm, with a quarter of its CPU in page faults.
///
/// With a maximum wait ([`BlockingPoolHasher::bounded`]) the queue
/// sheds load instead of growing: a hash whose expected wait (the hashes
/// ahead of it, per thread, times the recent time per hash) exceeds it is
/// refused at once with [`StoreError::busy`], and one that still waited
/// longer (the estimate was low) is refused when its turn comes, without
/// being computed. A refused caller can retry; nobody waits past the bound.
#[derive(Debug, Clone)]
pub struct BlockingPoolHasher {
    jobs: tokio::sync::mpsc::Sender<Job>,
    load: Arc<Load>,
}

/// What the admission check reads.
#[derive(Debug)]
struct Load {
    threads: usize,
    /// Jobs admitted and not yet started.
    waiting: AtomicUsize,
    /// Moving average of the time one job takes, in microseconds (0: none yet).
    job_micros: AtomicU64,
    /// Longest wait allowed; `None` waits as long as it takes.
    max_wait: Option<Duration>,
}

impl Load {
    /// How long a job admitted now is expected to wait for a thread.
    fn expected_wait(&self) -> Duration {
        let ahead = self.waiting.load(Ordering::Relaxed) as u64;
        let per_job = self.job_micros.load(Ordering::Relaxed);
        Duration::from_micros(ahead / self.threads as u64 * per_job)
    }

    /// Whether a job admitted now would wait longer than the bound.
    fn saturated(&self) -> bool {
        self.max_wait.is_some_and(|max| self.expected_wait() > max)
    }

    /// Folds one job's duration into the average (weight 1/8).
    fn record(&self, took: Duration) {
        let took = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let old = self.job_micros.load(Ordering::Relaxed);
        let new = if old == 0 { took } else { (old * 7 + took) / 8 };
        self.job_micros.store(new, Ordering::Relaxed);
    }
}

/// A job gets the hasher and this thread's memory, or `None` when it waited
/// past the bound and is refused without being computed.
type Work = Box<dyn FnOnce(Option<(&Argon2Hasher, &mut Vec<Block>)>) + Send>;

struct Job {
    admitted: Instant,
    work: Work,
}

fn busy() -> StoreError {
    StoreError::busy("password hashing is saturated")
}

impl BlockingPoolHasher {
    /// Wraps `inner`; `concurrency` is clamped to at least 1. Waits for a
    /// thread are unbounded (see [`Self::bounded`]). The threads end when the
    /// last clone of the hasher is dropped.
    pub fn new(inner: Argon2Hasher, concurrency: usize) -> Self {
        Self::start(inner, concurrency, None)
    }

    /// Like [`Self::new`], but refuses hashes that would wait longer than
    /// `max_wait` for a thread (see the type's docs); `Duration::ZERO`
    /// means no bound.
    pub fn bounded(inner: Argon2Hasher, concurrency: usize, max_wait: Duration) -> Self {
        Self::start(
            inner,
            concurrency,
            (!max_wait.is_zero()).then_some(max_wait),
        )
    }

    fn start(inner: Argon2Hasher, concurrency: usize, max_wait: Option<Duration>) -> Self {
        let threads = concurrency.max(1);
        let inner = Arc::new(inner);
        let load = Arc::new(Load {
            threads,
            waiting: AtomicUsize::new(0),
            job_micros: AtomicU64::new(0),
            max_wait,
        });
        let (jobs, queue) = tokio::sync::mpsc::channel::<Job>(1024);
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for i in 0..threads {
            let (inner, queue, load) = (inner.clone(), queue.clone(), load.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    // This thread's argon2 working memory, reused by every hash.
                    let mut memory = Vec::new();
                    loop {
                        // Hold the lock only to take one job.
                        let job = match queue.lock() {
                            Ok(mut q) => q.blocking_recv(),
                            Err(_) => return,
                        };
                        let Some(job) = job else { return };
                        load.waiting.fetch_sub(1, Ordering::Relaxed);
                        if load
                            .max_wait
                            .is_some_and(|max| job.admitted.elapsed() > max)
                        {
                            (job.work)(None);
                            continue;
                        }
                        let started = Instant::now();
                        (job.work)(Some((&inner, &mut memory)));
                        load.record(started.elapsed());
                    }
                });
            if let Err(e) = spawned {
                // Fewer threads only means a longer queue; none at all is
                // reported on the first hash.
                eprintln!("cannot start password hashing thread {i}: {e}");
            }
        }
        Self { jobs, load }
    }

    async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Argon2Hasher, &mut Vec<Block>) -> T + Send + 'static,
    {
        if self.load.saturated() {
            return Err(busy());
        }
        let (done, result) = tokio::sync::oneshot::channel();
        let job = Job {
            admitted: Instant::now(),
            work: Box::new(move |hasher| {
                let _ = done.send(hasher.map(|(h, memory)| work(h, memory)));
            }),
        };
        self.load.waiting.fetch_add(1, Ordering::Relaxed);
        // Waits (asynchronously) only while 1,024 hashes are already queued.
        if self.jobs.send(job).await.is_err() {
            self.load.waiting.fetch_sub(1, Ordering::Relaxed);
            return Err(StoreError::msg("password hashing threads stopped"));
        }
        result
            .await
            .map_err(|_| StoreError::msg("password hashing thread stopped"))?
            .ok_or_else(busy)
    }
}

#[async_trait]
impl PasswordHasher for BlockingPoolHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, StoreError> {
        let password = password.clone();
        self.run(move |h, memory| h.hash_with(password.expose(), memory))
            .await?
            .map(PasswordHash::new)
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, StoreError> {
        let (password, hash) = (password.clone(), hash.clone());
        self.run(move |h, memory| h.verify_with(password.expose(), hash.as_str(), memory))
            .await
    }

    async fn verify_dummy(&self, password: &Password) -> Result<(), StoreError> {
        let password = password.clone();
        self.run(move |h, memory| {
            let _ = h.verify_with(password.expose(), &h.dummy, memory);
        })
        .await
    }

    fn saturated(&self) -> bool {
        self.load.saturated()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::cheap;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_blocking_pool_hasher_meets_the_contract() {
        let h = BlockingPoolHasher::new(cheap(), 1);
        contract_tests::system::password_hasher(&h).await;
        let h = BlockingPoolHasher::bounded(cheap(), 1, Duration::from_secs(5));
        contract_tests::system::password_hasher(&h).await;
    }

    /// One thread, at most 50 ms of wait, jobs known to take 100 ms. While
    /// one job runs and one waits, every further job is refused as busy at
    /// once; the waiting one, past the bound when its turn comes, is
    /// refused then without being computed. Only lower bounds of time are
    /// relied on (sleeps), so a slow machine cannot make it fail.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_saturated_pool_refuses_at_once_instead_of_queueing() {
        use std::sync::atomic::AtomicBool;
        let h = BlockingPoolHasher::bounded(cheap(), 1, Duration::from_millis(50));
        let computed = Arc::new(AtomicUsize::new(0));
        let (started, release) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        // Teach it that a job takes (at least) 100 ms.
        h.run(|_: &Argon2Hasher, _: &mut Vec<Block>| {
            std::thread::sleep(Duration::from_millis(100))
        })
        .await
        .unwrap();
        let job = {
            let (computed, started, release) = (computed.clone(), started.clone(), release.clone());
            move || {
                let (computed, started, release) =
                    (computed.clone(), started.clone(), release.clone());
                move |_: &Argon2Hasher, _: &mut Vec<Block>| {
                    started.store(true, Ordering::SeqCst);
                    while !release.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    computed.fetch_add(1, Ordering::SeqCst);
                }
            }
        };
        let running = tokio::spawn({
            let (h, work) = (h.clone(), job());
            async move { h.run(work).await }
        });
        while !started.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // The thread is busy and nothing waits: admitted.
        assert!(!PasswordHasher::saturated(&h));
        let waiting = tokio::spawn({
            let (h, work) = (h.clone(), job());
            async move { h.run(work).await }
        });
        while h.load.waiting.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(
            PasswordHasher::saturated(&h),
            "a caller can see it would be refused"
        );
        for _ in 0..6 {
            let refused = h.run(job()).await.unwrap_err();
            assert!(refused.is_busy(), "{refused}");
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
        release.store(true, Ordering::SeqCst);
        running.await.unwrap().unwrap();
        let late = waiting.await.unwrap().unwrap_err();
        assert!(late.is_busy(), "{late}");
        assert_eq!(
            computed.load(Ordering::SeqCst),
            1,
            "refused jobs are never computed"
        );
    }

    /// Without a bound every job waits its turn.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unbounded_pool_runs_everything() {
        let h = BlockingPoolHasher::new(cheap(), 1);
        let quick =
            |_: &Argon2Hasher, _: &mut Vec<Block>| std::thread::sleep(Duration::from_millis(5));
        let results = futures::future::join_all((0..8).map(|_| h.run(quick))).await;
        assert!(results.iter().all(Result::is_ok));
    }
}
