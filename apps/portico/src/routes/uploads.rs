//! Uploads (`upload_request`): a client asks for an upload, sends
//! the bytes straight to object storage through the returned URL, then
//! completes the request, which checks the stored object. Pending requests
//! expire after an hour; the sweep removes them and their objects.
//!
//! With the local store the upload and download URLs are served here, at
//! `/v1/objects/<key>`, and carry an expiring HMAC signature instead of a
//! bearer token; with S3 they are presigned bucket URLs.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use api_types::*;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use domain::{ObjectKey, UploadId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::problem::{Fields, Kind, Problem};
use crate::state::AppState;

/// Prepares an upload: a pending request and a URL to PUT the bytes to until `expires_at`.
#[utoipa::path(
    tag = "uploads",
    security(("bearer" = []), ("cookie" = [])),
    request_body = CreateUpload,
    responses(
        (status = 201, description = "Prepared", body = CreatedUpload),
        (status = 409, description = "The object key is taken"),
        (status = 413, description = "Larger than allowed"),
        (status = 415, description = "Content type not allowed"),
        (status = 422, description = "Invalid object key"),
    )
)]
#[post("/v1/uploads", name = "/v1/uploads")]
pub async fn create(
    state: web::Data<AppState>,
    me: SignedIn,
    body: web::Json<CreateUpload>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let mut f = Fields::default();
    let key = match &body.object_key {
        Some(k) => f.check("object_key", ObjectKey::parse(k)),
        None => None,
    };
    f.finish()?;
    let (request, target) = state
        .uploads
        .create(&me, key, &body.content_type, body.size)
        .await?;
    Ok(HttpResponse::Created().json(CreatedUpload {
        upload: request.into(),
        upload_url: target.url,
        method: target.method,
        headers: target.headers.into_iter().collect(),
    }))
}

/// Lists the caller's upload requests, newest first.
#[utoipa::path(
    tag = "uploads",
    security(("bearer" = []), ("cookie" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of uploads", body = UploadPage))
)]
#[get("/v1/uploads", name = "/v1/uploads")]
pub async fn list(
    state: web::Data<AppState>,
    me: SignedIn,
    query: web::Query<PageQuery>,
) -> Result<web::Json<UploadPage>, Problem> {
    let page = state.uploads.list(&me, query.request()?).await?;
    Ok(web::Json(page.into()))
}

/// Reads an upload request.
#[utoipa::path(
    tag = "uploads",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The request", body = UploadView),
        (status = 404, description = "No such upload of yours"),
    )
)]
#[get("/v1/uploads/{id}", name = "/v1/uploads/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<web::Json<UploadView>, Problem> {
    let actor = &me;
    let request = state.uploads.get(actor, UploadId::from_uuid(*id)).await?;
    Ok(web::Json(request.into()))
}

/// Checks the uploaded object (exists, within the declared size, same
/// content type where the store records one) and completes the request.
#[utoipa::path(
    tag = "uploads",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Completed", body = UploadView),
        (status = 404, description = "No such upload of yours"),
        (status = 409, description = "Nothing uploaded yet, or the object does not match"),
        (status = 410, description = "The request expired"),
    )
)]
#[post("/v1/uploads/{id}/complete", name = "/v1/uploads/{id}/complete")]
pub async fn complete(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<web::Json<UploadView>, Problem> {
    let actor = &me;
    let request = state
        .uploads
        .complete(actor, UploadId::from_uuid(*id))
        .await?;
    Ok(web::Json(request.into()))
}

/// Cancels an upload request and deletes its object.
#[utoipa::path(
    tag = "uploads",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Cancelled"),
        (status = 404, description = "No such upload of yours"),
    )
)]
#[delete("/v1/uploads/{id}", name = "/v1/uploads/{id}")]
pub async fn cancel(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let actor = &me;
    state
        .uploads
        .cancel(actor, UploadId::from_uuid(*id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Redirects (303) to a time-limited download URL of a completed upload; the
/// body carries the same URL.
#[utoipa::path(
    tag = "uploads",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 303, description = "See the Location header", body = Download),
        (status = 404, description = "No such upload of yours"),
        (status = 409, description = "Not completed"),
    )
)]
#[get("/v1/uploads/{id}/download", name = "/v1/uploads/{id}/download")]
pub async fn download(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let actor = &me;
    let url = state
        .uploads
        .download_url(actor, UploadId::from_uuid(*id))
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, url.clone()))
        .json(Download { url }))
}

fn object_key(raw: &str) -> Result<ObjectKey, Problem> {
    ObjectKey::parse(raw).map_err(|_| Problem::new(Kind::NotFound))
}

