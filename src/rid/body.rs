//! Reading a POSTed RID message: at most [`MAX_MESSAGE_BYTES`] (413 beyond, after draining some
//! more so that the peer gets its answer), chunked bodies taken as they come, within a time limit;
//! then checked (the schema and RFC 6545's rules), refused with the reasons otherwise.

use axum::body::Body;
use axum::http::StatusCode;

use super::error::RidError;
use super::model::Rid;
use super::parse::MAX_MESSAGE_BYTES;
use super::validate::check;

/// What an oversized body is still read (and dropped) up to, so that the peer gets its 413 instead
/// of a connection reset in the middle of its upload.
const DRAIN_BYTES: usize = 4 * MAX_MESSAGE_BYTES;

/// How long a request body may take to arrive.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The body, at most [`MAX_MESSAGE_BYTES`] (413 beyond; chunked bodies are taken as they come).
pub async fn read_body(body: Body, length: Option<usize>) -> Result<Vec<u8>, StatusCode> {
    use futures::StreamExt;
    if length.is_some_and(|n| n > DRAIN_BYTES) {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let read = async {
        let mut stream = body.into_data_stream();
        let mut buf = Vec::with_capacity(length.unwrap_or(0).min(MAX_MESSAGE_BYTES));
        let mut total = 0usize;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| StatusCode::BAD_REQUEST)?;
            total += chunk.len();
            if total <= MAX_MESSAGE_BYTES {
                buf.extend_from_slice(&chunk);
            } else if total > DRAIN_BYTES {
                break;
            }
        }
        if total > MAX_MESSAGE_BYTES {
            Err(StatusCode::PAYLOAD_TOO_LARGE)
        } else {
            Ok(buf)
        }
    };
    tokio::time::timeout(BODY_TIMEOUT, read)
        .await
        .unwrap_or(Err(StatusCode::REQUEST_TIMEOUT))
}

/// The message `bytes` from peer `peer` checked (schema and RFC 6545 rules): 413/400 and the
/// reasons otherwise (logged).
pub fn checked(bytes: &[u8], peer: &str) -> Result<Rid, (StatusCode, String)> {
    let (msg, problems) = match check(bytes) {
        Ok(x) => x,
        Err(e @ RidError::TooLarge { .. }) => {
            return Err((StatusCode::PAYLOAD_TOO_LARGE, format!("{e}\n")))
        }
        Err(RidError::Invalid(p)) => {
            let lines: Vec<String> = p.iter().map(|p| p.to_string()).collect();
            tracing::warn!(peer, problems = lines.len(), "invalid RID message refused");
            return Err((
                StatusCode::BAD_REQUEST,
                format!("invalid RID message:\n{}\n", lines.join("\n")),
            ));
        }
        Err(e) => {
            tracing::warn!(peer, error = %e, "unreadable RID message refused");
            return Err((StatusCode::BAD_REQUEST, format!("{e}\n")));
        }
    };
    let errors: Vec<String> = problems
        .iter()
        .filter(|p| p.is_error())
        .map(|p| p.to_string())
        .collect();
    if !errors.is_empty() {
        tracing::warn!(
            peer,
            problems = errors.len(),
            "RID message breaking RFC 6545 refused"
        );
        return Err((
            StatusCode::BAD_REQUEST,
            format!("invalid RID message:\n{}\n", errors.join("\n")),
        ));
    }
    Ok(msg)
}
