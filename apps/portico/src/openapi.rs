//! The OpenAPI 3.1 document: paths come from the registered handlers
//! (utoipa-actix-web collects them as routes are added), so the document
//! cannot list a route the server does not serve, nor miss one it does.

use actix_web::App;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

/// Title, version, tags and security schemes; paths are added by the routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portico",
        description = "Accounts, permissions, content sessions, notifications, uploads, payments and operations of the Portico backend core. Errors are RFC 9457 `application/problem+json`; lists use cursor pagination (`limit`, `cursor` → `items`, `next_cursor`).",
    ),
    modifiers(&Security),
    tags(
        (name = "accounts", description = "Registration, verification, username availability, password reset"),
        (name = "sessions", description = "Sign-in, refresh rotation, sessions, sign-out"),
        (name = "me", description = "The signed-in user's own account"),
        (name = "permissions", description = "Roles and grants"),
        (name = "users", description = "User administration"),
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
    }
}

/// The document the server serves at `/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::configure)
        .split_for_parts();
    api
}
