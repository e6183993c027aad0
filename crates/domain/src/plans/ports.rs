//! Plans (`subscription.plan` and its limits) and their repository.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{Feature, PlanDisplayName, PlanName, StoreError, WriteError};

/// A plan: request limits per day and per month (UTC), and the features an
/// app gates on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    /// Unique key.
    pub name: PlanName,
    /// What people are shown.
    pub display_name: PlanDisplayName,
    /// Requests per day (UTC); `None`: unlimited.
    pub daily_limit: Option<u64>,
    /// Requests per calendar month (UTC); `None`: unlimited.
    pub monthly_limit: Option<u64>,
    /// Capabilities the plan gives, sorted, without duplicates.
    pub features: Vec<Feature>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Plan {
    /// The largest limit a plan may set (so that every store keeps it as a
    /// signed 64-bit integer with room to count past it).
    pub const MAX_LIMIT: u64 = 1_000_000_000_000_000;

    /// The built-in default plan with the given limits and features.
    pub fn free(
        daily_limit: Option<u64>,
        monthly_limit: Option<u64>,
        features: Vec<Feature>,
    ) -> Self {
        Self {
            name: PlanName::free(),
            display_name: PlanDisplayName::from_stored("Free"),
            daily_limit,
            monthly_limit,
            features,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    /// Whether the plan gives `feature`.
    pub fn has_feature(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f.as_str() == feature)
    }
}

impl Default for Plan {
    /// The built-in default plan: unlimited, no features.
    fn default() -> Self {
        Self::free(None, None, Vec::new())
    }
}

/// A user's plan: which one, since when, and until when (after which the
/// user is on the default plan again).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlanAssignment {
    /// The plan.
    pub name: PlanName,
    /// When it was assigned.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// When it ends; `None`: until changed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
}

impl PlanAssignment {
    /// Whether it holds at `now`.
    pub fn active_at(&self, now: OffsetDateTime) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

/// A change to some fields of a plan, written atomically by
/// [`PlanRepository::update`]: fields left `None` are not touched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanChanges {
    /// A new display name.
    pub display_name: Option<PlanDisplayName>,
    /// A new daily limit (`Some(None)`: unlimited).
    pub daily_limit: Option<Option<u64>>,
    /// A new monthly limit (`Some(None)`: unlimited).
    pub monthly_limit: Option<Option<u64>>,
    /// The new, complete list of features.
    pub features: Option<Vec<Feature>>,
    /// The new `updated_at`.
    pub updated_at: Option<OffsetDateTime>,
}

/// Why a plan could not be created.
#[derive(Debug, thiserror::Error)]
pub enum InsertPlanError {
    /// A plan with the same name exists.
    #[error("a plan with this name exists")]
    Duplicate,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_failure!(InsertPlanError);

/// Stores plans (not the built-in default plan, which comes from configuration).
#[portico_macros::port("plans")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PlanRepository: Send + Sync {
    /// Inserts a plan. MUST return `Duplicate` if one with the same name
    /// exists, atomically: of N concurrent creations of one name exactly one
    /// succeeds. Limits up to [`Plan::MAX_LIMIT`] and `None` MUST read back
    /// as given, and features in their order.
    async fn create(&self, plan: &Plan) -> Result<(), InsertPlanError>;

    /// The plan named `name`, or `None`.
    async fn get(&self, name: &PlanName) -> Result<Option<Plan>, StoreError>;

    /// Every plan, ordered by name.
    async fn list(&self) -> Result<Vec<Plan>, StoreError>;

    /// Writes exactly the fields `changes` names, atomically: concurrent
    /// calls changing different fields MUST all survive. `NotFound` for an
    /// unknown name.
    async fn update(&self, name: &PlanName, changes: &PlanChanges) -> Result<(), WriteError>;

    /// Deletes the plan. `NotFound` for an unknown name.
    async fn delete(&self, name: &PlanName) -> Result<(), WriteError>;
}
