//! The benchmark corpus: the RFC 7970 / RFC 8274 example documents, each copy
//! given its own IncidentID (`benchitem-N`) so that every item is distinct
//! (gridlink derives the item id from it) and so that any client can tell
//! which item a notification carries by scanning for `benchitem-`.

use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::{bail, Context};
use gridlink::grid::{Payload, DEFAULT_MAX_PAYLOAD};
use gridlink::iodef::ValidationLevel;
use serde::{Deserialize, Serialize};

/// The templates: the valid RFC examples (RFC 7970 §7.1, RFC 8274 B.1, B.3, B.5).
const TEMPLATES: &[&str] = &[
    include_str!("../../../tests/fixtures/iodef/valid/rfc7970-sec7.1-minimal.xml"),
    include_str!("../../../tests/fixtures/iodef/valid/rfc8274-appB.1-malware-delivery-url.xml"),
    include_str!("../../../tests/fixtures/iodef/valid/rfc8274-appB.3-spear-phishing.xml"),
    include_str!("../../../tests/fixtures/iodef/valid/rfc8274-appB.5-iot-malware.xml"),
];

/// The marker every item's IncidentID starts with.
pub const MARKER: &[u8] = b"benchitem-";

/// One item as every client gets it: sequence number, item id, and the XML
/// as it goes on the wire (no declaration or comments).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Item {
    /// 0-based sequence number (the `N` of `benchitem-N`).
    pub n: u64,
    /// The pubsub item id (what gridlink derives from the IncidentID).
    pub id: String,
    /// The payload XML.
    pub xml: String,
}

/// Template `t` with its (first) IncidentID's content replaced by `benchitem-N`.
fn instantiate(t: &str, n: u64) -> anyhow::Result<String> {
    let at = t
        .find("IncidentID")
        .context("template without IncidentID")?;
    let open_end = at + t[at..].find('>').context("unterminated IncidentID tag")? + 1;
    let close = open_end + t[open_end..].find('<').context("IncidentID without end")?;
    Ok(format!("{}benchitem-{n}{}", &t[..open_end], &t[close..]))
}

/// `count` items cycling through the templates, prepared (and strictly
/// validated) by gridlink's own publish path.
pub fn generate(count: u64) -> anyhow::Result<Vec<Item>> {
    (0..count)
        .map(|n| {
            let t = TEMPLATES[(n % TEMPLATES.len() as u64) as usize];
            let doc = instantiate(t, n)?;
            let p = Payload::prepare(doc.as_bytes(), ValidationLevel::Strict, DEFAULT_MAX_PAYLOAD)
                .with_context(|| format!("benchmark item {n}"))?;
            Ok(Item {
                n,
                id: p.item_id,
                xml: p.xml,
            })
        })
        .collect()
}

/// Writes items as JSON lines.
pub fn save(items: &[Item], path: &Path) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for it in items {
        serde_json::to_writer(&mut f, it)?;
        f.write_all(b"\n")?;
    }
    f.flush()?;
    Ok(())
}

/// Reads items written by [`save`].
pub fn load(path: &Path) -> anyhow::Result<Vec<Item>> {
    let f = std::io::BufReader::new(
        std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?,
    );
    let mut out = Vec::new();
    for line in f.lines() {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        out.push(serde_json::from_str(&line)?);
    }
    if out.is_empty() {
        bail!("{}: no items", path.display());
    }
    Ok(out)
}

/// The item number in `bytes` after the first [`MARKER`], if any.
pub fn item_number(bytes: &[u8]) -> Option<u64> {
    let at = memchr::memmem::find(bytes, MARKER)? + MARKER.len();
    let digits = bytes[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    std::str::from_utf8(&bytes[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

/// Total payload bytes.
pub fn total_bytes(items: &[Item]) -> usize {
    items.iter().map(|i| i.xml.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_distinct_and_numbered() {
        let items = generate(8).unwrap();
        let ids: std::collections::BTreeSet<_> = items.iter().map(|i| i.id.clone()).collect();
        assert_eq!(ids.len(), 8);
        for it in &items {
            assert_eq!(item_number(it.xml.as_bytes()), Some(it.n));
            assert_eq!(item_number(it.id.as_bytes()), Some(it.n));
        }
    }
}
