//! Where the local render server listens unless told otherwise, so the server and its
//! clients agree without configuration: `$XDG_RUNTIME_DIR/glwire/gpu0`, or
//! `/tmp/glwire-$UID/gpu0` without a runtime directory. `GLWIRE_SOCKET` overrides it
//! for clients (`glwire run` sets it for the programs it starts).

use std::path::PathBuf;

/// The variable that names the server's socket for clients.
pub const SOCKET_ENV: &str = "GLWIRE_SOCKET";

/// The default socket path for this user.
pub fn default_socket_path() -> PathBuf {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").filter(|dir| !dir.is_empty());
    socket_path_in(runtime.map(PathBuf::from), rustix::process::geteuid().as_raw())
}

/// The socket a client should connect to: `GLWIRE_SOCKET`, else the default.
pub fn client_socket_path() -> PathBuf {
    std::env::var_os(SOCKET_ENV).filter(|p| !p.is_empty()).map(PathBuf::from).unwrap_or_else(default_socket_path)
}

pub(crate) fn socket_path_in(runtime_dir: Option<PathBuf>, uid: u32) -> PathBuf {
    match runtime_dir {
        Some(dir) => dir.join("glwire").join("gpu0"),
        None => PathBuf::from(format!("/tmp/glwire-{uid}")).join("gpu0"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_socket_paths() {
        assert_eq!(socket_path_in(Some("/run/user/1000".into()), 1000), PathBuf::from("/run/user/1000/glwire/gpu0"));
        assert_eq!(socket_path_in(None, 42), PathBuf::from("/tmp/glwire-42/gpu0"));
    }
}
