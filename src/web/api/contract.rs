//! The OpenAPI document as served: what utoipa derives from the handlers, completed with what the
//! server does around them, so that a client generated from `/api/openapi.json` meets no answer
//! the document does not describe.
//!
//! The handlers' annotations say what each operation does on success and which errors it raises
//! itself. Around every handler the server also: answers errors as `application/problem+json`;
//! refuses NUL or invalid UTF-8 in any text with 400 (`web::input`); asks for credentials (401) and
//! a CSRF token or a role (403); answers 404 for a path id that names nothing; 413 and 415 for a
//! body too large or not JSON; 429 while a login is throttled; 503 with `Retry-After` while
//! PostgreSQL is away. [`apply`] writes those into every operation they apply to, and the bounds
//! the validators enforce (`limit`, names, labels, steps) into the parameters and bodies, from the
//! same constants the validators use ([`crate::domain::names`]).

use serde_json::{json, Map, Value};
use utoipa::openapi::OpenApi;

use crate::domain::names::{
    CLUSTER_NAME_PATTERN, LABEL_FILTER_PATTERN, LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN, MAX_LABELS,
    MAX_PASSWORD_CHARS, MAX_TOKEN_NAME_CHARS, MIN_PASSWORD_CHARS, TOKEN_NAME_PATTERN, USERNAME_PATTERN,
};
use crate::domain::{Area, Severity, Status};
use crate::registry::exceptions::{MAX_FIELD_CHARS, MAX_JUSTIFICATION_CHARS};

/// HTTP methods an OpenAPI path item can hold operations for.
const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Reads that only admins may make (the others are open to every role).
const PRIVILEGED_READS: [&str; 3] = ["list_users", "list_audit", "list_tokens"];

/// Operations throttled after repeated failures (429 with `Retry-After`).
const THROTTLED: [&str; 2] = ["login", "change_password"];

/// A string without NUL, which PostgreSQL cannot store and the input guard refuses.
pub const NUL_FREE_PATTERN: &str = "^[^\\x00]*$";

/// One word, spaces around it allowed (an RBAC verb or resource).
pub const ONE_WORD_PATTERN: &str = "^[ \\t]*\\S+[ \\t]*$";

/// A crontab line: five fields.
pub const CRON_PATTERN: &str = "^ *\\S+( +\\S+){4} *$";

/// A trend step: a count and a unit (`30m`, `6h`, `1d`, `2w`); empty for the default.
pub const STEP_PATTERN: &str = "^([1-9][0-9]{0,5}(m|h|d|w))?$";

/// The served document, as JSON.
pub fn apply(doc: &OpenApi) -> Value {
    let mut v = serde_json::to_value(doc).expect("the OpenAPI document serialises");
    if let Some(paths) = v.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for method in METHODS {
                if let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) {
                    complete_operation(method, op);
                }
            }
        }
    }
    let bodies = request_body_schemas(&v);
    if let Some(schemas) = v.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        constrain_bodies(schemas);
        close_bodies(schemas, bodies);
        for schema in schemas.values_mut() {
            forbid_nul(schema);
        }
    }
    v
}

/// The methods a documented path template answers, upper case, for a request path (`None` when
/// no template matches). Where several templates match (`/scans/latest` and `/scans/{id}`), the
/// one with the most literal segments wins, as in the router.
pub fn allowed_methods(doc: &Value, path: &str) -> Option<Vec<String>> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let paths = doc.get("paths")?.as_object()?;
    let mut best: Option<(usize, &Map<String, Value>)> = None;
    for (template, item) in paths {
        let parts: Vec<&str> = template.split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let mut literal = 0;
        let matches = parts.iter().zip(&segments).all(|(t, s)| {
            if t.starts_with('{') && t.ends_with('}') {
                !s.is_empty()
            } else {
                literal += 1;
                t == s
            }
        });
        if matches && best.is_none_or(|(n, _)| literal > n) {
            best = item.as_object().map(|o| (literal, o));
        }
    }
    let (_, item) = best?;
    Some(METHODS.iter().filter(|m| item.contains_key(**m)).map(|m| m.to_uppercase()).collect())
}

const PROBLEM_REF: &str = "#/components/schemas/Problem";

