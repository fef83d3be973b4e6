//! Building the remote sinks (syslog, HTTP) from a URL and a few keys: the
//! URL's scheme picks the sink, its host, port and path where it goes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::deliver::{Batching, Sink, SinkError};
use super::http::{Flavor, HttpOptions, HttpSink};
use super::syslog::{
    facility, system_hostname, Header, SyslogOptions, SyslogSink, Transport, DEFAULT_MAX_DATAGRAM,
    DEFAULT_REPLAY_BYTES,
};
use super::tls::TlsFiles;

/// The environment variable an HEC or API token is read from by default.
pub const DEFAULT_TOKEN_ENV: &str = "GRIDLINK_SINK_TOKEN";

/// The name of a sink for logs, metrics and its cursor: the URL without
/// credentials or query.
pub fn display_url(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string().trim_end_matches('/').to_string()
}

fn parse(url: &str) -> Result<reqwest::Url, SinkError> {
    reqwest::Url::parse(url).map_err(|e| SinkError::config("sink", format!("bad sink URL: {e}")))
}

fn host_port(u: &reqwest::Url, default_port: u16) -> Result<(String, u16), SinkError> {
    let host = u
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| SinkError::config(&display_url(u), "the URL names no host"))?;
    Ok((host.to_string(), u.port().unwrap_or(default_port)))
}

/// The syslog settings of a `[[sink]] type = "syslog"` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyslogKeys {
    /// APP-NAME (default `gridlink`).
    pub app_name: Option<String>,
    /// HOSTNAME (default: the system's).
    pub hostname: Option<String>,
    /// Facility name or number (default `local0`).
    pub facility: Option<String>,
    /// UDP: longest message.
    pub max_datagram: Option<usize>,
    /// Messages per write.
    pub batch_size: Option<usize>,
    /// Seconds of failing before `/healthz` reports the sink (default 60).
    pub failing_after_secs: Option<u64>,
}

/// A syslog sink for `syslog://`, `syslog+tls://` or `syslog+udp://`.
pub fn syslog(url: &str, keys: &SyslogKeys, tls: TlsFiles) -> Result<Box<dyn Sink>, SinkError> {
    let u = parse(url)?;
    let name = display_url(&u);
    let (transport, port) = match u.scheme() {
        "syslog" => (Transport::Tcp, 514),
        "syslog+tls" => (Transport::Tls, 6514),
        "syslog+udp" => (Transport::Udp, 514),
        other => {
            return Err(SinkError::config(
                &name,
                format!("not a syslog scheme: {other}"),
            ))
        }
    };
    let (host, port) = host_port(&u, port)?;
    let fac = match &keys.facility {
        Some(f) => facility(f)
            .ok_or_else(|| SinkError::config(&name, format!("unknown facility {f:?}")))?,
        None => 16,
    };
    let hostname = keys.hostname.clone().unwrap_or_else(system_hostname);
    let opts = SyslogOptions {
        transport,
        host,
        port,
        header: Header::new(
            fac,
            &hostname,
            keys.app_name.as_deref().unwrap_or("gridlink"),
        ),
        tls,
        max_datagram: keys.max_datagram.unwrap_or(DEFAULT_MAX_DATAGRAM).max(480),
        batch: keys.batch_size.unwrap_or(100).max(1),
        replay_bytes: DEFAULT_REPLAY_BYTES,
        failing_after: Duration::from_secs(keys.failing_after_secs.unwrap_or(60)),
    };
    Ok(Box::new(SyslogSink::new(name, opts)?))
}

/// The HTTP settings of a `[[sink]] type = "http"` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpKeys {
    /// Events per request (default 100).
    pub batch_size: Option<usize>,
    /// Milliseconds to wait for a full batch (default 200).
    pub linger_ms: Option<u64>,
    /// A file holding the token.
    pub token_file: Option<PathBuf>,
    /// An environment variable holding the token.
    pub token_env: Option<String>,
    /// HEC's `sourcetype` (default `gridlink:event`).
    pub sourcetype: Option<String>,
    /// Seconds of failing before `/healthz` reports the sink (default 60).
    pub failing_after_secs: Option<u64>,
}

