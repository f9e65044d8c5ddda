//! Structs the host fills in and passes to ews, and how they grow.
//!
//! Each of them (`ews_limits`, the option structs, `ews_tls_settings`,
//! `ews_route`, `ews_client_handlers`, `ews_wsscb`) starts with
//! `size_t size`: the size of the struct as the caller's header declares
//! it, written by its init function (`ews_X_init(&x, sizeof x)`). Fields
//! are only ever appended, each at an offset at or past the struct's
//! previous size, so a program built against an older header passes a
//! smaller struct, and every field lies either wholly within its `size` or
//! wholly past it. This module is the one place that writes and reads such
//! structs across the boundary:
//!
//! - `init` writes the defaults into the first `size` bytes only (never
//!   more: an older caller's struct is smaller than this library's) and
//!   sets `size`;
//! - `read` takes the fields that lie within `size` bytes and the default
//!   for every field past it (a field appended after the caller's header
//!   was written), and refuses with EWS_EINVAL a `size` below the struct's
//!   first published layout, the sign of a struct that was never
//!   initialised.

use std::ffi::c_int;
use std::mem::size_of;
use std::ptr::copy_nonoverlapping;

use crate::ffi::errors::EWS_EINVAL;

/// A struct the host fills in and passes to ews (see the module
/// documentation).
///
/// # Safety
///
/// The implementing type is `#[repr(C)]`, its first field is `size: usize`,
/// and every other field is an integer, a raw pointer or an `Option` of a
/// function pointer: whatever bytes a C caller stored in it form a valid
/// value.
pub(crate) unsafe trait SizedStruct: Copy {
    /// The end of the last field of the struct's first published layout
    /// (ews 0.2.0): a smaller `size` is EWS_EINVAL. Appending fields does
    /// not change it.
    const FIRST_LAYOUT: usize;

    /// The defaults of every field, with `size` set to `size`.
    fn defaults(size: usize) -> Self;
}

/// `ews_X_init(x, size)`: writes the defaults into the first `size` bytes
/// of `*dst` (at most the whole of this library's struct), with the `size`
/// field set to `size`. Bytes past them are not touched. NULL is ignored.
pub(crate) fn init<T: SizedStruct>(dst: *mut T, size: usize) {
    if dst.is_null() {
        return;
    }
    let value = T::defaults(size);
    let n = size.min(size_of::<T>());
    // SAFETY: the C contract of ews_X_init: a non-NULL `dst` is valid for
    // writes of `size` bytes (the size of the struct in the caller's
    // header), and `n <= size`; `value` is a local `T` of
    // `size_of::<T>() >= n` bytes. A byte copy needs no alignment and does
    // not overlap.
    unsafe { copy_nonoverlapping((&raw const value).cast::<u8>(), dst.cast::<u8>(), n) };
}

/// Reads a struct the host passed: `Ok(None)` for NULL, EWS_EINVAL when its
/// `size` is below the first published layout, otherwise the fields that
/// lie within `size` bytes and the defaults for the others (bytes past this
/// library's struct, from a newer header, are not read).
pub(crate) fn read<T: SizedStruct>(src: *const T) -> Result<Option<T>, c_int> {
    if src.is_null() {
        return Ok(None);
    }
    // SAFETY: the C contract: a non-NULL struct pointer points to an
    // initialised struct of this family, which starts with its `size_t
    // size` (the trait's contract puts `size` first in `T`, at offset 0).
    let size = unsafe { src.cast::<usize>().read() };
    if size < T::FIRST_LAYOUT {
        return Err(EWS_EINVAL);
    }
    let mut value = T::defaults(size);
    let n = size.min(size_of::<T>());
    // SAFETY: `src` is valid for reads of `size` bytes, the size of the
    // struct in the caller's header (the C contract), and `n <= size`;
    // `value` is a local `T` of `size_of::<T>() >= n` bytes. Every field
    // lies wholly within `n` bytes or wholly past them (fields are appended
    // at or past the previous size), and any bytes form a valid field (the
    // trait's contract), so `value` stays a valid `T`.
    unsafe { copy_nonoverlapping(src.cast::<u8>(), (&raw mut value).cast::<u8>(), n) };
    Ok(Some(value))
}

