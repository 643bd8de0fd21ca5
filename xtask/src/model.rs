//! The wire model: each forwarded command with its opcode and, for every parameter, how
//! it travels (scalar, sized array, string, buffer offset, reply output). Built from the
//! registry plus the annotations; the emitters only print it.

use std::collections::BTreeMap;

use crate::annotations::{Annotations, CommandAnn, NamesAnn, ParamAnn, ParamKindAnn, PnameCount};
use crate::registry::{CType, Command, Param, Registry};

/// A scalar as it sits on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
}

impl Ty {
    pub fn rust(self) -> &'static str {
        match self {
            Ty::U8 => "u8",
            Ty::I8 => "i8",
            Ty::U16 => "u16",
            Ty::I16 => "i16",
            Ty::U32 => "u32",
            Ty::I32 => "i32",
            Ty::U64 => "u64",
            Ty::I64 => "i64",
            Ty::F32 => "f32",
        }
    }

    pub fn size(self) -> usize {
        match self {
            Ty::U8 | Ty::I8 => 1,
            Ty::U16 | Ty::I16 => 2,
            Ty::U32 | Ty::I32 | Ty::F32 => 4,
            Ty::U64 | Ty::I64 => 8,
        }
    }
}

/// How many elements a pointer parameter covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Count {
    /// From the registry's `len`: `param * factor`, or a constant.
    Param {
        param: String,
        factor: u64,
    },
    Const(u64),
    /// A hand-written sizing rule (a client method call), checked by the validator.
    Hand(String),
}

