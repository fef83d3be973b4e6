//! The CSAF provider poller (`--poll-csaf`, issue 28) against a local HTTPS
//! "provider" served by the test: provider-metadata.json, a ROLIE feed in
//! CSAF's JSON form, advisories with SHA-256/SHA-512 sidecars. Only the
//! advisories whose sidecar matches and that are valid CSAF are published;
//! a wrong hash, a missing sidecar, malformed JSON and a redirect to another
//! host each refuse one advisory; a second round asks conditionally.

mod common;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::gpg::GpgKey;
use common::rolie::{get_text, jing, Node, ATOM, ROLIE};
use common::{fixture_bytes, grid, gridlink_async, peer, prosody_with_bridge};
use gridlink::grid::{AccessModel, Affiliation, Payload, TopicOptions, DEFAULT_MAX_PAYLOAD};
use gridlink::iodef::ValidationLevel;
use gridlink::rolie::poll::csaf::CsafPoller;
use gridlink::rolie::poll::openpgp::{CsafKey, Keyring};
use gridlink::rolie::poll::{PollClient, PollError, MAX_BODY};
use gridlink::rolie::{BoxFuture, PublishBody, PublishError, Published, Publisher};
use gridlink::vuln::PayloadType;
use sha2::{Digest, Sha256, Sha512};
use tokio::io::AsyncBufReadExt;
use tokio_xmpp::minidom::Element;

const GOOD: [&str; 2] = ["csaf/bsi-2022-0001.json", "csaf/rhsa-2021_5217.json"];
/// Listed in the directory distribution's `changes.csv` (SHA-256 sidecar only).
const IN_DIRECTORY: &str = "csaf/2022-evd-uc-03-ms-001.json";

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The provider's files: path → body, and the requests it saw.
struct Provider {
    base: String,
    hits: Arc<Mutex<Vec<String>>>,
    _task: tokio::task::JoinHandle<()>,
}

/// A HTTPS provider on 127.0.0.1 with `chain`/`key` (a certificate for
/// `localhost`), reached as `https://localhost:PORT`. Index files carry an
/// ETag and answer 304 to it.
async fn provider(
    chain: &std::path::Path,
    key: &std::path::Path,
    signing: Option<&Signing>,
) -> Provider {
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = format!("https://localhost:{port}");
    let files = Arc::new(files(&base, signing));
    let hits = Arc::new(Mutex::new(Vec::new()));
    let seen = hits.clone();
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let files = files.clone();
        let seen = seen.clone();
        async move {
            let path = uri.path().to_string();
            let inm = headers.get(header::IF_NONE_MATCH).is_some();
            seen.lock()
                .unwrap()
                .push(format!("{path}{}", if inm { " (conditional)" } else { "" }));
            route(&files, &path, &headers)
        }
    });
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(chain, key)
        .await
        .unwrap();
    let server = axum_server::from_tcp_rustls(listener, config).unwrap();
    let task = tokio::spawn(async move {
        let _ = server.serve(app.into_make_service()).await;
    });
    Provider {
        base,
        hits,
        _task: task,
    }
}

fn route(files: &BTreeMap<String, Vec<u8>>, path: &str, headers: &HeaderMap) -> Response {
    // A strict provider: JSON only to a client that accepts it, signatures
    // likewise (the poller once asked for Atom everywhere).
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .unwrap_or("");
    let wants = if path.ends_with(".json") {
        Some("application/json")
    } else if path.ends_with(".asc") {
        Some("application/pgp-signature")
    } else {
        None
    };
    if wants.is_some_and(|w| !accept.contains(w)) {
        return StatusCode::NOT_ACCEPTABLE.into_response();
    }
    if path == "/redirect/away.json" {
        // Another host (127.0.0.1 is not the provider's origin `localhost`).
        let port = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.rsplit(':').next())
            .unwrap_or("1")
            .to_string();
        let to = format!("https://127.0.0.1:{port}/white/2022/bsi-2022-0001.json");
        return (StatusCode::FOUND, [(header::LOCATION, to)]).into_response();
    }
    let Some(body) = files.get(path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{}\"", &hex(&Sha256::digest(body))[..16]);
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(&etag)
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::ETAG, etag),
        ],
        body.clone(),
    )
        .into_response()
}

