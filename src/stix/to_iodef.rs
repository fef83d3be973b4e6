//! STIX 2.1 → IODEF v2, for what TAXII clients add: an `indicator` (its pattern's observables
//! as `IndicatorData`), an `observed-data` (its cyber-observables as `EventData`) or an `incident`
//! becomes one IODEF document, validated strictly before anyone publishes it. `identity` and
//! `marking-definition` objects, and cyber-observables an observed-data uses, are absorbed (they
//! become the Contact, the restriction, the observables); anything else is refused with the
//! reason.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::ids::is_id_of;
use super::markings::restriction_of_marking;
use super::observables::digest_uri;
use super::pattern::{self, Comparison, Literal, Logic};
use super::to_stix::{parse_time, timestamp};
use crate::iodef::{Document, NS_DS, NS_IODEF};

/// What becomes of one added object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An IODEF document (XML, strictly valid) to publish.
    Publish(String),
    /// Used by other objects of the envelope; nothing of its own to publish.
    Absorbed,
    /// Not convertible: why.
    Refused(String),
}

/// The most objects one envelope may carry into a conversion.
pub const MAX_OBJECTS: usize = 10_000;

/// The cyber-observable types an observed-data may use.
const SCO_TYPES: [&str; 9] = [
    "ipv4-addr",
    "ipv6-addr",
    "domain-name",
    "url",
    "email-addr",
    "mac-addr",
    "autonomous-system",
    "file",
    "network-traffic",
];

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

fn str_of<'a>(o: &'a Value, k: &str) -> Option<&'a str> {
    o.get(k).and_then(Value::as_str)
}

/// The common properties every STIX 2.1 object must have right.
fn check_common(o: &Value) -> Result<(&str, &str), String> {
    let kind = str_of(o, "type").ok_or("no type")?;
    let id = str_of(o, "id").ok_or("no id")?;
    if str_of(o, "spec_version") != Some("2.1") {
        return Err(format!("{id}: spec_version must be 2.1"));
    }
    if !is_id_of(id, kind) {
        return Err(format!("{id}: the id is not {kind}--UUID"));
    }
    Ok((kind, id))
}

fn time(o: &Value, k: &str) -> Result<DateTime<Utc>, String> {
    let s = str_of(o, k).ok_or_else(|| format!("no {k}"))?;
    if !s.ends_with('Z') {
        return Err(format!("{k} must be a UTC timestamp ending in Z"));
    }
    parse_time(s).ok_or_else(|| format!("{k} is not a timestamp"))
}

/// Converts `o`, one of `all` (the envelope's objects). `client` names the TAXII client for the
/// Contact when no identity is given.
pub fn to_iodef(o: &Value, all: &[Value], client: &str) -> Outcome {
    match convert(o, all, client) {
        Ok(Some(xml)) => Outcome::Publish(xml),
        Ok(None) => Outcome::Absorbed,
        Err(why) => Outcome::Refused(why),
    }
}

fn find<'a>(all: &'a [Value], id: &str) -> Option<&'a Value> {
    all.iter().find(|o| str_of(o, "id") == Some(id))
}

fn convert(o: &Value, all: &[Value], client: &str) -> Result<Option<String>, String> {
    let (kind, id) = check_common(o)?;
    let body = match kind {
        "identity" | "marking-definition" => return Ok(None),
        k if SCO_TYPES.contains(&k) => {
            let used = all.iter().any(|x| {
                str_of(x, "type") == Some("observed-data")
                    && x["object_refs"]
                        .as_array()
                        .is_some_and(|r| r.iter().any(|r| r == id))
            });
            return if used {
                Ok(None)
            } else {
                Err(format!(
                    "{id}: a {k} is taken only as part of an observed-data"
                ))
            };
        }
        "indicator" => indicator(o)?,
        "observed-data" => observed(o, all)?,
        "incident" => String::new(),
        other => return Err(format!("{id}: {other} objects have no IODEF home")),
    };
    let created = time(o, "created")?;
    let modified = time(o, "modified")?;
    if modified < created {
        return Err(format!("{id}: modified is before created"));
    }
    let mut restriction = None;
    for m in o["object_marking_refs"].as_array().into_iter().flatten() {
        let m = m.as_str().ok_or("object_marking_refs must hold ids")?;
        restriction = restriction.or(restriction_of_marking(m));
    }
    let (contact, ctype) = match str_of(o, "created_by_ref").and_then(|r| find(all, r)) {
        Some(i) => (
            str_of(i, "name").unwrap_or(client).to_string(),
            if str_of(i, "identity_class") == Some("individual") {
                "person"
            } else {
                "organization"
            },
        ),
        None => (client.to_string(), "organization"),
    };
    let mut descr = String::new();
    for k in ["name", "description"] {
        if let Some(t) = str_of(o, k).filter(|t| !t.trim().is_empty()) {
            descr.push_str(&format!("<Description>{}</Description>", esc(t)));
        }
    }
    let r = restriction
        .map(|r| format!(" restriction=\"{r}\""))
        .unwrap_or_default();
    let xml = format!(
        "<IODEF-Document version=\"2.00\" xml:lang=\"en\" xmlns=\"{NS_IODEF}\" xmlns:ds=\"{NS_DS}\">\
         <Incident purpose=\"reporting\"{r}><IncidentID name=\"stix\">{id}</IncidentID>\
         <ReportTime>{}</ReportTime><GenerationTime>{}</GenerationTime>{descr}\
         <Contact role=\"creator\" type=\"{ctype}\"><ContactName>{}</ContactName></Contact>\
         {body}</Incident></IODEF-Document>",
        timestamp(created),
        timestamp(modified),
        esc(&contact)
    );
    let doc = Document::from_xml(&xml).map_err(|e| format!("{id}: {e}"))?;
    let problems = doc.validate();
    if !problems.is_empty() {
        let p: Vec<String> = problems.iter().take(5).map(|p| p.to_string()).collect();
        return Err(format!(
            "{id}: the IODEF it becomes is not valid: {}",
            p.join("; ")
        ));
    }
    Ok(Some(xml))
}

