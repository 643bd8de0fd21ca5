//! `glwire top`: a live view of a running server's sessions (program and pid,
//! contexts, calls/s, bytes/s each way, round trips per frame, fps, GL and shared
//! memory), refreshed in the terminal with plain ANSI (home, clear), or one snapshot
//! (`--once`) as a table or JSON for scripts.
//!
//! It owns the command line, the connection (an ordinary session of its own, left out
//! of the view), the sampling and the screen; the rates and the text are `view`'s. It
//! never changes the terminal's modes, so however it ends (`q` and Enter, Ctrl-C, the
//! server going away) the terminal is left as it was found.

mod view;

use std::io::{self, IsTerminal, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use client::{Session, SessionError};
use wire::control::{ControlKind, ControlStatus, ListSessionsReply};

use view::{Sample, View};

/// Show what a running render server's sessions are doing.
#[derive(Debug, Clone, clap::Args)]
pub struct TopArgs {
    /// The server's socket.
    /// [default: $GLWIRE_SOCKET, else $XDG_RUNTIME_DIR/glwire/gpu0 or /tmp/glwire-$UID/gpu0]
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Seconds between refreshes; with --once, between the two samples the rates come
    /// from.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    pub interval: f64,
    /// Print one snapshot and exit.
    #[arg(long)]
    pub once: bool,
    /// JSON instead of the table: one object (live: one line per refresh).
    #[arg(long)]
    pub json: bool,
}

/// Shortest and longest `--interval`: shorter measures noise, longer is a typo.
const INTERVAL_RANGE: (f64, f64) = (0.1, 3600.0);

pub fn run(args: TopArgs) -> ExitCode {
    match top(&args) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`glwire top | head`): done, as for any filter.
        Err(e) if e.is_empty() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("glwire top: {e}");
            ExitCode::FAILURE
        }
    }
}

fn top(args: &TopArgs) -> Result<(), String> {
    let (low, high) = INTERVAL_RANGE;
    if !(low..=high).contains(&args.interval) {
        return Err(format!("--interval {} is out of range: give seconds from {low} to {high}", args.interval));
    }
    let interval = Duration::from_secs_f64(args.interval);
    let socket = args.socket.clone().unwrap_or_else(transport::endpoint::client_socket_path);
    let shown = socket.display().to_string();
    let mut probe = Probe::connect(&socket)?;
    let mut prev = probe.sample()?;
    if args.once {
        std::thread::sleep(interval);
        let view = View::between(&prev, &probe.sample()?, probe.own);
        let text = if args.json { view.json(&shown) + "\n" } else { view.table(&shown, usize::MAX) };
        return emit(&mut io::stdout().lock(), &text);
    }
    let mut screen = Screen::new(args.json);
    let mut keys = Keys::new();
    screen.waiting(&shown)?;
    loop {
        if keys.quit_within(interval) {
            return Ok(());
        }
        let cur = probe.sample()?;
        let view = View::between(&prev, &cur, probe.own);
        screen.show(&view, &shown)?;
        prev = cur;
    }
}

/// top's own session with the server.
struct Probe {
    session: Session,
    socket: PathBuf,
    /// Its session id, left out of the view.
    own: u64,
}

impl Probe {
    fn connect(socket: &std::path::Path) -> Result<Self, String> {
        let session = Session::connect_unix(socket, "glwire-top").map_err(|e| {
            format!(
                "cannot reach the render server at {}: {e} (start one with `glwire serve &`, or pass --socket or \
                 set GLWIRE_SOCKET to its socket)",
                socket.display()
            )
        })?;
        let own = session.welcome().session_id;
        Ok(Self { session, socket: socket.to_path_buf(), own })
    }

    fn sample(&mut self) -> Result<Sample, String> {
        let payload = self.session.call(ControlKind::ListSessions, &[]).map_err(|e| match e {
            e if e.status() == Some(Ok(ControlStatus::NotSupported)) => format!(
                "the server at {} does not list its sessions ({e}): it is older than this glwire; restart it from \
                 this build",
                self.socket.display()
            ),
            SessionError::Transport(e) => format!("lost the server at {}: {e}", self.socket.display()),
            e => format!("listing the sessions failed: {e}"),
        })?;
        let at = Instant::now();
        let (header, records) = ListSessionsReply::parse(&payload)
            .map_err(|e| format!("the server's session list does not parse: {e} (does it run this glwire build?)"))?;
        Ok(Sample { at, header, records })
    }
}

