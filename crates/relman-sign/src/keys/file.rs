//! Checks on private key files that warn rather than fail.
//!
//! ssh refuses a private key that others can read; cosign does not check at all. relman warns:
//! the caller shows the returned text (this crate never prints) and goes on signing.

use std::path::Path;

/// The mode a private key file should have (owner read/write only).
pub const PRIVATE_KEY_MODE: u32 = 0o600;

/// A warning when the private key file `path` is readable or writable by group or others
/// (Unix permission bits); `None` when it is not, on other systems, or when `path` cannot be
/// read (reading the key reports that).
pub fn key_file_warning(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            let shown = path.display();
            return Some(format!(
                "private key `{shown}` is accessible to group or others (mode {mode:04o}); \
                 restrict it with `chmod 600 {shown}`"
            ));
        }
        None
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn warns_for_group_or_other_access_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cosign.key");
        std::fs::write(&path, "x").unwrap();
        for (mode, warns) in [(0o600, false), (0o400, false), (0o640, true), (0o604, true), (0o620, true)] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let warning = key_file_warning(&path);
            assert_eq!(warning.is_some(), warns, "mode {mode:o}: {warning:?}");
            if let Some(text) = warning {
                assert!(text.contains(&path.display().to_string()), "{text}");
                assert!(text.contains(&format!("{mode:04o}")), "{text}");
            }
        }
        assert_eq!(key_file_warning(&dir.path().join("missing.key")), None);
    }
}
