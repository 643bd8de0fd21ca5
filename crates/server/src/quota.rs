//! Per-session quotas on what a client makes the host hold: object names (every
//! namespace together), GL memory (buffers, textures, renderbuffers and surfaces, by
//! their estimated size) and shared memory (command rings and frame rings). A request
//! past a quota is `GL_OUT_OF_MEMORY` (or a `LimitExceeded` control reply), as a driver
//! out of memory would answer, and never reaches the host; the session goes on.
//!
//! Storage a container keeps alive after its name is deleted (a vertex array still
//! using a deleted buffer) is given back to the session's count at the delete; behind
//! the per-session counts stands a server-wide guard: no allocation is made while the
//! server's resident memory is past `max_server_bytes`, whoever asks.
//!
//! The counters are the session's stats (`objects`, `gl_bytes`, `shm_bytes`), so
//! `QueryStats` reads what the quota counts; every refusal here is counted in its
//! `quota_refusals` (the metrics endpoint's). This module owns the sums and the size
//! estimates of storage commands; which object a command's storage belongs to, and
//! when objects go, is `names`' business (it keeps each object's charge with its name).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use wire::commands::Command;
use wire::names::Namespace;

use crate::stats::SessionStats;

/// The session's quota and its counters.
#[derive(Debug)]
pub struct SessionQuota {
    max_objects: u64,
    max_gl_bytes: u64,
    max_shm_bytes: u64,
    /// The server-wide guard: resident bytes of the whole server past which nothing is
    /// allocated for anyone.
    max_server_bytes: u64,
    stats: Arc<SessionStats>,
}

/// What a session may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_objects: u64,
    pub max_gl_bytes: u64,
    pub max_shm_bytes: u64,
    pub max_server_bytes: u64,
}

impl Limits {
    pub const UNLIMITED: Limits =
        Limits { max_objects: u64::MAX, max_gl_bytes: u64::MAX, max_shm_bytes: u64::MAX, max_server_bytes: u64::MAX };
}

impl SessionQuota {
    pub fn new(limits: Limits, stats: Arc<SessionStats>) -> Arc<Self> {
        Arc::new(SessionQuota {
            max_objects: limits.max_objects,
            max_gl_bytes: limits.max_gl_bytes,
            max_shm_bytes: limits.max_shm_bytes,
            max_server_bytes: limits.max_server_bytes,
            stats,
        })
    }

    /// A quota nothing exceeds, for executors outside a session (tests, tools).
    pub fn unlimited() -> Arc<Self> {
        Self::new(Limits::UNLIMITED, Arc::default())
    }

    /// Maps `n` more bytes of shared memory; false (nothing counted) past the quota.
    pub fn add_shm(&self, n: u64) -> bool {
        self.counted(add_within(&self.stats.shm_bytes, n, self.max_shm_bytes))
    }

    pub fn remove_shm(&self, n: u64) {
        sub(&self.stats.shm_bytes, n);
    }

    /// True while the server as a whole may still allocate (its resident memory is
    /// under the server-wide guard).
    pub fn server_has_room(&self) -> bool {
        self.max_server_bytes == u64::MAX || resident_bytes().is_none_or(|rss| rss < self.max_server_bytes)
    }

    /// Counts `n` more objects; false (nothing counted) past the quota.
    pub fn add_objects(&self, n: u64) -> bool {
        self.counted(add_within(&self.stats.objects, n, self.max_objects))
    }

    pub fn remove_objects(&self, n: u64) {
        sub(&self.stats.objects, n);
    }

    /// Moves an object's charge from `old` to `new` bytes; false (nothing changed) when
    /// the growth would pass the quota or the server-wide guard.
    pub fn recharge(&self, old: u64, new: u64) -> bool {
        if new > old {
            self.counted(self.server_has_room() && add_within(&self.stats.gl_bytes, new - old, self.max_gl_bytes))
        } else {
            sub(&self.stats.gl_bytes, old - new);
            true
        }
    }
}

impl SessionQuota {
    /// Passes `allowed` through, counting a refusal in the session's stats (the
    /// metrics' `glwire_quota_refusals_total`).
    fn counted(&self, allowed: bool) -> bool {
        if !allowed {
            SessionStats::add(&self.stats.quota_refusals, 1);
        }
        allowed
    }

