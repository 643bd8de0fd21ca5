//! Prints `backend-gles`'s generated half: the host GLES function table (`GlesFns`, one
//! `Option<unsafe extern "C" fn>` per GLES 3.2 core command, loaded by name) and the
//! executor (`execute`), one match arm per command that hands the decoded arguments to
//! the host function and, for a synchronous command, encodes its reply.
//!
//! It knows how each parameter kind of the model is marshalled into a C argument; it
//! does not validate anything (the server does, before `execute`), and it leaves the
//! commands whose semantics are not a plain call (`void *` results, debug callbacks) to
//! hand-written functions in `backend-gles/src/hand.rs`.

use std::collections::BTreeMap;

use super::{ffi_type, Out, HEADER};
use crate::model::{snake, Cmd, Count, Kind, Model, Ret};

/// The GLES version that introduced each core command (`"2.0"` … `"3.2"`), read from
/// gl.xml's `<feature api="gles2">` elements; the first feature naming a command wins.
fn gles_versions() -> Result<BTreeMap<String, (u8, u8)>, String> {
    let text = std::str::from_utf8(khronos_api::GL_XML).map_err(|e| e.to_string())?;
    let opts = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
    let doc = roxmltree::Document::parse_with_options(text, opts).map_err(|e| format!("gl.xml: {e}"))?;
    let mut features: Vec<((u8, u8), roxmltree::Node)> = Vec::new();
    for f in doc.root_element().children().filter(|n| n.has_tag_name("feature")) {
        if f.attribute("api") != Some("gles2") {
            continue;
        }
        let number = f.attribute("number").unwrap_or_default();
        let parsed = number.split_once('.').and_then(|(a, b)| Some((a.parse::<u8>().ok()?, b.parse::<u8>().ok()?)));
        let version = parsed.ok_or_else(|| format!("gl.xml: feature number `{number}`"))?;
        features.push((version, f));
    }
    features.sort_by_key(|(v, _)| *v);
    let mut out = BTreeMap::new();
    for (version, f) in features {
        for req in f.children().filter(|n| n.has_tag_name("require")) {
            for c in req.children().filter(|n| n.has_tag_name("command")) {
                if let Some(name) = c.attribute("name") {
                    out.entry(name.to_owned()).or_insert(version);
                }
            }
        }
    }
    Ok(out)
}

/// The `GlesFns` field of a command: `glGetIntegeri_v` → `gl_get_integeri_v`,
/// `glTexStorage2DMultisample` → `gl_tex_storage2d_multisample`. A capital starts a
/// word after a lowercase letter, or after a capital when a lowercase letter follows
/// (the end of an acronym); after a digit it does not (`2D`).
fn field(c: &Cmd) -> String {
    let chars: Vec<char> = c.c_name.chars().collect();
    let mut out = String::new();
    for (i, &ch) in chars.iter().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase() || (prev.is_ascii_uppercase() && next_lower) {
                out.push('_');
            }
        }
        out.push(ch.to_ascii_lowercase());
    }
    out
}

/// The C signature of a command as a Rust function-pointer type.
fn fn_type(c: &Cmd) -> Result<String, String> {
    let mut params = Vec::new();
    for p in &c.params {
        params.push(format!("{}: {}", p.name, ffi_type(&p.cty)?));
    }
    let ret = match c.ret {
        Ret::Void => String::new(),
        _ => format!(" -> {}", ffi_type(&c.cret)?),
    };
    Ok(format!("unsafe extern \"C\" fn({}){ret}", params.join(", ")))
}

/// Commands whose arm is hand-written in `backend-gles/src/hand.rs`: a `void *` result
/// (`glMapBufferRange`: mapping semantics are not a plain call) and a function-pointer
/// parameter (`glDebugMessageCallback`: a client address must never become a host
/// callback).
fn is_hand(c: &Cmd) -> bool {
    c.private || c.ret == Ret::Bytes || c.params.iter().any(|p| p.cty.base == "GLDEBUGPROC")
}

/// The element count GL may write through an output the program passed as NULL, when
/// the registry gives it from the call's arguments (`None` for hand-sized outputs,
/// whose size only the validator knows).
fn null_count(count: &Count) -> String {
    match count {
        Count::Const(k) => format!("Some({k})"),
        Count::Param { param, factor: 1 } => format!("Some(len_of(c.{param}).unwrap_or(0))"),
        Count::Param { param, factor } => format!("Some(len_mul(len_of(c.{param}), {factor}).unwrap_or(0))"),
        Count::Hand(_) => "None".to_owned(),
    }
}