/// An advisory of the provider: path, document, sidecars (extension, and
/// the hash it says when not the right one), `updated`.
type Doc<'a> = (&'a str, Vec<u8>, Vec<(&'a str, Option<&'a str>)>, &'a str);

/// The provider's OpenPGP side: its key (a signing subkey, as CSAF PSIRTs
/// often have) signs every advisory; three more entries are valid CSAF with
/// a good hash but a bad signature, none, or one by `other` (whose primary
/// key signs). The metadata lists `vendor` in `public_openpgp_keys`.
struct Signing {
    vendor: GpgKey,
    other: GpgKey,
}

impl Signing {
    fn new() -> Signing {
        Signing {
            vendor: GpgKey::generate("Test vendor PSIRT <psirt@vendor.example>", true),
            other: GpgKey::generate("Someone else <x@other.example>", false),
        }
    }
}

/// Entries only a signing provider has: (path, updated, signed by).
const SIGNED_EXTRA: [(&str, &str); 3] = [
    ("/white/2024/bad-signature.json", "2024-03-01T00:00:00Z"),
    ("/white/2024/unsigned.json", "2024-03-02T00:00:00Z"),
    ("/white/2024/other-key.json", "2024-03-03T00:00:00Z"),
];

/// provider-metadata.json, one ROLIE feed, the advisories and sidecars
/// (and, when `signing`, `.asc` signatures and the extra entries).
fn files(base: &str, signing: Option<&Signing>) -> BTreeMap<String, Vec<u8>> {
    let mut f = BTreeMap::new();
    let mut meta = serde_json::json!({
        "canonical_url": format!("{base}/.well-known/csaf/provider-metadata.json"),
        "distributions": [{"rolie": {"feeds": [{
            "summary": "WHITE advisories", "tlp_label": "WHITE",
            "url": format!("{base}/white/feed-tlp-white.json")
        }]}}, {"directory_url": format!("{base}/dir")}],
        "last_updated": "2026-11-01T00:00:00Z",
        "list_on_CSAF_aggregators": true,
        "metadata_version": "2.0",
        "mirror_on_CSAF_aggregators": true,
        "publisher": {"category": "vendor", "name": "Test vendor", "namespace": "https://vendor.example"},
        "role": "csaf_provider"
    });
    if let Some(s) = signing {
        let at = format!("/.well-known/csaf/openpgp/{}.asc", s.vendor.fingerprint);
        meta["public_openpgp_keys"] = serde_json::json!([
            // Listed under a fingerprint, but the wrong key: never used.
            {"fingerprint": s.vendor.fingerprint, "url": format!("{base}/keys/impostor.asc")},
            {"fingerprint": s.vendor.fingerprint, "url": format!("{base}{at}")},
            {"fingerprint": s.other.fingerprint, "url": format!("{base}/keys/other.asc")}
        ]);
        f.insert(at, s.vendor.export());
        f.insert("/keys/impostor.asc".into(), s.other.export());
        f.insert("/keys/other.asc".into(), s.other.export());
    }
    f.insert(
        "/.well-known/csaf/provider-metadata.json".into(),
        meta.to_string().into_bytes(),
    );
    // (path, document, sidecars: (extension, hash or None for the right one), updated)
    let bsi = fixture_bytes(GOOD[0]);
    let rhsa = fixture_bytes(GOOD[1]);
    let vendor = fixture_bytes("csaf/avendor-advisory-0004.json");
    let garbage = fixture_bytes("csaf/avendor-advisory-0004-trailing-garbage.json");
    let mut docs: Vec<Doc> = vec![
        (
            "/white/2022/bsi-2022-0001.json",
            bsi,
            vec![("sha512", None), ("sha256", None)],
            "2022-01-01T00:00:00Z",
        ),
        (
            "/white/2021/rhsa-2021_5217.json",
            rhsa,
            vec![("sha256", None)],
            "2021-12-20T00:00:00Z",
        ),
        (
            "/white/2024/wrong-hash.json",
            vendor.clone(),
            vec![("sha512", Some("00"))],
            "2024-01-01T00:00:00Z",
        ),
        (
            "/white/2024/no-hash.json",
            vendor,
            vec![],
            "2024-01-02T00:00:00Z",
        ),
        (
            "/white/2024/garbage.json",
            garbage,
            vec![("sha256", None)],
            "2024-01-03T00:00:00Z",
        ),
        // Valid CSAF, right hash, but over the bridge's 200 KiB payload
        // limit: refused when published.
        (
            "/white/2024/oversized.json",
            padded(&fixture_bytes(GOOD[0]), 300 * 1024),
            vec![("sha256", None)],
            "2024-01-04T00:00:00Z",
        ),
        // Over the poller's 4 MiB body limit: never read to the end, skipped.
        (
            "/white/2024/huge.json",
            padded(&fixture_bytes(GOOD[0]), MAX_BODY + 1024),
            vec![("sha256", None)],
            "2024-01-05T00:00:00Z",
        ),
    ];
    if signing.is_some() {
        for (path, updated) in SIGNED_EXTRA {
            let doc = fixture_bytes("csaf/avendor-advisory-0004.json");
            docs.push((path, doc, vec![("sha256", None)], updated));
        }
    }
    let mut entries = Vec::new();
    for (path, doc, sidecars, updated) in docs {
        if let Some(s) = signing {
            let sig = match path {
                "/white/2024/bad-signature.json" => Some(s.vendor.sign(b"another document")),
                "/white/2024/unsigned.json" => None,
                "/white/2024/other-key.json" => Some(s.other.sign(&doc)),
                _ => Some(s.vendor.sign(&doc)),
            };
            if let Some(sig) = sig {
                f.insert(format!("{path}.asc"), sig);
            }
        }
        let mut links = vec![serde_json::json!({"rel": "self", "href": format!("{base}{path}")})];
        for (ext, forced) in sidecars {
            let right = match ext {
                "sha512" => hex(&Sha512::digest(&doc)),
                _ => hex(&Sha256::digest(&doc)),
            };
            let name = path.rsplit('/').next().unwrap();
            let line = format!("{}  {name}\n", forced.map(str::to_owned).unwrap_or(right));
            f.insert(format!("{path}.{ext}"), line.into_bytes());
            links.push(serde_json::json!({"rel": "hash", "href": format!("{base}{path}.{ext}")}));
        }
        entries.push(serde_json::json!({
            "id": path, "title": path, "link": links,
            "published": updated, "updated": updated,
            "content": {"type": "application/json", "src": format!("{base}{path}")},
            "format": {"schema": "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json", "version": "2.0"}
        }));
        f.insert(path.to_string(), doc);
    }
    // An entry whose content redirects to another host.
    entries.push(serde_json::json!({
        "id": "away", "title": "away", "link": [{"rel": "self", "href": format!("{base}/redirect/away.json")}],
        "published": "2024-02-01T00:00:00Z", "updated": "2024-02-01T00:00:00Z",
        "content": {"type": "application/json", "src": format!("{base}/redirect/away.json")},
        "format": {"schema": "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json", "version": "2.0"}
    }));
    let feed = serde_json::json!({"feed": {
        "id": "white", "title": "WHITE",
        "link": [{"rel": "self", "href": format!("{base}/white/feed-tlp-white.json")}],
        "category": [{"scheme": "urn:ietf:params:rolie:category:information-type", "term": "csaf"}],
        "updated": "2026-11-01T00:00:00Z",
        "entry": entries
    }});
    f.insert(
        "/white/feed-tlp-white.json".into(),
        feed.to_string().into_bytes(),
    );
    // The directory distribution: changes.csv, one advisory, SHA-256 only.
    let vex = fixture_bytes(IN_DIRECTORY);
    f.insert(
        "/dir/changes.csv".into(),
        b"\"2023/vex-1.json\",\"2023-05-01T00:00:00Z\"\n".to_vec(),
    );
    f.insert(
        "/dir/2023/vex-1.json.sha256".into(),
        format!("{}  vex-1.json\n", hex(&Sha256::digest(&vex))).into_bytes(),
    );
    if let Some(s) = signing {
        f.insert("/dir/2023/vex-1.json.asc".into(), s.vendor.sign(&vex));
    }
    f.insert("/dir/2023/vex-1.json".into(), vex);
    f
}

