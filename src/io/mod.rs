//! Transports: a file descriptor stream with absolute deadlines, and
//! URI parsing and building.

pub mod stream;
pub mod uri;