fn problem() -> Value {
    json!({"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}})
}

fn retry_after() -> Value {
    json!({"Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 0}
    }})
}

fn complete_operation(method: &str, op: &mut Map<String, Value>) {
    let id = op.get("operationId").and_then(Value::as_str).unwrap_or_default().to_string();
    let public = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|reqs| reqs.iter().any(|r| r.as_object().is_some_and(Map::is_empty)));
    let has_body = op.contains_key("requestBody");
    let mut has_path_params = false;
    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in params {
            has_path_params |= p.get("in").and_then(Value::as_str) == Some("path");
            let name = p.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
            if let Some(schema) = p.get_mut("schema") {
                constrain_param(&name, schema);
            }
        }
    }
    let write = method != "get";
    let responses = op.entry("responses").or_insert_with(|| json!({}));
    let Some(responses) = responses.as_object_mut() else { return };
    let mut add = |code: &str, description: &str| {
        responses.entry(code.to_string()).or_insert_with(|| json!({"description": description}));
    };
    add("400", "The request is not valid: a parameter or the body breaks its rules, or text holds NUL or invalid UTF-8");
    if !public {
        add("401", "No valid credentials: send `Authorization: Bearer <token>` or log in");
        if write || PRIVILEGED_READS.contains(&id.as_str()) {
            add(
                "403",
                "The caller's role does not allow this, or a session's request lacks its X-CSRF-Token",
            );
        }
    }
    if has_path_params {
        add("404", "Nothing has that id or name");
    }
    if has_body {
        add("413", "The body is larger than the server's limit");
        add("415", "The body is not application/json");
    }
    if THROTTLED.contains(&id.as_str()) {
        add("429", "Too many failed attempts: wait for Retry-After seconds");
    }
    if id != "healthz" {
        add("503", "The database is unavailable: retry after Retry-After seconds");
    }
    for (code, response) in responses.iter_mut() {
        if code.as_str() < "400" {
            continue;
        }
        let Some(response) = response.as_object_mut() else { continue };
        // A handler's own error body (readiness' 503 is a `Readiness`) stays as declared.
        let own_body = response.get("content").and_then(Value::as_object).is_some_and(|c| {
            c.values().any(|m| m.pointer("/schema/$ref").and_then(Value::as_str) != Some(PROBLEM_REF))
        });
        if own_body {
            continue;
        }
        response.insert("content".into(), problem());
        if code == "429" || code == "503" {
            response.insert("headers".into(), retry_after());
        }
    }
}

fn enum_of(values: impl IntoIterator<Item = &'static str>) -> Value {
    Value::Array(values.into_iter().map(Value::from).collect())
}

/// Bounds of query and path parameters, by name (the same name means the same rule everywhere).
fn constrain_param(name: &str, schema: &mut Value) {
    let Some(s) = schema.as_object_mut() else { return };
    let set_string = |s: &mut Map<String, Value>, key: &str, value: Value| {
        s.insert(key.into(), value);
    };
    match name {
        "limit" => {
            s.insert("minimum".into(), json!(1));
            s.insert("maximum".into(), json!(super::MAX_LIMIT));
            s.insert("default".into(), json!(50));
        }
        "area" => set_string(s, "enum", enum_of(Area::ALL.iter().map(|a| a.as_str()))),
        "severity" | "min_severity" => {
            set_string(s, "enum", enum_of(Severity::ALL.iter().map(|a| a.as_str())))
        }
        "status" if s.get("enum").is_none() => {
            set_string(s, "enum", enum_of(Status::ALL.iter().map(|a| a.as_str())))
        }
        "label" => set_string(s, "pattern", json!(LABEL_FILTER_PATTERN)),
        "step" => set_string(s, "pattern", json!(STEP_PATTERN)),
        "kind" => set_string(s, "enum", json!(["User", "Group", "ServiceAccount"])),
        "verb" | "resource" => set_string(s, "pattern", json!(ONE_WORD_PATTERN)),
        _ => {}
    }
    forbid_nul(schema);
}

