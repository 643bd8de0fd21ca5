//! Prints `wire::commands::generated`: the opcode enum, and per command its fixed
//! argument layout (with a size assert), its decoded view, encoder and decoder, its reply
//! (for synchronous commands), and the random samplers the property tests use.

use super::{Out, HEADER};
use crate::model::{Api, Cmd, Count, Kind, Model, Ret, Sizing, Ty, P};

/// One field of a fixed-layout struct.
struct Field {
    name: String,
    ty: String,
    size: usize,
}

fn ty_field(name: &str, ty: Ty) -> Field {
    Field { name: name.to_owned(), ty: ty.rust().to_owned(), size: ty.size() }
}

fn u32_field(name: String) -> Field {
    Field { name, ty: "u32".into(), size: 4 }
}

fn u64_field(name: String) -> Field {
    Field { name, ty: "u64".into(), size: 8 }
}

/// The wire fields of a command's fixed part, in parameter order.
fn arg_fields(c: &Cmd) -> Vec<Field> {
    let mut f = Vec::new();
    for p in c.wire_params() {
        let n = &p.name;
        match &p.kind {
            Kind::Scalar(ty) => f.push(ty_field(n, *ty)),
            Kind::Handle | Kind::Offset => f.push(u64_field(n.clone())),
            Kind::In { .. } | Kind::Str { .. } | Kind::StrList { .. } | Kind::AttribList { .. } => {
                f.push(u32_field(format!("{n}_len")))
            }
            Kind::Ref { .. } => {
                f.push(u32_field(format!("{n}_len")));
                f.push(u64_field(format!("{n}_off")));
            }
            Kind::Out { .. } => f.push(u32_field(format!("{n}_cap"))),
            Kind::OutRef { .. } => {
                f.push(u32_field(format!("{n}_cap")));
                f.push(u64_field(format!("{n}_off")));
            }
            Kind::Skip => {}
        }
    }
    f
}

fn reply_fields(c: &Cmd) -> Vec<Field> {
    let mut f = Vec::new();
    match c.ret {
        Ret::Void => {}
        Ret::Scalar(ty) => f.push(ty_field("ret", ty)),
        Ret::Handle => f.push(u64_field("ret".into())),
        Ret::Str | Ret::Bytes => f.push(u32_field("ret_len".into())),
    }
    for p in c.params.iter().filter(|p| p.kind.is_out()) {
        f.push(u32_field(format!("{}_len", p.name)));
    }
    f
}

/// Emits a `#[repr(C)]` struct with explicit padding so it has no implicit padding (a
/// zerocopy `IntoBytes` requirement) and a size that is a multiple of 8.
fn emit_struct(o: &mut Out, name: &str, doc: &str, fields: &[Field]) {
    o.line(format!("/// {doc}"));
    o.line("#[derive(Debug, Clone, Copy, Default, PartialEq, FromBytes, IntoBytes, Immutable, KnownLayout)]");
    o.line("#[repr(C)]");
    o.line(format!("pub struct {name} {{"));
    let mut off = 0usize;
    let mut pads = 0;
    let mut pad = |o: &mut Out, to: usize, off: &mut usize| {
        if *off % to != 0 {
            let n = to - *off % to;
            o.line(format!("    pub _pad{pads}: [u8; {n}],"));
            pads += 1;
            *off += n;
        }
    };
    for f in fields {
        pad(o, f.size, &mut off);
        o.line(format!("    pub {}: {},", f.name, f.ty));
        off += f.size;
    }
    pad(o, 8, &mut off);
    o.line("}");
    o.line(format!("const _: () = assert!(size_of::<{name}>() == {off});"));
}

/// The struct literal's padding fields, which must be zero.
fn pad_inits(fields: &[Field]) -> Vec<String> {
    let mut off = 0usize;
    let mut out = Vec::new();
    let mut pads = 0;
    let mut pad = |to: usize, off: &mut usize, out: &mut Vec<String>| {
        if *off % to != 0 {
            let n = to - *off % to;
            out.push(format!("_pad{pads}: [0; {n}]"));
            pads += 1;
            *off += n;
        }
    };
    for f in fields {
        pad(f.size, &mut off, &mut out);
        off += f.size;
    }
    pad(8, &mut off, &mut out);
    out
}

/// A decoder line rejecting non-zero padding, if the struct has any. The padding is
/// compared by value (`_pad0 != [0; 4]`), never borrowed: a borrow kept the whole
/// argument struct in memory, and the server's short path then reloaded each argument
/// from a store it could not forward, a stall per command.
fn pad_check(o: &mut Out, c_name: &str, fields: &[Field], var: &str) {
    let pads = pad_inits(fields);
    if !pads.is_empty() {
        let list: Vec<String> = pads
            .iter()
            .filter_map(|init| init.split_once(": "))
            .map(|(name, zero)| format!("{var}.{name} != {zero}"))
            .collect();
        o.line(format!("        if {} {{", list.join(" || ")));
        o.line(format!("            return Err(DecodeError::NonCanonical {{ name: \"{c_name}\" }});"));
        o.line("        }");
    }
}

/// An `Expect` expression for a count, reading parameters through `prefix`.
fn expect(count: &Count, prefix: &str) -> String {
    match count {
        Count::Param { param, factor: 1 } => format!("Expect::from_len(len_of({prefix}{param}))"),
        Count::Param { param, factor } => format!("Expect::from_len(len_mul(len_of({prefix}{param}), {factor}))"),
        Count::Const(k) => format!("Expect::Exactly({k})"),
        Count::Hand(_) => "Expect::Any".into(),
    }
}

