//! Reads the Khronos registry (gl.xml, egl.xml from `khronos_api`) into plain command
//! signatures. It knows XML and C declarations; it does not decide wire layouts.

use std::collections::BTreeMap;

/// A C type as the registry writes it: `const GLchar *const*` is base `GLchar`,
/// two pointer levels, const.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CType {
    pub base: String,
    pub pointers: usize,
    pub is_const: bool,
    /// The declaration text without the parameter name, for C-compatible signatures.
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub ty: CType,
    pub len: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Command {
    pub name: String,
    pub ret: CType,
    pub params: Vec<Param>,
}

/// Parses a `<proto>` or `<param>` element: its text minus the `<name>` child.
fn parse_decl(node: roxmltree::Node) -> Result<(String, CType), String> {
    let mut before_name = String::new();
    let mut name = None;
    let mut base = None;
    for child in node.children() {
        match child.tag_name().name() {
            "name" => name = child.text().map(str::to_owned),
            "ptype" => {
                let t = child.text().unwrap_or_default().to_owned();
                before_name.push_str(&t);
                base = Some(t);
            }
            _ if name.is_none() => before_name.push_str(child.text().unwrap_or_default()),
            _ => {}
        }
    }
    let name = name.ok_or_else(|| format!("declaration without a name: {:?}", node.range()))?;
    let text = before_name.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = text.replace(" *", "*").replace("*", " *").replace("* *", "**").replace("  ", " ");
    let text = text.trim().to_owned();
    let pointers = text.matches('*').count();
    let is_const = text.starts_with("const");
    let base = match base {
        Some(b) => b,
        None => {
            // Untyped bases (`void`, `char`) are plain words in the text.
            let words: Vec<&str> = text
                .split(|c: char| c == '*' || c.is_whitespace())
                .filter(|w| !w.is_empty() && *w != "const")
                .collect();
            words.first().map(|w| (*w).to_owned()).unwrap_or_else(|| "void".to_owned())
        }
    };
    Ok((name, CType { base, pointers, is_const, text }))
}

fn parse_commands(doc: &roxmltree::Document) -> Result<BTreeMap<String, Command>, String> {
    let mut out = BTreeMap::new();
    let commands = doc
        .root_element()
        .children()
        .filter(|n| n.has_tag_name("commands"))
        .flat_map(|n| n.children().filter(|c| c.has_tag_name("command")));
    for cmd in commands {
        let proto = cmd.children().find(|c| c.has_tag_name("proto")).ok_or("command without proto")?;
        let (name, ret) = parse_decl(proto)?;
        let mut params = Vec::new();
        for p in cmd.children().filter(|c| c.has_tag_name("param")) {
            let (pname, ty) = parse_decl(p)?;
            params.push(Param { name: pname, ty, len: p.attribute("len").map(str::to_owned) });
        }
        out.insert(name.clone(), Command { name, ret, params });
    }
    Ok(out)
}

/// The commands a set of `<feature>` elements require, in registry order, each once.
fn feature_commands(doc: &roxmltree::Document, api: &str, versions: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for feature in doc.root_element().children().filter(|n| n.has_tag_name("feature")) {
        if feature.attribute("api") != Some(api) || !versions.contains(&feature.attribute("number").unwrap_or("")) {
            continue;
        }
        for req in feature.children().filter(|n| n.has_tag_name("require")) {
            for c in req.children().filter(|n| n.has_tag_name("command")) {
                if let Some(n) = c.attribute("name") {
                    if !names.iter().any(|x| x == n) {
                        names.push(n.to_owned());
                    }
                }
            }
        }
    }
    names
}

