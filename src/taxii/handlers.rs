//! The TAXII 2.1 endpoints: discovery (§4.1), the API root (§4.2), collections (§5.1, §5.2),
//! objects (§5.3–5.6), manifest (§5.3), versions (§5.7) and status (§4.3). Every read is checked
//! like a ROLIE read of the same topic; Add Objects like an AtomPub POST to it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::add::{add, Statuses};
use super::media::{accept, respond, TaxiiError, STIX, TAXII};
use super::objects::{parse_next, version, Filter, Objects, PageRequest};
use crate::rolie::Gate;
use crate::stix::{uuid_v5, MAX_OBJECTS, NAMESPACE};

/// The largest Add Objects body (the API root's `max_content_length`).
pub const MAX_CONTENT_LENGTH: usize = 10 * 1024 * 1024;
/// The default and the largest `limit` of a page.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

/// What the handlers share.
pub struct Taxii {
    /// The ROLIE server's store, tokens, publisher.
    pub gate: Gate,
    /// Converted items.
    pub objects: Objects,
    /// Add Objects statuses.
    pub statuses: Arc<Statuses>,
}

/// The state the router hands to handlers.
pub type Shared = Arc<Taxii>;

type Params = Query<Vec<(String, String)>>;

/// A collection's id: UUIDv5 of its topic (stable across restarts and servers).
pub fn collection_id(topic: &str) -> String {
    uuid_v5(&NAMESPACE, &format!("taxii-collection|{topic}"))
}

fn micros(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The topic of collection `id`, if this request may read it.
async fn topic_of(st: &Taxii, headers: &HeaderMap, id: &str) -> Result<String, TaxiiError> {
    accept(headers)?;
    let topic = st
        .gate
        .topics()
        .await?
        .into_iter()
        .find(|t| collection_id(t) == id)
        .ok_or_else(|| TaxiiError::not_found("collection"))?;
    st.gate.read(headers, Some(&topic))?;
    Ok(topic)
}

fn api_root(st: &Taxii) -> String {
    format!("{}/taxii2/api/", st.gate.base_url())
}

/// GET /taxii2/ — discovery.
pub async fn discovery(
    State(st): State<Shared>,
    headers: HeaderMap,
) -> Result<Response, TaxiiError> {
    accept(&headers)?;
    st.gate.read(&headers, None)?;
    let root = api_root(&st);
    Ok(respond(
        StatusCode::OK,
        &json!({"title": "gridlink TAXII 2.1", "description": "The XMPP-Grid's IODEF incidents as STIX 2.1, one collection per topic",
            "default": root, "api_roots": [root]}),
    ))
}

/// GET /taxii2/api/ — the one API root.
pub async fn root(State(st): State<Shared>, headers: HeaderMap) -> Result<Response, TaxiiError> {
    accept(&headers)?;
    st.gate.read(&headers, None)?;
    Ok(respond(
        StatusCode::OK,
        &json!({"title": "gridlink", "description": "Bridged XMPP-Grid topics",
            "versions": [TAXII], "max_content_length": MAX_CONTENT_LENGTH}),
    ))
}

fn collection(st: &Taxii, headers: &HeaderMap, topic: &str, readable: bool) -> Value {
    json!({"id": collection_id(topic), "title": st.gate.title(topic).unwrap_or_else(|| topic.to_string()),
        "description": format!("XMPP-Grid topic {topic}"), "alias": topic,
        "can_read": readable, "can_write": st.gate.can_write(headers, topic), "media_types": [STIX]})
}

/// GET /taxii2/api/collections/ — every topic this request may read or write.
pub async fn collections(
    State(st): State<Shared>,
    headers: HeaderMap,
) -> Result<Response, TaxiiError> {
    accept(&headers)?;
    let reader = st.gate.read(&headers, None)?;
    let list: Vec<Value> = st
        .gate
        .topics()
        .await?
        .iter()
        .filter(|t| reader.covers(t))
        .map(|t| collection(&st, &headers, t, true))
        .collect();
    Ok(respond(StatusCode::OK, &json!({"collections": list})))
}

/// GET /taxii2/api/collections/{id}/.
pub async fn one_collection(
    State(st): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, TaxiiError> {
    let topic = topic_of(&st, &headers, &id).await?;
    Ok(respond(
        StatusCode::OK,
        &collection(&st, &headers, &topic, true),
    ))
}

fn page_request(params: &[(String, String)]) -> Result<PageRequest, TaxiiError> {
    let mut req = PageRequest {
        added_after: None,
        limit: DEFAULT_LIMIT,
        next: None,
        filter: Filter::parse(params)?,
    };
    for (k, v) in params {
        match k.as_str() {
            "added_after" => {
                req.added_after = Some(
                    crate::stix::parse_time(v)
                        .ok_or_else(|| TaxiiError::bad_request("added_after: not a timestamp"))?,
                )
            }
            "limit" => {
                let n: usize = v
                    .parse()
                    .map_err(|_| TaxiiError::bad_request("limit: not a number"))?;
                req.limit = if n == 0 {
                    DEFAULT_LIMIT
                } else {
                    n.min(MAX_LIMIT)
                };
            }
            "next" => req.next = Some(parse_next(v)?),
            _ => {}
        }
    }
    Ok(req)
}

fn with_dates(mut r: Response, dates: &[DateTime<Utc>]) -> Response {
    if let (Some(first), Some(last)) = (dates.iter().min(), dates.iter().max()) {
        for (name, t) in [
            ("x-taxii-date-added-first", first),
            ("x-taxii-date-added-last", last),
        ] {
            if let Ok(v) = HeaderValue::from_str(&micros(*t)) {
                r.headers_mut().insert(HeaderName::from_static(name), v);
            }
        }
    }
    r
}

/// GET …/objects/ and …/manifest/ (`manifest`: records instead of objects).
async fn listing(
    st: &Taxii,
    headers: &HeaderMap,
    id: &str,
    params: &[(String, String)],
    manifest: bool,
) -> Result<Response, TaxiiError> {
    let topic = topic_of(st, headers, id).await?;
    let req = page_request(params)?;
    let page = st.objects.page(&st.gate, &topic, &req).await?;
    let dates: Vec<DateTime<Utc>> = page.objects.iter().map(|(_, d)| *d).collect();
    let items: Vec<Value> = page
        .objects
        .into_iter()
        .map(|(o, added)| if manifest { record(&o, added) } else { o })
        .collect();
    // The manifest resource lists its records under `objects` too (TAXII 2.1 §5.3.1).
    let mut body = json!({"more": page.next.is_some(), "objects": items});
    if let Some(n) = page.next {
        body["next"] = json!(n);
    }
    Ok(with_dates(respond(StatusCode::OK, &body), &dates))
}

fn record(o: &Value, added: DateTime<Utc>) -> Value {
    json!({"id": o["id"], "date_added": micros(added),
        "version": version(o).map(|v| v.to_rfc3339_opts(SecondsFormat::Millis, true)), "media_type": STIX})
}

/// GET /taxii2/api/collections/{id}/objects/.
pub async fn objects(
    State(st): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Params,
) -> Result<Response, TaxiiError> {
    listing(&st, &headers, &id, &p, false).await
}

/// GET /taxii2/api/collections/{id}/manifest/.
pub async fn manifest(
    State(st): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Params,
) -> Result<Response, TaxiiError> {
    listing(&st, &headers, &id, &p, true).await
}

/// GET /taxii2/api/collections/{id}/objects/{object_id}/.
pub async fn object(
    State(st): State<Shared>,
    headers: HeaderMap,
    Path((id, oid)): Path<(String, String)>,
    Query(p): Params,
) -> Result<Response, TaxiiError> {
    let topic = topic_of(&st, &headers, &id).await?;
    let filter = Filter::parse(&p)?;
    let found = st.objects.by_id(&st.gate, &topic, &oid, &filter).await?;
    if found.is_empty() {
        return Err(TaxiiError::not_found("object"));
    }
    // The newest version unless match[version] asked for others.
    let all = p
        .iter()
        .any(|(k, v)| k == "match[version]" && v.split(',').any(|x| x != "last"));
    let chosen: Vec<(Value, DateTime<Utc>)> = if all {
        found
    } else {
        found.into_iter().last().into_iter().collect()
    };
    let dates: Vec<DateTime<Utc>> = chosen.iter().map(|(_, d)| *d).collect();
    let objs: Vec<Value> = chosen.into_iter().map(|(o, _)| o).collect();
    Ok(with_dates(
        respond(StatusCode::OK, &json!({"more": false, "objects": objs})),
        &dates,
    ))
}

/// GET /taxii2/api/collections/{id}/objects/{object_id}/versions/.
pub async fn versions(
    State(st): State<Shared>,
    headers: HeaderMap,
    Path((id, oid)): Path<(String, String)>,
    Query(p): Params,
) -> Result<Response, TaxiiError> {
    let topic = topic_of(&st, &headers, &id).await?;
    let filter = Filter::parse(&p)?;
    let found = st.objects.by_id(&st.gate, &topic, &oid, &filter).await?;
    if found.is_empty() {
        return Err(TaxiiError::not_found("object"));
    }
    let dates: Vec<DateTime<Utc>> = found.iter().map(|(_, d)| *d).collect();
    let mut v: Vec<String> = found
        .iter()
        .filter_map(|(o, _)| version(o).map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)))
        .collect();
    v.dedup();
    Ok(with_dates(
        respond(StatusCode::OK, &json!({"more": false, "versions": v})),
        &dates,
    ))
}

