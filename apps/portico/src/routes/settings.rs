//! Runtime settings (`settings:write`) and the app's public flags. The
//! catalog, its checks and the compare-and-set are the domain's
//! ([`domain::Settings`]); this file reads `If-Match` and answers with an
//! `ETag` of the version.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, patch, web};
use api_types::{FeaturesView, SettingsPatch, SettingsView};

use crate::auth::SignedIn;
use crate::problem::{Fields, Kind, Problem};
use crate::state::AppState;

/// The settings as a response, with their version as a strong `ETag`.
fn with_etag(view: domain::SettingsView) -> HttpResponse {
    let etag = format!("\"{}\"", view.version);
    let mut response = HttpResponse::Ok().json(SettingsView::from(view));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// What `If-Match` asks for: `None` without one (or with `*`), the version
/// it names otherwise. A value that names no version can match none: 412.
fn if_match(req: &HttpRequest) -> Result<Option<u64>, Problem> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    text.trim_matches('"')
        .parse::<u64>()
        .map(Some)
        .map_err(|_| {
            Problem::new(Kind::PreconditionFailed)
                .detail("If-Match must be the settings' version, as their ETag gives it.")
        })
}

/// Every runtime setting with its value, default, type, range,
/// description and who last set it. `ETag` is the version.
#[utoipa::path(
    tag = "settings",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Every setting", body = SettingsView,
         headers(("ETag" = String, description = "The settings' version, for If-Match"))),
        (status = 403, description = "Missing permission (settings:write)"),
    )
)]
#[get("/v1/settings", name = "/v1/settings")]
pub async fn read(state: web::Data<AppState>, me: SignedIn) -> Result<HttpResponse, Problem> {
    Ok(with_etag(state.settings.read(&me).await?))
}

/// Changes settings: `{key: value, …}` (`null`: back to the default).
/// Every key is checked first (422 names each bad one; nothing changes);
/// with `If-Match: "<version>"` the change applies only to that version
/// (412 otherwise), without it keys not named keep what they hold. A
/// change bumps the version, writes a `settings.changed` event, and is in
/// force on every instance within about a second.
#[utoipa::path(
    tag = "settings",
    security(("bearer" = []), ("cookie" = [])),
    params(("If-Match" = Option<String>, Header, description = "The version the change is for (from ETag)")),
    request_body = SettingsPatch,
    responses(
        (status = 200, description = "Every setting, after the change", body = SettingsView,
         headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "Missing permission (settings:write), or CSRF header missing"),
        (status = 412, description = "The settings changed since the If-Match version"),
        (status = 422, description = "Unknown keys or values of the wrong type or range, named in `errors`"),
    )
)]
#[patch("/v1/settings", name = "/v1/settings")]
pub async fn change(
    state: web::Data<AppState>,
    me: SignedIn,
    req: HttpRequest,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, Problem> {
    me.require(&domain::Permission::SETTINGS_WRITE)?;
    let expected = if_match(&req)?;
    let serde_json::Value::Object(changes) = body.into_inner() else {
        let mut f = Fields::default();
        f.add("body", "must be an object of settings and their values");
        return Err(f.into_problem());
    };
    let view = state.settings.change(&me, expected, &changes).await?;
    tracing::info!(by = %me.user().id, version = view.version, "runtime settings changed");
    Ok(with_etag(view))
}

/// The app's flags (`features.<name>` settings) by name: public, for front
/// ends to read at start.
#[utoipa::path(
    tag = "settings",
    responses((status = 200, description = "Each flag and whether it is on", body = FeaturesView,
               example = json!({"beta_editor": true})))
)]
#[get("/v1/features", name = "/v1/features")]
pub async fn features(state: web::Data<AppState>) -> web::Json<FeaturesView> {
    web::Json(state.settings.features())
}

/// Registers the settings routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(read).service(change).service(features);
}
