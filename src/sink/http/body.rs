//! Request bodies of the HTTP sinks: a JSON array of event lines, Splunk
//! HEC event objects, Elasticsearch `_bulk` NDJSON.

use std::fmt::Write as _;

use crate::grid::GridEvent;
use crate::sink::fanout::to_line;

/// Which receiver the HTTP sink speaks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flavor {
    /// `http(s)://…`: a JSON array of the events' JSON objects.
    JsonArray,
    /// `splunk-hec+https://…`: HEC `/services/collector/event`.
    Hec {
        /// The `sourcetype` of every event.
        sourcetype: String,
        /// The `host` of every event.
        host: String,
    },
    /// `elastic+http(s)://…/INDEX`: `_bulk` into this index.
    Elastic {
        /// The index.
        index: String,
    },
}

impl Flavor {
    /// The `Content-Type` of a body.
    pub fn content_type(&self) -> &'static str {
        match self {
            Flavor::JsonArray | Flavor::Hec { .. } => "application/json",
            Flavor::Elastic { .. } => "application/x-ndjson",
        }
    }

    /// The `Authorization` scheme a token goes with.
    pub fn auth_scheme(&self) -> &'static str {
        match self {
            Flavor::JsonArray => "Bearer",
            Flavor::Hec { .. } => "Splunk",
            Flavor::Elastic { .. } => "ApiKey",
        }
    }

    /// The body for `evs`.
    pub fn body(&self, evs: &[GridEvent]) -> String {
        let lines: Vec<String> = evs.iter().map(to_line).collect();
        let mut out = String::with_capacity(lines.iter().map(|l| l.len() + 128).sum());
        match self {
            Flavor::JsonArray => {
                out.push('[');
                for (i, l) in lines.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(l);
                }
                out.push(']');
            }
            Flavor::Hec { sourcetype, host } => {
                let st = json_string(sourcetype);
                let host = json_string(host);
                for (ev, l) in evs.iter().zip(&lines) {
                    let _ = writeln!(
                        out,
                        "{{\"time\":{},\"host\":{host},\"source\":\"gridlink\",\"sourcetype\":{st},\"event\":{l}}}",
                        epoch(ev)
                    );
                }
            }
            Flavor::Elastic { index } => {
                let index = json_string(index);
                for (ev, l) in evs.iter().zip(&lines) {
                    match ev {
                        // The item id is the document id: a replay
                        // overwrites rather than duplicates.
                        GridEvent::Item { envelope, .. } => {
                            let id = json_string(&envelope.item_id);
                            let _ = writeln!(
                                out,
                                "{{\"index\":{{\"_index\":{index},\"_id\":{id}}}}}\n{l}"
                            );
                        }
                        GridEvent::Retract { item_id, .. } => {
                            let id = json_string(item_id);
                            let _ =
                                writeln!(out, "{{\"delete\":{{\"_index\":{index},\"_id\":{id}}}}}");
                        }
                        _ => {
                            let _ = writeln!(out, "{{\"index\":{{\"_index\":{index}}}}}\n{l}");
                        }
                    }
                }
            }
        }
        out
    }
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The event's time in seconds since the epoch (HEC's `time`), with
/// milliseconds.
fn epoch(ev: &GridEvent) -> String {
    let t = match ev {
        GridEvent::Item { envelope, .. } => envelope.received_at,
        GridEvent::Retract { received_at, .. }
        | GridEvent::Purge { received_at, .. }
        | GridEvent::Delete { received_at, .. }
        | GridEvent::Rejected { received_at, .. } => *received_at,
        _ => chrono::Utc::now(),
    };
    format!("{}.{:03}", t.timestamp(), t.timestamp_subsec_millis())
}
