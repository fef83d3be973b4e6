//! The topic page's filters and search, and the one-line row an item is
//! shown as (topic page and live view alike).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

use super::incident::{all_text, incidents, values};
use crate::store::StoredItem;

/// The topic page's query: the feeds' cursor (`before=N`, a sequence
/// number, so pages do not shift as items arrive) and the filters.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub(crate) struct TopicQuery {
    /// Items strictly older than this sequence number.
    pub(crate) before: Option<i64>,
    /// `Incident@purpose` (empty: any).
    pub(crate) purpose: String,
    /// Effective `restriction` (empty: any).
    pub(crate) restriction: String,
    /// Stored at or after (`YYYY-MM-DDTHH:MM[:SS]`, UTC; an HTML
    /// `datetime-local` field's value).
    pub(crate) since: String,
    /// Stored before.
    pub(crate) until: String,
    /// The search text.
    pub(crate) q: String,
    /// Where to search: `any` (default), `id`, `value`, `text`.
    #[serde(rename = "in")]
    pub(crate) field: String,
}

/// The purposes and restrictions the filter offers (RFC 7970 §3.2).
pub(crate) const PURPOSES: [&str; 5] = ["traceback", "mitigation", "reporting", "watch", "other"];
/// RFC 7970 §3.3.1's restriction values.
pub(crate) const RESTRICTIONS: [&str; 7] = [
    "public",
    "partner",
    "need-to-know",
    "private",
    "white",
    "green",
    "amber",
];

/// One item as a line of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) topic: String,
    pub(crate) item_id: String,
    pub(crate) seq: i64,
    pub(crate) updated: DateTime<Utc>,
    /// The first Incident's IncidentID (the item id when there is none).
    pub(crate) incident_id: String,
    pub(crate) purpose: String,
    pub(crate) restriction: String,
    pub(crate) status: String,
    /// The first Description, whitespace collapsed.
    pub(crate) description: String,
}

impl Row {
    /// The row of `item` (a document the IODEF reader refuses still gets
    /// one, titled by its item id).
    pub(crate) fn of(item: &StoredItem) -> Row {
        let mut row = Row {
            topic: item.envelope.topic.clone(),
            item_id: item.envelope.item_id.clone(),
            seq: item.seq,
            updated: item.updated,
            incident_id: item.envelope.item_id.clone(),
            purpose: String::new(),
            restriction: String::new(),
            status: String::new(),
            description: String::new(),
        };
        if let Ok(doc) = crate::iodef::parse(item.envelope.document.as_bytes()) {
            if let Some(first) = doc.summary().incidents.into_iter().next() {
                if let Some(id) = first.id.filter(|i| !i.id.trim().is_empty()) {
                    row.incident_id = id.id.trim().to_owned();
                }
                row.purpose = first.purpose;
                row.restriction = first.restriction;
                row.status = first.status.unwrap_or_default();
                row.description = first.description.unwrap_or_default();
            }
        }
        row
    }
}

/// A `datetime-local` value (or RFC 3339) as UTC; empty or unreadable: none.
pub(crate) fn time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|n| n.and_utc())
}

impl TopicQuery {
    /// Whether any filter is set (the page says so).
    pub(crate) fn filtering(&self) -> bool {
        !(self.purpose.is_empty()
            && self.restriction.is_empty()
            && self.since.is_empty()
            && self.until.is_empty()
            && self.q.trim().is_empty())
    }