/// POST /taxii2/api/collections/{id}/objects/ — Add Objects: 202 with a status resource.
pub async fn add_objects(
    State(st): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, TaxiiError> {
    accept(&headers)?;
    let topic = st
        .gate
        .topics()
        .await?
        .into_iter()
        .find(|t| collection_id(t) == id)
        .ok_or_else(|| TaxiiError::not_found("collection"))?;
    let caller = st.gate.write(&headers, &topic)?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ct: String = ct
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    if !(ct.starts_with("application/taxii+json") || ct.starts_with("application/json")) {
        return Err(TaxiiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("send {TAXII}"),
        ));
    }
    let envelope: Value = serde_json::from_slice(&body)
        .map_err(|e| TaxiiError::bad_request(format!("not JSON: {e}")))?;
    let Some(objects) = envelope.get("objects").and_then(Value::as_array) else {
        return Err(TaxiiError::bad_request(
            "an envelope with an objects list is expected",
        ));
    };
    if objects.len() > MAX_OBJECTS {
        return Err(TaxiiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("at most {MAX_OBJECTS} objects per request"),
        ));
    }
    let client = caller.user.unwrap_or_else(|| "TAXII client".into());
    tracing::info!(%topic, %client, objects = objects.len(), "TAXII add objects");
    let status = add(&st.gate, &st.statuses, &topic, objects.clone(), &client);
    Ok(respond(StatusCode::ACCEPTED, &status))
}

/// GET /taxii2/api/status/{id}/.
pub async fn status(
    State(st): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, TaxiiError> {
    accept(&headers)?;
    let Some((topic, body)) = st.statuses.get(&id) else {
        // The same answer whether or not it exists, before the credentials are known to cover it.
        st.gate.read(&headers, None)?;
        return Err(TaxiiError::not_found("status"));
    };
    st.gate.read(&headers, Some(&topic))?;
    Ok(respond(StatusCode::OK, &body))
}
