//! Mapped buffer ranges. The program writes and reads a copy in the client's memory;
//! the host keeps its own mapping of the range open meanwhile, so GL's mapped state
//! and errors are the host's. This module moves bytes between the two: the host's
//! bytes at map time (unless the map invalidates them), the program's changes back at
//! unmap (or at each `glFlushMappedBufferRange` for explicit flushes), and, for
//! persistent maps, before every command that may read buffers and after the sync
//! points where a program may read what GL wrote. Only bytes the program changed go
//! back (the copy is compared with what the host last had), so GL's own writes into a
//! persistent map are never overwritten with stale bytes. It does not decide GL
//! errors; the host does.

use std::collections::HashMap;

use wire::codec::reply_body;
use wire::commands::*;

use crate::context::Context;
use crate::error::CallError;
use crate::link::{Forward, ReplyBuf};

pub(crate) const GL_MAP_WRITE_BIT: u32 = 0x0002;
pub(crate) const GL_MAP_FLUSH_EXPLICIT_BIT: u32 = 0x0010;
pub(crate) const GL_MAP_PERSISTENT_BIT: u32 = 0x0040;
const GL_BUFFER_MAP_POINTER: u32 = 0x88BD;

/// One mapped range: the program's copy, what the host's mapping held when the two
/// last agreed, and how it was mapped.
#[derive(Debug)]
pub(crate) struct Mapping {
    pub access: u32,
    pub copy: Vec<u8>,
    host: Vec<u8>,
    /// False while the host's bytes are unknown (a map that invalidated its range sends
    /// none back): then a write sends every byte of its range, zeros included.
    known: bool,
}

/// Unchanged bytes between two changed runs up to which the runs travel as one.
const RUN_GAP: usize = 64;

impl Mapping {
    fn has(&self, bits: u32) -> bool {
        self.access & bits == bits
    }

    /// Changes written back before commands that may read them (persistent maps).
    fn writes_back_eagerly(&self) -> bool {
        self.has(GL_MAP_PERSISTENT_BIT | GL_MAP_WRITE_BIT) && !self.has(GL_MAP_FLUSH_EXPLICIT_BIT)
    }

