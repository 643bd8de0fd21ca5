//! The benchmark's table and JSON: each figure beside its floor and the ratio.

use std::fmt::Write as _;
use std::time::Duration;

#[derive(Debug)]
pub struct Row {
    name: String,
    value: f64,
    unit: &'static str,
    floor_name: &'static str,
    floor: f64,
    /// Latencies: glwire / floor (how many floors one call costs). Rates: glwire /
    /// floor (the share of the floor reached).
    ratio: f64,
}

impl Row {
    pub fn latency(name: &str, value: Duration, floor_name: &'static str, floor: Duration) -> Row {
        let (v, f) = (value.as_secs_f64() * 1e6, floor.as_secs_f64() * 1e6);
        Row {
            name: name.to_owned(),
            value: v,
            unit: "µs",
            floor_name,
            floor: f,
            ratio: if f > 0.0 { v / f } else { 0.0 },
        }
    }

    pub fn rate(name: &str, value: f64, unit: &'static str, floor_name: &'static str, floor: f64) -> Row {
        Row {
            name: name.to_owned(),
            value,
            unit,
            floor_name,
            floor,
            ratio: if floor > 0.0 { value / floor } else { 0.0 },
        }
    }
}

fn human(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1} M", v / 1e6)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[derive(Debug, Default)]
pub struct Report(Vec<Row>);

impl Report {
    pub fn push(&mut self, row: Row) {
        self.0.push(row);
    }

    pub fn print(&self) {
        println!("{:<34} {:>14}   {:<26} {:>14}   {:>8}", "measure", "glwire", "floor", "floor value", "ratio");
        for r in &self.0 {
            let ratio = if r.unit == "µs" { format!("{:.1}×", r.ratio) } else { format!("{:.0} %", r.ratio * 100.0) };
            println!(
                "{:<34} {:>11} {:<3}  {:<26} {:>11} {:<3}  {:>8}",
                r.name,
                human(r.value),
                r.unit.trim_end_matches("/s").trim_start_matches("calls"),
                r.floor_name,
                human(r.floor),
                r.unit.trim_end_matches("/s").trim_start_matches("calls"),
                ratio
            );
        }
        println!("(latency ratio: glwire ÷ floor, lower is better; throughput ratio: share of the floor reached)");
    }

    pub fn json(&self) -> String {
        let mut s = String::from("[\n");
        for (i, r) in self.0.iter().enumerate() {
            let _ = writeln!(
                s,
                "  {{\"measure\": \"{}\", \"value\": {}, \"unit\": \"{}\", \"floor\": \"{}\", \"floor_value\": {}, \"ratio\": {}}}{}",
                r.name,
                r.value,
                r.unit,
                r.floor_name,
                r.floor,
                r.ratio,
                if i + 1 < self.0.len() { "," } else { "" }
            );
        }
        s.push(']');
        s
    }
}
