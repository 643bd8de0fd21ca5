//! Prints the ICD's entry points and its name→function table: one `extern "C"` shim per
//! forwarded GL and EGL function, which turns the program's pointers into slices sized
//! by the registry or the annotations' rules, forwards the command, and copies outputs
//! back. The shims hold no logic beyond that; `client` does the rest.

use super::{ffi_type, Out, HEADER};
use crate::model::{Api, Cmd, Count, Kind, Model, Ret};

/// The Rust expression for a count, over the shim's arguments (`Result<usize, _>` for
/// hand rules, which may fail with a GL error; `Option<usize>` for registry lengths,
/// `None` when the length is negative).
fn count_expr(c: &Count) -> (String, bool) {
    match c {
        Count::Param { param, factor: 1 } => (format!("len_of({param})"), false),
        Count::Param { param, factor } => (format!("len_mul(len_of({param}), {factor})"), false),
        Count::Const(k) => (format!("Some({k}usize)"), false),
        Count::Hand(rule) => (format!("cx.{rule}"), true),
    }
}

fn buffer_slot(buffer: &str) -> Result<&'static str, String> {
    Ok(match buffer {
        "unpack" => "BufferSlot::Unpack",
        "pack" => "BufferSlot::Pack",
        "element" => "BufferSlot::Element",
        other => return Err(format!("unknown buffer binding `{other}`")),
    })
}

