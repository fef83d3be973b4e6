//! Files only their owner may read: the state directory, the SQLite stores
//! (items, outbox, cursors), the pollers' state files and the tokens the lab
//! writes. Directories are created 0700 and files 0600 whatever the umask
//! says, because they hold documents, cursors and secrets other local users
//! have no business reading; and a secret the user hands in (a password or a
//! token file) that others can read is worth a warning.

use std::collections::HashSet;
use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Mode of the directories gridlink creates.
pub const DIR_MODE: u32 = 0o700;
/// Mode of the files gridlink creates.
pub const FILE_MODE: u32 = 0o600;

/// Creates `path` and its missing parents, each 0700. Directories that
/// exist already keep their mode (they may be shared on purpose).
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(path)
}

/// Creates `path` empty and 0600 if it does not exist (SQLite then creates
/// its `-wal` and `-shm` files with the same mode). An existing file is left
/// as it is.
pub fn create_private_file(path: &Path) -> std::io::Result<()> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes `bytes` to `path`, 0600 (also when the file existed with a wider
/// mode: a temp file left over by a crash is reused, never widened).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)?;
    f.set_permissions(Permissions::from_mode(FILE_MODE))?;
    f.write_all(bytes)?;
    f.flush()
}

/// Paths [`warn_if_shared`] already warned about (once per process).
static WARNED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// Warns (once per path and process) when the secret in `path` (`what`:
/// "password file", "write token file") is readable or writable by its
/// group or by others. Returns whether it is.
pub fn warn_if_shared(path: &Path, what: &str) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false; // reading it will fail with a clearer message
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return false;
    }
    let first = WARNED
        .lock()
        .map(|mut w| w.get_or_insert_with(HashSet::new).insert(path.to_owned()))
        .unwrap_or(true);
    if first {
        tracing::warn!(
            path = %path.display(),
            mode = %format!("{mode:04o}"),
            "{what} is readable by other users; chmod 600 it"
        );
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    /// Directories 0700, files 0600, whatever the file was before.
    #[test]
    fn modes() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("a/b");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&d.path().join("a")), 0o700);
        let f = dir.join("f");
        std::fs::write(&f, "x").unwrap();
        std::fs::set_permissions(&f, Permissions::from_mode(0o644)).unwrap();
        write_private(&f, b"y").unwrap();
        assert_eq!(mode(&f), 0o600);
        let g = dir.join("g");
        create_private_file(&g).unwrap();
        assert_eq!(mode(&g), 0o600);
        assert!(!warn_if_shared(&g, "test file"));
        std::fs::set_permissions(&g, Permissions::from_mode(0o640)).unwrap();
        assert!(warn_if_shared(&g, "test file"));
    }
}
