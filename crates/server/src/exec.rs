//! The executor seam: what runs a decoded, validated command. The GLES executor (host
//! EGL/GLES through `backend-gles`) comes with the ICD issue; until then the server runs
//! `Loopback`, which executes nothing and answers every synchronous command with an
//! empty reply (a zero or NULL result, no output data). Transport tests and the
//! transport benchmark use it to measure the channel alone.

use wire::commands::{empty_reply, Command};
use wire::CommandBuf;

use crate::error::ServerError;

/// Runs commands for one context, on that context's thread.
pub trait Executor: Send {
    /// Executes `cmd`; for a synchronous command, appends its reply to `replies`.
    fn execute(&mut self, cmd: &Command<'_>, replies: &mut CommandBuf) -> Result<(), ServerError>;
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

/// The executor new contexts get.
pub fn loopback() -> Box<dyn Executor> {
    Box::new(Loopback)
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
