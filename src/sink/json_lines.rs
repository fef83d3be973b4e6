//! The JSON-lines sink: one JSON object per event on stdout or appended to
//! a file (or, in the `xml` format, each item's IODEF document as received).
//! What `gridlink subscribe` prints, and what a SIEM's shipper tails.

use std::io::Write;
use std::path::Path;

use super::deliver::{BoxFuture, Format, Sink, SinkError};
use crate::grid::GridEvent;

/// Events as lines on a writer; flushed after each event, which is when it
/// counts as delivered.
pub struct JsonLinesSink {
    name: String,
    format: Format,
    out: Box<dyn Write + Send>,
    /// Where the `xml` format writes events that are not items (so nothing
    /// passes silently): stderr for stdout, the file itself for a file.
    notices_to_stderr: bool,
}

impl JsonLinesSink {
    /// Lines on stdout.
    pub fn stdout(format: Format) -> JsonLinesSink {
        JsonLinesSink {
            name: "json_lines".into(),
            format,
            out: Box::new(std::io::stdout()),
            notices_to_stderr: true,
        }
    }

    /// Lines appended to `path` (created if missing, owner-only).
    pub fn append_to(path: &Path, format: Format) -> Result<JsonLinesSink, SinkError> {
        let name = format!("json_lines {}", path.display());
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let file = opts.open(path).map_err(|e| SinkError::io(&name, e))?;
        Ok(JsonLinesSink {
            name,
            format,
            out: Box::new(file),
            notices_to_stderr: false,
        })
    }

    /// Lines on any writer (tests, other programs).
    pub fn to_writer(out: Box<dyn Write + Send>, format: Format) -> JsonLinesSink {
        JsonLinesSink {
            name: "json_lines".into(),
            format,
            out,
            notices_to_stderr: false,
        }
    }

    fn write(&mut self, ev: &GridEvent) -> std::io::Result<()> {
        match (self.format, ev) {
            (Format::Xml, GridEvent::Item { envelope, .. }) => {
                writeln!(self.out, "{}", envelope.document)?
            }
            (Format::Xml, other) if self.notices_to_stderr => {
                eprintln!("{}", other.to_json())
            }
            (_, ev) => {
                ev.write_json(&mut self.out)?;
                writeln!(self.out)?
            }
        }
        self.out.flush()
    }
}

impl Sink for JsonLinesSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn deliver<'a>(&'a mut self, ev: &'a GridEvent) -> BoxFuture<'a, Result<(), SinkError>> {
        // A line is small and stdout a pipe: written in place rather than
        // on a blocking thread.
        let r = self.write(ev).map_err(|e| SinkError::io(&self.name, e));
        Box::pin(async move { r })
    }
}
