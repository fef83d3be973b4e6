//! The RID endpoint (RFC 6546 §3, the responder's side) joined to the grid: HTTPS with mutual TLS,
//! `GET /`/`HEAD /` → 204, other paths → 404, `POST /` with `Content-Type: text/xml` only; the peer
//! identified by its certificate (`[[rid.peer]]`), the message checked (400 with the reasons, 413 when
//! too large), then by type: a Report's IODEF published to the peer's topic and answered only once
//! the grid took it; a Query answered with a Report from the grid or a Denied Acknowledgement; a
//! TraceRequest/InvestigationRequest published to the requests topic and answered Acknowledgement
//! Pending with a callback token (the Result follows with `gridlink rid respond`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use axum_server::tls::TlsInfo;
use axum_server::tls_rustls::RustlsConfig;

use super::body::read_body;
use super::client::CALLBACK_TOKEN;
use super::config::{server_tls_with_crls, RidConfigError};
pub use super::endpoint::{Endpoint, Lookup, Peer};
use super::message::{acknowledgement, report_for};
use super::model::{AuthorizationStatus, Justification, MsgType, Rid};
use super::parse::MAX_MESSAGE_BYTES;
use super::pending::{new_token, PendingRequest};
use super::reply::{checked, decrypted, deny, empty, publish_failed, text, xml};
use super::validate::Enclosed;
use crate::rolie::PublishBody;

/// A bound RID endpoint.
pub struct RidServer {
    listener: std::net::TcpListener,
    tls: RustlsConfig,
    endpoint: Arc<Endpoint>,
}

impl RidServer {
    /// Binds `listen` with this certificate, requiring client certificates from `client_ca`.
    pub fn bind(
        listen: SocketAddr,
        cert: &std::path::Path,
        key: &std::path::Path,
        client_ca: &std::path::Path,
        endpoint: Endpoint,
    ) -> Result<RidServer, RidConfigError> {
        RidServer::bind_with_crls(listen, cert, key, client_ca, &[], endpoint)
    }

