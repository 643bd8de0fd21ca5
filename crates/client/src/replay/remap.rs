//! Rewriting a recorded stream with this server's values where they differ from the
//! recording server's: program and shader names and sync ids (per share group), EGLImage
//! handles (per session). Only a stream that carries a differing value is decoded; the
//! rest go out as recorded. It does not learn the values (`replay` does).

use std::collections::HashMap;

use wire::commands::{decode_command, Command};
use wire::names::Namespace;
use wire::CommandBuf;

/// Recorded values to this server's, for the values that differ (an empty map:
/// nothing to rewrite).
#[derive(Debug, Default)]
pub(super) struct Remap {
    pub programs: HashMap<u32, u32>,
    pub syncs: HashMap<u64, u64>,
}

/// Rewrites `stream` with this server's values into `out`.
pub(super) fn rewrite_stream(
    stream: &[u8],
    remap: &Remap,
    images: &HashMap<u64, u64>,
    out: &mut CommandBuf,
) -> Result<(), String> {
    let mut rest = stream;
    while !rest.is_empty() {
        let (cmd, tail) = decode_command(rest).map_err(|e| e.to_string())?;
        let mut cmd = cmd;
        remap_command(&mut cmd, remap, images);
        let list: Vec<u32>;
        let cmd = match cmd.name_list() {
            Some((Namespace::Program, names)) if !remap.programs.is_empty() => {
                list = names.iter().map(|n| remap.programs.get(n).copied().unwrap_or(*n)).collect();
                cmd.with_name_list(&list)
            }
            _ => cmd,
        };
        cmd.encode(out).map_err(|e| e.to_string())?;
        rest = tail;
    }
    Ok(())
}

/// Program and shader names, sync ids and image handles of one command.
fn remap_command(cmd: &mut Command<'_>, remap: &Remap, images: &HashMap<u64, u64>) {
    const GL_SHADER: u32 = 0x82E1;
    const GL_PROGRAM: u32 = 0x82E2;
    const GL_PROGRAM_OBJECT_EXT: u32 = 0x8B40;
    const GL_SHADER_OBJECT_EXT: u32 = 0x8B48;
    let program = |n: &mut u32| {
        if let Some(&new) = remap.programs.get(n) {
            *n = new;
        }
    };
    let sync = |s: &mut u64| {
        if let Some(&new) = remap.syncs.get(s) {
            *s = new;
        }
    };
    let image = |i: &mut u64| {
        if let Some(&new) = images.get(i) {
            *i = new;
        }
    };
    match cmd {
        Command::IsSync(c) => sync(&mut c.sync),
        Command::DeleteSync(c) => sync(&mut c.sync),
        Command::ClientWaitSync(c) => sync(&mut c.sync),
        Command::WaitSync(c) => sync(&mut c.sync),
        Command::GetSynciv(c) => sync(&mut c.sync),
        Command::ObjectPtrLabel(c) => sync(&mut c.ptr),
        Command::GetObjectPtrLabel(c) => sync(&mut c.ptr),
        Command::EGLImageTargetTexture2DOES(c) => image(&mut c.image),
        Command::EGLImageTargetRenderbufferStorageOES(c) => image(&mut c.image),
        Command::EGLImageTargetTexStorageEXT(c) => image(&mut c.image),
        Command::EGLImageTargetTextureStorageEXT(c) => image(&mut c.image),
        Command::ObjectLabel(c) if matches!(c.identifier, GL_SHADER | GL_PROGRAM) => program(&mut c.name),
        Command::GetObjectLabel(c) if matches!(c.identifier, GL_SHADER | GL_PROGRAM) => program(&mut c.name),
        Command::LabelObjectEXT(c) if matches!(c.type_, GL_PROGRAM_OBJECT_EXT | GL_SHADER_OBJECT_EXT) => {
            program(&mut c.object)
        }
        _ => {}
    }
    for (ns, name) in cmd.names_mut().into_iter().flatten() {
        if ns == Namespace::Program {
            program(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::tests::encode;
    use wire::commands::{AttachShader, BindBuffer, DeleteSync, EGLImageTargetTexture2DOES, UseProgram};

    #[test]
    fn rewriting_maps_programs_syncs_and_images_only() {
        let stream = encode(&[
            Command::AttachShader(AttachShader { program: 1, shader: 2 }),
            Command::UseProgram(UseProgram { program: 3 }),
            Command::DeleteSync(DeleteSync { sync: 5 }),
            Command::EGLImageTargetTexture2DOES(EGLImageTargetTexture2DOES { target: 0x0DE1, image: 7 }),
            Command::BindBuffer(BindBuffer { target: 0x8892, buffer: 1 }),
        ]);
        let mut remap = Remap::default();
        remap.programs.insert(1, 10);
        remap.programs.insert(2, 20);
        remap.syncs.insert(5, 50);
        let images = HashMap::from([(7, 70)]);
        let mut out = CommandBuf::new();
        rewrite_stream(stream.as_bytes(), &remap, &images, &mut out).unwrap();
        let want = encode(&[
            Command::AttachShader(AttachShader { program: 10, shader: 20 }),
            Command::UseProgram(UseProgram { program: 3 }),
            Command::DeleteSync(DeleteSync { sync: 50 }),
            Command::EGLImageTargetTexture2DOES(EGLImageTargetTexture2DOES { target: 0x0DE1, image: 70 }),
            Command::BindBuffer(BindBuffer { target: 0x8892, buffer: 1 }),
        ]);
        assert_eq!(out.as_bytes(), want.as_bytes(), "buffer 1 is a buffer, not program 1");
    }
}
