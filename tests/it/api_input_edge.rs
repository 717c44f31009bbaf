//! Hostile input gets a 4xx, never a 5xx: every operation of the OpenAPI document (fetched from
//! the running server) is called as admin with NUL characters, invalid UTF-8, over-long strings
//! and out-of-range numbers in each path, query and body field it declares.

use serde_json::{json, Map, Value};

use crate::helpers::spawn_app;

/// The values tried in a field of type `kind` (`string`, `integer`, `number`), as JSON.
fn hostile(kind: &str) -> Vec<Value> {
    match kind {
        "integer" | "number" => {
            vec![json!(-1), json!(1e300), json!(9_223_372_036_854_775_807i64), json!(2_147_483_648i64)]
        }
        _ => vec![json!("ad\u{0}min"), json!("x".repeat(20_000)), json!("\u{0}")],
    }
}

/// The same values as they appear in a URL (invalid UTF-8 only exists there).
fn hostile_in_url(kind: &str) -> Vec<String> {
    match kind {
        "integer" | "number" => {
            vec!["-1".into(), "1e300".into(), "9223372036854775808".into(), "2147483648".into()]
        }
        _ => vec!["ad%00min".into(), "%FF%FE".into(), "x".repeat(5_000)],
    }
}

/// Follow a `$ref` into `components`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let mut at = doc;
            for part in r.trim_start_matches("#/").split('/') {
                at = &at[part];
            }
            resolve(doc, at)
        }
        None => schema,
    }
}

/// A schema's type name (the first non-null one of a list), looking through `oneOf`/`allOf`.
fn kind_of(doc: &Value, schema: &Value) -> String {
    let s = resolve(doc, schema);
    match &s["type"] {
        Value::String(t) => t.clone(),
        Value::Array(ts) => {
            ts.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("string").into()
        }
        _ => ["oneOf", "anyOf", "allOf"]
            .iter()
            .find_map(|k| s[k].as_array().and_then(|a| a.first()).map(|f| kind_of(doc, f)))
            .unwrap_or_else(|| "object".into()),
    }
}

/// Bodies to send: for each top-level field, one body per hostile value (other fields absent).
fn hostile_bodies(doc: &Value, schema: &Value) -> Vec<Value> {
    let s = resolve(doc, schema);
    let mut out = Vec::new();
    if let Some(props) = s["properties"].as_object() {
        for (name, prop) in props {
            let kind = kind_of(doc, prop);
            let values = match kind.as_str() {
                "object" => vec![json!({"k\u{0}": "v"}), json!({"k": "v\u{0}"})],
                "array" => vec![json!(["\u{0}"]), json!([1e300])],
                "boolean" => continue,
                k => hostile(k),
            };
            for v in values {
                let mut body = Map::new();
                // Other required strings get a plausible value so the hostile one is the reason.
                for (other, p) in props {
                    if other != name && kind_of(doc, p) == "string" {
                        body.insert(other.clone(), json!("plausible"));
                    }
                }
                body.insert(name.clone(), v);
                out.push(Value::Object(body));
            }
        }
    }
    out
}

#[tokio::test]
async fn no_operation_answers_5xx_to_nul_bad_utf8_long_strings_or_out_of_range_numbers() {
    let app = spawn_app().await;
    let cluster = app.register_cluster("edge", json!({})).await;
    let cluster_id = cluster["id"].as_str().unwrap().to_string();
    let doc: Value = reqwest::get(app.url("/api/openapi.json")).await.unwrap().json().await.unwrap();
    let mut failures = Vec::new();
    let mut sent = 0;
    let mut send = |method: &str, path: String, body: Option<Value>| {
        let req = app.admin.request(method.parse().unwrap(), app.url(&path));
        let req = match body {
            Some(b) => req.json(&b),
            None => req,
        };
        sent += 1;
        let method = method.to_string();
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().is_server_error()).then(|| format!("{method} {path} → {}", resp.status()))
        }
    };
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let params: Vec<&Value> =
                op["parameters"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
            // A path with every parameter valid: the cluster registered above, or a nil UUID.
            let mut valid = path.clone();
            for p in params.iter().filter(|p| p["in"] == "path") {
                let name = p["name"].as_str().unwrap();
                let value = if name.contains("cluster") || name == "id" {
                    cluster_id.clone()
                } else {
                    uuid::Uuid::nil().to_string()
                };
                valid = valid.replace(&format!("{{{name}}}"), &value);
            }
            let m = method.to_uppercase();
            for p in &params {
                let name = p["name"].as_str().unwrap();
                let kind = kind_of(&doc, &p["schema"]);
                for bad in hostile_in_url(&kind) {
                    let target = match p["in"].as_str() {
                        Some("path") => {
                            let mut t = path.clone();
                            for q in params.iter().filter(|q| q["in"] == "path") {
                                let qn = q["name"].as_str().unwrap();
                                let v = if qn == name { bad.clone() } else { uuid::Uuid::nil().to_string() };
                                t = t.replace(&format!("{{{qn}}}"), &v);
                            }
                            t
                        }
                        Some("query") => format!("{valid}?{name}={bad}"),
                        _ => continue,
                    };
                    if let Some(f) = send(&m, target, None).await {
                        failures.push(f);
                    }
                }
            }
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            if !schema.is_null() {
                for body in hostile_bodies(&doc, schema) {
                    if let Some(f) = send(&m, valid.clone(), Some(body)).await {
                        failures.push(f);
                    }
                }
            }
        }
    }
    assert!(sent > 100, "the document was walked: {sent} requests");
    assert!(
        failures.is_empty(),
        "{} of {sent} requests answered 5xx:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The case from the issue, by name.
    let resp = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "ad\u{0}min", "password": "x"}))
        .send()
        .await
        .unwrap();
    crate::helpers::assert_problem(resp, 400).await;
}
