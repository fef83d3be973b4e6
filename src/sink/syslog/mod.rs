//! The syslog sink: RFC 5424 messages over TCP (RFC 6587 octet counting),
//! TLS (RFC 5425) or UDP (RFC 5426), one per event, the event's JSON line
//! as MSG and its topic, item id, IncidentID and purpose as structured data.
//!
//! Syslog over TCP has no acknowledgement: a message counts as delivered
//! once written, flushed, and the connection still stands afterwards. What
//! sat in the socket buffers when the receiver died is lost to it without
//! a word, so the sink keeps the last messages written on a connection
//! (`replay`, 8 MiB by default) and, when it finds that connection closed,
//! writes them again first on the next one: nothing is lost as long as
//! less than that was in flight, at the price of duplicates (syslog has no
//! id to drop them by; the structured data's `itemId` tells them apart).
//! UDP has no delivery check at all: a datagram sent counts as delivered.

mod format;
mod transport;

use std::collections::VecDeque;
use std::sync::Arc;

pub use format::{facility, message, Header, SD_ID};
pub use transport::Transport;
use transport::{connect, Conn};

use super::deliver::{Batching, BoxFuture, Outcome, Sink, SinkError};
use super::fanout::to_line;
use super::tls::TlsFiles;
use crate::grid::GridEvent;

/// The largest UDP message by default (RFC 5426 §3.2 asks receivers for at
/// least 2048 octets; more may be cut or dropped by the path).
pub const DEFAULT_MAX_DATAGRAM: usize = 2048;
/// How many bytes of recent messages are kept to write again after a
/// connection turned out closed.
pub const DEFAULT_REPLAY_BYTES: usize = 8 << 20;

/// A syslog sink's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogOptions {
    /// TCP, TLS or UDP.
    pub transport: Transport,
    /// The receiver's host.
    pub host: String,
    /// The receiver's port.
    pub port: u16,
    /// Header fields: facility, HOSTNAME, APP-NAME.
    pub header: Header,
    /// TLS files (`syslog+tls://`).
    pub tls: TlsFiles,
    /// UDP: longest message; longer MSGs are cut (`truncated="true"`).
    pub max_datagram: usize,
    /// Messages per write.
    pub batch: usize,
    /// Bytes of recent messages kept for writing again (TCP, TLS).
    pub replay_bytes: usize,
    /// After how long of failing the sink counts as unhealthy.
    pub failing_after: std::time::Duration,
}

/// The syslog sink.
pub struct SyslogSink {
    name: String,
    opts: SyslogOptions,
    tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
    conn: Option<Conn>,
    /// Messages written on the current connection, newest last.
    recent: VecDeque<String>,
    recent_bytes: usize,
    /// The last connection was found closed: write `recent` first.
    replay: bool,
}

impl SyslogSink {
    /// A sink for these settings (connecting happens on the first event).
    pub fn new(name: String, opts: SyslogOptions) -> Result<SyslogSink, SinkError> {
        let tls = match opts.transport {
            Transport::Tls => Some(
                opts.tls
                    .client_config()
                    .map_err(|e| SinkError::config(&name, e))?,
            ),
            _ => None,
        };
        Ok(SyslogSink {
            name,
            opts,
            tls,
            conn: None,
            recent: VecDeque::new(),
            recent_bytes: 0,
            replay: false,
        })
    }

    fn remember(&mut self, messages: Vec<String>) {
        if self.opts.transport == Transport::Udp {
            return;
        }
        for m in messages {
            self.recent_bytes += m.len();
            self.recent.push_back(m);
        }
        while self.recent_bytes > self.opts.replay_bytes {
            match self.recent.pop_front() {
                Some(m) => self.recent_bytes -= m.len(),
                None => break,
            }
        }
    }

    async fn send(&mut self, messages: Vec<String>) -> Result<(), SinkError> {
        let name = self.name.clone();
        let broken = |e: std::io::Error| SinkError::remote(&name, e);
        if let Some(c) = self.conn.as_mut() {
            if !c.stands() {
                tracing::warn!(sink = %self.name, "the receiver closed the connection; reconnecting and writing the last messages again");
                self.conn = None;
                self.replay = true;
            }
        }
        if self.conn.is_none() {
            let c = connect(
                self.opts.transport,
                &self.opts.host,
                self.opts.port,
                self.tls.as_ref(),
            )
            .await
            .map_err(broken)?;
            self.conn = Some(c);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(SinkError::remote(&self.name, "not connected"));
        };
        if self.replay {
            let again: Vec<String> = self.recent.iter().cloned().collect();
            if let Err(e) = conn.send(&again).await {
                self.conn = None;
                return Err(broken(e));
            }
            tracing::info!(sink = %self.name, messages = again.len(), "written again after a closed connection");
            self.replay = false;
        }
        if let Err(e) = conn.send(&messages).await {
            self.conn = None;
            self.replay = true;
            return Err(broken(e));
        }
        if !conn.stands() {
            self.conn = None;
            self.replay = true;
            return Err(SinkError::remote(
                &self.name,
                "the receiver closed the connection",
            ));
        }
        self.remember(messages);
        Ok(())
    }
}