/// A publisher that checks as the bridge's does (`Payload::prepare`) and
/// keeps what it accepted.
#[derive(Clone, Default)]
struct Checking(Arc<Mutex<Vec<String>>>);

impl Publisher for Checking {
    fn publish<'a>(
        &'a self,
        _topic: &'a str,
        body: PublishBody,
    ) -> BoxFuture<'a, Result<Published, PublishError>> {
        Box::pin(async move {
            let (PublishBody::Xml(d) | PublishBody::Json(d)) = body;
            let p = Payload::prepare(d.as_bytes(), ValidationLevel::Strict, DEFAULT_MAX_PAYLOAD)
                .map_err(|e| PublishError::Invalid(vec![e.to_string()]))?;
            assert_eq!(p.format, PayloadType::Csaf);
            self.0.lock().unwrap().push(d);
            Ok(p.item_id.into())
        })
    }

    fn retract<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(async { Ok(()) })
    }
}

/// `doc` (a JSON object) with spaces after its `{` up to `len` bytes.
fn padded(doc: &[u8], len: usize) -> Vec<u8> {
    let mut out = b"{".to_vec();
    out.resize(len.saturating_sub(doc.len()), b' ');
    out.extend_from_slice(&doc[1..]);
    out
}

fn text(rel: &str) -> String {
    String::from_utf8(fixture_bytes(rel)).unwrap()
}

