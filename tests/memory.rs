//! Memory, measured with a counting allocator: a declared length never
//! allocates by itself, the receive buffer grows with the bytes that
//! arrive, an idle connection gives its receive memory back, and messages
//! that arrive whole cost no allocation at all once a connection is warm.
//!
//! The allocator counts per thread, so tests running in parallel do not
//! disturb each other.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::*;
use ews::proto::{Config, Connection, Event, ServerOptions};

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    /// Calls that allocated or moved memory (alloc, alloc_zeroed, realloc).
    static CALLS: Cell<u64> = const { Cell::new(0) };
}

fn count_call() {
    let _ = CALLS.try_with(|calls| calls.set(calls.get() + 1));
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
        count_call();
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
        count_call();
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_call();
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

/// Runs `f` and returns its result and how many allocation calls
/// (alloc, alloc_zeroed, realloc) it made on this thread.
fn count_allocations<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = CALLS.with(Cell::get);
    let r = f();
    (r, CALLS.with(Cell::get) - before)
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

/// A client and a server connection that completed the HTTP handshake
/// with each other.
fn handshaken_pair() -> (Connection, Connection) {
    let (mut client, key) = connecting_client(Config::default(), &client_options());
    let mut server = Connection::server(Config::default(), ServerOptions::default()).expect("server");
    let request = format!(
        "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    assert_eq!(feed(&mut server, request.as_bytes()), [Ev::Open]);
    assert_eq!(feed(&mut client, &take_output(&mut server)), [Ev::Open]);
    (client, server)
}

/// Moves a connection's whole output into `wire` (whose capacity is kept).
fn move_output(from: &mut Connection, wire: &mut Vec<u8>) {
    wire.clear();
    wire.extend_from_slice(from.pending_output());
    from.consume(wire.len());
}

/// Feeds `wire`, which must hold exactly one whole message, and checks it.
fn receive_one(conn: &mut Connection, wire: &mut [u8], text: bool, expected: &[u8]) {
    let len = wire.len();
    let progress = conn.feed(wire);
    assert_eq!(progress.consumed, len);
    match progress.event {
        Some(Event::Message { text: t, data }) => assert!(t == text && data == expected, "wrong message"),
        _ => panic!("expected one whole message"),
    }
}

#[test]
fn steady_state_echo_allocates_nothing_per_message() {
    // Small messages of both header sizes (7-bit and 16-bit lengths), text
    // in ASCII and beyond, all built before anything is measured.
    let sizes = [0usize, 1, 5, 17, 60, 125, 126, 200];
    let mut messages: Vec<(bool, Vec<u8>)> = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        messages.push((false, (0..n).map(|b| (b * 7 + i) as u8).collect()));
        let text: String = "é-ascii-€".chars().cycle().take(n).collect();
        messages.push((true, text.into_bytes()));
        messages.push((true, "a".repeat(n).into_bytes()));
    }
    let ((mut client, mut server), setup) = count_allocations(handshaken_pair);
    assert!(setup > 0, "the counter sees the handshake's allocations");
    let mut to_server: Vec<u8> = Vec::with_capacity(2048);
    let mut to_client: Vec<u8> = Vec::with_capacity(2048);
    let mut echo = [0u8; 1024];
    let (mut at_client, mut at_server) = (0u64, 0u64);

    let mut round_trip = |i: usize, at_client: &mut u64, at_server: &mut u64| {
        let (text, payload) = &messages[i % messages.len()];
        let (text, payload) = (*text, payload.as_slice());
        // The client sends.
        let ((), n) = count_allocations(|| client.send(text, payload).expect("client send"));
        *at_client += n;
        let ((), n) = count_allocations(|| move_output(&mut client, &mut to_server));
        *at_client += n;
        // The server receives the message, echoes it, and its output is taken.
        let ((), n) = count_allocations(|| {
            let (len, wire_len) = (payload.len(), to_server.len());
            let progress = server.feed(&mut to_server);
            assert_eq!(progress.consumed, wire_len);
            match progress.event {
                Some(Event::Message { text: t, data }) => {
                    assert!(t == text && data == payload, "server got a wrong message");
                    echo[..len].copy_from_slice(data);
                }
                _ => panic!("the server expected one whole message"),
            }
            server.send(text, &echo[..len]).expect("server send");
            move_output(&mut server, &mut to_client);
        });
        *at_server += n;
        // The client receives the echo.
        let ((), n) = count_allocations(|| receive_one(&mut client, &mut to_client, text, payload));
        *at_client += n;
    };

    // Warm-up: the output queues reach their working capacity.
    for i in 0..4 * messages.len() {
        round_trip(i, &mut at_client, &mut at_server);
    }
    (at_client, at_server) = (0, 0);
    let ((), total) = count_allocations(|| {
        for i in 0..2000 {
            round_trip(i, &mut at_client, &mut at_server);
        }
    });
    assert_eq!(at_server, 0, "the server allocated {at_server} times in 2000 messages each way");
    // Masking keys come from a per-thread pool of random bytes refilled in
    // place (some thirty refills here), so the client allocates nothing
    // either.
    assert_eq!(at_client, 0, "the client allocated {at_client} times in 2000 messages each way");
    assert_eq!(total, 0, "the test itself allocated");
    assert_eq!(server.state(), ews::proto::State::Open);
    assert_eq!(client.state(), ews::proto::State::Open);
}
