//! Flags and configuration keys, paired: every flag of the connection and
//! of `bridge` is a key of the TOML file (spelled with `_`), and every key
//! is a flag, except the differences listed here (README's options table
//! names them too). The test below walks clap's definitions and asks serde
//! for the keys it knows, so neither side can drift alone.

/// Connection flags whose key is spelled differently: (flag, key).
pub const RENAMED: &[(&str, &str)] = &[
    ("crl_file", "crl_files"),
    ("iq_timeout", "iq_timeout_secs"),
    ("rediscover_every", "rediscover_secs"),
];

/// Flags that are not keys: the file's own path and the verbosity of one
/// run.
pub const FLAGS_WITHOUT_KEY: &[&str] = &["config", "verbose", "quiet", "help", "version"];

/// Top-level keys that are not connection flags: tables with their own
/// pairing (`[bridge]`) or no flag form (`[[sink]]`, `[[source]]`: the
/// bridge's `--poll` is a `poll` source; `[rid]` is `gridlink rid serve`'s).
pub const KEYS_WITHOUT_FLAG: &[&str] = &["bridge", "sink", "source", "rid"];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use clap::CommandFactory;

    use super::*;
    use crate::cli::Cli;

    /// The keys serde knows for `T`, from its own "unknown field" error.
    fn keys_of<T: serde::de::DeserializeOwned + std::fmt::Debug>() -> BTreeSet<String> {
        let e = toml::from_str::<T>("zz_not_a_key = 1")
            .expect_err("an unknown key must be refused")
            .to_string();
        let list = e
            .split("expected one of ")
            .nth(1)
            .unwrap_or_else(|| panic!("no key list in {e:?}"));
        list.split(',')
            .map(|k| k.trim().trim_matches(|c| c == '`' || c == '\n').to_string())
            .filter(|k| !k.is_empty())
            .collect()
    }

    /// The long flags of `cmd` (its own and, with `globals`, the global ones),
    /// spelled as keys.
    fn flags_of(cmd: &clap::Command, globals: bool) -> BTreeSet<String> {
        cmd.get_arguments()
            .filter(|a| a.is_global_set() == globals)
            .filter_map(|a| a.get_long().or(Some(a.get_id().as_str())))
            .map(|l| l.replace('-', "_"))
            .filter(|l| !FLAGS_WITHOUT_KEY.contains(&l.as_str()))
            .collect()
    }

    /// Every connection flag is a top-level key and every key a flag.
    #[test]
    fn connection_flags_and_keys_pair() {
        let cli = Cli::command();
        let flags: BTreeSet<String> = flags_of(&cli, true)
            .into_iter()
            .map(|f| {
                RENAMED
                    .iter()
                    .find(|(flag, _)| *flag == f)
                    .map(|(_, key)| key.to_string())
                    .unwrap_or(f)
            })
            .collect();
        let keys: BTreeSet<String> = keys_of::<gridlink::config::FileConfig>()
            .into_iter()
            .filter(|k| !KEYS_WITHOUT_FLAG.contains(&k.as_str()))
            .collect();
        assert!(keys.len() > 15, "too few keys found: {keys:?}");
        assert!(flags.contains("pin_sha256") && keys.contains("crl_files"));
        assert_eq!(
            flags.difference(&keys).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "flags without a key"
        );
        assert_eq!(
            keys.difference(&flags).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "keys without a flag"
        );
    }

    /// Every `bridge` flag is a `[bridge]` key and every key a flag.
    #[test]
    fn bridge_flags_and_keys_pair() {
        let cli = Cli::command();
        let bridge = cli.find_subcommand("bridge").expect("a bridge subcommand");
        let flags: BTreeSet<String> = flags_of(bridge, false)
            .into_iter()
            // `--topic` (repeatable) is the `topics` list.
            .map(|f| {
                if f == "topics" || f == "topic" {
                    "topics".into()
                } else {
                    f
                }
            })
            .collect();
        let keys = keys_of::<gridlink::bridge::BridgeFile>();
        assert!(keys.len() > 20, "too few keys found: {keys:?}");
        assert_eq!(
            flags.difference(&keys).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "bridge flags without a [bridge] key"
        );
        assert_eq!(
            keys.difference(&flags).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "[bridge] keys without a flag"
        );
    }
}
