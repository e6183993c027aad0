//! Unit tests of the document.

use serde_json::Value;

use super::*;
use crate::problem::PROBLEM_JSON;

fn doc() -> Value {
    document()
}

fn operations_of(doc: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((format!("{method} {path}"), op));
        }
    }
    out
}

#[test]
fn every_error_response_is_a_problem() {
    let doc = doc();
    let shared = &doc["components"]["responses"];
    for (name, op) in operations_of(&doc) {
        for (status, response) in op["responses"].as_object().unwrap() {
            if status.as_str() < "400" {
                continue;
            }
            let response = match response["$ref"].as_str() {
                Some(r) => &shared[r.trim_start_matches("#/components/responses/")],
                None => response,
            };
            assert_eq!(
                response["content"][PROBLEM_JSON]["schema"]["$ref"],
                "#/components/schemas/ProblemBody",
                "{name} {status}"
            );
            assert!(
                response["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty())
            );
        }
    }
}

#[test]
fn operation_ids_are_unique_and_named_by_tag() {
    let doc = doc();
    let mut seen = std::collections::BTreeMap::new();
    let mut twice = Vec::new();
    for (name, op) in operations_of(&doc) {
        let id = op["operationId"].as_str().unwrap_or_default().to_owned();
        let tag = op["tags"][0].as_str().unwrap();
        assert!(id.starts_with(&format!("{tag}_")), "{name}: {id}");
        assert!(
            id.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{name}: {id}"
        );
        if let Some(other) = seen.insert(id.clone(), name.clone()) {
            twice.push(format!("{id} names both {other} and {name}"));
        }
    }
    assert!(twice.is_empty(), "{twice:#?}");
}

#[test]
fn free_form_objects_take_any_property_and_limits_are_the_servers() {
    let doc = doc();
    let me = &doc["components"]["schemas"]["UserView"]["properties"]["preferences"];
    assert_eq!(me["additionalProperties"], true, "{me}");
    for (name, op) in operations_of(&doc) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["name"] == "limit" {
                assert_eq!(
                    (&p["schema"]["minimum"], &p["schema"]["maximum"]),
                    (&serde_json::json!(1), &serde_json::json!(200)),
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn text_properties_have_examples_and_bytes_are_binary() {
    let doc = doc();
    let mut missing = Vec::new();
    for (schema, body) in doc["components"]["schemas"].as_object().unwrap() {
        for (name, prop) in body["properties"].as_object().into_iter().flatten() {
            let text = prop["type"] == "string"
                || prop["type"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t == "string"));
            if text && prop.get("example").is_none() && prop.get("enum").is_none() {
                missing.push(format!("{schema}.{name}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "text properties without an example: {missing:?}"
    );
    let put = &doc["paths"]["/v1/objects/{key}"]["put"];
    assert_eq!(
        put["requestBody"]["content"]["application/octet-stream"]["schema"],
        serde_json::json!({"type": "string", "format": "binary"})
    );
    let query: Vec<&str> = put["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in"] == "query")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(query, ["expires", "max", "type", "sig"]);
}

#[test]
fn enumerations_list_the_domains_values() {
    let doc = doc();
    let s = &doc["components"]["schemas"];
    assert_eq!(
        s["NotificationView"]["properties"]["urgency"]["enum"],
        serde_json::json!(["low", "normal", "high"])
    );
    assert_eq!(
        s["PaymentView"]["properties"]["status"]["enum"],
        serde_json::json!(["pending", "succeeded", "failed", "cancelled", "refunded"])
    );
    assert_eq!(
        s["UploadView"]["properties"]["status"]["enum"],
        serde_json::json!(["pending", "completed"])
    );
    assert_eq!(
        s["MessageView"]["properties"]["sender"]["$ref"],
        "#/components/schemas/PostAs"
    );
    // Session data values are any JSON, not only objects.
    let put = &doc["paths"]["/v1/content-sessions/{id}/data/{storage_key}"]["put"];
    assert_eq!(
        put["requestBody"]["content"]["application/json"]["schema"],
        serde_json::json!({})
    );
}

#[test]
fn optional_bodies_are_not_required() {
    let doc = doc();
    for (path, method) in [("/v1/content-sessions", "post"), ("/v1/me", "delete")] {
        let body = &doc["paths"][path][method]["requestBody"];
        assert!(body.is_object(), "{method} {path}");
        assert_ne!(body["required"], true, "{method} {path}");
    }
    assert_eq!(
        doc["paths"]["/v1/sessions"]["post"]["requestBody"]["required"],
        true
    );
}

#[test]
fn public_operations_say_so() {
    let doc = doc();
    for (name, op) in operations_of(&doc) {
        let security = op["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}"));
        assert!(
            security.is_empty()
                || security
                    .iter()
                    .all(|r| r.as_object().is_some_and(|r| !r.is_empty())),
            "{name}: {security:?}"
        );
    }
}

#[test]
fn every_operation_documents_the_errors_it_shares_with_others() {
    let doc = doc();
    for (name, op) in operations_of(&doc) {
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.contains_key("500"), "{name} lacks 500");
        if op["tags"][0] != "operations" {
            assert!(responses.contains_key("503"), "{name} lacks 503");
        }
        let signed_in = op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
        if signed_in {
            assert!(responses.contains_key("401"), "{name} lacks 401");
        }
        if op.get("requestBody").is_some() {
            assert!(responses.contains_key("400"), "{name} lacks 400");
        }
    }
}

/// Request bodies are strict: every JSON object a client sends is declared
/// with `additionalProperties: false` (the server refuses unknown fields
/// with a 422 naming them), except a provider's webhook events, whose
/// senders add fields, content-session data, which is free-form JSON, and
/// a settings change, whose keys are the deployment's catalog (its
/// `features.*` come from its configuration; the server refuses a key
/// outside it with a 422 naming it).
#[test]
fn every_request_body_refuses_unknown_fields() {
    let doc = doc();
    let schemas = &doc["components"]["schemas"];
    let resolve = |s: &Value| -> Vec<(String, Value)> {
        let mut refs = Vec::new();
        let mut todo = vec![s.clone()];
        while let Some(s) = todo.pop() {
            if let Some(r) = s["$ref"].as_str() {
                let name = r.rsplit('/').next().unwrap().to_owned();
                refs.push((name.clone(), schemas[&name].clone()));
            }
            if let Some(alts) = s["oneOf"].as_array() {
                todo.extend(alts.iter().cloned());
            }
        }
        refs
    };
    let mut checked = 0;
    for (name, op) in operations_of(&doc) {
        let Some(body) = op["requestBody"]["content"]["application/json"]["schema"].as_object()
        else {
            continue;
        };
        if name.contains("/webhooks/") || name.contains("/data/") || name == "patch /v1/settings" {
            continue;
        }
        let refs = resolve(&Value::Object(body.clone()));
        assert!(!refs.is_empty(), "{name}: an inline body schema");
        for (schema, s) in refs {
            assert_eq!(
                s["additionalProperties"],
                Value::Bool(false),
                "{name}: {schema} takes unknown fields"
            );
            checked += 1;
        }
    }
    assert!(checked > 25, "{checked}");
}
