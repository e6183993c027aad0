//! `user:<id>` hashes, `email:<normalized>` and
//! `username:<name>` → id (uniqueness, set atomically with the record), and
//! the `users` index, all under the `users` family tag.

use async_trait::async_trait;
use domain::*;
use fred::types::Value;
use time::OffsetDateTime;

use crate::codec::*;
use crate::error::corrupt;
use crate::scripts::Guarded;
use crate::{Family, RedisStore};

#[path = "users_scripts.rs"]
mod scripts;
use scripts::{CREATE, DELETE, FAILED, MARK_ACTIVE};

/// How often a profile change is merged again after a concurrent one.
const PROFILE_ATTEMPTS: usize = 32;

/// The fields `update` writes (everything but counters, lock time, last access).
fn updatable(u: &User) -> (Record, Vec<&'static str>) {
    let mut r = Record::default();
    let mut delete = Vec::new();
    r.set("email", u.email.as_str())
        .set("emailNormalized", u.email.normalized())
        .set("username", u.username.as_str())
        .flag("verified", u.verified)
        .flag("locked", u.locked)
        .set(
            "profile",
            serde_json::to_string(&u.profile).unwrap_or_else(|_| "{}".into()),
        )
        .set(
            "preferences",
            serde_json::Value::Object(u.preferences.clone()).to_string(),
        )
        .set("updatedAt", ts(u.updated_at))
        .set("securityChangedAt", ts(u.security_changed_at));
    match &u.password_hash {
        Some(h) => {
            r.set("password", h.as_str());
        }
        None => delete.push("password"),
    }
    match u.active_content_session_id {
        Some(c) => {
            r.set("activeContentSessionId", c.to_string());
        }
        None => delete.push("activeContentSessionId"),
    }
    suspension_fields(u.suspension.as_ref(), &mut r, &mut delete);
    plan_fields(u.plan.as_ref(), &mut r, &mut delete);
    (r, delete)
}

/// A plan assignment as three fields (`planName`, `planSince`,
/// `planUntil`), set or deleted.
fn plan_fields(p: Option<&PlanAssignment>, r: &mut Record, delete: &mut Vec<&'static str>) {
    match p {
        Some(p) => {
            r.set("planName", p.name.as_str())
                .set("planSince", ts(p.since));
            match p.until {
                Some(until) => {
                    r.set("planUntil", ts(until));
                }
                None => delete.push("planUntil"),
            }
        }
        None => delete.extend(["planName", "planSince", "planUntil"]),
    }
}

/// A suspension as three fields (`suspensionReason`, `suspendedAt`,
/// `suspendedUntil`), set or deleted.
fn suspension_fields(s: Option<&Suspension>, r: &mut Record, delete: &mut Vec<&'static str>) {
    match s {
        Some(s) => {
            r.set("suspensionReason", s.reason.as_str())
                .set("suspendedAt", ts(s.since));
            match s.until {
                Some(until) => {
                    r.set("suspendedUntil", ts(until));
                }
                None => delete.push("suspendedUntil"),
            }
        }
        None => delete.extend(["suspensionReason", "suspendedAt", "suspendedUntil"]),
    }
}

