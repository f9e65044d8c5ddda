//! Receive memory, measured with a counting allocator: a declared length
//! never allocates by itself, the buffer grows with the bytes that arrive,
//! and an idle connection gives its receive memory back.
//!
//! The allocator counts per thread, so tests running in parallel do not
//! disturb each other.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::*;

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// bookkeeping touches only const-initialised thread-locals without
// destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        track(-(layout.size() as isize));
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            track(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns the peak of bytes allocated during it above the
/// level at its start, and the bytes still allocated at its end.
fn measure(f: impl FnOnce()) -> (isize, isize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    f();
    let peak = PEAK.with(Cell::get) - base;
    let end = LIVE.with(Cell::get) - base;
    (peak, end)
}

#[test]
fn header_declaring_1_mib_with_10_bytes_of_payload_allocates_a_few_kib_at_most() {
    let mut conn = server();
    let mut input = header(true, 0, BINARY, Some(KEY), 1 << 20);
    input.extend_from_slice(&[0; 10]);
    let (peak, held) = measure(|| assert!(conn.feed(&mut input).event.is_none()));
    assert!(peak <= 8 << 10, "allocated {peak} bytes for 10 bytes of payload");
    assert!(held <= 8 << 10, "holds {held} bytes for 10 bytes of payload");
    assert_eq!(conn.buffered_bytes(), 10);
}

#[test]
fn receive_buffer_for_a_large_message_is_at_most_twice_its_size() {
    let frame = client_frame(BINARY, true, &vec![3u8; 300_000]);
    let mut pieces: Vec<Vec<u8>> = frame.chunks(10_000).map(<[u8]>::to_vec).collect();
    let mut last = pieces.pop().expect("pieces");
    let received: usize = pieces.iter().map(Vec::len).sum();
    let mut conn = server();
    let (peak, held) = measure(|| {
        for piece in &mut pieces {
            assert!(conn.feed(piece).event.is_none());
        }
    });
    assert!(peak <= 2 * received as isize + 8192, "peak {peak} for {received} bytes received");
    assert!(held >= received as isize, "the bytes are held: {held}");
    let progress = conn.feed(&mut last);
    assert!(matches!(progress.event, Some(ews::proto::Event::Message { .. })));
}

#[test]
fn idle_connection_gives_its_receive_memory_back() {
    let mut conn = server();
    let frame = client_frame(BINARY, true, &vec![5u8; 50_000]);
    let next = client_frame(TEXT, true, b"next");
    let (peak, held) = measure(|| {
        assert!(feed(&mut conn, &frame[..30_000]).is_empty());
        assert_eq!(feed(&mut conn, &frame[30_000..]).len(), 1);
        // The next call releases what was lent out.
        assert_eq!(feed(&mut conn, &next).len(), 1);
    });
    assert!(peak >= 50_000, "the message was buffered: peak {peak}");
    assert!(held <= 0, "{held} bytes still held after the message was delivered");
    assert_eq!(conn.buffered_bytes(), 0);
}

#[test]
fn receive_buffer_is_released_after_the_closing_handshake() {
    let mut conn = server();
    let (peak, held) = measure(|| {
        assert!(feed(&mut conn, &client_frame(BINARY, false, &[1; 100_000])).is_empty());
        let close = client_frame(CLOSE, true, &close_payload(1000, b"bye"));
        assert!(feed(&mut conn, &close[..8]).is_empty());
        assert_eq!(feed(&mut conn, &close[8..]), [Ev::close(1000, "bye")]);
        let _ = take_output(&mut conn);
        // Whatever comes next is not read; what was lent out is no longer needed.
        assert!(feed(&mut conn, &client_frame(TEXT, true, b"ignored")).is_empty());
    });
    assert!(peak >= 100_000);
    assert_eq!(conn.buffered_bytes(), 0);
    // The 100 kB of the unfinished message are gone; what remains is the
    // output queue's small capacity.
    assert!(held < 1024, "a closed connection still holds {held} bytes");
}

#[test]
fn receive_buffer_is_released_after_a_failure() {
    let mut conn = server();
    let (_, held) = measure(|| {
        assert!(feed(&mut conn, &client_frame(BINARY, false, &[1; 100_000])).is_empty());
        assert_eq!(feed(&mut conn, &client_frame(0x3, true, b"")), [Ev::Error(ews::Error::ReservedOpcode(3))]);
        let _ = take_output(&mut conn);
        assert!(feed(&mut conn, &client_frame(TEXT, true, b"ignored")).is_empty());
    });
    assert_eq!(conn.buffered_bytes(), 0);
    // The 100 kB of the unfinished message are gone; what remains is the
    // recorded error and the output queue's small capacity.
    assert!(held < 1024, "a failed connection still holds {held} bytes");
}
