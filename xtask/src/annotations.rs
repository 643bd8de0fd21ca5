//! Loads `codegen/annotations.toml`, the one hand-kept file for what the registry does
//! not say: hand-sized pointers, strings, buffer offsets, which EGL functions travel,
//! and the pname→count tables. It parses and checks shape; `model` gives it meaning.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Annotations {
    /// Per GL command: parameters the registry cannot size, and `sync` overrides.
    #[serde(default)]
    pub gles: BTreeMap<String, CommandAnn>,
    /// Per EGL function the ICD forwards (every key here is forwarded).
    #[serde(default)]
    pub egl: BTreeMap<String, CommandAnn>,
    /// pname→count tables, one per query family.
    #[serde(default)]
    pub pnames: BTreeMap<String, BTreeMap<String, PnameCount>>,
    /// Which GLES extensions glwire offers.
    #[serde(default)]
    pub extensions: ExtensionsAnn,
    /// glwire's own commands between the ICD and the server, which no GL has: each
    /// borrows a registry command's C signature (`signature`).
    #[serde(default)]
    pub private: BTreeMap<String, CommandAnn>,
    /// Which `GLuint` parameters are object names, and of which namespace.
    #[serde(default)]
    pub names: NamesAnn,
}

/// Object names: the server maps a client's names to its host's, so it must know
/// every parameter that holds one. The registry does not say (gl.xml has no `class`
/// here), so parameter names decide, with per-command exceptions.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamesAnn {
    /// Parameter name → namespace (`buffer`, `texture`, …), for every command.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// `"glCommand.param"` → namespace, or `"none"` for a `GLuint` that only looks like
    /// a name (a debug message id); wins over `params`.
    #[serde(default)]
    pub commands: BTreeMap<String, String>,
    /// `"glCommand.param"` names whose namespace another argument decides
    /// (glObjectLabel's `identifier`) or that come back in a reply: the server maps
    /// them by hand.
    #[serde(default)]
    pub hand: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionsAnn {
    /// GLES extensions glwire offers when the host does: their commands are forwarded
    /// (or resolved to the command they alias) and `GL_EXTENSIONS` lists them.
    #[serde(default)]
    pub forward: Vec<String>,
    /// Commands of those extensions the ICD implements by hand on top of forwarded ones
    /// (a multi-draw is its draws in a loop): no opcode, no host function.
    #[serde(default)]
    pub client: Vec<String>,
    /// Extensions newer than the registry glwire reads that add no entry points (GLSL
    /// features, new enums): offered as they are.
    #[serde(default)]
    pub without_commands: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CommandAnn {
    /// Force a reply even though the command returns nothing (`glFinish`).
    #[serde(default)]
    pub sync: Option<bool>,
    /// Why this command is annotated, for the reader of the annotations file.
    #[serde(default)]
    pub note: Option<String>,
    /// `"hand"`: the ICD implements this entry point by hand; no shim is generated.
    #[serde(default)]
    pub icd: Option<String>,
    /// For a `private` command: the registry command whose parameters it takes.
    #[serde(default)]
    pub signature: Option<String>,
    #[serde(flatten)]
    pub params: BTreeMap<String, ParamAnn>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamAnn {
    pub kind: ParamKindAnn,
    /// A hand-written sizing rule: a client method call over the command's parameters
    /// (snake_case), returning an element count.
    #[serde(default)]
    pub size: Option<String>,
    /// A `len` the registry lacks or gets wrong, in its own syntax (`n`, `count*4`, `1`).
    #[serde(default)]
    pub len: Option<String>,
    #[serde(default)]
    pub nullable: bool,
    /// Which bound buffer turns the pointer into an offset (`ref`, `out_ref`).
    #[serde(default)]
    pub buffer: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKindAnn {
    /// Input array.
    In,
    /// Output array, filled from the reply.
    Out,
    /// NUL-terminated input string.
    Str,
    /// Array of strings.
    StrList,
    /// Input bytes that may instead be an offset into a bound buffer.
    Ref,
    /// Output bytes that may instead go to a bound pack buffer.
    OutRef,
    /// A pointer only ever used as a buffer offset.
    Offset,
    /// An opaque pointer-sized value (sync objects, callbacks, native handles).
    Handle,
    /// Consumed by the client; not sent (glShaderSource's `length`).
    Skip,
    /// An EGL attribute list: pairs ended by `EGL_NONE`, or NULL.
    AttribList,
    /// Object names the client chose (glGen*): an input array on the wire, which the
    /// server maps to names its host generates. The ICD implements the entry point.
    Names,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum PnameCount {
    Fixed(u32),
    /// The count is the value of this other pname.
    From(String),
}

impl Annotations {
    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}
