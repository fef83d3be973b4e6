//! RFC 5424 messages: the header (PRI, version, timestamp, hostname,
//! APP-NAME, PROCID, MSGID), one structured-data element with the topic,
//! item id, IncidentID and purpose, and the event's JSON line as MSG.

use std::fmt::Write as _;

use crate::grid::GridEvent;

/// The SD-ID of gridlink's structured data. 32473 is the private
/// enterprise number RFC 5612 reserves for documentation and examples.
pub const SD_ID: &str = "gridlink@32473";

/// The header fields every message of one sink shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Facility number (0–23).
    pub facility: u8,
    /// HOSTNAME (printable ASCII, at most 255 characters).
    pub hostname: String,
    /// APP-NAME (printable ASCII, at most 48 characters).
    pub app_name: String,
    /// PROCID: gridlink's process id.
    pub procid: String,
}

impl Header {
    /// The header fields with anything RFC 5424 does not allow replaced.
    pub fn new(facility: u8, hostname: &str, app_name: &str) -> Header {
        Header {
            facility: facility.min(23),
            hostname: header_field(hostname, 255),
            app_name: header_field(app_name, 48),
            procid: std::process::id().to_string(),
        }
    }
}

/// A header field: printable US-ASCII without spaces (others become `_`),
/// cut at `max`; `-` (the NILVALUE) when empty.
fn header_field(s: &str, max: usize) -> String {
    let v: String = s
        .chars()
        .map(|c| if ('!'..='~').contains(&c) { c } else { '_' })
        .take(max)
        .collect();
    if v.is_empty() {
        "-".into()
    } else {
        v
    }
}

/// A facility by name (`local0`, `daemon`, …) or number.
pub fn facility(name: &str) -> Option<u8> {
    const NAMES: [&str; 24] = [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
        "authpriv", "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2",
        "local3", "local4", "local5", "local6", "local7",
    ];
    let n = name.trim().to_ascii_lowercase();
    if let Ok(v) = n.parse::<u8>() {
        return (v <= 23).then_some(v);
    }
    NAMES.iter().position(|f| *f == n).map(|p| p as u8)
}

/// The severity of an event: items are notices, what needs a look
/// (refused payloads, gaps, dropped notifications) warnings, the rest
/// informational.
fn severity(ev: &GridEvent) -> u8 {
    match ev {
        GridEvent::Item { .. } => 5,
        GridEvent::Rejected { .. } | GridEvent::Gap { .. } | GridEvent::Lagged { .. } => 4,
        _ => 6,
    }
}

/// The event's kind word (MSGID).
fn kind(ev: &GridEvent) -> &'static str {
    match ev {
        GridEvent::Item { .. } => "item",
        GridEvent::Retract { .. } => "retract",
        GridEvent::Purge { .. } => "purge",
        GridEvent::Delete { .. } => "delete",
        GridEvent::Rejected { .. } => "rejected",
        GridEvent::Pending { .. } => "pending",
        GridEvent::Approved { .. } => "approved",
        GridEvent::Unsubscribed { .. } => "unsubscribed",
        GridEvent::SubscriptionRequest { .. } => "subscription_request",
        GridEvent::Resubscribed { .. } => "resubscribed",
        GridEvent::Lagged { .. } => "lagged",
        GridEvent::TopicsAdded { .. } => "topics_added",
        GridEvent::Gap { .. } => "gap",
    }
}

/// The structured data's parameters of an event: topic, item id, and for
/// items the first Incident's IncidentID and purpose (from the RFC 8727
/// JSON form, when the event has it).
pub fn params(ev: &GridEvent) -> Vec<(&'static str, String)> {
    let mut p = Vec::new();
    let (topic, item) = match ev {
        GridEvent::Item { envelope, .. } => (Some(&envelope.topic), Some(&envelope.item_id)),
        GridEvent::Retract { topic, item_id, .. } | GridEvent::Rejected { topic, item_id, .. } => {
            (Some(topic), Some(item_id))
        }
        GridEvent::Purge { topic, .. }
        | GridEvent::Delete { topic, .. }
        | GridEvent::Pending { topic }
        | GridEvent::Approved { topic }
        | GridEvent::Unsubscribed { topic }
        | GridEvent::SubscriptionRequest { topic, .. }
        | GridEvent::Gap { topic, .. } => (Some(topic), None),
        _ => (None, None),
    };
    if let Some(t) = topic {
        p.push(("topic", t.clone()));
    }
    if let Some(i) = item {
        p.push(("itemId", i.clone()));
    }
    if let GridEvent::Item {
        iodef: Some(json), ..
    } = ev
    {
        let incident = &json["Incident"][0];
        if let Some(id) = incident["IncidentID"]["id"].as_str() {
            p.push(("incidentId", id.to_string()));
        }
        if let Some(name) = incident["IncidentID"]["name"].as_str() {
            p.push(("incidentIdName", name.to_string()));
        }
        if let Some(purpose) = incident["purpose"].as_str() {
            p.push(("purpose", purpose.to_string()));
        }
    }
    p
}

