//! Link flags libglvnd expects of a vendor library.
fn main() {
    // libglvnd keeps function pointers from a vendor for the life of the process; a
    // vendor that could be unloaded would leave them dangling.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
}
