//! Public profiles: what any signed-in user may see of another user who
//! chose to be seen (`preferences.privacy.profile_visibility = "public"`),
//! by id or by the beginning of the username. A user who did not choose so
//! is not found, and never listed.

use crate::{Page, PageRequest, StoreError, Stores, User, UserFilter, UserId, Username};

/// Most profiles one search returns.
pub const MAX_PROFILE_RESULTS: u32 = 50;

/// How many accounts whose username or address begins with the query a
/// search reads at most, looking for public ones (the stores have no index
/// on the preference; a query this unselective returns what it found).
const MAX_SEARCH_SCAN: usize = 2_000;

/// What others see of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicProfile {
    /// The user.
    pub user_id: UserId,
    /// The username.
    pub username: Username,
    /// Full name.
    pub full_name: Option<String>,
    /// Avatar URL or object key.
    pub avatar: Option<String>,
    /// Biography.
    pub bio: Option<String>,
    /// Web site.
    pub website: Option<String>,
    /// Location.
    pub location: Option<String>,
}

impl PublicProfile {
    /// The public profile of `user`, if its owner made it public.
    pub fn of(user: User) -> Option<Self> {
        let visibility = user
            .preferences
            .get("privacy")
            .and_then(|p| p.get("profile_visibility"))
            .and_then(|v| v.as_str());
        if visibility != Some("public") {
            return None;
        }
        Some(Self {
            user_id: user.id,
            username: user.username,
            full_name: user.profile.full_name,
            avatar: user.profile.avatar,
            bio: user.profile.bio,
            website: user.profile.website,
            location: user.profile.location,
        })
    }
}

/// Why a profile search was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProfileSearchError {
    /// `q` is empty, longer than 32 characters, or has characters no
    /// username has.
    #[error("q must be 1 to 32 of a-z 0-9 _ . -")]
    Query,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[from] StoreError),
}

/// Reading public profiles.
#[derive(Clone)]
pub struct PublicProfiles {
    stores: Stores,
}

impl PublicProfiles {
    /// Builds the service.
    pub fn new(stores: Stores) -> Self {
        Self { stores }
    }

    /// The public profile of `id`; `None` when there is no such user or
    /// the profile is not public (the two are not told apart).
    pub async fn get(&self, id: UserId) -> Result<Option<PublicProfile>, StoreError> {
        Ok(self.stores.users.get(id).await?.and_then(PublicProfile::of))
    }

    /// Public profiles whose username begins with `q` (case-insensitive),
    /// at most `limit` (1 to [`MAX_PROFILE_RESULTS`]), newest accounts
    /// first. The store's prefix filter also matches addresses; only
    /// usernames count here, so nothing is found by an address.
    pub async fn search(
        &self,
        q: &str,
        limit: u32,
    ) -> Result<Vec<PublicProfile>, ProfileSearchError> {
        let q = q.trim().to_lowercase();
        let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c);
        if q.is_empty() || q.chars().count() > 32 || !q.chars().all(ok) {
            return Err(ProfileSearchError::Query);
        }
        let limit = limit.clamp(1, MAX_PROFILE_RESULTS) as usize;
        let filter = UserFilter {
            prefix: Some(q.clone()),
            ..UserFilter::default()
        };
        let mut found = Vec::new();
        let mut scanned = 0;
        let mut request = PageRequest::first(100);
        loop {
            let page: Page<User> = self.stores.users.list(&filter, request).await?;
            scanned += page.items.len();
            found.extend(
                page.items
                    .into_iter()
                    .filter(|u| u.username.as_str().starts_with(&q))
                    .filter_map(PublicProfile::of),
            );
            match page.next_cursor {
                Some(cursor) if found.len() < limit && scanned < MAX_SEARCH_SCAN => {
                    request = PageRequest::after(100, cursor);
                }
                _ => break,
            }
        }
        found.truncate(limit);
        Ok(found)
    }
}
