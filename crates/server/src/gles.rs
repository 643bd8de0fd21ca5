//! The GLES executor: a context thread's host GL context (`backend_gles::GlesContext`)
//! behind the validator. Every command goes through `validate::Validator::check` first;
//! only what it lets through (possibly rewritten) reaches `GlesContext::execute`, and
//! replies are fixed up on the way back (outputs trimmed to the client's capacity, sync
//! ids instead of host pointers, no host addresses). GL errors the validator raises are
//! kept here and returned by `glGetError` before the host's.
//!
//! It answers the validator's state queries with glGet* commands run through the same
//! backend (the server never calls GL functions itself), answers the extension-list
//! queries from `extensions` (only what glwire offers), and makes EGLImages of its
//! context's objects. It does not decode streams or own threads (`context` does).

use backend_gles::{Backend, BackendError, GlesContext};
use wire::commands::*;
use wire::names::Namespace;
use wire::CommandBuf;

use crate::error::ServerError;
use crate::exec::{Encoded, Executor, ShareGroup};
use crate::extensions::{Extensions, GL_EXTENSIONS, GL_NUM_EXTENSIONS};
use crate::fast::{Lean, Plain, Short};
use crate::images::SharedImages;
use crate::names::{After, Names, Rewrite};
use crate::surface::Surface;
use crate::validate::{
    Fixup, HostQuery, Validator, ValidatorLimits, Verdict, GL_INVALID_OPERATION, GL_INVALID_VALUE, GL_OUT_OF_MEMORY,
};

const GL_BUFFER_SIZE: u32 = 0x8764;

/// Runs validated commands on a host GLES context. Built on the context thread (a host
/// context belongs to the thread it is current on), never moved off it.
#[derive(Debug)]
pub struct GlesExecutor {
    cx: GlesContext,
    validator: Validator,
    /// The host's replies, before their fixups.
    host_replies: CommandBuf,
    /// Replies of the validator's state queries.
    query: CommandBuf,
    /// What GL_EXTENSIONS offers, read from the host on first use.
    extensions: Option<Extensions>,
    group: ShareGroup,
    /// The client's object names and the host's.
    names: Names,
    /// A host reply with host names turned into client names.
    named: CommandBuf,
    /// The surface bound as default framebuffer (the client's draw surface).
    surface: Option<std::sync::Arc<Surface>>,
    /// The session's counters: `raise` counts the GL errors it raises.
    stats: std::sync::Arc<crate::stats::SessionStats>,
}

impl GlesExecutor {
    /// A new host context of the newest ES version the host gives, current on the
    /// calling thread: call it on the context thread.
    pub fn new(
        backend: &Backend,
        limits: ValidatorLimits,
        share: Option<ShareGroup>,
        images: SharedImages,
        quota: std::sync::Arc<crate::quota::SessionQuota>,
    ) -> Result<Self, ServerError> {
        let share = share.unwrap_or_default();
        let cx = backend.new_context(share.host.as_deref())?;
        let group = ShareGroup {
            host: Some(share.host.unwrap_or_else(|| cx.host().clone())),
            syncs: share.syncs,
            names: share.names,
            buffer_sizes: share.buffer_sizes,
        };
        Ok(Self {
            stats: quota.stats().clone(),
            names: Names::new(group.names.clone(), quota),
            surface: None,
            named: CommandBuf::new(),
            cx,
            validator: Validator::new(limits, group.syncs.clone(), images)
                .with_buffer_sizes(group.buffer_sizes.clone()),
            group,
            host_replies: CommandBuf::new(),
            query: CommandBuf::new(),
            extensions: None,
        })
    }

    /// The host's renderer strings, for logs and tests.
    pub fn renderer(&self) -> Result<backend_gles::RendererStrings, ServerError> {
        Ok(self.cx.renderer_strings()?)
    }
}

impl GlesExecutor {
    /// The host's extensions that glwire forwards.
    fn extensions(&mut self) -> &Extensions {
        let Self { cx, query, extensions, .. } = self;
        extensions.get_or_insert_with(|| {
            let mut host = Host { cx, buf: query };
            let reply = host.run(&Command::GetString(GetString { name: GL_EXTENSIONS }));
            match reply.map(decode_reply) {
                Some(Ok((Reply::GetString(r), _))) => {
                    Extensions::filter(r.ret.and_then(|s| s.to_str().ok()).unwrap_or_default())
                }
                _ => Extensions::default(),
            }
        })
    }

