//! The seam between the client and a transport: something that takes encoded commands
//! and, for synchronous ones, returns the reply bytes. `RingLink` (shared-memory rings)
//! and the socket link in `connect` are the real ones; until a context has one, its
//! calls fail with [`CallError::NotConnected`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, CString};

use wire::commands::Command;
use wire::CommandBuf;

use crate::CallError;

/// Reply bytes, 8-byte aligned for the generated decoders.
pub type ReplyBuf = CommandBuf;

/// Where encoded commands go.
pub trait Link: Send {
    /// Hands a batch of asynchronous commands to the server; need not wait.
    fn send(&mut self, stream: &[u8]) -> Result<(), CallError>;
    /// Sends `stream` (ending in a synchronous command) and waits for its reply.
    fn round_trip(&mut self, stream: &[u8], reply: &mut ReplyBuf) -> Result<(), CallError>;

    /// Sends one asynchronous command with a large payload. A link that can write
    /// straight into its transport overrides this, so the payload is copied once.
    fn send_command(&mut self, cmd: &Command<'_>) -> Result<(), CallError> {
        let mut buf = CommandBuf::new();
        cmd.encode(&mut buf)?;
        self.send(buf.as_bytes())
    }
}

/// What generated entry points forward through: a GL context or the EGL display link.
pub trait Forward {
    /// Queues an asynchronous command.
    fn submit(&mut self, cmd: &Command<'_>) -> Result<(), CallError>;
    /// Sends a synchronous command (and everything queued before it) and returns the
    /// reply's bytes.
    fn call(&mut self, cmd: &Command<'_>) -> Result<&ReplyBuf, CallError>;
    /// Keeps a returned string alive and returns a stable pointer to it (the APIs
    /// promise such pointers stay valid). `key` is the opcode and the query's arguments.
    fn keep_string(&mut self, key: [u64; 3], s: Option<&CStr>) -> *const u8;
}

/// The process's link for EGL calls, which need no current context.
#[derive(Default)]
struct DisplayLink {
    link: Option<Box<dyn Link>>,
    stream: CommandBuf,
    reply: ReplyBuf,
    strings: HashMap<[u64; 3], CString>,
}

impl Forward for DisplayLink {
    fn keep_string(&mut self, key: [u64; 3], s: Option<&CStr>) -> *const u8 {
        keep(&mut self.strings, key, s)
    }

    fn submit(&mut self, cmd: &Command<'_>) -> Result<(), CallError> {
        let link = self.link.as_mut().ok_or(CallError::NotConnected)?;
        self.stream.clear();
        cmd.encode(&mut self.stream)?;
        link.send(self.stream.as_bytes())
    }

    fn call(&mut self, cmd: &Command<'_>) -> Result<&ReplyBuf, CallError> {
        let link = self.link.as_mut().ok_or(CallError::NotConnected)?;
        self.stream.clear();
        cmd.encode(&mut self.stream)?;
        self.reply.clear();
        link.round_trip(self.stream.as_bytes(), &mut self.reply)?;
        Ok(&self.reply)
    }
}

thread_local! {
    // Per thread until the transport lands a shared connection; EGL calls made before
    // then fail as not connected on every thread alike.
    static DISPLAY: RefCell<DisplayLink> = RefCell::new(DisplayLink::default());
}

/// Runs `f` with the EGL display link.
pub fn with_display_link<R>(f: impl FnOnce(&mut dyn Forward) -> R) -> R {
    // A thread being torn down has no display link left; it gets the unavailable one.
    let mut f = Some(f);
    let done = DISPLAY.try_with(|d| match d.try_borrow_mut() {
        Ok(mut d) => f.take().map(|f| f(&mut *d)),
        // Re-entered from inside a call (a debug callback calling EGL): refuse rather
        // than alias the stream.
        Err(_) => None,
    });
    match (done, f) {
        (Ok(Some(r)), _) => r,
        (_, Some(f)) => f(&mut Unavailable),
        // `f` is only taken where its result is wrapped in `Some`.
        (_, None) => unreachable!("the display link's closure ran without a result"),
    }
}

/// Stores `s` under `key` once; later calls return the same pointer.
pub(crate) fn keep(strings: &mut HashMap<[u64; 3], CString>, key: [u64; 3], s: Option<&CStr>) -> *const u8 {
    match s {
        None => std::ptr::null(),
        Some(s) => strings.entry(key).or_insert_with(|| s.to_owned()).as_ptr().cast(),
    }
}

struct Unavailable;

impl Forward for Unavailable {
    fn keep_string(&mut self, _: [u64; 3], _: Option<&CStr>) -> *const u8 {
        std::ptr::null()
    }
    fn submit(&mut self, _: &Command<'_>) -> Result<(), CallError> {
        Err(CallError::NotConnected)
    }
    fn call(&mut self, _: &Command<'_>) -> Result<&ReplyBuf, CallError> {
        Err(CallError::NotConnected)
    }
}