    /// The session's counters, for whoever raises errors on its behalf.
    pub fn stats(&self) -> &Arc<SessionStats> {
        &self.stats
    }
}

/// The server process's resident memory (`/proc/self/statm`), when it can be read.
pub(crate) fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages.saturating_mul(rustix::param::page_size() as u64))
}

/// The default server-wide guard: three quarters of the machine's memory.
pub fn default_max_server_bytes() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let total_kib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok());
    total_kib.map_or(u64::MAX, |kib| kib.saturating_mul(1024) / 4 * 3)
}

fn add_within(counter: &std::sync::atomic::AtomicU64, n: u64, max: u64) -> bool {
    counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_add(n).filter(|&t| t <= max)).is_ok()
}

fn sub(counter: &std::sync::atomic::AtomicU64, n: u64) {
    let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| Some(v.saturating_sub(n)));
}

/// Which part of an object a storage command sizes: a texture level and face (or
/// layer set), or the whole object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// A buffer's or renderbuffer's store, or every level of immutable texture storage.
    Whole,
    /// One mip level of one cube face (0 for other targets).
    Level { level: u32, face: u32 },
}

/// The storage a command gives the object bound at a target: what to charge to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Storage {
    pub namespace: Namespace,
    /// The glGet pname that names the object bound at the command's target.
    pub binding: u32,
    pub part: Part,
    pub bytes: u64,
    /// Sizes the host limits (`(GL_MAX_* pname, size asked)`, pname 0 for none): past
    /// one, the host refuses the command with GL_INVALID_VALUE, which must win over
    /// the quota's GL_OUT_OF_MEMORY, so nothing is charged.
    pub within: [(u32, u64); 2],
}

/// The storage `cmd` (already validated) would make the host allocate; `None` for a
/// command that allocates none.
pub fn storage(cmd: &Command<'_>) -> Option<Storage> {
    let u = |v: i32| u64::try_from(v).unwrap_or(0);
    let level = |target: u32, level: i32| Part::Level { level: u32::try_from(level).unwrap_or(0), face: face(target) };
    let texture = |target: u32, part: Part, bytes: u64, width: i32, depth: Option<i32>| {
        let side = if matches!(target, GL_TEXTURE_CUBE_MAP | 0x8515..=0x851A | 0x9009) {
            GL_MAX_CUBE_MAP_TEXTURE_SIZE
        } else if target == GL_TEXTURE_3D {
            GL_MAX_3D_TEXTURE_SIZE
        } else {
            GL_MAX_TEXTURE_SIZE
        };
        let layers = match (target, depth) {
            (GL_TEXTURE_3D, Some(d)) => (GL_MAX_3D_TEXTURE_SIZE, u(d)),
            (_, Some(d)) => (GL_MAX_ARRAY_TEXTURE_LAYERS, u(d)),
            (_, None) => (0, 0),
        };
        let within = [(side, u(width)), layers];
        Some(Storage { namespace: Namespace::Texture, binding: texture_binding(target)?, part, bytes, within })
    };
    match *cmd {
        Command::BufferData(c) => buffer(c.target, u64::try_from(c.size).unwrap_or(0)),
        Command::BufferStorageEXT(c) => buffer(c.target, u64::try_from(c.size).unwrap_or(0)),
        Command::TexImage2D(c) => {
            let texel = pixel_bytes(c.format, c.type_, c.internalformat as u32);
            let bytes = area(&[u(c.width), u(c.height), texel]);
            texture(c.target, level(c.target, c.level), bytes, c.width.max(c.height), None)
        }
        Command::TexImage3D(c) => {
            let texel = pixel_bytes(c.format, c.type_, c.internalformat as u32);
            let bytes = area(&[u(c.width), u(c.height), u(c.depth), texel]);
            texture(c.target, level(c.target, c.level), bytes, c.width.max(c.height), Some(c.depth))
        }
        Command::CompressedTexImage2D(c) => {
            texture(c.target, level(c.target, c.level), u(c.image_size), c.width.max(c.height), None)
        }
        Command::CompressedTexImage3D(c) => {
            texture(c.target, level(c.target, c.level), u(c.image_size), c.width.max(c.height), Some(c.depth))
        }
        Command::CopyTexImage2D(c) => {
            let bytes = area(&[u(c.width), u(c.height), format_bytes(c.internalformat)]);
            texture(c.target, level(c.target, c.level), bytes, c.width.max(c.height), None)
        }
        Command::TexStorage2D(c) => {
            let faces = if c.target == GL_TEXTURE_CUBE_MAP { 6 } else { 1 };
            let bytes = mip_chain(u(c.levels), u(c.width), u(c.height), 1, false, format_bytes(c.internalformat));
            texture(c.target, Part::Whole, bytes.saturating_mul(faces), c.width.max(c.height), None)
        }
        Command::TexStorage3D(c) => {
            // A 3D texture's depth halves with each level; an array's layer count does not.
            let halves = c.target == GL_TEXTURE_3D;
            let texel = format_bytes(c.internalformat);
            let bytes = mip_chain(u(c.levels), u(c.width), u(c.height), u(c.depth), halves, texel);
            texture(c.target, Part::Whole, bytes, c.width.max(c.height), Some(c.depth))
        }
        Command::TexStorage2DMultisample(c) => {
            let bytes = area(&[u(c.width), u(c.height), u(c.samples).max(1), format_bytes(c.internalformat)]);
            texture(c.target, Part::Whole, bytes, c.width.max(c.height), None)
        }
        Command::TexStorage3DMultisample(c) => {
            let texel = format_bytes(c.internalformat);
            let bytes = area(&[u(c.width), u(c.height), u(c.depth), u(c.samples).max(1), texel]);
            texture(c.target, Part::Whole, bytes, c.width.max(c.height), Some(c.depth))
        }
        Command::RenderbufferStorage(c) => {
            renderbuffer(area(&[u(c.width), u(c.height), format_bytes(c.internalformat)]), u(c.width.max(c.height)))
        }
        Command::RenderbufferStorageMultisample(c) => {
            let bytes = area(&[u(c.width), u(c.height), u(c.samples).max(1), format_bytes(c.internalformat)]);
            renderbuffer(bytes, u(c.width.max(c.height)))
        }
        _ => None,
    }
}