#[tokio::test]
async fn provider_polled_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let ca = gridlink::lab::TestCa::generate(dir.path(), &["localhost"]).unwrap();
    let prov = provider(&ca.server_chain_pem, &ca.server_key_pem, None).await;
    let mut cfg = gridlink::Config::new(
        "poller@localhost".parse().unwrap(),
        gridlink::config::Secret::new("unused"),
    );
    cfg.ca_file = Some(ca.ca_pem.clone());
    let clients = PollClient::new(&cfg, Vec::new()).unwrap();
    let rec = Checking::default();
    let url = format!("{}/.well-known/csaf/provider-metadata.json", prov.base);
    let poller = CsafPoller::new(
        format!("{url}=advisories").parse().unwrap(),
        &clients,
        Arc::new(rec.clone()),
        dir.path(),
        Duration::from_secs(60),
    )
    .unwrap();
    assert_eq!(poller.poll_once().await.unwrap(), 3);
    // Exactly the good ones, oldest first per index, byte for byte.
    assert_eq!(
        *rec.0.lock().unwrap(),
        vec![text(GOOD[1]), text(GOOD[0]), text(IN_DIRECTORY)]
    );
    // wrong hash, no sidecar, malformed JSON, over 200 KiB: refused; the
    // redirect and the one over 4 MiB: skipped.
    assert_eq!(poller.stats.invalid.load(Ordering::Relaxed), 4);
    assert_eq!(poller.stats.skipped.load(Ordering::Relaxed), 2);
    let hits = prov.hits.lock().unwrap().clone();
    // The redirect's target was never asked for through it: one fetch only.
    let bsi_hits = hits
        .iter()
        .filter(|h| *h == "/white/2022/bsi-2022-0001.json")
        .count();
    assert_eq!(bsi_hits, 1, "{hits:?}");
    // Round two, and a new poller over the same state (a restart):
    // conditional requests only, nothing fetched or published again.
    let again = CsafPoller::new(
        format!("{url}=advisories").parse().unwrap(),
        &clients,
        Arc::new(rec.clone()),
        dir.path(),
        Duration::from_secs(60),
    )
    .unwrap();
    for p in [&poller, &again] {
        prov.hits.lock().unwrap().clear();
        assert_eq!(p.poll_once().await.unwrap(), 0);
        let hits = prov.hits.lock().unwrap().clone();
        assert_eq!(
            hits,
            vec![
                "/.well-known/csaf/provider-metadata.json (conditional)".to_string(),
                "/white/feed-tlp-white.json (conditional)".to_string(),
                "/dir/changes.csv (conditional)".to_string(),
            ]
        );
    }
    assert_eq!(rec.0.lock().unwrap().len(), 3);
    // A state file that is not world-readable.
    let state = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().starts_with("csaf-"))
        .expect("state file");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(state.metadata().unwrap().permissions().mode() & 0o077, 0);

    // Metadata that redirects to another host: a clear error, nothing published.
    let away = format!("{}/redirect/away.json", prov.base);
    let p2 = CsafPoller::new(
        format!("{away}=advisories").parse().unwrap(),
        &clients,
        Arc::new(Checking::default()),
        &dir.path().join("second"),
        Duration::from_secs(60),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("second")).unwrap();
    let e = p2.poll_once().await.expect_err("redirect to another host");
    assert!(matches!(e, PollError::Refused(..)), "{e:?}");
    assert!(e.to_string().contains("outside the feed's origin"), "{e}");
    // Metadata over 4 MiB: a clear error, nothing published.
    let huge = format!("{}/white/2024/huge.json", prov.base);
    let rec = Checking::default();
    let p3 = CsafPoller::new(
        format!("{huge}=advisories").parse().unwrap(),
        &clients,
        Arc::new(rec.clone()),
        &dir.path().join("second"),
        Duration::from_secs(60),
    )
    .unwrap();
    let e = p3.poll_once().await.expect_err("too large");
    assert!(matches!(e, PollError::Body(..)), "{e:?}");
    assert!(e.to_string().contains(&MAX_BODY.to_string()), "{e}");
    assert!(rec.0.lock().unwrap().is_empty());
}

