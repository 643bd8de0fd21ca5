//! What `GL_EXTENSIONS` says through glwire: the host's extensions that glwire also
//! forwards (`wire::commands::GLES_EXTENSIONS`), in the host's order. It answers
//! `glGetString(GL_EXTENSIONS)`, `glGetStringi(GL_EXTENSIONS, i)` and
//! `GL_NUM_EXTENSIONS`, so a program never sees an extension whose entry points would
//! not reach the host. It does not query the host: the executor hands it the host's list.

use std::ffi::CString;

use wire::commands::GLES_EXTENSIONS;

pub const GL_EXTENSIONS: u32 = 0x1F03;
pub const GL_NUM_EXTENSIONS: u32 = 0x821D;

/// The extensions a context offers its client.
#[derive(Debug, Clone, Default)]
pub struct Extensions {
    names: Vec<CString>,
    /// `names` joined by spaces, as `glGetString` returns them.
    joined: CString,
}

impl Extensions {
    /// The extensions of the host's space-separated `GL_EXTENSIONS` that glwire forwards.
    pub fn filter(host: &str) -> Self {
        let names: Vec<CString> = host
            .split_ascii_whitespace()
            .filter(|e| GLES_EXTENSIONS.binary_search(e).is_ok())
            .filter_map(|e| CString::new(e).ok())
            .collect();
        let joined = names.iter().map(|n| n.to_str().unwrap_or_default()).collect::<Vec<_>>().join(" ");
        // No NUL can be in it: it is made of CStrings' contents and spaces.
        Self { joined: CString::new(joined).unwrap_or_default(), names }
    }

    pub fn joined(&self) -> &CString {
        &self.joined
    }

    /// The `index`-th extension, as `glGetStringi` numbers them.
    pub fn get(&self, index: u32) -> Option<&CString> {
        self.names.get(usize::try_from(index).ok()?)
    }

    pub fn count(&self) -> usize {
        self.names.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_forwarded_extensions_in_host_order() {
        let e = Extensions::filter("GL_OES_texture_view GL_FAKE_unknown  GL_EXT_clear_texture GL_EXT_memory_object");
        assert_eq!(e.joined().to_str().unwrap(), "GL_OES_texture_view GL_EXT_clear_texture");
        assert_eq!(e.count(), 2);
        assert_eq!(e.get(1).map(|s| s.to_str().unwrap()), Some("GL_EXT_clear_texture"));
        assert_eq!(e.get(2), None);
        assert_eq!(e.get(u32::MAX), None);
    }

    #[test]
    fn the_forwarded_list_is_sorted_for_binary_search() {
        assert!(GLES_EXTENSIONS.windows(2).all(|w| w[0] < w[1]));
    }
}
