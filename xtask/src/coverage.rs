//! `cargo xtask coverage`.
pub fn run(_root: &std::path::Path) -> Result<(), String> { Ok(()) }
