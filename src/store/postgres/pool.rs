//! A small pool of PostgreSQL connections, the TLS choice, and what counts
//! as a failure worth retrying (a restarted or unreachable server).
//!
//! A handful of connections is all a bridge needs: item writes are
//! serialised by the database anyway (see `items.rs`), and reads are short.
//! A broken connection is replaced on its next use, so a PostgreSQL restart
//! costs the operations in flight one retry, nothing more.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, MappedMutexGuard, Mutex, MutexGuard};
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::{AsyncMessage, Client, Config, Connection, NoTls, Notification};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::StoreError;

/// How long an operation keeps retrying a server that is restarting or
/// unreachable before it reports the failure.
pub(super) const RETRY_FOR: Duration = Duration::from_secs(60);

/// The pool: a fixed number of slots, each opened on first use and again
/// after its connection broke.
pub(crate) struct Pool {
    config: Config,
    tls: Option<MakeRustlsConnect>,
    slots: Vec<Mutex<Option<Client>>>,
    next: AtomicUsize,
}

impl Pool {
    /// Parses `url` and prepares the TLS connector; connects nothing yet.
    pub(super) fn new(url: &str, size: usize) -> Result<Pool, StoreError> {
        let (url, files) = take_tls_files(url)?;
        let mut config: Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| StoreError::Location(e.to_string()))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("gridlink");
        }
        // `prefer` (libpq's default) would silently fall back to plain
        // text; TLS is used when the URL asks for it (`sslmode=require`),
        // checked against `sslrootcert` (libpq's parameter: a PEM file of
        // CA certificates) or else the system's trust anchors; rustls
        // always checks the host name too (libpq's `verify-full`, which
        // is accepted as a synonym). `sslcert`/`sslkey`: a client
        // certificate (PostgreSQL's `cert` authentication).
        let tls = match config.get_ssl_mode() {
            SslMode::Require => Some(tls_connector(&files)?),
            _ if files.cert.is_some() => {
                return Err(StoreError::Location(
                    "sslcert needs sslmode=verify-full (or require): a client certificate is sent only over TLS".into(),
                ))
            }
            _ => None,
        };
        Ok(Pool {
            config,
            tls,
            slots: (0..size.max(1)).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        })
    }

    /// A connection for one operation: a free slot if there is one, else
    /// the next in turn once its user is done.
    pub(super) async fn get(&self) -> Result<MappedMutexGuard<'_, Client>, tokio_postgres::Error> {
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let mut guard = None;
        for i in 0..n {
            if let Ok(g) = self.slots[(start + i) % n].try_lock() {
                guard = Some(g);
                break;
            }
        }
        let mut guard = match guard {
            Some(g) => g,
            None => self.slots[start].lock().await,
        };
        loop {
            if guard.as_ref().is_none_or(|c| c.is_closed()) {
                *guard = Some(self.open(None).await?);
            }
            // Filled just above, so the map succeeds.
            match MutexGuard::try_map(guard, |c| c.as_mut()) {
                Ok(client) => return Ok(client),
                Err(g) => guard = g,
            }
        }
    }

    /// Opens one connection; `notify` receives its `NOTIFY` messages.
    pub(super) async fn open(
        &self,
        notify: Option<mpsc::UnboundedSender<Notification>>,
    ) -> Result<Client, tokio_postgres::Error> {
        match &self.tls {
            Some(tls) => {
                let (client, conn) = self.config.connect(tls.clone()).await?;
                drive(conn, notify);
                Ok(client)
            }
            None => {
                let (client, conn) = self.config.connect(NoTls).await?;
                drive(conn, notify);
                Ok(client)
            }
        }
    }
}

/// Runs a connection until it closes, handing notifications to `notify`.
fn drive<S, T>(mut conn: Connection<S, T>, notify: Option<mpsc::UnboundedSender<Notification>>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if let Some(tx) = &notify {
                        let _ = tx.send(n);
                    }
                }
                Ok(AsyncMessage::Notice(n)) => tracing::debug!(notice = %n, "postgresql"),
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "postgresql connection closed");
                    break;
                }
            }
        }
    });
}

/// libpq's TLS file parameters, which tokio-postgres does not know.
#[derive(Debug, Default)]
struct TlsFiles {
    /// `sslrootcert`: the CA certificates the server's must chain to.
    root: Option<String>,
    /// `sslcert`: this client's certificate (and its chain).
    cert: Option<String>,
    /// `sslkey`: its private key.
    key: Option<String>,
}

