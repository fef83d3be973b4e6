//! Syslog transports: TCP with RFC 6587 octet counting (plain, or TLS as
//! RFC 5425 describes it), and UDP datagrams (RFC 5426).

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::TlsConnector;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one write may take before the connection counts as stuck.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Which transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `syslog://`: TCP, octet counting.
    Tcp,
    /// `syslog+tls://`: TLS over TCP (RFC 5425).
    Tls,
    /// `syslog+udp://`: one datagram per message (RFC 5426).
    Udp,
}

/// A byte stream to the receiver.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// An open connection.
pub enum Conn {
    /// TCP or TLS.
    Stream(Box<dyn Stream>),
    /// UDP (connected socket).
    Udp(UdpSocket),
}

/// Opens a connection to `host:port`.
pub async fn connect(
    transport: Transport,
    host: &str,
    port: u16,
    tls: Option<&Arc<ClientConfig>>,
) -> std::io::Result<Conn> {
    let addr = format!("{host}:{port}");
    let timed = |e| std::io::Error::new(std::io::ErrorKind::TimedOut, e);
    match transport {
        Transport::Udp => {
            let bind = if host.contains(':') {
                "[::]:0"
            } else {
                "0.0.0.0:0"
            };
            let sock = UdpSocket::bind(bind).await?;
            sock.connect(&addr).await?;
            Ok(Conn::Udp(sock))
        }
        Transport::Tcp | Transport::Tls => {
            let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr))
                .await
                .map_err(|_| timed("connect timed out"))??;
            tcp.set_nodelay(true)?;
            if transport == Transport::Tcp {
                return Ok(Conn::Stream(Box::new(tcp)));
            }
            let config = tls
                .cloned()
                .ok_or_else(|| std::io::Error::other("no TLS configuration"))?;
            let name =
                rustls_pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_string())
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
            let tls = tokio::time::timeout(
                CONNECT_TIMEOUT,
                TlsConnector::from(config).connect(name, tcp),
            )
            .await
            .map_err(|_| timed("TLS handshake timed out"))??;
            Ok(Conn::Stream(Box::new(tls)))
        }
    }
}

impl Conn {
    /// Writes the messages: octet-counted frames on a stream (one write,
    /// then a flush), one datagram each over UDP.
    pub async fn send(&mut self, messages: &[String]) -> std::io::Result<()> {
        match self {
            Conn::Udp(sock) => {
                for m in messages {
                    sock.send(m.as_bytes()).await?;
                }
                Ok(())
            }
            Conn::Stream(s) => {
                let mut buf = Vec::with_capacity(messages.iter().map(|m| m.len() + 8).sum());
                for m in messages {
                    frame(m, &mut buf);
                }
                let write = async {
                    s.write_all(&buf).await?;
                    s.flush().await
                };
                tokio::time::timeout(WRITE_TIMEOUT, write)
                    .await
                    .map_err(|_| {
                        std::io::Error::new(std::io::ErrorKind::TimedOut, "write timed out")
                    })?
            }
        }
    }

    /// Whether the connection still stands: a stream the receiver closed
    /// (or reset) reads as ended. A syslog receiver never sends anything,
    /// so a read that would wait means the connection is open. UDP has no
    /// connection: always `true`.
    pub fn stands(&mut self) -> bool {
        match self {
            Conn::Udp(_) => true,
            Conn::Stream(s) => {
                let mut b = [0u8; 256];
                match s.read(&mut b).now_or_never() {
                    None => true,
                    Some(Ok(0)) | Some(Err(_)) => false,
                    Some(Ok(_)) => true,
                }
            }
        }
    }
}

/// One RFC 6587 octet-counted frame: `LEN SP MSG`.
pub fn frame(m: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(m.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(m.as_bytes());
}
