//! Sending RID messages (RFC 6546 §3, the requester's side): `POST /` with `Content-Type: text/xml`
//! over mutual TLS, no redirects followed, retries with backoff when the transfer fails (sending is
//! idempotent), and every answer the RFC allows understood: an inline RID message, `202 Accepted`
//! with a `RID-Callback-Token` (the answer comes later as a callback), an empty `200`.

use std::path::Path;
use std::time::Duration;

use super::config::{client_tls_with_crls, RidConfigError};
use super::error::RidError;
use super::model::Rid;
use super::parse::parse;

/// The header that matches a callback to the request it answers.
pub const CALLBACK_TOKEN: &str = "RID-Callback-Token";

/// What a peer answered.
#[derive(Debug)]
pub enum Reply {
    /// `200` with a RID message (an Acknowledgement, Report or Result).
    Message(Box<Rid>),
    /// `200` with an empty body (a Report accepted).
    Empty,
    /// `202 Accepted`: the answer comes later as a callback carrying this token.
    Later(String),
}

/// Why sending failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Certificates or keys.
    #[error(transparent)]
    Config(#[from] RidConfigError),
    /// The connection or TLS failed (retried first).
    #[error("cannot reach {url}: {message}")]
    Transport {
        /// Where.
        url: String,
        /// Why.
        message: String,
    },
    /// The peer refused the message (4xx) or failed (5xx).
    #[error("{url} answered {status}: {body}")]
    Status {
        /// Where.
        url: String,
        /// The status.
        status: u16,
        /// What it said.
        body: String,
    },
    /// The message must be encrypted and cannot be (RFC 6545 §9.1): nothing was sent.
    #[error("not sent to {url}: {error}")]
    Encryption {
        /// Where.
        url: String,
        /// Why.
        error: super::xenc::XencError,
    },
    /// The answer is encrypted and cannot be decrypted with this endpoint's key.
    #[error("{url} answered with a message that cannot be decrypted: {error}")]
    Undecryptable {
        /// Where.
        url: String,
        /// Why.
        error: super::xenc::XencError,
    },
    /// The answer is not a RID message (RFC 6546: log it and show it to the operator).
    #[error("{url} answered with a message that is not valid RID: {error}")]
    BadReply {
        /// Where.
        url: String,
        /// Why.
        error: RidError,
    },
}

impl SendError {
    /// Whether trying again later may help (transport failures and 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            SendError::Transport { .. } => true,
            SendError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

/// Whom a restricted message (`private`, `need-to-know`) is encrypted for.
#[derive(Clone, Debug)]
enum Recipient {
    /// The certificate the peer presents in TLS at the URL (checked for its name and CA like
    /// every connection), learnt with a `GET` before the message is sent.
    Tls,
    /// This certificate (DER).
    Cert(std::sync::Arc<super::xenc::Recipient>),
    /// Nobody: restricted messages are refused.
    Unknown,
}

/// A RID requester with this endpoint's certificate.
#[derive(Clone, Debug)]
pub struct RidClient {
    http: reqwest::Client,
    tls: tokio_rustls::rustls::ClientConfig,
    /// Signs what is sent (the endpoint's TLS key; `None` after [`RidClient::unsigned`]).
    signatures: Option<std::sync::Arc<super::sign::Signatures>>,
    /// Whom restricted messages are encrypted for (RFC 6545 §9.1).
    recipient: Recipient,
    /// This endpoint's TLS key, decrypting encrypted answers (`None`: a key XML Encryption
    /// cannot use).
    decrypt: Option<std::sync::Arc<super::xenc::DecryptingKey>>,
    /// Attempts per message (the first included).
    pub attempts: u32,
    /// Where connections to a host are made instead of its DNS address ([`RidClient::via`]).
    resolve: Option<(String, std::net::SocketAddr)>,
}

impl RidClient {
    /// A client presenting `cert`/`key`, trusting peers whose certificates chain to `ca`.
    pub fn new(cert: &Path, key: &Path, ca: &Path) -> Result<RidClient, SendError> {
        RidClient::with_crls(cert, key, ca, &[])
    }

