//! Files and directories only their owner can read: the data directory (tokens live in its
//! key-value store), the compiled-component cache (loading it runs its machine code) and the
//! SQLite files. One place, so every caller applies the same rule.

use std::io;
use std::path::Path;

/// Creates `dir` (and its parents) if needed and makes it readable by its owner only.
pub fn make_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Whether `dir` is a real directory (not a link) owned by this process's user that nobody else
/// can read or write. Code is only ever loaded from such a directory: anyone else able to write
/// there could make us run theirs.
pub fn is_private_dir(dir: &Path) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return false;
    };
    if !meta.is_dir() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        meta.uid() == me && meta.mode() & 0o077 == 0
    }
    #[cfg(not(unix))]
    true
}

/// Makes `file` readable and writable by its owner only, creating it empty when absent, before
/// anything is written to it. SQLite gives its `-wal` and `-shm` files the main file's mode.
///
/// An existing file is only `chmod`ed, never opened: closing any descriptor of a file drops every
/// POSIX lock this process holds on it, and another connection of this process may hold SQLite's
/// locks on it right now.
pub fn make_private_file(file: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if !file.exists() {
            // Absent, so no connection of this process has it open: creating it is safe. Another
            // process may create it first; then only the mode below is ours to set.
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(file)
            {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    if !file.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .open(file)?;
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_private_dir_is_ours_and_closed_to_others() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("compiled");
        assert!(!is_private_dir(&dir), "absent");
        make_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert!(is_private_dir(&dir));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(!is_private_dir(&dir), "others can read it");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o770)).unwrap();
        assert!(!is_private_dir(&dir), "the group can write it");
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(!is_private_dir(&link), "a link is not the directory");
    }

    #[test]
    fn private_files_are_0600_whether_new_or_not() {
        let root = tempfile::tempdir().unwrap();
        let new = root.path().join("new.sqlite3");
        make_private_file(&new).unwrap();
        assert_eq!(mode(&new), 0o600);
        let old = root.path().join("old.sqlite3");
        std::fs::write(&old, b"kept").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        make_private_file(&old).unwrap();
        assert_eq!(mode(&old), 0o600);
        assert_eq!(std::fs::read(&old).unwrap(), b"kept", "content untouched");
    }
}