fn lt(has: bool) -> &'static str {
    if has {
        "<'a>"
    } else {
        ""
    }
}

fn view_field_ty(kind: &Kind) -> Option<String> {
    Some(match kind {
        Kind::Scalar(ty) => ty.rust().into(),
        Kind::Handle | Kind::Offset => "u64".into(),
        Kind::In { elem, nullable: false, .. } => format!("&'a [{}]", elem.rust()),
        Kind::In { elem, nullable: true, .. } | Kind::AttribList { elem } => format!("Option<&'a [{}]>", elem.rust()),
        Kind::Str { nullable: false, .. } => "&'a CStr".into(),
        Kind::Str { nullable: true, .. } => "Option<&'a CStr>".into(),
        Kind::StrList { .. } => "StrList<'a>".into(),
        Kind::Ref { .. } => "DataRef<'a>".into(),
        Kind::Out { .. } => "Option<u32>".into(),
        Kind::OutRef { .. } => "OutRef".into(),
        Kind::Skip => return None,
    })
}

fn doc_kind(kind: &Kind) -> String {
    let count = |c: &Count| match c {
        Count::Param { param, factor: 1 } => format!("`{param}` elements"),
        Count::Param { param, factor } => format!("`{param}*{factor}` elements"),
        Count::Const(k) => format!("{k} elements"),
        Count::Hand(rule) => format!("sized by hand: `{rule}`"),
    };
    match kind {
        Kind::In { count: c, .. } => format!("input, {}", count(c)),
        Kind::Out { count: c, .. } => format!("output capacity in elements (None = NULL); {}", count(c)),
        Kind::Ref { count: c, buffer } => {
            format!("client bytes, NULL, or an offset into the {buffer} buffer; {}", count(c))
        }
        Kind::OutRef { count: c, buffer } => {
            format!("reply bytes, NULL, or an offset into the {buffer} buffer; {}", count(c))
        }
        Kind::StrList { count: c } => format!("strings, {}", count(c)),
        Kind::Str { .. } => "NUL-terminated string".into(),
        Kind::AttribList { .. } => "attribute list ended by EGL_NONE, or NULL".into(),
        Kind::Offset => "a buffer offset (the pointer's value)".into(),
        Kind::Handle => "an opaque pointer-sized handle".into(),
        Kind::Scalar(_) | Kind::Skip => String::new(),
    }
}

/// `match {scrutinee} { ... }` at `indent`, one arm per command.
fn emit_match(o: &mut Out, indent: &str, scrutinee: &str, m: &Model, arm: impl Fn(&Cmd) -> String) {
    o.line(format!("{indent}match {scrutinee} {{"));
    for c in &m.commands {
        o.line(format!("{indent}    {}", arm(c)));
    }
    o.line(format!("{indent}}}"));
}

