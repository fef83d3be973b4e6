//! The STIX objects of a collection: each stored item of the topic converted by `crate::stix`
//! (once per stored content: a small cache keyed by the item's sequence number), filtered by
//! TAXII's `match[…]` parameters and paged by the store's sequence. A `next` token is
//! `SEQ.N` — the item and how many of its (filtered) objects were served — so pages stay put
//! while items arrive: new and replaced content takes higher sequence numbers and comes after.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::Value;

use super::media::TaxiiError;
use crate::rolie::Gate;
use crate::stix::{to_stix, Context};
use crate::store::{Cursor, StoredItem};

/// Items read per store query while paging.
const BATCH: usize = 100;
/// Items whose objects the cache keeps (cleared when full: cheap, and conversion is deterministic).
const CACHE_ITEMS: usize = 20_000;

/// `match[version]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Versions {
    /// The newest (the default), the oldest, or every version: the store keeps one version of
    /// each item, so each object has one version per item that carries it.
    Any,
    /// Only objects whose `modified` (or `created`) is one of these.
    At(Vec<DateTime<Utc>>),
}

/// The `match[…]` filters of a request.
#[derive(Debug, Clone)]
pub struct Filter {
    /// `match[id]`.
    pub ids: Option<Vec<String>>,
    /// `match[type]`.
    pub types: Option<Vec<String>>,
    /// `match[version]`.
    pub versions: Versions,
    /// `match[spec_version]` admits 2.1 (everything gridlink emits is 2.1).
    pub spec_21: bool,
}

impl Filter {
    /// Reads the `match[…]` parameters; unknown `match[…]` fields are a 400.
    pub fn parse(params: &[(String, String)]) -> Result<Filter, TaxiiError> {
        let mut f = Filter {
            ids: None,
            types: None,
            versions: Versions::Any,
            spec_21: true,
        };
        let list = |v: &str| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .collect::<Vec<_>>()
        };
        for (k, v) in params {
            match k.as_str() {
                "match[id]" => f.ids = Some(list(v)),
                "match[type]" => f.types = Some(list(v)),
                "match[spec_version]" => f.spec_21 = list(v).iter().any(|s| s == "2.1"),
                "match[version]" => {
                    let mut at = Vec::new();
                    for s in list(v) {
                        match s.as_str() {
                            "first" | "last" | "all" => {}
                            t => at.push(crate::stix::parse_time(t).ok_or_else(|| {
                                TaxiiError::bad_request(format!(
                                    "match[version]: {t} is not a timestamp"
                                ))
                            })?),
                        }
                    }
                    if !at.is_empty() {
                        f.versions = Versions::At(at);
                    }
                }
                k if k.starts_with("match[") => {
                    return Err(TaxiiError::bad_request(format!("{k} is not supported")))
                }
                _ => {}
            }
        }
        Ok(f)
    }

    /// Whether `o` passes.
    pub fn admits(&self, o: &Value) -> bool {
        let s = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("");
        self.spec_21
            && self
                .ids
                .as_ref()
                .is_none_or(|ids| ids.iter().any(|i| i == s("id")))
            && self
                .types
                .as_ref()
                .is_none_or(|t| t.iter().any(|x| x == s("type")))
            && match &self.versions {
                Versions::Any => true,
                Versions::At(at) => version(o).is_some_and(|v| at.contains(&v)),
            }
    }
}

/// An object's version: `modified`, or `created` for objects without one (marking definitions).
pub fn version(o: &Value) -> Option<DateTime<Utc>> {
    let s = o.get("modified").or_else(|| o.get("created"))?.as_str()?;
    crate::stix::parse_time(s)
}

/// When TAXII says an object was added: when the store took the item's content, to the
/// microsecond (what `X-TAXII-Date-Added-*` and `added_after` carry).
pub fn date_added(item: &StoredItem) -> DateTime<Utc> {
    item.updated.trunc_subsecs(6)
}

/// A page request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// `added_after`.
    pub added_after: Option<DateTime<Utc>>,
    /// `limit`.
    pub limit: usize,
    /// A `next` token: (sequence number, objects of that item already served).
    pub next: Option<(i64, usize)>,
    /// `match[…]`.
    pub filter: Filter,
}

/// Reads a `next` token.
pub fn parse_next(s: &str) -> Result<(i64, usize), TaxiiError> {
    s.split_once('.')
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        .filter(|(a, _)| *a > 0)
        .ok_or_else(|| TaxiiError::bad_request("next: not a token this server gave"))
}

/// One page of objects with when each was added.
#[derive(Debug, Default)]
pub struct PageOut {
    /// The objects and their date_added.
    pub objects: Vec<(Value, DateTime<Utc>)>,
    /// The token of the next page, when there is one.
    pub next: Option<String>,
}

