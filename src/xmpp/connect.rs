//! One connection attempt, top to bottom: TCP → (STARTTLS | direct TLS |
//! loopback plaintext) → SASL (`sasl.rs`) → stream restart. Resource binding and stream
//! management are left to tokio-xmpp's `StanzaStream`.
//!
//! gridlink does this itself instead of using tokio-xmpp's connectors because
//! those (a) cannot take a custom trust store or client certificate, (b) on
//! TLS 1.3 offer tls-exporter channel binding and then fall back to **PLAIN**
//! against servers without `SCRAM-*-PLUS` (Prosody 0.12), and (c) retry
//! authentication and certificate errors forever without telling the caller.

use std::net::SocketAddr;
use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use sasl::common::ChannelBinding;
use tokio::io::{AsyncBufRead, AsyncWrite, BufStream};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_rustls::rustls::{self, pki_types::ServerName, ClientConfig};
use tokio_rustls::TlsConnector;
use tokio_xmpp::jid::Jid;
use tokio_xmpp::parsers::{ns, starttls};
use tokio_xmpp::stanzastream::{Connection, StanzaStream};
use tokio_xmpp::xmlstream::{
    initiate_stream, FallibleStreamElement, PendingFeaturesRecv, ReadError, XmppStreamElement,
};

use super::sasl::login;
use super::stream::{header, protocol, timeouts, Login, QUEUE_DEPTH};
use super::tls::classify_handshake_error;
use super::ConnectError;
use crate::config::{Config, TlsMode};

/// Connects and authenticates once. `jid` may carry the resource to request.
pub(crate) async fn connect_and_login(
    cfg: &Config,
    tls: &Arc<ClientConfig>,
    jid: &Jid,
) -> Result<Login, ConnectError> {
    let mut login = first_attempt(cfg, tls, jid).await?;
    if !cfg.stream_management.negotiates() {
        // XEP-0198 off (`Config::stream_management`): tokio-xmpp negotiates
        // it whenever the features offer it, so it is not shown the offer.
        // Liveness then rests on its ping probes, and a lost connection is
        // a new session.
        if login.connection.features.stream_management.take().is_some() {
            tracing::debug!(
                "XEP-0198 stream management offered, not negotiated (stream_management = off)"
            );
        }
    }
    Ok(login)
}

/// A login with the client certificate if there is one, with the password
/// if the server refuses the certificate.
async fn first_attempt(
    cfg: &Config,
    tls: &Arc<ClientConfig>,
    jid: &Jid,
) -> Result<Login, ConnectError> {
    match attempt(cfg, tls, jid, true).await {
        // A server may offer EXTERNAL and still refuse this certificate
        // (it names another account, or the server does not trust its CA
        // for clients). With a password that need not end the login: RFC
        // 6120 §6.4.5 allows another mechanism after a failure, but
        // ejabberd closes the stream after a refused certificate, so the
        // second try is a new connection on which EXTERNAL is not chosen.
        Err(refused @ ConnectError::CertificateRejected { .. })
            if !cfg.password.expose().is_empty() =>
        {
            tracing::warn!(reason = %refused, "the server refused the client certificate; logging in with the password instead");
            attempt(cfg, tls, jid, false).await
        }
        other => other,
    }
}

