//! What `glwire top` shows: per-session rates from two samples of the server's session
//! list, the table, and the JSON. Pure functions of the samples; no I/O, no terminal
//! control codes (the caller adds those).
//!
//! Program names come from clients, which chose them: the table shows them with
//! control characters replaced, so a name cannot move the cursor or recolour the
//! terminal; the JSON escapes them.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::doctor::json::quote;
use wire::control::{ListSessionsReply, SessionRecord};

/// One `ListSessions` answer and when it arrived.
#[derive(Debug, Clone)]
pub struct Sample {
    pub at: Instant,
    pub header: ListSessionsReply,
    pub records: Vec<SessionRecord>,
}

/// One session's line: its state now and its rates over the last interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub session: u64,
    pub pid: u32,
    /// As the client gave it (lossy UTF-8), unescaped.
    pub program: String,
    pub contexts: u64,
    pub surfaces: u64,
    pub objects: u64,
    pub calls_per_s: f64,
    pub bytes_in_per_s: f64,
    pub bytes_out_per_s: f64,
    pub round_trips_per_s: f64,
    pub fps: f64,
    /// Round trips over frames in the interval; `None` without frames.
    pub round_trips_per_frame: Option<f64>,
    pub gl_bytes: u64,
    pub shm_bytes: u64,
    pub age_ms: u64,
    /// Since the session opened.
    pub commands: u64,
    pub frames: u64,
    pub gl_errors: u64,
    pub quota_refusals: u64,
}

/// A whole snapshot: the server's figures and the rows, busiest first.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// Live sessions other than top's own.
    pub sessions: u64,
    /// Sessions the server listed beyond top's own (fewer than `sessions` only past
    /// the reply's bound).
    pub listed: u64,
    pub server_rss_bytes: Option<u64>,
    pub interval: Duration,
    pub rows: Vec<Row>,
}

impl View {
    /// The rates between `prev` and `cur`, leaving out session `own` (top's).
    /// A session `prev` did not have (or that restarted its counters) is measured
    /// over its own age.
    pub fn between(prev: &Sample, cur: &Sample, own: u64) -> Self {
        let elapsed = cur.at.saturating_duration_since(prev.at);
        let mut rows: Vec<Row> = cur
            .records
            .iter()
            .filter(|r| r.session != own)
            .map(|r| {
                let before = prev.records.iter().find(|p| p.session == r.session).filter(|p| !restarted(p, r));
                row(before, r, elapsed)
            })
            .collect();
        rows.sort_by(|a, b| b.calls_per_s.total_cmp(&a.calls_per_s).then(a.session.cmp(&b.session)));
        let own_listed = cur.records.iter().any(|r| r.session == own);
        View {
            sessions: u64::from(cur.header.total).saturating_sub(u64::from(own_listed)),
            listed: rows.len() as u64,
            server_rss_bytes: Some(cur.header.server_rss_bytes).filter(|&b| b != 0),
            interval: elapsed,
            rows,
        }
    }

    fn total(&self, f: impl Fn(&Row) -> f64) -> f64 {
        // Not `sum()`: an empty f64 sum is -0.0, which prints as "-0".
        self.rows.iter().fold(0.0, |total, r| total + f(r))
    }