const GL_TEXTURE_3D: u32 = 0x806F;
const GL_TEXTURE_CUBE_MAP: u32 = 0x8513;
const GL_TEXTURE_CUBE_MAP_POSITIVE_X: u32 = 0x8515;
const GL_RENDERBUFFER_BINDING: u32 = 0x8CA7;
const GL_MAX_TEXTURE_SIZE: u32 = 0x0D33;
const GL_MAX_CUBE_MAP_TEXTURE_SIZE: u32 = 0x851C;
const GL_MAX_3D_TEXTURE_SIZE: u32 = 0x8073;
const GL_MAX_ARRAY_TEXTURE_LAYERS: u32 = 0x88FF;
const GL_MAX_RENDERBUFFER_SIZE: u32 = 0x84E8;

fn buffer(target: u32, bytes: u64) -> Option<Storage> {
    let binding = match target {
        0x8892 => 0x8894, // GL_ARRAY_BUFFER
        0x8893 => 0x8895, // GL_ELEMENT_ARRAY_BUFFER
        0x88EB => 0x88ED, // GL_PIXEL_PACK_BUFFER
        0x88EC => 0x88EF, // GL_PIXEL_UNPACK_BUFFER
        0x8C8E => 0x8C8F, // GL_TRANSFORM_FEEDBACK_BUFFER
        0x8A11 => 0x8A28, // GL_UNIFORM_BUFFER
        0x90D2 => 0x90D3, // GL_SHADER_STORAGE_BUFFER
        0x92C0 => 0x92C1, // GL_ATOMIC_COUNTER_BUFFER
        0x90EE => 0x90EF, // GL_DISPATCH_INDIRECT_BUFFER
        0x8F3F => 0x8F43, // GL_DRAW_INDIRECT_BUFFER
        // GL_COPY_READ_BUFFER, GL_COPY_WRITE_BUFFER, GL_TEXTURE_BUFFER: the binding
        // pname is the target's own value.
        0x8F36 | 0x8F37 | 0x8C2A => target,
        _ => return None,
    };
    Some(Storage { namespace: Namespace::Buffer, binding, part: Part::Whole, bytes, within: [(0, 0); 2] })
}

