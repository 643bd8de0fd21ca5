//! Doctor checks on the program side of glwire: libglvnd (`libEGL.so.1` and
//! `libGLESv2.so.2` must be glvnd's, which dispatch through `libGLdispatch.so.0`), the
//! vendor files libglvnd would load and in what order, and glwire's ICD — the one
//! `glwire run` uses and any installed system-wide. It finds libraries the way the
//! dynamic linker does (LD_LIBRARY_PATH, the ld.so cache, the default directories)
//! without loading libglvnd; the only library it loads is glwire's ICD, to see that it
//! loads and exports `__egl_Main`, which it never calls.
//!
//! libglvnd's rules (`src/EGL/libeglvendor.c`, `icd_enumeration.md`):
//! `__EGL_VENDOR_LIBRARY_FILENAMES` (colon-separated files) overrides everything; else
//! `__EGL_VENDOR_LIBRARY_DIRS` (colon-separated directories), else `/etc/glvnd/egl_vendor.d`
//! then `/usr/share/glvnd/egl_vendor.d`; each directory in turn, its `*.json` entries
//! (regular files and symlinks) in `strcmp` order of their names. For the default
//! display, the first vendor that answers wins.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::json::{self, Value};
use super::Row;

/// libglvnd's built-in vendor directories on Debian and most distributions
/// (`${sysconfdir}` and `${datadir}` as glvnd was built).
pub const DEFAULT_VENDOR_DIRS: [&str; 2] = ["/etc/glvnd/egl_vendor.d", "/usr/share/glvnd/egl_vendor.d"];

const FILENAMES_ENV: &str = "__EGL_VENDOR_LIBRARY_FILENAMES";
const DIRS_ENV: &str = "__EGL_VENDOR_LIBRARY_DIRS";

/// The file name of glwire's ICD.
const ICD_FILE: &str = "libEGL_glwire.so";

const INSTALL_GLVND: &str =
    "install libglvnd's EGL and GLES: `sudo apt-get install libegl1 libgles2` (Debian/Ubuntu), or `bash scripts/setup.sh`";

/// Where libglvnd takes its vendor files from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VendorSource {
    /// `__EGL_VENDOR_LIBRARY_FILENAMES`: exactly these files, in this order.
    Filenames,
    /// `__EGL_VENDOR_LIBRARY_DIRS`: these directories, in this order.
    Dirs(Vec<PathBuf>),
    /// libglvnd's built-in directories.
    Default(Vec<PathBuf>),
}

/// The vendor files libglvnd would load, in order, given the values of
/// `__EGL_VENDOR_LIBRARY_FILENAMES` and `__EGL_VENDOR_LIBRARY_DIRS` and the built-in
/// directories. Empty items of a list are skipped, as libglvnd's `SplitString` does; a
/// directory that cannot be read contributes nothing.
pub fn vendor_files(
    filenames: Option<&OsStr>,
    dirs: Option<&OsStr>,
    defaults: &[PathBuf],
) -> (VendorSource, Vec<PathBuf>) {
    if let Some(list) = filenames {
        return (VendorSource::Filenames, split_list(list));
    }
    let (source, dirs) = match dirs {
        Some(list) => {
            let dirs = split_list(list);
            (VendorSource::Dirs(dirs.clone()), dirs)
        }
        None => (VendorSource::Default(defaults.to_vec()), defaults.to_vec()),
    };
    let files = dirs.iter().flat_map(|dir| json_files_in(dir)).collect();
    (source, files)
}

fn split_list(list: &OsStr) -> Vec<PathBuf> {
    list.as_bytes()
        .split(|&b| b == b':')
        .filter(|s| !s.is_empty())
        .map(|s| PathBuf::from(OsStr::from_bytes(s)))
        .collect()
}

/// A directory's `*.json` regular files and symlinks, sorted by name byte by byte.
fn json_files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut names: Vec<_> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()))
        .map(|e| e.file_name())
        .filter(|name| name.as_bytes().ends_with(b".json"))
        .collect();
    // Byte order is strcmp order.
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    names.into_iter().map(|name| dir.join(name)).collect()
}