fn arm(o: &mut Out, c: &Cmd) -> Result<(), String> {
    let name = &c.c_name;
    let rust = &c.rust;
    if c.client_names {
        o.line(format!("        Command::{rust}(_) => Err(BackendError::ClientNames(\"{name}\")),"));
        return Ok(());
    }
    if is_hand(c) {
        o.line(format!("        Command::{rust}(c) => {{"));
        o.line(
            "            // SAFETY: the caller upholds this function's contract, which the hand-written arm shares.",
        );
        o.line(format!("            unsafe {{ crate::hand::{}(fns, c, scratch, replies) }}", snake(rust)));
        o.line("        }");
        return Ok(());
    }
    if !c.sync && (c.ret != Ret::Void || c.params.iter().any(|p| p.kind.is_out())) {
        return Err(format!("{name}: asynchronous, yet it returns a value or writes an output"));
    }
    o.line(format!("        Command::{rust}(c) => {{"));
    call(o, c)?;
    o.line("        }");
    Ok(())
}

/// Whether a command runs straight from its encoded body (`encoded_fn`, `execute_encoded`): an
/// asynchronous plain call whose arguments are scalars and registry-sized arrays,
/// none of them an object name, a handle, a buffer offset or a string. Those are the
/// only commands the server may pass on unchanged after decoding (`server::fast`).
fn encoded(c: &Cmd) -> bool {
    let plain = |p: &crate::model::P| {
        p.names.is_none()
            && match &p.kind {
                Kind::Scalar(_) => true,
                Kind::In { count, .. } => !count.is_hand(),
                _ => false,
            }
    };
    !c.client_names && !is_hand(c) && !c.sync && c.params.iter().all(plain)
}

/// The body of a plain command's arm, with the decoded command bound to `c` (a
/// reference in `execute`, a value in `execute_encoded`: the body only reads its
/// fields): the host call, then the reply of a synchronous command.
fn call(o: &mut Out, c: &Cmd) -> Result<(), String> {
    let name = &c.c_name;
    let rust = &c.rust;
    o.line(format!("            let f = need(fns.{}, \"{name}\")?;", field(c)));
    let outs: Vec<_> = c.params.iter().filter(|p| p.kind.is_out()).collect();
    if !outs.is_empty() {
        let slots: Vec<String> = (0..outs.len()).map(|i| format!("s{i}")).collect();
        o.line(format!("            let [{}, ..] = &mut scratch.slots;", slots.join(", ")));
    }
    for (i, p) in outs.iter().enumerate() {
        let n = &p.name;
        match &p.kind {
            Kind::Out { elem, count } => o.line(format!(
                "            let o_{n} = out::<{}>(s{i}, c.{n}, {}, \"{name}\", \"{n}\")?;",
                elem.rust(),
                null_count(count)
            )),
            Kind::OutRef { count, .. } => o.line(format!(
                "            let mut o_{n} = out_ref(s{i}, c.{n}, {}, \"{name}\", \"{n}\")?;",
                null_count(count)
            )),
            _ => unreachable!("filtered to outputs"),
        }
    }
    let args = call_args(o, c)?;
    let bind = if c.ret == Ret::Void { "" } else { "let r = " };
    o.line("            // SAFETY: the caller validated this command (see `# Safety`); every pointer is into the");
    o.line("            // command's payload, a scratch buffer of the size GL writes, or a validated buffer offset.");
    o.line(format!("            {bind}unsafe {{ f({}) }};", args.join(", ")));
    if c.sync {
        let mut fields = Vec::new();
        match c.ret {
            Ret::Void => {}
            Ret::Scalar(ty) => fields.push(format!("ret: r as {}", ty.rust())),
            Ret::Handle => fields.push("ret: r as usize as u64".to_owned()),
            Ret::Str => {
                o.line(
                    "            // SAFETY: GL returns NULL or a NUL-terminated string it keeps alive for the context.",
                );
                o.line("            let s = unsafe { c_str(r.cast()) };");
                fields.push("ret: s".to_owned());
            }
            Ret::Bytes => unreachable!("hand-written"),
        }
        for p in &outs {
            let n = &p.name;
            match p.kind {
                Kind::Out { .. } => fields.push(format!("{n}: c.{n}.map(|_| &*o_{n})")),
                _ => fields.push(format!("{n}: o_{n}.reply()")),
            }
        }
        o.line(format!("            {rust}Reply {{ {} }}.encode(replies)?;", fields.join(", ")));
    }
    o.line("            Ok(())");
    Ok(())
}

