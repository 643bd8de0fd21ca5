//! Name → entry point lookup, what libglvnd's `getProcAddress` asks for every `gl*`
//! name it knows (3353 of them) on the first make-current: a binary search over the
//! generated, sorted name table.

use core::ffi::c_void;

#[cfg(test)]
use crate::generated::ALIASES;
use crate::generated::{entry_point, NAMES};

/// The entry point for `name`, or NULL when glwire does not implement it.
pub fn proc_address(name: &[u8]) -> *const c_void {
    match NAMES.binary_search_by(|n| n.as_bytes().cmp(name)) {
        Ok(i) => entry_point(i),
        Err(_) => core::ptr::null(),
    }
}

/// How many entry points the table holds.
pub fn count() -> usize {
    NAMES.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_name_and_only_those() {
        for name in NAMES {
            assert!(!proc_address(name.as_bytes()).is_null(), "{name}");
        }
        assert!(proc_address(b"glNotAFunction").is_null());
        assert!(proc_address(b"").is_null());
    }

    #[test]
    fn covers_gles_3_2_core_and_the_forwarded_extensions() {
        let gl = NAMES.iter().filter(|n| n.starts_with("gl")).count();
        let client_side =
            ["glMultiDrawArraysEXT", "glMultiDrawElementsEXT", "glMultiDrawElementsBaseVertexEXT", "glMapBufferOES"];
        assert_eq!(wire::commands::GLES_COMMANDS, 358);
        assert_eq!(
            gl,
            wire::commands::GLES_COMMANDS + wire::commands::GLES_EXTENSION_COMMANDS + ALIASES.len() + client_side.len()
        );
        for name in client_side {
            assert!(!proc_address(name.as_bytes()).is_null(), "{name}");
        }
    }

    #[test]
    fn an_alias_is_its_target() {
        for (alias, target) in ALIASES {
            assert_eq!(proc_address(alias.as_bytes()), proc_address(target.as_bytes()), "{alias}");
        }
        assert_eq!(proc_address(b"glDrawElementsBaseVertexOES"), proc_address(b"glDrawElementsBaseVertex"));
    }

    #[test]
    fn names_are_sorted_and_unique() {
        assert!(NAMES.windows(2).all(|w| w[0] < w[1]));
    }
}

/// The generated entry points, driven as a program would call them, against a context
/// whose link records what it is sent and answers synchronous calls.
#[cfg(test)]
mod entry_point_tests {
    use std::sync::{Arc, Mutex};

    use client::{make_current, CallError, Context, Link, ReplyBuf};
    use wire::commands::*;
    use wire::CommandBuf;

    use crate::generated;

    /// Records streams; answers every round trip with `answer`'s bytes.
    #[derive(Clone, Default)]
    struct Loopback {
        sent: Arc<Mutex<Vec<Vec<u8>>>>,
        answer: Arc<Mutex<Vec<u8>>>,
    }

    impl Link for Loopback {
        fn send(&mut self, stream: &[u8]) -> Result<(), CallError> {
            self.sent.lock().unwrap().push(stream.to_vec());
            Ok(())
        }
        fn round_trip(&mut self, stream: &[u8], reply: &mut ReplyBuf) -> Result<(), CallError> {
            self.sent.lock().unwrap().push(stream.to_vec());
            let answer = self.answer.lock().unwrap();
            let words: Vec<u64> = answer.chunks(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect();
            // Re-frame the canned answer into the reply buffer.
            let (op, body, _) = wire::codec::split_message(zerocopy::IntoBytes::as_bytes(words.as_slice())).unwrap();
            let w = reply.begin(op, body, 0).unwrap();
            w.finish().unwrap();
            Ok(())
        }
    }