fn emit_command(o: &mut Out, c: &Cmd) {
    let name = &c.rust;
    let args = format!("{name}Args");
    let fields = arg_fields(c);
    let l = lt(c.has_lifetime());
    o.line(format!("// ---- {} ({:#06x})", c.c_name, c.opcode));
    o.line("");
    emit_struct(o, &args, &format!("Fixed arguments of `{}` on the wire.", c.c_name), &fields);
    o.line("");
    o.line(format!(
        "/// `{}`: {}, {}.",
        c.c_name,
        if c.sync { "synchronous" } else { "asynchronous" },
        c.sizing.label()
    ));
    if let Some(note) = &c.note {
        o.line("///");
        o.line(format!("/// {note}"));
    }
    o.line("#[derive(Debug, Clone, Copy, PartialEq)]");
    o.line(format!("pub struct {name}{l} {{"));
    for p in c.wire_params() {
        let d = doc_kind(&p.kind);
        if !d.is_empty() {
            o.line(format!("    /// {d}"));
        }
        if let Some(t) = view_field_ty(&p.kind) {
            o.line(format!("    pub {}: {t},", p.name));
        }
    }
    o.line("}");
    o.line("");
    o.line(format!("impl{l} {name}{l} {{"));
    o.line(format!("    pub const OPCODE: Opcode = Opcode::{name};"));
    o.line("");
    // Encoder. One with no inline data is a few stores once inlined (the client's typed
    // submit inlines it into each entry point).
    if !c.has_lifetime() {
        o.line("    #[inline]");
    }
    o.line("    pub fn encode<S: Sink + ?Sized>(&self, buf: &mut S) -> Result<(), EncodeError> {");
    o.line(format!("        const K: u32 = Opcode::{name} as u32;"));
    let mut sizes = Vec::new();
    let mut writes = Vec::new();
    let mut inits = Vec::new();
    for p in c.wire_params() {
        let n = &p.name;
        match &p.kind {
            Kind::Scalar(_) | Kind::Handle | Kind::Offset => inits.push(format!("{n}: self.{n}")),
            Kind::In { count, nullable, .. } => {
                let ex = expect(count, "self.");
                let opt = if *nullable { format!("self.{n}") } else { format!("Some(self.{n})") };
                if !count.is_hand() {
                    o.line(format!("        if let Some(v) = {opt} {{ check_count(K, \"{n}\", {ex}, v.len())?; }}"));
                }
                o.line(format!("        let ({n}_len, {n}_bytes) = put::array_len(K, {opt})?;"));
                sizes.push(format!("{n}_bytes"));
                writes.push(format!("put::array(&mut w, {opt})?;"));
                inits.push(format!("{n}_len"));
            }
            Kind::AttribList { .. } => {
                o.line(format!("        let ({n}_len, {n}_bytes) = put::array_len(K, self.{n})?;"));
                sizes.push(format!("{n}_bytes"));
                writes.push(format!("put::array(&mut w, self.{n})?;"));
                inits.push(format!("{n}_len"));
            }
            Kind::Str { nullable, .. } => {
                let opt = if *nullable { format!("self.{n}") } else { format!("Some(self.{n})") };
                o.line(format!("        let ({n}_len, {n}_bytes) = put::cstr_len(K, {opt})?;"));
                sizes.push(format!("{n}_bytes"));
                writes.push(format!("put::cstr(&mut w, {opt})?;"));
                inits.push(format!("{n}_len"));
            }
            Kind::StrList { count } => {
                if !count.is_hand() {
                    o.line(format!("        check_count(K, \"{n}\", {}, self.{n}.len())?;", expect(count, "self.")));
                }
                o.line(format!("        let ({n}_len, {n}_bytes) = put::str_list_len(K, &self.{n})?;"));
                sizes.push(format!("{n}_bytes"));
                writes.push(format!("put::str_list(&mut w, &self.{n})?;"));
                inits.push(format!("{n}_len"));
            }
            Kind::Ref { count, .. } => {
                if !count.is_hand() {
                    o.line(format!(
                        "        if let DataRef::Inline(b) = self.{n} {{ check_count(K, \"{n}\", {}, b.len())?; }}",
                        expect(count, "self.")
                    ));
                }
                o.line(format!("        let ({n}_len, {n}_off, {n}_bytes) = put::data_ref_len(K, &self.{n})?;"));
                sizes.push(format!("{n}_bytes"));
                writes.push(format!("put::data_ref(&mut w, &self.{n})?;"));
                inits.push(format!("{n}_len"));
                inits.push(format!("{n}_off"));
            }
            Kind::Out { count, .. } => {
                if !count.is_hand() {
                    o.line(format!(
                        "        if let Some(c) = self.{n} {{ check_count(K, \"{n}\", {}, c as usize)?; }}",
                        expect(count, "self.")
                    ));
                }
                inits.push(format!("{n}_cap: put::out_cap(self.{n})"));
            }
            Kind::OutRef { count, .. } => {
                if !count.is_hand() {
                    o.line(format!(
                        "        if let OutRef::Reply(c) = self.{n} {{ check_count(K, \"{n}\", {}, c as usize)?; }}",
                        expect(count, "self.")
                    ));
                }
                o.line(format!("        let ({n}_cap, {n}_off) = put::out_ref(&self.{n});"));
                inits.push(format!("{n}_cap"));
                inits.push(format!("{n}_off"));
            }
            Kind::Skip => {}
        }
    }
    inits.extend(pad_inits(&fields));
    o.line(format!("        let args = {args} {{ {} }};", inits.join(", ")));
    o.line(format!("        let payload = put::total(K, &[{}])?;", sizes.join(", ")));
    let mut_w = if writes.is_empty() { "" } else { "mut " };
    o.line(format!("        let {mut_w}w = begin(buf, K, args.as_bytes(), payload)?;"));
    for wr in &writes {
        o.line(format!("        {wr}"));
    }
    o.line("        w.finish()");
    o.line("    }");
    o.line("");
    // Decoder. Inline across crates: the server's short path decodes and calls in one
    // step (`backend_gles::encoded_fn`'s runners); called out of line, the decoded command
    // went back through memory in pieces and stalled on store forwarding.
    o.line("    #[inline(always)]");
    o.line(format!(
        "    pub fn decode(body: &{}[u8]) -> Result<Self, DecodeError> {{",
        if l.is_empty() { "" } else { "'a " }
    ));
    // Scalars, handles and offsets sit in the fixed part; everything else goes through
    // the reader (payloads, and output capacities it adds up).
    let uses_reader = c.wire_params().any(|p| !matches!(p.kind, Kind::Scalar(_) | Kind::Handle | Kind::Offset));
    let mut_r = if uses_reader { "mut " } else { "" };
    let a = if fields.is_empty() { "_a" } else { "a" };
    o.line(format!("        let ({a}, {mut_r}r) = Reader::start::<{args}>(\"{}\", body)?;", c.c_name));
    pad_check(o, &c.c_name, &fields, "a");
    let mut outs = Vec::new();
    for p in c.wire_params() {
        let n = &p.name;
        let line = match &p.kind {
            Kind::Scalar(_) | Kind::Handle | Kind::Offset => {
                outs.push(format!("{n}: a.{n}"));
                continue;
            }
            Kind::In { elem, count, nullable } => format!(
                "r.{}::<{}>(\"{n}\", a.{n}_len, {})?",
                if *nullable { "opt_array" } else { "array" },
                elem.rust(),
                expect(count, "a.")
            ),
            Kind::AttribList { elem } => format!("r.attrib_list::<{}>(\"{n}\", a.{n}_len)?", elem.rust()),
            Kind::Str { nullable, .. } => {
                format!("r.{}(\"{n}\", a.{n}_len)?", if *nullable { "opt_cstr" } else { "cstr" })
            }
            Kind::StrList { count } => format!("r.str_list(\"{n}\", a.{n}_len, {})?", expect(count, "a.")),
            Kind::Ref { count, .. } => format!("r.data_ref(\"{n}\", a.{n}_len, a.{n}_off, {})?", expect(count, "a.")),
            Kind::Out { elem, count } => {
                format!("r.out_cap(\"{n}\", a.{n}_cap, {}, {})?", elem.size(), expect(count, "a."))
            }
            Kind::OutRef { count, .. } => {
                format!("r.out_ref(\"{n}\", a.{n}_cap, a.{n}_off, 1, {})?", expect(count, "a."))
            }
            Kind::Skip => continue,
        };
        o.line(format!("        let {n} = {line};"));
        if let Kind::Str { nullable, length: Some(len) } = &p.kind {
            let s = if *nullable { n.clone() } else { format!("Some({n})") };
            o.line(format!("        r.check_str_length(\"{n}\", {s}, a.{len} as i64)?;"));
        }
        outs.push(n.clone());
    }
    o.line("        r.finish()?;");
    o.line(format!("        Ok(Self {{ {} }})", outs.join(", ")));
    o.line("    }");
    o.line("}");
    o.line("");
    if c.sync {
        emit_reply(o, c);
    }
}

