//! The one mapping from domain errors to HTTP problems. Every `match` is
//! exhaustive with no catch-all arm: a new domain variant fails the build
//! until it is mapped here.

use domain::{
    AdminUserError, AuthenticateError, BeginFlowError, BootstrapAdminError, CallbackError,
    ChangeMfaError, ChangePasswordError, ConfirmMfaError, ConfirmResetError, DeleteAccountError,
    Denied, EnrolError, ExchangeError, GrantRoleError, MfaSignInError, ReadError, RefreshError,
    RegisterError, RevokeSessionError, RoleError, SignInError, UnlinkError, UpdateProfileError,
    VerifyError,
};
use domain::{PageError, StoreError};
use time::OffsetDateTime;

use crate::problem::{Kind, Problem};

mod features;
mod tokens;

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        Problem::internal(e)
    }
}

impl From<PageError> for Problem {
    fn from(e: PageError) -> Self {
        let field = match e {
            PageError::Limit => "limit",
            PageError::Cursor => "cursor",
        };
        let mut fields = crate::problem::Fields::default();
        fields.add(field, e.to_string());
        fields.into_problem()
    }
}

/// A 423 whose `Retry-After` counts down to `until`.
fn locked_out(until: OffsetDateTime) -> Problem {
    let secs = (until - OffsetDateTime::now_utc()).whole_seconds().max(1);
    Problem::locked_out(u64::try_from(secs).unwrap_or(1))
}

/// A 422 naming `field`: the password the domain refused (its runtime
/// minimum changed between the route's check and the domain's).
fn weak_password(field: &str, e: &domain::PasswordError) -> Problem {
    let mut fields = crate::problem::Fields::default();
    fields.add(field, e.to_string());
    fields.into_problem()
}

