//! The data folder and the modes of what the gateway keeps in it: the folder, `plugins/` and
//! `cache/` are the owner's alone (0700), the database and the admin token likewise (0600).
//! Modes are set explicitly rather than left to the umask: under `umask 000` a folder created
//! with the defaults is world-writable, and a drop-in written there by someone else runs as
//! the gateway's plugin.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Mode of the data folder and the folders in it.
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// Mode of the database and the admin-token file.
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// The folders the gateway creates inside the data folder.
const PRIVATE_DIRS: &[&str] = &["plugins", "cache"];
/// The database file (the store opens it; an empty file is initialised as a new database).
pub const DATABASE_FILE: &str = "hookgate.redb";

/// A data-folder operation that failed, naming what and where.
#[derive(Debug, thiserror::Error)]
#[error("{action} {}: {source}", path.display())]
pub struct DataDirError {
    action: &'static str,
    path: PathBuf,
    source: io::Error,
}

fn failed(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> DataDirError {
    let path = path.to_path_buf();
    move |source| DataDirError {
        action,
        path,
        source,
    }
}

/// Creates `dir` (with its parents) when missing and makes it the owner's alone (0700).
pub fn create_private_dir(dir: &Path) -> Result<(), DataDirError> {
    std::fs::create_dir_all(dir).map_err(failed("creating", dir))?;
    set_mode(dir, PRIVATE_DIR_MODE).map_err(failed("restricting", dir))
}

/// Makes the inside of the data folder private, creating what is missing: `plugins/` and
/// `cache/` (0700) and the database file (0600, created empty). Existing ones get the same
/// modes, so a folder left open by an earlier version or a loose umask is closed at start.
pub fn prepare(data_dir: &Path) -> Result<(), DataDirError> {
    prepare_folders(data_dir)?;
    let database = data_dir.join(DATABASE_FILE);
    private_file_options()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&database)
        .map_err(failed("creating", &database))?;
    set_mode(&database, PRIVATE_FILE_MODE).map_err(failed("restricting", &database))
}

/// [`prepare`] without the database file, for a gateway whose records are elsewhere
/// (PostgreSQL).
pub fn prepare_folders(data_dir: &Path) -> Result<(), DataDirError> {
    for name in PRIVATE_DIRS {
        create_private_dir(&data_dir.join(name))?;
    }
    Ok(())
}

/// Reads the admin token from `path`, creating it (32 random bytes, hex, 0600) when missing or
/// empty. An existing file that group or others may read is made 0600 and a warning is logged:
/// fixed rather than refused, because refusing would stop a gateway that started yesterday
/// (the token may have been read meanwhile, so the warning says how to replace it).
pub fn admin_token_file(path: &Path) -> Result<String, DataDirError> {
    match std::fs::read_to_string(path) {
        Ok(token) => {
            restrict_readable_token(path)?;
            let token = token.trim();
            if !token.is_empty() {
                return Ok(token.to_string());
            }
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(failed("reading", path)(error)),
    }
    let token = random_token();
    let mut file: File = private_file_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(failed("writing", path))?;
    // The mode given at open applies only to a new file; an existing empty one keeps its own.
    set_mode(path, PRIVATE_FILE_MODE).map_err(failed("restricting", path))?;
    file.write_all(format!("{token}\n").as_bytes())
        .map_err(failed("writing", path))?;
    Ok(token)
}

/// Makes an existing token file 0600 when group or others may read or write it, saying so.
fn restrict_readable_token(path: &Path) -> Result<(), DataDirError> {
    let Some(mode) = mode_of(path).map_err(failed("reading", path))? else {
        return Ok(());
    };
    if mode & 0o077 != 0 {
        set_mode(path, PRIVATE_FILE_MODE).map_err(failed("restricting", path))?;
        tracing::warn!(
            file = %path.display(),
            "the admin-token file was mode {mode:04o} (readable by others); it is now 0600. \
             Others may have read the token: delete the file and restart to get a new one"
        );
    }
    Ok(())
}

fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The 32-byte key in `path`, made (random, 0600) on first use. A key file that is not exactly
/// 32 bytes is refused rather than replaced: what it sealed would be lost with it.
pub fn key_file(path: &Path) -> Result<[u8; 32], DataDirError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            set_mode(path, PRIVATE_FILE_MODE).map_err(failed("restricting", path))?;
            bytes.try_into().map_err(|bytes: Vec<u8>| DataDirError {
                action: "reading the key",
                path: path.to_path_buf(),
                source: io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("it holds {} bytes, a key is 32", bytes.len()),
                ),
            })
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            let key: [u8; 32] = rand::random();
            let mut file = private_file_options()
                .write(true)
                .create_new(true)
                .open(path);
            if let Err(error) = &file
                && error.kind() == io::ErrorKind::AlreadyExists
            {
                // Another caller made it meanwhile: theirs is the key.
                return key_file(path);
            }
            file.as_mut()
                .map_err(|error| io::Error::new(error.kind(), error.to_string()))
                .and_then(|file| file.write_all(&key).and_then(|()| file.sync_all()))
                .map_err(failed("creating", path))?;
            set_mode(path, PRIVATE_FILE_MODE).map_err(failed("restricting", path))?;
            Ok(key)
        }
        Err(error) => Err(failed("reading", path)(error)),
    }
}