/// One connection and login; `certificate`: whether SASL EXTERNAL with the
/// client certificate may be chosen.
async fn attempt(
    cfg: &Config,
    tls: &Arc<ClientConfig>,
    jid: &Jid,
    certificate: bool,
) -> Result<Login, ConnectError> {
    let (host, port) = cfg.server_addr();
    let addr = format!("{host}:{port}");
    let addrs = resolve(&host, port).await?;
    // Refuse plaintext to anything but loopback before a single byte goes
    // out (not only after connecting): the name may resolve to several
    // addresses, and none of them may be remote.
    if cfg.tls_mode == TlsMode::InsecurePlaintext {
        if let Some(remote) = addrs.iter().find(|a| !a.ip().is_loopback()) {
            return Err(ConnectError::PlaintextNotLoopback {
                addr: remote.to_string(),
            });
        }
    }
    let tcp = tcp_connect(&host, port, addrs).await?;
    let peer = tcp.peer_addr().map_err(|e| ConnectError::Network {
        addr: addr.clone(),
        reason: e.to_string(),
    })?;
    // Nagle would hold back small stanzas waiting for ACKs; XMPP wants them out.
    let _ = tcp.set_nodelay(true);
    let tls_name = cfg
        .tls_name
        .clone()
        .unwrap_or_else(|| jid.domain().to_string());
    let domain = jid.domain().to_string();
    match cfg.tls_mode {
        TlsMode::InsecurePlaintext => {
            if !peer.ip().is_loopback() {
                return Err(ConnectError::PlaintextNotLoopback {
                    addr: peer.to_string(),
                });
            }
            tracing::warn!(%peer, "connecting WITHOUT TLS (--insecure-plaintext)");
            let pending = open_stream(BufStream::new(tcp), &domain, &addr).await?;
            login(
                pending,
                cfg,
                jid,
                ChannelBinding::None,
                false,
                certificate,
                &addr,
            )
            .await
        }
        TlsMode::DirectTls => {
            let (tls_stream, cb, version) = handshake(tls, &tls_name, tcp).await?;
            let pending = open_stream(BufStream::new(tls_stream), &domain, &addr).await?;
            let login = login(pending, cfg, jid, cb, true, certificate, &addr).await?;
            Ok(Login {
                tls_version: Some(version),
                ..login
            })
        }
        TlsMode::StartTls => {
            let tcp = starttls(BufStream::new(tcp), &domain, &addr).await?;
            let (tls_stream, cb, version) = handshake(tls, &tls_name, tcp).await?;
            let pending = open_stream(BufStream::new(tls_stream), &domain, &addr).await?;
            let login = login(pending, cfg, jid, cb, true, certificate, &addr).await?;
            Ok(Login {
                tls_version: Some(version),
                ..login
            })
        }
    }
}

async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, ConnectError> {
    Ok(tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| ConnectError::UnknownHost {
            host: host.to_string(),
            reason: e.to_string(),
        })?
        .collect())
}

async fn tcp_connect(
    host: &str,
    port: u16,
    addrs: Vec<SocketAddr>,
) -> Result<TcpStream, ConnectError> {
    let addr = format!("{host}:{port}");
    let mut last = None;
    for a in addrs {
        match TcpStream::connect(a).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            ConnectError::Refused { addr }
        }
        Some(e) => ConnectError::Network {
            addr,
            reason: e.to_string(),
        },
        None => ConnectError::UnknownHost {
            host: host.to_string(),
            reason: "no address".into(),
        },
    })
}

async fn open_stream<S: AsyncBufRead + AsyncWrite + Unpin>(
    io: S,
    domain: &str,
    addr: &str,
) -> Result<PendingFeaturesRecv<S>, ConnectError> {
    initiate_stream(io, ns::JABBER_CLIENT, header(domain), timeouts())
        .await
        .map_err(|e| protocol(addr, e))
}