    /// [`RidServer::bind`], client certificates also checked against these CRL files.
    pub fn bind_with_crls(
        listen: SocketAddr,
        cert: &std::path::Path,
        key: &std::path::Path,
        client_ca: &std::path::Path,
        crl: &[std::path::PathBuf],
        endpoint: Endpoint,
    ) -> Result<RidServer, RidConfigError> {
        let tls =
            RustlsConfig::from_config(Arc::new(server_tls_with_crls(cert, key, client_ca, crl)?));
        let listener = std::net::TcpListener::bind(listen)
            .map_err(|e| RidConfigError::Invalid(format!("cannot listen on {listen}: {e}")))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| RidConfigError::Invalid(e.to_string()))?;
        Ok(RidServer {
            listener,
            tls,
            endpoint: Arc::new(endpoint),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = Router::new()
            .route("/", get(|| async { StatusCode::NO_CONTENT }).post(post))
            .fallback(|| async { (StatusCode::NOT_FOUND, "RID is served at POST /\n") })
            .with_state(self.endpoint);
        let handle = axum_server::Handle::new();
        let h = handle.clone();
        tokio::spawn(async move {
            shutdown.await;
            h.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
        });
        let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(self.tls)
            .handshake_timeout(std::time::Duration::from_secs(30));
        axum_server::from_tcp(self.listener)?
            .acceptor(acceptor)
            .handle(handle)
            .serve(app.into_make_service_with_connect_info::<SocketAddr>())
            .await
    }
}

async fn post(
    State(ep): State<Arc<Endpoint>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    tls: Option<Extension<Arc<TlsInfo>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // The peer first: an unknown certificate is refused (and logged) whatever it sends.
    let der = tls
        .as_ref()
        .and_then(|t| t.0.peer_certificates.first().cloned());
    let Some(peer) = der
        .as_ref()
        .and_then(|d| ep.peers.iter().find(|p| p.config.matches(d)))
    else {
        tracing::warn!(%remote, "RID message from a certificate that is no configured peer: refused");
        return text(
            StatusCode::FORBIDDEN,
            "your certificate is not a configured RID peer\n",
        );
    };
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.split(';').next().map(|m| m.trim().to_ascii_lowercase()) != Some("text/xml".into()) {
        return text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("RID messages are POSTed as text/xml (RFC 6546 §3), not {ct:?}\n"),
        );
    }
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let bytes = match read_body(body, length).await {
        Ok(b) => b,
        Err(status) => {
            let why = match status {
                StatusCode::PAYLOAD_TOO_LARGE => {
                    format!("RID messages are limited to {MAX_MESSAGE_BYTES} bytes\n")
                }
                StatusCode::REQUEST_TIMEOUT => "the message did not arrive in time\n".into(),
                _ => "the message could not be read\n".into(),
            };
            return text(status, why);
        }
    };
    let msg = match checked(&bytes, peer) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let Some(mt) = msg.msg_type() else {
        return text(StatusCode::BAD_REQUEST, "no RIDPolicy\n");
    };
    if !peer.allowed.contains(&mt) {
        tracing::warn!(peer = %peer.config.name, %mt, "message type not allowed for this peer");
        return text(
            StatusCode::FORBIDDEN,
            format!("{} may not send {mt} messages here\n", peer.config.name),
        );
    }
    // RFC 6545 §9.1 / §7: a message whose signatures fail, or that cannot be decrypted, gets an
    // Acknowledgement Denied saying which. The sender encrypted, then signed: the enveloped
    // signature is checked over what arrived, the originator's (made before encryption) over the
    // clear text.
    if let (Some(s), Some(d)) = (&ep.signatures, der.as_ref()) {
        if let Err((why, e)) = s.check_envelope(&bytes, d) {
            tracing::warn!(peer = %peer.config.name, %mt, error = %e, "RID message refused: signature");
            return deny(&ep, &msg, mt, why, e.to_string());
        }
    }
    let (bytes, msg) = match decrypted(&ep, peer, bytes, msg, mt) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let mut originators = Vec::new();
    if let Some(s) = &ep.signatures {
        match s.check_origin(&bytes, mt) {
            Ok(certs) => originators = certs,
            Err((why, e)) => {
                tracing::warn!(peer = %peer.config.name, %mt, error = %e, "RID message refused: originator's signature");
                return deny(&ep, &msg, mt, why, e.to_string());
            }
        }
    }
    let token = headers.get(CALLBACK_TOKEN).and_then(|v| v.to_str().ok());
    tracing::info!(peer = %peer.config.name, %mt, incident = msg.incident_id().unwrap_or(""), callback_token = token, "RID message received");
    match mt {
        MsgType::Report | MsgType::Result => publish_enclosed(&ep, peer, &msg, &peer.topic)
            .await
            .map_or_else(|r| r, |_| empty()),
        MsgType::Query => query(&ep, &msg, der.as_deref()).await,
        MsgType::TraceRequest | MsgType::InvestigationRequest => {
            request(&ep, peer, &msg, remote, &originators).await
        }
        MsgType::Acknowledgement => empty(),
        MsgType::ExtValue => xml(
            &ep,
            &acknowledgement(
                &msg,
                AuthorizationStatus::Denied,
                Some(Justification::UnrecognizedFormat),
                &ep.node,
            ),
            None,
            None,
        ),
    }
}

/// Publishes every IODEF v2 document a message encloses to `topic`; the item ids, or the answer to
/// send instead (an error status, or an Acknowledgement Denied for IODEF v1, which the grid does not
/// carry).
async fn publish_enclosed(
    ep: &Endpoint,
    peer: &Peer,
    msg: &Rid,
    topic: &str,
) -> Result<Vec<String>, Response> {
    let Some(rs) = msg.policy.as_ref().and_then(|p| p.report_schema.as_ref()) else {
        return Ok(Vec::new());
    };
    let mut ids = Vec::new();
    let mut queued = false;
    for e in rs.enclosed() {
        match e {
            Ok(Enclosed::V2(doc)) => match ep
                .publisher
                .publish(topic, PublishBody::Xml(doc.to_xml()))
                .await
            {
                Ok(p) => {
                    tracing::info!(peer = %peer.config.name, topic, item = %p.item_id, confirmed = p.confirmed, "RID document published to the grid");
                    queued |= !p.confirmed;
                    ids.push(p.item_id);
                }
                Err(e) => return Err(publish_failed(e)),
            },
            Ok(Enclosed::V1(_)) => {
                tracing::warn!(peer = %peer.config.name, "IODEF v1 document: the grid carries IODEF v2 only");
                return Err(xml(
                    ep,
                    &acknowledgement(
                        msg,
                        AuthorizationStatus::Denied,
                        Some(Justification::UnrecognizedFormat),
                        &ep.node,
                    ),
                    None,
                    None,
                ));
            }
            Ok(Enclosed::Foreign(_)) => {}
            Err(e) => return Err(text(StatusCode::BAD_REQUEST, format!("{e}\n"))),
        }
    }
    if queued {
        // On disk in the outbox, not yet confirmed by the broker: RFC 6546's 202 (nothing more
        // will follow for a Report: an empty answer is all it would get).
        let mut r = StatusCode::ACCEPTED.into_response();
        if let Ok(v) = new_token().parse() {
            r.headers_mut().insert(CALLBACK_TOKEN, v);
        }
        return Err(r);
    }
    Ok(ids)
}