/// The host call's arguments, from the decoded command bound to `c` (with the lines
/// that prepare string lists emitted first).
fn call_args(o: &mut Out, c: &Cmd) -> Result<Vec<String>, String> {
    let name = &c.c_name;
    let mut args = Vec::new();
    for p in &c.params {
        let n = &p.name;
        let ty = ffi_type(&p.cty)?;
        args.push(match &p.kind {
            Kind::Scalar(_) => format!("c.{n} as {ty}"),
            Kind::Handle | Kind::Offset => format!("c.{n} as usize as {ty}"),
            Kind::In { nullable: false, .. } => format!("c.{n}.as_ptr().cast()"),
            Kind::In { nullable: true, .. } => format!("c.{n}.map_or(core::ptr::null(), |v| v.as_ptr().cast())"),
            Kind::Str { nullable: false, .. } => format!("c.{n}.as_ptr()"),
            Kind::Str { nullable: true, .. } => format!("c.{n}.map_or(core::ptr::null(), CStr::as_ptr)"),
            Kind::StrList { count } => {
                let count = match count {
                    Count::Param { param, factor: 1 } => format!("len_of(c.{param})"),
                    Count::Param { param, factor } => format!("len_mul(len_of(c.{param}), {factor})"),
                    Count::Const(k) => format!("Some({k})"),
                    Count::Hand(_) => return Err(format!("{name}.{n}: a string list needs a registry-style count")),
                };
                o.line(format!("            let l_{n} = str_ptrs(&c.{n}, {count}, \"{name}\", \"{n}\")?;"));
                format!("l_{n}.as_ptr()")
            }
            Kind::Ref { .. } => format!("data_ref(c.{n})"),
            Kind::Out { .. } => format!("o_{n}.as_mut_ptr().cast()"),
            Kind::OutRef { .. } => format!("o_{n}.ptr()"),
            // Consumed by the client (glShaderSource's lengths: the strings arrive
            // NUL-terminated, so GL is told to read up to the NUL).
            Kind::Skip => "core::ptr::null()".to_owned(),
            Kind::AttribList { .. } => return Err(format!("{name}.{n}: an attribute list in a GLES command")),
        });
    }
    Ok(args)
}

/// The name of the function that runs `c` from its body (`run_active_texture`).
fn runner(c: &Cmd) -> String {
    format!("run_{}", field(c).trim_start_matches("gl_"))
}