/// Negotiates `<starttls/>` and hands back the bare TCP stream for the TLS
/// handshake. The request is sent even when the server does not advertise
/// STARTTLS: a stripped feature must not downgrade us (RFC 7590 §3.1).
async fn starttls(
    io: BufStream<TcpStream>,
    domain: &str,
    addr: &str,
) -> Result<TcpStream, ConnectError> {
    let pending = open_stream(io, domain, addr).await?;
    let (features, mut stream) = pending
        .recv_features()
        .await
        .map_err(|e| protocol(addr, e))?;
    // A server without STARTTLS answers our request with a stream error or
    // hangs up (Prosody: `unsupported-stanza-type`). That is a server
    // without TLS, not a protocol mishap: say so, since the fix is on the
    // server (or --insecure-plaintext for a loopback test server).
    let offered = features.can_starttls();
    let no_tls = |e: &dyn std::fmt::Display| {
        if offered {
            protocol(addr, e)
        } else {
            ConnectError::StartTlsRefused
        }
    };
    stream
        .send(&XmppStreamElement::Starttls(starttls::Nonza::Request(
            starttls::Request,
        )))
        .await
        .map_err(|e| protocol(addr, e))?;
    loop {
        match stream
            .next()
            .await
            .map(|v| v.and_then(|v: FallibleStreamElement| v.into_read_error()))
        {
            Some(Ok(XmppStreamElement::Starttls(starttls::Nonza::Proceed(_)))) => break,
            Some(Ok(XmppStreamElement::Starttls(_))) => return Err(ConnectError::StartTlsRefused),
            Some(Ok(XmppStreamElement::StreamError(e))) => return Err(no_tls(&e)),
            Some(Ok(_)) | Some(Err(ReadError::SoftTimeout)) => continue,
            Some(Err(e)) => return Err(no_tls(&e)),
            None => return Err(no_tls(&"the server closed the connection")),
        }
    }
    Ok(stream.into_inner().into_inner())
}

/// The TLS handshake; also returns the channel-binding data and the
/// negotiated version's name.
async fn handshake(
    tls: &Arc<ClientConfig>,
    name: &str,
    tcp: TcpStream,
) -> Result<
    (
        tokio_rustls::client::TlsStream<TcpStream>,
        ChannelBinding,
        &'static str,
    ),
    ConnectError,
> {
    let server_name = ServerName::try_from(name.to_string()).map_err(|e| {
        ConnectError::TlsConfig(format!("{name:?} is not a valid TLS server name: {e}"))
    })?;
    let stream = TlsConnector::from(tls.clone())
        .connect(server_name, tcp)
        .await
        .map_err(|e| classify_handshake_error(name, e))?;
    let (_, conn) = stream.get_ref();
    tracing::debug!(version = ?conn.protocol_version(), cipher = ?conn.negotiated_cipher_suite().map(|c| c.suite()), "TLS established");
    // tls-exporter (RFC 9266) exists only for TLS 1.3; rustls has no
    // tls-unique, so a TLS 1.2 session gets no channel binding.
    let cb = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => conn
            .export_keying_material(vec![0u8; 32], b"EXPORTER-Channel-Binding", None)
            .map(ChannelBinding::TlsExporter)
            .unwrap_or(ChannelBinding::None),
        _ => ChannelBinding::None,
    };
    // The config allows nothing older (`tls::client_config`).
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
        _ => "TLSv1.2",
    };
    Ok((stream, cb, version))
}

/// Connects and logs in exactly as [`Session::connect`](super::Session::connect) does (same TLS,
/// SASL mechanism choice and timeouts), then hands the connection to a bare
/// tokio-xmpp `StanzaStream` (which binds a resource and negotiates XEP-0198),
/// with no driver task, no IQ table and no reconnection: if the connection
/// drops (and cannot be resumed), the stream ends.
///
/// This is what the XMPP library costs on its own, without gridlink's
/// session, pubsub or IODEF layers: `gridlink-bench` uses it for its
/// "tokio-xmpp floor" client. Applications want [`Session`](super::Session).
pub async fn connect_bare_stream(config: &Config) -> Result<StanzaStream, ConnectError> {
    let tls = super::tls::client_config(config)?;
    let jid = config.jid.clone();
    let (host, port) = config.server_addr();
    let limit = config.connect_timeout;
    let login = tokio::time::timeout(limit, connect_and_login(config, &tls, &jid))
        .await
        .map_err(|_| ConnectError::Timeout {
            addr: format!("{host}:{port}"),
            after: limit,
        })??;
    let mut first = Some(login.connection);
    let connector = Box::new(
        move |_location: Option<String>, slot: oneshot::Sender<Connection>| {
            if let Some(conn) = first.take() {
                let _ = slot.send(conn);
            }
            // Later calls drop `slot`: StanzaStream treats that as fatal and
            // ends the stream, which is what a measurement wants.
        },
    );
    Ok(StanzaStream::new(connector, QUEUE_DEPTH))
}
