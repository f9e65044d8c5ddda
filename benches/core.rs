//! Throughput of the sans-IO core: receiving (parse, unmask, UTF-8
//! validation), sending (encoding, masking), and the two inner loops on
//! their own, against a plain `memcpy` of the same byte counts.
//!
//! Run with `cargo bench --bench core`; one group with
//! `cargo bench --bench core -- receive/` (a criterion filter).
//!
//! Every case reports bytes per second (criterion `Throughput::Bytes`):
//!
//! - `receive/*`: the bytes fed, headers included (what a server reads
//!   from its socket). Divide the time by the message count (in the case
//!   name) for the cost of one message.
//! - `send/*`, `memcpy/*`, `mask/*`, `utf8/*`: the payload bytes.
//!
//! Receiving unmasks in place, so every iteration of a `receive/*` case
//! first copies the masked wire bytes into the buffer it feeds, as a
//! server's `read()` into its socket buffer would; that copy is part of
//! the measured time on purpose (it leaves the bytes in cache the way a
//! read does, where `iter_batched_ref` would hand over cold copies made
//! earlier). `receive/copy_only/*` measures that copy alone for each input,
//! so the cost of the core itself is `receive/<case>` minus
//! `receive/copy_only/<same input>`.
//!
//! On a shared machine, `EWS_BENCH_CLOCK=cpu cargo bench --bench core`
//! measures the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`,
//! kernel time such as page faults included) instead of wall time, so
//! that time spent waiting for a core does not count. Criterion compares
//! each run with the previous one of the same name, whatever the clock:
//! use `--save-baseline`/`--baseline` to keep the two apart.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkGroup, Criterion, Throughput};
use ews::proto::frame::{MAX_HEADER_LEN, encode_header};
use ews::proto::mask::apply_mask;
use ews::proto::utf8::Utf8Validator;
use ews::proto::{Config, Connection, Event, Limits, Role};

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

/// The input buffer of the small-message cases: what one socket read
/// might return on a busy connection.
const READ_BUF: usize = 64 * KIB;

/// Large enough limits for every case (the default caps are 1 MiB).
fn config() -> Config {
    Config {
        limits: Limits { max_frame: 16 * MIB as u64, max_message: 16 * MIB as u64, ..Limits::default() },
        ..Config::default()
    }
}

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// One masked client frame (FIN set) carrying `payload`.
fn client_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8]) {
    let mut header = [0u8; MAX_HEADER_LEN];
    let n = encode_header(&mut header, true, 0, opcode, Some(KEY), payload.len() as u64);
    out.extend_from_slice(&header[..n]);
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], KEY, 0);
}

/// `len` bytes of printable ASCII.
fn ascii(len: usize) -> Vec<u8> {
    (0..len).map(|i| b' ' + (i % 95) as u8).collect()
}

/// `len` bytes of valid UTF-8 with no ASCII at all: two-, three- and
/// four-byte sequences (Greek, Cyrillic, CJK, emoji), the slow path of
/// any validator; topped up with two-byte characters and at most one
/// ASCII byte to hit `len` exactly.
fn multibyte(len: usize) -> Vec<u8> {
    let pattern = "κόσμεЖизнь日本語テキスト😀🎉𝄞".as_bytes();
    let mut out = Vec::with_capacity(len);
    'fill: loop {
        for c in std::str::from_utf8(pattern).expect("UTF-8").chars() {
            if out.len() + c.len_utf8() > len {
                break 'fill;
            }
            let mut b = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
        }
    }
    while out.len() + 2 <= len {
        out.extend_from_slice("é".as_bytes());
    }
    if out.len() < len {
        out.push(b'.');
    }
    assert_eq!(out.len(), len);
    assert!(std::str::from_utf8(&out).is_ok());
    out
}

/// Feeds `buf` to `conn` until it is used up, as a server does with one
/// socket read, and returns the number of messages (and the sum of their
/// lengths, so the payloads are looked at).
fn feed_all(conn: &mut Connection, buf: &mut [u8]) -> (usize, usize) {
    let mut pos = 0;
    let mut messages = 0;
    let mut bytes = 0;
    while pos < buf.len() {
        let progress = conn.feed(&mut buf[pos..]);
        pos += progress.consumed;
        match progress.event {
            Some(Event::Message { data, .. }) => {
                messages += 1;
                bytes += black_box(data).len();
            }
            None => {}
            Some(other) => panic!("unexpected event {other:?}"),
        }
    }
    (messages, bytes)
}

/// One receive case: `wire` fed in reads of at most `read` bytes (each read
/// copied into the buffer first), expecting `messages` messages; plus the
/// copy alone as `copy_only/<name>`.
fn receive_case<M: Measurement>(g: &mut BenchmarkGroup<M>, name: &str, wire: &[u8], read: usize, messages: usize) {
    g.throughput(Throughput::Bytes(wire.len() as u64));
    let mut conn = Connection::open(Role::Server, config()).expect("connection");
    let mut buf = vec![0u8; read.min(wire.len())];
    // Check once, outside the measurement, that the input is what we think.
    let mut got = 0;
    for piece in wire.chunks(read) {
        buf[..piece.len()].copy_from_slice(piece);
        got += feed_all(&mut conn, &mut buf[..piece.len()]).0;
    }
    assert_eq!(got, messages, "{name}");
    g.bench_function(name, |b| {
        b.iter(|| {
            let mut n = 0;
            for piece in black_box(wire).chunks(read) {
                let buf = &mut buf[..piece.len()];
                buf.copy_from_slice(piece);
                n += feed_all(&mut conn, buf).0;
            }
            n
        })
    });
    g.bench_function(format!("copy_only/{name}"), |b| {
        b.iter(|| {
            for piece in black_box(wire).chunks(read) {
                buf[..piece.len()].copy_from_slice(piece);
                black_box(&mut buf);
            }
        })
    });
}

