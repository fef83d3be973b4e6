//! The `gridlink` binary: parse the command line, set up logging, run the
//! command, and turn any error into one line on stderr and a non-zero exit.

use std::process::ExitCode;

use clap::Parser;

mod cli;

#[tokio::main]
async fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging(&args.global);
    // More than one rustls crypto provider is compiled in (tokio-xmpp,
    // the HTTP stack); make aws-lc-rs the process default explicitly.
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    match cli::run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gridlink: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