    /// [`RidClient::new`], the peer's certificate also checked against these CRL files.
    pub fn with_crls(
        cert: &Path,
        key: &Path,
        ca: &Path,
        crl: &[std::path::PathBuf],
    ) -> Result<RidClient, SendError> {
        let tls = client_tls_with_crls(cert, key, ca, crl)?;
        let signatures = super::sign::Signatures::from_files(cert, key, ca, true, false)
            .map_err(|e| RidConfigError::Tls(e.to_string()))?;
        Ok(RidClient {
            http: http(tls.clone(), None)?,
            tls,
            signatures: Some(std::sync::Arc::new(signatures)),
            recipient: Recipient::Tls,
            decrypt: super::xenc::DecryptingKey::from_pem(key)
                .map(std::sync::Arc::new)
                .ok(),
            attempts: 4,
            resolve: None,
        })
    }

    /// This client without signing (`[rid] sign = false`).
    pub fn unsigned(mut self) -> RidClient {
        self.signatures = None;
        self
    }

    /// This client encrypting restricted messages for this certificate (DER) instead of the one
    /// the peer presents in TLS.
    pub fn encrypt_for(mut self, cert: &[u8]) -> Result<RidClient, SendError> {
        let r = super::xenc::Recipient::from_cert(cert).map_err(|error| SendError::Encryption {
            url: String::new(),
            error,
        })?;
        self.recipient = Recipient::Cert(std::sync::Arc::new(r));
        Ok(self)
    }

    /// This client with no recipient certificate: restricted messages are refused, not sent.
    pub fn no_recipient(mut self) -> RidClient {
        self.recipient = Recipient::Unknown;
        self
    }

    /// The message as it goes on the wire: the originator's signature (over the clear text), then
    /// encryption when a restriction requires it, then the enveloped signature over what is sent.
    pub async fn wire(&self, url: &str, msg: &Rid) -> Result<String, SendError> {
        let mut body = msg.to_xml();
        if let Some(s) = &self.signatures {
            body = s.sign_origin(body, msg.msg_type());
        }
        let fail = |error| SendError::Encryption {
            url: url.to_string(),
            error,
        };
        let sealed = match &self.recipient {
            Recipient::Cert(r) => super::xenc::encrypt_message(body, Some(r)),
            Recipient::Unknown => super::xenc::encrypt_message(body, None),
            Recipient::Tls => match super::xenc::encrypt_message(body.clone(), None) {
                Err(super::xenc::XencError::NoRecipient(_)) => {
                    let cert = self.peer_certificate(url).await?;
                    let r = super::xenc::Recipient::from_cert(&cert).map_err(fail)?;
                    super::xenc::encrypt_message(body, Some(&r))
                }
                other => other,
            },
        }
        .map_err(fail)?;
        if let super::xenc::Sealed::Encrypted { because, .. } = &sealed {
            tracing::info!(url, restriction = %because, "restricted RID message encrypted for the peer");
        }
        let body = sealed.into_xml();
        Ok(match &self.signatures {
            Some(s) => s.sign_envelope(body),
            None => body,
        })
    }

