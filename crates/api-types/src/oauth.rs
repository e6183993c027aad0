//! Sign-in through identity providers and account links.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::*;

/// A configured provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderView {
    /// The name in `/v1/oauth/{provider}/…`.
    #[schema(example = "google")]
    pub name: String,
    /// What a sign-in button shows.
    #[schema(example = "Google")]
    pub display_name: String,
}

/// The configured providers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProvidersView {
    /// In name order.
    pub items: Vec<ProviderView>,
}

/// Where the flow returns to.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedirectQuery {
    /// A front-end URL on the server's allow-list (`oauth.redirect_allowlist`).
    #[param(example = "https://app.example/signed-in")]
    #[schema(example = "https://app.example/signed-in")]
    pub redirect_uri: String,
}

/// What a provider sends back.
#[derive(Debug, Deserialize, IntoParams)]
pub struct CallbackQuery {
    /// The provider's authorization code.
    pub code: Option<String>,
    /// The flow's `state`.
    pub state: Option<String>,
    /// The provider's error instead of a code (`access_denied`, …).
    pub error: Option<String>,
}

/// The one-time code a callback put on the front end's URL.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeBody {
    /// From `?code=` on the redirect; works once, for 60 seconds.
    pub code: String,
}

/// The account's links.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinksView {
    /// In provider order.
    pub items: Vec<ProviderLinkView>,
}

/// Where the browser goes to link the provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizeUrlView {
    /// Send the browser here; the callback returns to `redirect_uri` with
    /// `?linked=<provider>` or `?error=<kind>`.
    pub authorize_url: String,
}

/// Where a link flow returns to, and the password that confirms it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// A front-end URL on the server's allow-list (`oauth.redirect_allowlist`).
    #[schema(example = "https://app.example/settings")]
    pub redirect_uri: String,
    /// The account's password; required when the account has one. An
    /// account without a password links within 5 minutes of signing in.
    pub password: Option<String>,
}
