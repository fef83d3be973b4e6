//! A read-only TAXII 2.1 server over a store filled with generated incidents: the gridlink side of
//! `scripts/bench-taxii` (TAXII Get Objects against medallion, issue 26). Not a way to run the
//! bridge: the bridge mounts the same routes on its ROLIE server.
//!
//! Usage: `cargo run --example taxii_serve -- ITEMS DIR`: stores ITEMS incidents (each with one
//! address and one file hash) in `DIR/store.sqlite`, writes the STIX objects they give to
//! `DIR/objects.json`, prints `READY http://127.0.0.1:PORT` and serves (reads need the token
//! `bench`, as Bearer or as a Basic password) until stdin closes.

use std::sync::Arc;

use gridlink::envelope::Envelope;
use gridlink::rolie::{Hooks, NoPublisher, RolieConfig, RolieServer};
use gridlink::stix::{to_stix, Context};
use gridlink::store::Store;
use tokio::io::AsyncReadExt;

fn incident(n: usize) -> String {
    format!(
        "<IODEF-Document xmlns='urn:ietf:params:xml:ns:iodef-2.0' xmlns:ds='http://www.w3.org/2000/09/xmldsig#' version='2.00'>\
         <Incident purpose='reporting' restriction='green'><IncidentID name='csirt.example.com'>B-{n}</IncidentID>\
         <GenerationTime>2026-11-23T09:00:00Z</GenerationTime><Description>bench incident {n}</Description>\
         <Contact role='creator' type='organization'><ContactName>Example CSIRT</ContactName></Contact>\
         <EventData><Flow><System category='source'><Node><Address category='ipv4-addr'>10.{}.{}.{}</Address></Node></System></Flow>\
         <Record><RecordData><FileData><File><HashData scope='file-contents'><Hash>\
         <ds:DigestMethod Algorithm='http://www.w3.org/2001/04/xmlenc#sha256'/><ds:DigestValue>{:064x}</ds:DigestValue>\
         </Hash></HashData></File></FileData></RecordData></Record></EventData></Incident></IODEF-Document>",
        n / 65536 % 256,
        n / 256 % 256,
        n % 256,
        n as u128 * 0x9e3779b97f4a7c15
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let items: usize = args.next().unwrap_or_else(|| "1000".into()).parse()?;
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let store = Store::open(dir.join("store.sqlite"))?;
    let mut objects = Vec::new();
    for n in 0..items {
        let doc = incident(n);
        let parsed = gridlink::iodef::parse(doc.as_bytes())?;
        for o in to_stix(&parsed, &Context::default()).objects {
            if !objects.iter().rev().take(8).any(|x| x == &o) {
                objects.push(o);
            }
        }
        store
            .put(Envelope {
                topic: "incidents".into(),
                item_id: format!("b-{n}"),
                publisher: None,
                received_at: chrono::Utc::now(),
                delayed_at: None,
                payload_ns: gridlink::iodef::NS_IODEF.into(),
                document: doc,
            })
            .await?;
    }
    std::fs::write(dir.join("objects.json"), serde_json::to_vec(&objects)?)?;
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, "bench\n")?;
    let config = RolieConfig {
        listen: "127.0.0.1:0".parse()?,
        read_token_file: Some(tokens),
        ..RolieConfig::default()
    };
    let server = RolieServer::bind(config, store, Arc::new(NoPublisher), Hooks::default())
        .await?
        .mount(gridlink::taxii::router);
    println!("READY http://{}", server.local_addr());
    server
        .run(async {
            let mut buf = [0u8; 64];
            let mut stdin = tokio::io::stdin();
            while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
        })
        .await?;
    Ok(())
}
