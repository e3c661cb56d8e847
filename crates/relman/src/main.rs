//! The `relman` binary: parse, run one command, map the outcome to an exit code.

mod cli;
mod commands;
mod render;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let json = cli.json;
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(failure) => {
            render::failure(&failure, json);
            ExitCode::from(failure.class.exit_code() as u8)
        }
    }
}