/// The GLES extensions of a registry (`supported` names `gles2`), each with the commands
/// it adds for GLES, in registry order.
fn gles_extensions(doc: &roxmltree::Document) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let extensions = doc
        .root_element()
        .children()
        .filter(|n| n.has_tag_name("extensions"))
        .flat_map(|n| n.children().filter(|c| c.has_tag_name("extension")));
    for ext in extensions {
        let (Some(name), Some(supported)) = (ext.attribute("name"), ext.attribute("supported")) else { continue };
        if !supported.split('|').any(|api| api == "gles2") {
            continue;
        }
        let mut commands: Vec<String> = Vec::new();
        for req in ext.children().filter(|n| n.has_tag_name("require")) {
            if !matches!(req.attribute("api"), None | Some("gles2")) {
                continue;
            }
            for c in req.children().filter(|n| n.has_tag_name("command")) {
                if let Some(n) = c.attribute("name") {
                    if !commands.iter().any(|x| x == n) {
                        commands.push(n.to_owned());
                    }
                }
            }
        }
        out.insert(name.to_owned(), commands);
    }
    out
}

/// Every enum name and value in a registry, for the constants the generated code needs.
fn parse_enums(doc: &roxmltree::Document) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for group in doc.root_element().children().filter(|n| n.has_tag_name("enums")) {
        for e in group.children().filter(|n| n.has_tag_name("enum")) {
            let (Some(name), Some(value)) = (e.attribute("name"), e.attribute("value")) else { continue };
            let parsed = if let Some(hex) = value.strip_prefix("0x") {
                u64::from_str_radix(hex, 16).ok()
            } else {
                value.parse::<i64>().ok().map(|v| v as u64)
            };
            if let Some(v) = parsed {
                out.entry(name.to_owned()).or_insert(v);
            }
        }
    }
    out
}

#[derive(Debug)]
pub struct Registry {
    pub gl: BTreeMap<String, Command>,
    pub egl: BTreeMap<String, Command>,
    /// The GLES 2.0, 3.0, 3.1, 3.2 core commands, in registry order.
    pub gles_core: Vec<String>,
    /// GLES extensions by name, with the commands each adds.
    pub gles_extensions: BTreeMap<String, Vec<String>>,
    pub gl_enums: BTreeMap<String, u64>,
}

pub const GLES_VERSIONS: [&str; 4] = ["2.0", "3.0", "3.1", "3.2"];

impl Registry {
    pub fn load() -> Result<Self, String> {
        let gl_text = std::str::from_utf8(khronos_api::GL_XML).map_err(|e| e.to_string())?;
        let egl_text = std::str::from_utf8(khronos_api::EGL_XML).map_err(|e| e.to_string())?;
        let opts = || roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
        let gl_doc = roxmltree::Document::parse_with_options(gl_text, opts()).map_err(|e| format!("gl.xml: {e}"))?;
        let egl_doc = roxmltree::Document::parse_with_options(egl_text, opts()).map_err(|e| format!("egl.xml: {e}"))?;
        Ok(Registry {
            gl: parse_commands(&gl_doc)?,
            egl: parse_commands(&egl_doc)?,
            gles_core: feature_commands(&gl_doc, "gles2", &GLES_VERSIONS),
            gles_extensions: gles_extensions(&gl_doc),
            gl_enums: parse_enums(&gl_doc),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gles_core_has_358_commands() {
        let reg = Registry::load().unwrap();
        assert_eq!(reg.gles_core.len(), 358);
        assert_eq!(reg.gles_core.first().map(String::as_str), Some("glActiveTexture"));
    }

    #[test]
    fn gles_extensions_list_their_commands_for_gles() {
        let reg = Registry::load().unwrap();
        let view = &reg.gles_extensions["GL_OES_texture_view"];
        assert_eq!(view, &["glTextureViewOES"]);
        assert!(reg.gles_extensions["GL_OES_texture_float"].is_empty());
        assert!(!reg.gles_extensions.contains_key("GL_ARB_texture_view"), "a desktop-only extension");
    }

    #[test]
    fn parses_double_pointer_const() {
        let reg = Registry::load().unwrap();
        let src = &reg.gl["glShaderSource"].params[2];
        assert_eq!(src.name, "string");
        assert_eq!(src.ty.base, "GLchar");
        assert_eq!(src.ty.pointers, 2);
        assert!(src.ty.is_const);
        assert_eq!(src.len.as_deref(), Some("count"));
        let map = &reg.gl["glMapBufferRange"].ret;
        assert_eq!((map.base.as_str(), map.pointers), ("void", 1));
    }
}
