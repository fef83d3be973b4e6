//! `gridlink iodef …` — validate, convert and summarise IODEF documents. A thin shell over
//! `gridlink::iodef`: reading files, printing, exit codes.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use gridlink::iodef::{self, ValidationLevel};

/// Output syntax of `convert`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// RFC 8727 JSON (pretty-printed).
    Json,
    /// RFC 7970 XML (one root element, with an XML declaration).
    Xml,
}

/// The `iodef` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum IodefCommand {
    /// Validate IODEF v2 documents (XML or RFC 8727 JSON) against the errata-corrected RFC 7970 schema
    /// and the RFC's text rules. Prints one line per problem (file:line: path: message); exits 0 iff
    /// every file is valid.
    #[command(
        after_help = "Examples:\n  gridlink iodef validate incident.xml\n  gridlink iodef validate --level basic spool/*.xml"
    )]
    Validate {
        /// Files to validate (`-` for stdin).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// strict (schema + RFC rules), basic (structure, namespace, version) or off (parse only).
        #[arg(long, default_value = "strict")]
        level: ValidationLevel,
    },
    /// Convert between RFC 7970 XML and RFC 8727 JSON (input format detected); result on stdout.
    #[command(
        after_help = "Examples:\n  gridlink iodef convert --to json incident.xml\n  gridlink iodef convert --to xml incident.json > incident.xml"
    )]
    Convert {
        /// Output format.
        #[arg(long)]
        to: Format,
        /// Input file, or `-` (default) for stdin.
        #[arg(default_value = "-")]
        file: PathBuf,
    },
    /// Print incident ids, purpose, times and counts of indicators, events and contacts.
    #[command(after_help = "Examples:\n  gridlink iodef summary incident.xml")]
    Summary {
        /// Input file (`-` for stdin).
        file: PathBuf,
    },
}

fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(iodef::MAX_INPUT_BYTES as u64 + 1)
            .read_to_end(&mut buf)
            .context("reading stdin")?;
    } else {
        let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        f.take(iodef::MAX_INPUT_BYTES as u64 + 1)
            .read_to_end(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
    }
    Ok(buf)
}

/// Runs one `iodef` subcommand, printing to stdout.
pub fn run(cmd: IodefCommand) -> anyhow::Result<ExitCode> {
    run_to(cmd, &mut std::io::stdout().lock())
}

/// Runs one `iodef` subcommand, printing to `out` (tests capture it).
pub fn run_to(cmd: IodefCommand, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match cmd {
        IodefCommand::Validate { files, level } => {
            let mut ok = true;
            for f in files {
                let name = f.display().to_string();
                let doc = match read_input(&f).map(|b| iodef::parse(&b)) {
                    Ok(Ok(d)) => d,
                    Ok(Err(e)) => {
                        ok = false;
                        writeln!(out, "{name}: {e}")?;
                        continue;
                    }
                    Err(e) => {
                        ok = false;
                        writeln!(out, "{name}: {e:#}")?;
                        continue;
                    }
                };
                let problems = doc.check(level);
                if problems.is_empty() {
                    writeln!(out, "{name}: valid")?;
                }
                for p in problems {
                    ok = false;
                    match p.line {
                        Some(l) => writeln!(out, "{name}:{l}: {}: {}", p.path, p.message)?,
                        None => writeln!(out, "{name}: {}: {}", p.path, p.message)?,
                    }
                }
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        IodefCommand::Convert { to, file } => {
            let doc = iodef::parse(&read_input(&file)?)
                .with_context(|| format!("reading {}", file.display()))?;
            match to {
                Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&doc.to_json())?)?,
                Format::Xml => writeln!(
                    out,
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
                    doc.to_xml()
                )?,
            }
            Ok(ExitCode::SUCCESS)
        }
        IodefCommand::Summary { file } => {
            let doc = iodef::parse(&read_input(&file)?)
                .with_context(|| format!("reading {}", file.display()))?;
            write!(out, "{}", doc.summary())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
