//! The files sink: one file per item in a directory, named after the item
//! id (`gridlink subscribe --out DIR`). A republished item replaces its
//! file; a reader never sees half a file (write, then rename).

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::deliver::{BoxFuture, Format, Sink, SinkError};
use crate::grid::GridEvent;

/// One file per item; events that are not items go to stdout as JSON
/// lines, so that nothing passes silently.
pub struct FilesSink {
    name: String,
    dir: PathBuf,
    format: Format,
}

impl FilesSink {
    /// Files in `dir` (created on the first item).
    pub fn new(dir: PathBuf, format: Format) -> FilesSink {
        FilesSink {
            name: format!("files {}", dir.display()),
            dir,
            format,
        }
    }

    fn write(&self, ev: &GridEvent) -> std::io::Result<()> {
        let GridEvent::Item { envelope, .. } = ev else {
            let mut out = std::io::stdout().lock();
            ev.write_json(&mut out)?;
            writeln!(out)?;
            return out.flush();
        };
        std::fs::create_dir_all(&self.dir)?;
        // A CSAF advisory or CVE record is JSON: written as published.
        let json_document = crate::vuln::PayloadType::from_uri(&envelope.payload_ns)
            .is_some_and(crate::vuln::PayloadType::is_json);
        let (ext, body) = match self.format {
            Format::Xml if json_document => ("json", envelope.document.clone()),
            Format::Xml => ("xml", envelope.document.clone()),
            Format::Json => ("json", serde_json::to_string(ev)?),
        };
        write_atomically(&self.dir.join(file_name(&envelope.item_id, ext)), &body)
    }
}

/// Writes `body` to `path` through a temporary file, synced before the
/// rename: once this returns, the file is whole and on disk.
fn write_atomically(path: &Path, body: &str) -> std::io::Result<()> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(body.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Ids at most this long that are already safe keep their name as is.
const MAX_PLAIN: usize = 200;
/// How much of the safe form a hashed name keeps, so that a human can still
/// tell the files apart: 100 + `~` + 16 hex digits + extension + `.tmp`
/// stays far below the 255 bytes of a file name on common file systems.
const HASHED_PREFIX: usize = 100;

/// A file name for an item id, one to one: no two ids share a file, and no
/// id can leave the directory or be too long for a file name (issue 21).
///
/// An id that is already a safe name (ASCII letters, digits, `.-_:`, not
/// starting with a dot, at most 200 bytes) is kept unchanged, so existing
/// files keep their names. Any other id becomes its safe form (unsafe
/// characters as `_`, a leading `_`, at most 100 bytes) plus `~` and 16 hex
/// digits of the SHA-256 of the id. `~` never occurs in a kept id, so a
/// hashed name never equals a kept one; two hashed names are equal only if
/// the 64-bit hashes collide.
pub fn file_name(item_id: &str, ext: &str) -> String {
    let safe_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':');
    if !item_id.is_empty()
        && item_id.len() <= MAX_PLAIN
        && !item_id.starts_with('.')
        && item_id.chars().all(safe_char)
    {
        return format!("{item_id}.{ext}");
    }
    let mut s = String::from("_");
    s.extend(
        item_id
            .chars()
            .map(|c| if safe_char(c) { c } else { '_' })
            .take(HASHED_PREFIX - 1),
    );
    let digest = Sha256::digest(item_id.as_bytes());
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{s}~{hash}.{ext}")
}

impl Sink for FilesSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn deliver<'a>(&'a mut self, ev: &'a GridEvent) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move { self.write(ev).map_err(|e| SinkError::io(&self.name, e)) })
    }
}

#[cfg(test)]
mod tests {
    use super::file_name;
    use std::collections::HashSet;

    /// A CSAF item is written as the JSON it is, named `.json`.
    #[test]
    fn json_documents_keep_their_form() {
        use super::{FilesSink, Format, GridEvent};
        let dir = tempfile::tempdir().unwrap();
        let sink = FilesSink::new(dir.path().to_path_buf(), Format::Xml);
        let ev = GridEvent::Item {
            envelope: crate::envelope::Envelope {
                topic: "t".into(),
                item_id: "example.com:A-1".into(),
                publisher: None,
                received_at: chrono::Utc::now(),
                delayed_at: None,
                payload_ns: crate::vuln::CSAF_2_0_FORMAT.into(),
                document: "{\"document\": {}}\n".into(),
            },
            iodef: None,
        };
        sink.write(&ev).unwrap();
        let written =
            std::fs::read_to_string(dir.path().join(file_name("example.com:A-1", "json")));
        assert_eq!(written.unwrap(), "{\"document\": {}}\n");
    }

    fn hashed(name: &str) -> bool {
        name.contains('~')
    }

    /// Item ids cannot escape the output directory.
    #[test]
    fn file_names_are_safe() {
        for id in [
            "../../etc/passwd",
            "..",
            ".",
            ".hidden",
            "a/b",
            "a\\b",
            "/abs",
            "",
            "nul\0byte",
            "ünïcödé/☃",
        ] {
            let name = file_name(id, "xml");
            assert!(
                !name.contains('/') && !name.contains('\\'),
                "{id:?} → {name}"
            );
            assert!(!name.starts_with('.'), "{id:?} → {name}");
            assert!(name.is_ascii(), "{id:?} → {name}");
            assert!(hashed(&name), "{id:?} → {name}");
        }
        assert!(file_name("../../etc/passwd", "xml").starts_with("_.._.._etc_passwd~"));
    }

    /// Ids that are already safe names keep them: existing users' files
    /// are found where they were.
    #[test]
    fn safe_ids_keep_their_names() {
        assert_eq!(file_name("csirt.example:1", "json"), "csirt.example:1.json");
        assert_eq!(file_name("x_y", "xml"), "x_y.xml");
        assert_eq!(file_name("sha256-00ff", "xml"), "sha256-00ff.xml");
        let long = "a".repeat(200);
        assert_eq!(file_name(&long, "xml"), format!("{long}.xml"));
    }

    /// Ids that all mapped to `x_y.xml` before issue 21 get a file each.
    #[test]
    fn colliding_ids_get_distinct_names() {
        let ids = [
            "x_y", "x/y", "x\\y", "x y", "x?y", "x%y", "x~y", "xéy", "x\u{0}y", "_x_y", "..",
            "_..", ".", "_.", "", "_",
        ];
        let names: HashSet<String> = ids.iter().map(|i| file_name(i, "xml")).collect();
        assert_eq!(names.len(), ids.len(), "{names:?}");
    }

    /// Over-long ids get a bounded name, distinct from each other even
    /// when they share their first hundreds of bytes.
    #[test]
    fn long_ids_are_capped() {
        let a = "a".repeat(300);
        let b = format!("{}b", "a".repeat(299));
        let c = "é".repeat(300);
        let d = "a".repeat(201);
        let names: Vec<String> = [&a, &b, &c, &d]
            .iter()
            .map(|i| file_name(i, "json"))
            .collect();
        for n in &names {
            assert!(n.len() + ".tmp".len() <= 128, "{n} is {} bytes", n.len());
            assert!(hashed(n), "{n}");
        }
        let set: HashSet<&String> = names.iter().collect();
        assert_eq!(set.len(), names.len());
        // The same id always gets the same name (a republish replaces).
        assert_eq!(file_name(&a, "json"), names[0]);
    }
}
