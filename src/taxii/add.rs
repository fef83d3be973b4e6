//! Add Objects (TAXII 2.1 §5.4) and the status resource (§4.3): each object of the envelope is
//! converted by `crate::stix::to_iodef`; what becomes an IODEF document is published through the
//! bridge's [`Publisher`](crate::rolie::Publisher) (validation, redaction, the durable outbox, the
//! broker's confirmation) in the background, and stays `pending` in the status until the broker
//! confirmed it; what cannot be converted is a failure with the reason.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use serde_json::{json, Value};

use crate::rolie::{Gate, PublishBody};
use crate::stix::{timestamp, to_iodef, Outcome};

/// Statuses kept for clients to poll (the oldest are forgotten first).
const KEPT: usize = 10_000;

/// One object's line in a status: id, version, message.
#[derive(Debug, Clone)]
struct Line {
    id: String,
    version: Option<String>,
    message: Option<String>,
}

impl Line {
    fn json(&self) -> Value {
        let mut v = json!({"id": self.id});
        if let Some(x) = &self.version {
            v["version"] = json!(x);
        }
        if let Some(m) = &self.message {
            v["message"] = json!(m);
        }
        v
    }
}

/// One Add Objects request's progress.
#[derive(Debug, Clone)]
struct Status {
    id: String,
    topic: String,
    requested: String,
    successes: Vec<Line>,
    failures: Vec<Line>,
    pendings: Vec<Line>,
}

impl Status {
    fn json(&self) -> Value {
        let lines = |v: &[Line]| v.iter().map(Line::json).collect::<Vec<_>>();
        json!({
            "id": self.id,
            "status": if self.pendings.is_empty() { "complete" } else { "pending" },
            "request_timestamp": self.requested,
            "total_count": self.successes.len() + self.failures.len() + self.pendings.len(),
            "success_count": self.successes.len(),
            "successes": lines(&self.successes),
            "failure_count": self.failures.len(),
            "failures": lines(&self.failures),
            "pending_count": self.pendings.len(),
            "pendings": lines(&self.pendings),
        })
    }
}

/// The statuses of this server's Add Objects requests.
#[derive(Debug, Default)]
pub struct Statuses {
    inner: Mutex<(HashMap<String, Status>, VecDeque<String>)>,
}

impl Statuses {
    /// A status as JSON, with its topic (for the read check).
    pub fn get(&self, id: &str) -> Option<(String, Value)> {
        let g = self.inner.lock().ok()?;
        g.0.get(id).map(|s| (s.topic.clone(), s.json()))
    }

    fn put(&self, s: Status) {
        if let Ok(mut g) = self.inner.lock() {
            g.1.push_back(s.id.clone());
            g.0.insert(s.id.clone(), s);
            while g.1.len() > KEPT {
                if let Some(old) = g.1.pop_front() {
                    g.0.remove(&old);
                }
            }
        }
    }

    /// Moves `object` of status `id` from pending to success or failure.
    fn settle(&self, id: &str, object: &str, result: Result<Option<String>, String>) {
        let Ok(mut g) = self.inner.lock() else { return };
        let Some(s) = g.0.get_mut(id) else { return };
        let Some(at) = s.pendings.iter().position(|l| l.id == object) else {
            return;
        };
        match result {
            Ok(None) => {} // queued, not yet confirmed: stays pending
            Ok(Some(message)) => {
                let mut l = s.pendings.remove(at);
                l.message = Some(message);
                s.successes.push(l);
            }
            Err(message) => {
                let mut l = s.pendings.remove(at);
                l.message = Some(message);
                s.failures.push(l);
            }
        }
    }
}

fn line(o: &Value, message: Option<String>) -> Line {
    let s = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
    Line {
        id: s("id").unwrap_or_else(|| "(no id)".into()),
        version: s("modified").or_else(|| s("created")),
        message,
    }
}

/// Converts `objects`, records the status, publishes in the background; returns the status.
pub fn add(
    gate: &Gate,
    statuses: &Arc<Statuses>,
    topic: &str,
    objects: Vec<Value>,
    client: &str,
) -> Value {
    let id = uuid_v4();
    let mut status = Status {
        id: id.clone(),
        topic: topic.to_string(),
        requested: timestamp(Utc::now()),
        successes: Vec::new(),
        failures: Vec::new(),
        pendings: Vec::new(),
    };
    let mut work = Vec::new();
    for o in &objects {
        match to_iodef(o, &objects, client) {
            Outcome::Publish(xml) => {
                let l = line(o, None);
                work.push((l.id.clone(), xml));
                status.pendings.push(l);
            }
            Outcome::Absorbed => status
                .successes
                .push(line(o, Some("used by the other objects".into()))),
            Outcome::Refused(why) => {
                tracing::info!(%topic, %client, reason = %why, "TAXII object refused");
                status.failures.push(line(o, Some(why)));
            }
        }
    }
    let body = status.json();
    statuses.put(status);
    let (gate, statuses, topic) = (gate.clone(), statuses.clone(), topic.to_string());
    tokio::spawn(async move {
        for (object, xml) in work {
            let r = gate
                .publisher()
                .publish(&topic, PublishBody::Xml(xml))
                .await;
            let r = match r {
                Ok(p) if p.confirmed => Ok(Some(format!("published as item {}", p.item_id))),
                Ok(p) => {
                    tracing::info!(%topic, item = %p.item_id, "TAXII object queued until the broker is reachable");
                    Ok(None)
                }
                Err(e) => Err(e.to_string()),
            };
            statuses.settle(&id, &object, r);
        }
    });
    body
}

/// A random version 4 UUID.
fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}