    /// Whether `item` passes every filter: the time bounds on when it was
    /// stored; purpose and restriction on any one of its Incidents; the
    /// search on IncidentIDs, observable values (addresses, domains,
    /// hashes, URLs, e-mail) or all text, case-insensitively.
    pub(crate) fn matches(&self, item: &StoredItem) -> bool {
        if time(&self.since).is_some_and(|t| item.updated < t)
            || time(&self.until).is_some_and(|t| item.updated >= t)
        {
            return false;
        }
        let q = self.q.trim().to_lowercase();
        if self.purpose.is_empty() && self.restriction.is_empty() && q.is_empty() {
            return true;
        }
        let Ok(doc) = crate::iodef::parse(item.envelope.document.as_bytes()) else {
            return false;
        };
        let views = incidents(&doc);
        let incident_ok = views.iter().any(|i| {
            (self.purpose.is_empty() || i.purpose.eq_ignore_ascii_case(&self.purpose))
                && (self.restriction.is_empty()
                    || i.restriction.eq_ignore_ascii_case(&self.restriction))
        });
        if !incident_ok {
            return false;
        }
        if q.is_empty() {
            return true;
        }
        let field = self.field.as_str();
        let by_id = || views.iter().any(|i| i.id.to_lowercase().contains(&q));
        let by_value = || {
            values(doc.root())
                .iter()
                .any(|(_, v)| v.to_lowercase().contains(&q))
        };
        let by_text = || {
            let mut all = String::new();
            all_text(doc.root(), &mut all);
            all.to_lowercase().contains(&q)
        };
        match field {
            "id" => by_id(),
            "value" => by_value(),
            "text" => by_text(),
            _ => by_id() || by_value() || by_text(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Envelope;

    fn item(doc: &str, minutes_ago: i64) -> StoredItem {
        let at = Utc::now() - chrono::Duration::minutes(minutes_ago);
        StoredItem {
            seq: 1,
            envelope: Envelope {
                topic: "t".into(),
                item_id: "i".into(),
                publisher: None,
                received_at: at,
                delayed_at: None,
                payload_ns: "urn:ietf:params:xml:ns:iodef-2.0".into(),
                document: doc.into(),
            },
            content_hash: String::new(),
            published: at,
            updated: at,
        }
    }

    const DOC: &str = r#"<IODEF-Document version="2.00" xmlns="urn:ietf:params:xml:ns:iodef-2.0"><Incident purpose="watch" restriction="amber"><IncidentID name="c.example">W-77</IncidentID><GenerationTime>2024-01-01T00:00:00Z</GenerationTime><Description>phishing wave</Description><IndicatorData><Indicator><IndicatorID name="c.example" version="1">i</IndicatorID><Observable><DomainData><Name>evil.example</Name></DomainData></Observable></Indicator></IndicatorData></Incident></IODEF-Document>"#;

    #[test]
    fn filters_and_search() {
        let it = item(DOC, 30);
        let q = |f: fn(&mut TopicQuery)| {
            let mut q = TopicQuery::default();
            f(&mut q);
            q.matches(&it)
        };
        assert!(q(|_| {}));
        assert!(q(|q| q.purpose = "watch".into()));
        assert!(!q(|q| q.purpose = "mitigation".into()));
        assert!(q(|q| q.restriction = "amber".into()));
        assert!(!q(|q| q.restriction = "green".into()));
        assert!(q(|q| q.q = "w-77".into()));
        assert!(q(|q| q.q = "EVIL.example".into()));
        assert!(q(|q| q.q = "phishing".into()));
        assert!(!q(|q| q.q = "nothing-like-it".into()));
        assert!(q(|q| {
            q.q = "evil".into();
            q.field = "value".into()
        }));
        assert!(!q(|q| {
            q.q = "evil".into();
            q.field = "id".into()
        }));
        assert!(!q(|q| {
            q.q = "phishing".into();
            q.field = "value".into()
        }));
        let hour_ago = (Utc::now() - chrono::Duration::hours(1))
            .format("%Y-%m-%dT%H:%M")
            .to_string();
        let ten_ago = (Utc::now() - chrono::Duration::minutes(10))
            .format("%Y-%m-%dT%H:%M")
            .to_string();
        let mut t = TopicQuery {
            since: hour_ago.clone(),
            ..Default::default()
        };
        assert!(t.matches(&it));
        t.since = ten_ago.clone();
        assert!(!t.matches(&it));
        t.since = String::new();
        t.until = ten_ago;
        assert!(t.matches(&it));
        t.until = hour_ago;
        assert!(!t.matches(&it));
        assert_eq!(Row::of(&it).incident_id, "W-77");
    }
}
