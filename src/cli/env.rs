//! The process around a command: `GRIDLINK_*` variables set but empty, a
//! reader that closed stdout, and errors printed as one line without
//! repetition.

/// Removes every `GRIDLINK_*` variable whose value is empty, so that
/// `GRIDLINK_CA_FILE=` means "not set" (clap's `env` takes an empty value
/// as given). Must run before any other thread starts.
pub fn drop_empty_gridlink_vars() {
    let empty: Vec<_> = std::env::vars_os()
        .filter(|(k, v)| k.to_string_lossy().starts_with("GRIDLINK_") && v.is_empty())
        .map(|(k, _)| k)
        .collect();
    for k in empty {
        std::env::remove_var(k);
    }
}

/// `println!` panics when stdout is a closed pipe (Rust ignores SIGPIPE):
/// end the process quietly with exit 0 instead, as `cat … | head` does.
/// Every other panic keeps the default report.
pub fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// Whether `e` comes from writing to a reader that went away.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes on one line, `: `-separated, leaving out a
/// cause whose text an outer error already printed (many library errors
/// show their source in their own message *and* return it as `source()`).
pub fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("create topic x: {source}")]
    struct Outer {
        source: std::io::Error,
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let e = anyhow::Error::new(Outer {
            source: std::io::Error::other("pubsub.localhost answered: conflict"),
        })
        .context("cannot create the topic");
        assert_eq!(
            one_line(&e),
            "cannot create the topic: create topic x: pubsub.localhost answered: conflict"
        );
    }

    #[test]
    fn a_broken_pipe_is_recognised_under_context() {
        let e = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            .context("writing");
        assert!(is_broken_pipe(&e));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }
}