/// rustls with `sslrootcert` or the system's trust anchors, and the client
/// certificate if there is one (the same crypto provider as the XMPP side).
fn tls_connector(files: &TlsFiles) -> Result<MakeRustlsConnect, StoreError> {
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    match files.root.as_deref() {
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| StoreError::Location(format!("sslrootcert {path}: {e}")))?;
            for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                let cert =
                    cert.map_err(|e| StoreError::Location(format!("sslrootcert {path}: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| StoreError::Location(format!("sslrootcert {path}: {e}")))?;
            }
            if roots.is_empty() {
                return Err(StoreError::Location(format!(
                    "sslrootcert {path}: no certificate in it"
                )));
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let builder = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Location(format!("TLS: {e}")))?
        .with_root_certificates(roots);
    let config = match (&files.cert, &files.key) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert), Some(key)) => {
            let (chain, der) = client_identity(cert, key)?;
            builder
                .with_client_auth_cert(chain, der)
                .map_err(|e| StoreError::Location(format!("sslcert {cert} / sslkey {key}: {e}")))?
        }
        _ => {
            return Err(StoreError::Location(
                "sslcert and sslkey go together: give both or neither".into(),
            ))
        }
    };
    Ok(MakeRustlsConnect::new(config))
}

type Identity = (
    Vec<rustls_pki_types::CertificateDer<'static>>,
    rustls_pki_types::PrivateKeyDer<'static>,
);

/// The client certificate chain in `cert` and the private key in `key`
/// (PEM). A key file that others can read is refused, as libpq does.
fn client_identity(cert: &str, key: &str) -> Result<Identity, StoreError> {
    let bad = |what: &str, e: &dyn std::fmt::Display| StoreError::Location(format!("{what}: {e}"));
    let pem = std::fs::read(cert).map_err(|e| bad(&format!("sslcert {cert}"), &e))?;
    let chain = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&format!("sslcert {cert}"), &e))?;
    if chain.is_empty() {
        return Err(bad(&format!("sslcert {cert}"), &"no certificate in it"));
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(key)
        .map_err(|e| bad(&format!("sslkey {key}"), &e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(bad(
            &format!("sslkey {key}"),
            &format!(
                "readable by others (mode {:o}): chmod 0600 it",
                mode & 0o777
            ),
        ));
    }
    let pem = std::fs::read(key).map_err(|e| bad(&format!("sslkey {key}"), &e))?;
    let key_der = rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| bad(&format!("sslkey {key}"), &e))?
        .ok_or_else(|| bad(&format!("sslkey {key}"), &"no private key in it"))?;
    Ok((chain, key_der))
}

/// `e` with its causes ("error performing TLS handshake: invalid peer
/// certificate: UnknownIssuer"): tokio-postgres's own text names only the
/// step that failed.
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let c_text = c.to_string();
        if !text.contains(&c_text) {
            text = format!("{text}: {c_text}");
        }
        cause = c.source();
    }
    text
}

/// `url` without its `sslrootcert=`, `sslcert=` and `sslkey=` query
/// parameters (which tokio-postgres does not know), and their values
/// (percent-decoded); `sslmode=verify-full` becomes `require`, which
/// verifies as much here (`verify-ca`, which skips the host name, is
/// refused rather than made stricter behind the user's back).
fn take_tls_files(url: &str) -> Result<(String, TlsFiles), StoreError> {
    let mut files = TlsFiles::default();
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), files));
    };
    let mut kept: Vec<&str> = Vec::new();
    for kv in query.split('&') {
        match kv.split_once('=') {
            Some(("sslrootcert", v)) => files.root = Some(percent_decode(v)),
            Some(("sslcert", v)) => files.cert = Some(percent_decode(v)),
            Some(("sslkey", v)) => files.key = Some(percent_decode(v)),
            Some(("sslmode", "verify-full")) => kept.push("sslmode=require"),
            Some(("sslmode", "verify-ca")) => {
                return Err(StoreError::Location(
                    "sslmode=verify-ca: gridlink always checks the server's host name too; use sslmode=verify-full".into(),
                ))
            }
            _ => kept.push(kv),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, files))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `e` is the kind of failure a retry fixes: a lost or refused
/// connection, a server shutting down or starting, a serialisation
/// conflict.
pub(super) fn transient(e: &tokio_postgres::Error) -> bool {
    // A certificate the trust anchors refuse stays refused.
    if e.to_string().contains("TLS handshake") {
        return false;
    }
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        return [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::CONNECTION_FAILURE,
            SqlState::CONNECTION_EXCEPTION,
        ]
        .contains(code);
    }
    // No SQLSTATE: the error came from the socket (refused, reset, timed out).
    std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
        || e.to_string().contains("timeout")
}
