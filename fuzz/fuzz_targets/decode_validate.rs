//! The command stream as the server's context thread sees it: bytes from the client's
//! ring (or a `SubmitCommands` payload) decoded command by command until the first
//! error, each command then going through what `server::gles` does before host GL —
//! client names mapped to host names (`server::names::Names::rewrite`, with
//! `Command::with_name_list`), then `server::validate::Validator::check` against a mock
//! host, and storage charged to the session's quota (`server::quota`) — and what it
//! does after: a reply (random, from `wire`'s reply sampler, or the
//! empty one) renamed back to client names (`Names::reply_to_client`), fence ids and
//! new program names handed out. No host GL.
//!
//! Checked besides "no panic": every decoded command re-encodes to exactly the bytes
//! it was decoded from (the decoder promises one encoding per command), a synchronous
//! command's empty reply decodes as a reply to the same opcode, name lists keep their
//! length through the rewrite, and the validator's rewritten command still encodes.
//!
//! Input: the raw stream (what `fuzz/record` captures from real programs).
#![no_main]

use std::sync::Arc;

use bumpalo::Bump;
use glwire_fuzz::MockHost;
use libfuzzer_sys::fuzz_target;
use server::names::{After, Names, Rewrite, SharedNames};
use server::quota::SessionQuota;
use server::validate::HostQuery;
use server::validate::{Fixup, Validator, ValidatorLimits, Verdict};
use wire::codec::arbitrary::Entropy;
use wire::commands::{decode_command, decode_reply, empty_reply, sample, Command, Reply};
use wire::names::Namespace;
use wire::CommandBuf;

/// Most commands looked at per input: keeps one input's cost bounded.
const MAX_COMMANDS: usize = 4096;

fuzz_target!(|data: &[u8]| {
    // The server decodes from aligned memory (`CommandBuf`); so do we.
    let mut stream = CommandBuf::with_capacity(data.len());
    stream.extend_raw(data);
    run(stream.as_bytes());
});

fn run(stream: &[u8]) {
    // Objects and GL bytes are counted as `server::gles` counts them (against a quota
    // nothing exceeds: `SessionQuota`'s constructor with limits is still changing).
    let mut names = Names::new(SharedNames::default(), SessionQuota::unlimited());
    let mut validator = Validator::new(ValidatorLimits::default(), Arc::default(), Arc::default());
    let mut host = MockHost::default();
    let mut next_host_name = 0u32;
    let mut next_host_ptr = 0x1000u64;
    let mut scratch = CommandBuf::new();
    let mut rest = stream;
    for _ in 0..MAX_COMMANDS {
        if rest.is_empty() {
            break;
        }
        let Ok((cmd, next)) = decode_command(rest) else { break };
        let consumed = &rest[..rest.len() - next.len()];
        rest = next;

        // One encoding per command: decode → encode gives back the same bytes.
        scratch.clear();
        cmd.encode(&mut scratch).expect("a decoded command encodes");
        assert!(scratch.as_bytes() == consumed, "{:?} re-encodes differently", cmd.opcode());

        // The empty reply of a synchronous command is a reply to it.
        scratch.clear();
        let wrote = empty_reply(cmd.opcode(), &mut scratch).expect("empty reply encodes");
        assert_eq!(wrote, cmd.opcode().info().sync, "{:?}: empty_reply vs sync", cmd.opcode());
        if wrote {
            let (reply, after) = decode_reply(scratch.as_bytes()).expect("the empty reply decodes");
            assert!(after.is_empty());
            check_reply_opcode(&cmd, &reply);
        }

        if let Command::GetError(_) = cmd {
            validator.take_error();
            continue;
        }

        // Client names → host names (host names count up, as a GL host's do).
        let mut gen = |_: Namespace, out: &mut [u32]| {
            for name in out {
                next_host_name = next_host_name.wrapping_add(1).max(1);
                *name = next_host_name;
            }
            Ok::<(), server::ServerError>(())
        };
        let client_list = cmd.name_list().map(|(_, l)| l.len());
        let (named, list, after) = match names.rewrite(&cmd, &mut gen).expect("the mock host makes names") {
            Rewrite::Done | Rewrite::Error(_) => continue,
            Rewrite::Run { cmd, list, after } => (cmd, list, after),
        };
        if let Some(list) = &list {
            assert_eq!(Some(list.len()), client_list, "{:?}: name list length changed", cmd.opcode());
        }
        let named = match &list {
            Some(list) => named.with_name_list(list),
            None => named,
        };
        assert_eq!(named.opcode(), cmd.opcode());

        let (checked, fixup) = match validator.check(&mut host, &named) {
            Verdict::Skip { error } => {
                if error != 0 {
                    validator.record(error);
                }
                continue;
            }
            Verdict::Run(checked, fixup) => (checked, fixup),
        };
        assert_eq!(checked.opcode(), cmd.opcode());
        // Storage counts against the session's GL memory quota before the host makes it.
        if let Some(storage) = server::quota::storage(&checked) {
            let bound = host.integer(storage.binding) as u32;
            if !names.charge(&storage, bound) {
                validator.record(0x0505); // GL_OUT_OF_MEMORY
                continue;
            }
        }
        // The executor's input: what the validator let through still has a wire form.
        scratch.clear();
        let _ = checked.encode(&mut scratch);
        host.executed(&checked);

        // A reply as the host might give it, then the server's fix-ups on it.
        if !cmd.opcode().info().sync {
            continue;
        }
        let arena = Bump::new();
        let reply = sample::reply(cmd.opcode(), &mut Entropy::new(consumed), &arena);
        let Some(reply) = reply else { continue };
        match (after, reply) {
            (After::NewProgram, Reply::CreateProgram(r)) => {
                names.new_program(r.ret);
            }
            (After::NewProgram, Reply::CreateShader(r)) => {
                names.new_program(r.ret);
            }
            (After::NewProgram, Reply::CreateShaderProgramv(r)) => {
                names.new_program(r.ret);
            }
            (After::ClientNames, reply) => {
                scratch.clear();
                let mut object_type = || 0x1702; // GL_TEXTURE
                let renamed = names
                    .reply_to_client(&checked, reply, &mut object_type, &mut scratch)
                    .expect("a renamed reply encodes");
                if renamed {
                    let (back, _) = decode_reply(scratch.as_bytes()).expect("a renamed reply decodes");
                    check_reply_opcode(&cmd, &back);
                }
            }
            _ => {}
        }
        match fixup {
            Fixup::FenceId => {
                next_host_ptr += 0x40;
                validator.syncs().insert(next_host_ptr);
            }
            Fixup::SyncDeleted(id) => {
                validator.syncs().remove(id);
            }
            Fixup::None | Fixup::Trim(_) | Fixup::NoPointers(_) => {}
        }
    }
}

/// `reply` answers `cmd`: the same opcode, by the encoding's first word.
fn check_reply_opcode(cmd: &Command<'_>, reply: &Reply<'_>) {
    let mut buf = CommandBuf::new();
    reply.encode(&mut buf).expect("a decoded reply encodes");
    let op = u32::from_le_bytes(buf.as_bytes()[..4].try_into().unwrap());
    assert_eq!(op, cmd.opcode() as u32, "reply to {:?} carries opcode {op:#x}", cmd.opcode());
}
