//! The `portico` binary: parses the command line and hands over to the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = portico::cli::Cli::parse();
    match portico::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portico: {}", portico::problem::error_chain(&*e));
            std::process::ExitCode::FAILURE
        }
    }
}
