//! Error policy for the HTTP API: every error is `application/problem+json` (RFC 9457) with a
//! `detail` a person can act on. A 500 logs the whole cause chain server-side and tells the client
//! only that something failed; no error ever echoes a secret.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::registry::RegistryError;
use crate::store::StoreError;

/// An API error, mapped to a status code and a problem document.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required: send `Authorization: Bearer <token>` or log in")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A documented path asked with a method it does not answer; holds the methods it does.
    #[error("this path answers {}", .0.join(", "))]
    MethodNotAllowed(Vec<String>),
    #[error("the request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("too many failed logins or password checks; try again in {0} seconds")]
    TooManyRequests(u64),
    #[error("the database is unavailable; try again shortly")]
    Unavailable,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The problem document (RFC 9457).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
}

impl ApiError {
    fn slug(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict(_) => "conflict",
            ApiError::MethodNotAllowed(_) => "method-not-allowed",
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::TooManyRequests(_) => "too-many-requests",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// A 403 saying which role is needed.
    pub fn needs_role(role: crate::domain::Role) -> ApiError {
        ApiError::Forbidden(format!("this action needs the `{role}` role"))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let ApiError::Internal(err) = self {
            // `{:#}` prints the whole cause chain on one line.
            tracing::error!(error = %format_args!("{err:#}"), "request failed");
        }
        let problem = Problem {
            kind: format!("https://palisade.dev/problems/{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: self.to_string(),
        };
        let mut resp = HttpResponse::build(status);
        resp.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        match self {
            ApiError::Unauthenticated => {
                resp.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"palisade\""));
            }
            ApiError::TooManyRequests(secs) => {
                resp.insert_header((header::RETRY_AFTER, secs.to_string()));
            }
            ApiError::Unavailable => {
                resp.insert_header((header::RETRY_AFTER, "5"));
            }
            ApiError::MethodNotAllowed(methods) => {
                resp.insert_header((header::ALLOW, methods.join(", ")));
            }
            _ => {}
        }
        resp.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}

/// The one mapping of the store's error to HTTP: "PostgreSQL is away" answers 503 so clients
/// retry; data that is not there or does not fit answers 404 or 409 with the store's words; any
/// other failure is a 500 whose cause chain is logged, never sent.
impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            e if e.is_unavailable() => {
                tracing::warn!(error = %format_args!("{:#}", anyhow::Error::from(e)), "database unavailable");
                ApiError::Unavailable
            }
            StoreError::NotFound(m) => ApiError::NotFound(m),
            StoreError::Conflict(m) | StoreError::Gone(m) => ApiError::Conflict(m),
            other => ApiError::Internal(other.into()),
        }
    }
}

/// The registry's failures: a refused schedule is the caller's mistake, a store error maps as above.
impl From<RegistryError> for ApiError {
    fn from(err: RegistryError) -> Self {
        match err {
            RegistryError::Store(e) => e.into(),
            RegistryError::ClusterGone(id) => ApiError::NotFound(format!("no cluster with id {id}")),
            RegistryError::Schedule(e) => ApiError::BadRequest(e.to_string()),
            RegistryError::Egress(e) => ApiError::BadRequest(e.to_string()),
            e @ RegistryError::SkipVerifyNeedsAdmin => ApiError::Forbidden(e.to_string()),
            RegistryError::Invalid(m) => ApiError::BadRequest(m),
            RegistryError::NotFound(m) => ApiError::NotFound(m),
            RegistryError::Forbidden(m) => ApiError::Forbidden(m),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        ApiError::Internal(err)
    }
}

/// JSON body errors: too large, wrong content type, or not the expected shape (serde's message
/// carries our validation text, e.g. "invalid cluster name …").
pub fn json_error(err: actix_web::error::JsonPayloadError, limit: usize) -> ApiError {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::Overflow { .. } | E::OverflowKnownLength { .. } => ApiError::PayloadTooLarge(limit),
        E::ContentType => ApiError::UnsupportedMediaType("send the body as application/json".into()),
        E::Deserialize(e) => ApiError::BadRequest(format!("the request body is not valid: {e}")),
        other => ApiError::BadRequest(format!("cannot read the request body: {other}")),
    }
}

/// Query string errors.
pub fn query_error(err: actix_web::error::QueryPayloadError) -> ApiError {
    ApiError::BadRequest(format!("invalid query parameters: {err}"))
}

/// Path parameter errors (e.g. an id that is not a UUID).
pub fn path_error(err: actix_web::error::PathError) -> ApiError {
    ApiError::BadRequest(format!("invalid path parameter: {err}"))
}
