//! The server's endpoints on disk: the private directory that holds the Unix socket,
//! the socket file itself (stale-file removal, and removal on the way out only if it is
//! still ours), a listening socket inherited from systemd socket activation (the
//! `sd_listen_fds` protocol), and the TCP token file. It owns the permission checks that
//! keep other users out; it does not accept connections or check peer credentials
//! (`host`).

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
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
/// still the one it bound (another server may have taken the name over since) and this
/// process made it: a socket systemd passed stays, since systemd listens on it again
/// once the server exits and starts the server anew on the next connection.
#[derive(Debug)]
pub(crate) struct BoundSocket {
    pub listener: UnixListener,
    path: PathBuf,
    dev: u64,
    ino: u64,
    remove_on_drop: bool,
}

impl BoundSocket {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for BoundSocket {
    fn drop(&mut self) {
        if !self.remove_on_drop {
            return;
        }
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
///
/// Under systemd socket activation (`LISTEN_PID` is this process, `LISTEN_FDS` ≥ 1) the
/// socket systemd passed as descriptor 3 is used instead of binding a new one; it must
/// be a listening Unix stream socket bound to `path`.
pub(crate) fn bind_socket(path: &Path) -> Result<BoundSocket, ServerError> {
    if let Some(fd) = take_activation_socket()? {
        return adopt_socket(fd, path);
    }
    remove_if_stale(path)?;
    let listener = UnixListener::bind(path).map_err(|e| setup(format!("cannot bind {}: {e}", path.display())))?;
    // The directory already keeps others out; the socket's own mode is a second fence.
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
        .map_err(|e| setup(format!("cannot chmod 600 {}: {e}", path.display())))?;
    listener
        .set_nonblocking(true)
        .map_err(|source| ServerError::Io { what: "set the listener non-blocking", source })?;
    let meta = fs::symlink_metadata(path).map_err(|e| setup(format!("cannot inspect {}: {e}", path.display())))?;
    Ok(BoundSocket { listener, path: path.to_path_buf(), dev: meta.dev(), ino: meta.ino(), remove_on_drop: true })
}

/// `SD_LISTEN_FDS_START`: the first descriptor systemd passes.
const LISTEN_FDS_START: i32 = 3;
/// The variables of the `sd_listen_fds(3)` protocol.
const LISTEN_PID: &str = "LISTEN_PID";
const LISTEN_FDS: &str = "LISTEN_FDS";
const LISTEN_FDNAMES: &str = "LISTEN_FDNAMES";

/// How many sockets systemd passed to the process `pid`, from the values of
/// `LISTEN_PID` and `LISTEN_FDS`: `None` when none were passed to this process (no
/// `LISTEN_PID`, another process's, or `LISTEN_FDS=0`). Values that are not numbers are
/// refused rather than ignored, since a service that silently binds its own socket
/// beside the one systemd holds would never see a connection.
fn passed_socket_count(
    pid: u32,
    listen_pid: Option<&OsStr>,
    listen_fds: Option<&OsStr>,
) -> Result<Option<u32>, String> {
    let Some(listen_pid) = listen_pid else { return Ok(None) };
    let number = |value: &OsStr| value.to_str().and_then(|v| v.trim().parse::<u32>().ok());
    let Some(for_pid) = number(listen_pid) else {
        return Err(format!(
            "{LISTEN_PID}={} is not a process id; unset {LISTEN_PID} and {LISTEN_FDS}, or start glwire serve from a \
             systemd socket unit",
            listen_pid.to_string_lossy()
        ));
    };
    if for_pid != pid {
        // Meant for another process (a parent that did not clear them): not ours.
        return Ok(None);
    }
    match listen_fds.map(|v| (v, number(v))) {
        Some((_, Some(0))) => Ok(None),
        Some((_, Some(n))) => Ok(Some(n)),
        Some((value, None)) => Err(format!(
            "{LISTEN_PID} names this process but {LISTEN_FDS}={} is not a count of sockets; check the socket unit",
            value.to_string_lossy()
        )),
        None => Err(format!("{LISTEN_PID} names this process but {LISTEN_FDS} is not set; check the socket unit")),
    }
}

/// The socket systemd passed to this process, if any (see [`passed_socket_count`]),
/// taken as descriptor 3. The protocol's variables are removed from the environment
/// once read, so that no child of the server takes the socket for its own.
fn take_activation_socket() -> Result<Option<OwnedFd>, ServerError> {
    let count = passed_socket_count(
        std::process::id(),
        std::env::var_os(LISTEN_PID).as_deref(),
        std::env::var_os(LISTEN_FDS).as_deref(),
    )
    .map_err(setup)?;
    let Some(count) = count else { return Ok(None) };
    // `glwire serve` binds before it starts any thread, so no other thread is reading
    // the environment while it changes (glibc's getenv takes no lock).
    for name in [LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES] {
        std::env::remove_var(name);
    }
    if count > 1 {
        tracing::warn!(
            "systemd passed {count} sockets; glwire serve uses the first (descriptor 3) and ignores the rest: give \
             the socket unit a single ListenStream="
        );
    }
    // SAFETY: the borrow lives for one fcntl(F_GETFD), harmless on any number: on a
    // descriptor that is not open it fails with EBADF and touches nothing.
    let fd3 = unsafe { BorrowedFd::borrow_raw(LISTEN_FDS_START) };
    // Checked before taking ownership: a descriptor 3 that is not open must not become
    // an OwnedFd (closing it later could close an unrelated file opened meanwhile).
    if let Err(e) = rustix::io::fcntl_getfd(fd3) {
        return Err(setup(format!(
            "systemd socket activation: {LISTEN_FDS}={count} but descriptor {LISTEN_FDS_START} is not open ({e}); \
             start glwire serve through its socket unit, or unset {LISTEN_PID} and {LISTEN_FDS}"
        )));
    }
    // SAFETY: descriptor 3 is open (checked just above) and, by the sd_listen_fds
    // protocol, was passed to this process for it to own; nothing else in the process
    // uses it (the variables that name it are gone from the environment).
    Ok(Some(unsafe { OwnedFd::from_raw_fd(LISTEN_FDS_START) }))
}

/// Uses a socket inherited from systemd as the server's Unix endpoint: it must be a
/// listening Unix stream socket bound to `path` (so the directory `host` checked is the
/// one it lives in, and clients find it where `--socket` says). Its file is left in
/// place on exit, for systemd.
fn adopt_socket(fd: OwnedFd, path: &Path) -> Result<BoundSocket, ServerError> {
    let bound =
        check_listening_unix_socket(fd.as_fd()).map_err(|e| setup(format!("systemd socket activation: {e}")))?;
    let same_file = |a: &Path, b: &Path| match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    };
    if !same_file(&bound, path) {
        return Err(setup(format!(
            "systemd socket activation: the socket passed is bound to {}, but glwire serve listens on {}; make the \
             socket unit's ListenStream= and glwire serve's --socket name the same path",
            bound.display(),
            path.display()
        )));
    }
    // The server starts no programs, but a descriptor that leaks into one would keep
    // the endpoint open after the server is gone.
    rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC)
        .map_err(|e| ServerError::Io { what: "set close-on-exec on the inherited socket", source: e.into() })?;
    let listener = UnixListener::from(fd);
    listener
        .set_nonblocking(true)
        .map_err(|source| ServerError::Io { what: "set the inherited listener non-blocking", source })?;
    let meta = fs::symlink_metadata(path).map_err(|e| setup(format!("cannot inspect {}: {e}", path.display())))?;
    tracing::info!("using the socket systemd passed: {}", path.display());
    Ok(BoundSocket { listener, path: path.to_path_buf(), dev: meta.dev(), ino: meta.ino(), remove_on_drop: false })
}

/// The path `fd` is bound to, if it is a listening Unix stream socket bound to a file;
/// otherwise what it is instead and how to fix the socket unit.
fn check_listening_unix_socket(fd: BorrowedFd<'_>) -> Result<PathBuf, String> {
    use rustix::net::{sockopt, AddressFamily, SocketAddrUnix, SocketType};
    let which = format!("descriptor {}", std::os::fd::AsRawFd::as_raw_fd(&fd));
    let family = sockopt::socket_domain(fd).map_err(|e| {
        if e == rustix::io::Errno::NOTSOCK {
            format!("{which} is not a socket; glwire serve needs a socket unit with ListenStream=PATH")
        } else {
            format!("cannot inspect {which}: {e}")
        }
    })?;
    if family != AddressFamily::UNIX {
        return Err(format!(
            "{which} is not a Unix socket (address family {}); use ListenStream=PATH with a file path",
            family.as_raw()
        ));
    }
    if sockopt::socket_type(fd).map_err(|e| format!("cannot inspect {which}: {e}"))? != SocketType::STREAM {
        return Err(format!(
            "{which} is not a stream socket; use ListenStream= (not ListenDatagram= or ListenSequentialPacket=)"
        ));
    }
    if !sockopt::socket_acceptconn(fd).map_err(|e| format!("cannot inspect {which}: {e}"))? {
        return Err(format!(
            "{which} is not listening (a connection, as Accept=yes passes); the socket unit needs Accept=no"
        ));
    }
    let addr = rustix::net::getsockname(fd).map_err(|e| format!("cannot read the address of {which}: {e}"))?;
    let path = SocketAddrUnix::try_from(addr)
        .ok()
        .and_then(|unix| unix.path().map(|p| PathBuf::from(OsStr::from_bytes(p.to_bytes()))))
        .ok_or_else(|| {
            format!(
                "{which} is not bound to a file (abstract or unnamed); use ListenStream=%t/glwire/gpu0 or another path"
            )
        })?;
    Ok(path)
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
    fn socket_activation_variables() {
        let os = |s: &'static str| Some(OsStr::new(s));
        assert_eq!(passed_socket_count(42, None, None), Ok(None));
        assert_eq!(passed_socket_count(42, None, os("1")), Ok(None), "LISTEN_FDS alone passes nothing");
        assert_eq!(passed_socket_count(42, os("42"), os("1")), Ok(Some(1)));
        assert_eq!(passed_socket_count(42, os("42"), os("3")), Ok(Some(3)));
        assert_eq!(passed_socket_count(42, os("42"), os("0")), Ok(None));
        assert_eq!(passed_socket_count(42, os("7"), os("1")), Ok(None), "another process's sockets");
        let err = passed_socket_count(42, os("x"), os("1")).unwrap_err();
        assert!(err.contains("LISTEN_PID=x is not a process id"), "{err}");
        let err = passed_socket_count(42, os("42"), None).unwrap_err();
        assert!(err.contains("LISTEN_FDS is not set"), "{err}");
        let err = passed_socket_count(42, os("42"), os("two")).unwrap_err();
        assert!(err.contains("LISTEN_FDS=two"), "{err}");
    }

    #[test]
    fn only_a_listening_unix_stream_socket_bound_to_a_file_is_adopted() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("gpu0");
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(check_listening_unix_socket(listener.as_fd()).unwrap(), path);

        let (a, _b) = UnixStream::pair().unwrap();
        let err = check_listening_unix_socket(a.as_fd()).unwrap_err();
        assert!(err.contains("not listening") && err.contains("Accept=no"), "{err}");
        let datagram = std::os::unix::net::UnixDatagram::unbound().unwrap();
        let err = check_listening_unix_socket(datagram.as_fd()).unwrap_err();
        assert!(err.contains("not a stream socket"), "{err}");
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let err = check_listening_unix_socket(tcp.as_fd()).unwrap_err();
        assert!(err.contains("not a Unix socket"), "{err}");
        let file = fs::File::open(tmp.path()).unwrap();
        let err = check_listening_unix_socket(file.as_fd()).unwrap_err();
        assert!(err.contains("not a socket"), "{err}");
        let abstract_ =
            rustix::net::socket(rustix::net::AddressFamily::UNIX, rustix::net::SocketType::STREAM, None).unwrap();
        let name = format!("glwire-endpoint-test-{}", std::process::id());
        let addr = rustix::net::SocketAddrUnix::new_abstract_name(name.as_bytes()).unwrap();
        rustix::net::bind(&abstract_, &addr).unwrap();
        rustix::net::listen(&abstract_, 1).unwrap();
        let err = check_listening_unix_socket(abstract_.as_fd()).unwrap_err();
        assert!(err.contains("not bound to a file"), "{err}");
    }

    #[test]
    fn an_adopted_socket_must_match_the_path_and_its_file_stays() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("gpu0");
        let listener = UnixListener::bind(&path).unwrap();
        let err = adopt_socket(OwnedFd::from(listener.try_clone().unwrap()), &tmp.path().join("other"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ListenStream=") && err.contains("--socket"), "{err}");
        let bound = adopt_socket(OwnedFd::from(listener), &path).unwrap();
        assert_eq!(bound.path(), path);
        let flags = rustix::io::fcntl_getfd(&bound.listener).unwrap();
        assert!(flags.contains(rustix::io::FdFlags::CLOEXEC));
        // A client connects through it.
        let _client = UnixStream::connect(&path).unwrap();
        drop(bound);
        assert!(path.exists(), "systemd's socket file outlives the server");
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
