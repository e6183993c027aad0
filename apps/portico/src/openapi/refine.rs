//! What the derive macros cannot say, fixed on the JSON form of the
//! document, and the examples of property values.

/// What the derive macros cannot say, fixed on the JSON form: objects
/// without declared properties (preferences, session data, response data,
/// the export's free parts) take any properties, the `limit` of every list
/// is 1–200, 50 when absent, as the server enforces, byte bodies are
/// binary, and properties get [`EXAMPLES`].
pub(super) fn refine(api: utoipa::openapi::OpenApi) -> serde_json::Value {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                let free = map.get("type").is_some_and(|t| {
                    t == "object"
                        || t.as_array()
                            .is_some_and(|a| a.iter().any(|t| t == "object"))
                }) && !map.contains_key("properties")
                    && !map.contains_key("additionalProperties");
                if free {
                    map.insert("additionalProperties".into(), serde_json::Value::Bool(true));
                }
                let is_limit = map.get("name").is_some_and(|n| n == "limit")
                    && map.get("in").is_some_and(|i| i == "query");
                if is_limit
                    && let Some(schema) = map.get_mut("schema").and_then(|s| s.as_object_mut())
                {
                    schema.insert("minimum".into(), 1.into());
                    schema.insert("maximum".into(), 200.into());
                    schema.insert("default".into(), 50.into());
                }
                // A stream of Server-Sent Events, as a client parses it: a
                // list of events, each a notification or the last one.
                if let Some(media) = map
                    .get_mut("text/event-stream")
                    .and_then(|m| m.as_object_mut())
                {
                    media.insert("schema".into(), event_stream_schema());
                }
                // utoipa writes `Vec<u8>` bodies as arrays of integers; they are bytes.
                if let Some(media) = map
                    .get_mut("application/octet-stream")
                    .and_then(|m| m.as_object_mut())
                {
                    media.insert(
                        "schema".into(),
                        serde_json::json!({"type": "string", "format": "binary"}),
                    );
                }
                map.values_mut().for_each(walk);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let mut json = serde_json::to_value(&api).expect("the document serializes");
    walk(&mut json);
    add_examples(&mut json);
    json
}

/// The events of `GET /v1/notifications/stream` as a client parses them
/// (each `event:`, `id:` and `data:`): `notification` events whose data is
/// a notification as JSON, and the last event, `end`, whose data says why.
fn event_stream_schema() -> serde_json::Value {
    serde_json::json!({
        "type": "array",
        "description": "The stream's events, in order. `notification`: `id` is the notification's id \
            and `data` the notification as JSON (NotificationView). `end`: the session no longer \
            authenticates (signed out, revoked, locked, deleted); `data` is \
            {\"reason\": \"session-ended\"} and the stream closes. Comment lines (`: keep-alive`) \
            carry no event.",
        "items": {
            "oneOf": [
                {
                    "type": "object",
                    "properties": {
                        "event": {"const": "notification"},
                        "id": {"type": "string", "format": "uuid"},
                        "data": {
                            "type": "string",
                            "contentMediaType": "application/json",
                            "contentSchema": {"$ref": "#/components/schemas/NotificationView"}
                        }
                    },
                    "required": ["event", "id", "data"]
                },
                {
                    "type": "object",
                    "properties": {
                        "event": {"const": "end"},
                        "data": {
                            "type": "string",
                            "contentMediaType": "application/json",
                            "contentSchema": {
                                "type": "object",
                                "properties": {"reason": {"const": "session-ended"}},
                                "required": ["reason"]
                            }
                        }
                    },
                    "required": ["event", "data"]
                }
            ]
        }
    })
}

