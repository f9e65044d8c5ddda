//! Pointer conversions: the one place where C pointers become Rust
//! references.
//!
//! Each function trusts the contract written in `ews.h` for the pointer it
//! is given (valid for the stated length, for the duration of the call, not
//! aliased by another argument) and checks everything it can: NULL, and a
//! NULL buffer with a non-zero length.

use std::ffi::{CStr, c_char};

/// A borrowed input buffer. `(NULL, 0)` is the empty buffer; `(NULL, n>0)`
/// is `None`.
pub(crate) fn bytes<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    if ptr.is_null() {
        return (len == 0).then_some(&[]);
    }
    // SAFETY: the C contract: `ptr` is valid for reads of `len` bytes for
    // the duration of the call; it is not NULL (checked above).
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A borrowed in/out buffer. `(NULL, 0)` is the empty buffer.
pub(crate) fn bytes_mut<'a>(ptr: *mut u8, len: usize) -> Option<&'a mut [u8]> {
    if ptr.is_null() {
        return (len == 0).then_some(&mut []);
    }
    // SAFETY: the C contract: `ptr` is valid for reads and writes of `len`
    // bytes for the call and no other argument aliases it; not NULL.
    Some(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// What a string argument turned out to be.
pub(crate) enum Str<'a> {
    /// NULL.
    Null,
    /// A UTF-8 string.
    Text(&'a str),
    /// Not UTF-8.
    Invalid,
}

/// A borrowed NUL-terminated string.
pub(crate) fn string<'a>(ptr: *const c_char) -> Str<'a> {
    if ptr.is_null() {
        return Str::Null;
    }
    // SAFETY: the C contract: a non-NULL string argument points to a
    // NUL-terminated string that stays valid for the call.
    match unsafe { CStr::from_ptr(ptr) }.to_str() {
        Ok(s) => Str::Text(s),
        Err(_) => Str::Invalid,
    }
}

/// A borrowed array of `len` elements. `(NULL, 0)` is empty.
pub(crate) fn array<'a, T>(ptr: *const T, len: usize) -> Option<&'a [T]> {
    if ptr.is_null() {
        return (len == 0).then_some(&[]);
    }
    // SAFETY: the C contract: `ptr` points to `len` initialised elements
    // valid for the call.
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A shared reference to an object handed out by ews, or `None` for NULL.
pub(crate) fn obj<'a, T>(ptr: *const T) -> Option<&'a T> {
    // SAFETY: the C contract: a non-NULL object pointer came from the
    // matching *_new function and has not been freed.
    unsafe { ptr.as_ref() }
}

/// An exclusive reference to an object handed out by ews, or `None`.
pub(crate) fn obj_mut<'a, T>(ptr: *mut T) -> Option<&'a mut T> {
    // SAFETY: as `obj`, and calls on one object do not overlap (the
    // threading rule of the header), so the reference is exclusive.
    unsafe { ptr.as_mut() }
}

/// Writes an out-parameter; `false` if the pointer is NULL.
pub(crate) fn write<T>(ptr: *mut T, value: T) -> bool {
    if ptr.is_null() {
        return false;
    }
    // SAFETY: the C contract: a non-NULL out-parameter is valid for writing
    // one `T`. `write` does not read or drop the old contents.
    unsafe { ptr.write(value) };
    true
}

/// Moves `value` to the heap and hands ownership to C.
pub(crate) fn to_c<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes back ownership of an object handed to C by [`to_c`]; `None` for
/// NULL.
pub(crate) fn take<T>(ptr: *mut T) -> Option<T> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: the C contract: `ptr` came from `to_c::<T>` and is given up
    // by this call; C does not use it afterwards.
    Some(*unsafe { Box::from_raw(ptr) })
}

/// Takes back ownership of an object handed to C by [`to_c`] and drops it.
/// NULL is ignored.
pub(crate) fn free<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: the C contract: `ptr` came from `to_c::<T>` and is freed
        // once; C does not use it afterwards.
        drop(unsafe { Box::from_raw(ptr) });
    }
}
