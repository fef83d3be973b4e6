//! Connection settings, from three layers: a TOML file, `GRIDLINK_*`
//! environment variables, and command-line flags — later layers win.
//!
//! The binary parses flags and environment with clap (which already gives
//! "flag over env"); this module adds the file underneath and turns the result
//! into a validated [`Config`]. Keeping the merge here, not in the CLI, lets
//! library users build the same `Config` from their own sources.

mod connection;
mod layers;

pub use connection::{
    default_state_dir, parse_host_port, Config, ConfigError, Secret, StreamManagement, TlsMode,
};
pub use layers::{FileConfig, Overrides};