/// A stored content: (topic, sequence number).
type ItemKey = (String, i64);

/// Converted items, shared by every request of the server.
#[derive(Debug, Default)]
pub struct Objects {
    cache: Mutex<HashMap<ItemKey, Arc<Vec<Value>>>>,
}

impl Objects {
    /// The STIX objects of one stored item.
    pub fn of(&self, gate: &Gate, item: &StoredItem) -> Arc<Vec<Value>> {
        let key = (item.envelope.topic.clone(), item.seq);
        if let Some(v) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return v;
        }
        let objects = match crate::iodef::parse(item.envelope.document.as_bytes()) {
            Ok(doc) => {
                let ctx = Context {
                    xml_url: Some((
                        gate.xml_url(&item.envelope.topic, &item.envelope.item_id),
                        item.content_hash.clone(),
                    )),
                    replaced_at: (item.updated != item.published).then_some(item.updated),
                };
                to_stix(&doc, &ctx).objects
            }
            Err(e) => {
                tracing::warn!(topic = %item.envelope.topic, item = %item.envelope.item_id, error = %e, "stored item is not IODEF: no STIX objects");
                Vec::new()
            }
        };
        let v = Arc::new(objects);
        if let Ok(mut c) = self.cache.lock() {
            if c.len() >= CACHE_ITEMS {
                c.clear();
            }
            c.insert(key, v.clone());
        }
        v
    }

    /// A page of `topic`'s objects.
    pub async fn page(
        &self,
        gate: &Gate,
        topic: &str,
        req: &PageRequest,
    ) -> Result<PageOut, TaxiiError> {
        let (mut after, resume_seq, skip) = match req.next {
            Some((seq, n)) => (seq - 1, seq, n),
            None => match req.added_after {
                Some(t) => (first_after(gate, topic, t).await?, -1, 0),
                None => (0, -1, 0),
            },
        };
        let mut out = PageOut::default();
        // Items carry several objects each (an incident, its identity and marking, indicators and
        // their relationships): reading a quarter of `limit` items at a time rarely needs a
        // second query and does not read whole documents the page will not use.
        let batch = req.limit.div_ceil(4).clamp(8, BATCH);
        loop {
            let page = gate
                .store()
                .page(topic, Cursor::After(after), batch)
                .await?;
            // A page lists its items newest first, whatever the cursor.
            for item in page.items.iter().rev() {
                after = item.seq;
                let added = date_added(item);
                if req.added_after.is_some_and(|t| added <= t) {
                    continue;
                }
                let objs = self.of(gate, item);
                let start = if item.seq == resume_seq { skip } else { 0 };
                for (i, o) in objs
                    .iter()
                    .filter(|o| req.filter.admits(o))
                    .enumerate()
                    .skip(start)
                {
                    if out.objects.len() == req.limit {
                        out.next = Some(format!("{}.{i}", item.seq));
                        return Ok(out);
                    }
                    out.objects.push((o.clone(), added));
                }
            }
            if !page.has_newer || page.items.is_empty() {
                return Ok(out);
            }
        }
    }

    /// Every object of `topic` with the id `id` (each item that carries it), oldest first.
    pub async fn by_id(
        &self,
        gate: &Gate,
        topic: &str,
        id: &str,
        filter: &Filter,
    ) -> Result<Vec<(Value, DateTime<Utc>)>, TaxiiError> {
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let page = gate
                .store()
                .page(topic, Cursor::After(after), BATCH)
                .await?;
            // A page lists its items newest first, whatever the cursor.
            for item in page.items.iter().rev() {
                after = item.seq;
                let objs = self.of(gate, item);
                for o in objs.iter().filter(|o| o["id"] == id && filter.admits(o)) {
                    if !out.iter().any(|(x, _): &(Value, _)| x == o) {
                        out.push((o.clone(), date_added(item)));
                    }
                }
            }
            if !page.has_newer || page.items.is_empty() {
                out.sort_by_key(|(o, _)| version(o));
                return Ok(out);
            }
        }
    }
}

/// A sequence number before which every item of `topic` was added at or before `t` (a binary
/// search over the sequence, whose store times only grow); items after it are checked one by one.
async fn first_after(gate: &Gate, topic: &str, t: DateTime<Utc>) -> Result<i64, TaxiiError> {
    let (mut lo, mut hi) = (0i64, gate.store().last_seq().max(0));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let p = gate.store().page(topic, Cursor::After(mid), 1).await?;
        match p.items.first() {
            Some(it) if date_added(it) <= t => lo = it.seq.max(mid + 1),
            _ => hi = mid,
        }
    }
    Ok(lo)
}