/// [`read`], with the defaults for NULL.
pub(crate) fn read_or_default<T: SizedStruct>(src: *const T) -> Result<T, c_int> {
    read(src).map(|v| v.unwrap_or_else(|| T::defaults(size_of::<T>())))
}

#[cfg(test)]
mod tests {
    use std::mem::offset_of;

    use super::*;

    /// A struct's first layout.
    #[repr(C)]
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct V1 {
        size: usize,
        a: u32,
        b: u32,
    }

    /// The same struct a version later: one field appended.
    #[repr(C)]
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct V2 {
        size: usize,
        a: u32,
        b: u32,
        c: u64,
    }

    // SAFETY: repr(C), `size` first, integer fields.
    unsafe impl SizedStruct for V1 {
        const FIRST_LAYOUT: usize = offset_of!(V1, b) + size_of::<u32>();
        fn defaults(size: usize) -> V1 {
            V1 { size, a: 1, b: 2 }
        }
    }

    // SAFETY: as V1.
    unsafe impl SizedStruct for V2 {
        const FIRST_LAYOUT: usize = offset_of!(V2, b) + size_of::<u32>();
        fn defaults(size: usize) -> V2 {
            V2 { size, a: 1, b: 2, c: 3 }
        }
    }

    #[test]
    fn init_writes_the_defaults_into_the_callers_size_only() {
        // An older caller's struct followed by bytes that are not its own.
        #[repr(C, align(8))]
        struct Buf([u8; 64]);
        let mut buf = Buf([0xA5; 64]);
        init(buf.0.as_mut_ptr().cast::<V2>(), size_of::<V1>());
        let mut v1 = V1 { size: 0, a: 0, b: 0 };
        // SAFETY: `buf` holds more than size_of::<V1>() bytes.
        unsafe { copy_nonoverlapping(buf.0.as_ptr(), (&raw mut v1).cast::<u8>(), size_of::<V1>()) };
        assert_eq!(v1, V1 { size: size_of::<V1>(), a: 1, b: 2 });
        assert!(buf.0[size_of::<V1>()..].iter().all(|&b| b == 0xA5), "init wrote past the caller's size");
    }

    #[test]
    fn a_field_past_the_callers_size_takes_its_default() {
        let old = V1 { size: size_of::<V1>(), a: 10, b: 20 };
        let read = read::<V2>((&raw const old).cast()).unwrap().unwrap();
        assert_eq!((read.a, read.b, read.c), (10, 20, 3));
    }

    #[test]
    fn fields_past_this_librarys_struct_are_not_read() {
        let newer = V2 { size: size_of::<V2>(), a: 10, b: 20, c: 30 };
        let read = read::<V1>((&raw const newer).cast()).unwrap().unwrap();
        assert_eq!((read.a, read.b), (10, 20));
    }

    #[test]
    fn a_size_below_the_first_layout_is_refused() {
        let short = V2 { size: V2::FIRST_LAYOUT - 1, a: 10, b: 20, c: 30 };
        assert_eq!(read::<V2>(&short), Err(EWS_EINVAL));
        let zeroed = V2 { size: 0, a: 0, b: 0, c: 0 };
        assert_eq!(read::<V2>(&zeroed), Err(EWS_EINVAL));
    }

    #[test]
    fn null_is_none_or_the_defaults() {
        assert_eq!(read::<V2>(std::ptr::null()), Ok(None));
        assert_eq!(read_or_default::<V2>(std::ptr::null()), Ok(V2 { size: size_of::<V2>(), a: 1, b: 2, c: 3 }));
    }
}