/// With OpenPGP keys for the source, only advisories with a good signature
/// by one of them are published (gpg made the keys and signatures): a key
/// file; the key the metadata lists under a pinned fingerprint (an entry
/// under that fingerprint holding another key is not used); another key's
/// file; a pin the metadata does not list (a clear error, nothing done).
#[tokio::test]
async fn openpgp_signatures_checked() {
    let dir = tempfile::tempdir().unwrap();
    let ca = gridlink::lab::TestCa::generate(dir.path(), &["localhost"]).unwrap();
    let signing = Signing::new();
    let prov = provider(&ca.server_chain_pem, &ca.server_key_pem, Some(&signing)).await;
    let mut cfg = gridlink::Config::new(
        "poller@localhost".parse().unwrap(),
        gridlink::config::Secret::new("unused"),
    );
    cfg.ca_file = Some(ca.ca_pem.clone());
    let clients = PollClient::new(&cfg, Vec::new()).unwrap();
    let meta = format!("{}/.well-known/csaf/provider-metadata.json", prov.base);
    let vendor_file = signing.vendor.export_to(dir.path(), "vendor");
    let other_file = signing.other.export_to(dir.path(), "other");
    let poll = |name: &str, keys: Vec<String>| {
        let state = dir.path().join(name);
        std::fs::create_dir_all(&state).unwrap();
        let rec = Checking::default();
        let keys: Vec<CsafKey> = keys.iter().map(|k| k.parse().unwrap()).collect();
        let p = CsafPoller::new(
            format!("{meta}=advisories").parse().unwrap(),
            &clients,
            Arc::new(rec.clone()),
            &state,
            Duration::from_secs(60),
        )
        .unwrap()
        .with_openpgp(&keys)
        .unwrap();
        (p, rec)
    };
    let good = vec![text(GOOD[1]), text(GOOD[0]), text(IN_DIRECTORY)];
    let specs = [
        format!("{meta}={}", vendor_file.display()),
        format!("{meta}={}", signing.vendor.fingerprint.to_lowercase()),
    ];
    let keys_of = |name: &str| -> Vec<CsafKey> {
        let spec = specs.iter().find(|s| s.ends_with(name)).unwrap();
        vec![spec.parse().unwrap()]
    };
    for spec in &specs {
        let name = spec[spec.len() - 8..].to_string();
        let (p, rec) = poll(&name, vec![spec.clone()]);
        assert_eq!(p.poll_once().await.unwrap(), 3);
        assert_eq!(*rec.0.lock().unwrap(), good);
        // Bad signature, none, another key's; wrong hash, none, bad JSON,
        // too large.
        assert_eq!(p.stats.bad_signature.load(Ordering::Relaxed), 3);
        assert_eq!(p.stats.invalid.load(Ordering::Relaxed), 7);
        // Round two: the fetched key is asked for conditionally.
        prov.hits.lock().unwrap().clear();
        assert_eq!(p.poll_once().await.unwrap(), 0);
        let hits = prov.hits.lock().unwrap().clone();
        assert!(
            hits.iter().all(|h| h.ends_with("(conditional)")),
            "{hits:?}"
        );
        // A restart over a state file that does not have the metadata's
        // key list (as one written before keys were configured): the
        // metadata is read again rather than taken as unchanged.
        let state = std::fs::read_dir(dir.path().join(&name))
            .unwrap()
            .find_map(|e| e.ok().map(|e| e.path()))
            .unwrap();
        let mut saved: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
        saved.as_object_mut().unwrap().remove("keys");
        std::fs::write(&state, saved.to_string()).unwrap();
        let again = CsafPoller::new(
            format!("{meta}=advisories").parse().unwrap(),
            &clients,
            Arc::new(Checking::default()),
            &dir.path().join(&name),
            Duration::from_secs(60),
        )
        .unwrap()
        .with_openpgp(&keys_of(&name))
        .unwrap();
        assert_eq!(again.poll_once().await.unwrap(), 0);
    }
    // Only the other key trusted: only what it signed.
    let (p, rec) = poll("other", vec![format!("{meta}={}", other_file.display())]);
    assert_eq!(p.poll_once().await.unwrap(), 1);
    assert_eq!(
        *rec.0.lock().unwrap(),
        vec![text("csaf/avendor-advisory-0004.json")]
    );
    // bsi, rhsa, the malformed and the oversized one (their hashes are
    // right), bad-signature, unsigned, the directory's: all signed by the
    // vendor, or not at all.
    assert_eq!(p.stats.bad_signature.load(Ordering::Relaxed), 7);
    // Keys of another source are not this one's.
    let (p, rec) = poll(
        "elsewhere",
        vec![format!(
            "https://elsewhere.example/m.json={}",
            other_file.display()
        )],
    );
    assert_eq!(p.poll_once().await.unwrap(), 3 + 3);
    assert_eq!(rec.0.lock().unwrap().len(), 6);
    // A pin the metadata does not list: an error naming it, nothing done.
    let (p, rec) = poll("unlisted", vec![format!("{meta}={}", "AB".repeat(20))]);
    let e = p.poll_once().await.expect_err("no such key");
    assert!(
        e.to_string().contains(&"AB".repeat(20)) && e.to_string().contains("public_openpgp_keys"),
        "{e}"
    );
    assert!(rec.0.lock().unwrap().is_empty());
    assert_eq!(p.stats.errors.load(Ordering::Relaxed), 1);
    // The checks beyond rPGP's, on one document: a text-mode signature is
    // good; SHA-1, or made in the future, is not.
    let ring = Keyring::load(&vendor_file).unwrap();
    let doc = fixture_bytes(GOOD[0]);
    let now = std::time::SystemTime::now();
    let check = |sig: Vec<u8>| ring.verify(&doc, &sig, now);
    assert_eq!(
        check(signing.vendor.sign(&doc)),
        Ok(signing.vendor.fingerprint.clone())
    );
    assert!(check(signing.vendor.sign_with(&doc, &["--textmode"])).is_ok());
    let e = check(signing.vendor.sign_with(&doc, &["--digest-algo", "SHA1"])).unwrap_err();
    assert!(e.contains("weak"), "{e}");
    let later = ["--faked-system-time", "20990101T000000!"];
    let e = check(signing.vendor.sign_with(&doc, &later)).unwrap_err();
    assert!(e.contains("future"), "{e}");
    let e = check(signing.other.sign(&doc)).unwrap_err();
    assert!(e.contains("not by a trusted key"), "{e}");
    // A key file that is not one: refused when the poller is made.
    let junk = dir.path().join("junk.asc");
    std::fs::write(&junk, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n").unwrap();
    let k: CsafKey = format!("{meta}={}", junk.display()).parse().unwrap();
    let e = CsafPoller::new(
        format!("{meta}=advisories").parse().unwrap(),
        &clients,
        Arc::new(Checking::default()),
        dir.path(),
        Duration::from_secs(60),
    )
    .unwrap()
    .with_openpgp(&[k])
    .err()
    .expect("not a key");
    assert!(e.to_string().contains("junk.asc"), "{e}");
}

/// The bridge polls the provider into a CSAF topic, advisories signed and
/// the vendor's key given (`--csaf-key`); a slixmpp subscriber receives
/// exactly the good advisories, byte for byte.
#[tokio::test]
async fn bridge_polls_provider_into_topic() {
    let p = prosody_with_bridge();
    let publisher = grid(&p, "publisher").await;
    let opts = TopicOptions {
        access_model: AccessModel::Open,
        payload_type: PayloadType::Csaf,
        ..Default::default()
    };
    publisher.create_topic("advisories", &opts).await.unwrap();
    publisher
        .set_affiliation(
            "advisories",
            &"bridge@localhost".parse().unwrap(),
            Affiliation::Publisher,
        )
        .await
        .unwrap();
    let signing = Signing::new();
    let prov = provider(&p.ca.server_chain_pem, &p.ca.server_key_pem, Some(&signing)).await;
    let mut slix = peer(&p, "subscribe", "subscriber")
        .args(["--node", "advisories", "--count", "3", "--timeout", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = slix.stdout.take().unwrap();
    let lines = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    tokio::time::sleep(Duration::from_secs(2)).await; // slixmpp subscribes
    let dir = tempfile::tempdir().unwrap();
    let meta = format!("{}/.well-known/csaf/provider-metadata.json", prov.base);
    let url = format!("{meta}=advisories");
    let key = signing.vendor.export_to(dir.path(), "vendor");
    let csaf_key = format!("{meta}={}", key.display());
    // A key for a source that is not polled: the bridge refuses to start
    // (a typo must not leave a source unchecked).
    let out = gridlink_async(&p, "bridge", "bridge-pw")
        .arg("--state-dir")
        .arg(dir.path().join("state0"))
        .args(["bridge", "--listen", "127.0.0.1:0", "--poll-csaf", &url])
        .args(["--csaf-key", &format!("{meta}x={}", key.display())])
        .arg("--store")
        .arg(dir.path().join("bridge0.sqlite"))
        .output()
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("no --poll-csaf source has that URL"),
        "{err}"
    );
    let mut bridge = gridlink_async(&p, "bridge", "bridge-pw")
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .args([
            "bridge",
            "--listen",
            "127.0.0.1:0",
            "--poll-interval",
            "1",
            "--poll-csaf",
            &url,
            "--csaf-key",
            &csaf_key,
            "--topic",
            "advisories",
        ])
        .arg("--store")
        .arg(dir.path().join("bridge.sqlite"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = tokio::io::BufReader::new(bridge.stderr.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(l)) = log.next_line().await {
            if let Some(rest) = l.split("serving ROLIE on ").nth(1) {
                return rest.split_whitespace().next().map(str::to_owned);
            }
        }
        None
    })
    .await
    .expect("bridge starts within 30 s")
    .expect("the bridge says where it serves");
    // Keep reading the log so the bridge never blocks on it.
    tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
    let status = tokio::task::spawn_blocking(move || slix.wait().unwrap())
        .await
        .unwrap();
    let lines = lines.await.unwrap();
    assert!(status.success(), "slixmpp: {lines:?}");
    let got: Vec<String> = lines
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let el: Element = v["xml"].as_str().unwrap().parse().unwrap();
            el.text()
        })
        .collect();
    assert_eq!(got, vec![text(GOOD[1]), text(GOOD[0]), text(IN_DIRECTORY)]);
    // A few more rounds: still exactly those three on the broker.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let items = publisher
        .items("advisories", None, None, ValidationLevel::Off)
        .await
        .unwrap();
    assert_eq!(items.len(), 3, "{items:?}");
    // The Atom poller's metrics, for this source.
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let metrics = reqwest::Client::builder()
        .build()
        .unwrap()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let sample = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(name) && l.contains("provider-metadata.json"))
            .unwrap_or_else(|| panic!("no {name} sample in\n{metrics}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(sample("gridlink_poll_published_total"), "3");
    // 3 bad hashes or JSON, one too large, 3 bad signatures (bad, none,
    // another key).
    assert_eq!(sample("gridlink_poll_invalid_total"), "7");
    assert_eq!(sample("gridlink_poll_bad_signature_total"), "3");
    // Read back as a ROLIE vulnerability collection (typed from the topic's
    // pubsub#type, no configuration), valid Atom.
    let feed = get_text(&format!("http://{addr}/rolie/feeds/advisories")).await;
    jing("rfc4287-appB-atom.rnc", &feed);
    let doc = Node::parse(&feed);
    let terms: Vec<&str> = doc
        .all(ATOM, "category")
        .iter()
        .map(|c| c.attr("term"))
        .collect();
    assert_eq!(terms, ["vulnerability"], "{feed}");
    let ids: Vec<&str> = doc
        .all(ATOM, "entry")
        .iter()
        .map(|e| e.one(ROLIE, "property").attr("value"))
        .collect();
    assert_eq!(ids.len(), 3, "{feed}");
    assert!(
        ids.contains(&"BSI-2022-0001") && ids.contains(&"RHSA-2021:5217"),
        "{ids:?}"
    );
    let _ = bridge.start_kill();
    let _ = bridge.wait().await;
}
