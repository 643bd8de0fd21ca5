//! Helpers shared by glwire's fuzz targets (`fuzz_targets/`): a cursor over the
//! fuzzer's bytes, the mock host the validator queries instead of host GL, and small
//! memfd helpers. Nothing here calls host GL or opens a socket.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{fcntl_add_seals, ftruncate, memfd_create, MemfdFlags, SealFlags};
use server::validate::HostQuery;
use wire::commands::Command;

/// Reads the fuzzer's bytes front to back; past the end everything reads as zero, so
/// a target never has to bail out on short input.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input { data, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    pub fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }

    /// Up to `n` bytes (fewer at the end).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let rest = self.rest();
        let take = n.min(rest.len());
        self.pos += take;
        &rest[..take]
    }

    pub fn u8(&mut self) -> u8 {
        self.bytes(1).first().copied().unwrap_or(0)
    }

    pub fn u16(&mut self) -> u16 {
        let mut b = [0u8; 2];
        let src = self.bytes(2);
        b[..src.len()].copy_from_slice(src);
        u16::from_le_bytes(b)
    }

    pub fn u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        let src = self.bytes(4);
        b[..src.len()].copy_from_slice(src);
        u32::from_le_bytes(b)
    }

    pub fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        let src = self.bytes(8);
        b[..src.len()].copy_from_slice(src);
        u64::from_le_bytes(b)
    }
}

// GL enums the mock host knows.
const GL_ARRAY_BUFFER: u32 = 0x8892;
const GL_ELEMENT_ARRAY_BUFFER: u32 = 0x8893;
const GL_PIXEL_PACK_BUFFER: u32 = 0x88EB;
const GL_PIXEL_UNPACK_BUFFER: u32 = 0x88EC;
const GL_DRAW_INDIRECT_BUFFER: u32 = 0x8F3F;
const GL_DISPATCH_INDIRECT_BUFFER: u32 = 0x90EE;
const GL_VERTEX_ATTRIB_ARRAY_ENABLED: u32 = 0x8622;
const GL_VERTEX_ATTRIB_ARRAY_BUFFER_BINDING: u32 = 0x889F;
const GL_UNPACK_ALIGNMENT: u32 = 0x0CF5;
const GL_PACK_ALIGNMENT: u32 = 0x0D05;
const GL_MAX_VERTEX_ATTRIBS: u32 = 0x8869;
const GL_MAX_UNIFORM_BLOCK_SIZE: u32 = 0x8A30;
const GL_MAX_VIEWPORTS: u32 = 0x825B;

/// Pixel-store pnames glPixelStorei sets.
const PIXEL_STORE: [u32; 10] = [0x0CF2, 0x0CF3, 0x0CF4, 0x0CF5, 0x806E, 0x806D, 0x0D02, 0x0D03, 0x0D04, 0x0D05];

/// Attribute slots the mock host has (`GL_MAX_VERTEX_ATTRIBS`).
pub const MOCK_ATTRIBS: usize = 16;

/// The binding pname of each target the mock host tracks: buffer targets, texture
/// targets, the renderbuffer.
fn binding_of(target: u32) -> Option<u32> {
    Some(match target {
        GL_ARRAY_BUFFER => 0x8894,
        GL_ELEMENT_ARRAY_BUFFER => 0x8895,
        GL_PIXEL_PACK_BUFFER => 0x88ED,
        GL_PIXEL_UNPACK_BUFFER => 0x88EF,
        GL_DRAW_INDIRECT_BUFFER => 0x8F43,
        GL_DISPATCH_INDIRECT_BUFFER => 0x90EF,
        0x8F36 => 0x8F36, // GL_COPY_READ_BUFFER
        0x8F37 => 0x8F37, // GL_COPY_WRITE_BUFFER
        0x8A11 => 0x8A28, // GL_UNIFORM_BUFFER
        0x8C8E => 0x8C8F, // GL_TRANSFORM_FEEDBACK_BUFFER
        0x90D2 => 0x90D3, // GL_SHADER_STORAGE_BUFFER
        0x92C0 => 0x92C1, // GL_ATOMIC_COUNTER_BUFFER
        0x8C2A => 0x8C2A, // GL_TEXTURE_BUFFER (the buffer binding)
        0x0DE1 => 0x8069, // GL_TEXTURE_2D
        0x806F => 0x806A, // GL_TEXTURE_3D
        0x8C1A => 0x8C1D, // GL_TEXTURE_2D_ARRAY
        0x8513 => 0x8514, // GL_TEXTURE_CUBE_MAP
        0x9009 => 0x900A, // GL_TEXTURE_CUBE_MAP_ARRAY
        0x9100 => 0x9104, // GL_TEXTURE_2D_MULTISAMPLE
        0x9102 => 0x9105, // GL_TEXTURE_2D_MULTISAMPLE_ARRAY
        0x8D41 => 0x8CA7, // GL_RENDERBUFFER
        _ => return None,
    })
}

/// A host that answers the validator's queries from state it keeps by watching the
/// commands the validator let through (bindings, buffer sizes, pixel store, vertex
/// attributes), like a GL context would, and plausible fixed values otherwise. No GL.
#[derive(Debug, Default)]
pub struct MockHost {
    /// Object (host name) bound at each binding pname.
    bound: HashMap<u32, u32>,
    /// Size of each buffer (host name) after glBufferData.
    sizes: HashMap<u32, i64>,
    store: HashMap<u32, i32>,
    enabled: [bool; MOCK_ATTRIBS],
    attrib_buffer: [u32; MOCK_ATTRIBS],
}

