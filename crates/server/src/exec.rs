//! The executor seam: what runs a decoded command on a context thread. The GLES
//! executor (`crate::gles`, host EGL/GLES through `backend-gles`, validating first) is
//! what contexts normally get; `Loopback` executes nothing and answers every
//! synchronous command with an empty reply (a zero or NULL result, no output data), for
//! transport tests, benchmarks of the channel alone, and servers without host EGL.
//!
//! Executors are built *on* the context thread by an [`ExecutorFactory`], because a host
//! GL context is bound to the thread that created it; so an executor need not be `Send`.
//! A factory is told which [`ShareGroup`] to join (EGL share groups).
//!
//! The trait also owns the loop over a stream of commands (`Executor::run_stream`, a
//! default method so each executor's copy calls its own methods directly); the context
//! thread (`crate::context`) receives the streams and keeps the session's counts.

use std::sync::{Arc, Mutex};
use wire::codec::split_message;
use wire::commands::{decode_command, empty_reply, Command};

use backend_gles::{HostContext, HostImage};
use wire::CommandBuf;

use crate::error::ServerError;
use crate::validate::SyncTable;

/// Runs commands for one context, on that context's thread (it never leaves it).
pub trait Executor {
    /// Executes `cmd`; for a synchronous command, appends its reply to `replies`.
    fn execute(&mut self, cmd: &Command<'_>, replies: &mut CommandBuf) -> Result<(), ServerError>;

    /// Executes the command `message` holds (one whole message, header included, as
    /// `wire::codec::split_message` cut it) without decoding it into a `Command`, when
    /// this executor has a short path for its opcode: then the result is exactly what
    /// `execute` of the decoded command would give, a decode error included. `None`:
    /// no short path, decode it and call `execute`. Such commands never reply.
    fn execute_encoded(&mut self, message: Encoded<'_>) -> Option<Result<(), ServerError>> {
        let _ = message;
        None
    }

    /// Decodes and executes every command of `stream`, short path first; a malformed
    /// command is an error, and nothing after it runs. A default method: each
    /// executor's copy calls its own `execute_encoded` and `execute` directly, one
    /// dynamic call per stream instead of one or two per command (a draw-heavy frame
    /// has 20 000).
    fn run_stream(&mut self, stream: &[u8], replies: &mut CommandBuf) -> Result<StreamRun, ServerError> {
        let mut run = StreamRun::default();
        let mut rest = stream;
        while !rest.is_empty() {
            // The short path first: most of a draw-heavy frame's commands run from
            // their bytes. A message that does not split goes on to the decoder, which
            // gives the error.
            if let Ok((opcode, _, next)) = split_message(rest) {
                let message = &rest[..rest.len() - next.len()];
                if let Some(done) = self.execute_encoded(Encoded { opcode, message }) {
                    done?;
                    rest = next;
                    run.commands += 1;
                    continue;
                }
            }
            // Used where the decoder wrote it: moving the command out of the result
            // stalled on store forwarding once per command, a measurable share of a
            // draw-heavy frame.
            let decoded = decode_command(rest);
            let (cmd, next) = match &decoded {
                Ok((cmd, next)) => (cmd, *next),
                Err(e) => return Err(e.clone().into()),
            };
            if let Command::WireSwapBuffers(_) = cmd {
                run.frames += 1;
            }
            self.execute(cmd, replies)?;
            rest = next;
            run.commands += 1;
        }
        Ok(run)
    }

    /// Makes `surface` the context's default framebuffer (the client's eglMakeCurrent).
    /// An executor without host surfaces has nothing to bind.
    fn set_surface(&mut self, surface: Option<Arc<crate::surface::Surface>>) -> Result<(), ServerError> {
        let _ = surface;
        Ok(())
    }

    /// An EGLImage of this context's GL object `buffer` for the EGL `target`, with the
    /// EGL `attribs` (pairs, no terminator). An executor without host GL has none.
    fn create_image(
        &mut self,
        target: u32,
        buffer: u32,
        attribs: &[(i32, i32)],
    ) -> Result<Arc<HostImage>, ServerError> {
        let _ = (target, buffer, attribs);
        Err(ServerError::Limit("this context has no host GL to make images from"))
    }

    /// What a context created to share with this one joins (EGL share groups). An
    /// executor without host objects has nothing to share.
    fn share_group(&self) -> ShareGroup {
        ShareGroup::default()
    }
}

/// What [`Executor::run_stream`] ran: commands, and frames ended (glwire's swaps).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamRun {
    pub commands: u64,
    pub frames: u64,
}

/// One command as it arrived: its opcode number and the whole message, header
/// included, as `wire::codec::split_message` cut it.
#[derive(Debug, Clone, Copy)]
pub struct Encoded<'a> {
    pub opcode: u32,
    pub message: &'a [u8],
}

impl<'a> Encoded<'a> {
    /// The message after its header: the command's arguments and payload (empty for
    /// a message shorter than a header, which `split_message` never cuts).
    pub fn body(&self) -> &'a [u8] {
        self.message.get(size_of::<wire::codec::CommandHeader>()..).unwrap_or_default()
    }
}

/// What the contexts of one EGL share group have in common: the host context new
/// members are created to share with (its objects are theirs), the tables of sync
/// objects and of the shared namespaces' object names, which a share group shares too,
/// and the count of buffer size changes (`validate::BufferSizes`).
#[derive(Debug, Clone, Default)]
pub struct ShareGroup {
    pub host: Option<Arc<HostContext>>,
    pub syncs: Arc<Mutex<SyncTable>>,
    pub names: crate::names::SharedNames,
    pub buffer_sizes: crate::validate::BufferSizes,
}

/// Executes nothing; answers synchronous commands with empty replies.
#[derive(Debug, Default)]
pub struct Loopback;

impl Executor for Loopback {
    fn execute(&mut self, cmd: &Command<'_>, replies: &mut CommandBuf) -> Result<(), ServerError> {
        empty_reply(cmd.opcode(), replies)?;
        Ok(())
    }
}

/// Builds a context's executor on the context thread, before its first command: in
/// the given share group, or in a new one.
pub type ExecutorFactory = Box<dyn FnOnce(Option<ShareGroup>) -> Result<Box<dyn Executor>, ServerError> + Send>;

/// A factory for the loopback executor.
pub fn loopback() -> ExecutorFactory {
    Box::new(|_| Ok(Box::new(Loopback) as Box<dyn Executor>))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::commands::{decode_reply, Finish, Flush, Reply};

    #[test]
    fn answers_only_synchronous_commands() {
        let mut replies = CommandBuf::new();
        Loopback.execute(&Command::Flush(Flush {}), &mut replies).unwrap();
        assert!(replies.is_empty());
        Loopback.execute(&Command::Finish(Finish {}), &mut replies).unwrap();
        let (reply, rest) = decode_reply(replies.as_bytes()).unwrap();
        assert!(matches!(reply, Reply::Finish(_)));
        assert!(rest.is_empty());
    }
}
