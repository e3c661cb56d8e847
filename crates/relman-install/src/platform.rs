//! The platform this binary runs on, and how targets are matched.
//!
//! Inputs: target triples. Outputs: the host triple recorded at build time (`build.rs` copies
//! cargo's `TARGET` into `RELMAN_HOST_TARGET`), and (os, arch) comparisons made with
//! [`relman_manifest::os_arch`], the same rule `Index::platform_for` uses.

use relman_manifest::os_arch;

/// The target triple this binary was built for, e.g. `x86_64-unknown-linux-gnu`.
pub fn host_target() -> String {
    env!("RELMAN_HOST_TARGET").to_string()
}

/// (os, arch) of the host, with the names installers use (`linux`, `x86_64`, ...).
pub fn host_os_arch() -> (String, String) {
    os_arch(&host_target())
}

/// Whether a build for `built_for` runs where `target` is wanted: same triple, or same OS and
/// CPU architecture.
pub fn compatible(built_for: &str, target: &str) -> bool {
    built_for == target || os_arch(built_for) == os_arch(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_target_is_the_compile_target() {
        let host = host_target();
        assert_eq!(host.split('-').next().unwrap(), std::env::consts::ARCH);
        let (os, arch) = host_os_arch();
        assert_eq!(arch, std::env::consts::ARCH);
        if cfg!(target_os = "linux") {
            assert_eq!(os, "linux");
        }
    }

    #[test]
    fn compatible_by_os_and_arch() {
        assert!(compatible("x86_64-unknown-linux-musl", "x86_64-unknown-linux-gnu"));
        assert!(!compatible("aarch64-unknown-linux-gnu", "x86_64-unknown-linux-gnu"));
        assert!(!compatible("x86_64-pc-windows-msvc", "x86_64-unknown-linux-gnu"));
    }
}
