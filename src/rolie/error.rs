//! Why the ROLIE server could not start or stopped.

use std::net::SocketAddr;
use std::path::Path;

use crate::store::StoreError;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A plain-HTTP listener on a non-loopback address was refused.
    #[error("refusing to serve plain HTTP on non-loopback {0}: configure tls_cert/tls_key or allow_insecure_http")]
    InsecureListen(SocketAddr),
    /// The configuration is inconsistent.
    #[error("invalid ROLIE configuration: {0}")]
    Config(String),
    /// Certificates, keys or CA files could not be loaded.
    #[error("TLS setup: {0}")]
    Tls(String),
    /// A file (token file, certificates) could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Binding or serving the socket failed.
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
    /// The store failed while preparing the configured topics.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Reads a file the configuration names (token files, certificates).
pub(crate) fn read_file(path: &Path) -> Result<String, ServeError> {
    std::fs::read_to_string(path).map_err(|source| ServeError::Read {
        path: path.display().to_string(),
        source,
    })
}
