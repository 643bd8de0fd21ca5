//! Client-side vertex arrays: GLES lets a program point a vertex attribute at its own
//! memory (no buffer bound, default vertex array) and reads it at draw time. The server
//! cannot read the program's memory, so at each draw the client copies the vertices the
//! draw uses into a scratch buffer object and points the attributes there, then draws.
//! It owns the shadow of those attribute pointers; reading the program's memory is the
//! ICD's (`ClientMemory`), since only it may touch raw pointers.

use std::sync::OnceLock;

use wire::codec::DataRef;
use wire::commands::{Command, VertexAttribIPointer, VertexAttribPointer};

/// Reads the program's memory at a pointer it gave GL (implemented by the ICD).
pub trait ClientMemory: Send + Sync {
    /// Copies `dst.len()` bytes from `addr`; false when `addr` is NULL.
    fn copy(&self, addr: u64, dst: &mut [u8]) -> bool;
}

static MEMORY: OnceLock<&'static dyn ClientMemory> = OnceLock::new();

/// Installs the reader of the program's memory (once, by the ICD).
pub fn set_client_memory(memory: &'static dyn ClientMemory) {
    let _ = MEMORY.set(memory);
}

/// Attributes tracked (GL ES guarantees at least 16; llvmpipe offers 16).
pub const MAX_ATTRIBS: usize = 16;

/// One attribute's pointer as the program set it.
#[derive(Debug, Clone, Copy, Default)]
struct Attrib {
    pointer: u64,
    size: i32,
    type_: u32,
    normalized: u8,
    stride: i32,
    integer: bool,
    /// Set while no buffer was bound: `pointer` is the program's memory.
    client: bool,
    enabled: bool,
    divisor: u32,
}

/// The client-memory attribute state of the default vertex array.
#[derive(Debug, Default)]
pub struct ClientArrays {
    attribs: [Attrib; MAX_ATTRIBS],
}

impl ClientArrays {
    /// Follows the attribute commands of the default vertex array (`array_buffer`: the
    /// buffer bound to GL_ARRAY_BUFFER when the command runs).
    pub fn shadow(&mut self, cmd: &Command<'_>, array_buffer: u32) {
        let slot = |i: u32| -> Option<usize> { ((i as usize) < MAX_ATTRIBS).then_some(i as usize) };
        match cmd {
            Command::VertexAttribPointer(c) => {
                if let Some(i) = slot(c.index) {
                    let a = &mut self.attribs[i];
                    *a = Attrib {
                        pointer: c.pointer,
                        size: c.size,
                        type_: c.type_,
                        normalized: c.normalized,
                        stride: c.stride,
                        integer: false,
                        client: array_buffer == 0,
                        ..*a
                    };
                }
            }
            Command::VertexAttribIPointer(c) => {
                if let Some(i) = slot(c.index) {
                    let a = &mut self.attribs[i];
                    *a = Attrib {
                        pointer: c.pointer,
                        size: c.size,
                        type_: c.type_,
                        normalized: 0,
                        stride: c.stride,
                        integer: true,
                        client: array_buffer == 0,
                        ..*a
                    };
                }
            }
            Command::EnableVertexAttribArray(c) => {
                if let Some(i) = slot(c.index) {
                    self.attribs[i].enabled = true;
                }
            }
            Command::DisableVertexAttribArray(c) => {
                if let Some(i) = slot(c.index) {
                    self.attribs[i].enabled = false;
                }
            }
            Command::VertexAttribDivisor(c) => {
                if let Some(i) = slot(c.index) {
                    self.attribs[i].divisor = c.divisor;
                }
            }
            _ => {}
        }
    }

    /// The program's pointer for attribute `index` when it points into the program's
    /// memory (the server only knows where glwire copied the vertices to).
    pub fn client_pointer(&self, index: u32) -> Option<u64> {
        self.attribs.get(index as usize).filter(|a| a.client).map(|a| a.pointer)
    }

    fn in_use(&self) -> bool {
        self.attribs.iter().any(|a| a.enabled && a.client)
    }