/// A free string (no enum, pattern or format) gets the NUL-free pattern; walks nested schemas.
fn forbid_nul(schema: &mut Value) {
    let Some(s) = schema.as_object_mut() else { return };
    let is_string = match s.get("type") {
        Some(Value::String(t)) => t == "string",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
        _ => false,
    };
    // Formats other than `password` (uuid, date-time) admit no NUL by themselves.
    let free = s.get("format").is_none_or(|f| f == "password");
    if is_string && free && !s.contains_key("enum") && !s.contains_key("pattern") {
        s.insert("pattern".into(), json!(NUL_FREE_PATTERN));
    }
    for key in ["properties", "patternProperties"] {
        if let Some(props) = s.get_mut(key).and_then(Value::as_object_mut) {
            props.values_mut().for_each(forbid_nul);
        }
    }
    for key in ["items", "additionalProperties", "propertyNames", "not"] {
        if let Some(inner) = s.get_mut(key) {
            forbid_nul(inner);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(list) = s.get_mut(key).and_then(Value::as_array_mut) {
            list.iter_mut().for_each(forbid_nul);
        }
    }
}

fn labels_schema() -> Value {
    json!({
        "type": "object",
        "maxProperties": MAX_LABELS,
        "propertyNames": {"pattern": LABEL_KEY_PATTERN},
        "additionalProperties": {"type": "string", "pattern": LABEL_VALUE_PATTERN},
    })
}

/// `schema`, also allowing `null`.
fn nullable(mut schema: Value) -> Value {
    if let Some(Value::String(t)) = schema.get("type").cloned() {
        schema["type"] = json!([t, "null"]);
    }
    schema
}

/// The component schemas request bodies name.
fn request_body_schemas(doc: &Value) -> Vec<String> {
    let mut names = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else { return names };
    for item in paths.values() {
        for method in METHODS {
            let content = item.pointer(&format!("/{method}/requestBody/content"));
            for media in content.and_then(Value::as_object).into_iter().flat_map(|c| c.values()) {
                if let Some(r) = media.pointer("/schema/$ref").and_then(Value::as_str) {
                    names.push(r.trim_start_matches("#/components/schemas/").to_string());
                }
            }
        }
    }
    names
}

/// Request bodies refuse fields they do not know (`deny_unknown_fields`), so their schemas and
/// those of their object-valued properties say `additionalProperties: false`.
fn close_bodies(schemas: &mut Map<String, Value>, mut pending: Vec<String>) {
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(schema) = schemas.get_mut(&name).and_then(Value::as_object_mut) else { continue };
        if schema.get("type").and_then(Value::as_str) != Some("object") {
            continue;
        }
        schema.insert("additionalProperties".into(), Value::Bool(false));
        for prop in schema.get("properties").and_then(Value::as_object).into_iter().flat_map(|p| p.values()) {
            let refs = [prop.pointer("/$ref"), prop.pointer("/allOf/0/$ref")];
            for r in refs.into_iter().flatten().filter_map(Value::as_str) {
                pending.push(r.trim_start_matches("#/components/schemas/").to_string());
            }
        }
    }
}

/// The rules of request bodies' fields, by schema and property.
fn constrain_bodies(schemas: &mut Map<String, Value>) {
    let name = json!({"type": "string", "pattern": CLUSTER_NAME_PATTERN});
    let nullable_name = json!({"type": ["string", "null"], "pattern": CLUSTER_NAME_PATTERN});
    let username = json!({"type": "string", "pattern": USERNAME_PATTERN});
    let password =
        json!({"type": "string", "minLength": MIN_PASSWORD_CHARS, "maxLength": MAX_PASSWORD_CHARS});
    let nullable_password = json!({
        "type": ["string", "null"], "minLength": MIN_PASSWORD_CHARS, "maxLength": MAX_PASSWORD_CHARS
    });
    let rules = [
        ("RegisterCluster", "name", name.clone()),
        ("RegisterCluster", "group", nullable_name.clone()),
        ("RegisterCluster", "labels", labels_schema()),
        ("UpdateCluster", "name", nullable_name.clone()),
        ("UpdateCluster", "group", nullable_name),
        ("UpdateCluster", "labels", nullable(labels_schema())),
        ("CreateUser", "username", username),
        ("CreateUser", "password", password.clone()),
        ("UpdateUser", "password", nullable_password),
        ("ChangePassword", "new_password", password),
        ("ScheduleBody", "interval_seconds", json!({"minimum": 1, "maximum": i32::MAX})),
        ("ScheduleBody", "cron", json!({"pattern": CRON_PATTERN})),
        ("ScopeBody", "group", json!({"pattern": CLUSTER_NAME_PATTERN})),
        ("CreateException", "justification", printable(MAX_JUSTIFICATION_CHARS)),
        ("CreateException", "owner", nullable(printable(MAX_FIELD_CHARS))),
        ("CreateException", "namespace", nullable(no_spaces())),
        ("CreateException", "resource", nullable(no_spaces())),
        ("UpdateException", "justification", nullable(printable(MAX_JUSTIFICATION_CHARS))),
        ("UpdateException", "owner", nullable(printable(MAX_FIELD_CHARS))),
        ("UpdateException", "namespace", nullable(no_spaces())),
        ("UpdateException", "resource", nullable(no_spaces())),
        (
            "CreateToken",
            "name",
            json!({"minLength": 1, "maxLength": MAX_TOKEN_NAME_CHARS, "pattern": TOKEN_NAME_PATTERN}),
        ),
    ];
    for (schema, property, rule) in rules {
        if let Some(p) =
            schemas.get_mut(schema).and_then(|s| s.pointer_mut(&format!("/properties/{property}")))
        {
            merge(p, rule);
        }
    }
}