/// A vendor file and the library it names.
#[derive(Debug, Clone)]
pub struct VendorEntry {
    pub json: PathBuf,
    /// The `library_path` as written and where it resolves, or why libglvnd would
    /// skip the file.
    pub library: Result<(String, Option<PathBuf>), String>,
}

impl VendorEntry {
    fn is_glwire(&self) -> bool {
        matches!(&self.library, Ok((named, _)) if Path::new(named).file_name().is_some_and(|n| n.as_bytes().starts_with(ICD_FILE.as_bytes())))
    }

    fn name(&self) -> String {
        self.json.file_name().map_or_else(|| self.json.display().to_string(), |n| n.to_string_lossy().into_owned())
    }
}

/// The vendor files libglvnd would load in this environment, read.
#[derive(Debug, Clone)]
pub struct VendorList {
    pub source: VendorSource,
    pub entries: Vec<VendorEntry>,
}

impl VendorList {
    pub fn from_env() -> Self {
        let defaults: Vec<PathBuf> = DEFAULT_VENDOR_DIRS.iter().map(PathBuf::from).collect();
        let filenames = std::env::var_os(FILENAMES_ENV);
        let dirs = std::env::var_os(DIRS_ENV);
        let (source, files) = vendor_files(filenames.as_deref(), dirs.as_deref(), &defaults);
        let search = LibrarySearch::new();
        let entries = files.into_iter().map(|json| read_entry(json, &search)).collect();
        VendorList { source, entries }
    }
}

/// Reads a vendor file as libglvnd does: a JSON object whose `file_format_version` is
/// 1.0.x (libglvnd accepts major 1, minor 0) and whose `ICD.library_path` is a string.
fn read_entry(json: PathBuf, search: &LibrarySearch) -> VendorEntry {
    let library = (|| {
        let text = std::fs::read_to_string(&json).map_err(|e| format!("cannot read it: {e}"))?;
        let doc = json::parse(&text).map_err(|e| format!("not JSON ({e})"))?;
        let version = doc.get("file_format_version").and_then(Value::as_str).ok_or("no file_format_version string")?;
        if !format_version_ok(version) {
            return Err(format!("file_format_version {version}: libglvnd reads 1.0.x"));
        }
        let named = doc
            .get("ICD")
            .and_then(|icd| icd.get("library_path"))
            .and_then(Value::as_str)
            .ok_or("no ICD.library_path string")?
            .to_owned();
        let dir = json.parent().unwrap_or(Path::new("/"));
        let resolved = search.find(&named, dir);
        Ok((named, resolved))
    })();
    VendorEntry { json, library }
}

/// libglvnd's `CheckFormatVersion`: `sscanf("%d.%d.%d")`, major 1, minor at most 0.
fn format_version_ok(version: &str) -> bool {
    let leading_int = |s: &str| {
        let s = s.trim_start();
        let end = s
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
            .map_or(s.len(), |(i, _)| i);
        s[..end].parse::<i64>().ok()
    };
    let mut parts = version.split('.');
    let Some(major) = parts.next().and_then(leading_int) else { return false };
    let minor = parts.next().and_then(leading_int).unwrap_or(0);
    major == 1 && minor <= 0
}

/// Finds shared libraries as the dynamic linker would for a program without its own
/// search path: `LD_LIBRARY_PATH`, then the ld.so cache (`ldconfig -p`), then the
/// default directories.
#[derive(Debug, Clone)]
pub struct LibrarySearch {
    ld_library_path: Vec<PathBuf>,
    cache: Vec<(String, PathBuf)>,
    defaults: Vec<PathBuf>,
}

impl LibrarySearch {
    pub fn new() -> Self {
        let ld_library_path = std::env::var_os("LD_LIBRARY_PATH").map(|v| split_list(&v)).unwrap_or_default();
        let mut defaults = Vec::new();
        if let Some(triple) = multiarch() {
            defaults.push(PathBuf::from(format!("/lib/{triple}")));
            defaults.push(PathBuf::from(format!("/usr/lib/{triple}")));
        }
        defaults.extend(["/lib64", "/usr/lib64", "/lib", "/usr/lib"].map(PathBuf::from));
        LibrarySearch { ld_library_path, cache: ld_cache(), defaults }
    }

