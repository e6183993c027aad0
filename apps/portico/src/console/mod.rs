//! The admin console at `/admin`: one HTML shell, one script and one
//! stylesheet, embedded in the binary. The script is a small single-page
//! app that does everything through the public `/v1` API with the
//! operator's own session (the HttpOnly cookie set at sign-in, and the
//! CSRF header for changes), so the console can do exactly what the
//! operator's permissions allow an API client to do, and nothing more.
//! No request leaves the server: no fonts, scripts or images from
//! elsewhere, charts drawn as inline SVG. Not part of the API document.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};

const SHELL: &str = include_str!("index.html");
const SCRIPT: &str = include_str!("console.js");
const STYLE: &str = include_str!("console.css");

/// Everything from this origin only, nothing inline, no framing: the
/// shell, its script and its stylesheet, and calls to the API.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                       img-src 'self' data:; connect-src 'self'; form-action 'self'; \
                       base-uri 'none'; frame-ancestors 'none'";

/// The console's pages, each served by the same shell (the script draws
/// the page its path names).
pub const PAGES: &[&str] = &[
    "/admin",
    "/admin/users",
    "/admin/users/{id}",
    "/admin/roles",
    "/admin/plans",
    "/admin/activity",
    "/admin/settings",
];

async fn shell() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(SHELL)
}

/// A file the shell loads; revalidated on each load, so a new binary's
/// console is the one served.
fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type)))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}

async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE)
}

/// Registers the console's pages and assets.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/console.js", web::get().to(script))
        .route("/admin/console.css", web::get().to(style));
    for page in PAGES {
        cfg.route(page, web::get().to(shell));
    }
}

/// The size the console adds to the binary, in bytes (its three files).
pub const SIZE: usize = SHELL.len() + SCRIPT.len() + STYLE.len();
