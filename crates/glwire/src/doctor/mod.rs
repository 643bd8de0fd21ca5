//! `glwire doctor`: checks what glwire needs on this machine and prints one row per
//! check — its status (`ok`, `warn`, `FAIL`), what it found, and for a problem the fix —
//! as a table, or as JSON with `--json`. It owns the rows, their order and the exit
//! status; each group of checks is a module of its own (`glvnd`: libglvnd, its vendor
//! files and glwire's ICD; `host`: the host EGL and renderer the server would use, read
//! in a child process; `server`: the server at the configured socket; `virt`: CPU
//! virtualization, /dev/kvm, AF_VSOCK; `limits`: descriptors and shared memory). It
//! changes nothing on the machine and calls nothing in glwire's ICD.
//!
//! Exit status 1 when a check FAILs, which is kept for what stops rendering through
//! glwire: no libglvnd (`libEGL.so.1`/`libGLESv2.so.2` missing or not glvnd's); glwire's
//! ICD missing or unloadable where `glwire run` looks for it, or a system-wide vendor
//! file naming an ICD that is not there; no host EGL display or GLES context (the server
//! could not render); a server at the socket that answers but cannot serve this build
//! (another protocol version, refused, or not a glwire server); sealed memfds
//! unavailable (the rings and frame rings are made of them). Everything else is at most
//! a warning, exit status 0: no server running (`glwire run` starts a private one),
//! software rendering, no hardware virtualization, /dev/kvm or vsock (they matter only
//! for VM guests), low descriptor limits.

mod glvnd;
mod host;
pub(crate) mod json;
mod limits;
mod server;
mod virt;

use std::path::PathBuf;
use std::process::ExitCode;

/// Check that glwire can run here, and say how to fix what is missing.
#[derive(Debug, Clone, clap::Args)]
pub struct DoctorArgs {
    /// The server socket to check.
    /// [default: $GLWIRE_SOCKET, else $XDG_RUNTIME_DIR/glwire/gpu0 or /tmp/glwire-$UID/gpu0]
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Print the rows as one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Open the host EGL as the server does and print what it found (the child process
    /// `doctor` runs, so a broken driver cannot take the doctor down).
    #[arg(long, hide = true)]
    pub probe_host_egl: bool,
}

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone)]
pub struct Row {
    pub check: &'static str,
    pub status: Status,
    /// What was found, one line each.
    pub detail: Vec<String>,
    /// What to do about a warning or failure.
    pub fix: Option<String>,
}

impl Row {
    pub fn ok(check: &'static str, detail: Vec<String>) -> Self {
        Row { check, status: Status::Ok, detail, fix: None }
    }

    pub fn warn(check: &'static str, detail: Vec<String>, fix: impl Into<String>) -> Self {
        Row { check, status: Status::Warn, detail, fix: Some(fix.into()) }
    }

    pub fn fail(check: &'static str, detail: Vec<String>, fix: impl Into<String>) -> Self {
        Row { check, status: Status::Fail, detail, fix: Some(fix.into()) }
    }
}

