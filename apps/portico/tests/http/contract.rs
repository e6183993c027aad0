//! Every response the HTTP suite causes, held against the OpenAPI document:
//! its status must be documented for the operation, its content type must
//! be one the document names for that status, a JSON body must match the
//! schema, and the headers clients read (`Location`, `Retry-After`,
//! `Set-Cookie`, `RateLimit-*`, `X-Request-Id`) must be declared. Each test
//! server records its responses (`portico::exchanges`); `with_app` checks
//! them when the test has passed, so a handler and its documentation cannot
//! drift apart unnoticed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use portico::exchanges::Exchange;
use serde_json::Value;

/// Response headers whose presence the document must declare.
const DECLARED_HEADERS: &[&str] = &[
    "location",
    "retry-after",
    "set-cookie",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "x-request-id",
];

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| portico::openapi::document_for("http://127.0.0.1"))
}

/// A compiled schema per JSON pointer into the document.
fn validator(pointer: &str) -> Result<Arc<jsonschema::Validator>, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().expect("cache").get(pointer) {
        return Ok(v.clone());
    }
    // The whole document is the schema's resource, so `$ref`s into
    // `#/components/schemas` resolve; the root `$ref` picks the schema.
    let mut root = document().clone();
    root.as_object_mut().expect("an object").insert(
        "$ref".into(),
        Value::String(format!("#{}", fragment(pointer))),
    );
    let compiled = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .map_err(|e| format!("schema at {pointer} does not compile: {e}"))?;
    let compiled = Arc::new(compiled);
    cache
        .lock()
        .expect("cache")
        .insert(pointer.to_owned(), compiled.clone());
    Ok(compiled)
}

/// `{key:.*}` → `{key}`, as the document names path parameters.
fn template(route: &str) -> String {
    let mut out = String::with_capacity(route.len());
    let mut in_param = false;
    let mut skipping = false;
    for c in route.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push(c);
            }
            '}' => {
                in_param = false;
                skipping = false;
                out.push(c);
            }
            ':' if in_param => skipping = true,
            _ if skipping => {}
            _ => out.push(c),
        }
    }
    out
}

