//! Users, sessions and roles as the API shows them.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use domain::*;

/// Profile fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileView {
    /// Full name.
    pub full_name: Option<String>,
    /// A short biography, at most 1,000 characters.
    pub bio: Option<String>,
    /// Avatar URL or object key.
    pub avatar: Option<String>,
    /// A web site (an http or https URL).
    pub website: Option<String>,
    /// Where the user is (at most 100 characters).
    pub location: Option<String>,
}

/// A user account as its owner or an administrator sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// Unique id, assigned at creation; it also orders items created in the same millisecond.
    pub id: Uuid,
    /// Email address.
    pub email: String,
    /// The administrator's username.
    pub username: String,
    /// Whether the email address was verified.
    pub verified: bool,
    /// Locked by an administrator.
    pub locked: bool,
    /// Locked after failed sign-ins until this time.
    #[serde(with = "time::serde::rfc3339::option")]
    pub locked_until: Option<OffsetDateTime>,
    /// What the user shows others: full name, bio and avatar.
    pub profile: ProfileView,
    /// Preferences (free-form JSON object).
    #[schema(value_type = Object)]
    pub preferences: serde_json::Map<String, serde_json::Value>,
    /// The active content session.
    pub active_content_session_id: Option<Uuid>,
    /// When it was created (RFC 3339, UTC); lists are newest first by this.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Last sign-in (kept under its old name; `last_sign_in_at` is the same).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_accessed_at: Option<OffsetDateTime>,
    /// Last successful sign-in (a password reset counts).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_sign_in_at: Option<OffsetDateTime>,
    /// The start of the last minute with an authenticated request (written
    /// at most once a minute, about a second after the request).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_active_at: Option<OffsetDateTime>,
    /// How the account came to be (`null` for accounts made before it
    /// was recorded).
    pub origin: Option<OriginView>,
}

/// How an account came to be.
#[derive(Debug, Serialize, ToSchema)]
pub struct OriginView {
    /// `registration`, `admin`, `provider` or `bootstrap`.
    #[schema(example = "registration")]
    pub kind: &'static str,
    /// The identity provider (`provider` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "github")]
    pub provider: Option<String>,
    /// The administrator who made it (`admin` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<Uuid>,
    /// The client's IP address at registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "192.0.2.1")]
    pub ip: Option<String>,
    /// The client's User-Agent at registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")]
    pub user_agent: Option<String>,
}

impl From<UserOrigin> for OriginView {
    fn from(o: UserOrigin) -> Self {
        Self {
            kind: o.kind.as_str(),
            provider: o.provider,
            created_by: o.created_by.map(|u| u.as_uuid()),
            ip: o.ip,
            user_agent: o.user_agent,
        }
    }
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id.as_uuid(),
            email: u.email.as_str().to_owned(),
            username: u.username.as_str().to_owned(),
            verified: u.verified,
            locked: u.locked,
            locked_until: u.locked_until,
            profile: ProfileView {
                full_name: u.profile.full_name,
                bio: u.profile.bio,
                avatar: u.profile.avatar,
                website: u.profile.website,
                location: u.profile.location,
            },
            preferences: u.preferences,
            active_content_session_id: u.active_content_session_id.map(|id| id.as_uuid()),
            created_at: u.created_at,
            updated_at: u.updated_at,
            last_accessed_at: u.last_accessed_at,
            last_sign_in_at: u.last_accessed_at,
            last_active_at: u.last_active_at,
            origin: u.origin.map(OriginView::from),
        }
    }
}

/// Request counters (`requests`).
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageView {
    /// Requests in the current minute.
    pub last_minute: u64,
    /// Requests in the current UTC day.
    pub last_day: u64,
    /// Requests in the current UTC calendar month.
    pub last_month: u64,
    /// Requests ever.
    pub all_time: u64,
}

impl From<Usage> for UsageView {
    fn from(u: Usage) -> Self {
        Self {
            last_minute: u.last_minute,
            last_day: u.last_day,
            last_month: u.last_month,
            all_time: u.all_time,
        }
    }
}