pub fn run(args: DoctorArgs) -> ExitCode {
    if args.probe_host_egl {
        return host::probe_main();
    }
    let rows = checks(&args);
    if args.json {
        println!("{}", to_json(&rows));
    } else {
        print!("{}", to_table(&rows));
    }
    if rows.iter().any(|r| r.status == Status::Fail) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Every check, in the order a call travels: the program's libglvnd and vendor files,
/// glwire's ICD, the host driver and renderer behind the server, the server, then what
/// VM guests and resource limits need.
fn checks(args: &DoctorArgs) -> Vec<Row> {
    let mut rows = vec![glvnd::libglvnd()];
    let vendors = glvnd::VendorList::from_env();
    rows.push(glvnd::vendors_row(&vendors));
    rows.push(glvnd::glwire_icd_row(&vendors));
    rows.extend(host::rows());
    rows.push(server::row(args.socket.as_deref()));
    rows.push(virt::cpu_row());
    rows.push(virt::kvm_row());
    rows.push(virt::vsock_row());
    rows.push(limits::fd_row());
    rows.push(limits::shm_row());
    rows
}

/// The table: check and status in columns, the detail beside them (a line each), the
/// fix on a line of its own below.
fn to_table(rows: &[Row]) -> String {
    let check_w = rows.iter().map(|r| r.check.len()).max().unwrap_or(0).max("CHECK".len());
    let status_w = "STATUS".len();
    let mut out = format!("{:check_w$}  {:status_w$}  DETAIL\n", "CHECK", "STATUS");
    for row in rows {
        let mut detail = row.detail.iter();
        let first = detail.next().map(String::as_str).unwrap_or("");
        out.push_str(&format!("{:check_w$}  {:status_w$}  {first}\n", row.check, row.status.label()));
        for line in detail {
            out.push_str(&format!("{:check_w$}  {:status_w$}  {line}\n", "", ""));
        }
        if let Some(fix) = &row.fix {
            out.push_str(&format!("{:check_w$}  {:>status_w$}  {fix}\n", "", "fix:"));
        }
    }
    let count = |s| rows.iter().filter(|r| r.status == s).count();
    let (fails, warns) = (count(Status::Fail), count(Status::Warn));
    out.push('\n');
    out.push_str(&match (fails, warns) {
        (0, 0) => "glwire doctor: everything checked is fine\n".to_owned(),
        (0, w) => format!("glwire doctor: nothing blocks rendering; {w} warning(s) above\n"),
        (f, w) => format!("glwire doctor: {f} problem(s) block rendering, {w} warning(s); see the fix lines\n"),
    });
    out
}

/// `{"ok": bool, "checks": [{"check", "status", "detail": [..], "fix": string|null}]}`.
fn to_json(rows: &[Row]) -> String {
    let ok = !rows.iter().any(|r| r.status == Status::Fail);
    let checks: Vec<String> = rows
        .iter()
        .map(|r| {
            let detail: Vec<String> = r.detail.iter().map(|d| json::quote(d)).collect();
            format!(
                "{{\"check\":{},\"status\":{},\"detail\":[{}],\"fix\":{}}}",
                json::quote(r.check),
                json::quote(r.status.label()),
                detail.join(","),
                r.fix.as_deref().map_or_else(|| "null".to_owned(), json::quote)
            )
        })
        .collect();
    format!("{{\"ok\":{ok},\"checks\":[{}]}}", checks.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Row> {
        vec![
            Row::ok("libglvnd", vec!["found".into(), "second line".into()]),
            Row::warn("server", vec!["nothing listens".into()], "glwire serve &"),
        ]
    }

    #[test]
    fn table_has_a_row_per_check_and_the_fix_below() {
        let table = to_table(&rows());
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "CHECK     STATUS  DETAIL");
        assert_eq!(lines[1], "libglvnd  ok      found");
        assert_eq!(lines[2], "                  second line");
        assert_eq!(lines[3], "server    warn    nothing listens");
        assert_eq!(lines[4], "            fix:  glwire serve &");
        assert!(lines[6].contains("nothing blocks rendering; 1 warning"), "{table}");
    }

    #[test]
    fn json_parses_back() {
        let text = to_json(&rows());
        let v = json::parse(&text).unwrap();
        assert_eq!(v.get("ok"), Some(&json::Value::Bool(true)));
        let json::Value::Array(checks) = v.get("checks").unwrap() else { panic!("{text}") };
        assert_eq!(checks[1].get("status").and_then(json::Value::as_str), Some("warn"));
        assert_eq!(checks[1].get("fix").and_then(json::Value::as_str), Some("glwire serve &"));
        assert_eq!(checks[0].get("fix"), Some(&json::Value::Null));
    }
}
