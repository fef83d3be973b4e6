//! The files sink: one file per item in a directory, named after the item
//! id (`gridlink subscribe --out DIR`). A republished item replaces its
//! file; a reader never sees half a file (write, then rename).

use std::io::Write;
use std::path::{Path, PathBuf};

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
        let (ext, body) = match self.format {
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

/// A file name for an item id: path separators and other unsafe characters
/// become `_`, and a leading dot is escaped, so no id can leave the directory.
pub fn file_name(item_id: &str, ext: &str) -> String {
    let mut s: String = item_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        s.insert(0, '_');
    }
    format!("{s}.{ext}")
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

    /// Item ids cannot escape the output directory.
    #[test]
    fn file_names_are_safe() {
        assert_eq!(
            file_name("../../etc/passwd", "xml"),
            "_.._.._etc_passwd.xml"
        );
        assert_eq!(file_name("..", "xml"), "_...xml");
        assert_eq!(file_name("csirt.example:1", "json"), "csirt.example:1.json");
        assert_eq!(file_name("", "xml"), "_.xml");
    }
}