/// What `execute` trusts, per parameter kind: the contract between the server's
/// validator and this executor (the decoder's guarantees are in
/// `wire::commands`'s module doc).
const SAFETY_DOC: &[&str] = &[
    "/// # Safety",
    "///",
    "/// The executor trusts its input, as wgpu-hal trusts wgpu-core: `cmd` must come from the",
    "/// wire decoder (its guarantees: registry-sized arrays of exactly the count the",
    "/// arguments give, NUL-terminated strings, string lists of the stated count, registry-",
    "/// sized output capacities equal to that count) and then pass the server's validator,",
    "/// which must have established, for this call:",
    "///",
    "/// - **Context**: the context `fns` was loaded for is current on the calling thread",
    "///   (`GlesContext::execute` sees to it).",
    "/// - **Names and handles**: every object name is a host name of this context's share",
    "///   group; every `Handle` (a `GLsync`, `glObjectPtrLabel`'s `ptr`) is a live host",
    "///   sync object of that group, never a client value. Function-pointer handles never",
    "///   reach GL (`glDebugMessageCallback` is hand-written and installs nothing).",
    "/// - **Enums and scalars** that size memory GL touches: pnames with hand-sized arrays",
    "///   are ones the validator's pname tables know (an unknown one is `GL_INVALID_ENUM`",
    "///   raised by the validator, never a call); sizes that become allocations (`bufSize`,",
    "///   `count`, buffer and texture sizes) are within the session's quotas;",
    "///   `glClientWaitSync` timeouts are bounded (the call blocks this thread).",
    "/// - **Hand-sized `In` arrays** (`pname_count`, `CLEAR_BUFFER`): at least as many",
    "///   elements as GL reads for that pname or buffer.",
    "/// - **`DataRef::Inline(b)`**: no buffer is bound at the command's binding (unpack or",
    "///   element array; otherwise GL takes the host address for an offset), and `b` holds",
    "///   at least what GL reads: the unpack image under the current pixel-store state,",
    "///   `index_bytes(count, type)`, or `imageSize` for compressed images.",
    "/// - **`DataRef::Offset(o)`, `OutRef::Offset(o)` and `Offset` parameters**: a buffer is",
    "///   bound at the matching binding (unpack, element array, pack, array buffer for",
    "///   `glVertexAttrib*Pointer`, draw-indirect) and `o` plus the bytes GL touches lie",
    "///   inside it; with no array buffer bound the value would be a host pointer GL",
    "///   dereferences at draw time.",
    "/// - **`DataRef::Null`**: only where GL reads nothing through it (`glTexImage2D/3D`",
    "///   allocating storage) or where a buffer is bound at that binding (NULL is offset 0);",
    "///   in particular NULL indices only with an element array buffer bound.",
    "/// - **Hand-sized outputs** (`Out` sized by `pname_count`, `uniform_value_count`, …;",
    "///   `OutRef::Reply` sized by `pack_image_2d`): the capacity is at least what GL",
    "///   writes (for `glGetUniform*`, exactly the uniform's values: the reply carries the",
    "///   whole capacity). A program's NULL (`None`, `OutRef::Null`) must be rewritten to",
    "///   `Some(n)` / `OutRef::Reply(n)` of the real size when the call should run (the ICD",
    "///   ignores reply data for a NULL destination); otherwise `execute` refuses with",
    "///   [`BackendError::UnsizedOutput`] before calling GL. Registry-sized outputs that",
    "///   are NULL get scratch of the size the arguments give (GL writes through NULL in",
    "///   several Mesa getters), which is why those arguments must be bounded.",
    "/// - **`OutRef::Reply`**: no pack buffer is bound (otherwise GL writes at the scratch",
    "///   address taken as an offset into it).",
    "///",
    "/// Replies carry host values the server must map before they reach the client:",
    "/// object names from `glGen*`/`glCreate*`, `glFenceSync`'s host `GLsync` address, and",
    "/// the host pointers of `glGetPointerv`, `glGetBufferPointerv` and",
    "/// `glGetVertexAttribPointerv`.",
];

/// Where a command comes from, as `{es}(3, 1)` / `{ext}("GL_OES_texture_view")` (or,
/// with empty prefixes, as prose).
fn since(c: &Cmd, versions: &BTreeMap<String, (u8, u8)>, es: &str, ext: &str) -> Result<String, String> {
    if let Some(e) = &c.extension {
        return Ok(if ext.is_empty() { e.clone() } else { format!("{ext}(\"{e}\")") });
    }
    let (a, b) = versions.get(&c.c_name).ok_or_else(|| format!("{}: in no gles2 feature", c.c_name))?;
    Ok(if es == "ES" { format!("ES {a}.{b}") } else { format!("{es}({a}, {b})") })
}

