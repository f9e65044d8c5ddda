//! ws:// URI helpers (see crate::io::uri).