fn forbidden_url() -> Problem {
    Problem::new(Kind::Forbidden).detail("The URL's signature is invalid or it has expired.")
}

/// Receives an object's bytes through a signed upload URL (local store only).
/// No bearer token: the URL's signature authorises exactly this key, size
/// and content type until it expires.
#[utoipa::path(
    tag = "uploads",
    security(("signed_url" = [])),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    params(
        ("key" = String, Path, description = "Object key"),
        ("expires" = i64, Query, description = "Expiry, Unix seconds"),
        ("max" = u64, Query, description = "Largest size accepted, in bytes"),
        ("type" = String, Query, description = "The content type the body must be sent with"),
        ("sig" = String, Query, description = "Signature over the key and the other parameters"),
    ),
    responses(
        (status = 204, description = "Stored"),
        (status = 403, description = "Bad or expired signature"),
        (status = 409, description = "The URL's one upload already happened"),
        (status = 410, description = "The upload was cancelled or has expired"),
        (status = 413, description = "Larger than the upload allows"),
        (status = 429, description = "Too many uploads of this user at once"),
        (status = 415, description = "Another content type than the upload's"),
    )
)]
#[put("/v1/objects/{key:.*}", name = "/v1/objects/{key:.*}")]
pub async fn put_object(
    state: web::Data<AppState>,
    req: HttpRequest,
    key: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, Problem> {
    // No URL Portico signs names a key that does not parse: its signature
    // cannot be right.
    let key = ObjectKey::parse(&key).map_err(|_| forbidden_url())?;
    let now = OffsetDateTime::now_utc();
    let signed = state
        .objects
        .verify_put(&key, req.query_string(), now)
        .ok_or_else(forbidden_url)?;
    let sent_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if sent_type != signed.content_type {
        return Err(Problem::new(Kind::UnsupportedMediaType).detail(format!(
            "Send the Content-Type this upload was prepared for: {}.",
            signed.content_type
        )));
    }
    let _slot = state.upload_slots.take(&key)?;
    let claim = state.uploads.claim_put(&key, signed.expires_at).await?;
    let limit = signed.max_size.min(state.http.max_upload_bytes);
    // The body goes to the store part by part as it arrives.
    let received = state
        .objects
        .put_stream(&key, &signed.content_type, body, limit)
        .await
        .map(|_| ())
        .map_err(|e| match e {
            adapter_objects::PutStreamError::TooLarge => Problem::new(Kind::PayloadTooLarge)
                .detail(format!("This upload accepts at most {limit} bytes.")),
            adapter_objects::PutStreamError::Body(e) => crate::routes::payload_problem(&e),
            adapter_objects::PutStreamError::Store(e) => Problem::from(e),
        });
    if let Err(problem) = received {
        // The bytes did not land: the URL may be used again.
        if let Err(e) = state.uploads.release_put(claim).await {
            tracing::warn!(error = %crate::problem::error_chain(&e), "could not release an upload claim");
        }
        return Err(problem);
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Serves an object's bytes through a signed download URL (local store only),
/// as an attachment.
#[utoipa::path(
    tag = "uploads",
    security(("signed_url" = [])),
    params(
        ("key" = String, Path, description = "Object key"),
        ("expires" = i64, Query, description = "Expiry, Unix seconds"),
        ("sig" = String, Query, description = "Signature over the key and the expiry"),
    ),
    responses(
        (status = 200, description = "The bytes", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 403, description = "Bad or expired signature"),
        (status = 404, description = "No such object"),
    )
)]
#[get("/v1/objects/{key:.*}", name = "/v1/objects/{key:.*}")]
pub async fn get_object(
    state: web::Data<AppState>,
    req: HttpRequest,
    key: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let key = object_key(&key)?;
    state
        .objects
        .verify_get(&key, req.query_string(), OffsetDateTime::now_utc())
        .ok_or_else(forbidden_url)?;
    // Streamed as read: a backup of a large deployment never sits in memory.
    let (size, chunks) = state
        .objects
        .get_stream(&key)
        .await?
        .ok_or_else(|| Problem::new(Kind::NotFound))?;
    let name = key.as_str().rsplit('/').next().unwrap_or("object");
    let body = actix_web::body::SizedStream::new(
        size,
        futures::StreamExt::map(chunks, |chunk| chunk.map(web::Bytes::from)),
    );
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body))
}

/// Registers the uploads and objects routes, in matching order.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(create)
        .service(list)
        .service(read)
        .service(complete)
        .service(cancel)
        .service(download)
        .service(put_object)
        .service(get_object);
}