fn emit_reply(o: &mut Out, c: &Cmd) {
    let name = format!("{}Reply", c.rust);
    let args = format!("{name}Args");
    let fields = reply_fields(c);
    let has_lt = c.reply_has_lifetime();
    let l = lt(has_lt);
    emit_struct(o, &args, &format!("Fixed part of the reply to `{}`.", c.c_name), &fields);
    o.line("");
    o.line(format!("/// The reply to `{}`.", c.c_name));
    o.line("#[derive(Debug, Clone, Copy, PartialEq)]");
    o.line(format!("pub struct {name}{l} {{"));
    match c.ret {
        Ret::Void => {}
        Ret::Scalar(ty) => o.line(format!("    pub ret: {},", ty.rust())),
        Ret::Handle => o.line("    pub ret: u64,"),
        Ret::Str => o.line("    pub ret: Option<&'a CStr>,"),
        Ret::Bytes => o.line("    pub ret: Option<&'a [u8]>,"),
    }
    for p in c.params.iter().filter(|p| p.kind.is_out()) {
        let t = match &p.kind {
            Kind::Out { elem, .. } => elem.rust(),
            _ => "u8",
        };
        o.line(format!("    pub {}: Option<&'a [{t}]>,", p.name));
    }
    o.line("}");
    o.line("");
    o.line(format!("impl{l} {name}{l} {{"));
    o.line("    pub fn encode<S: Sink + ?Sized>(&self, buf: &mut S) -> Result<(), EncodeError> {");
    o.line(format!("        const K: u32 = Opcode::{} as u32;", c.rust));
    let mut sizes = Vec::new();
    let mut writes = Vec::new();
    let mut inits = Vec::new();
    match c.ret {
        Ret::Void => {}
        Ret::Scalar(_) | Ret::Handle => inits.push("ret: self.ret".to_owned()),
        Ret::Str => {
            o.line("        let (ret_len, ret_bytes) = put::cstr_len(K, self.ret)?;");
            sizes.push("ret_bytes".to_owned());
            writes.push("put::cstr(&mut w, self.ret)?;".to_owned());
            inits.push("ret_len".to_owned());
        }
        Ret::Bytes => {
            o.line("        let (ret_len, ret_bytes) = put::array_len(K, self.ret)?;");
            sizes.push("ret_bytes".to_owned());
            writes.push("put::array(&mut w, self.ret)?;".to_owned());
            inits.push("ret_len".to_owned());
        }
    }
    for p in c.params.iter().filter(|p| p.kind.is_out()) {
        let n = &p.name;
        o.line(format!("        let ({n}_len, {n}_bytes) = put::array_len(K, self.{n})?;"));
        sizes.push(format!("{n}_bytes"));
        writes.push(format!("put::array(&mut w, self.{n})?;"));
        inits.push(format!("{n}_len"));
    }
    inits.extend(pad_inits(&fields));
    o.line(format!("        let args = {args} {{ {} }};", inits.join(", ")));
    o.line(format!("        let payload = put::total(K, &[{}])?;", sizes.join(", ")));
    let mut_w = if writes.is_empty() { "" } else { "mut " };
    o.line(format!("        let {mut_w}w = begin(buf, K, args.as_bytes(), payload)?;"));
    for wr in &writes {
        o.line(format!("        {wr}"));
    }
    o.line("        w.finish()");
    o.line("    }");
    o.line("");
    o.line(format!(
        "    pub fn decode(body: &{}[u8]) -> Result<Self, DecodeError> {{",
        if has_lt { "'a " } else { "" }
    ));
    let mut_r = if sizes.is_empty() { "" } else { "mut " };
    let a = if fields.is_empty() { "_a" } else { "a" };
    o.line(format!("        let ({a}, {mut_r}r) = Reader::start::<{args}>(\"{} reply\", body)?;", c.c_name));
    pad_check(o, &c.c_name, &fields, "a");
    let mut outs = Vec::new();
    match c.ret {
        Ret::Void => {}
        Ret::Scalar(_) | Ret::Handle => outs.push("ret: a.ret".to_owned()),
        Ret::Str => {
            o.line("        let ret = r.opt_cstr(\"ret\", a.ret_len)?;");
            outs.push("ret".to_owned());
        }
        Ret::Bytes => {
            o.line("        let ret = r.opt_array::<u8>(\"ret\", a.ret_len, Expect::Any)?;");
            outs.push("ret".to_owned());
        }
    }
    for p in c.params.iter().filter(|p| p.kind.is_out()) {
        let n = &p.name;
        let t = match &p.kind {
            Kind::Out { elem, .. } => elem.rust(),
            _ => "u8",
        };
        o.line(format!("        let {n} = r.opt_array::<{t}>(\"{n}\", a.{n}_len, Expect::Any)?;"));
        outs.push(n.clone());
    }
    o.line("        r.finish()?;");
    o.line(format!("        Ok(Self {{ {} }})", outs.join(", ")));
    o.line("    }");
    o.line("}");
    o.line("");
}

