//! `[[sink]]` tables: which sink, with which settings, and building it.

use std::path::PathBuf;

use serde::Deserialize;

use super::deliver::{Format, Sink, SinkError};
use super::files::FilesSink;
use super::json_lines::JsonLinesSink;

/// A `[[sink]]` table of the configuration file: which sink, and its
/// settings. The bridge's ROLIE store is not one of them: it is the bridge.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SinkConfig {
    /// `type = "json_lines"`: events as JSON lines (or items as XML).
    JsonLines {
        /// A file to append to; unset: stdout.
        #[serde(default)]
        path: Option<PathBuf>,
        /// `json` (default) or `xml`.
        #[serde(default)]
        format: Format,
    },
    /// `type = "files"`: one file per item, named after its item id.
    Files {
        /// The directory (created if missing).
        dir: PathBuf,
        /// `json` (default) or `xml`.
        #[serde(default)]
        format: Format,
    },
}

impl SinkConfig {
    /// Builds the sink this table describes.
    pub fn build(&self) -> Result<Box<dyn Sink>, SinkError> {
        Ok(match self {
            SinkConfig::JsonLines { path: None, format } => {
                Box::new(JsonLinesSink::stdout(*format))
            }
            SinkConfig::JsonLines {
                path: Some(path),
                format,
            } => Box::new(JsonLinesSink::append_to(path, *format)?),
            SinkConfig::Files { dir, format } => Box::new(FilesSink::new(dir.clone(), *format)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[[sink]]` tables: the type picks the variant, defaults fill in,
    /// unknown keys and types are refused.
    #[test]
    fn sink_tables() {
        let t: SinkConfig = toml::from_str("type = \"files\"\ndir = \"/tmp/x\"").unwrap();
        assert_eq!(
            t,
            SinkConfig::Files {
                dir: "/tmp/x".into(),
                format: Format::Json
            }
        );
        let t: SinkConfig = toml::from_str("type = \"json_lines\"\nformat = \"xml\"").unwrap();
        assert_eq!(
            t,
            SinkConfig::JsonLines {
                path: None,
                format: Format::Xml
            }
        );
        let e = toml::from_str::<SinkConfig>("type = \"files\"\ndir = \"d\"\ndirr = 1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("dirr"), "{e}");
        assert!(toml::from_str::<SinkConfig>("type = \"carrier-pigeon\"").is_err());
    }
}