fn indicator(o: &Value) -> Result<String, String> {
    let id = str_of(o, "id").unwrap_or_default();
    if str_of(o, "pattern_type") != Some("stix") {
        return Err(format!("{id}: only pattern_type stix can be converted"));
    }
    let from = time(o, "valid_from")?;
    let p = str_of(o, "pattern").ok_or_else(|| format!("{id}: no pattern"))?;
    let logic = pattern::parse(p).map_err(|e| format!("{id}: pattern: {e}"))?;
    let mut body = String::new();
    logic_xml(&logic, &mut body).map_err(|e| format!("{id}: {e}"))?;
    let mut times = format!("<StartTime>{}</StartTime>", timestamp(from));
    if o.get("valid_until").is_some() {
        times.push_str(&format!(
            "<EndTime>{}</EndTime>",
            timestamp(time(o, "valid_until")?)
        ));
    }
    Ok(format!(
        "<IndicatorData><Indicator><IndicatorID name=\"stix\" version=\"1\">{id}</IndicatorID>\
         {times}{body}</Indicator></IndicatorData>"
    ))
}

fn logic_xml(l: &Logic, out: &mut String) -> Result<(), String> {
    match l {
        Logic::Leaf(c) if c.negated => {
            out.push_str("<IndicatorExpression operator=\"not\"><Observable>");
            out.push_str(&comparison_xml(c)?);
            out.push_str("</Observable></IndicatorExpression>");
        }
        Logic::Leaf(c) => {
            out.push_str("<Observable>");
            out.push_str(&comparison_xml(c)?);
            out.push_str("</Observable>");
        }
        Logic::And(v) | Logic::Or(v) => {
            let op = if matches!(l, Logic::And(_)) {
                "and"
            } else {
                "or"
            };
            out.push_str(&format!("<IndicatorExpression operator=\"{op}\">"));
            for x in v {
                logic_xml(x, out)?;
            }
            out.push_str("</IndicatorExpression>");
        }
    }
    Ok(())
}

fn addr(category: &str, v: &str) -> String {
    format!("<Address category=\"{category}\">{}</Address>", esc(v))
}