fn sample_scalar(ty: Ty) -> String {
    format!("e.{}()", ty.rust())
}

/// Parameters that size another parameter get small values, so samples stay small.
fn count_params(c: &Cmd) -> Vec<String> {
    let mut out = Vec::new();
    for p in &c.params {
        let count = match &p.kind {
            Kind::In { count, .. }
            | Kind::Out { count, .. }
            | Kind::StrList { count }
            | Kind::Ref { count, .. }
            | Kind::OutRef { count, .. } => count,
            _ => continue,
        };
        if let Count::Param { param, .. } = count {
            out.push(param.clone());
        }
    }
    out
}

fn emit_sample_command(o: &mut Out, c: &Cmd) {
    let counts = count_params(c);
    // (length parameter, string parameter, nullable)
    let str_lengths: Vec<(String, String, bool)> = c
        .params
        .iter()
        .filter_map(|p| match &p.kind {
            Kind::Str { nullable, length: Some(l) } => Some((l.clone(), p.name.clone(), *nullable)),
            _ => None,
        })
        .collect();
    o.line(format!("        Opcode::{} => {{", c.rust));
    // Scalars first: counts must exist before the arrays they size.
    for p in c.wire_params() {
        let n = &p.name;
        match &p.kind {
            Kind::Scalar(_) if str_lengths.iter().any(|(l, _, _)| l == n) => {}
            Kind::Scalar(ty) if counts.contains(n) => {
                let v = match ty {
                    Ty::U32 | Ty::U64 | Ty::U16 | Ty::U8 => format!("e.count().max(0) as {}", ty.rust()),
                    _ => format!("e.count() as {}", ty.rust()),
                };
                o.line(format!("            let p_{n} = {v};"));
            }
            Kind::Scalar(ty) => o.line(format!("            let p_{n} = {};", sample_scalar(*ty))),
            Kind::Handle | Kind::Offset => o.line(format!("            let p_{n} = e.u64();")),
            _ => {}
        }
    }
    for p in c.wire_params() {
        let n = &p.name;
        let v = match &p.kind {
            Kind::In { elem, count, nullable } => {
                let arr = format!("{{ let k = e.n_for({}); e.vec(arena, k, |e| {}) }}", expect(count, "p_"), sample_scalar(*elem));
                if *nullable {
                    format!("if e.u8() % 4 == 0 {{ None }} else {{ Some({arr}) }}")
                } else {
                    arr
                }
            }
            Kind::AttribList { elem } => format!("e.attribs::<{}>(arena)", elem.rust()),
            Kind::Str { nullable: false, .. } => "e.cstr(arena)".into(),
            Kind::Str { nullable: true, .. } => "if e.u8() % 4 == 0 { None } else { Some(e.cstr(arena)) }".into(),
            Kind::StrList { count } => format!("{{ let k = e.n_for({}); StrList::Borrowed(e.cstrs(arena, k)) }}", expect(count, "p_")),
            Kind::Ref { count, .. } => format!(
                "match e.u8() % 3 {{ 0 => DataRef::Null, 1 => DataRef::Offset(e.u64()), _ => {{ let k = e.n_for({}); DataRef::Inline(e.vec(arena, k, |e| e.u8())) }} }}",
                expect(count, "p_")
            ),
            Kind::Out { count, .. } => {
                format!("if e.u8() % 4 == 0 {{ None }} else {{ Some(e.n_for({}) as u32) }}", expect(count, "p_"))
            }
            Kind::OutRef { count, .. } => format!(
                "match e.u8() % 3 {{ 0 => OutRef::Null, 1 => OutRef::Offset(e.u64()), _ => OutRef::Reply(e.n_for({}) as u32) }}",
                expect(count, "p_")
            ),
            _ => continue,
        };
        o.line(format!("            let p_{n} = {v};"));
    }
    // A string's length argument is "up to the NUL" (-1) or its exact length.
    for (len, s, nullable) in &str_lengths {
        let strlen = if *nullable {
            format!("p_{s}.map_or(-1, |s| s.to_bytes().len() as i32)")
        } else {
            format!("p_{s}.to_bytes().len() as i32")
        };
        o.line(format!("            let p_{len} = if e.bool() {{ -1 }} else {{ {strlen} }};"));
    }
    let fields: Vec<String> = c.wire_params().map(|p| format!("{}: p_{}", p.name, p.name)).collect();
    o.line(format!("            Command::{}({} {{ {} }})", c.rust, c.rust, fields.join(", ")));
    o.line("        }");
}

fn emit_sample_reply(o: &mut Out, c: &Cmd) {
    o.line(format!("        Opcode::{} => {{", c.rust));
    let mut fields = Vec::new();
    match c.ret {
        Ret::Void => {}
        Ret::Scalar(ty) => fields.push(format!("ret: {}", sample_scalar(ty))),
        Ret::Handle => fields.push("ret: e.u64()".into()),
        Ret::Str => fields.push("ret: if e.u8() % 4 == 0 { None } else { Some(e.cstr(arena)) }".into()),
        Ret::Bytes => fields.push(
            "ret: if e.u8() % 4 == 0 { None } else { let k = e.len(); Some(e.vec(arena, k, |e| e.u8())) }".into(),
        ),
    }
    for p in c.params.iter().filter(|p| p.kind.is_out()) {
        let ty = match &p.kind {
            Kind::Out { elem, .. } => *elem,
            _ => Ty::U8,
        };
        fields.push(format!(
            "{}: if e.u8() % 4 == 0 {{ None }} else {{ let k = e.len(); Some(e.vec(arena, k, |e| {})) }}",
            p.name,
            sample_scalar(ty)
        ));
    }
    o.line(format!("            Some(Reply::{}({}Reply {{ {} }}))", c.rust, c.rust, fields.join(", ")));
    o.line("        }");
}

