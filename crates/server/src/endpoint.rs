//! The server's endpoints on disk: the private directory that holds the Unix socket,
//! the socket file itself (stale-file removal, and removal on the way out only if it is
//! still ours), and the TCP token file. It owns the permission checks that keep other
//! users out; it does not accept connections or check peer credentials (`host`).

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use wire::protocol::MAX_TOKEN_LEN;

use crate::error::ServerError;

/// Makes sure `dir` is a directory that only this user can enter: creates it (and any
/// missing parents) with mode 0700, or checks an existing one. Anything else is refused
/// with a message that says what to do, because a socket in a directory others can
/// enter or own could be replaced or reached by them.
pub(crate) fn prepare_private_dir(dir: &Path, euid: u32) -> Result<(), ServerError> {
    match fs::symlink_metadata(dir) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| setup(format!("cannot create {}: {e}", dir.display())))?;
            // The umask may have taken bits away; set exactly 0700.
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| setup(format!("cannot chmod 700 {}: {e}", dir.display())))?;
        }
        Err(e) => return Err(setup(format!("cannot inspect {}: {e}", dir.display()))),
    }
    // Checked after creating too: someone may have raced us to the name.
    let meta = fs::symlink_metadata(dir).map_err(|e| setup(format!("cannot inspect {}: {e}", dir.display())))?;
    if !meta.file_type().is_dir() {
        return Err(setup(format!(
            "{} is not a directory (a symlink or a file); remove it or pass another --socket",
            dir.display()
        )));
    }
    if meta.uid() != euid {
        return Err(setup(format!(
            "{} is owned by uid {}, not by this user (uid {euid}); remove it or pass another --socket",
            dir.display(),
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(setup(format!(
            "{} has mode {mode:04o}: group or others can enter it; run `chmod 700 {}` or pass another --socket",
            dir.display(),
            dir.display()
        )));
    }
    Ok(())
}

/// A bound, listening Unix socket that removes its file when dropped, if the file is
/// still the one it bound (another server may have taken the name over since).
#[derive(Debug)]
pub(crate) struct BoundSocket {
    pub listener: UnixListener,
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl BoundSocket {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for BoundSocket {
    fn drop(&mut self) {
        if let Ok(meta) = fs::symlink_metadata(&self.path) {
            if meta.dev() == self.dev && meta.ino() == self.ino {
                if let Err(e) = fs::remove_file(&self.path) {
                    tracing::warn!("cannot remove {}: {e}", self.path.display());
                }
            }
        }
    }
}

/// Binds the socket at `path` (whose directory must already be private). An existing
/// socket file is removed only when nothing answers on it; a live server there is
/// refused, and so is any file that is not a socket.
pub(crate) fn bind_socket(path: &Path) -> Result<BoundSocket, ServerError> {
    remove_if_stale(path)?;
    let listener = UnixListener::bind(path).map_err(|e| setup(format!("cannot bind {}: {e}", path.display())))?;
    // The directory already keeps others out; the socket's own mode is a second fence.
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
        .map_err(|e| setup(format!("cannot chmod 600 {}: {e}", path.display())))?;
    listener
        .set_nonblocking(true)
        .map_err(|source| ServerError::Io { what: "set the listener non-blocking", source })?;
    let meta = fs::symlink_metadata(path).map_err(|e| setup(format!("cannot inspect {}: {e}", path.display())))?;
    Ok(BoundSocket { listener, path: path.to_path_buf(), dev: meta.dev(), ino: meta.ino() })
}

fn remove_if_stale(path: &Path) -> Result<(), ServerError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(setup(format!("cannot inspect {}: {e}", path.display()))),
    };
    if !meta.file_type().is_socket() {
        return Err(setup(format!(
            "{} exists and is not a socket; remove it or pass another --socket",
            path.display()
        )));
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(setup(format!(
            "another server is already listening on {}; stop it or pass another --socket",
            path.display()
        ))),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            fs::remove_file(path)
                .map_err(|e| setup(format!("cannot remove the stale socket {}: {e}", path.display())))?;
            tracing::info!("removed stale socket {}", path.display());
            Ok(())
        }
        Err(e) => Err(setup(format!(
            "{} exists and cannot be probed ({e}); remove it or pass another --socket",
            path.display()
        ))),
    }
}

/// Reads the TCP auth token: the file's content without trailing whitespace. The file
/// must be private to its owner (anyone who can read it can connect), nonempty, and
/// within the protocol's token limit.
pub(crate) fn read_token(path: &Path) -> Result<Vec<u8>, ServerError> {
    let file = fs::File::open(path).map_err(|e| {
        setup(format!("cannot open the token file {}: {e}; create it with a secret and `chmod 600` it", path.display()))
    })?;
    let meta = file.metadata().map_err(|e| setup(format!("cannot inspect {}: {e}", path.display())))?;
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(setup(format!(
            "the token file {} has mode {mode:04o}: group or others can read it; run `chmod 600 {}`",
            path.display(),
            path.display()
        )));
    }
    // Read one byte past the limit (plus room for a trailing newline) to detect an
    // over-long token without reading a huge file.
    let mut token = Vec::new();
    file.take(u64::from(MAX_TOKEN_LEN) + 3)
        .read_to_end(&mut token)
        .map_err(|e| setup(format!("cannot read {}: {e}", path.display())))?;
    while token.last().is_some_and(|b| b.is_ascii_whitespace()) {
        token.pop();
    }
    if token.is_empty() {
        return Err(setup(format!("the token file {} is empty; put a secret in it", path.display())));
    }
    if token.len() > MAX_TOKEN_LEN as usize {
        return Err(setup(format!("the token in {} is longer than {MAX_TOKEN_LEN} bytes", path.display())));
    }
    Ok(token)
}