/// One comparison as the content of an Observable.
fn comparison_xml(c: &Comparison) -> Result<String, String> {
    let path = format!("{}:{}", c.kind, c.path);
    let s = match &c.value {
        Literal::Str(s) => Some(s.as_str()),
        Literal::Int(_) => None,
    };
    let net = |v: &str, a: &str, n: &str| {
        if v.contains('/') {
            n.to_string()
        } else {
            a.to_string()
        }
    };
    Ok(match (c.kind.as_str(), c.path.as_str(), s, &c.value) {
        ("ipv4-addr", "value", Some(v), _) => addr(&net(v, "ipv4-addr", "ipv4-net"), v),
        ("ipv6-addr", "value", Some(v), _) => addr(&net(v, "ipv6-addr", "ipv6-net"), v),
        ("email-addr", "value", Some(v), _) => addr("e-mail", v),
        ("mac-addr", "value", Some(v), _) => addr("mac", v),
        ("url", "value", Some(v), _) => addr("site-uri", v),
        ("autonomous-system", "number", _, Literal::Int(n)) => addr("asn", &n.to_string()),
        ("domain-name", "value", Some(v), _) => {
            // RFC 7970 §3.19 requires both statuses; a STIX domain-name says
            // neither.
            format!(
                "<DomainData system-status=\"unknown\" domain-status=\"unknown\"><Name>{}</Name></DomainData>",
                esc(v)
            )
        }
        ("network-traffic", "dst_port" | "src_port", _, Literal::Int(n))
            if (0..=65535).contains(n) =>
        {
            format!("<Service><Port>{n}</Port></Service>")
        }
        ("email-message", "from_ref.value", Some(v), _) => {
            format!("<EmailData><EmailFrom>{}</EmailFrom></EmailData>", esc(v))
        }
        ("email-message", "to_refs[*].value", Some(v), _) => {
            format!("<EmailData><EmailTo>{}</EmailTo></EmailData>", esc(v))
        }
        ("email-message", "subject", Some(v), _) => {
            format!(
                "<EmailData><EmailSubject>{}</EmailSubject></EmailData>",
                esc(v)
            )
        }
        ("file", "name", Some(v), _) => {
            format!(
                "<FileData><File><FileName>{}</FileName></File></FileData>",
                esc(v)
            )
        }
        ("file", p, Some(v), _) if p.starts_with("hashes.") => {
            format!(
                "<FileData><File>{}</File></FileData>",
                hash_xml(&p[7..], v)?
            )
        }
        _ => return Err(format!("{path} has no IODEF equivalent")),
    })
}

fn hash_xml(algorithm: &str, hex: &str) -> Result<String, String> {
    let (uri, len) = digest_uri(algorithm)
        .ok_or_else(|| format!("the hash algorithm {algorithm} has no XMLDSIG name"))?;
    if hex.len() != 2 * len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("a {algorithm} hash is {} hex digits", 2 * len));
    }
    Ok(format!(
        "<HashData scope=\"file-contents\"><Hash><ds:DigestMethod Algorithm=\"{uri}\"/>\
         <ds:DigestValue>{}</ds:DigestValue></Hash></HashData>",
        hex.to_ascii_lowercase()
    ))
}

fn observed(o: &Value, all: &[Value]) -> Result<String, String> {
    let id = str_of(o, "id").unwrap_or_default();
    let first = time(o, "first_observed")?;
    let last = time(o, "last_observed")?;
    if o.get("objects").is_some() {
        return Err(format!(
            "{id}: the deprecated objects property is not accepted; use object_refs"
        ));
    }
    let refs = o["object_refs"]
        .as_array()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| format!("{id}: no object_refs"))?;
    let (mut node, mut ports, mut files) = (String::new(), String::new(), String::new());
    for r in refs {
        let r = r.as_str().unwrap_or_default();
        let sco = find(all, r).ok_or_else(|| format!("{id}: {r} is not in the envelope"))?;
        let kind = str_of(sco, "type").unwrap_or_default();
        let value = str_of(sco, "value");
        let c = |k: &str, v: Option<&str>| v.map(|v| Comparison::string(k, "value", v));
        let one = match kind {
            "ipv4-addr" | "ipv6-addr" | "domain-name" | "url" | "email-addr" | "mac-addr" => {
                c(kind, value)
            }
            "autonomous-system" => sco["number"]
                .as_i64()
                .map(|n| Comparison::int(kind, "number", n)),
            "network-traffic" => {
                if let Some(p) = sco["dst_port"].as_i64() {
                    ports.push_str(&comparison_xml(&Comparison::int(kind, "dst_port", p))?);
                }
                continue;
            }
            "file" => {
                let mut f = String::new();
                if let Some(n) = str_of(sco, "name") {
                    f.push_str(&format!("<FileName>{}</FileName>", esc(n)));
                }
                for (alg, v) in sco["hashes"].as_object().into_iter().flatten() {
                    f.push_str(&hash_xml(alg, v.as_str().unwrap_or_default())?);
                }
                files.push_str(&format!(
                    "<RecordData><FileData><File>{f}</File></FileData></RecordData>"
                ));
                continue;
            }
            other => return Err(format!("{id}: a {other} has no IODEF home")),
        };
        let one = one.ok_or_else(|| format!("{id}: {r} has no value"))?;
        node.push_str(&comparison_xml(&one)?);
    }
    let mut flow = String::new();
    if !node.is_empty() {
        flow = format!(
            "<Flow><System category=\"ext-value\" ext-category=\"observed\"><Node>{node}</Node>{ports}</System></Flow>"
        );
    } else if !ports.is_empty() {
        return Err(format!(
            "{id}: a network-traffic needs an address beside it"
        ));
    }
    let record = if files.is_empty() {
        String::new()
    } else {
        format!("<Record>{files}</Record>")
    };
    Ok(format!(
        "<EventData><StartTime>{}</StartTime><EndTime>{}</EndTime>{flow}{record}</EventData>",
        timestamp(first),
        timestamp(last)
    ))
}