/// A client's device, parsed from its User-Agent at sign-in.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceView {
    /// `desktop`, `mobile`, `tablet`, `bot` or `other`.
    #[serde(rename = "type")]
    #[schema(example = "desktop")]
    pub device_type: &'static str,
    /// The browser's (or client's) family; `Other` when unknown.
    #[schema(example = "Firefox")]
    pub browser: String,
    /// Its version, when the User-Agent says.
    #[schema(example = "133.0")]
    pub browser_version: Option<String>,
    /// The operating system's family; `Other` when unknown.
    #[schema(example = "Linux")]
    pub os: String,
    /// Its version, when the User-Agent says.
    #[schema(example = "10")]
    pub os_version: Option<String>,
    /// The User-Agent it was read from (at most 512 bytes).
    #[schema(example = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")]
    pub user_agent: String,
}

impl From<domain::Device> for DeviceView {
    fn from(d: domain::Device) -> Self {
        Self {
            device_type: d.device_type.as_str(),
            browser: d.browser,
            browser_version: d.browser_version,
            os: d.os,
            os_version: d.os_version,
            user_agent: d.user_agent,
        }
    }
}

/// A sign-in session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Unique id, assigned at creation; it also orders items created in the same millisecond.
    pub id: Uuid,
    /// The device signed in from (absent for sessions from before devices were read).
    pub device: Option<DeviceView>,
    /// Client IP at sign-in.
    pub ip: Option<String>,
    /// When it was created (RFC 3339, UTC); lists are newest first by this.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last use (within the touch interval, one minute by default).
    #[serde(with = "time::serde::rfc3339")]
    pub last_used_at: OffsetDateTime,
    /// The same as `last_used_at`, under its first name; kept for clients
    /// written before it.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(deprecated)]
    pub last_accessed_at: OffsetDateTime,
    /// The access token stops working then unless used (sliding expiry).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Whether this is the session making the request.
    pub current: bool,
}

impl SessionView {
    /// The view of `s`; `current` marks the caller's own session.
    pub fn new(s: AuthSession, current: bool) -> Self {
        Self {
            id: s.id.as_uuid(),
            device: s.device.map(DeviceView::from),
            ip: s.ip,
            created_at: s.created_at,
            last_used_at: s.last_accessed_at,
            last_accessed_at: s.last_accessed_at,
            expires_at: s.expires_at,
            current,
        }
    }
}

/// A role.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    /// Unique name.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// Permissions it grants (`*`, `resource:*`, `resource:action`).
    pub permissions: Vec<String>,
    /// Whether it is built in (`admin`, `user`).
    pub built_in: bool,
    /// When it was created (RFC 3339, UTC); lists are newest first by this.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<Role> for RoleView {
    fn from(r: Role) -> Self {
        Self {
            built_in: r.name.is_builtin(),
            name: r.name.as_str().to_owned(),
            description: r.description,
            permissions: r
                .permissions
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A user in the admin list: the account with its standing and plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserListItem {
    /// The account.
    #[serde(flatten)]
    pub user: UserView,
    /// `suspended`, `locked`, `unverified` or `active` (the first that holds).
    #[schema(example = "active")]
    pub status: String,
    /// The plan the user is on now (`free` for the default plan).
    #[schema(example = "free")]
    pub plan: String,
}

impl UserListItem {
    /// The item of `user` as things stand at `now`.
    pub fn at(user: User, now: OffsetDateTime) -> Self {
        Self {
            status: user.status_at(now).as_str().to_owned(),
            plan: user
                .plan_at(now)
                .map_or(domain::PlanName::FREE, |p| p.name.as_str())
                .to_owned(),
            user: UserView::from(user),
        }
    }
}

/// A page of users.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    /// Items, newest first.
    pub items: Vec<UserListItem>,
    /// Pass as `?cursor=` for the next page; null at the end.
    pub next_cursor: Option<String>,
}

impl UserPage {
    /// The page of `p` as things stand at `now`.
    pub fn at(p: Page<User>, now: OffsetDateTime) -> Self {
        Self {
            items: p
                .items
                .into_iter()
                .map(|u| UserListItem::at(u, now))
                .collect(),
            next_cursor: p.next_cursor.map(|c| c.encode()),
        }
    }
}