/// Compares a presented token with the expected one in time that depends only on
/// their lengths, so a remote peer cannot find the token byte by byte by timing.
pub(crate) fn tokens_match(expected: &[u8], presented: &[u8]) -> bool {
    let mut diff = u8::from(expected.len() != presented.len());
    for (i, &e) in expected.iter().enumerate() {
        diff |= e ^ presented.get(i).copied().unwrap_or(!e);
    }
    std::hint::black_box(diff) == 0
}

fn setup(message: String) -> ServerError {
    ServerError::Setup(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn euid() -> u32 {
        rustix::process::geteuid().as_raw()
    }

    #[test]
    fn creates_a_private_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        prepare_private_dir(&dir, euid()).unwrap();
        let mode = fs::metadata(&dir).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        // Existing and private: fine again.
        prepare_private_dir(&dir, euid()).unwrap();
    }

    #[test]
    fn refuses_open_or_foreign_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("open");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let err = prepare_private_dir(&dir, euid()).unwrap_err().to_string();
        assert!(err.contains("chmod 700") && err.contains("0755"), "{err}");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        let err = prepare_private_dir(&dir, euid() + 1).unwrap_err().to_string();
        assert!(err.contains("owned by uid"), "{err}");
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let err = prepare_private_dir(&link, euid()).unwrap_err().to_string();
        assert!(err.contains("not a directory"), "{err}");
    }

    #[test]
    fn stale_socket_is_replaced_live_one_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("gpu0");
        let first = bind_socket(&path).unwrap();
        let err = bind_socket(&path).unwrap_err().to_string();
        assert!(err.contains("already listening"), "{err}");
        drop(first);
        // A listener closed without unlinking leaves a stale file, as a killed server.
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let bound = bind_socket(&path).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        drop(bound);
        assert!(!path.exists(), "the socket is removed on drop");
    }

    #[test]
    fn does_not_remove_a_socket_that_is_no_longer_ours() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("gpu0");
        let bound = bind_socket(&path).unwrap();
        fs::remove_file(&path).unwrap();
        let other = UnixListener::bind(&path).unwrap();
        drop(bound);
        assert!(path.exists());
        drop(other);
    }

    #[test]
    fn refuses_non_socket_files() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("gpu0");
        fs::write(&path, b"x").unwrap();
        let err = bind_socket(&path).unwrap_err().to_string();
        assert!(err.contains("not a socket"), "{err}");
    }

    #[test]
    fn token_file_rules() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("token");
        let err = read_token(&path).unwrap_err().to_string();
        assert!(err.contains("cannot open the token file"), "{err}");
        fs::write(&path, b"s3cret\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_token(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_token(&path).unwrap(), b"s3cret");
        fs::write(&path, b"\n").unwrap();
        assert!(read_token(&path).unwrap_err().to_string().contains("empty"));
        fs::write(&path, vec![b'a'; 300]).unwrap();
        assert!(read_token(&path).unwrap_err().to_string().contains("longer"));
    }

    #[test]
    fn token_comparison() {
        assert!(tokens_match(b"abc", b"abc"));
        assert!(!tokens_match(b"abc", b"abd"));
        assert!(!tokens_match(b"abc", b"ab"));
        assert!(!tokens_match(b"abc", b"abcd"));
        assert!(!tokens_match(b"abc", b""));
        assert!(!tokens_match(b"\xff", b""));
    }
}