    /// Where `name` (a `library_path` of a vendor file in `json_dir`) is. A name with a
    /// `/` is a path: absolute, or relative to the vendor file's directory.
    pub fn find(&self, name: &str, json_dir: &Path) -> Option<PathBuf> {
        if name.contains('/') {
            let path = json_dir.join(name);
            return path.exists().then_some(path);
        }
        self.find_bare(name)
    }

    /// Where the dynamic linker would find the library `name` (no `/`).
    pub fn find_bare(&self, name: &str) -> Option<PathBuf> {
        let in_dir = |dir: &PathBuf| Some(dir.join(name)).filter(|p| p.exists());
        self.ld_library_path
            .iter()
            .find_map(in_dir)
            .or_else(|| self.cache.iter().find(|(n, p)| n == name && p.exists()).map(|(_, p)| p.clone()))
            .or_else(|| self.defaults.iter().find_map(in_dir))
    }
}

/// The Debian multiarch directory name of this build's target.
fn multiarch() -> Option<&'static str> {
    match std::env::consts::ARCH {
        "x86_64" => Some("x86_64-linux-gnu"),
        "aarch64" => Some("aarch64-linux-gnu"),
        "riscv64" => Some("riscv64-linux-gnu"),
        _ => None,
    }
}

/// The ld.so cache's entries for this build's word size and machine, from `ldconfig -p`
/// (empty when ldconfig cannot be run: the other places are still searched).
fn ld_cache() -> Vec<(String, PathBuf)> {
    let tag = match std::env::consts::ARCH {
        "x86_64" => Some("x86-64"),
        "aarch64" => Some("AArch64"),
        _ => None,
    };
    let output = ["/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"]
        .iter()
        .find_map(|exe| std::process::Command::new(exe).arg("-p").stderr(std::process::Stdio::null()).output().ok())
        .filter(|o| o.status.success());
    let Some(output) = output else { return Vec::new() };
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let (left, path) = line.trim().split_once(" => ")?;
            let name = left.split_whitespace().next()?;
            let flags = left.split_once('(').map_or("", |(_, f)| f);
            tag.is_none_or(|t| flags.contains(t)).then(|| (name.to_owned(), PathBuf::from(path)))
        })
        .collect()
}

/// True when the library file names `libGLdispatch.so.0` among its dependencies, as
/// libglvnd's libEGL and libGLESv2 do (it is their dispatch core; Mesa's own or a
/// vendor's monolithic libEGL has no such dependency).
fn uses_gldispatch(path: &Path) -> Result<bool, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let needle = b"libGLdispatch.so.0\0";
    Ok(bytes.windows(needle.len()).any(|w| w == needle))
}

fn shown(path: &Path) -> String {
    match std::fs::canonicalize(path) {
        Ok(real) if real != path => format!("{} -> {}", path.display(), real.display()),
        _ => path.display().to_string(),
    }
}

/// libglvnd present: `libEGL.so.1` and `libGLESv2.so.2` found and glvnd's, with
/// `libGLdispatch.so.0`.
pub fn libglvnd() -> Row {
    const CHECK: &str = "libglvnd";
    let search = LibrarySearch::new();
    let mut detail = Vec::new();
    let mut problems = Vec::new();
    for name in ["libEGL.so.1", "libGLESv2.so.2", "libGLdispatch.so.0"] {
        match search.find_bare(name) {
            None => problems.push(format!("{name} not found (searched LD_LIBRARY_PATH, the ld.so cache, /usr/lib)")),
            Some(path) if name == "libGLdispatch.so.0" => detail.push(format!("{name}: {}", shown(&path))),
            Some(path) => match uses_gldispatch(&path) {
                Ok(true) => detail.push(format!("{name}: glvnd's, {}", shown(&path))),
                Ok(false) => problems.push(format!(
                    "{name} is {}, which is not libglvnd's (it does not use libGLdispatch.so.0): programs that load \
                     it never reach glwire's ICD",
                    shown(&path)
                )),
                Err(e) => problems.push(e),
            },
        }
    }
    let dirs: Vec<String> = DEFAULT_VENDOR_DIRS
        .iter()
        .map(|d| if Path::new(d).is_dir() { d.to_string() } else { format!("{d} (absent)") })
        .collect();
    detail.push(format!("vendor directories: {}", dirs.join(", ")));
    if problems.is_empty() {
        Row::ok(CHECK, detail)
    } else {
        problems.extend(detail);
        let fix = if problems.iter().any(|p| p.contains("not libglvnd's")) {
            format!("{INSTALL_GLVND}; and take the other libEGL/libGLESv2 off the library path (LD_LIBRARY_PATH?)")
        } else {
            INSTALL_GLVND.to_owned()
        };
        Row::fail(CHECK, problems, fix)
    }
}

