//! Text the stores cannot hold is refused at the door: a JSON body whose
//! strings (keys or values) contain U+0000 is a 422, on every engine alike.
//! PostgreSQL's `text` and `jsonb` cannot store NUL, SQLite, MongoDB and
//! Redis can; refusing it here keeps every backend accepting and returning
//! the same values. JSON can carry NUL only as the escape `\u0000` (a raw
//! control character is not valid JSON), so the body is scanned for that
//! escape, honouring `\\` so that an escaped backslash followed by `u0000`
//! is plain text. Bodies that are not JSON, and uploaded objects of any
//! type, pass untouched.

use actix_web::HttpMessage as _;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use futures::StreamExt as _;

use crate::problem::{Fields, Kind, Problem};

/// Whether the JSON text `body` escapes a NUL character in a string.
pub(crate) fn has_escaped_nul(body: &[u8]) -> bool {
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'\\' {
            if body.get(i + 1) == Some(&b'u') && body.get(i + 2..i + 6) == Some(b"0000") {
                return true;
            }
            // Skip the escaped character (`\\`, `\"`, `\u…` start).
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// Reads a JSON request's body (up to `limit`), refuses it with 422 when a
/// string holds NUL, and hands the same bytes on.
pub(crate) async fn refuse_nul(
    limit: usize,
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // Object bytes sent to a signed upload URL are the user's file, not a
    // JSON body of the API, whatever their type.
    let json = !req.path().starts_with("/v1/objects/")
        && req.content_type().split(';').next().is_some_and(|t| {
            t.trim().eq_ignore_ascii_case("application/json") || t.trim().ends_with("+json")
        });
    if !json {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(e) => {
                let problem = crate::routes::payload_problem(&e);
                return Ok(req.error_response(problem));
            }
        };
        if body.len() + chunk.len() > limit {
            return Ok(req.error_response(Problem::new(Kind::PayloadTooLarge)));
        }
        body.extend_from_slice(&chunk);
    }
    if has_escaped_nul(&body) {
        let mut f = Fields::default();
        f.add("body", "text must not contain the NUL character (U+0000)");
        return Ok(req.error_response(f.into_problem()));
    }
    let body: Bytes = body.freeze();
    req.set_payload(Payload::from(body));
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::has_escaped_nul;

    #[test]
    fn finds_the_nul_escape_and_only_it() {
        assert!(has_escaped_nul(br#"{"name":"a\u0000b"}"#));
        assert!(has_escaped_nul(br#"{"a\u0000":1}"#));
        assert!(has_escaped_nul(br#"{"x":"\\\u0000"}"#));
        assert!(
            !has_escaped_nul(br#"{"x":"\\u0000"}"#),
            "an escaped backslash"
        );
        assert!(!has_escaped_nul(br#"{"x":"\u0001 \u00e9 \n"}"#));
        assert!(!has_escaped_nul(b"{}"));
    }
}
