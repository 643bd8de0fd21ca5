//! The `glwire` command line.
fn main() {}
