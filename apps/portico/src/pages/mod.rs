//! Portico's own pages behind the mail links, served when no front-end
//! link pattern is configured (`mail.links.*`): they read the token from
//! the link and complete the action through the API — verify the address,
//! set a new password, confirm the deletion, sign in by email. Not part of
//! the API document.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};

use crate::config::Config;

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("pages.js");
const STYLE: &str = include_str!("pages.css");

/// Scripts, styles and requests from this origin only: nothing inline,
/// nothing from elsewhere.
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
                   style-src 'self'; form-action 'self'; base-uri 'none'; \
                   frame-ancestors 'none'";

/// `text` with the characters that matter in an HTML attribute escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn page(title: &str, action: &str, form: &str, continue_to: &str) -> HttpResponse {
    let html = PAGE
        .replace("{title}", title)
        .replace("{action}", action)
        .replace("{continue}", &escape(continue_to))
        .replace("{form}", form);
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html)
}

async fn verify(to: web::Data<ContinueTo>) -> HttpResponse {
    page("Confirm your email address", "verify", "", &to.0)
}

async fn reset(to: web::Data<ContinueTo>) -> HttpResponse {
    page(
        "Choose a new password",
        "reset",
        r#"<form id="reset"><label for="password">New password</label>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="8" required>
<label for="again">The same again</label>
<input id="again" name="again" type="password" autocomplete="new-password" minlength="8" required>
<button type="submit">Set the password</button></form>"#,
        &to.0,
    )
}

async fn delete(to: web::Data<ContinueTo>) -> HttpResponse {
    page(
        "Delete your account",
        "delete",
        r#"<p>This deletes your account and everything stored with it. It cannot be undone.</p>
<button id="confirm" class="danger" type="button">Delete my account</button>"#,
        &to.0,
    )
}

/// The email sign-in page: a button (so that a mail scanner that opens the
/// link does not spend it), then the second factor's code when the account
/// has one. It continues to the link's `redirect_uri` when the allowlist
/// has it, else where the other pages do.
async fn sign_in(
    req: actix_web::HttpRequest,
    to: web::Data<ContinueTo>,
    state: web::Data<crate::state::AppState>,
) -> HttpResponse {
    let redirect =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.get("redirect_uri").cloned())
            .filter(|uri| state.email_sign_in.redirect_allowed(uri));
    page(
        "Sign in",
        "email",
        r#"<p>Sign in to your account with the link from your mail.</p>
<button id="sign-in" type="button">Sign in</button>
<form id="mfa" hidden><label for="code">Code from your authenticator app</label>
<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,8}" required>
<button type="submit">Continue</button></form>"#,
        redirect.as_deref().unwrap_or(&to.0),
    )
}

/// Where the pages' "Continue" leads (`mail.links.continue`).
#[derive(Clone)]
struct ContinueTo(String);

/// A file the pages load, cached for an hour.
fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type)))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE)
}

async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

/// Registers the pages whose links point at Portico itself.
pub fn configure(config: &Config) -> impl Fn(&mut web::ServiceConfig) + Clone + use<> {
    let m = &config.mail;
    let own = |pattern: &str, path: &str| {
        (pattern.is_empty() && path.starts_with('/') && !path.starts_with("/v1/"))
            .then(|| path.to_owned())
    };
    let (verify_at, reset_at, delete_at, sign_in_at) = (
        own(&m.links.verify, &m.verify_path),
        own(&m.links.reset, &m.reset_path),
        own(&m.links.deletion, &m.deletion_path),
        own(&m.links.sign_in, &m.sign_in_path),
    );
    let continue_to = web::Data::new(ContinueTo(m.links.continue_url().to_owned()));
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(continue_to.clone());
        for (path, route) in [
            (&verify_at, web::get().to(verify)),
            (&reset_at, web::get().to(reset)),
            (&delete_at, web::get().to(delete)),
            (&sign_in_at, web::get().to(sign_in)),
        ] {
            if let Some(path) = path {
                cfg.route(path, route);
            }
        }
        if verify_at.is_some() || reset_at.is_some() || delete_at.is_some() || sign_in_at.is_some()
        {
            cfg.route("/_portico/pages.js", web::get().to(script))
                .route("/_portico/pages.css", web::get().to(style));
        }
    }
}
