//! Portico's own pages behind the mail links, served when no front-end
//! link pattern is configured (`mail.links.*`): they read the token from
//! the link and complete the action through the API — verify the address,
//! set a new password, confirm the deletion. Not part of the API document.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};

use crate::config::Config;

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("pages.js");

/// Scripts from this origin only, requests to it only, inline styles.
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
                   style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; \
                   frame-ancestors 'none'";

fn page(title: &str, action: &str, form: &str) -> HttpResponse {
    let html = PAGE
        .replace("{title}", title)
        .replace("{action}", action)
        .replace("{form}", form);
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html)
}

async fn verify() -> HttpResponse {
    page("Confirm your email address", "verify", "")
}

async fn reset() -> HttpResponse {
    page(
        "Choose a new password",
        "reset",
        r#"<form id="reset"><label for="password">New password</label>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="8" required>
<label for="again">The same again</label>
<input id="again" name="again" type="password" autocomplete="new-password" minlength="8" required>
<button type="submit">Set the password</button></form>"#,
    )
}

async fn delete() -> HttpResponse {
    page(
        "Delete your account",
        "delete",
        r#"<p>This deletes your account and everything stored with it. It cannot be undone.</p>
<button id="confirm" type="button">Delete my account</button>"#,
    )
}

async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/javascript; charset=utf-8"),
        ))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(SCRIPT)
}

/// Registers the pages whose links point at Portico itself.
pub fn configure(config: &Config) -> impl Fn(&mut web::ServiceConfig) + Clone + use<> {
    let m = &config.mail;
    let own = |pattern: &str, path: &str| {
        (pattern.is_empty() && path.starts_with('/') && !path.starts_with("/v1/"))
            .then(|| path.to_owned())
    };
    let (verify_at, reset_at, delete_at) = (
        own(&m.links.verify, &m.verify_path),
        own(&m.links.reset, &m.reset_path),
        own(&m.links.deletion, &m.deletion_path),
    );
    move |cfg: &mut web::ServiceConfig| {
        for (path, route) in [
            (&verify_at, web::get().to(verify)),
            (&reset_at, web::get().to(reset)),
            (&delete_at, web::get().to(delete)),
        ] {
            if let Some(path) = path {
                cfg.route(path, route);
            }
        }
        if verify_at.is_some() || reset_at.is_some() || delete_at.is_some() {
            cfg.route("/_portico/pages.js", web::get().to(script));
        }
    }
}