pub fn commands_file(m: &Model) -> String {
    let mut o = Out::default();
    o.0.push_str(HEADER);
    o.line("//! Per-command wire layouts, encoders and decoders for every forwarded GLES and EGL");
    o.line("//! command. See `super` for the framing rules these follow.");
    o.line("#![cfg_attr(rustfmt, rustfmt::skip)]");
    o.line("#![allow(clippy::all, unused_parens)]");
    o.line("");
    o.line("use core::ffi::CStr;");
    o.line("");
    o.line("use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};");
    o.line("");
    o.line("use crate::buf::{begin, Sink};");
    o.line("use crate::codec::{check_count, len_mul, len_of, put, split_message, DataRef, DecodeError, EncodeError, Expect, OutRef, Reader, StrList};");
    o.line("use super::{Api, CommandInfo, Sizing};");
    o.line("use crate::names::Namespace;");
    o.line("");
    // Opcodes.
    o.line("/// Every forwarded command's number. Append-only (see `codegen/opcodes.txt`): the");
    o.line("/// compiler refuses two variants with one number.");
    o.line("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]");
    o.line("#[repr(u32)]");
    o.line("pub enum Opcode {");
    for c in &m.commands {
        o.line(format!("    {} = {:#06x},", c.rust, c.opcode));
    }
    o.line("}");
    o.line("");
    o.line("/// Number of GLES core commands (all of GLES 2.0, 3.0, 3.1 and 3.2).");
    o.line(format!("pub const GLES_COMMANDS: usize = {};", m.gles_core().count()));
    o.line("");
    o.line("/// Number of forwarded GLES extension commands that are not a core command under");
    o.line("/// another name.");
    o.line(format!("pub const GLES_EXTENSION_COMMANDS: usize = {};", m.gles_host().count() - m.gles_core().count()));
    o.line("");
    o.line("/// The GLES extensions glwire offers, sorted: `GL_EXTENSIONS` lists those of them the");
    o.line("/// host has.");
    o.line(format!("pub const GLES_EXTENSIONS: [&str; {}] = [", m.extensions.len()));
    for e in &m.extensions {
        o.line(format!("    \"{e}\","));
    }
    o.line("];");
    o.line("");
    o.line("impl Opcode {");
    o.line(format!("    pub const ALL: [Opcode; {}] = [", m.commands.len()));
    for c in &m.commands {
        o.line(format!("        Opcode::{},", c.rust));
    }
    o.line("    ];");
    o.line("");
    o.line("    pub const fn from_u32(v: u32) -> Option<Self> {");
    o.line("        match v {");
    for c in &m.commands {
        o.line(format!("            {:#06x} => Some(Opcode::{}),", c.opcode, c.rust));
    }
    o.line("            _ => None,");
    o.line("        }");
    o.line("    }");
    o.line("");
    o.line("    pub const fn info(self) -> &'static CommandInfo {");
    o.line("        match self {");
    for c in &m.commands {
        let api = match c.api {
            Api::Gles => "Gles",
            Api::Egl => "Egl",
        };
        let sizing = match c.sizing {
            Sizing::Scalar => "Scalar",
            Sizing::Len => "Len",
            Sizing::Hand => "Hand",
        };
        let extension = c.extension.as_ref().map_or("None".to_owned(), |e| format!("Some(\"{e}\")"));
        let hand_checked = c.params.iter().any(|p| p.kind.hand_counted());
        let handles = c.api == Api::Gles && c.params.iter().any(|p| p.kind == Kind::Handle);
        o.line(format!(
            "            Opcode::{} => &CommandInfo {{ name: \"{}\", api: Api::{api}, sync: {}, sizing: Sizing::{sizing}, extension: {extension}, hand_counted: {hand_checked}, handles: {handles}, private: {} }},",
            c.rust, c.c_name, c.sync, c.private
        ));
    }
    o.line("        }");
    o.line("    }");
    o.line("}");
    o.line("");
    for c in &m.commands {
        emit_command(&mut o, c);
    }
    // Command enum.
    o.line("/// A decoded command, borrowing its payloads from the stream.");
    o.line("#[derive(Debug, Clone, Copy, PartialEq)]");
    o.line("pub enum Command<'a> {");
    for c in &m.commands {
        o.line(format!("    {}({}{}),", c.rust, c.rust, lt(c.has_lifetime())));
    }
    o.line("}");
    o.line("");
    o.line("impl<'a> Command<'a> {");
    o.line("    pub fn opcode(&self) -> Opcode {");
    emit_match(&mut o, "        ", "self", m, |c| format!("Command::{}(_) => Opcode::{},", c.rust, c.rust));
    o.line("    }");
    o.line("");
    o.line("    pub fn encode<S: Sink + ?Sized>(&self, buf: &mut S) -> Result<(), EncodeError> {");
    emit_match(&mut o, "        ", "self", m, |c| format!("Command::{}(c) => c.encode(buf),", c.rust));
    o.line("    }");
    o.line("}");
    o.line("");
    emit_names(&mut o, m);
    // Each command's own type as a `Message`, and the visitor that hands one out.
    for c in &m.commands {
        let name = &c.rust;
        let ty = format!("{name}{}", lt(c.has_lifetime()));
        let fixed = !c.has_lifetime();
        o.line(format!("impl<'a> super::Message<'a> for {ty} {{"));
        o.line(format!("    const OPCODE: Opcode = Opcode::{name};"));
        o.line(format!("    const FIXED: bool = {fixed};"));
        o.line("    #[inline(always)]");
        o.line("    fn encode_to<S: Sink + ?Sized>(&self, buf: &mut S) -> Result<(), EncodeError> {");
        o.line("        self.encode(buf)");
        o.line("    }");
        o.line("    #[inline(always)]");
        o.line("    fn command(self) -> Command<'a> {");
        o.line(format!("        Command::{name}(self)"));
        o.line("    }");
        o.line("}");
        o.line("");
    }
    o.line("/// Runs `v` with `cmd` as its own type.");
    o.line("pub fn visit<'a, V: super::MessageVisitor<'a>>(cmd: Command<'a>, v: &mut V) -> V::Out {");
    emit_match(&mut o, "    ", "cmd", m, |c| format!("Command::{}(c) => v.visit(c),", c.rust));
    o.line("}");
    o.line("");
    o.line("impl Command<'_> {");
    o.line("    /// Bytes of inline data the command carries (arrays, strings, pixels): lets a");
    o.line("    /// sender route a large command past its batching buffer without encoding it.");
    o.line("    pub fn inline_bytes(&self) -> usize {");
    o.line("        match self {");
    for c in &m.commands {
        let mut terms = Vec::new();
        for p in c.wire_params() {
            let n = &p.name;
            match &p.kind {
                Kind::In { elem, nullable: false, .. } => terms.push(format!("c.{n}.len() * {}", elem.size())),
                Kind::In { elem, nullable: true, .. } | Kind::AttribList { elem } => {
                    terms.push(format!("c.{n}.map_or(0, |v| v.len() * {})", elem.size()))
                }
                Kind::Ref { .. } => terms.push(format!("match c.{n} {{ DataRef::Inline(b) => b.len(), _ => 0 }}")),
                Kind::Str { nullable: false, .. } => terms.push(format!("c.{n}.to_bytes().len()")),
                Kind::Str { nullable: true, .. } => terms.push(format!("c.{n}.map_or(0, |s| s.to_bytes().len())")),
                Kind::StrList { .. } => terms.push(format!("c.{n}.len() * 16")),
                _ => {}
            }
        }
        if terms.is_empty() {
            o.line(format!("            Command::{}(_) => 0,", c.rust));
        } else {
            o.line(format!("            Command::{}(c) => {},", c.rust, terms.join(" + ")));
        }
    }
    o.line("        }");
    o.line("    }");
    o.line("}");
    o.line("");
    o.line("/// Decodes the first command of `bytes`; returns it and the rest of the stream.");
    o.line("pub fn decode_command(bytes: &[u8]) -> Result<(Command<'_>, &[u8]), DecodeError> {");
    o.line("    let (op, body, rest) = split_message(bytes)?;");
    o.line("    let Some(opcode) = Opcode::from_u32(op) else { return Err(DecodeError::UnknownOpcode(op)) };");
    o.line("    let cmd = match opcode {");
    for c in &m.commands {
        o.line(format!("        Opcode::{} => Command::{}({}::decode(body)?),", c.rust, c.rust, c.rust));
    }
    o.line("    };");
    o.line("    Ok((cmd, rest))");
    o.line("}");
    o.line("");
    // Reply enum.
    o.line("/// A decoded reply to a synchronous command.");
    o.line("#[derive(Debug, Clone, Copy, PartialEq)]");
    o.line("pub enum Reply<'a> {");
    for c in m.commands.iter().filter(|c| c.sync) {
        o.line(format!("    {}({}Reply{}),", c.rust, c.rust, lt(c.reply_has_lifetime())));
    }
    o.line("    /// Keeps the lifetime used even if no reply borrows.");
    o.line("    #[doc(hidden)]");
    o.line("    _Phantom(core::marker::PhantomData<&'a ()>),");
    o.line("}");
    o.line("");
    o.line("impl<'a> Reply<'a> {");
    o.line("    pub fn encode<S: Sink + ?Sized>(&self, buf: &mut S) -> Result<(), EncodeError> {");
    o.line("        match self {");
    for c in m.commands.iter().filter(|c| c.sync) {
        o.line(format!("            Reply::{}(r) => r.encode(buf),", c.rust));
    }
    o.line("            Reply::_Phantom(_) => Ok(()),");
    o.line("        }");
    o.line("    }");
    o.line("}");
    o.line("");
    o.line("/// Decodes the first reply of `bytes`; returns it and the rest of the stream.");
    o.line("pub fn decode_reply(bytes: &[u8]) -> Result<(Reply<'_>, &[u8]), DecodeError> {");
    o.line("    let (op, body, rest) = split_message(bytes)?;");
    o.line("    let reply = match Opcode::from_u32(op) {");
    for c in m.commands.iter().filter(|c| c.sync) {
        o.line(format!("        Some(Opcode::{}) => Reply::{}({}Reply::decode(body)?),", c.rust, c.rust, c.rust));
    }
    o.line("        _ => return Err(DecodeError::UnknownOpcode(op)),");
    o.line("    };");
    o.line("    Ok((reply, rest))");
    o.line("}");
    o.line("");
    // Empty replies.
    o.line("/// Encodes the reply to `op` that carries nothing: a zero or NULL result and no");
    o.line("/// output data. Returns false (writing nothing) for an asynchronous command.");
    o.line("pub fn empty_reply<S: Sink + ?Sized>(op: Opcode, buf: &mut S) -> Result<bool, EncodeError> {");
    o.line("    match op {");
    for c in m.commands.iter().filter(|c| c.sync) {
        let mut fields = Vec::new();
        match c.ret {
            Ret::Void => {}
            Ret::Scalar(_) | Ret::Handle => fields.push("ret: 0".to_owned()),
            Ret::Str | Ret::Bytes => fields.push("ret: None".to_owned()),
        }
        for p in c.params.iter().filter(|p| p.kind.is_out()) {
            fields.push(format!("{}: None", p.name));
        }
        o.line(format!(
            "        Opcode::{} => {}Reply {{ {} }}.encode(buf).map(|()| true),",
            c.rust,
            c.rust,
            fields.join(", ")
        ));
    }
    o.line("        _ => Ok(false),");
    o.line("    }");
    o.line("}");
    o.line("");
    // Samplers.
    o.line("/// Random commands and replies for property tests and fuzzing.");
    o.line("#[cfg(any(test, feature = \"arbitrary\"))]");
    o.line("pub mod sample {");
    o.line("    use super::*;");
    o.line("    use crate::codec::arbitrary::Entropy;");
    o.line("    use bumpalo::Bump;");
    o.line("");
    o.line("    /// A random, well-formed `op` command whose payloads live in `arena`.");
    o.line("    pub fn command<'a>(op: Opcode, e: &mut Entropy<'_>, arena: &'a Bump) -> Command<'a> {");
    o.line("        match op {");
    for c in &m.commands {
        emit_sample_command(&mut o, c);
    }
    o.line("        }");
    o.line("    }");
    o.line("");
    o.line("    /// A random reply to `op`, or `None` for an asynchronous command.");
    o.line("    pub fn reply<'a>(op: Opcode, e: &mut Entropy<'_>, arena: &'a Bump) -> Option<Reply<'a>> {");
    o.line("        let _ = (&e, &arena);");
    o.line("        match op {");
    for c in m.commands.iter().filter(|c| c.sync) {
        emit_sample_reply(&mut o, c);
    }
    o.line("            _ => None,");
    o.line("        }");
    o.line("    }");
    o.line("}");
    tidy_derived_names(o.0)
}