    /// The table, with a header line of server-wide figures; lines end in `\n`.
    pub fn table(&self, socket: &str, width: usize) -> String {
        let mut out = String::new();
        let mut head = format!("glwire top · {} · {} sessions", socket, self.sessions);
        if self.listed < self.sessions {
            let _ = write!(head, " ({} listed)", self.listed);
        }
        if let Some(rss) = self.server_rss_bytes {
            let _ = write!(head, " · server RSS {}", bytes(rss as f64));
        }
        let _ = write!(head, " · over {:.1} s", self.interval.as_secs_f64());
        let _ = writeln!(out, "{}", cut(&head, width));
        let total = format!(
            "total: {} calls/s · in {}/s · out {}/s · {} fps · {} contexts · GL {} · shm {}",
            count(self.total(|r| r.calls_per_s)),
            bytes(self.total(|r| r.bytes_in_per_s)),
            bytes(self.total(|r| r.bytes_out_per_s)),
            fps(self.total(|r| r.fps)),
            self.rows.iter().map(|r| r.contexts).sum::<u64>(),
            bytes(self.rows.iter().map(|r| r.gl_bytes).sum::<u64>() as f64),
            bytes(self.rows.iter().map(|r| r.shm_bytes).sum::<u64>() as f64),
        );
        let _ = writeln!(out, "{}\n", cut(&total, width));
        let _ = writeln!(
            out,
            "{}",
            cut(
                &format!(
                    "{:>7} {:>7} {:<20} {:>3} {:>8} {:>9} {:>9} {:>8} {:>8} {:>9} {:>9} {:>7}",
                    "SESSION",
                    "PID",
                    "PROGRAM",
                    "CTX",
                    "CALLS/S",
                    "IN/S",
                    "OUT/S",
                    "RT/FRAME",
                    "FPS",
                    "GL MEM",
                    "SHM",
                    "AGE"
                ),
                width
            )
        );
        for r in &self.rows {
            let rt = r.round_trips_per_frame.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
            let line = format!(
                "{:>7} {:>7} {:<20} {:>3} {:>8} {:>9} {:>9} {:>8} {:>8} {:>9} {:>9} {:>7}",
                r.session,
                r.pid,
                program_cell(&r.program, 20),
                r.contexts,
                count(r.calls_per_s),
                bytes(r.bytes_in_per_s),
                bytes(r.bytes_out_per_s),
                rt,
                fps(r.fps),
                bytes(r.gl_bytes as f64),
                bytes(r.shm_bytes as f64),
                age(r.age_ms),
            );
            let _ = writeln!(out, "{}", cut(&line, width));
        }
        if self.rows.is_empty() {
            let _ = writeln!(out, "(no sessions: nothing is rendering through this server)");
        }
        out
    }

    /// The snapshot as one JSON object (no newline).
    pub fn json(&self, socket: &str) -> String {
        let mut out = String::new();
        let rss = self.server_rss_bytes.map_or_else(|| "null".to_owned(), |b| b.to_string());
        let _ = write!(
            out,
            "{{\"socket\":{},\"interval_seconds\":{},\"server\":{{\"sessions\":{},\"listed\":{},\"rss_bytes\":{}}},",
            quote(socket),
            num(self.interval.as_secs_f64()),
            self.sessions,
            self.listed,
            rss
        );
        let _ = write!(
            out,
            "\"totals\":{{\"calls_per_second\":{},\"bytes_in_per_second\":{},\"bytes_out_per_second\":{},\"fps\":{},\
             \"contexts\":{},\"gl_bytes\":{},\"shm_bytes\":{}}},\"sessions\":[",
            num(self.total(|r| r.calls_per_s)),
            num(self.total(|r| r.bytes_in_per_s)),
            num(self.total(|r| r.bytes_out_per_s)),
            num(self.total(|r| r.fps)),
            self.rows.iter().map(|r| r.contexts).sum::<u64>(),
            self.rows.iter().map(|r| r.gl_bytes).sum::<u64>(),
            self.rows.iter().map(|r| r.shm_bytes).sum::<u64>(),
        );
        for (i, r) in self.rows.iter().enumerate() {
            let rt = r.round_trips_per_frame.map_or_else(|| "null".to_owned(), num);
            let _ = write!(
                out,
                "{}{{\"session\":{},\"pid\":{},\"program\":{},\"contexts\":{},\"surfaces\":{},\"objects\":{},\
                 \"calls_per_second\":{},\"bytes_in_per_second\":{},\"bytes_out_per_second\":{},\
                 \"round_trips_per_second\":{},\"fps\":{},\"round_trips_per_frame\":{},\"gl_bytes\":{},\
                 \"shm_bytes\":{},\"age_ms\":{},\"commands\":{},\"frames\":{},\"gl_errors\":{},\"quota_refusals\":{}}}",
                if i == 0 { "" } else { "," },
                r.session,
                r.pid,
                quote(&r.program),
                r.contexts,
                r.surfaces,
                r.objects,
                num(r.calls_per_s),
                num(r.bytes_in_per_s),
                num(r.bytes_out_per_s),
                num(r.round_trips_per_s),
                num(r.fps),
                rt,
                r.gl_bytes,
                r.shm_bytes,
                r.age_ms,
                r.commands,
                r.frames,
                r.gl_errors,
                r.quota_refusals,
            );
        }
        out.push_str("]}");
        out
    }
}

