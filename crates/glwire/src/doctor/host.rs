//! Doctor checks on the server's side of glwire: the host EGL driver, its platforms and
//! devices, and the GLES renderer the render server would use. They are read the way
//! the server reads them (`backend_gles::prepare_process_env`, `Backend::open`, a
//! context, its renderer strings) in a child process — `glwire doctor
//! --probe-host-egl` — because preparing the environment changes the process's
//! variables and a broken driver may crash; the doctor itself only reads the child's
//! `key<TAB>value` lines. It does not validate or execute commands.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use khronos_egl as egl;

use super::Row;

/// A driver that has not answered by then is reported as hung.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// The host EGL and the renderer rows.
pub fn rows() -> Vec<Row> {
    match run_probe() {
        Ok(found) => vec![egl_row(&found), renderer_row(&found)],
        Err(e) => {
            let fix = backend_gles::SETUP_HINT.to_owned();
            vec![
                Row::fail("host egl", vec![e], fix.clone()),
                Row::fail("renderer", vec!["unknown: no host GLES context (the host egl row says why)".into()], fix),
            ]
        }
    }
}

/// What the probe printed, by key (keys that repeat, like `device`, keep every value).
type Found = BTreeMap<String, Vec<String>>;

fn first<'a>(found: &'a Found, key: &str) -> Option<&'a str> {
    found.get(key).and_then(|v| v.first()).map(String::as_str)
}

/// Runs `glwire doctor --probe-host-egl` and collects its lines, within the timeout.
fn run_probe() -> Result<Found, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the glwire binary to probe with: {e}"))?;
    let mut child = Command::new(exe)
        .args(["doctor", "--probe-host-egl"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the host EGL probe: {e}"))?;
    // Read both pipes on threads, so a chatty driver cannot fill one and stall.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + PROBE_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the host EGL driver did not open a display and context within {}s",
                    PROBE_TIMEOUT.as_secs()
                ));
            }
            Err(e) => return Err(format!("cannot wait for the host EGL probe: {e}")),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let mut found = Found::new();
    for line in stdout.lines() {
        if let Some((key, value)) = line.split_once('\t') {
            found.entry(key.to_owned()).or_default().push(value.to_owned());
        }
    }
    if let Some(error) = first(&found, "error") {
        return Err(strip_hint(error));
    }
    if !status.success() {
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message");
        return Err(format!("the host EGL probe died ({status}); its last words: {last}"));
    }
    Ok(found)
}

/// The backend's setup errors end with the install hint, which the fix column carries.
fn strip_hint(error: &str) -> String {
    error.strip_suffix(backend_gles::SETUP_HINT).map(|e| e.trim_end_matches([';', ' '])).unwrap_or(error).to_owned()
}

fn egl_row(found: &Found) -> Row {
    let get = |key| first(found, key).unwrap_or("?");
    let mut detail = vec![
        format!("driver: {} ({})", get("vendor_file"), get("vendor_file_from")),
        format!(
            "EGL {} by {}, client APIs: {}{}",
            get("egl_version"),
            get("egl_vendor"),
            get("client_apis"),
            if get("robust") == "yes" { ", robust buffer access" } else { "" }
        ),
        format!("platforms: {}", get("platforms")),
    ];
    match found.get("device") {
        Some(devices) if !devices.is_empty() => detail.push(format!("devices: {}", devices.join("; "))),
        _ => detail.push("devices: not enumerated (no EGL_EXT_device_enumeration)".to_owned()),
    }
    Row::ok("host egl", detail)
}

fn renderer_row(found: &Found) -> Row {
    let get = |key| first(found, key).unwrap_or("?");
    let renderer = get("gl_renderer");
    let detail = vec![
        format!("{} by {}", renderer, get("gl_vendor")),
        format!("{} (context ES {}), {}", get("gl_version"), get("context"), get("glsl_version")),
    ];
    let software = ["llvmpipe", "softpipe", "swrast", "SWR"].iter().any(|s| renderer.contains(s));
    if software {
        Row::warn(
            "renderer",
            detail,
            "this is software rendering on the CPU: for a GPU, install its Mesa driver (`sudo apt-get install \
             libgl1-mesa-dri`) and give the user its render node (/dev/dri/renderD*, group `render`), or point \
             GLWIRE_HOST_EGL_VENDOR at the GPU vendor's glvnd JSON",
        )
    } else {
        Row::ok("renderer", detail)
    }
}

/// The child: prepares the environment and opens the host EGL as `glwire serve` does,
/// then prints what it found as `key<TAB>value` lines (an `error` line on failure).
pub fn probe_main() -> ExitCode {
    let from = match std::env::var_os(backend_gles::host::HOST_VENDOR_ENV) {
        Some(v) if !v.is_empty() => backend_gles::host::HOST_VENDOR_ENV,
        _ => "the default; GLWIRE_HOST_EGL_VENDOR picks another",
    };
    // Before any thread: it sets the variables libglvnd reads.
    let vendor_file = backend_gles::prepare_process_env();
    line("vendor_file", &vendor_file.display().to_string());
    line("vendor_file_from", from);
    let backend = match backend_gles::Backend::open() {
        Ok(backend) => backend,
        Err(e) => return fail(&e.to_string()),
    };
    let info = backend.display().info();
    line("egl_vendor", &info.vendor);
    let version = info.version.trim();
    line(
        "egl_version",
        &if version.is_empty() { format!("{}.{}", info.major, info.minor) } else { version.to_owned() },
    );
    line("client_apis", info.client_apis.trim());
    line("robust", if backend.display().robust_access() { "yes" } else { "no" });
    platforms_and_devices();
    let cx = match backend.new_context(None) {
        Ok(cx) => cx,
        Err(e) => return fail(&format!("the host EGL opened but gave no GLES 3 context: {e}")),
    };
    let (major, minor) = cx.host().version();
    line("context", &format!("{major}.{minor}"));
    match cx.renderer_strings() {
        Ok(s) => {
            line("gl_vendor", &s.vendor);
            line("gl_renderer", &s.renderer);
            line("gl_version", &s.version);
            line("glsl_version", &s.shading_language_version);
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("cannot read the renderer strings: {e}")),
    }
}