impl Count {
    pub fn is_hand(&self) -> bool {
        matches!(self, Count::Hand(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Scalar(Ty),
    /// A pointer-sized opaque value (GLsync, EGL handles, callbacks): a u64 on the wire.
    Handle,
    In {
        elem: Ty,
        count: Count,
        nullable: bool,
    },
    /// `length`: the parameter that gives its length when not negative (the client
    /// copies that many bytes and adds the NUL).
    Str {
        nullable: bool,
        length: Option<String>,
    },
    StrList {
        count: Count,
    },
    Ref {
        count: Count,
        buffer: String,
    },
    Offset,
    Out {
        elem: Ty,
        count: Count,
    },
    OutRef {
        count: Count,
        buffer: String,
    },
    Skip,
    /// EGL attribute list (`EGLint` or `EGLAttrib`), terminated by `EGL_NONE`.
    AttribList {
        elem: Ty,
    },
}

impl Kind {
    /// True when the registry's `len` alone cannot describe this parameter.
    pub fn is_hand(&self) -> bool {
        match self {
            Kind::Scalar(_) | Kind::Handle => false,
            Kind::In { count, .. } | Kind::Out { count, .. } => count.is_hand(),
            Kind::Str { .. }
            | Kind::StrList { .. }
            | Kind::Ref { .. }
            | Kind::Offset
            | Kind::OutRef { .. }
            | Kind::Skip
            | Kind::AttribList { .. } => true,
        }
    }

    /// An array whose element count a hand rule gives: the receiver cannot check it
    /// against another argument, so the server's validator must.
    pub fn hand_counted(&self) -> bool {
        match self {
            Kind::In { count, .. } | Kind::Out { count, .. } | Kind::Ref { count, .. } | Kind::OutRef { count, .. } => {
                count.is_hand()
            }
            _ => false,
        }
    }

    pub fn is_pointer(&self) -> bool {
        !matches!(self, Kind::Scalar(_) | Kind::Handle)
    }

    pub fn is_out(&self) -> bool {
        matches!(self, Kind::Out { .. } | Kind::OutRef { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ret {
    Void,
    Scalar(Ty),
    Handle,
    /// `const GLubyte *` / `const char *`: a string the client keeps alive.
    Str,
    /// `void *` (glMapBufferRange): bytes, or NULL.
    Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Gles,
    Egl,
}

#[derive(Debug, Clone)]
pub struct P {
    pub name: String,
    pub cty: CType,
    pub kind: Kind,
    /// The namespace (`Namespace` variant in `wire::names`) of an object name this
    /// parameter holds, when the generated code maps it; `None` otherwise.
    pub names: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sizing {
    /// No pointer parameters.
    Scalar,
    /// Every pointer sized from the registry's `len`.
    Len,
    /// At least one pointer sized or shaped by hand (annotations).
    Hand,
}

impl Sizing {
    pub fn label(self) -> &'static str {
        match self {
            Sizing::Scalar => "scalar",
            Sizing::Len => "len",
            Sizing::Hand => "hand",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Cmd {
    pub api: Api,
    pub c_name: String,
    /// CamelCase without the `gl` prefix (`Uniform4fv`; EGL keeps `Egl`).
    pub rust: String,
    pub opcode: u32,
    pub cret: CType,
    pub ret: Ret,
    pub params: Vec<P>,
    pub sync: bool,
    pub sizing: Sizing,
    pub note: Option<String>,
    /// The ICD writes this entry point by hand.
    pub icd_hand: bool,
    /// The GLES extension that adds this command; `None` for core commands and EGL.
    pub extension: Option<String>,
    /// glwire's own command (annotations' `private`): neither a program's entry point
    /// nor a host function; the ICD and the server's executor use it by hand.
    pub private: bool,
    /// glGen*: the client chose the names (annotation kind `names`); the server makes
    /// host names for them, so the host function is never called with these arguments.
    pub client_names: bool,
}

impl Cmd {
    pub fn wire_params(&self) -> impl Iterator<Item = &P> {
        self.params.iter().filter(|p| p.kind != Kind::Skip)
    }
    pub fn has_lifetime(&self) -> bool {
        self.wire_params().any(|p| {
            matches!(
                p.kind,
                Kind::In { .. } | Kind::Str { .. } | Kind::StrList { .. } | Kind::Ref { .. } | Kind::AttribList { .. }
            )
        })
    }
    pub fn reply_has_lifetime(&self) -> bool {
        matches!(self.ret, Ret::Str | Ret::Bytes) || self.params.iter().any(|p| p.kind.is_out())
    }
}

#[derive(Debug)]
pub struct Model {
    pub commands: Vec<Cmd>,
    pub pnames: BTreeMap<String, Vec<(String, u32, PnameCount)>>,
    /// Opcode registry lines, to write back (append-only).
    pub opcode_lines: Vec<(u32, String)>,
    /// Extension entry points that are another command under a vendor suffix
    /// (`glDrawElementsBaseVertexOES` → `glDrawElementsBaseVertex`): `(alias, target)`.
    pub aliases: Vec<(String, String)>,
    /// Extension entry points the ICD implements by hand over forwarded commands.
    pub client_commands: Vec<String>,
    /// The GLES extensions glwire offers, sorted.
    pub extensions: Vec<String>,
}

/// Vendor suffixes an extension command's name ends with.
const VENDOR_SUFFIXES: [&str; 14] =
    ["OES", "EXT", "KHR", "ARB", "NV", "ANGLE", "APPLE", "MESA", "ANDROID", "ARM", "INTEL", "QCOM", "IMG", "AMD"];

/// The name without its vendor suffix (`glTextureViewOES` → `glTextureView`).
fn unsuffixed(name: &str) -> Option<&str> {
    VENDOR_SUFFIXES.iter().find_map(|s| name.strip_suffix(s)).filter(|base| base.len() > 2)
}

/// How a C type is passed: two commands with equal shapes can share an entry point
/// (`GLenum` and `GLint` are both 32-bit integers in registers).
fn abi_shape(t: &CType) -> String {
    if t.pointers > 0 {
        return format!("ptr{}", t.pointers);
    }
    if is_handle(&t.base) {
        return "ptr0".to_owned();
    }
    match scalar_ty(&t.base) {
        Some(Ty::F32) => "f32".to_owned(),
        Some(ty) => format!("int{}", ty.size()),
        None => t.base.clone(),
    }
}

fn same_abi(a: &Command, b: &Command) -> bool {
    abi_shape(&a.ret) == abi_shape(&b.ret)
        && a.params.len() == b.params.len()
        && a.params.iter().zip(&b.params).all(|(x, y)| abi_shape(&x.ty) == abi_shape(&y.ty))
}

/// The forwarded extensions' commands, split into new commands, aliases of core or of
/// another new command, and the ICD's client-side ones.
struct ExtensionCommands {
    /// `(command, extension)`, in the order of `forward`.
    new: Vec<(String, String)>,
    aliases: Vec<(String, String)>,
    client: Vec<String>,
}

fn extension_commands(reg: &Registry, ann: &Annotations) -> Result<ExtensionCommands, String> {
    let mut out = ExtensionCommands { new: Vec::new(), aliases: Vec::new(), client: Vec::new() };
    let mut seen = std::collections::BTreeSet::new();
    for ext in &ann.extensions.forward {
        if !seen.insert(ext.as_str()) {
            return Err(format!("annotations: extension {ext} listed twice"));
        }
        let commands = reg
            .gles_extensions
            .get(ext)
            .ok_or_else(|| format!("annotations: {ext} is not a GLES extension in gl.xml"))?;
        for name in commands {
            let known = reg.gles_core.contains(name)
                || out.new.iter().any(|(n, _)| n == name)
                || out.aliases.iter().any(|(n, _)| n == name)
                || out.client.contains(name);
            if known {
                continue;
            }
            if ann.extensions.client.contains(name) {
                out.client.push(name.clone());
                continue;
            }
            let cmd = reg.gl.get(name).ok_or_else(|| format!("gl.xml has no {name}"))?;
            let base = unsuffixed(name);
            let target = base.and_then(|base| {
                let same = |other: &str| reg.gl.get(other).is_some_and(|o| same_abi(cmd, o));
                if reg.gles_core.iter().any(|c| c == base) && same(base) {
                    return Some(base.to_owned());
                }
                out.new.iter().map(|(n, _)| n).find(|n| unsuffixed(n) == Some(base) && same(n)).cloned()
            });
            match target {
                Some(t) => out.aliases.push((name.clone(), t)),
                None => out.new.push((name.clone(), ext.clone())),
            }
        }
    }
    for ext in &ann.extensions.without_commands {
        if reg.gles_extensions.contains_key(ext) || ann.extensions.forward.contains(ext) {
            return Err(format!("annotations: {ext} is in gl.xml; list it in `forward`"));
        }
    }
    for name in &ann.extensions.client {
        if !out.client.contains(name) {
            return Err(format!("annotations: client command {name} is in no forwarded extension"));
        }
    }
    Ok(out)
}

pub const EGL_OPCODE_BASE: u32 = 0x1000;

/// Rust-safe snake_case for a registry parameter name.
pub fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    match out.as_str() {
        "type" | "ref" | "in" | "fn" | "match" | "loop" | "mod" | "use" | "impl" | "struct" | "self" | "box" => {
            out + "_"
        }
        _ => out,
    }
}

fn scalar_ty(base: &str) -> Option<Ty> {
    Some(match base {
        "GLenum" | "GLbitfield" | "GLuint" | "EGLBoolean" | "EGLenum" => Ty::U32,
        "GLboolean" | "GLubyte" | "GLchar" | "void" | "char" => Ty::U8,
        "GLbyte" => Ty::I8,
        "GLshort" => Ty::I16,
        "GLushort" | "GLhalf" => Ty::U16,
        "GLint" | "GLsizei" | "GLfixed" | "GLclampx" | "EGLint" => Ty::I32,
        "GLfloat" | "GLclampf" => Ty::F32,
        "GLintptr" | "GLsizeiptr" | "GLint64" | "EGLAttrib" | "EGLAttribKHR" => Ty::I64,
        "GLuint64" | "EGLTime" | "EGLTimeKHR" | "EGLuint64KHR" => Ty::U64,
        _ => return None,
    })
}

fn is_handle(base: &str) -> bool {
    matches!(
        base,
        "GLsync"
            | "GLDEBUGPROC"
            | "GLDEBUGPROCKHR"
            | "GLeglImageOES"
            | "EGLDisplay"
            | "EGLConfig"
            | "EGLContext"
            | "EGLSurface"
            | "EGLSync"
            | "EGLSyncKHR"
            | "EGLImage"
            | "EGLImageKHR"
            | "EGLClientBuffer"
            | "EGLNativeWindowType"
            | "EGLNativePixmapType"
            | "EGLNativeDisplayType"
    )
}

fn parse_len(cmd: &Command, len: &str) -> Option<Count> {
    if let Ok(k) = len.parse::<u64>() {
        return Some(Count::Const(k));
    }
    let (param, factor) = match len.split_once('*') {
        Some((p, k)) => (p, k.parse::<u64>().ok()?),
        None => (len, 1),
    };
    let p = cmd.params.iter().find(|p| p.name == param && p.ty.pointers == 0)?;
    Some(Count::Param { param: snake(&p.name), factor })
}

fn elem_ty(cmd: &str, p: &Param) -> Result<Ty, String> {
    if p.ty.pointers == 2 {
        // `void **`: a pointer value comes back.
        return Ok(Ty::U64);
    }
    if is_handle(&p.ty.base) {
        return Ok(Ty::U64);
    }
    scalar_ty(&p.ty.base).ok_or_else(|| format!("{cmd}.{}: no wire type for `{}`", p.name, p.ty.base))
}

fn count_for(cmd: &Command, p: &Param, ann: Option<&ParamAnn>) -> Result<Count, String> {
    if let Some(size) = ann.and_then(|a| a.size.as_ref()) {
        return Ok(Count::Hand(size.clone()));
    }
    let len = ann.and_then(|a| a.len.as_deref()).or(p.len.as_deref());
    let len = len.ok_or_else(|| format!("{}.{}: no `len` in the registry; annotate a `size`", cmd.name, p.name))?;
    parse_len(cmd, len).ok_or_else(|| format!("{}.{}: len=\"{len}\" needs a hand `size` annotation", cmd.name, p.name))
}

fn classify(cmd: &Command, p: &Param, ann: Option<&ParamAnn>) -> Result<Kind, String> {
    let here = format!("{}.{}", cmd.name, p.name);
    if let Some(a) = ann {
        let buffer = || a.buffer.clone().ok_or_else(|| format!("{here}: kind {:?} needs `buffer`", a.kind));
        return Ok(match a.kind {
            ParamKindAnn::In => {
                Kind::In { elem: elem_ty(&cmd.name, p)?, count: count_for(cmd, p, ann)?, nullable: a.nullable }
            }
            ParamKindAnn::Out => Kind::Out { elem: elem_ty(&cmd.name, p)?, count: count_for(cmd, p, ann)? },
            ParamKindAnn::Str => Kind::Str { nullable: a.nullable, length: a.len.as_deref().map(snake) },
            ParamKindAnn::StrList => Kind::StrList { count: count_for(cmd, p, ann)? },
            ParamKindAnn::Ref => Kind::Ref { count: count_for(cmd, p, ann)?, buffer: buffer()? },
            ParamKindAnn::OutRef => Kind::OutRef { count: count_for(cmd, p, ann)?, buffer: buffer()? },
            ParamKindAnn::Offset => Kind::Offset,
            ParamKindAnn::Handle => Kind::Handle,
            ParamKindAnn::Skip => Kind::Skip,
            ParamKindAnn::AttribList => Kind::AttribList { elem: elem_ty(&cmd.name, p)? },
            ParamKindAnn::Names => {
                if p.ty.base != "GLuint" || p.ty.pointers != 1 {
                    return Err(format!("{here}: kind \"names\" is for GLuint arrays"));
                }
                Kind::In { elem: Ty::U32, count: count_for(cmd, p, ann)?, nullable: false }
            }
        });
    }
    let ty = &p.ty;
    if ty.pointers == 0 {
        if is_handle(&ty.base) {
            return Ok(Kind::Handle);
        }
        return scalar_ty(&ty.base)
            .map(Kind::Scalar)
            .ok_or_else(|| format!("{here}: unknown scalar type `{}`", ty.base));
    }
    let len = p.len.as_deref();
    if ty.base == "GLchar"
        && ty.is_const
        && ty.pointers == 1
        && matches!(len, None | Some("COMPSIZE(name)") | Some("COMPSIZE()"))
    {
        return Ok(Kind::Str { nullable: false, length: None });
    }
    let simple = len.and_then(|l| parse_len(cmd, l));
    match (ty.pointers, ty.is_const, simple) {
        (1, true, Some(count)) => Ok(Kind::In { elem: elem_ty(&cmd.name, p)?, count, nullable: false }),
        (1, false, Some(count)) | (2, false, Some(count)) => Ok(Kind::Out { elem: elem_ty(&cmd.name, p)?, count }),
        _ => Err(format!("{here} (`{}`, len={len:?}) needs an annotation", ty.text)),
    }
}

fn ret_of(cmd: &Command) -> Result<Ret, String> {
    let r = &cmd.ret;
    Ok(match (r.base.as_str(), r.pointers) {
        ("void", 0) => Ret::Void,
        ("void", 1) => Ret::Bytes,
        ("GLubyte" | "char", 1) => Ret::Str,
        (b, 0) if is_handle(b) => Ret::Handle,
        (b, 0) => Ret::Scalar(scalar_ty(b).ok_or_else(|| format!("{}: unknown return type {b}", cmd.name))?),
        _ => return Err(format!("{}: unsupported return type `{}`", cmd.name, r.text)),
    })
}

/// `glGetIntegeri_v` → `GetIntegeriV`, `eglSwapBuffers` → `EglSwapBuffers`.
fn rust_name(c_name: &str) -> String {
    let rest = c_name.strip_prefix("gl").unwrap_or(c_name);
    let mut out = String::new();
    let mut upper = true;
    for ch in rest.chars() {
        if ch == '_' {
            upper = true;
        } else if upper {
            out.push(ch.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(ch);
        }
    }
    out
}

/// The namespaces `wire::names::Namespace` has, as the annotations spell them.
const NAMESPACES: [(&str, &str); 10] = [
    ("buffer", "Buffer"),
    ("texture", "Texture"),
    ("renderbuffer", "Renderbuffer"),
    ("sampler", "Sampler"),
    ("program", "Program"),
    ("framebuffer", "Framebuffer"),
    ("vertex_array", "VertexArray"),
    ("query", "Query"),
    ("transform_feedback", "TransformFeedback"),
    ("pipeline", "Pipeline"),
];

/// Parameter names that may be an object name of a namespace the parameter name does
/// not tell: each such `GLuint` must be classified in `[names.commands]` or `hand`.
fn ambiguous_name(param: &str) -> bool {
    matches!(param, "id" | "ids" | "name" | "object") || param.ends_with("Name")
}

/// The namespace variant of `cmd.p` when it holds an object name the generated code
/// maps; `None` when it holds none or the server maps it by hand.
fn name_space(names: &NamesAnn, cmd: &str, p: &Param) -> Result<Option<String>, String> {
    if p.ty.base != "GLuint" || p.ty.pointers > 1 {
        return Ok(None);
    }
    let key = format!("{cmd}.{}", p.name);
    if names.hand.contains(&key) {
        return Ok(None);
    }
    let spelled = match names.commands.get(&key).or_else(|| names.params.get(&p.name)) {
        Some(s) if s == "none" => return Ok(None),
        Some(s) => s,
        None if ambiguous_name(&p.name) => {
            return Err(format!("{key} may be an object name: classify it in [names.commands] or [names] hand"))
        }
        None => return Ok(None),
    };
    let variant = NAMESPACES.iter().find(|(k, _)| k == spelled).map(|(_, v)| (*v).to_owned());
    variant.map(Some).ok_or_else(|| format!("[names]: {key}: unknown namespace `{spelled}`"))
}

fn build_cmd(api: Api, cmd: &Command, ann: Option<&CommandAnn>, names: &NamesAnn, opcode: u32) -> Result<Cmd, String> {
    if let Some(a) = ann {
        for key in a.params.keys() {
            if !cmd.params.iter().any(|p| &p.name == key) {
                return Err(format!("annotations: {} has no parameter `{key}`", cmd.name));
            }
        }
    }
    let mut params = Vec::new();
    // A `len` written into the annotations is hand knowledge even though it is checked
    // like a registry `len`.
    let mut len_by_hand = false;
    for p in &cmd.params {
        let pann = ann.and_then(|a| a.params.get(&p.name));
        len_by_hand |= pann.is_some_and(|a| a.len.is_some());
        let kind = classify(cmd, p, pann)?;
        let names = if api == Api::Gles { name_space(names, &cmd.name, p)? } else { None };
        if names.is_some() && kind.is_out() {
            return Err(format!("{}.{}: an output of object names: list it in [names] hand", cmd.name, p.name));
        }
        params.push(P { name: snake(&p.name), cty: p.ty.clone(), kind, names });
    }
    let client_names = ann.is_some_and(|a| a.params.values().any(|p| p.kind == ParamKindAnn::Names));
    if params.iter().filter(|p| p.names.is_some() && p.kind.is_pointer()).count() > 1 {
        return Err(format!("{}: more than one array of object names", cmd.name));
    }
    if params.iter().filter(|p| p.names.is_some() && !p.kind.is_pointer()).count() > 2 {
        return Err(format!("{}: more than two object names (`names_mut` returns two)", cmd.name));
    }
    let ret = ret_of(cmd)?;
    let any_ptr = params.iter().any(|p| p.kind.is_pointer());
    let sizing = if len_by_hand || params.iter().any(|p| p.kind.is_hand()) {
        Sizing::Hand
    } else if any_ptr {
        Sizing::Len
    } else {
        Sizing::Scalar
    };
    let sync = ann.and_then(|a| a.sync).unwrap_or(ret != Ret::Void || params.iter().any(|p| p.kind.is_out()));
    Ok(Cmd {
        api,
        c_name: cmd.name.clone(),
        rust: rust_name(&cmd.name),
        opcode,
        cret: cmd.ret.clone(),
        ret,
        params,
        sync,
        sizing,
        note: ann.and_then(|a| a.note.clone()),
        icd_hand: match ann.and_then(|a| a.icd.as_deref()) {
            None if client_names => {
                return Err(format!(
                    "annotations: {}: the ICD chooses names (kind \"names\"): icd = \"hand\"",
                    cmd.name
                ))
            }
            None => false,
            Some("hand") => true,
            Some(other) => {
                return Err(format!("annotations: {}: icd = \"{other}\" (only \"hand\" is known)", cmd.name))
            }
        },
        extension: None,
        private: false,
        client_names,
    })
}

/// Reads `opcodes.txt` (`<number> <name>` per line).
pub fn parse_opcodes(text: &str) -> Result<Vec<(u32, String)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (num, name) =
            line.split_once(' ').ok_or_else(|| format!("opcodes.txt:{}: expected `<number> <name>`", i + 1))?;
        let num = if let Some(h) = num.strip_prefix("0x") { u32::from_str_radix(h, 16) } else { num.parse() }
            .map_err(|e| format!("opcodes.txt:{}: {e}", i + 1))?;
        out.push((num, name.trim().to_owned()));
    }
    Ok(out)
}

/// Assigns opcodes append-only: known names keep their numbers; new ones get the next
/// free number of their API's range; a name that disappeared is an error, because
/// reusing its number would let an old peer's command mean something else.
fn assign_opcodes(existing: &[(u32, String)], gles: &[String], egl: &[String]) -> Result<Vec<(u32, String)>, String> {
    let mut lines = existing.to_vec();
    let mut seen = std::collections::BTreeSet::new();
    for (n, name) in &lines {
        if !seen.insert(*n) {
            return Err(format!("opcodes.txt: number {n:#x} used twice"));
        }
        if !gles.contains(name) && !egl.contains(name) {
            return Err(format!(
                "opcodes.txt: `{name}` ({n:#x}) is no longer generated; opcode numbers are append-only, so keep forwarding it or retire it explicitly"
            ));
        }
    }
    for (names, base) in [(gles, 1u32), (egl, EGL_OPCODE_BASE)] {
        for name in names {
            if lines.iter().any(|(_, n)| n == name) {
                continue;
            }
            let next = lines
                .iter()
                .map(|(n, _)| *n)
                .filter(|n| (base..base + EGL_OPCODE_BASE - 1).contains(n))
                .max()
                .map_or(base, |m| m + 1);
            lines.push((next, name.clone()));
        }
    }
    Ok(lines)
}

impl Model {
    pub fn build(reg: &Registry, ann: &Annotations, opcodes: &[(u32, String)]) -> Result<Self, String> {
        let ext = extension_commands(reg, ann)?;
        for key in ann.gles.keys() {
            if !reg.gles_core.contains(key) && !ext.new.iter().any(|(n, _)| n == key) {
                return Err(format!(
                    "annotations: [gles.{key}] is neither a GLES 3.2 core command nor a new command of a forwarded extension"
                ));
            }
        }
        let egl_names: Vec<String> = ann.egl.keys().cloned().collect();
        for key in ann.private.keys() {
            if !key.starts_with("glwire") || reg.gl.contains_key(key) {
                return Err(format!("annotations: [private.{key}]: glwire's own commands are named glwire…"));
            }
        }
        let gles_names: Vec<String> = reg
            .gles_core
            .iter()
            .cloned()
            .chain(ext.new.iter().map(|(n, _)| n.clone()))
            .chain(ann.private.keys().cloned())
            .collect();
        let lines = assign_opcodes(opcodes, &gles_names, &egl_names)?;
        let number =
            |name: &str| lines.iter().find(|(_, n)| n == name).map(|(k, _)| *k).ok_or(format!("no opcode for {name}"));
        let mut commands = Vec::new();
        for name in &reg.gles_core {
            let cmd = reg.gl.get(name).ok_or_else(|| format!("gl.xml has no {name}"))?;
            commands.push(build_cmd(Api::Gles, cmd, ann.gles.get(name), &ann.names, number(name)?)?);
        }
        for (name, extension) in &ext.new {
            let cmd = reg.gl.get(name).ok_or_else(|| format!("gl.xml has no {name}"))?;
            let mut built = build_cmd(Api::Gles, cmd, ann.gles.get(name), &ann.names, number(name)?)
                .map_err(|e| format!("{e} (from {extension})"))?;
            built.extension = Some(extension.clone());
            commands.push(built);
        }
        for (name, pann) in &ann.private {
            let sig =
                pann.signature.as_deref().ok_or_else(|| format!("annotations: [private.{name}] needs `signature`"))?;
            let mut cmd = reg.gl.get(sig).ok_or_else(|| format!("[private.{name}]: gl.xml has no {sig}"))?.clone();
            cmd.name = name.clone();
            let mut built = build_cmd(Api::Gles, &cmd, Some(pann), &ann.names, number(name)?)?;
            built.private = true;
            commands.push(built);
        }
        for name in &egl_names {
            let cmd = reg.egl.get(name).ok_or_else(|| format!("egl.xml has no {name}"))?;
            commands.push(build_cmd(Api::Egl, cmd, ann.egl.get(name), &ann.names, number(name)?)?);
        }
        commands.sort_by_key(|c| c.opcode);
        for key in ann.names.commands.keys().chain(&ann.names.hand) {
            let (cmd, param) = key.split_once('.').ok_or_else(|| format!("[names]: `{key}` is not glCommand.param"))?;
            let known = commands.iter().any(|c| c.c_name == cmd)
                && reg.gl.get(cmd).is_some_and(|c| c.params.iter().any(|p| p.name == param));
            if !known {
                return Err(format!("[names]: `{key}` is no forwarded command's parameter"));
            }
        }
        let mut pnames = BTreeMap::new();
        for (family, table) in &ann.pnames {
            let mut rows = Vec::new();
            for (name, count) in table {
                let value = *reg.gl_enums.get(name).ok_or_else(|| format!("pnames.{family}: unknown enum {name}"))?;
                if let PnameCount::From(other) = count {
                    if !reg.gl_enums.contains_key(other) {
                        return Err(format!("pnames.{family}.{name}: unknown enum {other}"));
                    }
                }
                rows.push((name.clone(), value as u32, count.clone()));
            }
            rows.sort_by_key(|r| r.1);
            if let Some(w) = rows.windows(2).find(|w| w[0].1 == w[1].1) {
                return Err(format!("pnames.{family}: {} and {} share the value {:#x}", w[0].0, w[1].0, w[0].1));
            }
            pnames.insert(family.clone(), rows);
        }
        let mut opcode_lines = lines;
        opcode_lines.sort();
        let mut extensions: Vec<String> =
            ann.extensions.forward.iter().chain(&ann.extensions.without_commands).cloned().collect();
        extensions.sort();
        Ok(Model { commands, pnames, opcode_lines, aliases: ext.aliases, client_commands: ext.client, extensions })
    }

    /// Every forwarded GLES command: core, then extensions.
    pub fn gles(&self) -> impl Iterator<Item = &Cmd> {
        self.commands.iter().filter(|c| c.api == Api::Gles)
    }

    /// The GLES 3.2 core commands.
    pub fn gles_core(&self) -> impl Iterator<Item = &Cmd> {
        self.gles().filter(|c| c.extension.is_none() && !c.private)
    }

    /// Forwarded GLES commands that are a host function (core and extensions; not
    /// glwire's own).
    pub fn gles_host(&self) -> impl Iterator<Item = &Cmd> {
        self.gles().filter(|c| !c.private)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_cases_and_escapes_keywords() {
        assert_eq!(snake("bufSize"), "buf_size");
        assert_eq!(snake("type"), "type_");
        assert_eq!(snake("uniformBlockIndex"), "uniform_block_index");
    }

    #[test]
    fn opcodes_are_append_only() {
        let existing = vec![(1, "glA".to_owned()), (2, "glB".to_owned())];
        let gles = vec!["glB".to_owned(), "glC".to_owned(), "glA".to_owned()];
        let lines = assign_opcodes(&existing, &gles, &[]).unwrap();
        assert_eq!(lines, vec![(1, "glA".into()), (2, "glB".into()), (3, "glC".into())]);
        let err = assign_opcodes(&existing, &["glA".to_owned()], &[]).unwrap_err();
        assert!(err.contains("append-only"), "{err}");
    }

    #[test]
    fn vendor_suffixes_come_off() {
        assert_eq!(unsuffixed("glTextureViewOES"), Some("glTextureView"));
        assert_eq!(unsuffixed("glDebugMessageCallbackKHR"), Some("glDebugMessageCallback"));
        assert_eq!(unsuffixed("glViewport"), None);
    }

    #[test]
    fn extension_commands_alias_core_or_become_new_commands() {
        let m = crate::emit::load_model(&crate::repo_root()).unwrap();
        let alias = |name: &str| m.aliases.iter().find(|(a, _)| a == name).map(|(_, t)| t.as_str());
        // Same entry point under a suffix; GLenum and GLint parameters are alike.
        assert_eq!(alias("glDrawElementsBaseVertexOES"), Some("glDrawElementsBaseVertex"));
        assert_eq!(alias("glTexImage3DOES"), Some("glTexImage3D"));
        // Not in core: one new command, and the other vendor's name aliases it.
        let new = |name: &str| m.gles().any(|c| c.c_name == name && c.extension.is_some());
        assert!(
            (new("glTextureViewEXT") && alias("glTextureViewOES") == Some("glTextureViewEXT"))
                || (new("glTextureViewOES") && alias("glTextureViewEXT") == Some("glTextureViewOES"))
        );
        assert!(m.gles_core().all(|c| c.extension.is_none()));
        assert_eq!(m.gles_core().count(), 358);
    }

    #[test]
    fn duplicate_numbers_are_refused() {
        let existing = vec![(1, "glA".to_owned()), (1, "glB".to_owned())];
        let gles = vec!["glA".to_owned(), "glB".to_owned()];
        assert!(assign_opcodes(&existing, &gles, &[]).unwrap_err().contains("used twice"));
    }
}