/// A JSON pointer as a URI fragment: braces and other characters a URI
/// may not hold are percent-encoded.
fn fragment(pointer: &str) -> String {
    pointer
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"/~-._+".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// What is wrong with `exchange` against the document; `None` when it is
/// right or the document does not describe it (no route matched, a page or
/// the docs UI, a 405 for a method the path does not have).
fn mismatch(doc: &Value, exchange: &Exchange) -> Option<String> {
    let route = template(exchange.route.as_deref()?);
    let method = exchange.method.to_ascii_lowercase();
    let item = doc["paths"].get(&route)?;
    let name = format!(
        "{} {route} ({}) → {}",
        exchange.method, exchange.path, exchange.status
    );
    let Some(op) = item.get(&method) else {
        return (exchange.status != 405 && method != "head" && method != "options")
            .then(|| format!("{name}: no such operation in the document"));
    };
    let status = exchange.status.to_string();
    let wildcard = format!("{}XX", &status[..1]);
    let Some((key, response)) = [status.as_str(), wildcard.as_str(), "default"]
        .into_iter()
        .find_map(|k| op["responses"].get(k).map(|r| (k, r)))
    else {
        return Some(format!("{name}: status not documented"));
    };
    let mut pointer = format!("/paths/{}/{method}/responses/{key}", escape(&route));
    let response = match response["$ref"].as_str() {
        Some(r) => {
            pointer = r.trim_start_matches('#').to_owned();
            doc.pointer(&pointer)?
        }
        None => response,
    };
    let mut problems = Vec::new();
    let content = response["content"].as_object();
    match (&exchange.content_type, content) {
        (Some(_), _) if exchange.status == 204 || method == "head" => {}
        (Some(ct), Some(content)) => {
            let essence = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            let any = format!("{}/*", essence.split('/').next().unwrap_or(""));
            let declared = [essence.as_str(), any.as_str(), "*/*"]
                .into_iter()
                .find_map(|k| content.get(k).map(|m| (k, m)));
            match declared {
                None => problems.push(format!(
                    "content type {essence} not documented (documented: {:?})",
                    content.keys().collect::<Vec<_>>()
                )),
                Some((media_key, media)) => {
                    if let (Some(body), true) = (&exchange.body, media.get("schema").is_some()) {
                        let schema_pointer =
                            format!("{pointer}/content/{}/schema", escape(media_key));
                        match serde_json::from_slice::<Value>(body) {
                            Err(e) => problems.push(format!("body is not JSON: {e}")),
                            Ok(instance) => match validator(&schema_pointer) {
                                Err(e) => problems.push(e),
                                Ok(v) => {
                                    for error in v.iter_errors(&instance).take(5) {
                                        problems.push(format!(
                                            "body at {}: {error}",
                                            error.instance_path()
                                        ));
                                    }
                                }
                            },
                        }
                    }
                }
            }
        }
        (Some(ct), None) => {
            let body_len = exchange.body.as_ref().map_or(1, Vec::len);
            if body_len > 0 {
                problems.push(format!("a {ct} body where the document declares none"));
            }
        }
        (None, _) => {}
    }
    let declared: Vec<String> = response["headers"]
        .as_object()
        .map(|h| h.keys().map(|k| k.to_ascii_lowercase()).collect())
        .unwrap_or_default();
    for header in &exchange.headers {
        if DECLARED_HEADERS.contains(&header.as_str()) && !declared.contains(header) {
            problems.push(format!("header {header} not declared"));
        }
    }
    (!problems.is_empty()).then(|| format!("{name}: {}", problems.join("; ")))
}

/// Panics listing every response that does not match the document. With
/// `PORTICO_CONTRACT_SEEN` set to a file, appends `METHOD route status` per
/// checked response to it, to tell which operations and statuses the suite
/// covers.
pub(crate) fn assert_documented(exchanges: &[Exchange]) {
    let doc = document();
    if let Some(path) = std::env::var_os("PORTICO_CONTRACT_SEEN") {
        use std::io::Write as _;
        let lines: String = exchanges
            .iter()
            .filter_map(|e| {
                let route = template(e.route.as_deref()?);
                Some(format!("{} {route} {}\n", e.method, e.status))
            })
            .collect();
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = f.write_all(lines.as_bytes());
        }
    }
    let mut wrong: Vec<String> = exchanges.iter().filter_map(|e| mismatch(doc, e)).collect();
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "{} of {} responses do not match the OpenAPI document:\n{}",
        wrong.len(),
        exchanges.len(),
        wrong.join("\n")
    );
}

#[test]
fn route_patterns_become_document_paths() {
    assert_eq!(template("/v1/objects/{key:.*}"), "/v1/objects/{key}");
    assert_eq!(
        template("/v1/users/{id}/roles/{role}"),
        "/v1/users/{id}/roles/{role}"
    );
}

/// The check itself fails on what it must catch.
#[test]
fn the_check_catches_undocumented_statuses_types_bodies_and_headers() {
    let doc = document();
    let me = |status: u16, ct: Option<&str>, body: &str, headers: &[&str]| Exchange {
        method: "GET".into(),
        path: "/v1/me".into(),
        route: Some("/v1/me".into()),
        status,
        content_type: ct.map(str::to_owned),
        headers: headers.iter().map(|h| (*h).to_owned()).collect(),
        body: ct.map(|_| body.as_bytes().to_vec()),
    };
    let err = mismatch(doc, &me(418, None, "", &[])).expect("418 is not documented");
    assert!(err.contains("418"), "{err}");
    let err = mismatch(doc, &me(200, Some("text/html"), "<p>", &[])).expect("wrong type");
    assert!(err.contains("content type text/html"), "{err}");
    let err = mismatch(doc, &me(200, Some("application/json"), r#"{"id": 7}"#, &[]))
        .expect("a body that is not a user");
    assert!(err.contains("body at"), "{err}");
    let err = mismatch(doc, &me(200, None, "", &["location"])).expect("undeclared header");
    assert!(err.contains("header location"), "{err}");
}