fn line(key: &str, value: &str) {
    // One line per value: the parent splits on newlines.
    println!("{key}\t{}", value.replace(['\n', '\t'], " "));
}

fn fail(error: &str) -> ExitCode {
    line("error", error);
    ExitCode::FAILURE
}

const EGL_DRM_DEVICE_FILE_EXT: egl::Int = 0x3233;
const EGL_DRM_RENDER_NODE_FILE_EXT: egl::Int = 0x3377;

type QueryDevices = unsafe extern "C" fn(egl::Int, *mut *mut core::ffi::c_void, *mut egl::Int) -> egl::Boolean;
type QueryDeviceString = unsafe extern "C" fn(*mut core::ffi::c_void, egl::Int) -> *const core::ffi::c_char;

/// The platforms the client extensions name, and the devices EGL_EXT_device_enumeration
/// lists (their DRM nodes, or "software"). Only queries: nothing is created.
fn platforms_and_devices() {
    // SAFETY: libEGL.so.1 is the system's EGL (libglvnd, already loaded by the
    // backend), which implements EGL 1.5 as khronos-egl declares it; `load_required`
    // checks the symbols exist.
    let egl = match unsafe { egl::DynamicInstance::<egl::EGL1_5>::load_required() } {
        Ok(egl) => egl,
        Err(e) => return line("platforms", &format!("unknown ({e})")),
    };
    let client = egl.query_string(None, egl::EXTENSIONS).map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut platforms: Vec<&str> = Vec::new();
    for ext in client.split_ascii_whitespace() {
        if let Some((_, name)) = ext.split_once("_platform_") {
            if name != "base" && !platforms.contains(&name) {
                platforms.push(name);
            }
        }
    }
    line("platforms", &if platforms.is_empty() { "none named".to_owned() } else { platforms.join(" ") });
    if !client.split_ascii_whitespace().any(|e| e == "EGL_EXT_device_enumeration" || e == "EGL_EXT_device_base") {
        return;
    }
    let (Some(query_devices), Some(query_string)) =
        (egl.get_proc_address("eglQueryDevicesEXT"), egl.get_proc_address("eglQueryDeviceStringEXT"))
    else {
        return;
    };
    // SAFETY: these are the addresses EGL gives for eglQueryDevicesEXT and
    // eglQueryDeviceStringEXT, whose C signatures (EGL_EXT_device_enumeration,
    // EGL_EXT_device_query) the two types spell out.
    let (query_devices, query_string) = unsafe {
        (
            std::mem::transmute::<extern "system" fn(), QueryDevices>(query_devices),
            std::mem::transmute::<extern "system" fn(), QueryDeviceString>(query_string),
        )
    };
    let mut devices = [core::ptr::null_mut(); 16];
    let mut count: egl::Int = 0;
    // SAFETY: the array holds 16 device handles, the size passed; `count` is written.
    if unsafe { query_devices(devices.len() as egl::Int, devices.as_mut_ptr(), &mut count) } == egl::FALSE {
        return;
    }
    let string = |device, name| {
        // SAFETY: `device` came from eglQueryDevicesEXT; the result is NULL or a
        // NUL-terminated string EGL keeps for the device's lifetime (the process's).
        let s = unsafe { query_string(device, name) };
        // SAFETY: non-NULL, so a NUL-terminated string owned by EGL (above).
        (!s.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(s) }.to_string_lossy().into_owned())
    };
    for &device in devices.iter().take(count.clamp(0, 16) as usize) {
        let extensions = string(device, egl::EXTENSIONS).unwrap_or_default();
        let has = |name: &str| extensions.split_ascii_whitespace().any(|e| e == name);
        let description = if has("EGL_MESA_device_software") {
            "software".to_owned()
        } else {
            let render =
                has("EGL_EXT_device_drm_render_node").then(|| string(device, EGL_DRM_RENDER_NODE_FILE_EXT)).flatten();
            let card = has("EGL_EXT_device_drm").then(|| string(device, EGL_DRM_DEVICE_FILE_EXT)).flatten();
            render.or(card).unwrap_or_else(|| "a device without a DRM node".to_owned())
        };
        line("device", &description);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_renderers_are_a_warning() {
        let mut found = Found::new();
        found.insert("gl_renderer".into(), vec!["llvmpipe (LLVM 15.0.6, 256 bits)".into()]);
        assert_eq!(renderer_row(&found).status, super::super::Status::Warn);
        found.insert("gl_renderer".into(), vec!["AMD Radeon RX 6600 (radeonsi, navi23)".into()]);
        assert_eq!(renderer_row(&found).status, super::super::Status::Ok);
    }

    #[test]
    fn the_install_hint_moves_to_the_fix_column() {
        let e = format!("no host EGL driver offers a surfaceless display (x: y); {}", backend_gles::SETUP_HINT);
        assert_eq!(strip_hint(&e), "no host EGL driver offers a surfaceless display (x: y)");
        assert_eq!(strip_hint("other"), "other");
    }
}