fn renderbuffer(bytes: u64, side: u64) -> Option<Storage> {
    Some(Storage {
        namespace: Namespace::Renderbuffer,
        binding: GL_RENDERBUFFER_BINDING,
        part: Part::Whole,
        bytes,
        within: [(GL_MAX_RENDERBUFFER_SIZE, side), (0, 0)],
    })
}

/// The binding pname of a texture target (each cube face's is the cube map's).
fn texture_binding(target: u32) -> Option<u32> {
    Some(match target {
        0x0DE1 => 0x8069,        // GL_TEXTURE_2D
        GL_TEXTURE_3D => 0x806A, // GL_TEXTURE_3D
        0x8C1A => 0x8C1D,        // GL_TEXTURE_2D_ARRAY
        GL_TEXTURE_CUBE_MAP | 0x8515..=0x851A => 0x8514,
        0x9009 => 0x900A, // GL_TEXTURE_CUBE_MAP_ARRAY
        0x9100 => 0x9104, // GL_TEXTURE_2D_MULTISAMPLE
        0x9102 => 0x9105, // GL_TEXTURE_2D_MULTISAMPLE_ARRAY
        0x8D65 => 0x8D67, // GL_TEXTURE_EXTERNAL_OES
        _ => return None,
    })
}

fn face(target: u32) -> u32 {
    target.checked_sub(GL_TEXTURE_CUBE_MAP_POSITIVE_X).filter(|&f| f < 6).unwrap_or(0)
}

fn area(factors: &[u64]) -> u64 {
    factors.iter().fold(1u64, |a, &f| a.saturating_mul(f))
}

/// Bytes of `levels` mip levels of a `width` x `height` x `depth` image.
fn mip_chain(levels: u64, width: u64, height: u64, depth: u64, depth_halves: bool, texel: u64) -> u64 {
    let mut total = 0u64;
    let (mut w, mut h, mut d) = (width, height, depth);
    // Storage has at most log2(largest side) + 1 levels; the host refuses more.
    for _ in 0..levels.min(64) {
        total = total.saturating_add(area(&[w.max(1), h.max(1), d.max(1), texel]));
        (w, h) = (w / 2, h / 2);
        if depth_halves {
            d /= 2;
        }
    }
    total
}

/// Bytes of a texel given as `format`/`type` (TexImage), or by its internal format when
/// that pair is not one the sizing rules know.
fn pixel_bytes(format: u32, type_: u32, internalformat: u32) -> u64 {
    match wire::sizes::bytes_per_pixel(format, type_) {
        Ok(b) => b as u64,
        Err(_) => format_bytes(internalformat),
    }
}