fn read_token(name: &str, keys: &HttpKeys) -> Result<Option<String>, SinkError> {
    let token = match (&keys.token_file, &keys.token_env) {
        (Some(f), _) => Some(read_token_file(name, f)?),
        (None, Some(var)) => Some(std::env::var(var).map_err(|_| {
            SinkError::config(name, format!("the token variable {var} is not set"))
        })?),
        (None, None) => std::env::var(DEFAULT_TOKEN_ENV).ok(),
    };
    Ok(token
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty()))
}

fn read_token_file(name: &str, f: &Path) -> Result<String, SinkError> {
    // A token is short; a larger file is a mistake.
    let meta = std::fs::metadata(f)
        .map_err(|e| SinkError::config(name, format!("token file {}: {e}", f.display())))?;
    if meta.len() > 64 * 1024 {
        return Err(SinkError::config(
            name,
            format!("token file {} is too large", f.display()),
        ));
    }
    std::fs::read_to_string(f)
        .map_err(|e| SinkError::config(name, format!("token file {}: {e}", f.display())))
}

/// An HTTP sink for `http(s)://`, `splunk-hec+http(s)://` or
/// `elastic+http(s)://HOST:PORT/INDEX`.
pub fn http(url: &str, keys: &HttpKeys, tls: TlsFiles) -> Result<Box<dyn Sink>, SinkError> {
    let u = parse(url)?;
    let name = display_url(&u);
    let (flavor_word, scheme) = match u.scheme().split_once('+') {
        Some((f, s)) => (f, s),
        None => ("", u.scheme()),
    };
    if !matches!(scheme, "http" | "https") {
        return Err(SinkError::config(
            &name,
            format!("not an HTTP scheme: {}", u.scheme()),
        ));
    }
    let (host, port) = host_port(&u, if scheme == "https" { 443 } else { 80 })?;
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    let base = format!("{scheme}://{host}:{port}");
    let (flavor, endpoint) = match flavor_word {
        "" => {
            let mut e = u.clone();
            e.set_scheme(scheme)
                .map_err(|_| SinkError::config(&name, "bad scheme"))?;
            let _ = e.set_username("");
            let _ = e.set_password(None);
            e.set_query(None);
            (Flavor::JsonArray, e.to_string())
        }
        "splunk-hec" => {
            let path = match u.path() {
                "" | "/" => "/services/collector/event",
                p => p,
            };
            let flavor = Flavor::Hec {
                sourcetype: keys
                    .sourcetype
                    .clone()
                    .unwrap_or_else(|| "gridlink:event".into()),
                host: system_hostname(),
            };
            (flavor, format!("{base}{path}"))
        }
        "elastic" => {
            let index = u.path().trim_matches('/');
            if index.is_empty() || index.contains('/') {
                return Err(SinkError::config(
                    &name,
                    "elastic+http(s)://HOST:PORT/INDEX needs one index",
                ));
            }
            (
                Flavor::Elastic {
                    index: index.into(),
                },
                format!("{base}/_bulk"),
            )
        }
        other => {
            return Err(SinkError::config(
                &name,
                format!("unknown sink kind {other:?}"),
            ))
        }
    };
    let opts = HttpOptions {
        flavor,
        endpoint,
        token: read_token(&name, keys)?,
        tls,
        batching: Batching {
            max: keys.batch_size.unwrap_or(100).max(1),
            linger: Duration::from_millis(keys.linger_ms.unwrap_or(200)),
        },
        timeout: Duration::from_secs(30),
        failing_after: Duration::from_secs(keys.failing_after_secs.unwrap_or(60)),
    };
    Ok(Box::new(HttpSink::new(name, opts)?))
}