async fn query(ep: &Endpoint, msg: &Rid, to: Option<&[u8]>) -> Response {
    let id = msg.policy.as_ref().and_then(|p| p.incident_id.as_ref());
    let found = match id {
        Some(i) => ep.lookup.find(&i.name, i.id()).await,
        None => None,
    };
    match found.as_ref().and_then(|d| report_for(msg, d, &ep.node)) {
        Some(report) => xml(ep, &report, None, to),
        // RFC 6545 §7.4: a Query gets a Report or, when none will come, an Acknowledgement.
        None => xml(
            ep,
            &acknowledgement(
                msg,
                AuthorizationStatus::Denied,
                Some(Justification::Other),
                &ep.node,
            ),
            None,
            None,
        ),
    }
}

async fn request(
    ep: &Endpoint,
    peer: &Peer,
    msg: &Rid,
    remote: SocketAddr,
    originators: &[Vec<u8>],
) -> Response {
    // RFC 6545 §3.1: a trace whose path already lists this system has looped: stop and alert.
    if msg.msg_type() == Some(MsgType::TraceRequest) {
        if let Some(own) = super::trace::in_path(msg, std::slice::from_ref(&ep.node)) {
            tracing::error!(peer = %peer.config.name, node = own, incident = msg.incident_id().unwrap_or(""), "trace loop: this RID system is already in the TraceRequest's path; stopped, nothing published");
            return xml(
                ep,
                &acknowledgement(
                    msg,
                    AuthorizationStatus::Denied,
                    Some(Justification::Other),
                    &ep.node,
                ),
                None,
                None,
            );
        }
    }
    let ids = match publish_enclosed(ep, peer, msg, &ep.requests_topic).await {
        Ok(ids) => ids,
        Err(r) => return r,
    };
    let token = new_token();
    let (name, id) = msg
        .policy
        .as_ref()
        .and_then(|p| p.incident_id.as_ref())
        .map(|i| (i.name.clone(), i.id().to_string()))
        .unwrap_or_default();
    let pending = PendingRequest {
        token: token.clone(),
        peer: peer.config.name.clone(),
        url: peer.config.url(),
        remote: remote.ip().to_string(),
        // RFC 6546 §3: the callback goes to the address the request came from, unless the
        // operator configured the peer's URL.
        connect_to: peer.config.url.is_none().then(|| remote.ip().to_string()),
        msg_type: msg.msg_type().map(|m| m.to_string()).unwrap_or_default(),
        incident_name: name,
        incident_id: id,
        item_id: ids.into_iter().next(),
        received_at: chrono::Utc::now().to_rfc3339(),
        // RFC 6545 §6.2: a Denied Acknowledgement goes to the originator too, when it is a peer
        // this system knows (by the certificate of its detached signature).
        originator: super::config::originator(
            ep.peers.iter().map(|p| &p.config),
            &peer.config.name,
            originators,
        ),
    };
    if let Err(e) = ep.pending.put(&pending) {
        tracing::error!(error = %e, "cannot record the pending request");
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot record the request\n",
        );
    }
    tracing::info!(peer = %peer.config.name, token, "request waiting for the operator (gridlink rid respond)");
    xml(
        ep,
        &acknowledgement(msg, AuthorizationStatus::Pending, None, &ep.node),
        Some(&token),
        None,
    )
}