pub fn backend_file(m: &Model) -> Result<String, String> {
    let versions = gles_versions()?;
    // Host functions; glwire's own commands have arms (by hand) but no function.
    let cmds: Vec<&Cmd> = m.gles_host().collect();
    let mut o = Out::default();
    o.0.push_str(HEADER);
    o.line("//! The host GLES function table and the executor: one `GlesFns` field per GLES 3.2 core");
    o.line("//! command, and one `execute` arm per command that passes the decoded, validated");
    o.line("//! arguments to the host function and encodes the reply of a synchronous command.");
    o.line("//! It validates nothing (see `execute`'s `# Safety`); `hand.rs` holds the arms that");
    o.line("//! are not a plain call. The asynchronous plain calls also run straight from their");
    o.line("//! encoded bodies: one small function each (`encoded_fn`), and `execute_encoded`, which");
    o.line("//! says why one declined.");
    o.line("#![cfg_attr(rustfmt, rustfmt::skip)]");
    o.line("#![allow(clippy::all, unused_variables, unused_unsafe)]");
    o.line("");
    o.line("use core::ffi::{c_void, CStr};");
    o.line("");
    o.line("use wire::buf::Sink;");
    o.line("{CODEC_IMPORTS}");
    o.line("use wire::commands::*;");
    o.line("");
    o.line("use crate::error::BackendError;");
    o.line("use crate::fns::{fn_ptr, need, FnInfo, Since};");
    o.line("use crate::scratch::{c_str, data_ref, out, out_ref, str_ptrs, Scratch};");
    o.line("use crate::types::*;");
    o.line("");
    let slots = m.gles().map(|c| c.params.iter().filter(|p| p.kind.is_out()).count()).max().unwrap_or(0);
    o.line("/// Scratch buffers one command may need at once (its output parameters).");
    o.line(format!("pub const SCRATCH_SLOTS: usize = {};", slots.max(1)));
    o.line("");
    o.line("/// Every GLES function `GlesFns` holds, in field order, with the version or extension");
    o.line("/// that added it.");
    o.line(format!("pub const GLES_FUNCTIONS: [FnInfo; {}] = [", cmds.len()));
    for c in &cmds {
        o.line(format!(
            "    FnInfo {{ name: \"{}\", since: {} }},",
            c.c_name,
            since(c, &versions, "Since::Es", "Since::Extension")?
        ));
    }
    o.line("];");
    o.line("");
    o.line("/// The host's GLES entry points, loaded by name through `eglGetProcAddress`. A field is");
    o.line("/// `None` when the host lacks that function (see `GlesFns::load` for which are required).");
    o.line("#[derive(Clone, Copy)]");
    o.line("pub struct GlesFns {");
    for c in &cmds {
        o.line(format!("    /// `{}` ({}).", c.c_name, since(c, &versions, "ES", "")?));
        o.line(format!("    pub {}: Option<{}>,", field(c), fn_type(c)?));
    }
    o.line("}");
    o.line("");
    o.line("impl GlesFns {");
    o.line("    /// Looks up every function; a NULL address leaves its field `None`.");
    o.line("    pub(crate) fn load_all(loader: &mut dyn FnMut(&CStr) -> *const c_void) -> Self {");
    for c in &cmds {
        o.line(format!(
            "        // SAFETY: the loader returns NULL or `{}` itself, whose registry signature the field spells.",
            c.c_name
        ));
        o.line(format!("        let {} = unsafe {{ fn_ptr(loader(c\"{}\")) }};", field(c), c.c_name));
    }
    let names: Vec<String> = cmds.iter().map(|c| field(c)).collect();
    o.line(format!("        Self {{ {} }}", names.join(", ")));
    o.line("    }");
    o.line("");
    o.line("    /// Whether each function of [`GLES_FUNCTIONS`] was found, in that order.");
    o.line(format!("    pub fn present(&self) -> [bool; {}] {{", cmds.len()));
    o.line("        [");
    for c in &cmds {
        o.line(format!("            self.{}.is_some(),", field(c)));
    }
    o.line("        ]");
    o.line("    }");
    o.line("}");
    o.line("");
    o.line("/// Executes one decoded GLES command on the current host context; for a synchronous");
    o.line("/// command, appends its reply to `replies`. Output buffers come from `scratch`, reused");
    o.line("/// across calls. An EGL command is refused ([`BackendError::NotGles`]).");
    o.line("///");
    for l in SAFETY_DOC {
        o.line(*l);
    }
    o.line("pub unsafe fn execute(fns: &GlesFns, cmd: &Command<'_>, scratch: &mut Scratch, replies: &mut dyn Sink) -> Result<(), BackendError> {");
    o.line("    match cmd {");
    for c in m.gles() {
        arm(&mut o, c)?;
    }
    o.line("        other => Err(BackendError::NotGles(other.opcode().info().name)),");
    o.line("    }");
    o.line("}");
    o.line("");
    let plain: Vec<&Cmd> = m.gles().filter(|c| encoded(c)).collect();
    o.line("/// The commands [`execute_encoded`] runs: the asynchronous plain host calls whose");
    o.line("/// arguments are scalars and registry-sized arrays, no object name among them.");
    o.line(format!("pub const ENCODED: [Opcode; {}] = [", plain.len()));
    for c in &plain {
        o.line(format!("    Opcode::{},", c.rust));
    }
    o.line("];");
    o.line("");
    o.line("/// [`execute`] of the command `body` encodes (a message's body, after its header), for");
    o.line("/// the opcodes of [`ENCODED`]: the same decoder and the same host call, without the");
    o.line("/// `Command` in between. A body the decoder refuses is [`BackendError::Decode`], the");
    o.line("/// error `decode_command` gives; another opcode is [`BackendError::NotEncoded`].");
    o.line("///");
    o.line("/// # Safety");
    o.line("///");
    o.line("/// As for [`execute`], for the command `body` decodes to.");
    o.line("pub unsafe fn execute_encoded(fns: &GlesFns, op: Opcode, body: &[u8]) -> Result<(), BackendError> {");
    o.line("    match op {");
    for c in &plain {
        o.line(format!("        Opcode::{} => {{", c.rust));
        o.line(format!("            let c = {}::decode(body)?;", c.rust));
        call(&mut o, c)?;
        o.line("        }");
    }
    o.line("        other => Err(BackendError::NotEncoded(other.info().name)),");
    o.line("    }");
    o.line("}");
    o.line("");
    o.line("/// One opcode of [`ENCODED`] run from its body: whether it ran. `false` comes only before");
    o.line("/// any host call, when [`execute_encoded`] fails for the same body (the decoder refuses");
    o.line("/// it, or the host lacks the function) and says why. Small functions of this type, found");
    o.line("/// once per opcode, keep the per-command cost of a draw-heavy stream down: no error built,");
    o.line("/// nothing returned through memory, no match over every opcode.");
    o.line("///");
    o.line("/// # Safety");
    o.line("///");
    o.line("/// As for [`execute`], for the command the body decodes to.");
    o.line("pub type EncodedFn = unsafe fn(&GlesFns, &[u8]) -> bool;");
    o.line("");
    o.line("/// The [`EncodedFn`] of `op`; `None` for the opcodes not in [`ENCODED`].");
    o.line("pub const fn encoded_fn(op: Opcode) -> Option<EncodedFn> {");
    o.line("    match op {");
    for c in &plain {
        o.line(format!("        Opcode::{} => Some({}),", c.rust, runner(c)));
    }
    o.line("        _ => None,");
    o.line("    }");
    o.line("}");
    for c in &plain {
        o.line("");
        o.line(format!("/// {} from its body (see [`EncodedFn`]).", c.c_name));
        o.line("///");
        o.line("/// # Safety");
        o.line("///");
        o.line("/// As for [`EncodedFn`].");
        o.line(format!("unsafe fn {}(fns: &GlesFns, body: &[u8]) -> bool {{", runner(c)));
        o.line(format!("    let Ok(c) = {}::decode(body) else {{ return false }};", c.rust));
        o.line(format!("    let Some(f) = fns.{} else {{ return false }};", field(c)));
        let args = call_args(&mut o, c)?;
        o.line("    // SAFETY: the caller validated this command (see `# Safety`); every pointer is into the");
        o.line("    // command's payload.");
        o.line(format!("    unsafe {{ f({}) }};", args.join(", ")));
        o.line("    true");
        o.line("}");
    }
    // Import only the length helpers some arm uses, so the file compiles without warnings.
    let helpers: Vec<&str> = ["len_mul", "len_of"].into_iter().filter(|h| o.0.contains(&format!("{h}("))).collect();
    let import = match helpers.as_slice() {
        [] => String::new(),
        [one] => format!("use wire::codec::{one};"),
        many => format!("use wire::codec::{{{}}};", many.join(", ")),
    };
    Ok(o.0.replacen("{CODEC_IMPORTS}", &import, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gles_command_has_a_version() {
        let v = gles_versions().unwrap();
        assert_eq!(v["glActiveTexture"], (2, 0));
        assert_eq!(v["glMapBufferRange"], (3, 0));
        assert_eq!(v["glDispatchCompute"], (3, 1));
        assert_eq!(v["glBlendBarrier"], (3, 2));
    }

    #[test]
    fn field_names_read_as_words() {
        let m = crate::emit::load_model(&crate::repo_root()).unwrap();
        let field_of = |name: &str| field(m.gles().find(|c| c.c_name == name).unwrap());
        assert_eq!(field_of("glTexImage2D"), "gl_tex_image2d");
        assert_eq!(field_of("glTexStorage2DMultisample"), "gl_tex_storage2d_multisample");
        assert_eq!(field_of("glVertexAttribIPointer"), "gl_vertex_attrib_i_pointer");
        assert_eq!(field_of("glGetIntegeri_v"), "gl_get_integeri_v");
        assert_eq!(field_of("glUniform4fv"), "gl_uniform4fv");
    }

    #[test]
    fn hand_arms_are_the_mapping_the_callback_and_glwires_own() {
        let m = crate::emit::load_model(&crate::repo_root()).unwrap();
        let hand: Vec<&str> = m.gles().filter(|c| is_hand(c)).map(|c| c.c_name.as_str()).collect();
        assert_eq!(
            hand,
            [
                "glMapBufferRange",
                "glDebugMessageCallback",
                "glwireReadMapped",
                "glwireWriteMapped",
                "glwireSwapBuffers"
            ]
        );
    }
}