fn from_fields(f: &Fields) -> Result<Option<User>, StoreError> {
    if f.opt_str("email").is_none() {
        return Ok(None);
    }
    let bad = |k| corrupt("user", k);
    let profile = match f.json("profile")? {
        Some(v) => serde_json::from_value(v).map_err(|_| bad("profile"))?,
        None => Profile::default(),
    };
    let preferences = match f.json("preferences")? {
        Some(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    Ok(Some(User {
        id: UserId::from_uuid(f.uuid("id")?),
        email: Email::from_stored(f.str("email")?).map_err(|_| bad("email"))?,
        username: Username::parse(f.str("username")?).map_err(|_| bad("username"))?,
        password_hash: f.opt_str("password").map(PasswordHash::new),
        verified: f.flag("verified"),
        locked: f.flag("locked"),
        locked_until: f.opt_time("lockedUntil")?,
        failed_logins: u32::try_from(f.i64("failedLogins")?).map_err(|_| bad("failedLogins"))?,
        profile,
        preferences,
        active_content_session_id: f
            .opt_uuid("activeContentSessionId")?
            .map(ContentSessionId::from_uuid),
        created_at: f.time("createdAt")?,
        updated_at: f.time("updatedAt")?,
        // Users written before the field existed: their last update.
        security_changed_at: match f.opt_time("securityChangedAt")? {
            Some(at) => at,
            None => f.time("updatedAt")?,
        },
        last_accessed_at: f.opt_time("lastAccessed")?,
        last_active_at: f.opt_time("lastActiveAt")?,
        suspension: match f.opt_str("suspensionReason") {
            Some(reason) => Some(Suspension {
                reason: SuspensionReason::from_stored(reason),
                since: f.time("suspendedAt")?,
                until: f.opt_time("suspendedUntil")?,
            }),
            None => None,
        },
        plan: match f.opt_str("planName") {
            Some(name) => Some(PlanAssignment {
                name: PlanName::from_stored(name),
                since: f.time("planSince")?,
                until: f.opt_time("planUntil")?,
            }),
            None => None,
        },
        origin: f
            .opt_str("origin")
            .map(UserOrigin::from_stored)
            .transpose()?,
    }))
}

fn parse(map: std::collections::HashMap<String, String>) -> Result<Option<User>, StoreError> {
    from_fields(&Fields::new(map, "user"))
}

impl RedisStore {
    fn user_key(&self, id: UserId) -> String {
        self.key(Family::Users, &format!("user:{id}"))
    }
    fn email_key(&self, normalized: &str) -> String {
        self.key(Family::Users, &format!("email:{normalized}"))
    }
    fn username_key(&self, name: &str) -> String {
        self.key(Family::Users, &format!("username:{name}"))
    }

    async fn find_user(&self, index: String) -> Result<Option<User>, StoreError> {
        let prefix = self.key(Family::Users, "user:");
        let v: Value = self
            .eval(
                &crate::scripts::FOLLOW_POINTER,
                vec![index],
                vec![prefix],
                "find user",
            )
            .await?;
        parse(pairs(v)?)
    }

    async fn set_user_fields(
        &self,
        id: UserId,
        delete: &[&str],
        set: &Record,
    ) -> Result<(), WriteError> {
        self.guarded_set(self.user_key(id), &[], delete, set)
            .await?
            .written()
    }
}

#[async_trait]
impl UserRepository for RedisStore {
    async fn create(&self, user: &User) -> Result<(), InsertUserError> {
        let (mut record, _) = updatable(user);
        let list_member = member(user.created_at, user.id.as_uuid());
        record
            .set("id", user.id.to_string())
            .set("createdAt", ts(user.created_at))
            .set("failedLogins", user.failed_logins.to_string())
            .set("listMember", list_member.clone())
            .opt("lockedUntil", user.locked_until.map(ts))
            .opt("lastAccessed", user.last_accessed_at.map(ts))
            .opt("origin", user.origin.as_ref().map(UserOrigin::to_stored));
        if let Some(at) = user.last_active_at {
            record.time("lastActiveAt", "lastActiveAtMs", at);
        }
        let keys = vec![
            self.user_key(user.id),
            self.email_key(user.email.normalized()),
            self.username_key(user.username.as_str()),
            self.key(Family::Users, "users"),
        ];
        let mut args = vec![user.id.to_string(), list_member];
        args.extend(record.args());
        let outcome: String = self.eval(&CREATE, keys, args, "create user").await?;
        match outcome.as_str() {
            "email" => Err(InsertUserError::EmailTaken),
            "username" => Err(InsertUserError::UsernameTaken),
            _ => Ok(()),
        }
    }

    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        parse(self.hgetall(self.user_key(id), "get user").await?)
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        self.find_user(self.email_key(email.normalized())).await
    }

    async fn find_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        self.find_user(self.username_key(username.as_str())).await
    }

    async fn update_fields(&self, id: UserId, c: &UserChanges) -> Result<FieldsUpdate, WriteError> {
        use fred::interfaces::HashesInterface as _;
        let key = self.user_key(id);
        // One guarded HSET: the domain's conditions (preferences as read,
        // the active session to clear) and, when a profile field changes,
        // the profile JSON as read here, are its guards. A profile changed
        // in between is merged again; a failed domain condition is reported.
        for _ in 0..PROFILE_ATTEMPTS {
            let mut r = Record::default();
            let mut delete: Vec<&str> = Vec::new();
            let mut guards: Vec<(&str, String)> = Vec::new();
            match &c.password_hash {
                Some(Some(h)) => {
                    r.set("password", h.as_str());
                }
                Some(None) => delete.push("password"),
                None => {}
            }
            if let Some(v) = c.verified {
                r.flag("verified", v);
            }
            if let Some(v) = c.locked {
                r.flag("locked", v);
            }
            if c.full_name.is_some()
                || c.bio.is_some()
                || c.avatar.is_some()
                || c.website.is_some()
                || c.location.is_some()
            {
                let raw: Option<String> = self
                    .client()
                    .hget(&key, "profile")
                    .await
                    .map_err(crate::error::store("read user profile"))?;
                let mut profile: Profile = raw
                    .as_deref()
                    .and_then(|text| serde_json::from_str(text).ok())
                    .unwrap_or_default();
                for (slot, change) in [
                    (&mut profile.full_name, &c.full_name),
                    (&mut profile.bio, &c.bio),
                    (&mut profile.avatar, &c.avatar),
                    (&mut profile.website, &c.website),
                    (&mut profile.location, &c.location),
                ] {
                    if let Some(value) = change {
                        slot.clone_from(value);
                    }
                }
                r.set(
                    "profile",
                    serde_json::to_string(&profile).unwrap_or_else(|_| "{}".into()),
                );
                guards.push(("profile", raw.unwrap_or_default()));
            }
            if let Some(swap) = &c.preferences {
                r.set(
                    "preferences",
                    serde_json::Value::Object(swap.to.clone()).to_string(),
                );
                guards.push((
                    "preferences",
                    serde_json::Value::Object(swap.from.clone()).to_string(),
                ));
            }
            match c.active_content_session {
                Some(ActiveSessionChange::Set(Some(session))) => {
                    r.set("activeContentSessionId", session.to_string());
                }
                Some(ActiveSessionChange::Set(None)) => delete.push("activeContentSessionId"),
                Some(ActiveSessionChange::ClearIf(session)) => {
                    delete.push("activeContentSessionId");
                    guards.push(("activeContentSessionId", session.to_string()));
                }
                None => {}
            }
            if let Some(at) = c.updated_at {
                r.set("updatedAt", ts(at));
            }
            if let Some(at) = c.security_changed_at {
                r.set("securityChangedAt", ts(at));
            }
            if let Some(s) = &c.suspension {
                suspension_fields(s.as_ref(), &mut r, &mut delete);
            }
            if let Some(p) = &c.plan {
                plan_fields(p.as_ref(), &mut r, &mut delete);
            }
            let guard_refs: Vec<(&str, &str)> =
                guards.iter().map(|(f, v)| (*f, v.as_str())).collect();
            match self
                .guarded_set(key.clone(), &guard_refs, &delete, &r)
                .await?
            {
                Guarded::Done => return Ok(FieldsUpdate::Written),
                Guarded::Missing => return Err(WriteError::NotFound),
                Guarded::Refused => {
                    // Which guard failed? Only the profile's is retried.
                    let domain_guards: Vec<&(&str, String)> =
                        guards.iter().filter(|(f, _)| *f != "profile").collect();
                    for (field, expected) in domain_guards {
                        let now: Option<String> = self
                            .client()
                            .hget(&key, *field)
                            .await
                            .map_err(crate::error::store("read user field"))?;
                        if now.unwrap_or_default() != *expected {
                            return Ok(FieldsUpdate::ConditionFailed);
                        }
                    }
                }
            }
        }
        Err(WriteError::Store(StoreError::msg(format!(
            "user profile kept changing; gave up after {PROFILE_ATTEMPTS} attempts"
        ))))
    }

    async fn increment_failed_logins(&self, id: UserId) -> Result<u32, WriteError> {
        let n: i64 = self
            .eval(
                &FAILED,
                vec![self.user_key(id)],
                vec![],
                "count failed sign-in",
            )
            .await?;
        if n < 0 {
            return Err(WriteError::NotFound);
        }
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn set_locked_until(
        &self,
        id: UserId,
        until: Option<OffsetDateTime>,
    ) -> Result<(), WriteError> {
        let mut r = Record::default();
        match until {
            Some(t) => {
                r.set("lockedUntil", ts(t));
                self.set_user_fields(id, &[], &r).await
            }
            None => self.set_user_fields(id, &["lockedUntil"], &r).await,
        }
    }

    async fn record_sign_in(&self, id: UserId, at: OffsetDateTime) -> Result<(), WriteError> {
        let mut r = Record::default();
        r.set("failedLogins", "0").set("lastAccessed", ts(at));
        self.set_user_fields(id, &["lockedUntil"], &r).await
    }

    async fn mark_active(&self, ids: &[UserId], at: OffsetDateTime) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let keys = ids.iter().map(|id| self.user_key(*id)).collect();
        let _: i64 = self
            .eval(
                &MARK_ACTIVE,
                keys,
                vec![ts(at), ms(at).to_string()],
                "mark users active",
            )
            .await?;
        Ok(())
    }

    async fn count(&self, filter: &UserFilter) -> Result<u64, StoreError> {
        // A walk of the users' index, a batch at a time (the statistics'
        // roll-up, off the request path).
        let mut n = 0;
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let read = UserRepository::list(self, &UserFilter::default(), page).await?;
            n += read.items.iter().filter(|u| filter.matches(u)).count() as u64;
            match read.next_cursor {
                Some(cursor) => page = PageRequest::after(PageRequest::MAX_LIMIT, cursor),
                None => return Ok(n),
            }
        }
    }

    async fn list(&self, filter: &UserFilter, page: PageRequest) -> Result<Page<User>, StoreError> {
        let read = |page| {
            self.page_of(
                self.key(Family::Users, "users"),
                page,
                self.key(Family::Users, "user:"),
                None,
                false,
                parse,
            )
        };
        if filter.is_empty() {
            return read(page).await;
        }
        // No secondary indexes here: a filtered page reads the users in
        // order until it has its items.
        RedisStore::filtered_page(page, read, |u| filter.matches(u), |_| false).await
    }

    async fn delete(&self, id: UserId) -> Result<(), WriteError> {
        let n: i64 = self
            .eval(
                &DELETE,
                vec![self.user_key(id), self.key(Family::Users, "users")],
                vec![
                    self.key(Family::Users, "email:"),
                    self.key(Family::Users, "username:"),
                ],
                "delete user",
            )
            .await?;
        WriteError::found(n)
    }
}
