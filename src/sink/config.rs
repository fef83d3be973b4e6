//! `[[sink]]` tables: which sink, with which settings, and building it.

use std::path::PathBuf;

use serde::Deserialize;

use super::deliver::{Format, Sink, SinkError};
use super::files::FilesSink;
use super::json_lines::JsonLinesSink;
use super::remote::{self, HttpKeys, SyslogKeys};
use super::tls::TlsFiles;

/// A `[[sink]]` table of the configuration file: which sink, and its
/// settings. The bridge's ROLIE store is not one of them: it is the bridge.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SinkConfig {
    /// `type = "json_lines"`: events as JSON lines (or items as XML).
    JsonLines {
        /// A file to append to; unset: stdout.
        #[serde(default)]
        path: Option<PathBuf>,
        /// `json` (default) or `xml`.
        #[serde(default)]
        format: Format,
    },
    /// `type = "files"`: one file per item, named after its item id.
    Files {
        /// The directory (created if missing).
        dir: PathBuf,
        /// `json` (default) or `xml`.
        #[serde(default)]
        format: Format,
    },
    /// `type = "syslog"`: RFC 5424 messages to a syslog receiver
    /// (`syslog://HOST:PORT` TCP, `syslog+tls://` TLS, `syslog+udp://` UDP).
    Syslog {
        /// The receiver: `syslog://HOST:PORT`, `syslog+tls://…`, `syslog+udp://…`.
        url: String,
        /// APP-NAME (default `gridlink`).
        #[serde(default)]
        app_name: Option<String>,
        /// HOSTNAME (default: the system's host name).
        #[serde(default)]
        hostname: Option<String>,
        /// Facility, by name or number (default `local0`).
        #[serde(default)]
        facility: Option<String>,
        /// UDP: the longest message in bytes (default 2048); longer MSGs are cut.
        #[serde(default)]
        max_datagram: Option<usize>,
        /// Messages per write (default 100).
        #[serde(default)]
        batch_size: Option<usize>,
        /// Seconds of failing before `/healthz` reports the sink (default 60).
        #[serde(default)]
        failing_after_secs: Option<u64>,
        /// TLS: extra trust anchors (PEM).
        #[serde(default)]
        ca_file: Option<PathBuf>,
        /// TLS: client certificate chain (PEM).
        #[serde(default)]
        cert_file: Option<PathBuf>,
        /// TLS: the client certificate's key (PEM).
        #[serde(default)]
        key_file: Option<PathBuf>,
    },
    /// `type = "http"`: batches POSTed as a JSON array (`http(s)://…`), to
    /// Splunk HEC (`splunk-hec+https://HOST:PORT`) or Elasticsearch
    /// (`elastic+https://HOST:PORT/INDEX`).
    Http {
        /// The receiver's URL.
        url: String,
        /// Events per request (default 100).
        #[serde(default)]
        batch_size: Option<usize>,
        /// Milliseconds to wait for a full batch (default 200).
        #[serde(default)]
        linger_ms: Option<u64>,
        /// A file holding the token (HEC token, Elasticsearch API key, bearer).
        #[serde(default)]
        token_file: Option<PathBuf>,
        /// An environment variable holding the token (default `GRIDLINK_SINK_TOKEN`).
        #[serde(default)]
        token_env: Option<String>,
        /// HEC: the events' `sourcetype` (default `gridlink:event`).
        #[serde(default)]
        sourcetype: Option<String>,
        /// Seconds of failing before `/healthz` reports the sink (default 60).
        #[serde(default)]
        failing_after_secs: Option<u64>,
        /// https: extra trust anchors (PEM).
        #[serde(default)]
        ca_file: Option<PathBuf>,
        /// https: client certificate chain (PEM).
        #[serde(default)]
        cert_file: Option<PathBuf>,
        /// https: the client certificate's key (PEM).
        #[serde(default)]
        key_file: Option<PathBuf>,
    },
    /// `type = "rid"`: the items of its topics as RID Reports (RFC 6545)
    /// to one peer over HTTPS with mutual TLS (RFC 6546); one table per peer.
    Rid {
        /// The peer's RID endpoint, e.g. `https://rid.csirt-b.example:4590/`.
        url: String,
        /// This endpoint's certificate chain (PEM), presented to the peer.
        tls_cert: PathBuf,
        /// Its key (PEM).
        tls_key: PathBuf,
        /// CA the peer's certificate chains to (PEM).
        peer_ca: PathBuf,
        /// Topics whose items go to this peer (all when unset).
        #[serde(default)]
        topics: Option<Vec<String>>,
        /// This system's address (RIDPolicy/Node of the Reports; default `127.0.0.1`).
        #[serde(default)]
        node: Option<String>,
        /// CRL files (PEM or DER) the peer's server certificate is checked
        /// against (RFC 6545 §9.3.1), as `[rid] crl` checks clients.
        #[serde(default)]
        crl: Option<Vec<PathBuf>>,
    },
}