/// Examples of property values, by `Schema.property` or by property name
/// alone, so that Swagger UI and generated docs show real-looking bodies
/// rather than `"string"`. A unit test requires one for every text property.
const EXAMPLES: &[(&str, &str)] = &[
    // Specific to one schema.
    ("ContentSessionView.name", "Trip to Lisbon"),
    ("CreateContentSession.name", "Trip to Lisbon"),
    ("RenameContentSession.name", "Lisbon, May"),
    ("CreateRoleBody.name", "support"),
    ("RoleView.name", "support"),
    (
        "CreateRoleBody.description",
        "Reads users and unlocks accounts",
    ),
    ("RoleView.description", "Reads users and unlocks accounts"),
    (
        "UpdateRoleBody.description",
        "Reads users and unlocks accounts",
    ),
    ("CreatePayment.description", "Annual plan"),
    ("PaymentView.description", "Annual plan"),
    ("CreateNotification.type", "task_done"),
    ("NotificationView.type", "task_done"),
    ("ProblemBody.type", "urn:portico:problem:validation"),
    ("ProblemBody.title", "Invalid request"),
    ("ProblemBody.detail", "Some fields are not valid."),
    ("MessageView.content", "What should I pack for three days?"),
    ("PostMessage.content", "What should I pack for three days?"),
    ("CreateUpload.object_key", "avatars/me.png"),
    (
        "UploadView.object_key",
        "users/0193a4f2-7c1e-7b3a-9d2f-5e8c1a2b3c4d/avatars/me.png",
    ),
    ("MfaSignInBody.code", "492039"),
    ("EmailVerifyBody.code", "492039"),
    (
        "EmailVerifyBody.token",
        "3c0f9a6d2b8e4f1a7c5d9e0b6a3f8c2d1e4b7a9c0d5f2e8b6a1c3d7f9e0b4a2c.aa4b1c831e7c76405284d494fb342d23ffff8de4a52ee62d819490b5b01eca4d",
    ),
    (
        "flow_id",
        "3c0f9a6d2b8e4f1a7c5d9e0b6a3f8c2d1e4b7a9c0d5f2e8b6a1c3d7f9e0b4a2c",
    ),
    ("PasswordAndCodeBody.code", "492039"),
    ("ExchangeBody.code", "5f2b9c0e8a7d4c1b9e3f6a2d8c4b7e1f"),
    ("MfaExportView.kind", "totp"),
    (
        "Download.url",
        "https://api.example.org/v1/objects/users/0193a4f2-7c1e-7b3a-9d2f-5e8c1a2b3c4d/avatars/me.png?expires=1796122800&sig=2f1c…",
    ),
    ("ProviderLinkView.subject", "108234567890123456789"),
    // By property name.
    ("access_token", "pat_8Jc2kq0vYxR7mZt3LwN5bH1dG6sF4aE9"),
    ("refresh_token", "prt_Q3nV7xK1cM9zT5rB2wY8hL6jD4gF0sA1"),
    ("csrf_token", "c4f1e2d3b5a69788a1b2c3d4e5f60718"),
    ("mfa_token", "mfa_Z2b7Kx9qT4mV1cR8nL3wY6hJ5dG0sF2a"),
    (
        "token",
        "aa4b1c831e7c76405284d494fb342d23ffff8de4a52ee62d819490b5b01eca4d",
    ),
    ("backup_code", "k7q2-m9x4"),
    (
        "otpauth_uri",
        "otpauth://totp/Portico:ada%40example.org?secret=JBSWY3DPEHPK3PXP&issuer=Portico",
    ),
    (
        "authorize_url",
        "https://accounts.example.com/authorize?response_type=code&client_id=portico&state=…",
    ),
    ("email", "ada@example.org"),
    ("login", "ada@example.org"),
    ("username", "ada"),
    ("password", "correct horse battery staple"),
    ("current_password", "correct horse battery staple"),
    ("new_password", "a new passphrase of mine"),
    ("full_name", "Ada Lovelace"),
    ("bio", "Writes about engines."),
    ("avatar", "https://cdn.example.org/avatars/ada.png"),
    ("website", "https://ada.example.org"),
    ("location", "London"),
    ("image", "https://cdn.example.org/tasks/42.png"),
    ("toast_message", "Your export is ready"),
    ("task_id", "export-42"),
    ("currency", "EUR"),
    ("content_type", "image/png"),
    ("provider", "google"),
    ("device", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"),
    ("ip", "203.0.113.7"),
    (
        "next_cursor",
        "MDE5M2E0ZjItN2MxZS03YjNhLTlkMmYtNWU4YzFhMmIzYzRk",
    ),
];

/// Fills in [`EXAMPLES`], and for identifiers and times without one a
/// fixed UUID or timestamp, on every text property of the component schemas.
fn add_examples(json: &mut serde_json::Value) {
    let Some(schemas) = json
        .pointer_mut("/components/schemas")
        .and_then(|s| s.as_object_mut())
    else {
        return;
    };
    for (schema, body) in schemas.iter_mut() {
        let Some(props) = body.get_mut("properties").and_then(|p| p.as_object_mut()) else {
            continue;
        };
        for (name, prop) in props.iter_mut() {
            let Some(prop) = prop.as_object_mut() else {
                continue;
            };
            let text = prop.get("type").is_some_and(|t| {
                t == "string"
                    || t.as_array()
                        .is_some_and(|a| a.iter().any(|t| t == "string"))
            });
            if !text || prop.contains_key("example") {
                continue;
            }
            let qualified = format!("{schema}.{name}");
            let example = EXAMPLES
                .iter()
                .find(|(k, _)| *k == qualified)
                .or_else(|| EXAMPLES.iter().find(|(k, _)| k == name))
                .map(|(_, v)| serde_json::Value::from(*v))
                .or_else(|| match prop.get("format").and_then(|f| f.as_str()) {
                    Some("uuid") => Some("0193a4f2-7c1e-7b3a-9d2f-5e8c1a2b3c4d".into()),
                    Some("date-time") => Some("2026-12-01T09:30:00Z".into()),
                    _ => None,
                });
            if let Some(example) = example {
                prop.insert("example".into(), example);
            }
        }
    }
}
