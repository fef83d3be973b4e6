//! `gridlink rid …` — RID (RFC 6545) messages and RID over HTTPS (RFC 6546): validate messages
//! offline (`rid_net.rs`: serve, send, respond). A thin shell over `gridlink::rid`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use gridlink::rid::{self, RidError};

use super::rid_net::read_input;

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
    /// Run the RID endpoint (RFC 6546: HTTPS, mutual TLS, POST / text/xml) joined to the grid:
    /// Reports → the peer's topic, Queries → answered from the grid, Trace/InvestigationRequests →
    /// the requests topic and Acknowledgement Pending (answer with `gridlink rid respond`).
    #[command(
        after_help = "Examples:\n  gridlink rid serve --listen 0.0.0.0:4590 --tls-cert rid.pem --tls-key rid.key --client-ca peers-ca.pem --topic rid-reports --peer rid.csirt-b.example\n  gridlink --config gridlink.toml rid serve    # settings in its [rid] table"
    )]
    Serve(super::rid_net::ServeArgs),
    /// Send a Report, a Query or an InvestigationRequest to a RID peer and print its answer (a RID
    /// message on stdout; exit 2 when it is an Acknowledgement Denied).
    #[command(
        after_help = "Examples:\n  gridlink rid send --to https://rid.csirt-b.example:4590/ --report incident.xml\n  gridlink rid send --to https://rid.csirt-b.example:4590/ --query csirt.example.com:492382"
    )]
    Send(super::rid_net::SendArgs),
    /// Answer a waiting TraceRequest/InvestigationRequest with a Result (or refuse it).
    #[command(
        after_help = "Examples:\n  gridlink rid respond --token 1a2b-… --result outcome.xml --found --source 192.0.2.35\n  gridlink rid respond --token 1a2b-… --deny"
    )]
    Respond(super::rid_net::RespondArgs),
    /// List the requests waiting for `gridlink rid respond` (JSON lines).
    #[command(
        after_help = "Examples:\n  gridlink rid pending\n  gridlink --config gridlink.toml rid pending | jq -r .token"
    )]
    Pending,
}

/// Runs one `rid` subcommand.
pub async fn run(g: &super::global::Global, cmd: RidCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RidCommand::Serve(a) => super::rid_net::serve(g, a).await,
        RidCommand::Send(a) => super::rid_net::send(g, a).await,
        RidCommand::Respond(a) => super::rid_net::respond(g, a).await,
        RidCommand::Pending => super::rid_net::list_pending(g),
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
