//! Prints `wire::pnames::generated`: one sorted table per query family.

use super::{Out, HEADER};
use crate::annotations::PnameCount;
use crate::model::Model;

pub fn pnames_file(m: &Model) -> String {
    let mut o = Out::default();
    o.0.push_str(HEADER);
    o.line("//! The pname→count tables, sorted by value for binary search.");
    o.line("#![cfg_attr(rustfmt, rustfmt::skip)]");
    o.line("");
    o.line("use super::{PnameCount, PnameTable};");
    o.line("");
    let mut names = Vec::new();
    for (family, rows) in &m.pnames {
        let konst = family.to_ascii_uppercase();
        o.line(format!("pub static {konst}: PnameTable = PnameTable {{"));
        o.line(format!("    family: \"{family}\","));
        o.line("    entries: &[");
        for (name, value, count) in rows {
            let c = match count {
                PnameCount::Fixed(n) => format!("PnameCount::Fixed({n})"),
                PnameCount::From(other) => {
                    let v = m.pnames.values().flatten().find(|r| &r.0 == other).map(|r| r.1);
                    format!("PnameCount::From({:#06x})", v.unwrap_or(0))
                }
            };
            o.line(format!("        ({value:#06x}, {c}), // {name}"));
        }
        o.line("    ],");
        o.line("};");
        o.line("");
        names.push(konst);
    }
    o.line("/// Every table, for tests and reports.");
    o.line(format!(
        "pub static ALL: [&PnameTable; {}] = [{}];",
        names.len(),
        names.iter().map(|n| format!("&{n}")).collect::<Vec<_>>().join(", ")
    ));
    o.0
}