/// Where live views go: a terminal redrawn in place, or a stream of snapshots.
struct Screen {
    json: bool,
    terminal: bool,
    out: io::Stdout,
}

impl Screen {
    fn new(json: bool) -> Self {
        let out = io::stdout();
        Self { json, terminal: !json && out.is_terminal(), out }
    }

    fn waiting(&mut self, socket: &str) -> Result<(), String> {
        if self.terminal {
            let text = format!("\x1b[H\x1b[2Jglwire top · {socket} · measuring… (q and Enter, or Ctrl-C, to quit)\n");
            emit(&mut self.out.lock(), &text)?;
        }
        Ok(())
    }

    fn show(&mut self, view: &View, socket: &str) -> Result<(), String> {
        let text = if self.json {
            view.json(socket) + "\n"
        } else if self.terminal {
            // Home, then each line over the old one, clearing what is left of it and
            // of the screen below: no blank flash between frames. Lines are cut to the
            // terminal's width; line wrap is off while drawing besides (a width that
            // changed since it was read), and back on at once, in the same write.
            let (columns, rows) = screen_size();
            let mut frame = String::from("\x1b[?7l\x1b[H");
            for line in view.table(socket, columns).lines().take(rows.saturating_sub(1)) {
                frame.push_str(line);
                frame.push_str("\x1b[K\n");
            }
            frame.push_str("\x1b[J\x1b[?7h");
            frame
        } else {
            view.table(socket, usize::MAX) + "\n"
        };
        emit(&mut self.out.lock(), &text)
    }
}

/// Writes `text` at once; a closed pipe is the empty error, which ends top quietly.
fn emit(out: &mut impl Write, text: &str) -> Result<(), String> {
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(|e| match e.kind() {
        io::ErrorKind::BrokenPipe => String::new(),
        _ => format!("cannot write the view: {e}"),
    })
}

/// The terminal's columns and rows, read from it at each frame (a resized window
/// redraws to its new size); where that fails, `$COLUMNS` and `$LINES`, or no limit
/// (long lines are cut by the terminal, more sessions than rows scroll).
fn screen_size() -> (usize, usize) {
    if let Ok(size) = rustix::termios::tcgetwinsize(io::stdout()) {
        if size.ws_col > 0 && size.ws_row > 1 {
            return (usize::from(size.ws_col), usize::from(size.ws_row));
        }
    }
    let var = |name| std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).filter(|&n: &usize| n > 1);
    (var("COLUMNS").unwrap_or(usize::MAX), var("LINES").unwrap_or(usize::MAX))
}

/// `q` from the terminal. The terminal stays in line mode (top changes no modes), so
/// a key arrives with Enter; Ctrl-C ends top as it ends any program.
struct Keys {
    stdin: Option<io::Stdin>,
}

impl Keys {
    fn new() -> Self {
        let stdin = io::stdin();
        Self { stdin: stdin.is_terminal().then_some(stdin) }
    }

    /// Waits `interval`; true when a line starting with `q` arrived meanwhile.
    fn quit_within(&mut self, interval: Duration) -> bool {
        let deadline = Instant::now() + interval;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let Some(stdin) = &self.stdin else {
                std::thread::sleep(left);
                return false;
            };
            let fd = stdin.as_fd();
            let mut fds = [rustix::event::PollFd::new(&fd, rustix::event::PollFlags::IN)];
            let timeout = rustix::event::Timespec::try_from(left).ok();
            match rustix::event::poll(&mut fds, timeout.as_ref()) {
                Ok(0) => return false,
                Ok(_) => {
                    // Straight from the descriptor: std's buffer would keep bytes
                    // poll no longer sees.
                    let mut buf = [0u8; 256];
                    match rustix::io::read(fd, &mut buf) {
                        Err(rustix::io::Errno::INTR) => {}
                        // Closed or unreadable: stop looking at it; Ctrl-C still works.
                        Ok(0) | Err(_) => self.stdin = None,
                        Ok(n) if buf[..n].iter().any(|&b| b == b'q' || b == b'Q') => return true,
                        Ok(_) => {}
                    }
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(_) => self.stdin = None,
            }
        }
    }
}
