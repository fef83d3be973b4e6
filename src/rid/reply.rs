//! The endpoint's HTTP answers (RFC 6546 §3): RID messages signed, and encrypted when a
//! restriction asks for it; Denied Acknowledgements; plain-text refusals with their status. And a
//! POSTed message made clear (decrypted, checked again) or refused, which needs those answers.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::client::CALLBACK_TOKEN;
use super::endpoint::{Endpoint, Peer};
use super::message::acknowledgement;
use super::model::{AuthorizationStatus, Justification, MsgType, Rid};
use super::xenc::{self, Recipient};
use crate::rolie::PublishError;

pub(super) fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

/// An answer: signed, and encrypted for `to` (the peer's TLS certificate, DER) when a
/// restriction requires it (a Query's Report); never sent in clear when it cannot be encrypted.
pub(super) fn xml(ep: &Endpoint, msg: &Rid, token: Option<&str>, to: Option<&[u8]>) -> Response {
    let recipient = match to.map(Recipient::from_cert).transpose() {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "the peer's certificate cannot be encrypted for");
            None
        }
    };
    let body = match xenc::encrypt_message(msg.to_xml(), recipient.as_ref()) {
        Ok(b) => b.into_xml(),
        Err(e) => {
            tracing::error!(error = %e, "RID answer not sent: it must be encrypted and cannot be");
            return text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n"));
        }
    };
    let body = match &ep.signatures {
        Some(s) => s.sign_envelope(body),
        None => body,
    };
    let mut r = (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], body).into_response();
    if let Some(t) = token.and_then(|t| t.parse().ok()) {
        r.headers_mut().insert(CALLBACK_TOKEN, t);
    }
    r
}

/// The answer to a message refused for `why` (RFC 6545 §7): an Acknowledgement Denied, or a 403
/// for a Result/Acknowledgement callback (RFC 6546 Table 1 allows no RID answer to those).
pub(super) fn deny(
    ep: &Endpoint,
    msg: &Rid,
    mt: MsgType,
    why: Justification,
    e: String,
) -> Response {
    match mt {
        MsgType::Acknowledgement | MsgType::Result => text(StatusCode::FORBIDDEN, format!("{e}\n")),
        _ => xml(
            ep,
            &acknowledgement(msg, AuthorizationStatus::Denied, Some(why), &ep.node),
            None,
            None,
        ),
    }
}

/// A message checked (`body::checked`), refused with its status and reasons otherwise.
pub(super) fn checked(bytes: &[u8], peer: &Peer) -> Result<Rid, Box<Response>> {
    super::body::checked(bytes, &peer.config.name).map_err(|(st, why)| Box::new(text(st, why)))
}

/// The message in clear text (RFC 6545 §9.1): its encrypted document decrypted with this
/// endpoint's key and the result checked again; Denied `Encryption` when that fails.
pub(super) fn decrypted(
    ep: &Endpoint,
    peer: &Peer,
    bytes: Vec<u8>,
    msg: Rid,
    mt: MsgType,
) -> Result<(Vec<u8>, Rid), Box<Response>> {
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok((bytes, msg));
    };
    if !xenc::is_encrypted(text) {
        return Ok((bytes, msg));
    }
    let clear = match &ep.decrypt {
        Some(k) => xenc::decrypt_message(text, k),
        None => Err(xenc::XencError::Key(
            "this endpoint has no decryption key".into(),
        )),
    };
    match clear {
        Ok(c) => {
            let clear = checked(c.as_bytes(), peer)?;
            tracing::info!(peer = %peer.config.name, %mt, "encrypted RID document decrypted");
            Ok((c.into_bytes(), clear))
        }
        Err(e) => {
            tracing::warn!(peer = %peer.config.name, %mt, error = %e, "RID message refused: cannot decrypt");
            Err(Box::new(deny(
                ep,
                &msg,
                mt,
                Justification::Encryption,
                e.to_string(),
            )))
        }
    }
}

/// `200` with an empty body (what a Report, Result or Acknowledgement gets when all went well).
pub(super) fn empty() -> Response {
    StatusCode::OK.into_response()
}

pub(super) fn publish_failed(e: PublishError) -> Response {
    let status = match &e {
        PublishError::Invalid(_) => StatusCode::BAD_REQUEST,
        PublishError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_GATEWAY,
    };
    text(status, format!("{e}\n"))
}
