//! Reading the HTTP sinks' answers into per-event outcomes: status codes,
//! HEC's `invalid-event-number`, `_bulk`'s per-item results.

use serde_json::Value;

use crate::sink::Outcome;

/// What a status code says about a whole request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx.
    Accepted,
    /// 5xx, 429, 408, and 401/403 (a token problem is the operator's to
    /// fix, not the event's fault: retried until fixed, the sink counts as
    /// failing meanwhile).
    Retry,
    /// Any other 4xx: the receiver refuses (some event of) the request.
    Refused,
}

/// The verdict of a status code.
pub fn verdict(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Accepted,
        401 | 403 | 408 | 429 => Verdict::Retry,
        400..=499 => Verdict::Refused,
        _ => Verdict::Retry,
    }
}

/// HEC's answer to a refused request: which event (0-based) it refused,
/// and its text. HEC indexes the events before it.
pub fn hec_invalid(body: &str) -> Option<(usize, String)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let n = v.get("invalid-event-number")?.as_u64()? as usize;
    let text = v.get("text").and_then(Value::as_str).unwrap_or("refused");
    Some((n, text.to_string()))
}

/// The outcomes of a `_bulk` answer, one per action in order; `None`
/// when the answer is not one (then the whole request is retried).
pub fn bulk_outcomes(body: &str, expected: usize) -> Option<Vec<Outcome>> {
    let v: Value = serde_json::from_str(body).ok()?;
    if v.get("errors").and_then(Value::as_bool) == Some(false) {
        return Some(vec![Outcome::Accepted; expected]);
    }
    let items = v.get("items")?.as_array()?;
    if items.len() != expected {
        return None;
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        // `{"index": {...}}` or `{"delete": {...}}`: one member.
        let (action, r) = item.as_object()?.iter().next()?;
        let status = r.get("status")?.as_u64()? as u16;
        let reason = || {
            let e = &r["error"];
            let kind = e["type"].as_str().unwrap_or("error");
            let why = e["reason"].as_str().unwrap_or("");
            format!("_bulk {action} {status}: {kind}: {why}")
        };
        out.push(match (action.as_str(), verdict(status)) {
            (_, Verdict::Accepted) => Outcome::Accepted,
            // Deleting what is not there is done.
            ("delete", _) if status == 404 => Outcome::Accepted,
            (_, Verdict::Retry) => Outcome::Retry(reason()),
            (_, Verdict::Refused) => Outcome::Refused(reason()),
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Statuses, HEC's refusal, `_bulk`'s mixed answer.
    #[test]
    fn answers() {
        assert_eq!(verdict(201), Verdict::Accepted);
        assert_eq!(verdict(503), Verdict::Retry);
        assert_eq!(verdict(429), Verdict::Retry);
        assert_eq!(verdict(403), Verdict::Retry);
        assert_eq!(verdict(400), Verdict::Refused);
        assert_eq!(
            hec_invalid(r#"{"text":"Invalid data format","code":6,"invalid-event-number":2}"#),
            Some((2, "Invalid data format".into()))
        );
        assert_eq!(hec_invalid(r#"{"text":"Success","code":0}"#), None);
        let body = r#"{"took":3,"errors":true,"items":[
            {"index":{"_id":"a","status":201}},
            {"index":{"_id":"b","status":400,"error":{"type":"mapper_parsing_exception","reason":"bad"}}},
            {"delete":{"_id":"c","status":404}},
            {"index":{"_id":"d","status":429,"error":{"type":"es_rejected_execution_exception","reason":"busy"}}}]}"#;
        let o = bulk_outcomes(body, 4).unwrap();
        assert_eq!(o[0], Outcome::Accepted);
        assert!(matches!(&o[1], Outcome::Refused(r) if r.contains("mapper_parsing_exception")));
        assert_eq!(o[2], Outcome::Accepted);
        assert!(matches!(&o[3], Outcome::Retry(_)));
        assert!(bulk_outcomes(body, 3).is_none());
        assert_eq!(
            bulk_outcomes(r#"{"errors":false,"items":[]}"#, 2)
                .unwrap()
                .len(),
            2
        );
    }
}
