//! The plans use cases: listing (anyone signed in), creating, changing and
//! deleting (`plans:write`), and which plan a user is on.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::{
    Feature, InsertPlanError, Permission, Plan, PlanChanges, PlanDisplayName, PlanName, Principal,
    StoreError, User, UserFilter, WriteError,
};
use crate::{PageRequest, Stores, System};

/// Why a plan operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The caller lacks `plans:write`.
    #[error(transparent)]
    Forbidden(#[from] crate::Denied),
    /// No plan with this name.
    #[error("plan not found")]
    NotFound,
    /// A plan with this name exists (the default plan's name included).
    #[error("a plan with this name exists")]
    Duplicate,
    /// The default plan is built in: it comes from configuration and cannot
    /// be changed or deleted here.
    #[error("the default plan comes from the configuration")]
    BuiltIn,
    /// Users are on the plan, or new accounts start on it
    /// (`registration.default_plan`): assign them another one first.
    #[error("users are on this plan, or new accounts start on it")]
    InUse,
    /// A limit over [`Plan::MAX_LIMIT`].
    #[error("a limit must be at most {}", Plan::MAX_LIMIT)]
    LimitTooLarge,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why a request is refused by its plan.
#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    /// A day or month quota is used up.
    #[error(transparent)]
    Exceeded(crate::QuotaExceeded),
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

impl From<StoreError> for PlanError {
    fn from(e: StoreError) -> Self {
        Self::Unexpected(e)
    }
}

/// A new plan, as a caller gives it.
#[derive(Debug, Clone)]
pub struct NewPlan {
    /// Unique key.
    pub name: PlanName,
    /// What people are shown.
    pub display_name: PlanDisplayName,
    /// Requests per day (UTC); `None`: unlimited.
    pub daily_limit: Option<u64>,
    /// Requests per month (UTC); `None`: unlimited.
    pub monthly_limit: Option<u64>,
    /// Capabilities (see [`crate::parse_features`]).
    pub features: Vec<Feature>,
}

/// Plans: the stored ones and the built-in default.
#[derive(Clone)]
pub struct Plans {
    stores: Stores,
    system: System,
    default: Arc<Plan>,
    settings: crate::LiveSettings,
}

fn check_limits(limits: [Option<u64>; 2]) -> Result<(), PlanError> {
    if limits.into_iter().flatten().any(|l| l > Plan::MAX_LIMIT) {
        return Err(PlanError::LimitTooLarge);
    }
    Ok(())
}

impl Plans {
    /// Builds the service; `default` is the built-in plan
    /// ([`crate::AccountPolicy::default_plan`], built by [`Plan::free`]).
    pub fn new(stores: Stores, system: System, default: Arc<Plan>) -> Self {
        Self {
            stores,
            system,
            default,
            settings: crate::LiveSettings::default(),
        }
    }

    /// The same, reading `registration.default_plan` from `settings`
    /// (the plan new accounts start on cannot be deleted).
    pub fn with_settings(self, settings: crate::LiveSettings) -> Self {
        Self { settings, ..self }
    }

    /// The built-in default plan.
    pub fn default_plan(&self) -> &Arc<Plan> {
        &self.default
    }

    /// Every plan, the default first, then the stored ones by name. Any
    /// signed-in user may read them (they are what one can be sold).
    pub async fn list(&self, _by: &Principal) -> Result<Vec<Plan>, StoreError> {
        let mut plans = vec![(*self.default).clone()];
        plans.extend(self.stores.plans.list().await?);
        Ok(plans)
    }

    /// Creates a plan; `by` needs `plans:write`.
    pub async fn create(&self, by: &Principal, new: NewPlan) -> Result<Plan, PlanError> {
        by.require(&Permission::PLANS_WRITE)?;
        if new.name.is_free() {
            return Err(PlanError::Duplicate);
        }
        check_limits([new.daily_limit, new.monthly_limit])?;
        let now = self.system.now();
        let plan = Plan {
            name: new.name,
            display_name: new.display_name,
            daily_limit: new.daily_limit,
            monthly_limit: new.monthly_limit,
            features: new.features,
            created_at: now,
            updated_at: now,
        };
        self.stores.plans.create(&plan).await.map_err(|e| match e {
            InsertPlanError::Duplicate => PlanError::Duplicate,
            InsertPlanError::Store(e) => PlanError::Unexpected(e),
        })?;
        Ok(plan)
    }

    /// Changes the fields `changes` names (its `updated_at` is set here);
    /// `by` needs `plans:write`. Users on the plan see the new limits and
    /// features within the principal cache's lifetime.
    pub async fn update(
        &self,
        by: &Principal,
        name: &PlanName,
        mut changes: PlanChanges,
    ) -> Result<Plan, PlanError> {
        by.require(&Permission::PLANS_WRITE)?;
        if name.is_free() {
            return Err(PlanError::BuiltIn);
        }
        let limits = [changes.daily_limit, changes.monthly_limit];
        check_limits(limits.map(Option::flatten))?;
        changes.updated_at = Some(self.system.now());
        self.stores
            .plans
            .update(name, &changes)
            .await
            .map_err(|e| match e {
                WriteError::NotFound => PlanError::NotFound,
                WriteError::Store(e) => PlanError::Unexpected(e),
            })?;
        self.stores
            .plans
            .get(name)
            .await?
            .ok_or(PlanError::NotFound)
    }

    /// Deletes a plan no user is on; `by` needs `plans:write`. (A user
    /// assigned the plan between this check and the deletion, or holding an
    /// ended assignment to it, is on the default plan: a missing plan
    /// reads as the default.)
    pub async fn delete(&self, by: &Principal, name: &PlanName) -> Result<(), PlanError> {
        by.require(&Permission::PLANS_WRITE)?;
        if name.is_free() {
            return Err(PlanError::BuiltIn);
        }
        if self.stores.plans.get(name).await?.is_none() {
            return Err(PlanError::NotFound);
        }
        let filter = UserFilter {
            plan: Some(name.clone()),
            at: self.system.now(),
            ..UserFilter::default()
        };
        let on_it = self
            .stores
            .users
            .list(&filter, PageRequest::first(1))
            .await?;
        if !on_it.items.is_empty() || self.settings.current().default_plan == *name {
            return Err(PlanError::InUse);
        }
        self.stores.plans.delete(name).await.map_err(|e| match e {
            WriteError::NotFound => PlanError::NotFound,
            WriteError::Store(e) => PlanError::Unexpected(e),
        })
    }

    /// Whether a request of `by`, already counted in `usage` (as
    /// [`crate::RateLimits::record_usage`] returns it), is within the plan
    /// (see [`crate::check_quota`]). The first refused request of a window
    /// (its count one past the limit) writes `quota.exceeded`, so the event
    /// comes once per window (per instance that counts it first).
    pub async fn enforce(&self, by: &Principal, usage: &crate::Usage) -> Result<(), QuotaError> {
        let now = self.system.now();
        let Err(exceeded) = crate::check_quota(by.plan(), usage, now) else {
            return Ok(());
        };
        let used = match exceeded.window {
            crate::QuotaWindow::Day => usage.last_day,
            crate::QuotaWindow::Month => usage.last_month,
        };
        if used == exceeded.limit.saturating_add(1) {
            let origin = crate::RequestOrigin::of_session(by);
            let happened = crate::activity::Happened::new(
                crate::ActivityKind::QuotaExceeded,
                by.user_id(),
                crate::Actor::System,
                &origin,
            )
            .with("window", exceeded.window.as_str())
            .with("limit", exceeded.limit)
            .with("plan", by.plan().name.as_str());
            crate::activity::record(&self.stores, &self.system, happened)
                .await
                .map_err(QuotaError::Unexpected)?;
        }
        Err(QuotaError::Exceeded(exceeded))
    }

    /// The plan `user` is on at `now`.
    pub async fn plan_of(&self, user: &User, now: OffsetDateTime) -> Result<Arc<Plan>, StoreError> {
        plan_of(&self.stores, &self.default, user, now).await
    }
}

/// The plan `user` is on at `now`: the assigned one while it holds and
/// exists, else `default`.
pub(crate) async fn plan_of(
    stores: &Stores,
    default: &Arc<Plan>,
    user: &User,
    now: OffsetDateTime,
) -> Result<Arc<Plan>, StoreError> {
    match user.plan_at(now) {
        Some(held) if !held.name.is_free() => Ok(stores
            .plans
            .get(&held.name)
            .await?
            .map_or_else(|| default.clone(), Arc::new)),
        _ => Ok(default.clone()),
    }
}
