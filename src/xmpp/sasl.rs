//! SASL, after the transport is up: which mechanism (`choose_mechanism`),
//! SCRAM through tokio-xmpp, EXTERNAL by hand, and the stream restart that
//! follows success (RFC 6120 §6). `connect.rs` calls [`login`] once TLS (or
//! loopback plaintext) is in place.

use std::collections::BTreeSet;

use futures::{SinkExt, StreamExt};
use sasl::common::{ChannelBinding, Credentials};
use tokio::io::{AsyncBufRead, AsyncWrite};
use tokio_xmpp::jid::Jid;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::{ns, sasl as sasl_nonza};
use tokio_xmpp::stanzastream::Connection;
use tokio_xmpp::xmlstream::{
    FallibleStreamElement, InitiatingStream, PendingFeaturesRecv, ReadError, XmlStream,
    XmppStreamElement,
};

use super::stream::{header, protocol, Login};
use super::ConnectError;
use crate::config::Config;

/// What the client can authenticate with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Have {
    /// TLS is up (PLAIN and EXTERNAL need it).
    pub tls: bool,
    /// Channel-binding data exists (TLS 1.3).
    pub binding: bool,
    /// A client certificate was presented in the handshake.
    pub certificate: bool,
    /// A password is configured.
    pub password: bool,
}

/// Picks the SASL mechanism (RFC 6120 §13.8.3, RFC 8600 §8.3.1): EXTERNAL
/// when we presented a client certificate over TLS and the server offers it
/// (mutual authentication, RFC 8600 §8.3.1's SHOULD; the certificate is the
/// credential its owner chose), then, with a password, channel-bound SCRAM
/// when the server offers a `-PLUS` variant and we have binding data,
/// SCRAM-SHA-256, SCRAM-SHA-1, and PLAIN only over TLS when nothing better
/// is offered. Returns the name and whether channel binding is used.
pub(crate) fn choose_mechanism(
    offered: &BTreeSet<String>,
    have: Have,
) -> Option<(&'static str, bool)> {
    let has = |m: &str| offered.contains(m);
    if have.certificate && have.tls && has("EXTERNAL") {
        return Some(("EXTERNAL", false));
    }
    if !have.password {
        return None;
    }
    let (have_binding, tls) = (have.binding, have.tls);
    if have_binding {
        for m in ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"] {
            if has(m) {
                return Some((m, true));
            }
        }
    }
    for m in ["SCRAM-SHA-256", "SCRAM-SHA-1"] {
        if has(m) {
            return Some((m, false));
        }
    }
    if tls && has("PLAIN") {
        return Some(("PLAIN", false));
    }
    None
}

/// Whether the server advertises tls-exporter channel binding (XEP-0440),
/// the only type gridlink has data for (TLS 1.3, RFC 9266).
fn checks_tls_exporter(cb: Option<&tokio_xmpp::parsers::sasl_cb::SaslChannelBinding>) -> bool {
    cb.is_some_and(|cb| {
        cb.types
            .contains(&tokio_xmpp::parsers::sasl_cb::Type::TlsExporter)
    })
}

pub(super) async fn login<S>(
    pending: PendingFeaturesRecv<S>,
    cfg: &Config,
    jid: &Jid,
    binding: ChannelBinding,
    tls: bool,
    certificate: bool,
    addr: &str,
) -> Result<Login, ConnectError>
where
    S: AsyncBufRead + AsyncWrite + Unpin + Send + 'static,
{
    let (features, stream) = pending
        .recv_features()
        .await
        .map_err(|e| protocol(addr, e))?;
    let offered = &features.sasl_mechanisms;
    let have = Have {
        tls,
        // tls-exporter binding only when the server says it checks that
        // type (XEP-0440): ejabberd 23.01 offers SCRAM-*-PLUS on TLS 1.3,
        // advertises no types, and refuses tls-exporter ("Invalid channel
        // binding"), which would make every login fail.
        binding: matches!(binding, ChannelBinding::TlsExporter(_))
            && checks_tls_exporter(features.sasl_cb.as_ref()),
        // The TLS config carries the certificate whenever one is
        // configured (`tls::client_config`), and plaintext has none.
        certificate: certificate && tls && cfg.client_cert.is_some(),
        password: !cfg.password.expose().is_empty(),
    };
    let (mechanism, use_binding) =
        choose_mechanism(offered, have).ok_or_else(|| ConnectError::NoMechanism {
            offered: offered.iter().cloned().collect::<Vec<_>>().join(", "),
            have: match (have.certificate, have.password) {
                (true, true) => "a client certificate and a password",
                (true, false) => "a client certificate and no password",
                (false, true) => "a password",
                (false, false) => "neither a password nor a client certificate",
            },
        })?;
    if mechanism == "EXTERNAL" {
        let authed = external(stream, jid, addr).await?;
        return restart(authed, jid, addr, mechanism).await;
    }
    if mechanism == "PLAIN" {
        tracing::warn!("the server offers no SCRAM mechanism: authenticating with PLAIN over TLS");
    }
    let username = jid.node().map(|n| n.to_string()).unwrap_or_default();
    let creds = Credentials::default()
        .with_username(username)
        .with_password(cfg.password.expose())
        .with_channel_binding(if use_binding {
            binding
        } else {
            ChannelBinding::None
        });
    // tokio-xmpp's `auth` walks a fixed preference list and uses the first
    // mechanism in the set it is given, so handing it exactly one name makes
    // our choice the one that is used.
    let only: BTreeSet<String> = [mechanism.to_string()].into();
    let authed = tokio_xmpp::client_login(stream, only, creds)
        .await
        .map_err(|e| match e {
            tokio_xmpp::Error::Auth(tokio_xmpp::error::AuthError::Fail(c)) => {
                ConnectError::AuthFailed {
                    jid: jid.to_bare().to_string(),
                    condition: sasl_condition(&c),
                }
            }
            other => protocol(addr, other),
        })?;
    restart(authed, jid, addr, mechanism).await
}

