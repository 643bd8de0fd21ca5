//! Mapped buffer ranges. The program writes and reads a copy in the client's memory;
//! the host keeps its own mapping of the range open meanwhile, so GL's mapped state
//! and errors are the host's. This module moves bytes between the two: the host's
//! bytes at map time (unless the map invalidates them), the copy back at unmap (or at
//! each `glFlushMappedBufferRange` for explicit flushes), and, for persistent maps,
//! before every command that may read buffers and after the sync points where a
//! program may read what GL wrote. It does not decide GL errors; the host does.

use std::collections::HashMap;

use wire::codec::reply_body;
use wire::commands::*;

use crate::context::Context;
use crate::error::CallError;
use crate::link::{Forward, ReplyBuf};

pub(crate) const GL_MAP_READ_BIT: u32 = 0x0001;
pub(crate) const GL_MAP_WRITE_BIT: u32 = 0x0002;
pub(crate) const GL_MAP_FLUSH_EXPLICIT_BIT: u32 = 0x0010;
pub(crate) const GL_MAP_PERSISTENT_BIT: u32 = 0x0040;
const GL_BUFFER_MAP_POINTER: u32 = 0x88BD;

/// One mapped range: the program's copy and how it was mapped.
#[derive(Debug)]
pub(crate) struct Mapping {
    pub access: u32,
    pub copy: Vec<u8>,
}

impl Mapping {
    fn has(&self, bits: u32) -> bool {
        self.access & bits == bits
    }

    /// Written back whole before commands that may read it (persistent maps).
    fn writes_back_eagerly(&self) -> bool {
        self.has(GL_MAP_PERSISTENT_BIT | GL_MAP_WRITE_BIT) && !self.has(GL_MAP_FLUSH_EXPLICIT_BIT)
    }
}

/// Mapped ranges by buffer name.
pub(crate) type Mappings = HashMap<u32, Mapping>;

/// Commands after which the GPU may read buffer memory: persistent maps' writes must
/// be on the host first.
pub(crate) fn reads_buffers(cmd: &Command<'_>) -> bool {
    matches!(
        cmd,
        Command::DrawArrays(_)
            | Command::DrawArraysInstanced(_)
            | Command::DrawArraysIndirect(_)
            | Command::DrawElements(_)
            | Command::DrawElementsInstanced(_)
            | Command::DrawElementsIndirect(_)
            | Command::DrawRangeElements(_)
            | Command::DrawElementsBaseVertex(_)
            | Command::DrawRangeElementsBaseVertex(_)
            | Command::DrawElementsInstancedBaseVertex(_)
            | Command::DrawArraysInstancedBaseInstanceEXT(_)
            | Command::DrawElementsInstancedBaseInstanceEXT(_)
            | Command::DrawElementsInstancedBaseVertexBaseInstanceEXT(_)
            | Command::DispatchCompute(_)
            | Command::DispatchComputeIndirect(_)
            | Command::CopyBufferSubData(_)
            | Command::TexImage2D(_)
            | Command::TexImage3D(_)
            | Command::TexSubImage2D(_)
            | Command::TexSubImage3D(_)
            | Command::CompressedTexImage2D(_)
            | Command::CompressedTexImage3D(_)
            | Command::CompressedTexSubImage2D(_)
            | Command::CompressedTexSubImage3D(_)
            | Command::MemoryBarrier(_)
            | Command::MemoryBarrierByRegion(_)
            | Command::FenceSync(_)
            | Command::Flush(_)
            | Command::Finish(_)
    )
}

/// Sync points after which a program may read what GL wrote into a persistent map.
pub(crate) fn is_sync_point(cmd: &Command<'_>) -> bool {
    matches!(cmd, Command::Finish(_) | Command::ClientWaitSync(_))
}

/// `offset..offset + len` inside `size` bytes.
fn span(offset: i64, len: i64, size: usize) -> Option<std::ops::Range<usize>> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    (end <= size).then_some(start..end)
}

impl Context {
    /// `glMapBufferRange`: maps on the host, keeps the bytes as the program's copy and
    /// returns where the copy lives; NULL when the host refused (its error is GL's).
    pub fn map_buffer_range(
        &mut self,
        target: u32,
        offset: i64,
        length: i64,
        access: u32,
    ) -> Result<*mut u8, CallError> {
        let buffer = self.bound_buffer(target);
        let cmd = Command::MapBufferRange(MapBufferRange { target, offset, length, access });
        let copy = {
            let reply = self.call(&cmd)?;
            let body = reply_body(reply.as_bytes(), Opcode::MapBufferRange as u32)?;
            let Some(bytes) = MapBufferRangeReply::decode(body)?.ret else { return Ok(std::ptr::null_mut()) };
            let len = usize::try_from(length).map_err(|_| CallError::Protocol("a map of negative length".into()))?;
            if !bytes.is_empty() && bytes.len() != len {
                return Err(CallError::Protocol(format!("a map of {len} bytes came back with {}", bytes.len())));
            }
            let mut copy = Vec::new();
            if copy.try_reserve_exact(len).is_ok() {
                copy.extend_from_slice(bytes);
                copy.resize(len, 0);
                Some(copy)
            } else {
                None
            }
        };
        let Some(mut copy) = copy else {
            // No room for the copy: the host mapping must not stay behind.
            self.call(&Command::UnmapBuffer(UnmapBuffer { target }))?;
            return Err(CallError::OUT_OF_MEMORY);
        };
        let ptr = copy.as_mut_ptr();
        // A buffer is mapped at most once at a time (GL refuses a second map), so this
        // replaces only a mapping GL already ended (glBufferData unmaps implicitly).
        self.mappings.insert(buffer, Mapping { access, copy });
        Ok(ptr)
    }