fn shim(o: &mut Out, c: &Cmd) -> Result<(), String> {
    let name = &c.c_name;
    let mut sig = Vec::new();
    for p in &c.params {
        sig.push(format!("{}: {}", p.name, ffi_type(&p.cty)?));
    }
    let ret_ty = ffi_type(&c.cret)?;
    let (ret_sig, default) = match c.ret {
        Ret::Void => (String::new(), "()"),
        Ret::Scalar(_) => (format!(" -> {ret_ty}"), "0"),
        Ret::Handle | Ret::Bytes => (format!(" -> {ret_ty}"), "core::ptr::null_mut()"),
        Ret::Str => (format!(" -> {ret_ty}"), "core::ptr::null()"),
    };
    let entry = match c.api {
        Api::Gles => "gl",
        Api::Egl => "egl",
    };
    o.line(format!("/// `{name}`, forwarded to the server."));
    o.line("///");
    o.line("/// # Safety");
    o.line("/// Called by the program through libglvnd; pointers must honour the API's contract.");
    o.line("#[allow(non_snake_case, unused_variables, unused_unsafe)]");
    o.line(format!("pub(crate) unsafe extern \"C\" fn {name}({}){ret_sig} {{", sig.join(", ")));
    o.line(format!("    entry::{entry}(\"{name}\", {default}, |cx| {{"));
    let mut fields = Vec::new();
    let mut copy_back = Vec::new();
    let skip_lengths = c.params.iter().find(|p| p.kind == Kind::Skip).map(|p| p.name.clone());
    // Length arguments of strings the shim sends NUL-terminated: sent as -1 ("up to
    // the NUL"), since the copy may have been cut at an embedded NUL.
    let string_lengths: Vec<&str> = c
        .params
        .iter()
        .filter_map(|p| if let Kind::Str { length: Some(l), .. } = &p.kind { Some(l.as_str()) } else { None })
        .collect();
    for p in &c.params {
        let n = &p.name;
        match &p.kind {
            Kind::Scalar(ty) if string_lengths.contains(&n.as_str()) => {
                fields.push(format!("{n}: -1 as {}", ty.rust()))
            }
            Kind::Scalar(ty) => fields.push(format!("{n}: {n} as {}", ty.rust())),
            Kind::Handle | Kind::Offset => fields.push(format!("{n}: {n} as usize as u64")),
            Kind::Skip => {}
            Kind::In { elem, count, nullable } => {
                let (cx, hand) = count_expr(count);
                let n_expr = if hand { format!("Some({cx}?)") } else { cx };
                let f = if *nullable { "opt_input" } else { "input" };
                o.line(format!("        let {n}_n = {n_expr};"));
                o.line(format!(
                    "        // SAFETY: the {name} contract: `{n}` points to that many elements (or is NULL)."
                ));
                o.line(format!("        let {n} = unsafe {{ ptr::{f}({n}.cast::<{}>(), {n}_n) }}?;", elem.rust()));
                fields.push(n.clone());
            }
            Kind::AttribList { elem } => {
                o.line(format!("        // SAFETY: the {name} contract: `{n}` is NULL or ends with EGL_NONE."));
                o.line(format!("        let {n} = unsafe {{ ptr::attrib_list({n}.cast::<{}>()) }}?;", elem.rust()));
                fields.push(n.clone());
            }
            Kind::Str { nullable, length } => {
                match length {
                    Some(len) => {
                        o.line(format!("        // SAFETY: the {name} contract: `{n}` holds `{len}` bytes, or a NUL-terminated string when it is negative."));
                        o.line(format!("        let {n}_owned = unsafe {{ ptr::cstr_len({n}, {len}) }}?;"));
                        if *nullable {
                            o.line(format!("        let {n} = {n}_owned.as_deref();"));
                        } else {
                            o.line(format!("        let {n} = {n}_owned.as_deref().ok_or(CallError::INVALID_VALUE)?;"));
                        }
                    }
                    None => {
                        let f = if *nullable { "opt_cstr" } else { "cstr" };
                        o.line(format!("        // SAFETY: the {name} contract: `{n}` is a NUL-terminated string."));
                        o.line(format!("        let {n} = unsafe {{ ptr::{f}({n}) }}?;"));
                    }
                }
                fields.push(n.clone());
            }
            Kind::StrList { count } => {
                let (cx, hand) = count_expr(count);
                if hand {
                    return Err(format!("{name}.{n}: a string list needs a registry-style count"));
                }
                let lengths = skip_lengths.clone().map_or("core::ptr::null()".to_owned(), |l| l);
                o.line(format!("        // SAFETY: the {name} contract: `{n}` holds that many strings (lengths from `{lengths}` when given)."));
                o.line(format!("        let {n}_owned = unsafe {{ ptr::str_list({n}.cast(), {cx}, {lengths}) }}?;"));
                o.line(format!("        let {n}_refs: Vec<&CStr> = {n}_owned.iter().map(|s| s.as_c_str()).collect();"));
                o.line(format!("        let {n} = StrList::Borrowed(&{n}_refs);"));
                fields.push(n.clone());
            }
            Kind::Ref { count, buffer } => {
                let (cx, hand) = count_expr(count);
                // A size that cannot be computed (a bad enum) sends no data: GL raises the
                // error itself and reads nothing.
                let n_expr = if hand { format!("{cx}.ok()") } else { cx };
                o.line(format!("        let {n}_n = {n_expr};"));
                o.line(format!("        let {n}_bound = cx.buffer_bound({});", buffer_slot(buffer)?));
                o.line(format!("        // SAFETY: the {name} contract: unless a buffer is bound, `{n}` points to that many bytes."));
                o.line(format!("        let {n} = unsafe {{ ptr::data_ref({n}_bound, {n}.cast::<u8>(), {n}_n) }};"));
                fields.push(n.clone());
            }
            Kind::Out { elem, count } => {
                let (cx, hand) = count_expr(count);
                let n_expr = if hand { format!("Some({cx}?)") } else { cx };
                o.line(format!("        let {n}_cap = ptr::out_cap({n}.is_null(), {n_expr});"));
                fields.push(format!("{n}: {n}_cap"));
                copy_back.push(format!(
                    "        // SAFETY: the {name} contract: `{n}` has room for the capacity asked for.\n        unsafe {{ ptr::output({n}.cast::<{}>(), {n}_cap, r.{n}) }};",
                    elem.rust()
                ));
            }
            Kind::OutRef { count, buffer } => {
                let (cx, hand) = count_expr(count);
                let n_expr = if hand { format!("{cx}.ok()") } else { cx };
                o.line(format!("        let {n}_n = {n_expr};"));
                o.line(format!("        let {n}_ref = ptr::out_ref(cx.buffer_bound({}), {n}.is_null(), {n} as usize as u64, {n}_n);", buffer_slot(buffer)?));
                fields.push(format!("{n}: {n}_ref"));
                // A packed image: only its rows are copied back (GL leaves the padding
                // and skipped pixels between them alone).
                let image =
                    ["format", "type_", "width", "height"].iter().all(|a| c.params.iter().any(|p| p.name == *a));
                if buffer == "pack" && image {
                    o.line(format!("        let {n}_rows = cx.pack_rows(format, type_, width, height);"));
                    copy_back.push(format!(
                        "        if let OutRef::Reply(cap) = {n}_ref {{\n            // SAFETY: the {name} contract: `{n}` has room for the image asked for.\n            unsafe {{ ptr::output_rows({n}.cast::<u8>(), cap, r.{n}, {n}_rows) }};\n        }}"
                    ));
                } else {
                    copy_back.push(format!(
                        "        if let OutRef::Reply(cap) = {n}_ref {{\n            // SAFETY: the {name} contract: `{n}` has room for the image asked for.\n            unsafe {{ ptr::output({n}.cast::<u8>(), Some(cap), r.{n}) }};\n        }}"
                    ));
                }
            }
        }
    }
    let wire_fields: Vec<&String> = fields.iter().collect();
    let cmd = format!(
        "Command::{}({} {{ {} }})",
        c.rust,
        c.rust,
        wire_fields.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
    );
    if !c.sync {
        // Its own type: `submit_typed` encodes it straight from these values when the
        // context has nothing to do for it.
        let typed =
            format!("{} {{ {} }}", c.rust, wire_fields.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "));
        o.line(format!("        cx.submit_typed({typed})"));
    } else {
        o.line(format!("        let reply = cx.call(&{cmd})?;"));
        o.line(format!("        let body = reply_body(reply.as_bytes(), Opcode::{} as u32)?;", c.rust));
        o.line(format!("        let r = {}Reply::decode(body)?;", c.rust));
        for cb in &copy_back {
            o.line(cb);
        }
        match c.ret {
            Ret::Void => o.line("        Ok(())"),
            Ret::Scalar(_) => o.line(format!("        Ok(r.ret as {ret_ty})")),
            Ret::Handle => o.line(format!("        Ok(r.ret as usize as {ret_ty})")),
            Ret::Str => {
                let keys: Vec<String> = c
                    .params
                    .iter()
                    .filter(|p| !p.kind.is_pointer())
                    .take(2)
                    .map(|p| format!("{} as usize as u64", p.name))
                    .collect();
                let op = format!("Opcode::{} as u64", c.rust);
                let key = match keys.as_slice() {
                    [] => format!("[{op}, 0, 0]"),
                    [a] => format!("[{op}, {a}, 0]"),
                    [a, b, ..] => format!("[{op}, {a}, {b}]"),
                };
                o.line("        let s = r.ret.map(CStr::to_owned);");
                o.line(format!("        Ok(cx.keep_string({key}, s.as_deref()).cast())"));
            }
            Ret::Bytes => {
                return Err(format!("{name}: a `void *` result needs a hand-written entry point (icd = \"hand\")"));
            }
        }
    }
    o.line("    })");
    o.line("}");
    o.line("");
    Ok(())
}

pub fn icd_file(m: &Model) -> Result<String, String> {
    let mut o = Out::default();
    o.0.push_str(HEADER);
    o.line("//! The ICD's GL and EGL entry points and their name table.");
    o.line("#![cfg_attr(rustfmt, rustfmt::skip)]");
    o.line("#![allow(clippy::all, unused_imports)]");
    o.line("");
    o.line("use core::ffi::{c_char, c_void, CStr};");
    o.line("");
    o.line("use client::{BufferSlot, CallError, Forward};");
    o.line("use wire::codec::{len_mul, len_of, reply_body, OutRef, StrList};");
    o.line("use wire::commands::*;");
    o.line("");
    o.line("use crate::types::*;");
    o.line("use crate::{entry, ptr};");
    o.line("");
    // Entry points the ICD writes by hand (annotated `icd = "hand"`) are neither
    // generated nor listed here.
    let generated: Vec<&Cmd> = m.commands.iter().filter(|c| !c.icd_hand && !c.private).collect();
    for c in &generated {
        shim(&mut o, c)?;
    }
    // (name, the function that implements it): generated shims, extension names that
    // alias one, and the ICD's client-side extension commands (`gl_hand`).
    let mut names: Vec<(String, String)> = generated.iter().map(|c| (c.c_name.clone(), c.c_name.clone())).collect();
    for (alias, target) in &m.aliases {
        let hand = m.commands.iter().any(|c| &c.c_name == target && c.icd_hand);
        names.push((alias.clone(), if hand { format!("crate::gl_hand::{target}") } else { target.clone() }));
    }
    // GL entry points written by hand live in `gl_hand` (EGL ones have their own table).
    let hand_gl = m.commands.iter().filter(|c| c.icd_hand && c.api == Api::Gles).map(|c| &c.c_name);
    for name in m.client_commands.iter().chain(hand_gl) {
        names.push((name.clone(), format!("crate::gl_hand::{name}")));
    }
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(format!("{} is listed twice", w[0].0));
    }
    o.line("/// Every entry point's name, sorted bytewise for binary search.");
    o.line(format!("pub(crate) static NAMES: [&str; {}] = [", names.len()));
    for (n, _) in &names {
        o.line(format!("    \"{n}\","));
    }
    o.line("];");
    o.line("");
    o.line("/// Extension names that are another entry point under a vendor suffix: `(alias, target)`.");
    o.line("#[cfg_attr(not(test), allow(dead_code))]");
    o.line(format!("pub(crate) static ALIASES: [(&str, &str); {}] = [", m.aliases.len()));
    for (a, t) in &m.aliases {
        o.line(format!("    (\"{a}\", \"{t}\"),"));
    }
    o.line("];");
    o.line("");
    o.line("/// The entry point for `NAMES[i]`.");
    o.line("pub(crate) fn entry_point(i: usize) -> *const c_void {");
    o.line("    match i {");
    for (i, (_, f)) in names.iter().enumerate() {
        o.line(format!("        {i} => {f} as *const c_void,"));
    }
    o.line("        _ => core::ptr::null(),");
    o.line("    }");
    o.line("}");
    Ok(o.0)
}