/// The vendor files libglvnd would load, in order, and what each names.
pub fn vendors_row(list: &VendorList) -> Row {
    const CHECK: &str = "egl vendors";
    let show = |dirs: &[PathBuf]| dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ");
    let mut detail = vec![match &list.source {
        VendorSource::Filenames => format!("from {FILENAMES_ENV} (only these files load)"),
        VendorSource::Dirs(dirs) => format!("from {DIRS_ENV}: {} (each in file-name order)", show(dirs)),
        VendorSource::Default(dirs) => format!("from {} (each in file-name order)", show(dirs)),
    }];
    let mut skipped = Vec::new();
    for (i, entry) in list.entries.iter().enumerate() {
        let line = match &entry.library {
            Ok((named, Some(path))) if named.as_str() == path.as_os_str() => named.clone(),
            Ok((named, Some(path))) => format!("{named} ({})", path.display()),
            Ok((named, None)) => {
                skipped.push(entry.json.display().to_string());
                format!("{named}: not found, libglvnd skips it")
            }
            Err(why) => {
                skipped.push(entry.json.display().to_string());
                format!("{why}, libglvnd skips it")
            }
        };
        detail.push(format!("{}. {} -> {line}", i + 1, entry.json.display()));
    }
    if list.entries.is_empty() {
        detail.push("no vendor files".to_owned());
        return Row::warn(
            CHECK,
            detail,
            "programs started without `glwire run` find no EGL driver: install Mesa's (`sudo apt-get install \
             libegl-mesa0`) or glwire's system-wide (`bash scripts/install.sh`)",
        );
    }
    if !skipped.is_empty() {
        return Row::warn(
            CHECK,
            detail,
            format!("fix or remove the vendor files libglvnd skips: {}", skipped.join(", ")),
        );
    }
    Row::ok(CHECK, detail)
}

/// Loads glwire's ICD without calling into it: it must load (all its dependencies
/// found) and export `__egl_Main`, the one symbol libglvnd looks up.
fn check_icd(path: &Path) -> Result<(), String> {
    if !path.exists() {
        return Err(format!("{} is missing", path.display()));
    }
    let flags = libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_LOCAL;
    // SAFETY: loading runs the library's initializers. glwire's ICD sets nothing up
    // until libglvnd calls its `__egl_Main`, which this never does; and libglvnd would
    // load this same file into every EGL program anyway.
    let lib = unsafe { libloading::os::unix::Library::open(Some(path), flags) }
        .map_err(|e| format!("{} does not load: {e}", path.display()))?;
    // SAFETY: only the symbol's presence is asked; the pointer is never called or read.
    let symbol = unsafe { lib.get::<*const core::ffi::c_void>(b"__egl_Main\0") };
    symbol.map(|_| ()).map_err(|_| format!("{} does not export __egl_Main: it is not glwire's ICD", path.display()))
}

/// Where `glwire run` looks for the ICD: beside the running `glwire` binary.
fn run_icd_path() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the glwire binary: {e}"))?;
    Ok(exe.with_file_name(ICD_FILE))
}