    /// `glFlushMappedBufferRange`: sends the flushed bytes of an explicit-flush map.
    pub fn flush_mapped_buffer_range(&mut self, target: u32, offset: i64, length: i64) -> Result<(), CallError> {
        let buffer = self.bound_buffer(target);
        if let Some(m) = self.mappings.remove(&buffer) {
            let sent = match span(offset, length, m.copy.len()) {
                Some(r) if m.has(GL_MAP_WRITE_BIT | GL_MAP_FLUSH_EXPLICIT_BIT) => {
                    self.write_mapped(buffer, r.start, &m.copy[r.clone()])
                }
                // Out of range or not an explicit-flush map: the host raises the error.
                _ => Ok(()),
            };
            self.mappings.insert(buffer, m);
            sent?;
        }
        self.queue(&Command::FlushMappedBufferRange(FlushMappedBufferRange { target, offset, length }))
    }

    /// `glUnmapBuffer`: writes the copy back (unless flushed explicitly), then unmaps
    /// on the host and returns its answer.
    pub fn unmap_buffer(&mut self, target: u32) -> Result<u8, CallError> {
        let buffer = self.bound_buffer(target);
        if let Some(m) = self.mappings.remove(&buffer) {
            if m.has(GL_MAP_WRITE_BIT) && !m.has(GL_MAP_FLUSH_EXPLICIT_BIT) {
                self.write_mapped(buffer, 0, &m.copy)?;
            }
        }
        let reply = self.call(&Command::UnmapBuffer(UnmapBuffer { target }))?;
        let body = reply_body(reply.as_bytes(), Opcode::UnmapBuffer as u32)?;
        Ok(UnmapBufferReply::decode(body)?.ret)
    }

    /// `glGetBufferPointerv`: the copy of the buffer bound at `target`, or NULL.
    pub fn buffer_map_pointer(&mut self, target: u32, pname: u32) -> Result<*mut u8, CallError> {
        if pname != GL_BUFFER_MAP_POINTER {
            return Err(CallError::INVALID_ENUM);
        }
        let buffer = self.bound_buffer(target);
        Ok(self.mappings.get_mut(&buffer).map_or(std::ptr::null_mut(), |m| m.copy.as_mut_ptr()))
    }

    /// Before a command that may read buffers: the persistent maps' copies go to the host.
    pub(crate) fn write_back_persistent(&mut self) -> Result<(), CallError> {
        let buffers: Vec<u32> =
            self.mappings.iter().filter(|(_, m)| m.writes_back_eagerly()).map(|(b, _)| *b).collect();
        for buffer in buffers {
            if let Some(m) = self.mappings.remove(&buffer) {
                let sent = self.write_mapped(buffer, 0, &m.copy);
                self.mappings.insert(buffer, m);
                sent?;
            }
        }
        Ok(())
    }

    /// After a sync point: persistent read maps take the host's bytes. Uses its own
    /// reply buffer, so the sync call's reply survives.
    pub(crate) fn refresh_persistent(&mut self, aux: &mut ReplyBuf) -> Result<(), CallError> {
        let buffers: Vec<u32> = self
            .mappings
            .iter()
            .filter(|(_, m)| m.has(GL_MAP_PERSISTENT_BIT | GL_MAP_READ_BIT))
            .map(|(b, _)| *b)
            .collect();
        for buffer in buffers {
            let Some(len) = self.mappings.get(&buffer).map(|m| m.copy.len()) else { continue };
            let cap = u32::try_from(len).map_err(|_| CallError::OUT_OF_MEMORY)?;
            let cmd = WireReadMapped { buffer, offset: 0, size: len as i64, data: Some(cap) };
            self.round_trip_aux(&Command::WireReadMapped(cmd), aux)?;
            let body = reply_body(aux.as_bytes(), Opcode::WireReadMapped as u32)?;
            if let (Some(bytes), Some(m)) = (WireReadMappedReply::decode(body)?.data, self.mappings.get_mut(&buffer)) {
                let n = bytes.len().min(m.copy.len());
                m.copy[..n].copy_from_slice(&bytes[..n]);
            }
        }
        Ok(())
    }

    /// Sends `bytes` into the host mapping of `buffer` at `offset` from its start.
    fn write_mapped(&mut self, buffer: u32, offset: usize, bytes: &[u8]) -> Result<(), CallError> {
        let cmd = WireWriteMapped { buffer, offset: offset as i64, size: bytes.len() as i64, data: bytes };
        self.queue(&Command::WireWriteMapped(cmd))
    }
}