/// Counters that went down, or an age that did: not the session `prev` saw (a
/// restarted server reuses ids).
fn restarted(prev: &SessionRecord, cur: &SessionRecord) -> bool {
    let (p, c) = (&prev.stats, &cur.stats);
    cur.age_ms < prev.age_ms
        || c.commands < p.commands
        || c.bytes_in < p.bytes_in
        || c.bytes_out < p.bytes_out
        || c.round_trips < p.round_trips
        || c.frames < p.frames
}

fn row(before: Option<&SessionRecord>, r: &SessionRecord, elapsed: Duration) -> Row {
    let s = &r.stats;
    // A new session is measured over its own life (it started within the interval).
    let (base, seconds) = match before {
        Some(p) => (p.stats, elapsed.as_secs_f64()),
        None => (Default::default(), Duration::from_millis(r.age_ms).as_secs_f64()),
    };
    // Guard against a zero interval (two samples in the same millisecond).
    let seconds = seconds.max(1e-3);
    let rate = |now: u64, then: u64| now.saturating_sub(then) as f64 / seconds;
    let frames = s.frames.saturating_sub(base.frames);
    let round_trips = s.round_trips.saturating_sub(base.round_trips);
    Row {
        session: r.session,
        pid: r.pid,
        program: String::from_utf8_lossy(r.program_name()).into_owned(),
        contexts: s.contexts,
        surfaces: s.surfaces,
        objects: s.objects,
        calls_per_s: rate(s.commands, base.commands),
        bytes_in_per_s: rate(s.bytes_in, base.bytes_in),
        bytes_out_per_s: rate(s.bytes_out, base.bytes_out),
        round_trips_per_s: rate(s.round_trips, base.round_trips),
        fps: rate(s.frames, base.frames),
        round_trips_per_frame: (frames > 0).then(|| round_trips as f64 / frames as f64),
        gl_bytes: s.gl_bytes,
        shm_bytes: s.shm_bytes,
        age_ms: r.age_ms,
        commands: s.commands,
        frames: s.frames,
        gl_errors: r.gl_errors,
        quota_refusals: r.quota_refusals,
    }
}

/// The program's file name (clients send argv[0], often a path), safe to print, cut
/// to `width` characters.
fn program_cell(program: &str, width: usize) -> String {
    let name = program.rsplit('/').find(|s| !s.is_empty()).unwrap_or(program);
    let name = if name.is_empty() { "?" } else { name };
    cut(&printable(name), width)
}

