//! `GET /v1/me/export`: everything Portico stores about the signed-in user
//! as one JSON document, in the same wire shapes the rest of the API uses.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use api_types::*;

use actix_web::{HttpResponse, get, web};

use crate::auth::SignedIn;
use crate::problem::{Kind, Problem};
use crate::state::AppState;

/// Exports everything stored about the signed-in user as one JSON document:
/// account, roles, sessions, content sessions with data and messages,
/// notifications, uploads, payments and usage counters. Served as an
/// attachment and never cached.
#[utoipa::path(
    tag = "me",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The export", body = ExportView),
    )
)]
#[get("/v1/me/export", name = "/v1/me/export")]
pub async fn export(state: web::Data<AppState>, me: SignedIn) -> Result<HttpResponse, Problem> {
    let export = state
        .profiles
        .export(me.user().id)
        .await?
        .ok_or_else(|| Problem::new(Kind::Unauthenticated))?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"portico-export-{}.json\"",
                me.user().id
            ),
        ))
        .json(ExportView::new(export, me.session().id)))
}
