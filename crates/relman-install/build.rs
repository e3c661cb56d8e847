//! Records the target triple this crate is compiled for, read by `platform::host_target`.

fn main() {
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown-unknown-unknown".to_string());
    println!("cargo:rustc-env=RELMAN_HOST_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
