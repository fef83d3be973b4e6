//! The raw ceiling: a minimal XMPP client that does just enough (direct TLS,
//! SASL PLAIN, resource binding) to get an authenticated stream, then writes
//! pre-serialised stanzas and finds answers and notifications by scanning
//! bytes. No XML parsing, no stanza objects: what is left is what the broker
//! itself costs.

use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use base64::Engine;
use memchr::memmem;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

use gridlink::config::{Config, Secret};

type Tls = TlsStream<TcpStream>;

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct Account {
    /// Direct TLS port on 127.0.0.1.
    pub port: u16,
    /// The lab CA (PEM).
    pub ca: std::path::PathBuf,
    /// Local part on `localhost`.
    pub user: String,
    /// Its password.
    pub password: String,
}

/// An authenticated, bound stream: read half plus bytes already read.
pub struct Stream {
    pub rd: ReadHalf<Tls>,
    pub wr: WriteHalf<Tls>,
    pub buf: Vec<u8>,
}

const STREAM_OPEN: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>";

/// Reads into `buf` until `pat` occurs at or after `from`; returns the index
/// just past the match. A stream error or SASL failure ends it.
async fn read_until(
    io: &mut (impl AsyncReadExt + Unpin),
    buf: &mut Vec<u8>,
    from: usize,
    pat: &[u8],
) -> anyhow::Result<usize> {
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        if let Some(i) = memmem::find(&buf[from.min(buf.len())..], pat) {
            return Ok(from + i + pat.len());
        }
        for bad in [&b"<stream:error"[..], b"<failure", b"type='error'"] {
            if memmem::find(buf, bad).is_some() {
                bail!("server said: {}", String::from_utf8_lossy(buf));
            }
        }
        let n = io.read(&mut chunk).await?;
        if n == 0 {
            bail!(
                "connection closed while waiting for {:?}",
                String::from_utf8_lossy(pat)
            );
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Connects with direct TLS, authenticates with PLAIN and binds `resource`.
pub async fn login(a: &Account, resource: &str) -> anyhow::Result<Stream> {
    let jid = format!("{}@localhost", a.user)
        .parse()
        .map_err(|e| anyhow!("jid: {e}"))?;
    let mut cfg = Config::new(jid, Secret::new(a.password.clone()));
    cfg.ca_file = Some(a.ca.clone());
    let tls = gridlink::xmpp::client_config(&cfg)?;
    let tcp = TcpStream::connect(("127.0.0.1", a.port))
        .await
        .with_context(|| format!("connect 127.0.0.1:{}", a.port))?;
    tcp.set_nodelay(true)?;
    let name = ServerName::try_from("localhost").map_err(|e| anyhow!("{e}"))?;
    let mut s = TlsConnector::from(Arc::clone(&tls))
        .connect(name, tcp)
        .await?;
    let mut buf = Vec::new();
    s.write_all(STREAM_OPEN.as_bytes()).await?;
    read_until(&mut s, &mut buf, 0, b"</stream:features>").await?;
    buf.clear();
    let creds =
        base64::engine::general_purpose::STANDARD.encode(format!("\0{}\0{}", a.user, a.password));
    s.write_all(
        format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{creds}</auth>")
            .as_bytes(),
    )
    .await?;
    let at = read_until(&mut s, &mut buf, 0, b"<success").await?;
    // `<success .../>` or `<success ...>…</success>`; nothing else follows
    // until we restart the stream.
    let rest = &buf[at..];
    if memmem::find(rest, b"/>").is_none() && memmem::find(rest, b"</success>").is_none() {
        read_until(&mut s, &mut buf, at, b">").await?;
    }
    buf.clear();
    s.write_all(STREAM_OPEN.as_bytes()).await?;
    read_until(&mut s, &mut buf, 0, b"</stream:features>").await?;
    buf.clear();
    s.write_all(
        format!("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>")
            .as_bytes(),
    )
    .await?;
    let end = read_until(&mut s, &mut buf, 0, b"</iq>").await?;
    buf.drain(..end);
    let (rd, wr) = tokio::io::split(s);
    Ok(Stream { rd, wr, buf })
}

impl Stream {
    /// Sends `text` and reads until `pat` (at or after what was buffered).
    pub async fn request(&mut self, text: &str, pat: &[u8]) -> anyhow::Result<Vec<u8>> {
        self.wr.write_all(text.as_bytes()).await?;
        self.wr.flush().await?;
        let end = read_until(&mut self.rd, &mut self.buf, 0, pat).await?;
        Ok(self.buf.drain(..end).collect())
    }

    /// Reads more bytes into the buffer; errors on end of stream.
    pub async fn fill(&mut self, chunk: &mut [u8]) -> anyhow::Result<()> {
        let n = self.rd.read(chunk).await?;
        if n == 0 {
            bail!("the server closed the stream");
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

/// Finds complete `<tag …>…</tag>` elements in a growing buffer, for
/// stanzas whose end tag cannot occur inside them (notifications, IQ results).
pub struct Elements {
    start: memmem::Finder<'static>,
    end: memmem::Finder<'static>,
}

impl Elements {
    /// `start` like `b"<message"`, `end` like `b"</message>"`.
    pub fn new(start: &'static [u8], end: &'static [u8]) -> Elements {
        Elements {
            start: memmem::Finder::new(start),
            end: memmem::Finder::new(end),
        }
    }

    /// Calls `f` on each complete element in `buf` and drains what was
    /// handled (also bytes that can hold no start of one).
    pub fn drain(&self, buf: &mut Vec<u8>, mut f: impl FnMut(&[u8])) {
        let mut pos = 0;
        loop {
            let Some(s) = self.start.find(&buf[pos..]).map(|i| pos + i) else {
                // Keep a tail that could be the beginning of a start tag.
                pos = pos.max(buf.len().saturating_sub(self.start.needle().len()));
                break;
            };
            let Some(e) = self
                .end
                .find(&buf[s..])
                .map(|i| s + i + self.end.needle().len())
            else {
                pos = s;
                break;
            };
            f(&buf[s..e]);
            pos = e;
        }
        buf.drain(..pos);
    }
}

/// Counts `<iq` answers in a growing buffer (publish results are
/// `<iq …/>` or `<iq …>…</iq>`): counts start tags, keeping a tail that
/// could be a split one. Returns (answers, errors).
pub fn count_iq(buf: &mut Vec<u8>) -> (usize, usize) {
    let mut n = 0;
    let mut errors = 0;
    let mut pos = 0;
    while let Some(i) = memmem::find(&buf[pos..], b"<iq ") {
        let s = pos + i;
        // The start tag ends at the first '>'; the type attribute is in it.
        let Some(gt) = memchr::memchr(b'>', &buf[s..]) else {
            pos = s;
            buf.drain(..pos);
            return (n, errors);
        };
        if memmem::find(&buf[s..s + gt], b"type='error'").is_some()
            || memmem::find(&buf[s..s + gt], b"type=\"error\"").is_some()
        {
            errors += 1;
        }
        n += 1;
        pos = s + gt;
    }
    pos = pos.max(buf.len().saturating_sub(3));
    buf.drain(..pos);
    (n, errors)
}
