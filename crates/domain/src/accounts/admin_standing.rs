//! An administrator's changes to a user's standing: suspension, plan and
//! sessions (the rest of [`UserWriter`] is in the parent module).

use super::*;

impl UserWriter<'_> {
    /// Suspends a user with `reason` until `until` (or until lifted): every
    /// session ends at once (and pending provider-link flows), the change
    /// is announced so other instances drop what they cached, and every
    /// way of signing in answers with the reason and the end until then.
    /// A new suspension replaces one in place. Refused for oneself, and for
    /// an end that is not in the future.
    pub async fn suspend(
        &self,
        user_id: UserId,
        reason: crate::SuspensionReason,
        until: Option<time::OffsetDateTime>,
    ) -> Result<User, AdminUserError> {
        if self.by.user_id() == user_id {
            return Err(AdminUserError::SuspendSelf);
        }
        let now = self.admin.system.now();
        if until.is_some_and(|until| until <= now) {
            return Err(AdminUserError::UntilNotInFuture);
        }
        self.may_act_on(user_id).await?;
        let suspension = crate::Suspension {
            reason,
            since: now,
            until,
        };
        let user = self
            .modify(
                user_id,
                UserChanges {
                    suspension: Some(Some(suspension)),
                    updated_at: Some(now),
                    ..UserChanges::default()
                },
            )
            .await?;
        self.end_sessions(user_id, now).await?;
        self.stores().announce(AuthChange::User(user_id)).await;
        let mut details = serde_json::Map::new();
        if let Some(s) = &user.suspension {
            details.insert("reason".into(), s.reason.as_str().into());
            details.insert("until".into(), rfc3339(s.until));
        }
        self.record(ActivityKind::UserSuspended, user_id, details)
            .await?;
        Ok(user)
    }

    /// Puts a user on the plan named `plan` until `until` (or until
    /// changed); after `until` the user is on the default plan again.
    /// Naming the default plan removes the assignment (`until` has nothing
    /// to end then). The change is announced, so every instance counts the
    /// user's next request against the new plan.
    pub async fn assign_plan(
        &self,
        user_id: UserId,
        plan: crate::PlanName,
        until: Option<time::OffsetDateTime>,
    ) -> Result<User, AdminUserError> {
        let now = self.admin.system.now();
        if until.is_some_and(|until| until <= now) {
            return Err(AdminUserError::UntilNotInFuture);
        }
        let assignment = if plan.is_free() {
            None
        } else {
            if self
                .stores()
                .plans
                .get(&plan)
                .await
                .map_err(AdminUserError::Unexpected)?
                .is_none()
            {
                return Err(AdminUserError::UnknownPlan);
            }
            Some(crate::PlanAssignment {
                name: plan,
                since: now,
                until,
            })
        };
        self.may_act_on(user_id).await?;
        let user = self
            .modify_now(
                user_id,
                UserChanges {
                    plan: Some(assignment),
                    ..UserChanges::default()
                },
            )
            .await?;
        self.stores().announce(AuthChange::User(user_id)).await;
        let mut details = serde_json::Map::new();
        let plan = user.plan.as_ref();
        details.insert(
            "plan".into(),
            plan.map_or(crate::PlanName::FREE, |p| p.name.as_str())
                .into(),
        );
        details.insert("until".into(), rfc3339(plan.and_then(|p| p.until)));
        self.record(ActivityKind::PlanChanged, user_id, details)
            .await?;
        Ok(user)
    }

    /// Revokes one of a user's sessions: its tokens stop working on every
    /// instance, and the user's pending provider-link flows end with it.
    pub async fn revoke_session(
        &self,
        user_id: UserId,
        session_id: crate::AuthSessionId,
    ) -> Result<(), AdminUserError> {
        self.may_act_on(user_id).await?;
        let now = self.admin.system.now();
        match self
            .stores()
            .sessions
            .revoke(user_id, session_id, now)
            .await
        {
            Ok(()) => {
                self.stores()
                    .announce(AuthChange::Session(session_id))
                    .await;
            }
            Err(WriteError::NotFound) => return Err(AdminUserError::SessionNotFound),
            Err(WriteError::Store(e)) => return Err(AdminUserError::Unexpected(e)),
        }
        crate::sessions::service::cancel_link_flows(self.stores(), user_id)
            .await
            .map_err(AdminUserError::Unexpected)?;
        let mut details = serde_json::Map::new();
        details.insert("session_id".into(), session_id.to_string().into());
        self.record(ActivityKind::SessionRevoked, user_id, details)
            .await
    }

    /// Lifts a user's suspension (nothing to do when there is none).
    pub async fn lift_suspension(&self, user_id: UserId) -> Result<User, AdminUserError> {
        self.may_act_on(user_id).await?;
        let user = self
            .modify_now(
                user_id,
                UserChanges {
                    suspension: Some(None),
                    ..UserChanges::default()
                },
            )
            .await?;
        self.record(
            ActivityKind::UserUnsuspended,
            user_id,
            serde_json::Map::new(),
        )
        .await?;
        Ok(user)
    }
}