/// The object-name accessors of `Command`, from the model's `names` (the server maps
/// every name they give; the rest it maps by hand).
fn emit_names(o: &mut Out, m: &Model) {
    o.line("impl<'a> Command<'a> {");
    o.line("    /// The object names in the command's scalar parameters, with their namespace, for");
    o.line("    /// the server to map (`[names]` in the annotations says which parameters).");
    o.line("    pub fn names_mut(&mut self) -> [Option<(Namespace, &mut u32)>; 2] {");
    o.line("        match self {");
    for c in &m.commands {
        let scalars: Vec<String> = c
            .params
            .iter()
            .filter(|p| !p.kind.is_pointer())
            .filter_map(|p| p.names.as_ref().map(|ns| format!("Some((Namespace::{ns}, &mut c.{}))", p.name)))
            .collect();
        match scalars.as_slice() {
            [] => {}
            [a] => o.line(format!("            Command::{}(c) => [{a}, None],", c.rust)),
            [a, b] => o.line(format!("            Command::{}(c) => [{a}, {b}],", c.rust)),
            _ => unreachable!("the model allows two"),
        }
    }
    o.line("            _ => [None, None],");
    o.line("        }");
    o.line("    }");
    o.line("");
    o.line("    /// The command's array of object names (glGen*'s client-chosen names, glDelete*,");
    o.line("    /// glShaderBinary's shaders), with their namespace.");
    o.line("    pub fn name_list(&self) -> Option<(Namespace, &'a [u32])> {");
    o.line("        match self {");
    let lists: Vec<(&Cmd, &P, &String)> = m
        .commands
        .iter()
        .flat_map(|c| {
            c.params.iter().filter(|p| p.kind.is_pointer()).filter_map(move |p| Some((c, p, p.names.as_ref()?)))
        })
        .collect();
    for (c, p, ns) in &lists {
        o.line(format!("            Command::{}(c) => Some((Namespace::{ns}, c.{})),", c.rust, p.name));
    }
    o.line("            _ => None,");
    o.line("        }");
    o.line("    }");
    o.line("");
    o.line("    /// The same command with its array of object names replaced by `names` (of the");
    o.line("    /// same length); unchanged when it has none.");
    o.line("    pub fn with_name_list<'b>(&self, names: &'b [u32]) -> Command<'b> where 'a: 'b {");
    o.line("        match *self {");
    for (c, p, _) in &lists {
        o.line(format!(
            "            Command::{}(c) => Command::{}({} {{ {}: names, ..c }}),",
            c.rust, c.rust, c.rust, p.name
        ));
    }
    o.line("            other => other,");
    o.line("        }");
    o.line("    }");
    o.line("}");
    o.line("");
}

/// Names derived from a keyword-escaped parameter (`type_` + `_len`) lose the doubled
/// underscore, so the generated code passes the snake_case lint.
fn tidy_derived_names(text: String) -> String {
    ["_len", "_cap", "_off", "_bytes"].iter().fold(text, |t, suffix| t.replace(&format!("_{suffix}"), suffix))
}
