//! A small driver for `scripts/bench-notes`: runs the engine's `notes` or `check` on a
//! repository the way the CLI will, and prints the result (Markdown notes, or the problems).
//!
//! ```text
//! bench-notes notes <repo> [--tag TAG] [--all]
//! bench-notes check <repo> --tag TAG
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use relman_engine::lockstep::{self, CheckOptions};
use relman_engine::notes::{self, NotesConfig, NotesOptions, NotesSettings};
use relman_engine::version_files::{PatternFile, VersionsConfig};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(cmd), Some(root)) = (args.first(), args.get(1)) else {
        eprintln!("usage: bench-notes notes|check <repo> [--tag TAG] [--all]");
        return ExitCode::from(2);
    };
    let root = PathBuf::from(root);
    let tag = args.iter().position(|a| a == "--tag").and_then(|i| args.get(i + 1)).cloned();
    let all = args.iter().any(|a| a == "--all");
    match cmd.as_str() {
        "notes" => {
            let settings =
                NotesSettings { root, tag_prefix: "v".into(), repository: None, config: NotesConfig::default() };
            match notes::notes(&settings, &NotesOptions { tag, whole_history: all, ..NotesOptions::default() }) {
                Ok(out) => {
                    print!("{}", out.markdown);
                    eprintln!("{} commits", out.notes.commit_count);
                    ExitCode::SUCCESS
                }
                Err(f) => {
                    eprintln!("error: {}", f.message);
                    ExitCode::from(f.class.exit_code() as u8)
                }
            }
        }
        "check" => {
            let versions = VersionsConfig {
                files: vec![PatternFile { path: "src/version.txt".into(), pattern: r#"VERSION = "([^"]+)""#.into() }],
                ignore: vec![],
            };
            let opts = CheckOptions { root, tag_prefix: "v".into(), versions, tag, ..CheckOptions::default() };
            match lockstep::check(&opts) {
                Ok(report) => {
                    let n: usize = report.files.iter().map(|f| f.versions.len()).sum();
                    println!("{} files, {n} versions, {} problems", report.files.len(), report.problems.len());
                    for p in &report.problems {
                        println!("{p}");
                    }
                    if report.is_ok() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(12)
                    }
                }
                Err(f) => {
                    eprintln!("error: {}", f.message);
                    ExitCode::from(f.class.exit_code() as u8)
                }
            }
        }
        other => {
            eprintln!("unknown command `{other}`");
            ExitCode::from(2)
        }
    }
}
