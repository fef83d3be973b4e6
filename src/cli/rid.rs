//! `gridlink rid …` — RID (RFC 6545) messages and RID over HTTPS (RFC 6546): validate messages
//! offline. A thin shell over `gridlink::rid`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use gridlink::rid::{self, RidError};

/// The `rid` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum RidCommand {
    /// Validate RID 2.0 messages against the RFC 6545 schema, the RFC's text rules and the enclosed
    /// IODEF document (v2 strictly, v1 its required core). One line per finding; exits 0 iff no file
    /// has an error (warnings are printed and allowed).
    #[command(
        after_help = "Examples:\n  gridlink rid validate report.xml\n  gridlink rid validate --print query.xml"
    )]
    Validate {
        /// Files to validate (`-` for stdin).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also print each valid message as gridlink writes it.
        #[arg(long)]
        print: bool,
    },
}

/// Reads a file or stdin, at most one byte over the RID limit.
pub fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let limit = rid::MAX_MESSAGE_BYTES as u64 + 1;
    if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut buf)
            .context("reading stdin")?;
    } else {
        let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        f.take(limit)
            .read_to_end(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
    }
    Ok(buf)
}

/// Runs one `rid` subcommand.
pub async fn run(cmd: RidCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RidCommand::Validate { files, print } => {
            validate(&files, print, &mut std::io::stdout().lock())
        }
    }
}

fn validate(files: &[PathBuf], print: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let mut ok = true;
    for f in files {
        let name = f.display();
        let bytes = read_input(f)?;
        match rid::check(&bytes) {
            Ok((msg, problems)) => {
                let errors = problems.iter().filter(|p| p.is_error()).count();
                for p in &problems {
                    writeln!(out, "{name}: {p}")?;
                }
                if errors == 0 {
                    let kind = msg.msg_type().map(|m| m.to_string()).unwrap_or_default();
                    writeln!(out, "{name}: valid RID {kind}")?;
                    if print {
                        write!(out, "{}", msg.to_xml())?;
                    }
                } else {
                    ok = false;
                }
            }
            Err(RidError::Invalid(problems)) => {
                ok = false;
                for p in problems {
                    writeln!(out, "{name}: {p}")?;
                }
            }
            Err(e) => {
                ok = false;
                writeln!(out, "{name}: {e}")?;
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
