//! A per-user cap on uploads in progress through the local store's upload
//! URLs, per server instance: each holds up to one 5 MiB part in memory
//! while it arrives, and a connection, so one user cannot take the server's
//! memory or connections with many at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use domain::ObjectKey;

use crate::problem::{Problem, RateInfo};

/// Uploads in progress per user (by the `users/<id>/` folder of the key).
#[derive(Debug)]
pub struct UploadSlots {
    per_user: usize,
    busy: Arc<Mutex<HashMap<String, usize>>>,
}

/// One upload in progress; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot {
    owner: String,
    busy: Arc<Mutex<HashMap<String, usize>>>,
}

impl UploadSlots {
    /// At most `per_user` uploads of one user at once (0: no cap).
    pub fn new(per_user: usize) -> Self {
        Self {
            per_user,
            busy: Arc::default(),
        }
    }

    /// A slot for the owner of `key`, or a 429 when all are taken.
    pub fn take(&self, key: &ObjectKey) -> Result<Slot, Problem> {
        let owner = key
            .as_str()
            .split('/')
            .take(2)
            .collect::<Vec<_>>()
            .join("/");
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        let n = busy.entry(owner.clone()).or_default();
        if self.per_user > 0 && *n >= self.per_user {
            return Err(Problem::rate_limited(RateInfo {
                limit: self.per_user as u64,
                remaining: 0,
                reset_secs: 1,
                policy: None,
            })
            .detail("Too many uploads of this user at once; wait for one to finish."));
        }
        *n += 1;
        Ok(Slot {
            owner,
            busy: self.busy.clone(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = busy.get_mut(&self.owner) {
            *n -= 1;
            if *n == 0 {
                busy.remove(&self.owner);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_per_user_and_come_back() {
        let slots = UploadSlots::new(2);
        let key = |k: &str| ObjectKey::parse(k).unwrap();
        let a = slots.take(&key("users/1/a")).unwrap();
        let _b = slots.take(&key("users/1/b")).unwrap();
        assert!(slots.take(&key("users/1/c")).is_err());
        let _other = slots.take(&key("users/2/a")).unwrap();
        drop(a);
        slots.take(&key("users/1/c")).unwrap();
    }
}
