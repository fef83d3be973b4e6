//! The HTTP sinks: batches of events POSTed as a JSON array (`http(s)://`),
//! to Splunk's HTTP Event Collector (`splunk-hec+https://`), or to
//! Elasticsearch's `_bulk` API (`elastic+http(s)://HOST:PORT/INDEX`).
//!
//! An event counts as delivered once the receiver answered 2xx for it
//! (for `_bulk`, its own item's status). 5xx, 429, 408, 401/403 and
//! connection errors are retried by the router (the batch comes again); a
//! 4xx refusal is narrowed down to the event it is about (HEC says which;
//! otherwise the events are sent one at a time), which goes to the
//! dead-letter file while the others go on.

mod body;
mod response;

use std::time::Duration;

pub use body::Flavor;
use response::{bulk_outcomes, hec_invalid, verdict, Verdict};

use super::deliver::{Batching, BoxFuture, Outcome, Sink, SinkError};
use super::tls::TlsFiles;
use crate::grid::GridEvent;

/// An HTTP sink's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOptions {
    /// What the receiver speaks.
    pub flavor: Flavor,
    /// Where batches are POSTed.
    pub endpoint: String,
    /// The `Authorization` token (HEC: `Splunk`, Elasticsearch: `ApiKey`,
    /// plain JSON: `Bearer`).
    pub token: Option<String>,
    /// Trust anchors and client certificate for https.
    pub tls: TlsFiles,
    /// Events per request, and how long to wait for a full batch.
    pub batching: Batching,
    /// How long one request may take.
    pub timeout: Duration,
    /// After how long of failing the sink counts as unhealthy.
    pub failing_after: Duration,
}

/// An HTTP sink.
pub struct HttpSink {
    name: String,
    opts: HttpOptions,
    client: reqwest::Client,
}

/// The answer to one request: status and body.
struct Answer {
    status: u16,
    body: String,
}

impl HttpSink {
    /// A sink for these settings.
    pub fn new(name: String, opts: HttpOptions) -> Result<HttpSink, SinkError> {
        let tls = opts
            .tls
            .client_config()
            .map_err(|e| SinkError::config(&name, e))?;
        let client = reqwest::Client::builder()
            .use_preconfigured_tls((*tls).clone())
            .timeout(opts.timeout)
            .user_agent(concat!("gridlink/", env!("CARGO_PKG_VERSION")))
            // A redirect would resend the events somewhere not configured.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SinkError::config(&name, e))?;
        Ok(HttpSink { name, opts, client })
    }

    async fn post(&self, evs: &[GridEvent]) -> Result<Answer, SinkError> {
        let mut req = self
            .client
            .post(&self.opts.endpoint)
            .header(
                reqwest::header::CONTENT_TYPE,
                self.opts.flavor.content_type(),
            )
            .body(self.opts.flavor.body(evs));
        if let Some(t) = &self.opts.token {
            let scheme = self.opts.flavor.auth_scheme();
            req = req.header(reqwest::header::AUTHORIZATION, format!("{scheme} {t}"));
        }
        let resp = req
            .send()
            .await
            .map_err(|e| SinkError::remote(&self.name, without_url(e)))?;
        let status = resp.status().as_u16();
        // The answer is read whole only up to a bound (a `_bulk` answer
        // lists every item; 16 MiB is far beyond what a batch produces).
        let body = read_bounded(resp, 16 << 20)
            .await
            .map_err(|e| SinkError::remote(&self.name, e))?;
        Ok(Answer { status, body })
    }

    /// The outcomes of a batch, from its answer.
    async fn batch(&self, evs: &[GridEvent]) -> Result<Vec<Outcome>, SinkError> {
        let a = self.post(evs).await?;
        match verdict(a.status) {
            Verdict::Retry => Err(self.refusal(&a)),
            Verdict::Accepted => match &self.opts.flavor {
                Flavor::Elastic { .. } => bulk_outcomes(&a.body, evs.len())
                    .ok_or_else(|| SinkError::remote(&self.name, "unreadable _bulk answer")),
                _ => Ok(vec![Outcome::Accepted; evs.len()]),
            },
            Verdict::Refused => {
                if let (Flavor::Hec { .. }, Some((n, text))) =
                    (&self.opts.flavor, hec_invalid(&a.body))
                {
                    if n < evs.len() {
                        let mut out = vec![Outcome::Accepted; n];
                        out.push(Outcome::Refused(format!("HEC {}: {text}", a.status)));
                        return Ok(out);
                    }
                }
                if evs.len() == 1 {
                    return Ok(vec![Outcome::Refused(describe(&a))]);
                }
                self.one_by_one(evs).await
            }
        }
    }

    /// Sends the events one at a time, to find the one(s) refused.
    async fn one_by_one(&self, evs: &[GridEvent]) -> Result<Vec<Outcome>, SinkError> {
        let mut out = Vec::with_capacity(evs.len());
        for ev in evs {
            let o = match self.post(std::slice::from_ref(ev)).await {
                Ok(a) => match verdict(a.status) {
                    Verdict::Accepted => match &self.opts.flavor {
                        Flavor::Elastic { .. } => match bulk_outcomes(&a.body, 1) {
                            Some(mut o) => o.remove(0),
                            None => Outcome::Retry("unreadable _bulk answer".into()),
                        },
                        _ => Outcome::Accepted,
                    },
                    Verdict::Refused => Outcome::Refused(describe(&a)),
                    Verdict::Retry => Outcome::Retry(describe(&a)),
                },
                Err(e) if out.is_empty() => return Err(e),
                Err(e) => Outcome::Retry(e.to_string()),
            };
            let stop = matches!(o, Outcome::Retry(_));
            out.push(o);
            if stop {
                break;
            }
        }
        Ok(out)
    }

    fn refusal(&self, a: &Answer) -> SinkError {
        SinkError::remote(&self.name, describe(a))
    }
}

/// A short description of an answer: status and the start of the body.
fn describe(a: &Answer) -> String {
    let mut body: String = a.body.chars().take(300).collect();
    body.retain(|c| !c.is_control());
    format!("HTTP {}: {body}", a.status)
}

/// A reqwest error without its URL (which may hold a token in its query).
fn without_url(e: reqwest::Error) -> String {
    let mut s = e.without_url().to_string();
    if s.is_empty() {
        s = "request failed".into();
    }
    s
}

async fn read_bounded(mut resp: reqwest::Response, max: usize) -> Result<String, String> {
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(without_url)? {
        if buf.len() + chunk.len() > max {
            return Err(format!("answer larger than {max} bytes"));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

impl Sink for HttpSink {
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
        self.opts.batching
    }

    fn deliver<'a>(&'a mut self, ev: &'a GridEvent) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            match self.batch(std::slice::from_ref(ev)).await?.first() {
                Some(Outcome::Accepted) => Ok(()),
                Some(Outcome::Refused(r)) | Some(Outcome::Retry(r)) => {
                    Err(SinkError::remote(&self.name, r))
                }
                None => Err(SinkError::remote(&self.name, "no answer")),
            }
        })
    }

    fn deliver_batch<'a>(
        &'a mut self,
        evs: &'a [GridEvent],
    ) -> BoxFuture<'a, Result<Vec<Outcome>, SinkError>> {
        Box::pin(self.batch(evs))
    }
}