/// Escapes a PARAM-VALUE (RFC 5424 §6.3.3: `"`, `\` and `]`).
fn escape_param(v: &str, out: &mut String) {
    for c in v.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// One RFC 5424 message for `ev`, whose JSON line is `line`. With
/// `max_len`, MSG is cut (on a character boundary) so that the whole
/// message fits, and the structured data says `truncated="true"`: the
/// header and structured data are never cut.
pub fn message(h: &Header, ev: &GridEvent, line: &str, max_len: Option<usize>) -> String {
    let time = match ev {
        GridEvent::Item { envelope, .. } => envelope.received_at,
        GridEvent::Retract { received_at, .. }
        | GridEvent::Purge { received_at, .. }
        | GridEvent::Delete { received_at, .. }
        | GridEvent::Rejected { received_at, .. } => *received_at,
        _ => chrono::Utc::now(),
    };
    let pri = u16::from(h.facility) * 8 + u16::from(severity(ev));
    let mut head = String::with_capacity(256);
    let _ = write!(
        head,
        "<{pri}>1 {} {} {} {} {} ",
        time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        h.hostname,
        h.app_name,
        h.procid,
        kind(ev)
    );
    let sd = |truncated: bool| {
        let mut sd = String::with_capacity(128);
        sd.push('[');
        sd.push_str(SD_ID);
        for (k, v) in params(ev) {
            let _ = write!(sd, " {k}=\"");
            escape_param(&v, &mut sd);
            sd.push('"');
        }
        if truncated {
            sd.push_str(" truncated=\"true\"");
        }
        sd.push(']');
        sd
    };
    let full = head.len() + sd(false).len() + 1 + line.len();
    match max_len {
        Some(max) if full > max => {
            let sd = sd(true);
            let room = max.saturating_sub(head.len() + sd.len() + 1);
            let mut cut = room.min(line.len());
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{head}{sd} {}", &line[..cut])
        }
        _ => format!("{head}{} {line}", sd(false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Envelope;
    use chrono::DateTime;
    use serde_json::json;

    fn item() -> GridEvent {
        GridEvent::Item {
            envelope: Envelope {
                topic: "inc\"idents]".into(),
                item_id: "a\\1".into(),
                publisher: None,
                received_at: DateTime::from_timestamp_nanos(1_700_000_000_123_456_789),
                delayed_at: None,
                payload_ns: crate::envelope::IODEF_V2_NS.into(),
                document: "<x/>".into(),
            },
            iodef: Some(json!({"Incident": [{"purpose": "reporting",
                "IncidentID": {"id": "492382", "name": "csirt.example.com"}}]})),
        }
    }

    /// Header, escaped structured data, MSG as given.
    #[test]
    fn rfc5424_message() {
        let h = Header::new(16, "host one", "gridlink");
        let m = message(&h, &item(), "{\"a\":1}", None);
        let pid = std::process::id();
        assert_eq!(
            m,
            format!(
                "<133>1 2023-11-14T22:13:20.123456Z host_one gridlink {pid} item \
                 [gridlink@32473 topic=\"inc\\\"idents\\]\" itemId=\"a\\\\1\" incidentId=\"492382\" \
                 incidentIdName=\"csirt.example.com\" purpose=\"reporting\"] {{\"a\":1}}"
            )
        );
        assert_eq!(facility("local0"), Some(16));
        assert_eq!(facility("3"), Some(3));
        assert_eq!(facility("24"), None);
        assert_eq!(Header::new(1, "", "é").hostname, "-");
    }

    /// A message over the limit keeps header and structured data whole and
    /// cuts MSG on a character boundary.
    #[test]
    fn truncation_cuts_only_msg() {
        let h = Header::new(16, "h", "gridlink");
        let line = "é".repeat(2000);
        let m = message(&h, &item(), &line, Some(1000));
        assert!(m.len() <= 1000, "{}", m.len());
        assert!(m.len() >= 998);
        assert!(m.contains("truncated=\"true\"] éé"));
        let short = message(&h, &item(), "{}", Some(1000));
        assert!(!short.contains("truncated"));
    }
}
