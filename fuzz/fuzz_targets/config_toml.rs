//! The TOML configuration file: `FileConfig`, then its `[bridge]` table as
//! `BridgeFile`, its `[[sink]]` and `[[source]]` tables, as the CLI reads
//! them.
#![no_main]

use gridlink::bridge::BridgeFile;
use gridlink::config::FileConfig;
use gridlink::sink::SinkConfig;
use gridlink::source::SourceConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(file) = toml::from_str::<FileConfig>(text) else {
        return;
    };
    if let Some(t) = file.bridge {
        let _ = toml::Value::Table(t).try_into::<BridgeFile>();
    }
    for t in file.sink.unwrap_or_default() {
        let _ = toml::Value::Table(t).try_into::<SinkConfig>();
    }
    for t in file.source.unwrap_or_default() {
        let _ = toml::Value::Table(t).try_into::<SourceConfig>();
    }
});