/// Builds a payload of the given length.
type MakePayload = fn(usize) -> Vec<u8>;

fn receive<M: Measurement>(c: &mut Criterion<M>) {
    let mut g = c.benchmark_group("receive");

    // Small text messages, as many as fit in one 64 KiB socket read.
    for size in [16usize, 125] {
        let payload = ascii(size);
        let mut wire = Vec::with_capacity(READ_BUF);
        let mut count = 0;
        while wire.len() + size + 6 <= READ_BUF {
            client_frame(&mut wire, 0x1, &payload);
            count += 1;
        }
        receive_case(&mut g, &format!("text_{size}B_x{count}"), &wire, READ_BUF, count);
    }

    // Large frames, each arriving whole in one input (delivered in place),
    // then 1 MiB arriving in 64 KiB reads (reassembled in the connection).
    // The reassembly copy is a `memcpy` whose speed can depend on where the
    // allocator put the two buffers: older glibc (Debian 12's 2.36, say) on
    // AMD Zen 3/4 copies with `rep movsb`, which runs 10-20 times slower
    // when destination minus source is 1-31 modulo 4096 (glibc bug 30994);
    // `GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=4000000` avoids it.
    let large: [(&str, u8, MakePayload); 3] =
        [("text_ascii", 0x1, ascii), ("text_multibyte", 0x1, multibyte), ("binary", 0x2, ascii)];
    for (kind, opcode, make) in large {
        for (size, label) in [(64 * KIB, "64KiB"), (MIB, "1MiB")] {
            let mut wire = Vec::with_capacity(size + MAX_HEADER_LEN);
            client_frame(&mut wire, opcode, &make(size));
            receive_case(&mut g, &format!("{kind}_{label}"), &wire, wire.len(), 1);
        }
        let mut wire = Vec::with_capacity(MIB + MAX_HEADER_LEN);
        client_frame(&mut wire, opcode, &make(MIB));
        receive_case(&mut g, &format!("{kind}_1MiB_in_64KiB_reads"), &wire, READ_BUF, 1);
    }
    g.finish();
}

const SIZES: [(usize, &str); 4] = [(16, "16B"), (125, "125B"), (64 * KIB, "64KiB"), (MIB, "1MiB")];

fn send<M: Measurement>(c: &mut Criterion<M>) {
    let mut g = c.benchmark_group("send");
    for (role, role_name) in [(Role::Server, "server"), (Role::Client, "client")] {
        for (text, kind) in [(false, "binary"), (true, "text")] {
            for (size, label) in SIZES {
                let data = ascii(size);
                let mut conn = Connection::open(role, config()).expect("connection");
                g.throughput(Throughput::Bytes(size as u64));
                g.bench_function(format!("{role_name}/{kind}_{label}"), |b| {
                    b.iter(|| {
                        conn.send(text, black_box(&data)).expect("send");
                        let n = black_box(conn.pending_output()).len();
                        conn.consume(n);
                    })
                });
            }
        }
    }
    g.finish();
}

fn memcpy<M: Measurement>(c: &mut Criterion<M>) {
    let mut g = c.benchmark_group("memcpy");
    for (size, label) in SIZES {
        let src = ascii(size);
        let mut dst = vec![0u8; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(label, |b| {
            b.iter(|| {
                dst.copy_from_slice(black_box(&src));
                black_box(&mut dst);
            })
        });
    }
    g.finish();
}

fn mask<M: Measurement>(c: &mut Criterion<M>) {
    let mut g = c.benchmark_group("mask");
    for (size, label) in [(64 * KIB, "64KiB"), (MIB, "1MiB")] {
        // Masking twice restores the bytes, so the buffer is reused as is.
        let mut buf = ascii(size);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(format!("apply_mask_{label}"), |b| {
            b.iter(|| apply_mask(black_box(&mut buf), black_box(KEY), 0))
        });
    }
    g.finish();
}

fn utf8<M: Measurement>(c: &mut Criterion<M>) {
    let mut g = c.benchmark_group("utf8");
    for (kind, text) in [("ascii", ascii(MIB)), ("multibyte", multibyte(MIB))] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(format!("validator_{kind}_1MiB"), |b| {
            b.iter(|| {
                let mut v = Utf8Validator::new();
                v.feed(black_box(&text)).expect("valid");
                v.finish().expect("complete")
            })
        });
    }
    g.finish();
}

/// The CPU time of the calling thread, for criterion.
struct ThreadCpuTime {
    /// Formats durations as wall time does.
    wall: WallTime,
}

fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec to write; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        thread_cpu_time()
    }
    fn end(&self, start: Duration) -> Duration {
        thread_cpu_time().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.wall.formatter()
    }
}

fn run<M: Measurement>(mut c: Criterion<M>) {
    receive(&mut c);
    send(&mut c);
    memcpy(&mut c);
    mask(&mut c);
    utf8(&mut c);
    c.final_summary();
}

fn main() {
    let c = Criterion::default();
    match std::env::var("EWS_BENCH_CLOCK").as_deref() {
        Ok("cpu") => run(c.with_measurement(ThreadCpuTime { wall: WallTime }).configure_from_args()),
        Ok("wall") | Err(_) => run(c.configure_from_args()),
        Ok(other) => panic!("EWS_BENCH_CLOCK={other}: use cpu or wall"),
    }
}
