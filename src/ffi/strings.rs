//! Lists the host passes in: strings and header fields, copied into Rust
//! values (every entry checked).

use std::ffi::{c_char, c_int};

use crate::ffi::errors::EWS_EINVAL;
use crate::ffi::ptr::{self, Str};

/// A header field given to ews: a name and a value, both NUL-terminated.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ews_header {
    /// The field name (a token, e.g. "Authorization").
    pub name: *const c_char,
    /// The field value (no CR, LF).
    pub value: *const c_char,
}

pub(crate) fn string_list(p: *const *const c_char, n: usize) -> Result<Vec<String>, c_int> {
    let items = ptr::array(p, n).ok_or(EWS_EINVAL)?;
    items
        .iter()
        .map(|&s| match ptr::string(s) {
            Str::Text(t) => Ok(t.to_owned()),
            _ => Err(EWS_EINVAL),
        })
        .collect()
}

pub(crate) fn optional_string(p: *const c_char) -> Result<Option<String>, c_int> {
    match ptr::string(p) {
        Str::Null => Ok(None),
        Str::Text(t) => Ok(Some(t.to_owned())),
        Str::Invalid => Err(EWS_EINVAL),
    }
}

pub(crate) fn header_list(p: *const ews_header, n: usize) -> Result<Vec<(String, String)>, c_int> {
    let items = ptr::array(p, n).ok_or(EWS_EINVAL)?;
    items
        .iter()
        .map(|h| match (ptr::string(h.name), ptr::string(h.value)) {
            (Str::Text(n), Str::Text(v)) => Ok((n.to_owned(), v.to_owned())),
            _ => Err(EWS_EINVAL),
        })
        .collect()
}