impl SinkConfig {
    /// Builds the sink this table describes.
    pub fn build(&self) -> Result<Box<dyn Sink>, SinkError> {
        Ok(match self {
            SinkConfig::JsonLines { path: None, format } => {
                Box::new(JsonLinesSink::stdout(*format))
            }
            SinkConfig::JsonLines {
                path: Some(path),
                format,
            } => Box::new(JsonLinesSink::append_to(path, *format)?),
            SinkConfig::Files { dir, format } => Box::new(FilesSink::new(dir.clone(), *format)),
            SinkConfig::Syslog {
                url,
                app_name,
                hostname,
                facility,
                max_datagram,
                batch_size,
                failing_after_secs,
                ca_file,
                cert_file,
                key_file,
            } => {
                let keys = SyslogKeys {
                    app_name: app_name.clone(),
                    hostname: hostname.clone(),
                    facility: facility.clone(),
                    max_datagram: *max_datagram,
                    batch_size: *batch_size,
                    failing_after_secs: *failing_after_secs,
                };
                remote::syslog(url, &keys, tls(ca_file, cert_file, key_file))?
            }
            SinkConfig::Http {
                url,
                batch_size,
                linger_ms,
                token_file,
                token_env,
                sourcetype,
                failing_after_secs,
                ca_file,
                cert_file,
                key_file,
            } => {
                let keys = HttpKeys {
                    batch_size: *batch_size,
                    linger_ms: *linger_ms,
                    token_file: token_file.clone(),
                    token_env: token_env.clone(),
                    sourcetype: sourcetype.clone(),
                    failing_after_secs: *failing_after_secs,
                };
                remote::http(url, &keys, tls(ca_file, cert_file, key_file))?
            }
            // `rid` builds on `sink` (and `source`), so `sink` cannot name
            // `RidSink` without a circle of imports: the bridge builds it
            // with `rid::sink::build`.
            SinkConfig::Rid { url, .. } => {
                return Err(SinkError::config(
                    &format!("rid {url}"),
                    "a RID sink is built by the bridge (gridlink::rid::sink::build)",
                ))
            }
        })
    }

    /// The sink a URL names (`gridlink subscribe --to URL`): its scheme
    /// picks the table type, and query parameters fill the table's other
    /// keys (`syslog://h:514?app_name=x`, `splunk-hec+https://h:8088?token_file=/t`).
    pub fn from_url(url: &str) -> Result<SinkConfig, SinkError> {
        let bad = |d: String| SinkError::config("--to", d);
        let u = reqwest::Url::parse(url).map_err(|e| bad(format!("{url:?}: {e}")))?;
        let kind = match u.scheme() {
            "syslog" | "syslog+tls" | "syslog+udp" => "syslog",
            "http" | "https" | "splunk-hec+http" | "splunk-hec+https" | "elastic+http"
            | "elastic+https" => "http",
            other => return Err(bad(format!("unknown sink scheme {other:?} (syslog, syslog+tls, syslog+udp, http, https, splunk-hec+https, elastic+http, elastic+https)"))),
        };
        let mut table = toml::Table::new();
        table.insert("type".into(), kind.into());
        let mut rest = u.clone();
        let mut kept = Vec::new();
        for (k, v) in u.query_pairs() {
            // Only the sink's own keys are taken out; a plain http URL may
            // carry a query of its own.
            let known = [
                "app_name",
                "hostname",
                "facility",
                "max_datagram",
                "batch_size",
                "linger_ms",
                "token_file",
                "token_env",
                "sourcetype",
                "ca_file",
                "cert_file",
                "key_file",
                "failing_after_secs",
            ];
            if known.contains(&k.as_ref()) {
                let value = match v.parse::<i64>() {
                    Ok(n) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => n.into(),
                    _ => toml::Value::String(v.to_string()),
                };
                table.insert(k.to_string(), value);
            } else {
                kept.push((k.to_string(), v.to_string()));
            }
        }
        if kept.is_empty() {
            rest.set_query(None);
        } else {
            rest.query_pairs_mut().clear().extend_pairs(kept);
        }
        table.insert("url".into(), rest.to_string().into());
        table.try_into().map_err(|e: toml::de::Error| {
            bad(format!("{}: {}", remote::display_url(&u), e.message()))
        })
    }
}

