//! The input edge: every piece of text a request carries (path, query string, JSON or form body)
//! reaches the handlers as valid UTF-8 without NUL characters, or the request is answered 400
//! before any handler runs. PostgreSQL cannot store NUL in `text`, so a NUL that got through
//! would surface as a 500 from whichever query met it first; checking once here covers every
//! endpoint, present and future.

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::web::Bytes;

use super::error::ApiError;

/// Why a piece of text cannot be accepted, or `None` when it can.
fn unstorable(bytes: &[u8]) -> Option<&'static str> {
    match std::str::from_utf8(bytes) {
        Err(_) => Some("is not valid UTF-8"),
        Ok(s) if s.contains('\0') => Some("contains a NUL character"),
        Ok(_) => None,
    }
}

/// Percent-decode a URL part (`+` is a space in query strings and forms) and check it.
fn check_encoded(part: &str, what: &str) -> Result<(), ApiError> {
    for piece in part.split(['&', '=']) {
        let decoded: Vec<u8> = percent_encoding::percent_decode_str(piece).collect();
        if let Some(why) = unstorable(&decoded) {
            return Err(ApiError::BadRequest(format!("the {what} {why}")));
        }
    }
    Ok(())
}

/// Every string and object key of a JSON document is free of NUL.
fn json_has_nul(v: &serde_json::Value) -> bool {
    use serde_json::Value as V;
    match v {
        V::String(s) => s.contains('\0'),
        V::Array(items) => items.iter().any(json_has_nul),
        V::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)),
        _ => false,
    }
}

/// Largest magnitude up to which every integer is exactly an `f64` (2^53).
const EXACT_F64_INTEGERS: f64 = 9_007_199_254_740_992.0;

/// Rewrite every number written with a zero fraction (`65535.0`, `1e3`) as the integer it
/// equals, as JSON Schema reads it (`type: integer` accepts `1.0`), so that integer fields take
/// it. Answers whether anything changed.
fn integral_numbers(v: &mut serde_json::Value) -> bool {
    use serde_json::Value as V;
    match v {
        V::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() <= EXACT_F64_INTEGERS => {
                *v = if f < 0.0 { V::from(f as i64) } else { V::from(f.abs() as u64) };
                true
            }
            _ => false,
        },
        V::Array(items) => items.iter_mut().fold(false, |changed, item| integral_numbers(item) | changed),
        V::Object(map) => map.values_mut().fold(false, |changed, item| integral_numbers(item) | changed),
        _ => false,
    }
}

pub(crate) fn check_body(content_type: &str, body: &Bytes) -> Result<(), ApiError> {
    checked_body(content_type, body).map(|_| ())
}

/// Check a body; answers the body to hand on when it had to be rewritten (integral numbers).
fn checked_body(content_type: &str, body: &Bytes) -> Result<Option<Bytes>, ApiError> {
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::BadRequest("the form is not valid UTF-8".into()))?;
        return check_encoded(text, "form").map(|_| None);
    }
    if let Some(why) = unstorable(body) {
        return Err(ApiError::BadRequest(format!("the request body {why}")));
    }
    // A body that is not JSON is left to the handler's extractor, which explains what is wrong.
    if content_type.contains("json") {
        if let Ok(mut doc) = serde_json::from_slice::<serde_json::Value>(body) {
            // Every JSON body this server reads is an object; serde would also fill a struct
            // from an array of its fields in order, which no schema here documents.
            if !doc.is_object() {
                return Err(ApiError::BadRequest("the request body must be a JSON object".into()));
            }
            if json_has_nul(&doc) {
                return Err(ApiError::BadRequest(
                    "a text field of the request body contains a NUL character".into(),
                ));
            }
            if integral_numbers(&mut doc) {
                let rewritten = serde_json::to_vec(&doc).map_err(|e| ApiError::Internal(e.into()))?;
                return Ok(Some(Bytes::from(rewritten)));
            }
        }
    }
    Ok(None)
}