    /// Copies the vertices `draw` reads from the program's memory into `data` and
    /// returns the commands that point the client attributes at their place in a
    /// buffer holding `data`; `None` when the draw uses no client memory or its range
    /// cannot be known (the server then refuses the draw as GL_INVALID_OPERATION, as
    /// with a bad pointer).
    pub fn upload(&self, draw: &Command<'_>, data: &mut Vec<u8>) -> Option<Vec<Command<'static>>> {
        if !self.in_use() {
            return None;
        }
        let memory = *MEMORY.get()?;
        let (vertices, instances) = vertex_range(draw)?;
        data.clear();
        let mut rebinds = Vec::new();
        for (index, a) in self.attribs.iter().enumerate().filter(|(_, a)| a.enabled && a.client) {
            let count = if a.divisor == 0 { vertices } else { instances.div_ceil(a.divisor as usize) };
            let span = wire::sizes::vertex_array_span(a.size, a.type_, a.stride, 0, i32::try_from(count).ok()?).ok()?;
            let offset = data.len().next_multiple_of(8);
            data.resize(offset + span, 0);
            if span > 0 && !memory.copy(a.pointer, &mut data[offset..]) {
                return None;
            }
            let (index, offset) = (index as u32, offset as u64);
            rebinds.push(if a.integer {
                Command::VertexAttribIPointer(VertexAttribIPointer {
                    index,
                    size: a.size,
                    type_: a.type_,
                    stride: a.stride,
                    pointer: offset,
                })
            } else {
                Command::VertexAttribPointer(VertexAttribPointer {
                    index,
                    size: a.size,
                    type_: a.type_,
                    normalized: a.normalized,
                    stride: a.stride,
                    pointer: offset,
                })
            });
        }
        Some(rebinds)
    }
}

/// Vertices (from 0) and instances a draw reads, when they can be known.
fn vertex_range(draw: &Command<'_>) -> Option<(usize, usize)> {
    let n = |v: i32| usize::try_from(v).ok();
    match draw {
        Command::DrawArrays(c) => Some((n(c.first)?.checked_add(n(c.count)?)?, 1)),
        Command::DrawArraysInstanced(c) => Some((n(c.first)?.checked_add(n(c.count)?)?, n(c.instancecount)?)),
        Command::DrawElements(c) => Some((max_index(&c.indices, c.type_, c.count)?, 1)),
        Command::DrawElementsInstanced(c) => Some((max_index(&c.indices, c.type_, c.count)?, n(c.instancecount)?)),
        Command::DrawRangeElements(c) => Some(((c.end as usize).checked_add(1)?, 1)),
        _ => None,
    }
}

/// One past the largest index of client-memory indices (indices in a buffer object
/// cannot be read here).
fn max_index(indices: &DataRef<'_>, type_: u32, count: i32) -> Option<usize> {
    let DataRef::Inline(bytes) = indices else { return None };
    let size = wire::sizes::index_size(type_).ok()?;
    let count = usize::try_from(count).ok()?;
    let max = bytes
        .chunks_exact(size)
        .take(count)
        .map(|b| match *b {
            [x] => u32::from(x),
            [x, y] => u32::from(u16::from_le_bytes([x, y])),
            [x, y, z, w] => u32::from_le_bytes([x, y, z, w]),
            _ => 0,
        })
        .max()?;
    (max as usize).checked_add(1)
}

/// True for the draw commands that read vertex attributes.
pub fn is_draw(cmd: &Command<'_>) -> bool {
    matches!(
        cmd,
        Command::DrawArrays(_)
            | Command::DrawArraysInstanced(_)
            | Command::DrawElements(_)
            | Command::DrawElementsInstanced(_)
            | Command::DrawRangeElements(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::commands::{DrawArrays, EnableVertexAttribArray};

    struct Fake;
    impl ClientMemory for Fake {
        fn copy(&self, addr: u64, dst: &mut [u8]) -> bool {
            dst.iter_mut().enumerate().for_each(|(i, b)| *b = (addr as usize + i) as u8);
            addr != 0
        }
    }

    #[test]
    fn a_draw_from_client_memory_uploads_what_it_reads() {
        set_client_memory(&Fake);
        let mut arrays = ClientArrays::default();
        let ptr = Command::VertexAttribPointer(VertexAttribPointer {
            index: 1,
            size: 2,
            type_: 0x1406,
            normalized: 0,
            stride: 0,
            pointer: 0x1000,
        });
        arrays.shadow(&ptr, 0);
        let draw = Command::DrawArrays(DrawArrays { mode: 4, first: 1, count: 3 });
        let mut data = Vec::new();
        assert!(arrays.upload(&draw, &mut data).is_none(), "not enabled: nothing to upload");
        arrays.shadow(&Command::EnableVertexAttribArray(EnableVertexAttribArray { index: 1 }), 0);
        let cmds = arrays.upload(&draw, &mut data).unwrap();
        assert_eq!(data.len(), 4 * 2 * 4, "vertices 0..4 of two floats");
        assert_eq!(&data[..3], &[0x00, 0x01, 0x02], "copied from the program's pointer");
        assert!(matches!(cmds[0], Command::VertexAttribPointer(VertexAttribPointer { index: 1, pointer: 0, .. })));
        // With a buffer bound when the pointer was set, it is an offset: no upload.
        arrays.shadow(&ptr, 5);
        assert!(arrays.upload(&draw, &mut data).is_none());
    }

    #[test]
    fn indices_in_client_memory_give_the_range() {
        let idx = [0u8, 0, 7, 0, 3, 0];
        assert_eq!(max_index(&DataRef::Inline(&idx), 0x1403, 3), Some(8));
        assert_eq!(max_index(&DataRef::Offset(0), 0x1403, 3), None);
    }
}
