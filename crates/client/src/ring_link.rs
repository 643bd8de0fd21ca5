//! `RingLink`: the fast path of a context, its command and reply rings in one sealed
//! memfd shared with the server. A batch of commands is one ring message; a call that
//! needs an answer sends its batch and waits on the reply ring, which gives up within
//! the liveness deadline when the server dies.

use std::sync::Arc;

use transport::liveness::Liveness;
use transport::ring::{consumer, producer, Consumer, Producer, Received, RingRegion};
use transport::shm::SharedMemory;
use transport::TransportError;

use crate::link::{Link, ReplyBuf};
use crate::CallError;

/// The client's ends of a context's rings.
#[derive(Debug)]
pub struct RingLink {
    to_server: Producer,
    from_server: Consumer,
    _shm: Arc<SharedMemory>,
}

impl RingLink {
    /// The client ends of `region`'s rings.
    pub fn new(region: &RingRegion, server: Liveness) -> Result<Self, CallError> {
        let to_server = producer(region.shm.clone(), region.commands, server.clone()).map_err(lost)?;
        let from_server = consumer(region.shm.clone(), region.replies, server).map_err(lost)?;
        Ok(RingLink { to_server, from_server, _shm: region.shm.clone() })
    }
}

pub(crate) fn lost(e: TransportError) -> CallError {
    CallError::Lost(e.to_string())
}

impl Link for RingLink {
    fn send_command(&mut self, cmd: &wire::commands::Command<'_>) -> Result<(), CallError> {
        cmd.encode(&mut self.to_server).map_err(|e| match e {
            wire::codec::EncodeError::SinkFailed { .. } => lost(self.to_server.take_error()),
            e => CallError::Encode(e),
        })
    }

    fn send(&mut self, stream: &[u8]) -> Result<(), CallError> {
        self.to_server.send(stream).map_err(lost)
    }

    fn round_trip(&mut self, stream: &[u8], reply: &mut ReplyBuf) -> Result<(), CallError> {
        self.to_server.send(stream).map_err(lost)?;
        reply.clear();
        match self.from_server.recv(reply, &|| false).map_err(lost)? {
            Received::Message => Ok(()),
            Received::Stopped => Err(CallError::Lost("reply wait interrupted".into())),
        }
    }
}
