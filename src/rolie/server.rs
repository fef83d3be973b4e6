//! Binding, TLS and the serve loop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use axum_server::Handle;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::ServerConfig;

use super::auth::{self, Auth};
use super::config::RolieConfig;
use super::error::{read_file, ServeError};
use super::gate::Gate;
use super::hooks::Hooks;
use super::http::router;
use super::listen::{self, ConnLimit, Limited};
use super::observe::{MakeObserve, Observe};
use super::publish::Publisher;
use super::state::{AppState, Shared};
use super::urls::Urls;
use crate::store::Store;

/// A bound, not yet running ROLIE server. Binding first lets a caller learn
/// the port of a `:0` listener before serving.
pub struct RolieServer {
    /// One socket per server thread (one for the caller's runtime).
    listeners: Vec<std::net::TcpListener>,
    /// 0: serve on the caller's runtime; else that many threads.
    threads: usize,
    local_addr: SocketAddr,
    app: axum::Router,
    state: Shared,
    tls: Option<RustlsConfig>,
    request_timeout: Duration,
    http2_max_streams: u32,
}

impl std::fmt::Debug for RolieServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RolieServer")
            .field("local_addr", &self.local_addr)
            .field("threads", &self.threads)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl RolieServer {
    /// Checks the configuration, loads tokens and certificates, registers
    /// the configured topics in the store and binds the listener(s).
    pub async fn bind(
        config: RolieConfig,
        store: Store,
        publisher: Arc<dyn Publisher>,
        hooks: Hooks,
    ) -> Result<RolieServer, ServeError> {
        config.check()?;
        if !config.tls() && !config.listen.ip().is_loopback() {
            // Allowed only by allow_insecure_http; bearer tokens and
            // documents then cross the network in clear, so say it loudly.
            tracing::warn!(listen = %config.listen, "serving plain HTTP on a non-loopback address (allow_insecure_http): bearer tokens and documents travel unencrypted");
        }
        let auth = Auth::load(&config)?;
        let tls = if config.tls() {
            Some(tls_config(&config)?)
        } else {
            None
        };
        for topic in config.topics.keys() {
            store.ensure_topic(topic).await?;
        }
        let threads = config.server_threads();
        let listeners = listen::bind(config.listen, threads.max(1))?;
        let local_addr = listeners
            .first()
            .ok_or_else(|| ServeError::Config("no listener".into()))?
            .local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{local_addr}"));
        tracing::info!(%local_addr, %base, tls = tls.is_some(), threads, max_connections = config.max_connections, "ROLIE server bound");
        let request_timeout = config.request_timeout();
        let http2_max_streams = config.http2_max_concurrent_streams;
        let state = Arc::new(AppState {
            urls: Urls::new(&base),
            connections: Arc::new(ConnLimit::new(
                config.max_connections,
                config.max_connections_per_ip,
            )),
            config,
            store,
            publisher,
            json_form: hooks.json_form,
            health: hooks.health,
            metrics_hook: hooks.metrics,
            auth,
            responses: Default::default(),
            feed_cache: Default::default(),
        });
        Ok(RolieServer {
            listeners,
            threads,
            local_addr,
            app: router(state.clone()),
            state,
            tls,
            request_timeout,
            http2_max_streams,
        })
    }

    /// Mounts more routes beside the ROLIE routes (the TAXII 2.1 server), built from a
    /// [`Gate`] on this server: they share its listeners, TLS, limits, tokens and throttle.
    /// Their paths must not overlap the ROLIE ones, and they must not set a fallback.
    pub fn mount(mut self, routes: impl FnOnce(Gate) -> axum::Router) -> RolieServer {
        self.app = self.app.merge(routes(Gate(self.state.clone())));
        self
    }

    /// The bound address (the real port of a `:0` listener).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` resolves, then drains open requests for up
    /// to ten seconds. Dropping the returned future stops the server
    /// threads at once.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let setup = Arc::new(Setup {
            tls: self.tls,
            timeout: self.request_timeout,
            limit: self.state.connections.clone(),
            http2_max_streams: self.http2_max_streams,
        });
        let service = Observe::per_connection(self.app, self.state);
        let handles: Vec<Handle<SocketAddr>> =
            self.listeners.iter().map(|_| Handle::new()).collect();
        let _stop_on_drop = StopOnDrop(handles.clone());
        {
            let handles = handles.clone();
            tokio::spawn(async move {
                shutdown.await;
                tracing::info!("ROLIE server shutting down");
                for h in handles {
                    h.graceful_shutdown(Some(Duration::from_secs(10)));
                }
            });
        }
        if self.threads == 0 {
            let mut listeners = self.listeners.into_iter();
            let (Some(listener), Some(handle)) = (listeners.next(), handles.first()) else {
                return Err(ServeError::Config("no listener".into()));
            };
            return serve_on(listener, handle.clone(), service, setup).await;
        }
        // One thread per listener, each with a single-threaded runtime that
        // owns its connections from accept to close: no work stealing, no
        // cross-thread wake-ups, one timer wheel per thread.
        let mut done = Vec::new();
        for (i, (listener, handle)) in self.listeners.into_iter().zip(&handles).enumerate() {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let (handle, service, setup) = (handle.clone(), service.clone(), setup.clone());
            std::thread::Builder::new()
                .name(format!("rolie-http-{i}"))
                .spawn(move || {
                    let result = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(ServeError::Io)
                        .and_then(|rt| rt.block_on(serve_on(listener, handle, service, setup)));
                    let _ = tx.send(result);
                })?;
            done.push(rx);
        }
        let mut result = Ok(());
        for rx in done {
            let r = rx.await.unwrap_or_else(|_| {
                Err(ServeError::Io(std::io::Error::other(
                    "server thread panicked",
                )))
            });
            if let Err(e) = r {
                // One thread failing stops the others.
                tracing::error!(error = %e, "ROLIE server thread failed");
                for h in &handles {
                    h.graceful_shutdown(Some(Duration::from_secs(10)));
                }
                if result.is_ok() {
                    result = Err(e);
                }
            }
        }
        result
    }
}

