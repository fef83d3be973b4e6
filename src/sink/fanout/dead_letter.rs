//! The dead-letter file of one sink: events its receiver refused for good
//! (an HTTP 4xx, a per-item mapping error), one JSON object per line with
//! the time, the sink, the reason and the event, synced before the sink's
//! cursor moves past them.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Where one sink's refused events go.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    path: PathBuf,
}

impl DeadLetter {
    /// The dead-letter file of the sink `name` in `dir`
    /// (`dead-letter-NAME.jsonl`, the name reduced to `[A-Za-z0-9._-]`).
    pub fn in_dir(dir: &Path, name: &str) -> DeadLetter {
        let clean: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        DeadLetter {
            path: dir.join(format!("dead-letter-{clean}.jsonl")),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one refused event (its JSON `line`) with the reason, and
    /// syncs the file.
    pub fn write(&self, sink: &str, reason: &str, line: &str) -> std::io::Result<()> {
        let event: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| serde_json::Value::String(line.into()));
        let record = serde_json::json!({
            "at": chrono::Utc::now(),
            "sink": sink,
            "reason": reason,
            "event": event,
        });
        // The state directory may not exist yet (a bridge without pollers never made it).
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&self.path)?;
        writeln!(f, "{record}")?;
        f.sync_data()
    }
}