/// The stream restart after SASL success (RFC 6120 §6.4.6): a new header,
/// new features, and the stream handed over for resource binding.
async fn restart<S>(
    authed: InitiatingStream<S>,
    jid: &Jid,
    addr: &str,
    mechanism: &'static str,
) -> Result<Login, ConnectError>
where
    S: AsyncBufRead + AsyncWrite + Unpin + Send + 'static,
{
    tracing::info!(mechanism, "authenticated");
    let (features, stream) = authed
        .send_header(header(jid.domain().as_str()))
        .await
        .map_err(|e| protocol(addr, e))?
        .recv_features()
        .await
        .map_err(|e| protocol(addr, e))?;
    Ok(Login {
        connection: Connection {
            stream: stream.box_stream(),
            features,
            identity: jid.clone(),
        },
        mechanism,
        tls_version: None,
    })
}

/// SASL EXTERNAL (RFC 4422 Appendix A, XEP-0178) on a TLS stream where we
/// presented a client certificate: the server takes the identity from the
/// certificate.
///
/// Built by hand: xmpp-parsers 0.23's `sasl::Mechanism` has no EXTERNAL
/// and tokio-xmpp's `client_login` a fixed list of mechanisms
/// (`xmpp-rs-notes.md`). The authorization identity is the configured bare
/// JID, not empty (`=`): a server then takes the certificate only if it
/// names that account, and never logs us in as another account the
/// certificate might also name.
async fn external<S>(
    mut stream: XmlStream<S, FallibleStreamElement>,
    jid: &Jid,
    addr: &str,
) -> Result<InitiatingStream<S>, ConnectError>
where
    S: AsyncBufRead + AsyncWrite + Unpin + Send + 'static,
{
    use base64::Engine as _;
    let bare = jid.to_bare().to_string();
    let auth = Element::builder("auth", ns::SASL)
        .attr(super::xml::ncname("mechanism"), "EXTERNAL")
        .append(base64::engine::general_purpose::STANDARD.encode(bare.as_bytes()))
        .build();
    stream.send(&auth).await.map_err(|e| protocol(addr, e))?;
    loop {
        match stream
            .next()
            .await
            .map(|v| v.and_then(|v: FallibleStreamElement| v.into_read_error()))
        {
            Some(Ok(XmppStreamElement::Sasl(sasl_nonza::Nonza::Success(_)))) => {
                return Ok(stream.initiate_reset())
            }
            Some(Ok(XmppStreamElement::Sasl(sasl_nonza::Nonza::Failure(f)))) => {
                // The condition, and the server's reason when it gives one
                // (ejabberd: "Certificate JID mismatch").
                let mut condition = sasl_condition(&f.defined_condition);
                if let Some(text) = f.texts.values().find(|t| !t.trim().is_empty()) {
                    condition = format!("{condition}: {}", text.trim());
                }
                return Err(ConnectError::CertificateRejected {
                    jid: bare,
                    condition,
                });
            }
            // EXTERNAL with an initial response has nothing to negotiate.
            Some(Ok(XmppStreamElement::Sasl(other))) => {
                return Err(protocol(
                    addr,
                    format!("unexpected SASL answer to EXTERNAL: {other:?}"),
                ))
            }
            Some(Ok(XmppStreamElement::StreamError(e))) => return Err(protocol(addr, e)),
            Some(Ok(_)) | Some(Err(ReadError::SoftTimeout)) => continue,
            Some(Err(e)) => return Err(protocol(addr, e)),
            None => {
                return Err(protocol(
                    addr,
                    "the server closed the connection during SASL",
                ))
            }
        }
    }
}