impl Sink for SyslogSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn own_cursor(&self) -> bool {
        true
    }

    fn failing_after(&self) -> std::time::Duration {
        self.opts.failing_after
    }

    fn batching(&self) -> Batching {
        Batching {
            max: self.opts.batch.max(1),
            linger: std::time::Duration::ZERO,
        }
    }

    fn deliver<'a>(&'a mut self, ev: &'a GridEvent) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            match self.deliver_batch(std::slice::from_ref(ev)).await?.first() {
                Some(Outcome::Accepted) => Ok(()),
                _ => Err(SinkError::remote(&self.name, "not delivered")),
            }
        })
    }

    fn deliver_batch<'a>(
        &'a mut self,
        evs: &'a [GridEvent],
    ) -> BoxFuture<'a, Result<Vec<Outcome>, SinkError>> {
        Box::pin(async move {
            let max = (self.opts.transport == Transport::Udp).then_some(self.opts.max_datagram);
            let messages: Vec<String> = evs
                .iter()
                .map(|ev| message(&self.opts.header, ev, &to_line(ev), max))
                .collect();
            self.send(messages).await?;
            Ok(vec![Outcome::Accepted; evs.len()])
        })
    }
}

/// The system's host name (for HOSTNAME), `-` when unknown.
pub fn system_hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at
    // most that many bytes.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return "-".into();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn item(id: &str) -> GridEvent {
        GridEvent::Item {
            envelope: crate::envelope::Envelope {
                topic: "t".into(),
                item_id: id.into(),
                publisher: None,
                received_at: chrono::Utc::now(),
                delayed_at: None,
                payload_ns: crate::envelope::IODEF_V2_NS.into(),
                document: "<x/>".into(),
            },
            iodef: None,
        }
    }

    /// Reads one connection until the message of item `last`; the item
    /// ids of its frames.
    async fn read_until(l: &tokio::net::TcpListener, last: &str) -> Vec<String> {
        let (mut s, _) = l.accept().await.unwrap();
        let mut text = Vec::new();
        let want = format!("itemId=\"{last}\"");
        while !String::from_utf8_lossy(&text).contains(&want) {
            let mut b = [0u8; 4096];
            let n = s.read(&mut b).await.unwrap();
            assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&text));
            text.extend_from_slice(&b[..n]);
        }
        String::from_utf8_lossy(&text)
            .split("itemId=\"")
            .skip(1)
            .map(|r| r[..r.find('"').unwrap()].to_string())
            .collect()
    }

    /// A receiver that closed the connection gets the messages written on
    /// it again, first, on the next connection: what sat in its buffers
    /// when it went away is not lost.
    #[tokio::test]
    async fn closed_connection_replays_recent_messages() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let opts = SyslogOptions {
            transport: Transport::Tcp,
            host: "127.0.0.1".into(),
            port,
            header: Header::new(16, "h", "gridlink"),
            tls: TlsFiles::default(),
            max_datagram: DEFAULT_MAX_DATAGRAM,
            batch: 10,
            replay_bytes: DEFAULT_REPLAY_BYTES,
            failing_after: std::time::Duration::from_secs(60),
        };
        let mut sink = SyslogSink::new("s".into(), opts).unwrap();
        let first = [item("a"), item("b")];
        let out = sink.deliver_batch(&first).await.unwrap();
        assert_eq!(out, vec![Outcome::Accepted; 2]);
        // The receiver takes the connection and drops it (as a receiver
        // that dies does, whatever it had read).
        let (s, _) = l.accept().await.unwrap();
        drop(s);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let second = [item("c")];
        let sent = tokio::spawn(async move {
            let r = sink.deliver_batch(&second).await.map(|o| o.len());
            (r, sink)
        });
        let got = read_until(&l, "c").await;
        let (r, _sink) = sent.await.unwrap();
        assert_eq!(r.unwrap(), 1);
        assert_eq!(got, vec!["a", "b", "c"]);
    }
}