impl MockHost {
    /// Updates the state as the host would after running `cmd` (host names).
    pub fn executed(&mut self, cmd: &Command<'_>) {
        let mut bind = |target: u32, name: u32| {
            if let Some(pname) = binding_of(target) {
                self.bound.insert(pname, name);
            }
        };
        match *cmd {
            Command::BindBuffer(c) => bind(c.target, c.buffer),
            Command::BindTexture(c) => bind(c.target, c.texture),
            Command::BindRenderbuffer(c) => bind(c.target, c.renderbuffer),
            Command::BufferData(c) => {
                let name = binding_of(c.target).and_then(|p| self.bound.get(&p).copied()).unwrap_or(0);
                if name != 0 && c.size >= 0 {
                    self.sizes.insert(name, c.size);
                }
            }
            Command::PixelStorei(c) if PIXEL_STORE.contains(&c.pname) => {
                self.store.insert(c.pname, c.param);
            }
            Command::EnableVertexAttribArray(c) => {
                if let Some(e) = self.enabled.get_mut(c.index as usize) {
                    *e = true;
                }
            }
            Command::DisableVertexAttribArray(c) => {
                if let Some(e) = self.enabled.get_mut(c.index as usize) {
                    *e = false;
                }
            }
            Command::VertexAttribPointer(c) => self.point(c.index),
            Command::VertexAttribIPointer(c) => self.point(c.index),
            _ => {}
        }
    }

    fn point(&mut self, index: u32) {
        let buffer = self.integer(0x8894) as u32;
        if let Some(b) = self.attrib_buffer.get_mut(index as usize) {
            *b = buffer;
        }
    }
}

impl HostQuery for MockHost {
    fn integer(&mut self, pname: u32) -> i32 {
        if let Some(&name) = self.bound.get(&pname) {
            return name as i32;
        }
        if PIXEL_STORE.contains(&pname) {
            let default = if pname == GL_UNPACK_ALIGNMENT || pname == GL_PACK_ALIGNMENT { 4 } else { 0 };
            return self.store.get(&pname).copied().unwrap_or(default);
        }
        match pname {
            GL_MAX_VERTEX_ATTRIBS => MOCK_ATTRIBS as i32,
            GL_MAX_UNIFORM_BLOCK_SIZE => 16384,
            GL_MAX_VIEWPORTS => 16,
            // Nothing bound yet.
            0x8894 | 0x8895 | 0x88ED | 0x88EF | 0x8F43 | 0x90EF | 0x8F36 | 0x8F37 | 0x8A28 | 0x8C8F | 0x90D3
            | 0x92C1 | 0x8C2A | 0x8069 | 0x806A | 0x8C1D | 0x8514 | 0x900A | 0x9104 | 0x9105 | 0x8CA7 => 0,
            // Counts other pnames are sized by (GL_NUM_COMPRESSED_TEXTURE_FORMATS, …).
            _ => 4,
        }
    }

    fn buffer_size(&mut self, target: u32) -> i64 {
        let name = binding_of(target).and_then(|p| self.bound.get(&p).copied()).unwrap_or(0);
        self.sizes.get(&name).copied().unwrap_or(0)
    }

    fn vertex_attrib(&mut self, index: u32, pname: u32) -> i32 {
        let i = index as usize;
        match pname {
            GL_VERTEX_ATTRIB_ARRAY_ENABLED => self.enabled.get(i).copied().unwrap_or(false) as i32,
            GL_VERTEX_ATTRIB_ARRAY_BUFFER_BINDING => self.attrib_buffer.get(i).copied().unwrap_or(0) as i32,
            _ => 0,
        }
    }

    fn uniform_location(&mut self, program: u32, location: i32) -> Option<bool> {
        // Program 0 and unmapped names are no linked program; block members sit at
        // odd locations of this fake program.
        if program == 0 || program == server::names::NO_OBJECT {
            None
        } else {
            Some(location % 2 == 0)
        }
    }
}

/// A memfd of `len` bytes holding `contents` at offset 0 (cut to `len`), sealed
/// against shrink, grow and unsealing like the producers seal theirs when `sealed`.
pub fn memfd_with(contents: &[u8], len: u64, sealed: bool) -> OwnedFd {
    let fd = memfd_create("glwire-fuzz", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).expect("memfd_create");
    ftruncate(&fd, len).expect("ftruncate");
    let n = contents.len().min(usize::try_from(len).unwrap_or(usize::MAX));
    pwrite_all(&fd, &contents[..n], 0);
    if sealed {
        fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL).expect("seal");
    }
    fd
}

/// Writes `bytes` at `offset` of `fd` (a peer scribbling on shared memory: the write
/// lands in every mapping of the memfd at once). Bytes past the memfd's sealed end
/// are dropped.
pub fn pwrite_all(fd: &impl AsFd, mut bytes: &[u8], mut offset: u64) {
    while !bytes.is_empty() {
        match rustix::io::pwrite(fd, bytes, offset) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                bytes = &bytes[n..];
                offset += n as u64;
            }
        }
    }
}