/// What every server thread needs besides its listener.
struct Setup {
    tls: Option<RustlsConfig>,
    timeout: Duration,
    limit: Arc<ConnLimit>,
    http2_max_streams: u32,
}

/// Stops the servers of `handles` when dropped (`run`'s future dropped
/// before its shutdown signal): threads must not outlive their owner.
struct StopOnDrop(Vec<Handle<SocketAddr>>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        for h in &self.0 {
            h.shutdown();
        }
    }
}

/// Serves `listener` on the current runtime until `handle` says stop.
async fn serve_on(
    listener: std::net::TcpListener,
    handle: Handle<SocketAddr>,
    service: MakeObserve,
    setup: Arc<Setup>,
) -> Result<(), ServeError> {
    // axum-server and hyper leave every read unbounded by default (axum-
    // server even switches hyper's 30 s header timeout off): a client
    // that connects and sends half a request would hold its connection,
    // task and file descriptor forever, and enough of them exhaust the
    // process. So each phase a client controls is limited: the TLS
    // handshake (`handshake_timeout`), and the time from the accept or the
    // last answer to the next complete request head (`Limited`'s
    // per-connection timer, which also covers hyper's untimed HTTP/1-vs-
    // HTTP/2 detection and idle HTTP/2 connections). That timer replaces
    // hyper's `header_read_timeout` and axum-server's
    // `first_request_timeout`, which arm and drop a timer for every
    // request (see `listen::Activity`). POST bodies are bounded in the
    // write handler (`write::create`), which can answer 408. The number of
    // connections is capped (`Limited`), and so is the number of
    // concurrent HTTP/2 streams per connection.
    let t = setup.timeout;
    let limited = Limited {
        limit: setup.limit.clone(),
        idle: t,
    };
    let plain = axum_server::from_tcp(listener)?.handle(handle);
    match &setup.tls {
        Some(tls) => {
            let acceptor = RustlsAcceptor::new(tls.clone())
                .handshake_timeout(t)
                .acceptor(limited);
            let mut server = plain.acceptor(acceptor);
            server
                .http_builder()
                .http2()
                .max_concurrent_streams(setup.http2_max_streams);
            server.serve(service).await?
        }
        None => {
            let mut server = plain.acceptor(limited);
            server
                .http_builder()
                .http2()
                .max_concurrent_streams(setup.http2_max_streams);
            server.serve(service).await?
        }
    }
    Ok(())
}

/// TLS 1.2 and 1.3 with aws-lc-rs (the provider gridlink uses everywhere),
/// ALPN h2 and http/1.1, no 0-RTT (rustls' default `max_early_data_size`
/// is 0; RFC 8322 §5.3 advises against replayable early data), and client
/// certificates required when `client_ca` is set (RFC 8322 §5.3).
fn tls_config(config: &RolieConfig) -> Result<RustlsConfig, ServeError> {
    let tls = |e: &dyn std::fmt::Display| ServeError::Tls(e.to_string());
    let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
        return Err(ServeError::Config(
            "tls_cert and tls_key go together".into(),
        ));
    };
    let certs = CertificateDer::pem_slice_iter(read_file(cert)?.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls(&e))?;
    if certs.is_empty() {
        return Err(ServeError::Tls(format!(
            "no certificate in {}",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_slice(read_file(key)?.as_bytes()).map_err(|e| tls(&e))?;
    let provider = Arc::new(aws_lc_rs::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(&e))?;
    let builder = match auth::client_verifier(config, provider)? {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let mut server = builder.with_single_cert(certs, key).map_err(|e| tls(&e))?;
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(RustlsConfig::from_config(Arc::new(server)))
}