/// Paths whose handler checks the body itself, after authenticating the caller: an agent's
/// ingest answers 401 before it says anything about what was sent.
const BODY_CHECKED_BY_HANDLER: &[&str] = &["/api/v1/ingest/node"];

/// Paths whose handler reads the body itself, with its own limit: a cluster agent's snapshot is
/// larger than the general body limit.
const BODY_READ_BY_HANDLER: &[&str] = &["/api/v1/ingest/cluster"];

/// Middleware: answer 400 to a request whose path, query string or textual body carries NUL or
/// invalid UTF-8. The body is read once (within the configured body limit, 413 beyond it) and
/// handed on to the handler unchanged.
pub async fn reject_unstorable_text(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    check_encoded(req.path(), "path")?;
    check_encoded(req.query_string(), "query string")?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let textual = content_type.contains("json")
        || content_type.starts_with("application/x-www-form-urlencoded")
        || content_type.starts_with("text/");
    if textual
        && matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
        && !BODY_READ_BY_HANDLER.contains(&req.path())
    {
        let body = match req.extract::<Bytes>().await {
            Ok(body) => body,
            // Answer an oversized body as the JSON extractor would: 413 as problem+json.
            Err(e)
                if e.as_response_error().status_code() == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE =>
            {
                let limit = req
                    .app_data::<actix_web::web::Data<super::AppState>>()
                    .map(|s| s.settings.server.body_limit_bytes)
                    .unwrap_or_default();
                return Err(ApiError::PayloadTooLarge(limit).into());
            }
            Err(e) => return Err(ApiError::BadRequest(format!("cannot read the request body: {e}")).into()),
        };
        let body = if BODY_CHECKED_BY_HANDLER.contains(&req.path()) {
            body
        } else {
            checked_body(&content_type, &body)?.unwrap_or(body)
        };
        req.set_payload(Payload::from(body));
        // The body handed on is decoded already (a gzip body was inflated as it was read).
        req.headers_mut().remove(header::CONTENT_ENCODING);
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_invalid_utf8_are_refused_wherever_they_are_encoded() {
        assert!(check_encoded("/api/v1/users/a%00b", "path").is_err());
        assert!(check_encoded("name=%FF%FE", "query string").is_err());
        assert!(check_encoded("limit=10&name=ok%20fine", "query string").is_ok());
        let json = |s: &str| check_body("application/json", &Bytes::from(s.to_string()));
        assert!(json(r#"{"username": "ad\u0000min"}"#).is_err());
        assert!(json(r#"{"a\u0000": 1}"#).is_err());
        assert!(json(r#"{"labels": {"k": ["x", "\u0000"]}}"#).is_err());
        // An escaped backslash followed by "u0000" is six ordinary characters.
        assert!(json(r#"{"username": "\\u0000"}"#).is_ok());
        assert!(json("[null, null]").is_err());
        assert!(json("3").is_err());
        assert!(check_body("application/json", &Bytes::from_static(b"{\"a\": \"\xff\"}")).is_err());
        assert!(check_body("application/x-www-form-urlencoded", &Bytes::from_static(b"u=a%00")).is_err());
    }

    #[test]
    fn numbers_with_a_zero_fraction_are_handed_on_as_integers() {
        let rewrite = |s: &str| checked_body("application/json", &Bytes::from(s.to_string())).unwrap();
        let body = rewrite(r#"{"ssh_port": 65535.0, "n": [1e3, -2.0, -0.0], "x": {"ratio": 0.5}}"#).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(doc, serde_json::json!({"ssh_port": 65535, "n": [1000, -2, 0], "x": {"ratio": 0.5}}));
        assert!(doc["ssh_port"].is_u64());
        // Nothing to rewrite: the body goes on as it came.
        assert!(rewrite(r#"{"ssh_port": 22, "ratio": 0.25}"#).is_none());
        // Beyond 2^53 a float is not an exact integer: left for the handler to refuse.
        assert!(rewrite(r#"{"n": 1e300}"#).is_none());
    }
}