/// A printable text, not only spaces, of at most `max` characters.
fn printable(max: usize) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": TOKEN_NAME_PATTERN})
}

/// A namespace or resource glob: no spaces or control characters.
fn no_spaces() -> Value {
    json!({"type": "string", "pattern": format!("^[^\\s\\x00-\\x1f\\x7f-\\x9f]{{1,{MAX_FIELD_CHARS}}}$")})
}

/// Overlay `rule`'s keys on `target` (a property schema), keeping its description.
fn merge(target: &mut Value, rule: Value) {
    if let (Some(t), Value::Object(r)) = (target.as_object_mut(), rule) {
        for (k, v) in r {
            t.insert(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        apply(&<super::super::ApiDoc as utoipa::OpenApi>::openapi())
    }

    #[test]
    fn every_error_answer_is_problem_json_and_503_says_when_to_retry() {
        let doc = doc();
        let mut errors = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for (code, response) in op["responses"].as_object().unwrap() {
                    if code.as_str() >= "400" && op["operationId"] != "readyz" {
                        errors += 1;
                        assert!(
                            response["content"].get("application/problem+json").is_some(),
                            "{method} {path} {code}"
                        );
                    }
                }
                if op["operationId"] != "healthz" && op["operationId"] != "readyz" {
                    assert!(op["responses"]["503"]["headers"]["Retry-After"].is_object(), "{method} {path}");
                }
            }
        }
        assert!(errors > 100, "{errors}");
    }

    #[test]
    fn public_operations_have_no_401_and_writes_have_403() {
        let doc = doc();
        let login = &doc["paths"]["/api/v1/auth/login"]["post"]["responses"];
        assert_ne!(
            login["401"]["description"],
            "No valid credentials: send `Authorization: Bearer <token>` or log in"
        );
        assert!(login.get("429").is_some());
        let delete = &doc["paths"]["/api/v1/clusters/{id}"]["delete"]["responses"];
        for code in ["401", "403", "404", "503"] {
            assert!(delete.get(code).is_some(), "{code}");
        }
        assert!(doc["paths"]["/healthz"]["get"]["responses"].get("503").is_none());
    }

    #[test]
    fn limit_is_bounded_as_page_limit_is() {
        let doc = doc();
        let params = doc["paths"]["/api/v1/clusters"]["get"]["parameters"].as_array().unwrap();
        let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
        assert_eq!(limit["schema"]["minimum"], 1);
        assert_eq!(limit["schema"]["maximum"], super::super::MAX_LIMIT);
        assert!(super::super::page_limit(Some(0)).is_err());
        assert!(super::super::page_limit(Some(super::super::MAX_LIMIT)).is_ok());
        assert!(super::super::page_limit(Some(super::super::MAX_LIMIT + 1)).is_err());
    }

    #[test]
    fn allowed_methods_prefer_the_most_literal_template() {
        let doc = json!({"paths": {
            "/api/v1/scans/{id}": {"get": {}, "delete": {}},
            "/api/v1/scans/latest": {"get": {}},
            "/api/v1/clusters": {"get": {}, "post": {}},
        }});
        assert_eq!(allowed_methods(&doc, "/api/v1/scans/latest"), Some(vec!["GET".to_string()]));
        assert_eq!(allowed_methods(&doc, "/api/v1/scans/abc"), Some(vec!["GET".into(), "DELETE".into()]));
        assert_eq!(allowed_methods(&doc, "/api/v1/clusters/"), Some(vec!["GET".into(), "POST".into()]));
        assert_eq!(allowed_methods(&doc, "/api/v1/nothing"), None);
    }

    #[test]
    fn free_strings_refuse_nul_and_named_ones_keep_their_pattern() {
        let mut s = json!({"type": "object", "properties": {
            "a": {"type": "string"},
            "b": {"type": "string", "format": "uuid"},
            "c": {"type": "array", "items": {"type": ["string", "null"]}},
        }});
        forbid_nul(&mut s);
        assert_eq!(s["properties"]["a"]["pattern"], NUL_FREE_PATTERN);
        assert!(s["properties"]["b"].get("pattern").is_none());
        assert_eq!(s["properties"]["c"]["items"]["pattern"], NUL_FREE_PATTERN);
    }
}
