//! `users`: unique `emailNormalized` and `username` indexes.

use async_trait::async_trait;
use domain::*;
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use time::OffsetDateTime;

use crate::MongoStore;
use crate::codec::*;
use crate::error::{is_duplicate, store};
use crate::indexes::names::USERS;

fn to_doc(u: &User) -> Result<Document, StoreError> {
    let preferences = json(&serde_json::Value::Object(u.preferences.clone()))?;
    Ok(doc! {
        "_id": uuid(u.id.as_uuid()),
        "emailAddress": u.email.as_str(),
        "emailNormalized": u.email.normalized(),
        "username": u.username.as_str(),
        "password": opt_str(u.password_hash.as_ref().map(PasswordHash::as_str)),
        "verified": u.verified,
        "locked": u.locked,
        "lockedUntil": opt_time(u.locked_until),
        "failedLogins": i64::from(u.failed_logins),
        "profile": {
            "fullName": opt_str(u.profile.full_name.as_deref()),
            "bio": opt_str(u.profile.bio.as_deref()),
            "avatar": opt_str(u.profile.avatar.as_deref()),
            "website": opt_str(u.profile.website.as_deref()),
            "location": opt_str(u.profile.location.as_deref()),
        },
        "preferences": preferences,
        "activeContentSessionId": opt_uuid(u.active_content_session_id.map(|c| c.as_uuid())),
        "createdAt": time(u.created_at),
        "updatedAt": time(u.updated_at),
        "securityChangedAt": time(u.security_changed_at),
        "lastAccessed": opt_time(u.last_accessed_at),
        "lastActiveAt": opt_time(u.last_active_at),
        "suspension": suspension_bson(u.suspension.as_ref()),
        "plan": plan_bson(u.plan.as_ref()),
        "origin": opt_str(u.origin.as_ref().map(domain::UserOrigin::to_stored).as_deref()),
    })
}

/// A suspension as a subdocument, or null.
fn suspension_bson(s: Option<&Suspension>) -> Bson {
    match s {
        Some(s) => Bson::Document(doc! {
            "reason": s.reason.as_str(),
            "since": time(s.since),
            "until": opt_time(s.until),
        }),
        None => Bson::Null,
    }
}

/// A plan assignment as a subdocument, or null.
fn plan_bson(p: Option<&PlanAssignment>) -> Bson {
    match p {
        Some(p) => Bson::Document(doc! {
            "name": p.name.as_str(),
            "since": time(p.since),
            "until": opt_time(p.until),
        }),
        None => Bson::Null,
    }
}

/// The plan assignment of a user document (absent or null: none).
fn plan_of(d: &Document) -> Result<Option<PlanAssignment>, StoreError> {
    let Ok(p) = d.get_document("plan") else {
        return Ok(None);
    };
    let f = Fields::of(p, "user plan");
    Ok(Some(PlanAssignment {
        name: PlanName::from_stored(f.str("name")?),
        since: f.time("since")?,
        until: f.opt_time("until")?,
    }))
}

/// The query of `filter`, in the terms of [`UserFilter::matches`].
fn filter_doc(filter: &UserFilter) -> Document {
    let at = time(filter.at);
    let holds = |field: &str| -> Document {
        doc! {"$or": [{field: Bson::Null}, {field: {"$gt": at.clone()}}]}
    };
    let suspended = doc! {"$and": [
        {"suspension.reason": {"$type": "string"}},
        holds("suspension.until"),
    ]};
    let locked = doc! {"$or": [{"locked": true}, {"lockedUntil": {"$gt": at.clone()}}]};
    let unverified = doc! {"verified": false};
    let mut all: Vec<Document> = Vec::new();
    if let Some(prefix) = &filter.prefix {
        let pattern = format!("^{}", regex_escape(prefix));
        all.push(doc! {"$or": [
            {"emailNormalized": {"$regex": pattern.as_str()}},
            {"username": {"$regex": pattern.as_str()}},
        ]});
    }
    if let Some(status) = filter.status {
        all.push(match status {
            UserStatus::Suspended => suspended,
            UserStatus::Locked => locked,
            UserStatus::Unverified => unverified,
            UserStatus::Active => doc! {"$nor": [suspended, locked, unverified]},
        });
    }
    if let Some(plan) = &filter.plan {
        all.push(if plan.is_free() {
            doc! {"$or": [
                {"plan.name": Bson::Null},
                {"plan.name": plan.as_str()},
                {"plan.until": {"$lte": at.clone()}},
            ]}
        } else {
            doc! {"$and": [{"plan.name": plan.as_str()}, holds("plan.until")]}
        });
    }
    if all.is_empty() {
        doc! {}
    } else {
        doc! {"$and": all}
    }
}