/// glwire's ICD: the one `glwire run` uses, and any vendor file among libglvnd's that
/// names it (a system-wide install), with its place in libglvnd's order.
pub fn glwire_icd_row(list: &VendorList) -> Row {
    const CHECK: &str = "glwire icd";
    let mut detail = Vec::new();
    let mut fixes = Vec::new();
    match run_icd_path().and_then(|path| check_icd(&path).map(|()| path)) {
        Ok(path) => detail.push(format!("for `glwire run`: {} loads and exports __egl_Main", shown(&path))),
        Err(e) => {
            detail.push(format!("for `glwire run`: {e}"));
            fixes.push(
                "build it beside the glwire binary: `cargo build --release -p glwire -p icd` (or reinstall with \
                 `bash scripts/install.sh`)"
                    .to_owned(),
            );
        }
    }
    let total = list.entries.len();
    let mut system = 0;
    for (i, entry) in list.entries.iter().enumerate().filter(|(_, e)| e.is_glwire()) {
        system += 1;
        let before: Vec<String> = list.entries[..i].iter().map(VendorEntry::name).collect();
        let place = if before.is_empty() {
            format!("vendor 1 of {total}: glwire answers programs' default EGL display")
        } else {
            format!(
                "vendor {} of {total}, after {}: programs get glwire when no earlier vendor answers, or through \
                 `glwire run`",
                i + 1,
                before.join(", ")
            )
        };
        let state = match &entry.library {
            Ok((_, Some(path))) => check_icd(path).map(|()| format!("{} loads", path.display())),
            Ok((named, None)) => Err(format!("its library {named} is missing")),
            Err(why) => Err(why.clone()),
        };
        match state {
            Ok(state) => detail.push(format!("system-wide: {} ({state}); {place}", entry.json.display())),
            Err(e) => {
                detail.push(format!("system-wide: {}: {e}", entry.json.display()));
                fixes.push(format!(
                    "reinstall (`bash scripts/install.sh`) or remove {}: libglvnd skips a vendor whose library does \
                     not load",
                    entry.json.display()
                ));
            }
        }
    }
    if system == 0 {
        detail.push(
            "system-wide: none among libglvnd's vendor files (`glwire run` writes its own; `bash \
             scripts/install.sh` installs one)"
                .to_owned(),
        );
    }
    if fixes.is_empty() {
        Row::ok(CHECK, detail)
    } else {
        Row::fail(CHECK, detail, fixes.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn names(files: &[PathBuf]) -> Vec<String> {
        files
            .iter()
            .map(|f| {
                let dir = f.parent().unwrap().file_name().unwrap().to_string_lossy();
                format!("{dir}/{}", f.file_name().unwrap().to_string_lossy())
            })
            .collect()
    }

    /// Two vendor directories as libglvnd's defaults would be, with the files and
    /// non-files that must be left out.
    fn tree() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let etc = tmp.path().join("etc");
        let share = tmp.path().join("share");
        fs::create_dir(&etc).unwrap();
        fs::create_dir(&share).unwrap();
        for name in ["50_mesa.json", "10_nvidia.json", "60_glwire.json", "Z_upper.json", "README", "9.json.bak"] {
            fs::write(share.join(name), "{}").unwrap();
        }
        fs::create_dir(share.join("05_dir.json")).unwrap();
        std::os::unix::fs::symlink(share.join("50_mesa.json"), share.join("55_link.json")).unwrap();
        fs::write(etc.join("90_local.json"), "{}").unwrap();
        (tmp, etc, share)
    }

    #[test]
    fn default_directories_in_turn_each_in_strcmp_order() {
        let (_tmp, etc, share) = tree();
        let (source, files) = vendor_files(None, None, &[etc.clone(), share.clone()]);
        assert_eq!(source, VendorSource::Default(vec![etc, share]));
        // The first directory's files all come first, even a name that sorts later;
        // digits sort before capitals; directories and other names are left out.
        assert_eq!(
            names(&files),
            [
                "etc/90_local.json",
                "share/10_nvidia.json",
                "share/50_mesa.json",
                "share/55_link.json",
                "share/60_glwire.json",
                "share/Z_upper.json"
            ]
        );
    }

    #[test]
    fn the_variables_override_the_defaults() {
        let (_tmp, etc, share) = tree();
        let missing = share.parent().unwrap().join("missing");
        let dirs = format!("{}::{}:{}", share.display(), missing.display(), etc.display());
        let (source, files) = vendor_files(None, Some(OsStr::new(&dirs)), &[PathBuf::from("/nonexistent")]);
        assert_eq!(source, VendorSource::Dirs(vec![share.clone(), missing, etc.clone()]));
        assert_eq!(names(&files).first().map(String::as_str), Some("share/10_nvidia.json"));
        assert_eq!(names(&files).last().map(String::as_str), Some("etc/90_local.json"));

        // FILENAMES wins over DIRS, keeps its own order, and names files that need not
        // exist (libglvnd skips those when loading).
        let list = format!("{}:{}:", share.join("60_glwire.json").display(), etc.join("nope.json").display());
        let (source, files) = vendor_files(Some(OsStr::new(&list)), Some(OsStr::new(&dirs)), &[]);
        assert_eq!(source, VendorSource::Filenames);
        assert_eq!(names(&files), ["share/60_glwire.json", "etc/nope.json"]);
    }

    #[test]
    fn vendor_files_are_read_as_libglvnd_reads_them() {
        let tmp = tempfile::tempdir().unwrap();
        let lib = tmp.path().join("libEGL_glwire.so");
        fs::write(&lib, b"").unwrap();
        let search =
            LibrarySearch { ld_library_path: vec![tmp.path().into()], cache: Vec::new(), defaults: Vec::new() };
        let entry = |name: &str, text: &str| {
            let path = tmp.path().join(name);
            fs::write(&path, text).unwrap();
            read_entry(path, &search).library
        };
        let abs = format!(r#"{{"file_format_version":"1.0.0","ICD":{{"library_path":"{}"}}}}"#, lib.display());
        assert_eq!(entry("a.json", &abs), Ok((lib.display().to_string(), Some(lib.clone()))));
        let bare = r#"{"file_format_version":"1.0","icd":{"library_path":"libEGL_glwire.so"}}"#;
        assert_eq!(entry("b.json", bare), Ok(("libEGL_glwire.so".into(), Some(lib.clone()))));
        let relative = r#"{"file_format_version":"1","ICD":{"library_path":"./libEGL_glwire.so"}}"#;
        assert!(matches!(entry("c.json", relative), Ok((_, Some(_)))));
        let absent = r#"{"file_format_version":"1.0.0","ICD":{"library_path":"libEGL_nothing.so.0"}}"#;
        assert_eq!(entry("d.json", absent), Ok(("libEGL_nothing.so.0".into(), None)));
        let newer = r#"{"file_format_version":"1.1.0","ICD":{"library_path":"x"}}"#;
        assert!(entry("e.json", newer).unwrap_err().contains("1.0.x"));
        assert!(entry("f.json", r#"{"ICD":{}}"#).unwrap_err().contains("file_format_version"));
        assert!(entry("g.json", r#"{"file_format_version":"1.0.0"}"#).unwrap_err().contains("library_path"));
        assert!(entry("h.json", "{").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn format_versions() {
        for ok in ["1.0.0", "1.0", "1", "1.0.7", "1.x"] {
            assert!(format_version_ok(ok), "{ok}");
        }
        for bad in ["2.0.0", "1.1.0", "0.9", "", "x"] {
            assert!(!format_version_ok(bad), "{bad}");
        }
    }

    #[test]
    fn the_vendor_row_names_what_libglvnd_skips() {
        let entry = |json: &str, library| VendorEntry { json: PathBuf::from(json), library };
        let list = VendorList {
            source: VendorSource::Filenames,
            entries: vec![
                entry(
                    "/d/50_mesa.json",
                    Ok(("libEGL_mesa.so.0".into(), Some(PathBuf::from("/usr/lib/libEGL_mesa.so.0")))),
                ),
                entry("/d/60_glwire.json", Ok(("/opt/libEGL_glwire.so".into(), None))),
            ],
        };
        let row = vendors_row(&list);
        assert_eq!(row.status, super::super::Status::Warn);
        assert!(row.detail[2].contains("not found, libglvnd skips it"), "{:?}", row.detail);
        assert!(row.fix.unwrap().contains("/d/60_glwire.json"));
        let icd = glwire_icd_row(&list);
        assert_eq!(icd.status, super::super::Status::Fail, "{:?}", icd.detail);
        assert!(icd.detail.iter().any(|d| d.contains("60_glwire.json") && d.contains("missing")), "{:?}", icd.detail);
    }
}