    fn decode_one(bytes: &[u8], check: impl FnOnce(Command<'_>)) {
        let words: Vec<u64> = bytes.chunks(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect();
        let (cmd, rest) = decode_command(zerocopy::IntoBytes::as_bytes(words.as_slice())).unwrap();
        assert!(rest.is_empty());
        check(cmd);
    }

    /// Sends what the current context queued (asynchronous calls are batched).
    fn flush() {
        client::with_current(|c| c.flush()).unwrap().unwrap();
    }

    fn with_loopback(f: impl FnOnce(&Loopback)) {
        let link = Loopback::default();
        make_current(Some(Context::new(Some(Box::new(link.clone())))));
        f(&link);
        make_current(None);
    }

    #[test]
    fn array_arguments_are_read_to_their_registry_length() {
        with_loopback(|link| {
            let m = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
            // SAFETY: `m` holds count*4 = 8 floats.
            unsafe { generated::glUniform4fv(3, 2, m.as_ptr()) };
            flush();
            let sent = link.sent.lock().unwrap();
            decode_one(&sent[0], |cmd| {
                assert_eq!(cmd, Command::Uniform4fv(Uniform4fv { location: 3, count: 2, value: &m }));
            });
        });
    }

    #[test]
    fn null_array_with_a_count_is_not_sent() {
        with_loopback(|link| {
            // SAFETY: a NULL array with a positive count: the shim must not read it.
            unsafe { generated::glDeleteBuffers(2, std::ptr::null()) };
            flush();
            assert!(link.sent.lock().unwrap().is_empty());
        });
    }

    #[test]
    fn outputs_are_copied_back_no_further_than_the_pname_allows() {
        with_loopback(|link| {
            let mut reply = CommandBuf::new();
            // The server answers GL_VIEWPORT with more values than the pname has.
            GetIntegervReply { data: Some(&[1, 2, 3, 4, 5, 6]) }.encode(&mut reply).unwrap();
            *link.answer.lock().unwrap() = reply.as_bytes().to_vec();
            let mut out = [0i32; 6];
            // SAFETY: `out` has room for GL_VIEWPORT's 4 values (and more).
            unsafe { generated::glGetIntegerv(0x0BA2, out.as_mut_ptr()) };
            assert_eq!(out, [1, 2, 3, 4, 0, 0]);
            decode_one(&link.sent.lock().unwrap()[0], |cmd| {
                assert_eq!(cmd, Command::GetIntegerv(GetIntegerv { pname: 0x0BA2, data: Some(4) }));
            });
        });
    }

    #[test]
    fn returned_strings_stay_valid() {
        with_loopback(|link| {
            let mut reply = CommandBuf::new();
            GetStringReply { ret: Some(c"OpenGL ES 3.2 glwire") }.encode(&mut reply).unwrap();
            *link.answer.lock().unwrap() = reply.as_bytes().to_vec();
            // SAFETY: glGetString takes no pointers.
            let a = unsafe { generated::glGetString(0x1F02) };
            // SAFETY: as above.
            let b = unsafe { generated::glGetString(0x1F02) };
            assert_eq!(a, b);
            // SAFETY: the context keeps the string alive while it is current.
            assert_eq!(unsafe { std::ffi::CStr::from_ptr(a.cast()) }, c"OpenGL ES 3.2 glwire");
        });
    }

    #[test]
    fn shader_sources_travel_as_a_string_list() {
        with_loopback(|link| {
            let parts = [c"void main".as_ptr(), c"(){}".as_ptr()];
            // SAFETY: two NUL-terminated strings, lengths NULL.
            unsafe { generated::glShaderSource(7, 2, parts.as_ptr(), std::ptr::null()) };
            flush();
            decode_one(&link.sent.lock().unwrap()[0], |cmd| {
                let Command::ShaderSource(s) = cmd else { panic!("{cmd:?}") };
                assert_eq!(s.shader, 7);
                assert_eq!(s.string.iter().collect::<Vec<_>>(), vec![c"void main", c"(){}"]);
            });
        });
    }

    #[test]
    fn texture_pixels_are_sized_by_the_unpack_state() {
        with_loopback(|link| {
            let pixels = [0xABu8; 24];
            // SAFETY: 3x2 RGB bytes with alignment 4 need 21 bytes; `pixels` has 24.
            unsafe { generated::glTexImage2D(0x0DE1, 0, 0x1907, 3, 2, 0, 0x1907, 0x1401, pixels.as_ptr().cast()) };
            flush();
            decode_one(&link.sent.lock().unwrap()[0], |cmd| {
                let Command::TexImage2D(t) = cmd else { panic!("{cmd:?}") };
                assert_eq!(t.pixels, wire::codec::DataRef::Inline(&pixels[..21]));
            });
        });
    }

    #[test]
    fn labels_are_cut_at_their_length_or_nul_and_sent_as_nul_terminated() {
        with_loopback(|link| {
            let label = b"hello\0world";
            // SAFETY: `label` holds 11 bytes.
            unsafe { generated::glObjectLabel(0x82E0, 4, 11, label.as_ptr().cast()) };
            flush();
            decode_one(&link.sent.lock().unwrap()[0], |cmd| {
                let expected = ObjectLabel { identifier: 0x82E0, name: 4, length: -1, label: Some(c"hello") };
                assert_eq!(cmd, Command::ObjectLabel(expected));
            });
        });
    }

    #[test]
    fn a_reply_to_another_command_is_refused() {
        with_loopback(|link| {
            let mut reply = CommandBuf::new();
            GetErrorReply { ret: 1 }.encode(&mut reply).unwrap();
            *link.answer.lock().unwrap() = reply.as_bytes().to_vec();
            // SAFETY: glIsBuffer takes no pointers.
            assert_eq!(unsafe { generated::glIsBuffer(1) }, 0, "another command's answer must not be read as GL_TRUE");
        });
    }

    #[test]
    fn without_a_current_context_calls_do_nothing() {
        // SAFETY: no context: nothing is read.
        unsafe { generated::glDeleteBuffers(2, std::ptr::null()) };
        // SAFETY: as above.
        assert_eq!(unsafe { generated::glIsBuffer(1) }, 0);
    }
}
