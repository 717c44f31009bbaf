//! The OpenAPI document is the contract (issue 17): it is committed (`docs/openapi.json`) and the
//! served one must equal it, so every change to the contract shows in review; errors are
//! problem+json as documented; undeclared methods answer 405 with `Allow`; security headers.
//!
//! After a deliberate change to the API, regenerate the committed document with
//! `PALISADE_UPDATE_OPENAPI=1 cargo test --test it -- api_contract::the_served_document`.

use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app};

/// The document without what changes on every build (the version carries the build tag).
fn comparable(mut doc: Value) -> Value {
    if let Some(info) = doc.get_mut("info").and_then(Value::as_object_mut) {
        info.remove("version");
    }
    doc
}

#[tokio::test]
async fn the_served_document_equals_the_committed_one() {
    let app = spawn_app().await;
    let served: Value = reqwest::get(app.url("/api/openapi.json")).await.unwrap().json().await.unwrap();
    let served = comparable(served);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json");
    if std::env::var_os("PALISADE_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&served).unwrap() + "\n").unwrap();
    }
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_default()).unwrap_or(Value::Null);
    assert!(
        served == committed,
        "the served OpenAPI document differs from docs/openapi.json; if the change is meant, regenerate it \
         with PALISADE_UPDATE_OPENAPI=1 cargo test --test it -- api_contract::the_served_document"
    );
}

#[tokio::test]
async fn every_documented_error_is_problem_json_and_shared_statuses_are_declared() {
    let app = spawn_app().await;
    let doc: Value = reqwest::get(app.url("/api/openapi.json")).await.unwrap().json().await.unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for (code, r) in responses {
                if code.as_str() >= "400" && path != "/readyz" {
                    assert!(r["content"]["application/problem+json"].is_object(), "{method} {path} {code}");
                }
            }
            let public =
                op["security"].as_array().is_some_and(|s| s.iter().any(|r| r == &serde_json::json!({})));
            if !public {
                assert!(responses.contains_key("401"), "{method} {path} lacks 401");
            }
            if method != "get" && !public {
                assert!(responses.contains_key("403"), "{method} {path} lacks 403");
            }
            if op.get("requestBody").is_some() {
                assert!(responses.contains_key("413") && responses.contains_key("415"), "{method} {path}");
            }
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{method} {path} lacks 404");
            }
        }
    }
    // What the server answers matches: a list with limit=0 is a documented 400 with problem+json.
    let params = doc["paths"]["/api/v1/clusters"]["get"]["parameters"].as_array().unwrap();
    let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!(limit["schema"]["minimum"], 1);
    let resp = app.admin.get(app.url("/api/v1/clusters?limit=0")).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    assert_problem(resp, 400).await;
    // A body that is not JSON is a 415, one too large a 413.
    let resp = app
        .admin
        .post(app.url("/api/v1/tokens"))
        .header("content-type", "text/plain")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 415).await;
}

#[tokio::test]
async fn an_undeclared_method_answers_405_with_allow() {
    let app = spawn_app().await;
    let resp = app.admin.put(app.url("/api/v1/clusters")).send().await.unwrap();
    assert_eq!(resp.headers()["allow"], "GET, POST");
    assert_problem(resp, 405).await;
    let id = uuid::Uuid::new_v4();
    let resp = app.admin.post(app.url(&format!("/api/v1/clusters/{id}"))).send().await.unwrap();
    let allow = resp.headers()["allow"].to_str().unwrap().to_string();
    assert!(allow.contains("GET") && allow.contains("DELETE") && !allow.contains("POST"), "{allow}");
    assert_problem(resp, 405).await;
    // Unknown API paths stay 404 problems; unknown pages a plain 404.
    let resp = app.admin.delete(app.url("/api/v1/nothing-here")).send().await.unwrap();
    assert_problem(resp, 404).await;
    let resp = reqwest::get(app.url("/no-such-page")).await.unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/login", "/healthz", "/api/v1/clusters", "/api/docs/", "/static/style.css"] {
        let resp = reqwest::get(app.url(path)).await.unwrap();
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
        // Plain HTTP: no HSTS (browsers ignore it there, and it would pin a test host).
        assert!(!h.contains_key("strict-transport-security"), "{path}");
    }
}