impl From<RegisterError> for Problem {
    fn from(e: RegisterError) -> Self {
        match e {
            RegisterError::UsernameTaken => Problem::new(Kind::UsernameTaken),
            RegisterError::Closed => Problem::new(Kind::RegistrationClosed),
            RegisterError::WeakPassword(e) => weak_password("password", &e),
            RegisterError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<VerifyError> for Problem {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::InvalidToken => Problem::new(Kind::InvalidToken),
            VerifyError::EmailTaken => Problem::new(Kind::EmailTaken),
            VerifyError::UsernameTaken => Problem::new(Kind::UsernameTaken),
            VerifyError::Unexpected(e) => Problem::internal(e),
        }
    }
}

/// The right password of an address not verified yet: what to do next.
fn not_verified() -> Problem {
    Problem::new(Kind::EmailNotVerified).detail(
        "Confirm the address first: open the link in the verification mail. \
         To get a new mail, register again with the same address, username \
         and password (POST /v1/registrations); the new link replaces the old one.",
    )
}

impl From<SignInError> for Problem {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::InvalidCredentials => Problem::new(Kind::InvalidCredentials),
            SignInError::LockedOut { until } => locked_out(until),
            SignInError::Locked => Problem::new(Kind::AccountLocked),
            SignInError::Suspended(s) => Problem::suspended(&s),
            SignInError::NotVerified => not_verified(),
            SignInError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<AuthenticateError> for Problem {
    fn from(e: AuthenticateError) -> Self {
        match e {
            AuthenticateError::Unauthenticated => Problem::new(Kind::Unauthenticated),
            AuthenticateError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<RefreshError> for Problem {
    fn from(e: RefreshError) -> Self {
        match e {
            RefreshError::Invalid => Problem::new(Kind::InvalidToken),
            RefreshError::Reused => Problem::new(Kind::RefreshTokenReused)
                .detail("This refresh token was already used; its session has been revoked."),
            RefreshError::Suspended(s) => Problem::suspended(&s),
            RefreshError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<RevokeSessionError> for Problem {
    fn from(e: RevokeSessionError) -> Self {
        match e {
            RevokeSessionError::NeedsSession(e) => e.into(),
            RevokeSessionError::NotFound => Problem::new(Kind::NotFound),
            RevokeSessionError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<ConfirmResetError> for Problem {
    fn from(e: ConfirmResetError) -> Self {
        match e {
            ConfirmResetError::InvalidToken => Problem::new(Kind::InvalidToken),
            ConfirmResetError::WeakPassword(e) => weak_password("new_password", &e),
            ConfirmResetError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<ChangePasswordError> for Problem {
    fn from(e: ChangePasswordError) -> Self {
        match e {
            ChangePasswordError::NeedsSession(e) => e.into(),
            ChangePasswordError::WrongPassword => Problem::new(Kind::WrongPassword),
            ChangePasswordError::LockedOut { until } => locked_out(until),
            ChangePasswordError::NotFound => Problem::new(Kind::Unauthenticated),
            ChangePasswordError::WeakPassword(e) => weak_password("password.new_password", &e),
            ChangePasswordError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<UpdateProfileError> for Problem {
    fn from(e: UpdateProfileError) -> Self {
        match e {
            UpdateProfileError::TooLong(field) => {
                let mut fields = crate::problem::Fields::default();
                fields.add(field, "is too long");
                fields.into_problem()
            }
            UpdateProfileError::Website => {
                let mut fields = crate::problem::Fields::default();
                fields.add("website", e.to_string());
                fields.into_problem()
            }
            UpdateProfileError::ControlCharacters(field) => {
                let mut fields = crate::problem::Fields::default();
                fields.add(field, "must not contain control characters");
                fields.into_problem()
            }
            UpdateProfileError::NotFound => Problem::new(Kind::Unauthenticated),
            UpdateProfileError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<DeleteAccountError> for Problem {
    fn from(e: DeleteAccountError) -> Self {
        match e {
            DeleteAccountError::NeedsSession(e) => e.into(),
            DeleteAccountError::WrongPassword => Problem::new(Kind::WrongPassword),
            DeleteAccountError::LockedOut { until } => locked_out(until),
            DeleteAccountError::InvalidToken => Problem::new(Kind::InvalidToken),
            DeleteAccountError::NotFound => Problem::new(Kind::NotFound),
            DeleteAccountError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<AdminUserError> for Problem {
    fn from(e: AdminUserError) -> Self {
        match e {
            AdminUserError::Forbidden(d) => d.into(),
            AdminUserError::NotFound => Problem::new(Kind::NotFound).detail("No such user."),
            AdminUserError::SuspendSelf => {
                Problem::new(Kind::Conflict).detail("One cannot suspend one's own account.")
            }
            AdminUserError::UnknownPlan => Problem::new(Kind::NotFound).detail("No such plan."),
            AdminUserError::SessionNotFound => {
                Problem::new(Kind::NotFound).detail("No such active session of this user.")
            }
            AdminUserError::UntilNotInFuture => {
                let mut f = crate::problem::Fields::default();
                f.add("until", "must be in the future");
                f.into_problem()
            }
            AdminUserError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<domain::SettingsError> for Problem {
    fn from(e: domain::SettingsError) -> Self {
        match e {
            domain::SettingsError::Forbidden(d) => d.into(),
            domain::SettingsError::Invalid(errors) => {
                let mut f = crate::problem::Fields::default();
                for (key, message) in errors {
                    f.add(&key, message);
                }
                f.into_problem()
            }
            domain::SettingsError::Stale { expected } => Problem::new(Kind::PreconditionFailed)
                .detail(format!(
                    "The settings changed since version {expected}: read them again."
                )),
            domain::SettingsError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<domain::PlanError> for Problem {
    fn from(e: domain::PlanError) -> Self {
        use domain::PlanError;
        match e {
            PlanError::Forbidden(d) => d.into(),
            PlanError::NotFound => Problem::new(Kind::NotFound).detail("No such plan."),
            PlanError::Duplicate => {
                Problem::new(Kind::AlreadyExists).detail("A plan with this name exists.")
            }
            PlanError::BuiltIn => Problem::new(Kind::Conflict).detail(
                "The default plan (free) comes from the configuration ([plans] free_*): it cannot be changed or deleted here.",
            ),
            PlanError::InUse => Problem::new(Kind::Conflict)
                .detail("Users are on this plan: give them another one first (PUT /v1/users/{id}/plan)."),
            PlanError::LimitTooLarge => {
                let mut f = crate::problem::Fields::default();
                f.add("daily_limit", format!("must be at most {}", domain::Plan::MAX_LIMIT));
                f.into_problem()
            }
            PlanError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<RoleError> for Problem {
    fn from(e: RoleError) -> Self {
        match e {
            RoleError::Forbidden(d) => d.into(),
            RoleError::AlreadyExists => {
                Problem::new(Kind::AlreadyExists).detail("A role with this name exists.")
            }
            RoleError::NotFound => Problem::new(Kind::NotFound).detail("No such role."),
            RoleError::BuiltIn => Problem::new(Kind::BuiltInRole).detail(
                "The admin and user roles cannot be deleted or have their permissions changed.",
            ),
            RoleError::Escalation => Problem::new(Kind::Forbidden)
                .detail("A role can only hold permissions you hold yourself."),
            RoleError::DescriptionTooLong => {
                let mut fields = crate::problem::Fields::default();
                fields.add("description", "is longer than 255 characters");
                fields.into_problem()
            }
            RoleError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<GrantRoleError> for Problem {
    fn from(e: GrantRoleError) -> Self {
        match e {
            GrantRoleError::Forbidden(d) => d.into(),
            GrantRoleError::UserNotFound => Problem::new(Kind::NotFound).detail("No such user."),
            GrantRoleError::RoleNotFound => Problem::new(Kind::NotFound).detail("No such role."),
            GrantRoleError::NotGranted => {
                Problem::new(Kind::NotFound).detail("The user does not hold this role.")
            }
            GrantRoleError::Escalation => Problem::new(Kind::Forbidden)
                .detail("You can only grant or revoke roles whose permissions you hold."),
            GrantRoleError::LastAdmin => Problem::new(Kind::Conflict)
                .detail("The last administrator cannot lose the admin role."),
            GrantRoleError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<Denied> for Problem {
    fn from(Denied(permission): Denied) -> Self {
        Problem::new(Kind::Forbidden).detail(format!("This needs the {permission} permission."))
    }
}

impl From<ReadError> for Problem {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Forbidden(d) => d.into(),
            ReadError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<BootstrapAdminError> for Problem {
    fn from(e: BootstrapAdminError) -> Self {
        match e {
            BootstrapAdminError::EmailBelongsToAnotherUser => Problem::new(Kind::EmailTaken),
            BootstrapAdminError::UsernameTaken => Problem::new(Kind::UsernameTaken),
            BootstrapAdminError::WeakPassword(e) => weak_password("password", &e),
            BootstrapAdminError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<EnrolError> for Problem {
    fn from(e: EnrolError) -> Self {
        match e {
            EnrolError::NeedsSession(e) => e.into(),
            EnrolError::WrongPassword => Problem::new(Kind::WrongPassword),
            EnrolError::LockedOut { until } => locked_out(until),
            EnrolError::AlreadyEnabled => Problem::new(Kind::Conflict)
                .detail("TOTP is already on; turn it off first to enrol a new authenticator."),
            EnrolError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<ConfirmMfaError> for Problem {
    fn from(e: ConfirmMfaError) -> Self {
        match e {
            ConfirmMfaError::NeedsSession(e) => e.into(),
            ConfirmMfaError::NotPending => Problem::new(Kind::Conflict)
                .detail("No TOTP enrolment is waiting for confirmation: start one with POST /v1/me/mfa/totp."),
            ConfirmMfaError::WrongCode => Problem::new(Kind::WrongCode),
            ConfirmMfaError::LockedOut { until } => locked_out(until),
            ConfirmMfaError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<ChangeMfaError> for Problem {
    fn from(e: ChangeMfaError) -> Self {
        match e {
            ChangeMfaError::NeedsSession(e) => e.into(),
            ChangeMfaError::NotEnabled => {
                Problem::new(Kind::Conflict).detail("TOTP is not enabled for this account.")
            }
            ChangeMfaError::WrongPassword => Problem::new(Kind::WrongPassword),
            ChangeMfaError::WrongCode => Problem::new(Kind::WrongCode),
            ChangeMfaError::LockedOut { until } => locked_out(until),
            ChangeMfaError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<MfaSignInError> for Problem {
    fn from(e: MfaSignInError) -> Self {
        match e {
            MfaSignInError::InvalidToken => Problem::new(Kind::InvalidToken)
                .detail("The mfa_token is unknown, expired, used up or used: sign in again."),
            MfaSignInError::WrongCode => Problem::new(Kind::WrongCode),
            MfaSignInError::LockedOut { until } => locked_out(until),
            MfaSignInError::Locked => Problem::new(Kind::AccountLocked),
            MfaSignInError::Suspended(s) => Problem::suspended(&s),
            MfaSignInError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<BeginFlowError> for Problem {
    fn from(e: BeginFlowError) -> Self {
        match e {
            BeginFlowError::NeedsSession(e) => e.into(),
            BeginFlowError::UnknownProvider => Problem::new(Kind::NotFound)
                .detail("No identity provider is configured under that name."),
            BeginFlowError::RedirectNotAllowed => {
                let mut f = crate::problem::Fields::default();
                f.add("redirect_uri", "not on the server's redirect allow-list");
                f.into_problem()
            }
            BeginFlowError::AlreadyLinked => Problem::new(Kind::AlreadyExists)
                .detail("This provider is linked to the account already; unlink it first."),
            BeginFlowError::WrongPassword => Problem::new(Kind::WrongPassword),
            BeginFlowError::LockedOut { until } => locked_out(until),
            BeginFlowError::ReauthenticationRequired => {
                Problem::new(Kind::ReauthenticationRequired).detail(
                    "Send the account's password to link a provider (an account without one: sign in again first).",
                )
            }
            BeginFlowError::Provider(e) => {
                tracing::warn!(error = %e, "identity provider unavailable");
                Problem::new(Kind::ProviderUnavailable)
            }
            BeginFlowError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<CallbackError> for Problem {
    fn from(e: CallbackError) -> Self {
        match e {
            CallbackError::InvalidState => Problem::new(Kind::InvalidToken)
                .detail("The sign-in flow is unknown, used or expired: start it again."),
            CallbackError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<ExchangeError> for Problem {
    fn from(e: ExchangeError) -> Self {
        match e {
            ExchangeError::InvalidCode => Problem::new(Kind::InvalidToken)
                .detail("The code is unknown, used or expired: sign in again."),
            ExchangeError::Locked => Problem::new(Kind::AccountLocked),
            ExchangeError::Suspended(s) => Problem::suspended(&s),
            ExchangeError::NotVerified => Problem::new(Kind::EmailNotVerified),
            ExchangeError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<UnlinkError> for Problem {
    fn from(e: UnlinkError) -> Self {
        match e {
            UnlinkError::NeedsSession(e) => e.into(),
            UnlinkError::NotLinked => {
                Problem::new(Kind::NotFound).detail("The account has no link with that provider.")
            }
            UnlinkError::LastWay => Problem::new(Kind::Conflict).detail(
                "This is the account's last way to sign in: set a password or link another provider first.",
            ),
            UnlinkError::Unexpected(e) => Problem::internal(e),
        }
    }
}
