//! The real libglvnd loads libEGL_glwire as an EGL vendor: a child process pointed at
//! glwire's vendor JSON gets glwire's displays and platform extension, and a process
//! marked as the render server gets none of it. Needs libglvnd (`libegl1`).

use std::path::PathBuf;
use std::process::Command;

const CHILD: &str = "GLWIRE_TEST_GLVND_CHILD";

/// The vendor library next to this test binary (`target/<profile>/`).
fn vendor_json(dir: &std::path::Path) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let lib = exe.parent().and_then(|d| d.parent()).unwrap().join("libEGL_glwire.so");
    assert!(lib.exists(), "{} not built", lib.display());
    let json = dir.join("glwire.json");
    let text = format!("{{\"file_format_version\":\"1.0.0\",\"ICD\":{{\"library_path\":\"{}\"}}}}", lib.display());
    std::fs::write(&json, text).unwrap();
    json
}

fn run_child(mode: &str, extra_env: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let json = vendor_json(dir.path());
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child", "--nocapture"]).env(CHILD, mode).env("__EGL_VENDOR_LIBRARY_FILENAMES", &json);
    cmd.env_remove("GLWIRE_RENDER_SERVER");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn libglvnd_loads_glwire_as_a_vendor() {
    let out = run_child("vendor", &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("display: yes"), "{text}");
    assert!(text.contains("surfaceless: yes"), "{text}");
    assert!(text.contains("initialize: NotInitialized"), "{text}");
}

#[test]
fn the_render_server_never_loads_glwire() {
    let out = run_child("server", &[("GLWIRE_RENDER_SERVER", "1")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("display: no"), "{text}");
}

/// The child half: runs only when a test above starts this binary with `CHILD` set.
#[test]
fn child() {
    let Ok(mode) = std::env::var(CHILD) else { return };
    // SAFETY: loads the system libEGL (libglvnd), which is what programs do.
    let egl = unsafe { khronos_egl::DynamicInstance::<khronos_egl::EGL1_4>::load_required() }.unwrap();
    // SAFETY: EGL_DEFAULT_DISPLAY is always a valid argument.
    let display = unsafe { egl.get_display(khronos_egl::DEFAULT_DISPLAY) };
    println!("display: {}", if display.is_some() { "yes" } else { "no" });
    if mode == "vendor" {
        let ext = egl.query_string(None, khronos_egl::EXTENSIONS).map(|s| s.to_string_lossy().into_owned());
        let surfaceless = ext.unwrap_or_default().contains("EGL_MESA_platform_surfaceless");
        println!("surfaceless: {}", if surfaceless { "yes" } else { "no" });
        if let Some(d) = display {
            match egl.initialize(d) {
                Ok(v) => println!("initialize: ok {v:?}"),
                Err(e) => println!("initialize: {e:?}"),
            }
        }
    }
}