    /// The certificate the peer presents at `url` (a `GET`, whose answer is not used).
    async fn peer_certificate(&self, url: &str) -> Result<Vec<u8>, SendError> {
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| SendError::Transport {
                url: url.to_string(),
                message: error_chain(&e),
            })?;
        resp.extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|t| t.peer_certificate())
            .map(<[u8]>::to_vec)
            .ok_or_else(|| SendError::Encryption {
                url: url.to_string(),
                error: super::xenc::XencError::NoRecipient(
                    "the peer presented no certificate".into(),
                ),
            })
    }

    /// The same client, its connections to `host` made to `addr` (the certificate still checked
    /// for `host`): how a callback reaches the requester's source address (RFC 6546 §3).
    pub fn via(&self, host: &str, addr: std::net::SocketAddr) -> Result<RidClient, SendError> {
        Ok(RidClient {
            http: http(self.tls.clone(), Some((host, addr)))?,
            tls: self.tls.clone(),
            signatures: self.signatures.clone(),
            recipient: self.recipient.clone(),
            decrypt: self.decrypt.clone(),
            attempts: self.attempts,
            resolve: Some((host.to_string(), addr)),
        })
    }

    /// Sends `msg` to `url`; with `token`, as the callback answering the request that got it.
    /// Transport failures and 5xx are retried with backoff (1, 2, 4 s …).
    pub async fn send(
        &self,
        url: &str,
        msg: &Rid,
        token: Option<&str>,
    ) -> Result<Reply, SendError> {
        let body = self.wire(url, msg).await?;
        let mut delay = Duration::from_secs(1);
        let mut n = 0;
        loop {
            n += 1;
            match self.once(url, &body, token).await {
                Err(e) if e.is_transient() && n < self.attempts => {
                    tracing::warn!(url, attempt = n, error = %e, "RID send failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
                r => return r,
            }
        }
    }

    async fn once(&self, url: &str, body: &str, token: Option<&str>) -> Result<Reply, SendError> {
        let transport = |e: reqwest::Error| SendError::Transport {
            url: url.to_string(),
            message: error_chain(&e),
        };
        let mut req = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "text/xml")
            .body(body.to_string());
        if let Some(t) = token {
            req = req.header(CALLBACK_TOKEN, t);
        }
        let resp = match req.send().await {
            Ok(resp) => resp,
            Err(e) => return Err(self.transport_failure(url, e).await),
        };
        let status = resp.status().as_u16();
        let header_token = resp
            .headers()
            .get(CALLBACK_TOKEN)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let bytes = resp.bytes().await.map_err(transport)?;
        match status {
            202 => Ok(Reply::Later(header_token.unwrap_or_default())),
            200 if bytes.iter().all(|b| b.is_ascii_whitespace()) => Ok(Reply::Empty),
            200 => match parse(&self.clear(url, bytes.to_vec())?) {
                Ok(m) => Ok(Reply::Message(Box::new(m))),
                Err(error) => {
                    tracing::error!(url, %error, "a RID peer answered with an invalid RID message");
                    Err(SendError::BadReply {
                        url: url.to_string(),
                        error,
                    })
                }
            },
            _ => Err(SendError::Status {
                url: url.to_string(),
                status,
                body: String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).into_owned(),
            }),
        }
    }
}

impl RidClient {
    /// A request that failed before an answer: when the peer hung up without a word and no TLS
    /// reason is in the error, the alert it sent after the handshake, learnt on a fresh
    /// connection ([`super::alert`]).
    async fn transport_failure(&self, url: &str, e: reqwest::Error) -> SendError {
        let mut message = error_chain(&e);
        if !e.is_timeout() && !message.contains("alert") {
            let resolve = self.resolve.as_ref();
            if let Some(alert) = super::alert::alert_after_handshake(&self.tls, resolve, url).await
            {
                message.push_str(&format!(" (the peer's TLS refusal: {alert})"));
            }
        }
        SendError::Transport {
            url: url.to_string(),
            message,
        }
    }

    /// An answer in clear text: an encrypted document (a Query's restricted Report) decrypted
    /// with this endpoint's key.
    fn clear(&self, url: &str, bytes: Vec<u8>) -> Result<Vec<u8>, SendError> {
        let text = match std::str::from_utf8(&bytes) {
            Ok(t) if super::xenc::is_encrypted(t) => t,
            _ => return Ok(bytes),
        };
        let fail = |error| SendError::Undecryptable {
            url: url.to_string(),
            error,
        };
        let key = self.decrypt.as_ref().ok_or_else(|| {
            fail(super::xenc::XencError::Key(
                "this endpoint's key cannot decrypt".into(),
            ))
        })?;
        super::xenc::decrypt_message(text, key)
            .map(String::into_bytes)
            .map_err(|e| {
                tracing::error!(url, error = %e, "a RID peer's encrypted answer cannot be decrypted");
                fail(e)
            })
    }
}

fn http(
    tls: tokio_rustls::rustls::ClientConfig,
    resolve: Option<(&str, std::net::SocketAddr)>,
) -> Result<reqwest::Client, SendError> {
    let mut b = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        // The peer's certificate, which restricted messages are encrypted for.
        .tls_info(true)
        // RFC 6546 §3: do not follow 3xx.
        .redirect(reqwest::redirect::Policy::none())
        // An inline answer is expected within about 30 s; past that the peer should have
        // answered 202.
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(10));
    if let Some((host, addr)) = resolve {
        b = b.resolve(host, addr);
    }
    b.build().map_err(|e| SendError::Transport {
        url: String::new(),
        message: e.to_string(),
    })
}

/// An error with its sources (reqwest hides the TLS reason in them).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