/// `text` with every character a regular expression treats specially escaped.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if !c.is_alphanumeric() && c != '@' && c != '_' && c != '-' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The suspension of a user document (absent or null: none).
fn suspension_of(d: &Document) -> Result<Option<Suspension>, StoreError> {
    let Ok(s) = d.get_document("suspension") else {
        return Ok(None);
    };
    let f = Fields::of(s, "user suspension");
    Ok(Some(Suspension {
        reason: SuspensionReason::from_stored(f.str("reason")?),
        since: f.time("since")?,
        until: f.opt_time("until")?,
    }))
}

fn from_doc(d: &Document) -> Result<User, StoreError> {
    let f = Fields::of(d, "user");
    let profile = f.doc("profile")?;
    let p = Fields::of(&profile, "user profile");
    let preferences = match f.json("preferences") {
        Some(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let bad = |field| crate::error::corrupt("user", field);
    Ok(User {
        id: UserId::from_uuid(f.uuid("_id")?),
        email: Email::from_stored(f.str("emailAddress")?).map_err(|_| bad("emailAddress"))?,
        username: Username::parse(f.str("username")?).map_err(|_| bad("username"))?,
        password_hash: f.opt_str("password")?.map(PasswordHash::new),
        verified: f.bool("verified")?,
        locked: f.bool("locked")?,
        locked_until: f.opt_time("lockedUntil")?,
        failed_logins: u32::try_from(f.i64("failedLogins")?).map_err(|_| bad("failedLogins"))?,
        profile: Profile {
            full_name: p.opt_str("fullName")?.map(str::to_owned),
            bio: p.opt_str("bio")?.map(str::to_owned),
            avatar: p.opt_str("avatar")?.map(str::to_owned),
            website: p.opt_str("website")?.map(str::to_owned),
            location: p.opt_str("location")?.map(str::to_owned),
        },
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
        suspension: suspension_of(d)?,
        plan: plan_of(d)?,
        origin: f
            .opt_str("origin")?
            .map(domain::UserOrigin::from_stored)
            .transpose()?,
    })
}

impl MongoStore {
    async fn find_user(&self, filter: Document) -> Result<Option<User>, StoreError> {
        self.coll(USERS)
            .find_one(filter)
            .await
            .map_err(store("find user"))?
            .as_ref()
            .map(from_doc)
            .transpose()
    }

    /// After a duplicate key: which unique field clashed, found by looking
    /// (the error's text is not parsed).
    async fn clash(&self, u: &User) -> Result<bool, StoreError> {
        let other = self
            .find_user(doc! {"emailNormalized": u.email.normalized(), "_id": {"$ne": uuid(u.id.as_uuid())}})
            .await?;
        Ok(other.is_some())
    }

    async fn set_user(&self, id: UserId, set: Document) -> Result<(), WriteError> {
        let r = self
            .coll(USERS)
            .update_one(doc! {"_id": uuid(id.as_uuid())}, doc! {"$set": set})
            .await
            .map_err(store("update user"))?;
        WriteError::found(r.matched_count)
    }
}

#[async_trait]
impl UserRepository for MongoStore {
    async fn create(&self, user: &User) -> Result<(), InsertUserError> {
        match self.coll(USERS).insert_one(to_doc(user)?).await {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate(&e) => {
                // The driver retries a write whose answer it lost; a server
                // without retryable-write bookkeeping then reports the first
                // attempt's document as a duplicate. Ids are unique: a user
                // with this id is this insert, done.
                if UserRepository::get(self, user.id).await?.is_some() {
                    return Ok(());
                }
                if self.clash(user).await? {
                    Err(InsertUserError::EmailTaken)
                } else {
                    Err(InsertUserError::UsernameTaken)
                }
            }
            Err(e) => Err(InsertUserError::Store(store("insert user")(e))),
        }
    }

    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.find_user(doc! {"_id": uuid(id.as_uuid())}).await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        self.find_user(doc! {"emailNormalized": email.normalized()})
            .await
    }

    async fn find_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        self.find_user(doc! {"username": username.as_str()}).await
    }

    async fn update_fields(&self, id: UserId, c: &UserChanges) -> Result<FieldsUpdate, WriteError> {
        // One update_one: `$set` of the named fields only (profile fields by
        // their dotted paths), conditions in the filter.
        let mut set = Document::new();
        if let Some(hash) = &c.password_hash {
            set.insert("password", opt_str(hash.as_ref().map(PasswordHash::as_str)));
        }
        if let Some(v) = c.verified {
            set.insert("verified", v);
        }
        if let Some(v) = c.locked {
            set.insert("locked", v);
        }
        for (path, change) in [
            ("profile.fullName", &c.full_name),
            ("profile.bio", &c.bio),
            ("profile.avatar", &c.avatar),
            ("profile.website", &c.website),
            ("profile.location", &c.location),
        ] {
            if let Some(value) = change {
                set.insert(path, opt_str(value.as_deref()));
            }
        }
        let mut filter = doc! {"_id": uuid(id.as_uuid())};
        if let Some(swap) = &c.preferences {
            set.insert(
                "preferences",
                json(&serde_json::Value::Object(swap.to.clone()))?,
            );
            filter.insert(
                "preferences",
                json(&serde_json::Value::Object(swap.from.clone()))?,
            );
        }
        match c.active_content_session {
            Some(ActiveSessionChange::Set(active)) => {
                set.insert(
                    "activeContentSessionId",
                    opt_uuid(active.map(|a| a.as_uuid())),
                );
            }
            Some(ActiveSessionChange::ClearIf(session)) => {
                set.insert("activeContentSessionId", Bson::Null);
                filter.insert("activeContentSessionId", uuid(session.as_uuid()));
            }
            None => {}
        }
        if let Some(at) = c.updated_at {
            set.insert("updatedAt", time(at));
        }
        if let Some(at) = c.security_changed_at {
            set.insert("securityChangedAt", time(at));
        }
        if let Some(s) = &c.suspension {
            set.insert("suspension", suspension_bson(s.as_ref()));
        }
        if let Some(p) = &c.plan {
            set.insert("plan", plan_bson(p.as_ref()));
        }
        if set.is_empty() {
            set.insert("_id", uuid(id.as_uuid()));
        }
        let users = self.coll(USERS);
        let result = users
            .update_one(filter, doc! {"$set": set})
            .await
            .map_err(store("update user fields"))?;
        if result.matched_count > 0 {
            return Ok(FieldsUpdate::Written);
        }
        let exists = users
            .find_one(doc! {"_id": uuid(id.as_uuid())})
            .projection(doc! {"_id": 1})
            .await
            .map_err(store("update user fields"))?
            .is_some();
        if exists {
            Ok(FieldsUpdate::ConditionFailed)
        } else {
            Err(WriteError::NotFound)
        }
    }

    async fn increment_failed_logins(&self, id: UserId) -> Result<u32, WriteError> {
        let updated = self
            .coll(USERS)
            .find_one_and_update(
                doc! {"_id": uuid(id.as_uuid())},
                doc! {"$inc": {"failedLogins": 1_i64}},
            )
            .return_document(mongodb::options::ReturnDocument::After)
            .await
            .map_err(store("count failed sign-in"))?
            .ok_or(WriteError::NotFound)?;
        let n = Fields::of(&updated, "user").i64("failedLogins")?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn set_locked_until(
        &self,
        id: UserId,
        until: Option<OffsetDateTime>,
    ) -> Result<(), WriteError> {
        self.set_user(id, doc! {"lockedUntil": opt_time(until)})
            .await
    }

    async fn record_sign_in(&self, id: UserId, at: OffsetDateTime) -> Result<(), WriteError> {
        self.set_user(
            id,
            doc! {"failedLogins": 0_i64, "lockedUntil": Bson::Null, "lastAccessed": time(at)},
        )
        .await
    }

    async fn mark_active(&self, ids: &[UserId], at: OffsetDateTime) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids: Vec<Bson> = ids.iter().map(|id| uuid(id.as_uuid())).collect();
        self.coll(USERS)
            .update_many(
                doc! {
                    "_id": {"$in": ids},
                    "$or": [{"lastActiveAt": Bson::Null}, {"lastActiveAt": {"$lt": time(at)}}],
                },
                doc! {"$set": {"lastActiveAt": time(at)}},
            )
            .await
            .map_err(store("mark users active"))?;
        Ok(())
    }

    async fn count(&self, filter: &UserFilter) -> Result<u64, StoreError> {
        self.coll(USERS)
            .count_documents(filter_doc(filter))
            .await
            .map_err(store("count users"))
    }

    async fn list(&self, filter: &UserFilter, page: PageRequest) -> Result<Page<User>, StoreError> {
        let docs: Vec<Document> = self
            .coll(USERS)
            .find(page_filter(filter_doc(filter), &page))
            .sort(newest_first())
            .limit(overfetch(&page))
            .await
            .map_err(store("list users"))?
            .try_collect()
            .await
            .map_err(store("list users"))?;
        let users = docs.iter().map(from_doc).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(users, page))
    }

    async fn delete(&self, id: UserId) -> Result<(), WriteError> {
        let r = self
            .coll(USERS)
            .delete_one(doc! {"_id": uuid(id.as_uuid())})
            .await
            .map_err(store("delete user"))?;
        WriteError::found(r.deleted_count)
    }
}
