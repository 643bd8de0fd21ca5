//! Prints the ICD's GL entry points and its name→function table.

use super::{Out, HEADER};
use crate::model::Model;

pub fn icd_file(_m: &Model) -> Result<String, String> {
    let mut o = Out::default();
    o.0.push_str(HEADER);
    Ok(o.0)
}
