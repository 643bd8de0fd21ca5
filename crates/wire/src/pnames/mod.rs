//! How many values a glGet* or parameter call reads or writes through its pointer, per
//! `pname` (or `target`, `buffer`): the tables the registry only calls
//! `COMPSIZE(pname)`. Generated from the `[pnames.*]` tables of
//! `codegen/annotations.toml`. It does not know implementation-dependent counts; a
//! `From` entry names the pname whose value gives the count.

mod generated;

pub use generated::*;

/// The count for one pname.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PnameCount {
    Fixed(u32),
    /// As many values as the integer state `pname` holds (for example
    /// `GL_COMPRESSED_TEXTURE_FORMATS` → `GL_NUM_COMPRESSED_TEXTURE_FORMATS`).
    From(u32),
}

/// One query family's table, sorted by pname value.
#[derive(Debug)]
pub struct PnameTable {
    pub family: &'static str,
    pub entries: &'static [(u32, PnameCount)],
}

impl PnameTable {
    pub fn lookup(&self, pname: u32) -> Option<PnameCount> {
        self.entries.binary_search_by_key(&pname, |e| e.0).ok().map(|i| self.entries[i].1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GL_VIEWPORT: u32 = 0x0BA2;
    const GL_COMPRESSED_TEXTURE_FORMATS: u32 = 0x86A3;
    const GL_NUM_COMPRESSED_TEXTURE_FORMATS: u32 = 0x86A2;

    #[test]
    fn looks_up_fixed_and_variable_counts() {
        assert_eq!(GET.lookup(GL_VIEWPORT), Some(PnameCount::Fixed(4)));
        assert_eq!(
            GET.lookup(GL_COMPRESSED_TEXTURE_FORMATS),
            Some(PnameCount::From(GL_NUM_COMPRESSED_TEXTURE_FORMATS))
        );
        assert_eq!(GET.lookup(0xdead), None);
    }

    #[test]
    fn tables_are_sorted_for_binary_search() {
        for t in ALL {
            assert!(t.entries.windows(2).all(|w| w[0].0 < w[1].0), "{}", t.family);
        }
    }
}