/// Control characters (escape sequences start with one) become `?`.
fn printable(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// At most `width` characters, the last one `…` when cut.
fn cut(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A count with an SI suffix: `950`, `12.3k`, `4.56M`.
fn count(v: f64) -> String {
    if v < 1e3 {
        format!("{v:.0}")
    } else if v < 1e6 {
        format!("{:.1}k", v / 1e3)
    } else if v < 1e9 {
        format!("{:.2}M", v / 1e6)
    } else {
        format!("{:.2}G", v / 1e9)
    }
}

/// Frames a second: a decimal while small, then like [`count`].
fn fps(v: f64) -> String {
    if v < 1e3 {
        format!("{v:.1}")
    } else {
        count(v)
    }
}

/// Bytes in binary units: `512 B`, `12.3 KiB`, `4.0 MiB`.
fn bytes(v: f64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if v < 1024.0 {
        return format!("{v:.0} B");
    }
    let mut v = v / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// A session's age: `42s`, `3m05s`, `2h07m`, `3d04h`.
fn age(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}

/// A finite JSON number with three decimals.
fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "null".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::control::StatsReply;

    fn record(id: u64, program: &str, commands: u64, frames: u64, round_trips: u64, age_ms: u64) -> SessionRecord {
        let stats =
            StatsReply { commands, frames, round_trips, bytes_in: commands * 8, contexts: 1, ..Default::default() };
        SessionRecord::new(id, 100 + id as u32, age_ms, program, stats)
    }

    fn sample(at: Instant, total: u32, records: Vec<SessionRecord>) -> Sample {
        Sample {
            at,
            header: ListSessionsReply { count: records.len() as u32, total, server_rss_bytes: 1 << 20 },
            records,
        }
    }

    #[test]
    fn rates_come_from_the_interval_and_new_sessions_from_their_age() {
        let t0 = Instant::now();
        let prev =
            sample(t0, 2, vec![record(1, "/usr/bin/glmark2-es2", 1000, 10, 10, 5000), record(9, "top", 0, 0, 0, 0)]);
        let cur = sample(
            t0 + Duration::from_secs(2),
            3,
            vec![
                record(1, "/usr/bin/glmark2-es2", 5000, 130, 20, 7000),
                record(4, "es2gears", 300, 0, 3, 500),
                record(9, "top", 0, 0, 0, 0),
            ],
        );
        let view = View::between(&prev, &cur, 9);
        assert_eq!((view.sessions, view.listed, view.server_rss_bytes), (2, 2, Some(1 << 20)));
        let a = &view.rows[0];
        assert_eq!(a.session, 1);
        assert_eq!((a.calls_per_s, a.fps, a.bytes_in_per_s), (2000.0, 60.0, 16000.0));
        assert_eq!(a.round_trips_per_frame, Some(10.0 / 120.0));
        let b = &view.rows[1];
        assert_eq!((b.session, b.calls_per_s, b.fps, b.round_trips_per_frame), (4, 600.0, 0.0, None));
        // A session whose counters went down is another one: measured over its age.
        let restarted = sample(t0 + Duration::from_secs(3), 1, vec![record(1, "x", 10, 1, 1, 1000)]);
        let view = View::between(&cur, &restarted, 9);
        assert_eq!((view.rows[0].calls_per_s, view.rows[0].fps), (10.0, 1.0));
        // Two samples at the same instant divide by no zero.
        let view = View::between(&cur, &cur, 9);
        assert!(view.rows.iter().all(|r| r.calls_per_s == 0.0));
    }

    #[test]
    fn the_table_is_safe_to_print() {
        let t0 = Instant::now();
        let evil = "\u{1b}[2J\u{1b}]0;pwned\u{7}/bin/\u{1b}[31mred";
        let prev = sample(t0, 1, vec![record(3, evil, 0, 0, 0, 100)]);
        let cur = sample(t0 + Duration::from_secs(1), 1, vec![record(3, evil, 10, 1, 1, 1100)]);
        let view = View::between(&prev, &cur, 99);
        let table = view.table("/run/user/1/glwire/gpu0", 200);
        assert!(!table.contains('\u{1b}') && !table.contains('\u{7}'), "{table:?}");
        assert!(table.contains("?[31mred"), "{table}");
        assert!(table.contains("1 sessions") && table.contains("server RSS 1.0 MiB"), "{table}");
        assert!(table.lines().all(|l| l.chars().count() <= 200));
        let narrow = view.table("/s", 40);
        assert!(narrow.lines().all(|l| l.chars().count() <= 40), "{narrow}");
        let json = view.json("/s");
        assert!(!json.contains('\u{1b}') && json.contains("\\u001b[2J"), "{json}");
        let empty = View::between(&prev, &sample(t0, 0, Vec::new()), 99);
        assert!(empty.table("/s", 100).contains("no sessions"));
        assert!(empty.json("/s").ends_with("\"sessions\":[]}"));
        assert!(!empty.json("/s").contains("-0") && !empty.table("/s", 100).contains("-0"));
    }

    #[test]
    fn units_read_well() {
        assert_eq!([count(950.0), count(12_345.0), count(4_560_000.0)], ["950", "12.3k", "4.56M"]);
        assert_eq!([fps(59.94), fps(123_643.5)], ["59.9", "123.6k"]);
        assert_eq!([bytes(512.0), bytes(12.3 * 1024.0), bytes(4.0 * 1048576.0)], ["512 B", "12.3 KiB", "4.0 MiB"]);
        assert_eq!([age(42_000), age(185_000), age(7_620_000), age(273_600_000)], ["42s", "3m05s", "2h07m", "3d04h"]);
        assert_eq!(program_cell("/usr/bin/glmark2-es2", 20), "glmark2-es2");
        assert_eq!(program_cell("/", 20), "/");
        assert_eq!(program_cell("", 20), "?");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(num(f64::NAN), "null");
        assert_eq!(quote("a\"\\\n\u{7f}é"), "\"a\\\"\\\\\\n\u{7f}é\"");
    }
}
