//! Production implementations of `domain`'s small system ports:
//! [`SystemClock`], [`UuidV7Ids`], [`OsRandomTokens`] and [`Argon2Hasher`],
//! plus [`BlockingPoolHasher`], which moves hashing off the async workers
//! and can bound how long a caller waits for it, and [`Keyring`], the
//! AEAD [`domain::Sealer`] of secrets at rest.
//! Storage lives in the adapters; this crate only talks to the OS clock and RNG.

use argon2::Block;
use async_trait::async_trait;
use domain::{
    Clock, IdGenerator, Password, PasswordHash, PasswordHasher, StoreError, Token, TokenGenerator,
};
use time::OffsetDateTime;
use uuid::Uuid;

mod jwt;
mod keyring;
mod pool;

pub use jwt::{JwtKeys, JwtKeysError};
pub use keyring::{KEY_BYTES, Keyring, KeyringError};
pub use pool::BlockingPoolHasher;

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
    /// Lanes (threads) each hash uses; OWASP suggests 1.
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

    fn hash_blocking(&self, password: &str) -> Result<String, StoreError> {
        self.hash_with(password, &mut Vec::new())
    }

    fn verify_blocking(&self, password: &str, phc: &str) -> bool {
        self.verify_with(password, phc, &mut Vec::new())
    }

    /// Hashes into a PHC string using `memory` as argon2's working memory
    /// (grown to the memory cost if smaller), so a thread that hashes often
    /// reuses one allocation instead of mapping and zeroing 19 MiB each time.
    fn hash_with(&self, password: &str, memory: &mut Vec<Block>) -> Result<String, StoreError> {
        use argon2::password_hash::{Output, ParamsString, SaltString};
        let fail = |what: &str, e: &dyn std::fmt::Display| StoreError::msg(format!("{what}: {e}"));
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| fail("random salt", &e))?;
        let mut out = [0u8; argon2::Params::DEFAULT_OUTPUT_LEN];
        run_argon2(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            self.params.clone(),
            password,
            &salt,
            &mut out,
            memory,
        )
        .map_err(|e| fail("hashing password", &e))?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| fail("salt", &e))?;
        let phc = argon2::password_hash::PasswordHash {
            algorithm: argon2::Algorithm::Argon2id.ident(),
            version: Some(argon2::Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|e| fail("parameters", &e))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|e| fail("output", &e))?),
        };
        Ok(phc.to_string())
    }

    /// Checks `password` against a PHC string (any argon2 variant, version
    /// and parameters it names) with `memory` as working memory. An
    /// unparsable hash never matches; the final comparison is constant time.
    fn verify_with(&self, password: &str, phc: &str, memory: &mut Vec<Block>) -> bool {
        use argon2::password_hash::{Output, PasswordHash as Phc};
        let Ok(parsed) = Phc::new(phc) else {
            return false;
        };
        let (Ok(algorithm), Ok(params), Some(expected), Some(salt)) = (
            argon2::Algorithm::try_from(parsed.algorithm),
            argon2::Params::try_from(&parsed),
            parsed.hash,
            parsed.salt,
        ) else {
            return false;
        };
        let version = match parsed.version.map(argon2::Version::try_from) {
            None => argon2::Version::V0x13,
            Some(Ok(v)) => v,
            Some(Err(_)) => return false,
        };
        let mut salt_bytes = [0u8; 64];
        let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
            return false;
        };
        let mut out = vec![0u8; expected.len()];
        if run_argon2(algorithm, version, params, password, salt, &mut out, memory).is_err() {
            return false;
        }
        // `Output`'s equality is constant time.
        Output::new(&out).is_ok_and(|computed| computed == expected)
    }
}

/// One argon2 computation into `out`, in `memory` (grown as needed).
fn run_argon2(
    algorithm: argon2::Algorithm,
    version: argon2::Version,
    params: argon2::Params,
    password: &str,
    salt: &[u8],
    out: &mut [u8],
    memory: &mut Vec<Block>,
) -> Result<(), argon2::Error> {
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    argon2::Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password.as_bytes(),
        salt,
        out,
        &mut memory[..blocks],
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    pub(crate) fn cheap() -> Argon2Hasher {
        Argon2Hasher::new(Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    #[test]
    fn hashes_interoperate_with_the_argon2_crates_own_phc_code() {
        use argon2::password_hash::{
            PasswordHash as Phc, PasswordHasher as _, PasswordVerifier as _, SaltString,
        };
        let h = cheap();
        let ours = h.hash_blocking("correct horse").unwrap();
        let lib = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            h.params.clone(),
        );
        assert!(
            lib.verify_password(b"correct horse", &Phc::new(&ours).unwrap())
                .is_ok()
        );
        let salt = SaltString::encode_b64(&[7; 16]).unwrap();
        let theirs = lib
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        let mut memory = Vec::new();
        assert!(h.verify_with("correct horse", &theirs, &mut memory));
        assert!(!h.verify_with("wrong horse", &theirs, &mut memory));
        assert!(!h.verify_with("correct horse", "$argon2id$v=19$garbage", &mut memory));
        // The reused memory does not leak between computations.
        assert!(h.verify_with("correct horse", &ours, &mut memory));
    }

    #[test]
    fn argon2_meets_the_password_hasher_contract() {
        let h = cheap();
        block_on(contract_tests::system::password_hasher(&h));
        let pw = Password::new("correct horse battery").unwrap();
        let hash = block_on(h.hash(&pw)).unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
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