    /// The runs of bytes in `within` the program changed since the host last had them
    /// (all of `within` while the host's bytes are unknown).
    fn changed_runs(&self, within: std::ops::Range<usize>) -> Vec<std::ops::Range<usize>> {
        if !self.known {
            return if within.is_empty() { Vec::new() } else { vec![within] };
        }
        let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
        let (copy, host) = (&self.copy[within.clone()], &self.host[within.clone()]);
        let mut i = 0;
        while i < copy.len() {
            // Whole 64-byte blocks compare fast; the run is then narrowed to bytes.
            let block = (i + 64).min(copy.len());
            if copy[i..block] == host[i..block] {
                i = block;
                continue;
            }
            let start = i + copy[i..block].iter().zip(&host[i..block]).position(|(a, b)| a != b).unwrap_or(0);
            let mut end = start + 1;
            while end < copy.len()
                && (copy[end] != host[end]
                    || copy[end..(end + RUN_GAP).min(copy.len())] != host[end..(end + RUN_GAP).min(copy.len())])
            {
                end += 1;
            }
            let (s, e) = (within.start + start, within.start + end);
            match runs.last_mut() {
                Some(last) if s - last.end <= RUN_GAP => last.end = e,
                _ => runs.push(s..e),
            }
            i = end;
        }
        runs
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
        let (copy, known) = {
            let reply = self.call(&cmd)?;
            let body = reply_body(reply.as_bytes(), Opcode::MapBufferRange as u32)?;
            let Some(bytes) = MapBufferRangeReply::decode(body)?.ret else { return Ok(std::ptr::null_mut()) };
            let len = usize::try_from(length).map_err(|_| CallError::Protocol("a map of negative length".into()))?;
            if !bytes.is_empty() && bytes.len() != len {
                return Err(CallError::Protocol(format!("a map of {len} bytes came back with {}", bytes.len())));
            }
            // No bytes for a range of some: the map invalidated it.
            let known = bytes.len() == len;
            let mut copy = Vec::new();
            if copy.try_reserve_exact(len).is_ok() {
                copy.extend_from_slice(bytes);
                copy.resize(len, 0);
                (Some(copy), known)
            } else {
                (None, known)
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
        let host = copy.clone();
        self.mappings.insert(buffer, Mapping { access, copy, host, known });
        Ok(ptr)
    }

    /// `glMapBufferOES` (OES_mapbuffer): the whole buffer, for writing only (its one
    /// access, GL_WRITE_ONLY_OES), as a write map of every byte. One round trip asks
    /// for the buffer's size.
    pub fn map_buffer_oes(&mut self, target: u32, access: u32) -> Result<*mut u8, CallError> {
        const GL_WRITE_ONLY_OES: u32 = 0x88B9;
        const GL_BUFFER_SIZE: u32 = 0x8764;
        if access != GL_WRITE_ONLY_OES {
            return Err(CallError::INVALID_ENUM);
        }
        let query =
            Command::GetBufferParameteri64v(GetBufferParameteri64v { target, pname: GL_BUFFER_SIZE, params: Some(1) });
        let size = {
            let reply = self.call(&query)?;
            let body = reply_body(reply.as_bytes(), Opcode::GetBufferParameteri64v as u32)?;
            GetBufferParameteri64vReply::decode(body)?.params.and_then(|p| p.first().copied()).unwrap_or(0)
        };
        // A size of 0 (or no buffer bound) fails in the map, with GL's error.
        self.map_buffer_range(target, 0, size, GL_MAP_WRITE_BIT)
    }

    /// `glFlushMappedBufferRange`: sends the flushed bytes of an explicit-flush map.
    pub fn flush_mapped_buffer_range(&mut self, target: u32, offset: i64, length: i64) -> Result<(), CallError> {
        let buffer = self.bound_buffer(target);
        if let Some(mut m) = self.mappings.remove(&buffer) {
            let sent = match span(offset, length, m.copy.len()) {
                Some(r) if m.has(GL_MAP_WRITE_BIT | GL_MAP_FLUSH_EXPLICIT_BIT) => self.write_changes(buffer, &mut m, r),
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
        if let Some(mut m) = self.mappings.remove(&buffer) {
            if m.has(GL_MAP_WRITE_BIT) && !m.has(GL_MAP_FLUSH_EXPLICIT_BIT) {
                let all = 0..m.copy.len();
                self.write_changes(buffer, &mut m, all)?;
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
            if let Some(mut m) = self.mappings.remove(&buffer) {
                let all = 0..m.copy.len();
                let sent = self.write_changes(buffer, &mut m, all);
                self.mappings.insert(buffer, m);
                sent?;
            }
        }
        Ok(())
    }

    /// After a sync point: persistent maps take the host's bytes (the program's changes
    /// went to the host before the sync call). Write-only maps too: GL leaves reading
    /// them undefined, yet programs do, and natively see GL's writes. Uses its own reply
    /// buffer, so the sync call's reply survives.
    pub(crate) fn refresh_persistent(&mut self, aux: &mut ReplyBuf) -> Result<(), CallError> {
        let buffers: Vec<u32> =
            self.mappings.iter().filter(|(_, m)| m.has(GL_MAP_PERSISTENT_BIT)).map(|(b, _)| *b).collect();
        for buffer in buffers {
            let Some(len) = self.mappings.get(&buffer).map(|m| m.copy.len()) else { continue };
            let cap = u32::try_from(len).map_err(|_| CallError::OUT_OF_MEMORY)?;
            let cmd = WireReadMapped { buffer, offset: 0, size: len as i64, data: Some(cap) };
            self.round_trip_aux(&Command::WireReadMapped(cmd), aux)?;
            let body = reply_body(aux.as_bytes(), Opcode::WireReadMapped as u32)?;
            if let (Some(bytes), Some(m)) = (WireReadMappedReply::decode(body)?.data, self.mappings.get_mut(&buffer)) {
                let n = bytes.len().min(m.copy.len());
                m.copy[..n].copy_from_slice(&bytes[..n]);
                m.host[..n].copy_from_slice(&bytes[..n]);
                m.known |= n == m.copy.len();
            }
        }
        Ok(())
    }

    /// Sends the bytes of `within` the program changed into the host mapping of
    /// `buffer`; the host then has them.
    fn write_changes(&mut self, buffer: u32, m: &mut Mapping, within: std::ops::Range<usize>) -> Result<(), CallError> {
        let whole = within == (0..m.copy.len());
        for run in m.changed_runs(within) {
            let bytes = &m.copy[run.clone()];
            let cmd = WireWriteMapped { buffer, offset: run.start as i64, size: bytes.len() as i64, data: bytes };
            self.queue(&Command::WireWriteMapped(cmd))?;
            m.host[run.clone()].copy_from_slice(bytes);
        }
        // Sent whole, the host now has exactly the copy.
        m.known |= whole;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(host: &[u8]) -> Mapping {
        Mapping { access: GL_MAP_WRITE_BIT, copy: host.to_vec(), host: host.to_vec(), known: true }
    }

    /// After an invalidating map the host's bytes are unknown: zeros the program wrote
    /// must travel too.
    #[test]
    fn an_unknown_host_range_goes_whole() {
        let mut m = mapping(&[0; 100]);
        m.known = false;
        assert_eq!(m.changed_runs(0..100), vec![0..100]);
        assert_eq!(m.changed_runs(10..20), vec![10..20]);
        assert!(m.changed_runs(5..5).is_empty());
    }

    #[test]
    fn only_changed_bytes_go_back() {
        let mut m = mapping(&[0; 1000]);
        assert!(m.changed_runs(0..1000).is_empty());
        m.copy[10] = 1;
        m.copy[12] = 1;
        m.copy[500] = 2;
        m.copy[999] = 3;
        // 10 and 12 are within RUN_GAP of each other: one run.
        assert_eq!(m.changed_runs(0..1000), vec![10..13, 500..501, 999..1000]);
        assert_eq!(m.changed_runs(400..600), vec![500..501]);
    }

    #[test]
    fn a_change_at_a_block_edge_is_found() {
        let mut m = mapping(&[7; 200]);
        m.copy[63] = 0;
        m.copy[64] = 0;
        m.copy[199] = 0;
        assert_eq!(m.changed_runs(0..200), vec![63..65, 199..200]);
    }
}
