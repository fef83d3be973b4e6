//! TAXII 2.1 media types, content negotiation (TAXII 2.1 §1.6.8), the error message resource
//! (§3.6.1) and the JSON responses every endpoint answers with.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::rolie::Denied;

/// TAXII 2.1's media type (every response, and the body of Add Objects).
pub const TAXII: &str = "application/taxii+json;version=2.1";
/// STIX 2.1's media type (a collection's `media_types`, manifest records).
pub const STIX: &str = "application/stix+json;version=2.1";

/// A TAXII error: status and the error message resource's title and description.
#[derive(Debug, Clone)]
pub struct TaxiiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for people.
    pub title: String,
    /// Details, if any.
    pub description: Option<String>,
    denied: Option<Denied>,
}

impl TaxiiError {
    /// An error with `status` and `title`.
    pub fn new(status: StatusCode, title: impl Into<String>) -> TaxiiError {
        TaxiiError {
            status,
            title: title.into(),
            description: None,
            denied: None,
        }
    }

    /// 400 with the reason.
    pub fn bad_request(why: impl Into<String>) -> TaxiiError {
        TaxiiError::new(StatusCode::BAD_REQUEST, why)
    }

    /// 404.
    pub fn not_found(what: &str) -> TaxiiError {
        TaxiiError::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }

    fn body(&self) -> String {
        let mut v = json!({"title": self.title, "http_status": self.status.as_u16().to_string()});
        if let Some(d) = &self.description {
            v["description"] = json!(d);
        }
        v.to_string()
    }
}

impl From<Denied> for TaxiiError {
    fn from(d: Denied) -> TaxiiError {
        TaxiiError {
            status: d.status,
            title: d.message.clone(),
            description: None,
            denied: Some(d),
        }
    }
}

impl From<crate::store::StoreError> for TaxiiError {
    fn from(e: crate::store::StoreError) -> TaxiiError {
        tracing::error!(error = %e, "store failure while serving TAXII");
        TaxiiError::new(StatusCode::INTERNAL_SERVER_ERROR, "store failure")
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let body = self.body();
        match self.denied {
            // Keeps the throttle's marker and the WWW-Authenticate challenge.
            Some(d) => d.respond(body, TAXII),
            None => {
                let mut r = (self.status, body).into_response();
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII));
                r
            }
        }
    }
}

/// Checks the request's `Accept`: a TAXII 2.1 client asks for [`TAXII`]; `application/json`,
/// `*/*` and no `Accept` are served the same; anything else (another TAXII version) is 406.
pub fn accept(headers: &HeaderMap) -> Result<(), TaxiiError> {
    let Some(v) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let ok = v.split(',').any(|m| {
        let m: String = m
            .split(";q=")
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        matches!(
            m.as_str(),
            "application/taxii+json;version=2.1"
                | "application/taxii+json"
                | "application/json"
                | "*/*"
                | "application/*"
        )
    });
    if ok {
        Ok(())
    } else {
        Err(TaxiiError::new(
            StatusCode::NOT_ACCEPTABLE,
            format!("this server speaks {TAXII}"),
        ))
    }
}

/// A 200 (or `status`) JSON response of media type [`TAXII`].
pub fn respond(status: StatusCode, v: &Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII));
    r
}
