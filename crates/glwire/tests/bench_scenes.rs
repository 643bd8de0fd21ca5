//! `glwire bench scenes` end to end, small and quick: every built-in scene runs
//! natively (Mesa) and through glwire (a real render server on llvmpipe), and the JSON
//! holds both sides' frame rates, matching centre pixels and the round trips per frame.
//! Timings never gate a test: only that the figures exist is checked.

mod support;

use std::process::Command;

/// The text of `"key": value` in `object` (up to the next `,` or `}` at depth 0).
fn field<'a>(object: &'a str, key: &str) -> Option<&'a str> {
    let at = object.find(&format!("\"{key}\": "))? + key.len() + 4;
    let rest = &object[at..];
    let mut depth = 0i32;
    for (i, c) in rest.char_indices() {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' if depth == 0 => return Some(rest[..i].trim()),
            '}' | ']' => depth -= 1,
            ',' if depth == 0 => return Some(rest[..i].trim()),
            _ => {}
        }
    }
    Some(rest.trim())
}

fn number(object: &str, key: &str) -> f64 {
    let v = field(object, key).unwrap_or_else(|| panic!("no {key} in {object}"));
    v.parse().unwrap_or_else(|_| panic!("{key} is {v}, not a number, in {object}"))
}

#[test]
fn bench_scenes_runs_every_scene_on_both_sides() {
    support::ensure_icd_built();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("scenes.json");
    let out = Command::new(env!("CARGO_BIN_EXE_glwire"))
        .args(["bench", "scenes", "--frames", "5", "--size", "64x64", "--rounds", "2", "--starts", "2"])
        .args(["--no-glmark2", "--json"])
        .arg(&json)
        .env_remove("GLWIRE_SOCKET")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench scenes failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    assert!(stderr.contains("bench scenes [1/"), "no progress line: {stderr}");
    let text = std::fs::read_to_string(&json).unwrap();
    // One line per scene in the "scenes" array.
    for scene in ["draws", "upload", "readback", "mixed"] {
        let line = text
            .lines()
            .find(|l| l.contains(&format!("{{\"scene\": \"{scene}\"")))
            .unwrap_or_else(|| panic!("no scene {scene} in {text}"));
        for side in ["native", "glwire"] {
            let run = field(line, side).unwrap_or_else(|| panic!("no {side} in {line}"));
            assert!(number(run, "fps") > 0.0, "{scene} {side}: {run}");
            // 2 starts of a warm-up burst and 2 rounds' bursts, 5 frames each.
            assert_eq!(number(run, "frames"), 30.0, "{scene} {side}: {run}");
        }
        // Both bursts of each round, on both sides, for every round.
        let rounds = field(line, "rounds_fps").unwrap_or_else(|| panic!("no rounds_fps in {line}"));
        assert_eq!(rounds.matches('[').count(), 1 + 4, "{scene}: {rounds}");
        let quartiles = field(line, "ratio_quartiles").unwrap_or_else(|| panic!("no quartiles in {line}"));
        assert!(quartiles.starts_with('['), "{scene}: {quartiles}");
        let ratio = number(line, "ratio");
        assert!(ratio > 0.0, "{scene}: {line}");
        assert_eq!(field(line, "pixels_match"), Some("true"), "{scene}: {line}");
        // Exact, whatever the starts and bursts (each start's setup is taken out): only
        // readback's glReadPixels waits for a reply.
        let rt = number(line, "round_trips_per_frame");
        assert_eq!(rt, if scene == "readback" { 1.0 } else { 0.0 }, "{scene}: {line}");
        assert!(number(line, "commands_per_frame") > 0.0, "{scene}: {line}");
        // The table says the same.
        assert!(stdout.lines().any(|l| l.starts_with(scene)), "no row for {scene}:\n{stdout}");
    }
    assert!(text.contains("\"glmark2\": {\"skipped\": "), "{text}");
    let floors = field(&text, "floors").unwrap();
    assert!(number(floors, "sync_rtt_p50_us") > 0.0, "{floors}");
}
