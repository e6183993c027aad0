//! The OpenAPI 3.1 document: paths come from the registered handlers
//! (utoipa-actix-web collects them as routes are added), so the document
//! cannot list a route the server does not serve, nor miss one it does.

use actix_web::App;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::problem::ProblemBody;

/// Title, version, tags and security schemes; paths are added by the routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portico",
        description = "Accounts, permissions, content sessions, notifications, uploads, payments and operations of the Portico backend core. Errors are RFC 9457 `application/problem+json`; lists use cursor pagination (`limit`, `cursor` → `items`, `next_cursor`).",
    ),
    modifiers(&Security),
    components(schemas(ProblemBody)),
    tags(
        (name = "accounts", description = "Registration, verification, username availability, password reset"),
        (name = "sessions", description = "Sign-in (password, email link or code), refresh rotation, sessions, sign-out, the JWT keys"),
        (name = "me", description = "The signed-in user's own account"),
        (name = "mfa", description = "The second factor: TOTP and backup codes"),
        (name = "api_keys", description = "API keys for scripts and integrations: a user's own, and an administrator's view"),
        (name = "passkeys", description = "Passkeys (WebAuthn): registering, listing, renaming and removing your own; signing in with one is under sessions"),
        (name = "oauth", description = "Sign-in through identity providers (OAuth 2.0 / OpenID Connect) and account links"),
        (name = "permissions", description = "Roles and grants"),
        (name = "users", description = "User administration: standing, plans, search"),
        (name = "activity", description = "The activity log of every account (activity:read)"),
        (name = "stats", description = "Statistics per day and the totals now (stats:read)"),
        (name = "backups", description = "Backups of every store in the object store (backups:read, backups:write)"),
        (name = "profiles", description = "Public profiles of users who made theirs public"),
        (name = "conversations", description = "Conversations between users (direct and groups), their messages, and blocks"),
        (name = "webhooks", description = "Outgoing webhooks, signed as Standard Webhooks says (webhooks:write)"),
        (name = "settings", description = "Runtime settings (settings:write) and the app's public flags"),
        (name = "plans", description = "Plans: daily and monthly request quotas and the features an app gates on"),
        (name = "content", description = "Content sessions, their key/value data and messages"),
        (name = "notifications", description = "Notifications and their live stream"),
        (name = "uploads", description = "Pre-authorised uploads to object storage"),
        (name = "payments", description = "Payments with idempotency keys, and provider webhooks"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The access token from POST /v1/sessions."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "portico_session",
                "Set at sign-in. Requests that change state must also send the portico_csrf cookie's value in the X-CSRF-Token header.",
            ))),
        );
        components.add_security_scheme(
            "signed_url",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "sig",
                "The signature Portico put on the URL it handed out (with the URL's other parameters): no session.",
            ))),
        );
        components.add_security_scheme(
            "webhook_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Portico-Signature",
                "The payment provider's HMAC signature of the timestamp and body (with Portico-Timestamp): no session.",
            ))),
        );
    }
}

/// The document the server at `public_url` serves at `/openapi.json`: its
/// one `servers` entry is that URL.
pub fn document_for(public_url: &str) -> serde_json::Value {
    let mut api = document();
    api["servers"] = serde_json::json!([{ "url": public_url }]);
    api
}

/// The document, without a `servers` entry. It is JSON rather than utoipa's
/// types because what the refinements write (schemas that take any value, for
/// one) does not read back into them.
pub fn document() -> serde_json::Value {
    let (_, mut api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::configure)
        .split_for_parts();
    document_errors(&mut api);
    name_operations(&mut api);
    declare_headers(&mut api);
    refine(api)
}

/// Every operation of a path.
pub(super) fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

mod errors;
mod headers;
mod names;
mod refine;
#[cfg(test)]
mod tests;

use errors::document_errors;
use headers::declare_headers;
use names::name_operations;
use refine::refine;
