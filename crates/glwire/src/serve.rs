//! `glwire serve`: the command-line face of the device host. It owns the flags, the
//! log setup (`RUST_LOG`, on stderr) and the exit status; serving itself is
//! `server::serve`.
//!
//! Started by systemd socket activation (`packaging/glwire.socket`), it serves on the
//! listening socket systemd passes (`LISTEN_PID`/`LISTEN_FDS`, descriptor 3) instead of
//! binding its own; that socket must be bound to `--socket`'s path, which is why the
//! unit passes `--socket %t/glwire/gpu0` beside `ListenStream=%t/glwire/gpu0`. Taking
//! the socket over is `server`'s (`endpoint`), since only it may own the listener.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use server::{ServeConfig, SessionLimits};

/// Start the render server: the device endpoint that glwire clients connect to.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The Unix socket to listen on; its directory is created with mode 0700. Under
    /// systemd socket activation, the socket systemd passes must be bound to this path.
    /// [default: $XDG_RUNTIME_DIR/glwire/gpu0, or /tmp/glwire-$UID/gpu0]
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Also listen on TCP (no shared memory; clients must present the token).
    #[arg(long, value_name = "HOST:PORT", requires = "token_file")]
    pub listen: Option<SocketAddr>,
    /// File holding the token TCP clients must present (mode 0600).
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Most GL contexts per session.
    #[arg(long, value_name = "N", default_value_t = SessionLimits::default().max_contexts)]
    pub max_contexts: u32,
    /// Most bytes of shared memory per session.
    #[arg(long, value_name = "N", default_value_t = SessionLimits::default().max_shm_bytes)]
    pub max_shm_bytes: u64,
    /// Most GL object names per session (buffers, textures, programs, … together);
    /// past it glGen* and friends give GL_OUT_OF_MEMORY.
    #[arg(long, value_name = "N", default_value_t = SessionLimits::default().max_objects)]
    pub max_objects: u32,
    /// Most bytes of GL buffers, textures and renderbuffers per session (estimated from
    /// their sizes and formats); past it the allocation gives GL_OUT_OF_MEMORY.
    #[arg(long, value_name = "BYTES", default_value_t = SessionLimits::default().max_gl_bytes)]
    pub max_gl_memory: u64,
    /// Behind the per-session quotas, a guard for the whole server: while its resident
    /// memory is past this many bytes, no session's GL allocation is made (default:
    /// three quarters of the machine's memory).
    #[arg(long, value_name = "BYTES")]
    pub max_server_memory: Option<u64>,
    /// Most requests awaiting a reply per session.
    #[arg(long, value_name = "N", default_value_t = SessionLimits::default().max_in_flight)]
    pub max_in_flight: u32,
    /// Most sessions at once; more clients are refused as busy.
    #[arg(long, value_name = "N", default_value_t = server::DEFAULT_MAX_SESSIONS)]
    pub max_sessions: usize,
    /// Answer commands without running GL (measures the channel alone).
    #[arg(long)]
    pub loopback: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics (port 0: any free port; the
    /// address is printed). Unauthenticated: bind it to localhost (127.0.0.1:9464).
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics: Option<SocketAddr>,
    /// Run Mesa's GL thread (`mesa_glthread`) in the host contexts: Mesa's work for a
    /// context then overlaps the decoding of its next commands, at the cost of one
    /// more busy thread per context and a hand-off per batch. Off by default: on
    /// 2 cores it lost 7–9 points on draw-heavy frames and gained nothing measurable
    /// on the typical scene (paired runs of `glwire bench scenes`).
    /// `GLWIRE_HOST_GLTHREAD=1` does the same; a `mesa_glthread` already in the
    /// environment is left as it is.
    #[arg(long)]
    pub host_glthread: bool,
}

impl ServeArgs {
    fn config(self) -> ServeConfig {
        ServeConfig {
            socket: self.socket.unwrap_or_else(server::default_socket_path),
            listen: self.listen,
            token_file: self.token_file,
            limits: SessionLimits {
                max_contexts: self.max_contexts,
                max_shm_bytes: self.max_shm_bytes,
                max_objects: self.max_objects,
                max_in_flight: self.max_in_flight,
                max_gl_bytes: self.max_gl_memory,
                max_server_bytes: self.max_server_memory.unwrap_or_else(server::quota::default_max_server_bytes),
            },
            max_sessions: self.max_sessions,
            loopback: self.loopback,
            metrics: self.metrics,
        }
    }
}

/// Runs the server until SIGINT/SIGTERM. Exit status 0 after a clean shutdown, 1 with
/// a one-line error when it cannot start or fails.
pub fn run(args: ServeArgs) -> ExitCode {
    let on = |v: String| matches!(v.trim(), "1" | "true" | "yes" | "on");
    let glthread = args.host_glthread || std::env::var("GLWIRE_HOST_GLTHREAD").is_ok_and(on);
    if glthread && std::env::var_os("mesa_glthread").is_none() {
        // Read by Mesa when a context is made; set while the process has one thread,
        // before the host driver is loaded.
        std::env::set_var("mesa_glthread", "true");
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A subscriber may already be installed (tests); then logs go there.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    match server::serve(args.config()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("glwire serve: {e}");
            ExitCode::FAILURE
        }
    }
}