/// Writes `key` to the new file `path` (0600, synced): a key carried over from another data
/// folder. A file already there is an error, never overwritten.
pub fn write_key_file(path: &Path, key: &[u8; 32]) -> Result<(), DataDirError> {
    let mut file = private_file_options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(failed("creating", path))?;
    file.write_all(key)
        .and_then(|()| file.sync_all())
        .map_err(failed("writing", path))?;
    set_mode(path, PRIVATE_FILE_MODE).map_err(failed("restricting", path))
}

#[cfg(unix)]
fn private_file_options() -> OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = OpenOptions::new();
    options.mode(PRIVATE_FILE_MODE);
    options
}

#[cfg(not(unix))]
fn private_file_options() -> OpenOptions {
    OpenOptions::new()
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, Permissions::from_mode(mode))
}

/// Modes are a Unix notion; elsewhere the folder's own access control applies.
#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn mode_of(path: &Path) -> io::Result<Option<u32>> {
    use std::os::unix::fs::PermissionsExt;
    Ok(Some(std::fs::metadata(path)?.permissions().mode() & 0o777))
}

#[cfg(not(unix))]
fn mode_of(_path: &Path) -> io::Result<Option<u32>> {
    Ok(None)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_key_file_is_made_once_private_and_a_damaged_one_refused() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("tokens.key");
        let key = key_file(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), key);
        assert_eq!(key_file(&path).unwrap(), key, "the same key again");
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        assert_eq!(key_file(&path).unwrap(), key);
        assert_eq!(mode(&path), 0o600, "made private again");
        std::fs::write(&path, b"short").unwrap();
        let error = key_file(&path).unwrap_err().to_string();
        assert!(error.contains("5 bytes, a key is 32"), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), b"short", "never replaced");
    }

    #[test]
    fn open_folders_and_files_left_behind_are_closed() {
        let folder = tempfile::tempdir().unwrap();
        let data_dir = folder.path().join("data");
        std::fs::create_dir_all(data_dir.join("plugins")).unwrap();
        std::fs::set_permissions(data_dir.join("plugins"), Permissions::from_mode(0o777)).unwrap();
        std::fs::write(data_dir.join(DATABASE_FILE), b"").unwrap();
        std::fs::set_permissions(data_dir.join(DATABASE_FILE), Permissions::from_mode(0o666))
            .unwrap();
        create_private_dir(&data_dir).unwrap();
        prepare(&data_dir).unwrap();
        assert_eq!(mode(&data_dir), 0o700);
        assert_eq!(mode(&data_dir.join("plugins")), 0o700);
        assert_eq!(mode(&data_dir.join("cache")), 0o700);
        assert_eq!(mode(&data_dir.join(DATABASE_FILE)), 0o600);
    }

    #[test]
    fn a_token_file_readable_by_others_is_made_private_and_kept() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("admin-token");
        std::fs::write(&path, "an-existing-token-0123456789\n").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        assert_eq!(
            admin_token_file(&path).unwrap(),
            "an-existing-token-0123456789"
        );
        assert_eq!(mode(&path), 0o600);

        // An empty file open to others gets a new token, written only once it is private.
        std::fs::write(&path, "").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o666)).unwrap();
        let token = admin_token_file(&path).unwrap();
        assert_eq!(token.len(), 64);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(admin_token_file(&path).unwrap(), token);
    }
}
