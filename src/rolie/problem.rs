//! [`Problem`]: an HTTP error answer with a plain-text explanation.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::store::StoreError;

/// Marks a response as a refused credential (a bearer token that matched
/// no configured token), so that the per-connection service
/// (`observe.rs`) can count it, log it at debug and back the client off
/// (`throttle.rs`) without any cost on responses that are not 401s.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BadCredentials;

/// An HTTP error with a plain-text explanation (RFC 5023 §5.5: 4xx/5xx
/// bodies SHOULD say what went wrong).
#[derive(Debug)]
pub(crate) struct Problem {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    /// A presented token was refused (see [`BadCredentials`]).
    pub(crate) bad_credentials: bool,
}

impl Problem {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Problem {
        Problem {
            status,
            message: message.into(),
            bad_credentials: false,
        }
    }

    /// 401 for a presented token that matched none.
    pub(crate) fn bad_token() -> Problem {
        Problem {
            bad_credentials: true,
            ..Problem::new(StatusCode::UNAUTHORIZED, "bearer token not accepted")
        }
    }

    pub(crate) fn not_found() -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not found")
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Problem {
        tracing::error!(error = %e, "store failure while serving");
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "store failure")
    }
}

impl From<std::io::Error> for Problem {
    fn from(e: std::io::Error) -> Problem {
        tracing::error!(error = %e, "document rendering failed");
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "rendering failure")
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut r = (self.status, format!("{}\n", self.message)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"gridlink\""),
            );
        }
        // After a 408 or 413 the rest of the body was never read, so the
        // connection cannot carry another request: say so (RFC 9110
        // §15.5.9) rather than leave the client to find a reset.
        if matches!(
            self.status,
            StatusCode::REQUEST_TIMEOUT | StatusCode::PAYLOAD_TOO_LARGE
        ) {
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if self.bad_credentials {
            r.extensions_mut().insert(BadCredentials);
        }
        r
    }
}

/// 429 with `Retry-After` (RFC 6585 §4): the client failed authentication
/// too often and must wait `secs` seconds before trying again.
pub(crate) fn too_many_requests(secs: u64) -> Response {
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        format!("too many failed authentication attempts: retry in {secs} s\n"),
    )
        .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    r
}
