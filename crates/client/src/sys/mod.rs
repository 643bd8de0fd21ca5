//! Platform code: how frames reach the program's window system. Each window system gets its
//! own module; nothing here knows GL, the wire or the frame ring's layout.

pub mod x11;