/// `NotAuthorized` → `not-authorized`.
fn sasl_condition(c: &tokio_xmpp::parsers::sasl::DefinedCondition) -> String {
    let dbg = format!("{c:?}");
    let mut out = String::new();
    for (i, ch) in dbg.chars().enumerate() {
        if ch.is_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(ch.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{checks_tls_exporter, choose_mechanism, Have};
    use std::collections::BTreeSet;
    use tokio_xmpp::minidom::Element;

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// A password, TLS, and channel binding as given.
    fn pw(binding: bool, tls: bool) -> Have {
        Have {
            tls,
            binding,
            certificate: false,
            password: true,
        }
    }

    /// Prosody 0.12 over TLS 1.3 offers SCRAM-SHA-1 and PLAIN: SCRAM wins.
    #[test]
    fn scram_beats_plain() {
        let m = choose_mechanism(&set(&["PLAIN", "SCRAM-SHA-1"]), pw(true, true));
        assert_eq!(m, Some(("SCRAM-SHA-1", false)));
    }

    /// SHA-256 is preferred over SHA-1 (RFC 8600 §8.3.1).
    #[test]
    fn sha256_preferred() {
        let m = choose_mechanism(&set(&["SCRAM-SHA-1", "SCRAM-SHA-256"]), pw(false, true));
        assert_eq!(m, Some(("SCRAM-SHA-256", false)));
    }

    /// tls-exporter binding counts only when the server lists it (XEP-0440):
    /// ejabberd 23.01 offers -PLUS without the list and refuses tls-exporter.
    #[test]
    fn tls_exporter_only_when_advertised() {
        use tokio_xmpp::parsers::sasl_cb::SaslChannelBinding;
        let cb = |xml: &str| SaslChannelBinding::try_from(xml.parse::<Element>().unwrap()).unwrap();
        assert!(!checks_tls_exporter(None));
        assert!(!checks_tls_exporter(Some(&cb(
            "<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-server-end-point'/></sasl-channel-binding>"
        ))));
        assert!(checks_tls_exporter(Some(&cb(
            "<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-server-end-point'/><channel-binding type='tls-exporter'/></sasl-channel-binding>"
        ))));
    }

    /// -PLUS is used only when binding data exists.
    #[test]
    fn plus_needs_binding() {
        let offered = set(&["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]);
        assert_eq!(
            choose_mechanism(&offered, pw(true, true)),
            Some(("SCRAM-SHA-256-PLUS", true))
        );
        assert_eq!(
            choose_mechanism(&offered, pw(false, true)),
            Some(("SCRAM-SHA-256", false))
        );
    }

    /// PLAIN only over TLS; never over plaintext.
    #[test]
    fn plain_only_over_tls() {
        assert_eq!(
            choose_mechanism(&set(&["PLAIN"]), pw(false, true)),
            Some(("PLAIN", false))
        );
        assert_eq!(choose_mechanism(&set(&["PLAIN"]), pw(false, false)), None);
        assert_eq!(
            choose_mechanism(&set(&["ANONYMOUS"]), pw(false, true)),
            None
        );
    }

    /// With a client certificate over TLS, EXTERNAL wins when offered (even
    /// over channel-bound SCRAM); without it, the password's mechanisms as
    /// before; never EXTERNAL without a certificate or without TLS; and
    /// with no password, EXTERNAL or nothing.
    #[test]
    fn external_with_a_certificate() {
        let all = set(&["EXTERNAL", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1", "PLAIN"]);
        let cert = |password, tls| Have {
            tls,
            binding: tls,
            certificate: true,
            password,
        };
        assert_eq!(
            choose_mechanism(&all, cert(true, true)),
            Some(("EXTERNAL", false))
        );
        assert_eq!(
            choose_mechanism(&all, cert(false, true)),
            Some(("EXTERNAL", false))
        );
        assert_eq!(
            choose_mechanism(&set(&["SCRAM-SHA-1", "PLAIN"]), cert(true, true)),
            Some(("SCRAM-SHA-1", false))
        );
        assert_eq!(
            choose_mechanism(&set(&["SCRAM-SHA-1"]), cert(false, true)),
            None
        );
        assert_eq!(
            choose_mechanism(&all, cert(true, false)),
            Some(("SCRAM-SHA-1", false))
        );
        assert_eq!(
            choose_mechanism(&all, pw(true, true)),
            Some(("SCRAM-SHA-256-PLUS", true))
        );
    }
}
