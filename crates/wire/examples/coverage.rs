//! The coverage report (`cargo xtask coverage`): for every forwarded command, how its
//! pointers are sized (scalar, registry `len`, or hand rules) and whether it needs a
//! reply; then it round-trips random instances of each through the encoder and decoder
//! and counts the GLES commands that pass. The last line is `covered N/358`.

use bumpalo::Bump;
use wire::codec::arbitrary::Entropy;
use wire::commands::{
    decode_command, decode_reply, sample, Api, Opcode, Sizing, GLES_COMMANDS, GLES_EXTENSIONS, GLES_EXTENSION_COMMANDS,
};
use wire::CommandBuf;

/// Random instances tried per command.
const SAMPLES: u32 = 64;

/// Encodes and decodes `SAMPLES` random commands and replies; the first failure, if any.
fn roundtrip(op: Opcode) -> Result<(), String> {
    let mut buf = CommandBuf::new();
    for seed in 0..SAMPLES {
        // A cheap, deterministic spread of entropy per sample.
        let entropy: Vec<u8> =
            (0..256u32).map(|i| (i.wrapping_mul(2654435761) ^ seed.wrapping_mul(40503)).to_le_bytes()[1]).collect();
        let arena = Bump::new();
        let cmd = sample::command(op, &mut Entropy::new(&entropy), &arena);
        buf.clear();
        cmd.encode(&mut buf).map_err(|e| format!("encode: {e}"))?;
        let (back, _) = decode_command(buf.as_bytes()).map_err(|e| format!("decode: {e}"))?;
        if back != cmd {
            return Err(format!("decoded {back:?}, sent {cmd:?}"));
        }
        if let Some(reply) = sample::reply(op, &mut Entropy::new(&entropy), &arena) {
            buf.clear();
            reply.encode(&mut buf).map_err(|e| format!("encode reply: {e}"))?;
            let (back, _) = decode_reply(buf.as_bytes()).map_err(|e| format!("decode reply: {e}"))?;
            if back != reply {
                return Err(format!("reply decoded {back:?}, sent {reply:?}"));
            }
        }
    }
    Ok(())
}

fn main() {
    // GLES core, EGL, GLES extensions, glwire's own.
    let mut covered = [0usize; 4];
    let mut totals = [0usize; 4];
    let mut by_sizing = [0usize; 3];
    let mut sync = 0;
    println!("{:<8} {:<40} {:<8} {:<6} round-trip", "opcode", "command", "encoding", "reply");
    for api in [Api::Gles, Api::Egl] {
        for op in Opcode::ALL.into_iter().filter(|op| op.info().api == api) {
            let info = op.info();
            let result = roundtrip(op);
            let i = match (api, info.extension, info.private) {
                (Api::Egl, _, _) => 1,
                (Api::Gles, _, true) => 3,
                (Api::Gles, Some(_), false) => 2,
                (Api::Gles, None, false) => 0,
            };
            totals[i] += 1;
            covered[i] += result.is_ok() as usize;
            if i == 0 {
                by_sizing[info.sizing as usize] += 1;
                sync += info.sync as usize;
            }
            println!(
                "{:<#8x} {:<40} {:<8} {:<6} {}",
                op as u32,
                info.name,
                info.sizing.label(),
                if info.sync { "sync" } else { "async" },
                result.err().unwrap_or_else(|| "ok".to_owned())
            );
        }
    }
    println!();
    println!(
        "GLES core: {} scalar-only, {} sized from registry `len`, {} hand-sized; {} synchronous, {} asynchronous",
        by_sizing[Sizing::Scalar as usize],
        by_sizing[Sizing::Len as usize],
        by_sizing[Sizing::Hand as usize],
        sync,
        totals[0] - sync
    );
    println!("EGL functions with a wire layout: {} ({} round-trip)", totals[1], covered[1]);
    println!(
        "GLES extensions offered: {}; their commands not in core: {} ({} round-trip)",
        GLES_EXTENSIONS.len(),
        totals[2],
        covered[2]
    );
    println!("glwire's own commands: {} ({} round-trip)", totals[3], covered[3]);
    println!("covered {}/{}", covered[0], GLES_COMMANDS);
    if covered[0] != GLES_COMMANDS
        || covered[1] != totals[1]
        || totals[2] != GLES_EXTENSION_COMMANDS
        || covered[2] != totals[2]
    {
        std::process::exit(1);
    }
}