/// Bytes per texel of a sized internal format (GLES 3.2 tables 8.10 and 8.13), 4 for
/// the unsized and unknown ones; compressed formats are charged a byte per texel, more
/// than any of them takes.
fn format_bytes(internalformat: u32) -> u64 {
    match internalformat {
        // R8, R8_SNORM, R8I, R8UI, STENCIL_INDEX8, ALPHA, LUMINANCE
        0x8229 | 0x8F94 | 0x8231 | 0x8232 | 0x8D48 | 0x1906 | 0x1909 => 1,
        // RG8*, R16F, R16I, R16UI, RGB565, RGBA4, RGB5_A1, DEPTH_COMPONENT16, LUMINANCE_ALPHA
        0x822B | 0x8F95 | 0x8237 | 0x8238 | 0x822D | 0x8233 | 0x8234 | 0x8D62 | 0x8056 | 0x8057 | 0x81A5 | 0x190A => 2,
        // RGB8, SRGB8, RGB8_SNORM, RGB8I, RGB8UI
        0x8051 | 0x8C41 | 0x8F96 | 0x8D8F | 0x8D7D => 3,
        // RG16F, RG16I, RG16UI, R32F, R32I, R32UI, RGB16F (padded), RG32F..: 8 and up below
        0x822F | 0x8239 | 0x823A | 0x822E | 0x8235 | 0x8236 => 4,
        // RGBA16F, RGBA16I, RGBA16UI, RG32F, RG32I, RG32UI, RGB16F, RGB16I, RGB16UI,
        // DEPTH32F_STENCIL8
        0x881A | 0x8D88 | 0x8D76 | 0x8230 | 0x823B | 0x823C | 0x881B | 0x8D89 | 0x8D77 | 0x8CAD => 8,
        // RGB32F, RGB32I, RGB32UI
        0x8815 | 0x8D83 | 0x8D71 => 12,
        // RGBA32F, RGBA32I, RGBA32UI
        0x8814 | 0x8D82 | 0x8D70 => 16,
        // Compressed formats (ETC2/EAC 0x9270..0x9279, ASTC 0x93B0..0x93DD): at most a
        // byte per texel.
        0x9270..=0x9279 | 0x93B0..=0x93DD => 1,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::commands::{BufferData, RenderbufferStorage, TexImage2D, TexStorage2D, TexStorage3D};

    #[test]
    fn quotas_refuse_growth_past_the_limit_and_release() {
        let limits = Limits { max_objects: 2, max_gl_bytes: 100, max_shm_bytes: 10, max_server_bytes: u64::MAX };
        let q = SessionQuota::new(limits, Arc::default());
        assert!(q.add_shm(10));
        assert!(!q.add_shm(1));
        q.remove_shm(4);
        assert!(q.add_shm(4));
        assert!(q.add_objects(2));
        assert!(!q.add_objects(1));
        q.remove_objects(1);
        assert!(q.add_objects(1));
        assert!(q.recharge(0, 100));
        assert!(!q.recharge(0, 1));
        assert!(q.recharge(100, 40));
        assert!(q.recharge(0, 60));
        assert_eq!(q.stats.gl_bytes.load(Ordering::Relaxed), 100);
        // Each refusal counted once; shrinking and the successes not at all.
        assert_eq!(q.stats().quota_refusals.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn storage_commands_are_sized() {
        let data = Command::BufferData(BufferData { target: 0x8892, size: 1 << 20, data: None, usage: 0x88E4 });
        assert_eq!(
            storage(&data),
            Some(Storage {
                namespace: Namespace::Buffer,
                binding: 0x8894,
                part: Part::Whole,
                bytes: 1 << 20,
                within: [(0, 0); 2]
            })
        );
        let face = Command::TexImage2D(TexImage2D {
            target: 0x8517, // GL_TEXTURE_CUBE_MAP_POSITIVE_Y
            level: 2,
            internalformat: 0x1908,
            width: 16,
            height: 16,
            border: 0,
            format: 0x1908,
            type_: 0x1406, // GL_FLOAT: 16 bytes a texel
            pixels: wire::codec::DataRef::Null,
        });
        let s = storage(&face).unwrap();
        assert_eq!((s.binding, s.part, s.bytes), (0x8514, Part::Level { level: 2, face: 2 }, 16 * 16 * 16));
        // 64x64 RGBA8, 7 levels: 4 * (4096 + 1024 + 256 + 64 + 16 + 4 + 1), six faces.
        let cube = Command::TexStorage2D(TexStorage2D {
            target: GL_TEXTURE_CUBE_MAP,
            levels: 7,
            internalformat: 0x8058,
            width: 64,
            height: 64,
        });
        assert_eq!(storage(&cube).unwrap().bytes, 6 * 4 * 5461);
        let array = Command::TexStorage3D(TexStorage3D {
            target: 0x8C1A,
            levels: 2,
            internalformat: 0x8229,
            width: 4,
            height: 4,
            depth: 10,
        });
        assert_eq!(storage(&array).unwrap().bytes, 16 * 10 + 4 * 10);
        let rb = Command::RenderbufferStorage(RenderbufferStorage {
            target: 0x8D41,
            internalformat: 0x8814,
            width: 1 << 16,
            height: 1 << 16,
        });
        assert_eq!(storage(&rb).unwrap().bytes, 16 << 32);
    }
}