fn tls(ca: &Option<PathBuf>, cert: &Option<PathBuf>, key: &Option<PathBuf>) -> TlsFiles {
    TlsFiles {
        ca_file: ca.clone(),
        cert_file: cert.clone(),
        key_file: key.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[[sink]]` tables: the type picks the variant, defaults fill in,
    /// unknown keys and types are refused.
    #[test]
    fn sink_tables() {
        let t: SinkConfig = toml::from_str("type = \"files\"\ndir = \"/tmp/x\"").unwrap();
        assert_eq!(
            t,
            SinkConfig::Files {
                dir: "/tmp/x".into(),
                format: Format::Json
            }
        );
        let t: SinkConfig = toml::from_str("type = \"json_lines\"\nformat = \"xml\"").unwrap();
        assert_eq!(
            t,
            SinkConfig::JsonLines {
                path: None,
                format: Format::Xml
            }
        );
        let e = toml::from_str::<SinkConfig>("type = \"files\"\ndir = \"d\"\ndirr = 1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("dirr"), "{e}");
        assert!(toml::from_str::<SinkConfig>("type = \"carrier-pigeon\"").is_err());
    }

    /// `type = "rid"`: the RID sink's keys, unknown ones refused.
    #[test]
    fn rid_tables() {
        let t: SinkConfig = toml::from_str(
            "type = \"rid\"\nurl = \"https://peer:4590/\"\ntls_cert = \"/c\"\ntls_key = \"/k\"\npeer_ca = \"/ca\"\ntopics = [\"incidents\"]",
        )
        .unwrap();
        assert_eq!(
            t,
            SinkConfig::Rid {
                url: "https://peer:4590/".into(),
                tls_cert: "/c".into(),
                tls_key: "/k".into(),
                peer_ca: "/ca".into(),
                topics: Some(vec!["incidents".into()]),
                node: None,
                crl: None,
            }
        );
        let e = toml::from_str::<SinkConfig>(
            "type = \"rid\"\nurl = \"u\"\ntls_cert = \"c\"\ntls_key = \"k\"\npeer_ca = \"a\"\npeer = 1",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("peer"), "{e}");
    }

    /// `--to URL`: the scheme picks the type, the sink's keys come out of
    /// the query, other query parameters stay in the URL.
    #[test]
    fn urls() {
        let c = SinkConfig::from_url("syslog+tls://h:6514?app_name=g&ca_file=/ca.pem&batch_size=5")
            .unwrap();
        let SinkConfig::Syslog {
            url,
            app_name,
            ca_file,
            batch_size,
            ..
        } = c
        else {
            panic!("{c:?}")
        };
        assert_eq!(url, "syslog+tls://h:6514");
        assert_eq!(app_name.as_deref(), Some("g"));
        assert_eq!(ca_file, Some("/ca.pem".into()));
        assert_eq!(batch_size, Some(5));
        let c = SinkConfig::from_url("https://h/in?key=1&linger_ms=0").unwrap();
        let SinkConfig::Http { url, linger_ms, .. } = c else {
            panic!()
        };
        assert_eq!(url, "https://h/in?key=1");
        assert_eq!(linger_ms, Some(0));
        let e = SinkConfig::from_url("syslog://h:1?sourcetype=x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("sourcetype"), "{e}");
        assert!(SinkConfig::from_url("ftp://h").is_err());
        // Every scheme builds (no connection is made before the first event).
        for u in [
            "syslog://127.0.0.1:1",
            "syslog+udp://127.0.0.1:1",
            "syslog+tls://localhost:1",
            "http://127.0.0.1:1/x",
            "splunk-hec+https://127.0.0.1:8088?token_env=PATH",
            "elastic+http://127.0.0.1:9200/gridlink",
        ] {
            let s = SinkConfig::from_url(u).unwrap().build().unwrap();
            assert!(s.own_cursor(), "{u}");
        }
        assert!(SinkConfig::from_url("elastic+http://h:9200/")
            .unwrap()
            .build()
            .is_err());
    }
}
