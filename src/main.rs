//! The `gridlink` binary: parse the command line, set up logging, run the
//! command, and turn any error into one line on stderr and a non-zero exit.

use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    // Before any thread exists (the runtime's): changing the environment
    // is only sound while the process is single-threaded.
    cli::env::drop_empty_gridlink_vars();
    cli::env::quiet_on_closed_stdout();
    let args = cli::docs::parse();
    cli::init_logging(&args.global);
    // More than one rustls crypto provider is compiled in (tokio-xmpp,
    // the HTTP stack); make aws-lc-rs the process default explicitly.
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gridlink: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(code) => code,
        // The reader went away (`gridlink … | head`): done, as Unix tools are.
        Err(e) if cli::env::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gridlink: error: {}", cli::env::one_line(&e));
            ExitCode::FAILURE
        }
    }
}