    /// Records a GL error the server raised itself, the way a single GL error flag
    /// would: kept only when no error is pending, and then only if the host has none
    /// (the host's, raised earlier, is the first and wins).
    fn raise(&mut self, error: u32) {
        crate::stats::SessionStats::add(&self.stats.gl_errors, 1);
        if self.validator.has_error() {
            return;
        }
        let host = self.host_error();
        self.validator.record(if host != 0 { host } else { error });
    }

    /// The host's error flag, read and cleared.
    fn host_error(&mut self) -> u32 {
        let mut host = Host { cx: &mut self.cx, buf: &mut self.query };
        match host.run(&Command::GetError(GetError {})).map(decode_reply) {
            Some(Ok((Reply::GetError(r), _))) => r.ret,
            _ => 0,
        }
    }

    /// Answers the queries of the extension list from [`Extensions`] instead of the
    /// host; `false` when `cmd` is not one of them.
    fn answer_extension_query(&mut self, cmd: &Command<'_>, replies: &mut CommandBuf) -> Result<bool, ServerError> {
        match *cmd {
            Command::GetString(GetString { name: GL_EXTENSIONS }) => {
                GetStringReply { ret: Some(self.extensions().joined()) }.encode(replies)?
            }
            Command::GetStringi(GetStringi { name: GL_EXTENSIONS, index }) => match self.extensions().get(index) {
                Some(name) => GetStringiReply { ret: Some(&name.clone()) }.encode(replies)?,
                None => {
                    self.raise(crate::validate::GL_INVALID_VALUE);
                    GetStringiReply { ret: None }.encode(replies)?
                }
            },
            Command::GetIntegerv(GetIntegerv { pname: GL_NUM_EXTENSIONS, data }) => {
                let n = [i32::try_from(self.extensions().count()).unwrap_or(i32::MAX)];
                GetIntegervReply { data: cut(data.map(|_| &n[..]), data) }.encode(replies)?
            }
            Command::GetInteger64v(GetInteger64v { pname: GL_NUM_EXTENSIONS, data }) => {
                let n = [i64::try_from(self.extensions().count()).unwrap_or(i64::MAX)];
                GetInteger64vReply { data: cut(data.map(|_| &n[..]), data) }.encode(replies)?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

impl GlesExecutor {
    /// Every command the short path does not take: names, validation, quotas, the
    /// host, reply fixups. Kept out of line: its stack frame is large, and a
    /// draw-heavy frame's uniforms and draws should not pay for setting it up (they
    /// did, a measurable share of the frame, once it grew).
    #[inline(never)]
    fn execute_full(&mut self, cmd: &Command<'_>, replies: &mut CommandBuf) -> Result<(), ServerError> {
        if self.answer_extension_query(cmd, replies)? {
            return Ok(());
        }
        if let Command::WireSwapBuffers(c) = *cmd {
            return self.swap(c);
        }
        if let Command::GetError(_) = cmd {
            let pending = self.validator.take_error();
            if pending != 0 {
                // One error flag, as Mesa has: an error the host raised after this one
                // would have been dropped natively, so it is dropped here too.
                self.host_error();
                GetErrorReply { ret: pending }.encode(replies)?;
                return Ok(());
            }
        }
        // The client's names become the host's first: the validator and the host see
        // only host names.
        let rewrite = {
            let cx = &mut self.cx;
            self.names.rewrite(cmd, &mut |ns, out| cx.gen_names(ns, out).map_err(ServerError::from))?
        };
        let (named, list, after) = match rewrite {
            Rewrite::Done => return Ok(()),
            Rewrite::Error(error) => {
                tracing::debug!(command = cmd.opcode().info().name, "refused with GL error {error:#06x}");
                self.raise(error);
                empty_reply(cmd.opcode(), replies)?;
                return Ok(());
            }
            Rewrite::Run { cmd, list, after } => (cmd, list, after),
        };
        let cmd = &match &list {
            Some(list) => named.with_name_list(list),
            None => named,
        };
        let verdict = {
            let mut host = Host { cx: &mut self.cx, buf: &mut self.query };
            self.validator.check(&mut host, cmd)
        };
        let (cmd, fixup) = match verdict {
            Verdict::Skip { error } => {
                self.unreserve_program(after);
                if error != 0 {
                    // Debug level: programs probe with bad arguments on purpose.
                    tracing::debug!(command = cmd.opcode().info().name, "refused with GL error {error:#06x}");
                    self.raise(error);
                }
                empty_reply(cmd.opcode(), replies)?;
                return Ok(());
            }
            Verdict::Run(cmd, fixup) => (cmd, fixup),
        };
        // Storage counts against the session's GL memory quota before the host makes it.
        if let Some(storage) = crate::quota::storage(&cmd) {
            let mut host = Host { cx: &mut self.cx, buf: &mut self.query };
            // A size past the host's limits is GL_INVALID_VALUE (not the quota's
            // GL_OUT_OF_MEMORY), raised here: Mesa crashed on some (a 2³¹-1 square
            // RGBA32F glTexImage2D smashed its stack).
            if storage.within.iter().any(|&(pname, asked)| pname != 0 && asked > host.integer(pname) as u64) {
                tracing::debug!(command = cmd.opcode().info().name, "a size past the host's limits");
                self.raise(GL_INVALID_VALUE);
                empty_reply(cmd.opcode(), replies)?;
                return Ok(());
            }
            let bound = host.integer(storage.binding) as u32;
            if !self.names.charge(&storage, bound) {
                tracing::debug!(command = cmd.opcode().info().name, "over the session's GL memory quota");
                self.raise(GL_OUT_OF_MEMORY);
                empty_reply(cmd.opcode(), replies)?;
                return Ok(());
            }
        }
        self.host_replies.clear();
        // SAFETY: `cmd` was decoded by `wire` and then checked (and rewritten where
        // needed) by the validator for this context, which is `execute`'s contract for
        // the rules `validate` implements (see its module doc for what is not checked yet).
        let ran = unsafe { self.cx.execute(&cmd, &mut self.host_replies) };
        match ran {
            Ok(()) => {}
            // A function a 3.0/3.1 host lacks: the GL error a missing entry point would
            // give, not the end of the session.
            Err(BackendError::MissingFunction(name)) => {
                self.unreserve_program(after);
                tracing::debug!("the host lacks {name}");
                self.raise(GL_INVALID_OPERATION);
                empty_reply(cmd.opcode(), replies)?;
                return Ok(());
            }
            Err(BackendError::GlError(code)) => {
                self.unreserve_program(after);
                tracing::debug!(command = cmd.opcode().info().name, "refused with GL error {code:#06x}");
                self.raise(code);
                empty_reply(cmd.opcode(), replies)?;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
        if changes_buffer_sizes(&cmd) {
            // After the host made the change: another context that looks at a size
            // from now on sees the new one (see `BufferSizes`).
            self.group.buffer_sizes.changed();
        }
        if may_free_programs(&cmd) {
            let mut host = Host { cx: &mut self.cx, buf: &mut self.query };
            self.names.sweep_deleted_programs(&mut |name| host.is_shader_or_program(name));
        }
        let mut host = self.host_replies.as_bytes();
        if !host.is_empty() && after != After::Nothing {
            self.named.clear();
            let reply = decode_reply(host)?.0;
            let renamed = match (after, reply) {
                (After::NewProgram, Reply::CreateProgram(r)) => {
                    CreateProgramReply { ret: self.names.new_program(r.ret) }.encode(&mut self.named)?;
                    true
                }
                (After::NewProgram, Reply::CreateShader(r)) => {
                    CreateShaderReply { ret: self.names.new_program(r.ret) }.encode(&mut self.named)?;
                    true
                }
                (After::NewProgram, Reply::CreateShaderProgramv(r)) => {
                    CreateShaderProgramvReply { ret: self.names.new_program(r.ret) }.encode(&mut self.named)?;
                    true
                }
                (After::ClientNames, reply) => {
                    let (cx, query) = (&mut self.cx, &mut self.query);
                    let mut object_type = || attachment_type(&mut Host { cx, buf: query }, &cmd);
                    self.names.reply_to_client(&cmd, reply, &mut object_type, &mut self.named)?
                }
                _ => false,
            };
            if renamed {
                host = self.named.as_bytes();
            }
        }
        if host.is_empty() {
            if let Fixup::SyncDeleted(id) = fixup {
                self.validator.syncs().remove(id);
            }
            return Ok(());
        }
        let rewritten = match fixup {
            Fixup::None | Fixup::SyncDeleted(_) => false,
            Fixup::Trim(cap) => trim(decode_reply(host)?.0, cap, replies)?,
            Fixup::NoPointers(cap) => no_pointers(decode_reply(host)?.0, cap, replies)?,
            Fixup::FenceId => match decode_reply(host)?.0 {
                Reply::FenceSync(r) => {
                    let id = self.validator.syncs().insert(r.ret);
                    FenceSyncReply { ret: id }.encode(replies)?;
                    true
                }
                _ => false,
            },
        };
        if let Fixup::SyncDeleted(id) = fixup {
            self.validator.syncs().remove(id);
        }
        if !rewritten {
            replies.extend_raw(host);
        }
        Ok(())
    }

    /// The short path (`crate::fast`), from a command's bytes: a non-indexed draw's
    /// vertex-array check, then decoding and host call in one step (the opcode's
    /// `backend_gles::encoded_fn`); `execute_encoded` only says why one did not run.
    fn execute_plain_encoded(&mut self, short: Short, message: Encoded<'_>) -> Result<(), ServerError> {
        if short.plain == Plain::ArraysDraw {
            let mut host = Host { cx: &mut self.cx, buf: &mut self.query };
            if let Err(error) = self.validator.check_arrays_draw(&mut host) {
                // A malformed command ends the session before any check, as on the
                // decoding path.
                decode_command(message.message)?;
                self.raise(error);
                return Ok(());
            }
        }
        // SAFETY: `crate::fast` lists only commands with no rule in `validate` beyond
        // the decoder's and the vertex-array check done above (a test holds the list
        // to that), and the backend's function for the opcode decodes the body before
        // it calls the host: `execute`'s contract for the command the body decodes to.
        match unsafe { self.cx.run_encoded(short.run, message.body()) } {
            Ok(true) => return Ok(()),
            // Not run, and nothing done: `execute_encoded` says why, below.
            Ok(false) => {}
            Err(e) => return self.plain_ran(Err(e)),
        }
        // SAFETY: as above.
        let ran = unsafe { self.cx.execute_encoded(short.opcode, message.body()) };
        match ran {
            Err(BackendError::Decode(e)) => Err(e.into()),
            ran => self.plain_ran(ran),
        }
    }

    /// The lean path (`crate::fast::Lean`) of `cmd`, its names already the host's: the
    /// validator's check (`checked`: an indexed draw's) or only its notes (a bind, which
    /// no rule looks at), then the host. What the full path does for these commands,
    /// without its steps for commands of other kinds (a test in `fast` holds that).
    fn execute_lean(&mut self, cmd: &Command<'_>, checked: bool) -> Result<(), ServerError> {
        if checked {
            let verdict = {
                let mut host = Host { cx: &mut self.cx, buf: &mut self.query };
                self.validator.check(&mut host, cmd)
            };
            match verdict {
                Verdict::Run(cmd, _) => return self.run_lean(&cmd),
                Verdict::Skip { error } => {
                    if error != 0 {
                        tracing::debug!(command = cmd.opcode().info().name, "refused with GL error {error:#06x}");
                        self.raise(error);
                    }
                    return Ok(());
                }
            }
        }
        self.validator.note(cmd);
        self.run_lean(cmd)
    }

    fn run_lean(&mut self, cmd: &Command<'_>) -> Result<(), ServerError> {
        self.host_replies.clear();
        // SAFETY: `cmd` was decoded by `wire`, its names mapped to the host's, and checked
        // by the validator (a bind has no rule there: `fast`'s test holds that), which is
        // `execute`'s contract.
        let ran = unsafe { self.cx.execute(cmd, &mut self.host_replies) };
        self.plain_ran(ran)
    }

    /// What the host's answer to a short-path command becomes: a GL error raised for
    /// the program, or the end of the session.
    fn plain_ran(&mut self, ran: Result<(), BackendError>) -> Result<(), ServerError> {
        match ran {
            Ok(()) => Ok(()),
            Err(BackendError::MissingFunction(name)) => {
                tracing::debug!("the host lacks {name}");
                self.raise(GL_INVALID_OPERATION);
                Ok(())
            }
            Err(BackendError::GlError(code)) => {
                self.raise(code);
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A glCreateProgram/glCreateShader the host never ran gives back the object its
    /// rewrite counted.
    fn unreserve_program(&mut self, after: After) {
        if after == After::NewProgram {
            self.names.new_program(0);
        }
    }

    /// eglSwapBuffers (glwire's own command, in order with the frame's commands): the
    /// frame goes into the surface's ring; a new window size resizes the surface.
    fn swap(&mut self, c: WireSwapBuffers) -> Result<(), ServerError> {
        let Some(surface) = self.surface.clone() else {
            // Natively EGL_BAD_SURFACE, which the client checked: nothing to publish.
            return Ok(());
        };
        if c.x != 0 || c.y != 0 || c.width <= 0 || c.height <= 0 {
            return Err(ServerError::Limit("glwireSwapBuffers: x and y must be 0 and the size positive"));
        }
        if let Some(pbuffer) = surface.swap(&mut self.cx, c.width as u32, c.height as u32)? {
            self.cx.set_surface(Some(pbuffer))?;
        }
        Ok(())
    }
}

/// Commands after which another context may see a buffer's new size (`BufferSizes`).
pub(crate) fn changes_buffer_sizes(cmd: &Command<'_>) -> bool {
    matches!(cmd, Command::BufferData(_) | Command::BufferStorageEXT(_) | Command::DeleteBuffers(_))
}

/// Commands after which the host may have freed a deleted shader or program.
pub(crate) fn may_free_programs(cmd: &Command<'_>) -> bool {
    matches!(
        cmd,
        Command::DeleteProgram(_) | Command::DeleteShader(_) | Command::DetachShader(_) | Command::UseProgram(_)
    )
}

/// The validator's view of the host: single-value glGet* calls on this context.
struct Host<'a> {
    cx: &'a mut GlesContext,
    buf: &'a mut CommandBuf,
}

impl Host<'_> {
    /// Runs one query command and returns its reply bytes; `None` if the host failed.
    fn run(&mut self, cmd: &Command<'_>) -> Option<&[u8]> {
        self.buf.clear();
        // SAFETY: the queries built below satisfy `execute`'s contract: pnames the
        // pname tables size as one value with an output capacity of 1, or outputs
        // sized by the call's own arguments (glGetProgramResourceiv's `bufSize` 3 with
        // room for 3); inline inputs of their stated length; no handles, no pointers
        // or offsets; on this context's thread.
        unsafe { self.cx.execute(cmd, self.buf) }.ok()?;
        Some(self.buf.as_bytes())
    }
}

impl Host<'_> {
    /// Whether the host still has a shader or program of name `name` (deleted ones live
    /// on while attached or in use).
    fn is_shader_or_program(&mut self, name: u32) -> bool {
        let shader = matches!(
            self.run(&Command::IsShader(IsShader { shader: name })).map(decode_reply),
            Some(Ok((Reply::IsShader(r), _))) if r.ret != 0
        );
        shader
            || matches!(
                self.run(&Command::IsProgram(IsProgram { program: name })).map(decode_reply),
                Some(Ok((Reply::IsProgram(r), _))) if r.ret != 0
            )
    }
}

impl HostQuery for Host<'_> {
    fn integer(&mut self, pname: u32) -> i32 {
        let bytes = self.run(&Command::GetIntegerv(GetIntegerv { pname, data: Some(1) }));
        match bytes.map(decode_reply) {
            Some(Ok((Reply::GetIntegerv(r), _))) => r.data.and_then(|d| d.first().copied()).unwrap_or(0),
            _ => 0,
        }
    }

    fn buffer_size(&mut self, target: u32) -> i64 {
        let cmd =
            Command::GetBufferParameteri64v(GetBufferParameteri64v { target, pname: GL_BUFFER_SIZE, params: Some(1) });
        match self.run(&cmd).map(decode_reply) {
            Some(Ok((Reply::GetBufferParameteri64v(r), _))) => r.params.and_then(|d| d.first().copied()).unwrap_or(0),
            _ => 0,
        }
    }

    fn uniform_location(&mut self, program: u32, location: i32) -> Option<bool> {
        const GL_LINK_STATUS: u32 = 0x8B82;
        const GL_UNIFORM: u32 = 0x92E1;
        const GL_ACTIVE_RESOURCES: u32 = 0x92F5;
        const GL_LOCATION: u32 = 0x930E;
        const GL_ARRAY_SIZE: u32 = 0x92FB;
        const GL_BLOCK_INDEX: u32 = 0x92FD;
        // Each step asks only what cannot raise a GL error given the steps before.
        match self.run(&Command::IsProgram(IsProgram { program })).map(decode_reply) {
            Some(Ok((Reply::IsProgram(r), _))) if r.ret != 0 => {}
            _ => return None,
        }
        let linked = self.run(&Command::GetProgramiv(GetProgramiv { program, pname: GL_LINK_STATUS, params: Some(1) }));
        match linked.map(decode_reply) {
            Some(Ok((Reply::GetProgramiv(r), _))) if r.params.is_some_and(|p| p.first() == Some(&1)) => {}
            _ => return None,
        }
        let count = Command::GetProgramInterfaceiv(GetProgramInterfaceiv {
            program,
            program_interface: GL_UNIFORM,
            pname: GL_ACTIVE_RESOURCES,
            params: Some(1),
        });
        let n = match self.run(&count).map(decode_reply) {
            Some(Ok((Reply::GetProgramInterfaceiv(r), _))) => r.params.and_then(|p| p.first().copied()).unwrap_or(0),
            _ => return None,
        };
        let props = [GL_LOCATION, GL_ARRAY_SIZE, GL_BLOCK_INDEX];
        // A program has at most a few thousand uniforms (GL_MAX_*_UNIFORM_COMPONENTS).
        for index in 0..u32::try_from(n).unwrap_or(0).min(1 << 16) {
            let query = Command::GetProgramResourceiv(GetProgramResourceiv {
                program,
                program_interface: GL_UNIFORM,
                index,
                prop_count: 3,
                props: &props,
                buf_size: 3,
                length: None,
                params: Some(3),
            });
            if let Some(Ok((Reply::GetProgramResourceiv(r), _))) = self.run(&query).map(decode_reply) {
                if let Some(&[first, size, block]) = r.params {
                    if block == -1 && first >= 0 && (first..first.saturating_add(size.max(1))).contains(&location) {
                        return Some(true);
                    }
                }
            }
        }
        Some(false)
    }

    fn vertex_attrib(&mut self, index: u32, pname: u32) -> i32 {
        let cmd = Command::GetVertexAttribiv(GetVertexAttribiv { index, pname, params: Some(1) });
        match self.run(&cmd).map(decode_reply) {
            Some(Ok((Reply::GetVertexAttribiv(r), _))) => r.params.and_then(|d| d.first().copied()).unwrap_or(0),
            _ => 0,
        }
    }
}

/// GL_FRAMEBUFFER_ATTACHMENT_OBJECT_TYPE of the attachment a
/// glGetFramebufferAttachmentParameteriv asked about (0 for any other command).
fn attachment_type(host: &mut Host<'_>, cmd: &Command<'_>) -> u32 {
    const GL_FRAMEBUFFER_ATTACHMENT_OBJECT_TYPE: u32 = 0x8CD0;
    let Command::GetFramebufferAttachmentParameteriv(c) = *cmd else { return 0 };
    let query = Command::GetFramebufferAttachmentParameteriv(GetFramebufferAttachmentParameteriv {
        pname: GL_FRAMEBUFFER_ATTACHMENT_OBJECT_TYPE,
        params: Some(1),
        ..c
    });
    match host.run(&query).map(decode_reply) {
        Some(Ok((Reply::GetFramebufferAttachmentParameteriv(r), _))) => {
            r.params.and_then(|p| p.first().copied()).unwrap_or(0) as u32
        }
        _ => 0,
    }
}

/// At most `cap` elements of `s` (none when the client gave no destination).
fn cut<T>(s: Option<&[T]>, cap: Option<u32>) -> Option<&[T]> {
    let cap = cap?;
    s.map(|s| &s[..s.len().min(cap as usize)])
}

/// Re-encodes `reply` with its one output trimmed to `cap`.
fn trim(reply: Reply<'_>, cap: Option<u32>, out: &mut CommandBuf) -> Result<bool, ServerError> {
    macro_rules! one {
        ($r:expr, $ty:ident, $field:ident) => {
            $ty { $field: cut($r.$field, cap) }.encode(out)?
        };
    }
    match reply {
        Reply::GetBooleanv(r) => one!(r, GetBooleanvReply, data),
        Reply::GetIntegerv(r) => one!(r, GetIntegervReply, data),
        Reply::GetFloatv(r) => one!(r, GetFloatvReply, data),
        Reply::GetInteger64v(r) => one!(r, GetInteger64vReply, data),
        Reply::GetTexParameteriv(r) => one!(r, GetTexParameterivReply, params),
        Reply::GetTexParameterfv(r) => one!(r, GetTexParameterfvReply, params),
        Reply::GetTexParameterIiv(r) => one!(r, GetTexParameterIivReply, params),
        Reply::GetTexParameterIuiv(r) => one!(r, GetTexParameterIuivReply, params),
        Reply::GetSamplerParameteriv(r) => one!(r, GetSamplerParameterivReply, params),
        Reply::GetSamplerParameterfv(r) => one!(r, GetSamplerParameterfvReply, params),
        Reply::GetSamplerParameterIiv(r) => one!(r, GetSamplerParameterIivReply, params),
        Reply::GetSamplerParameterIuiv(r) => one!(r, GetSamplerParameterIuivReply, params),
        Reply::GetBufferParameteriv(r) => one!(r, GetBufferParameterivReply, params),
        Reply::GetBufferParameteri64v(r) => one!(r, GetBufferParameteri64vReply, params),
        Reply::GetProgramiv(r) => one!(r, GetProgramivReply, params),
        Reply::GetShaderiv(r) => one!(r, GetShaderivReply, params),
        Reply::GetRenderbufferParameteriv(r) => one!(r, GetRenderbufferParameterivReply, params),
        Reply::GetFramebufferAttachmentParameteriv(r) => one!(r, GetFramebufferAttachmentParameterivReply, params),
        Reply::GetVertexAttribiv(r) => one!(r, GetVertexAttribivReply, params),
        Reply::GetVertexAttribfv(r) => one!(r, GetVertexAttribfvReply, params),
        Reply::GetVertexAttribIiv(r) => one!(r, GetVertexAttribIivReply, params),
        Reply::GetVertexAttribIuiv(r) => one!(r, GetVertexAttribIuivReply, params),
        Reply::GetIntegeriV(r) => one!(r, GetIntegeriVReply, data),
        Reply::GetInteger64iV(r) => one!(r, GetInteger64iVReply, data),
        Reply::GetBooleaniV(r) => one!(r, GetBooleaniVReply, data),
        Reply::GetTexLevelParameteriv(r) => one!(r, GetTexLevelParameterivReply, params),
        Reply::GetTexLevelParameterfv(r) => one!(r, GetTexLevelParameterfvReply, params),
        Reply::GetFramebufferParameteriv(r) => one!(r, GetFramebufferParameterivReply, params),
        Reply::GetProgramPipelineiv(r) => one!(r, GetProgramPipelineivReply, params),
        Reply::GetProgramInterfaceiv(r) => one!(r, GetProgramInterfaceivReply, params),
        Reply::GetMultisamplefv(r) => one!(r, GetMultisamplefvReply, val),
        Reply::GetActiveUniformBlockiv(r) => one!(r, GetActiveUniformBlockivReply, params),
        Reply::GetQueryiv(r) => one!(r, GetQueryivReply, params),
        Reply::GetQueryObjectuiv(r) => one!(r, GetQueryObjectuivReply, params),
        Reply::GetUniformfv(r) => one!(r, GetUniformfvReply, params),
        Reply::GetUniformiv(r) => one!(r, GetUniformivReply, params),
        Reply::GetUniformuiv(r) => one!(r, GetUniformuivReply, params),
        Reply::GetnUniformfv(r) => one!(r, GetnUniformfvReply, params),
        Reply::GetnUniformiv(r) => one!(r, GetnUniformivReply, params),
        Reply::GetnUniformuiv(r) => one!(r, GetnUniformuivReply, params),
        Reply::GetFloatiVOES(r) => one!(r, GetFloatiVOESReply, data),
        Reply::GetQueryObjectivEXT(r) => one!(r, GetQueryObjectivEXTReply, params),
        Reply::GetQueryObjecti64vEXT(r) => one!(r, GetQueryObjecti64vEXTReply, params),
        Reply::GetQueryObjectui64vEXT(r) => one!(r, GetQueryObjectui64vEXTReply, params),
        Reply::ReadPixels(r) => one!(r, ReadPixelsReply, pixels),
        Reply::ReadnPixels(r) => one!(r, ReadnPixelsReply, data),
        _ => return Ok(false),
    }
    Ok(true)
}

/// The same reply with every pointer value replaced by 0 and at most `cap` of them.
fn no_pointers(reply: Reply<'_>, cap: Option<u32>, out: &mut CommandBuf) -> Result<bool, ServerError> {
    let zeros = |s: Option<&[u64]>| cut(s, cap).map(|s| vec![0u64; s.len()]);
    match reply {
        Reply::GetPointerv(r) => GetPointervReply { params: zeros(r.params).as_deref() }.encode(out)?,
        Reply::GetBufferPointerv(r) => GetBufferPointervReply { params: zeros(r.params).as_deref() }.encode(out)?,
        Reply::GetVertexAttribPointerv(r) => {
            GetVertexAttribPointervReply { pointer: zeros(r.pointer).as_deref() }.encode(out)?
        }
        _ => return Ok(false),
    }
    Ok(true)
}

impl Executor for GlesExecutor {
    fn set_surface(&mut self, surface: Option<std::sync::Arc<Surface>>) -> Result<(), ServerError> {
        self.cx.set_surface(surface.as_ref().and_then(|s| s.host()))?;
        self.surface = surface;
        Ok(())
    }

    fn share_group(&self) -> ShareGroup {
        self.group.clone()
    }

    fn create_image(
        &mut self,
        target: u32,
        buffer: u32,
        attribs: &[(i32, i32)],
    ) -> Result<std::sync::Arc<backend_gles::HostImage>, ServerError> {
        const EGL_GL_RENDERBUFFER: u32 = 0x30B9;
        let ns = if target == EGL_GL_RENDERBUFFER { Namespace::Renderbuffer } else { Namespace::Texture };
        let buffer = self.names.to_host(ns, buffer);
        Ok(std::sync::Arc::new(self.cx.host().create_image(target, buffer, attribs)?))
    }

    /// A decoded command: binds of mapped names and indexed draws take the lean path
    /// (`crate::fast::Lean`), every other one the full path. The short path's commands
    /// came through `Executor::execute_encoded` first. `fast`'s tests hold both to the
    /// full path's answers.
    fn execute(&mut self, cmd: &Command<'_>, replies: &mut CommandBuf) -> Result<(), ServerError> {
        match crate::fast::lean(cmd.opcode()) {
            Some(Lean::Bind) => {
                if let Some(bind) = self.names.rewrite_bind(cmd) {
                    return self.execute_lean(&bind, false);
                }
            }
            Some(Lean::IndexedDraw) => return self.execute_lean(cmd, true),
            None => {}
        }
        self.execute_full(cmd, replies)
    }

    fn execute_encoded(&mut self, message: Encoded<'_>) -> Option<Result<(), ServerError>> {
        let short = crate::fast::plain_number(message.opcode)?;
        Some(self.execute_plain_encoded(short, message))
    }
}

/// The process's host backend, opened on first use; `None` when the host has no usable
/// EGL (logged once), in which case contexts fall back to the loopback executor.
pub fn host_backend() -> Option<&'static Backend> {
    static BACKEND: std::sync::OnceLock<Option<Backend>> = std::sync::OnceLock::new();
    BACKEND
        .get_or_init(|| match Backend::open() {
            Ok(backend) => Some(backend),
            Err(e) => {
                tracing::warn!(
                    "no host EGL ({e}): new contexts use the loopback executor, which runs no GL and answers \
                     every query with zeros"
                );
                None
            }
        })
        .as_ref()
}

/// The factory a new context gets: the GLES executor on the host backend, or the
/// loopback executor when there is no host EGL (see [`host_backend`]).
pub fn factory(
    limits: ValidatorLimits,
    images: SharedImages,
    quota: std::sync::Arc<crate::quota::SessionQuota>,
) -> crate::exec::ExecutorFactory {
    Box::new(move |share| {
        // The driver starts helper threads while the display opens and contexts are
        // made (Mesa: shader-cache and queue threads), and they inherit this thread's
        // name. Named as ours, they would count as context threads in `top` and the
        // leak checks; so they are born under the driver's name instead.
        let own = rustix::thread::name().ok();
        let _ = rustix::thread::set_name(c"glwire-hostgl");
        let exec = match host_backend() {
            Some(backend) => {
                GlesExecutor::new(backend, limits, share, images, quota).map(|e| Box::new(e) as Box<dyn Executor>)
            }
            None => (crate::exec::loopback())(share),
        };
        if let Some(own) = own {
            let _ = rustix::thread::set_name(&own);
        }
        exec
    })
}

#[cfg(test)]
mod tests {
    use bumpalo::Bump;
    use wire::codec::arbitrary::Entropy;
    use wire::commands::{sample, Opcode};

    use super::*;

    /// Every reply the validator may ask to trim (a command with an output sized by a
    /// hand rule) is one `trim` knows; otherwise the client would get more values than
    /// it has room for.
    #[test]
    fn trim_knows_every_hand_sized_output() {
        let mut missing = Vec::new();
        for op in Opcode::ALL.into_iter().filter(|op| op.info().hand_counted && op.info().sync) {
            let arena = Bump::new();
            let entropy = [3u8; 256];
            let Some(reply) = sample::reply(op, &mut Entropy::new(&entropy), &arena) else { continue };
            // Pointer queries have their own fixup.
            let mut out = CommandBuf::new();
            let handled = trim(reply, Some(0), &mut out).unwrap() || no_pointers(reply, Some(0), &mut out).unwrap();
            if !handled {
                missing.push(op.info().name);
            }
        }
        assert!(missing.is_empty(), "trim does not know {missing:?}");
    }
}
