//! The `relman` binary: parse, run one command, map the outcome to an exit code.

/// `println!` for results on stdout. A closed stdout (`relman notes | head -1`) ends the
/// process quietly with exit 141, as coreutils end under SIGPIPE, instead of a panic.
macro_rules! outln {
    () => { $crate::stdout_write(format_args!(""), true) };
    ($($t:tt)*) => { $crate::stdout_write(format_args!($($t)*), true) };
}

/// `print!` for results on stdout (see [`outln!`]).
macro_rules! out {
    ($($t:tt)*) => { $crate::stdout_write(format_args!($($t)*), false) };
}

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

/// Writes to stdout; a reader that went away ends the process (141, no message), another
/// write error is named on stderr (exit 74, EX_IOERR).
pub(crate) fn stdout_write(args: std::fmt::Arguments<'_>, newline: bool) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    let written = o.write_fmt(args).and_then(|_| if newline { o.write_all(b"\n") } else { Ok(()) });
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(141),
        Err(e) => {
            eprintln!("error: writing to stdout failed: {e}");
            std::process::exit(74)
        }
    }
}
