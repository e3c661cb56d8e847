//! Pushes an image from an OCI layout with `relman_oci::transfer::push_layout` and a default
//! `Client`, then prints the `PushReport` (used by `scripts/bench-oci`).
//!
//!     cargo run --release -p relman-oci --example push_layout -- LAYOUT NAME HOST/REPO TAG

use std::path::Path;
use std::process::ExitCode;

use relman_oci::transfer::push_layout;
use relman_oci::{Client, ClientOptions, Layout, Reference};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [layout, name, dest, tag] = args.as_slice() else {
        eprintln!("usage: push_layout LAYOUT NAME HOST/REPO TAG");
        return ExitCode::from(2);
    };
    let run = || -> Result<_, String> {
        let layout = Layout::open(Path::new(layout))?;
        let root = layout.resolve(Some(name))?;
        let dest = Reference::parse(dest)?;
        let client = Client::new(ClientOptions::default());
        push_layout(&client, &layout, &root, &dest, Some(tag), None, &|_| {}).map_err(|f| f.to_string())
    };
    match run() {
        Ok(report) => {
            println!("{report:#?}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("push_layout: {e}");
            ExitCode::FAILURE
        }
    }
}
