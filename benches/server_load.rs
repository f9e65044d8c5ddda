//! Load generator for the server: messages per second and server CPU time
//! per message for pipelined echo, and the memory of idle connections.
//!
//! `cargo bench --bench server_load` builds `c-examples/echo_server.c`
//! against the release library, runs it as its own process, and drives it
//! from this process (one thread, non-blocking sockets, ews's own sans-IO
//! client). Server CPU time comes from `/proc/<pid>/schedstat` (nanoseconds
//! on CPU of the loop thread) and `/proc/<pid>/stat` (all threads); memory
//! from `VmRSS` in `/proc/<pid>/status`.
//!
//! Options (environment): `EWS_LOAD_SECONDS` per scenario (default 3),
//! `EWS_LOAD_IDLE` idle connections (default 10000), `EWS_LOAD_SIZE`
//! message size in bytes (default 32), `EWS_LOAD_ONLY` one scenario
//! (`64x16`: connections x messages in flight).

#[path = "../tests/cbuild/mod.rs"]
mod cbuild;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ews::proto::handshake::client::ClientOptions;
use ews::proto::{Config, Connection, Event, Limits};
use mio::net::TcpStream as MioStream;
use mio::{Events, Interest, Poll, Token};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start() -> Server {
        let src = cbuild::root().join("c-examples/echo_server.c");
        let exe = cbuild::compile("bench_echo_server", &[&src], &["-O2"]);
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(exe).arg(port.to_string()).stdout(Stdio::null()).spawn().expect("start echo_server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "echo_server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Server { child, port }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Nanoseconds on CPU of the main (loop) thread.
    fn loop_cpu_ns(&self) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/schedstat", self.pid())).unwrap();
        s.split_whitespace().next().unwrap().parse().unwrap()
    }

    /// Clock ticks (user + system) of the whole process.
    fn process_ticks(&self) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        let after = &s[s.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = after.split_whitespace().collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    }

    fn rss_kib(&self) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        s.lines().find_map(|l| l.strip_prefix("VmRSS:")).unwrap().trim().trim_end_matches(" kB").trim().parse().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.pid().to_string()).status();
        let _ = self.child.wait();
    }
}

struct Client {
    stream: MioStream,
    conn: Connection,
    buf: Vec<u8>,
    open: bool,
    in_flight: usize,
}

fn config() -> Config {
    Config { limits: Limits { max_message: 1 << 20, max_frame: 1 << 20, ..Limits::default() }, ..Config::default() }
}

fn connect(port: u16) -> Client {
    let std = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    std.set_nodelay(true).unwrap();
    std.set_nonblocking(true).unwrap();
    let options = ClientOptions { resource: "/".into(), host: "127.0.0.1".into(), ..Default::default() };
    Client {
        stream: MioStream::from_std(std),
        conn: Connection::client(config(), &options).unwrap(),
        buf: vec![0; 1 << 16],
        open: false,
        in_flight: 0,
    }
}

/// Writes what the client queued (loopback: a short wait is enough).
fn flush(c: &mut Client) {
    loop {
        let out = c.conn.pending_output();
        if out.is_empty() {
            return;
        }
        match c.stream.write(out) {
            Ok(n) => c.conn.consume(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) => panic!("write: {e}"),
        }
    }
}

/// Reads what is there; returns the number of messages that arrived.
fn pump(c: &mut Client) -> usize {
    let mut messages = 0;
    loop {
        let n = match c.stream.read(&mut c.buf) {
            Ok(0) => panic!("server closed the connection"),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return messages,
            Err(e) => panic!("read: {e}"),
        };
        let mut input = c.buf[..n].to_vec();
        let mut pos = 0;
        while pos < n {
            let p = c.conn.feed(&mut input[pos..]);
            pos += p.consumed;
            match p.event {
                Some(Event::Open) => c.open = true,
                Some(Event::Message { .. }) => messages += 1,
                Some(Event::Error(e)) => panic!("client failed: {e}"),
                Some(_) => {}
                None => break,
            }
        }
    }
}

struct Outcome {
    messages: u64,
    seconds: f64,
    loop_ns: u64,
    ticks: u64,
}

/// Echo with `conns` connections, each keeping `in_flight` messages
/// outstanding, for `seconds`.
fn echo(server: &Server, conns: usize, in_flight: usize, size: usize, seconds: u64) -> Outcome {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(1024);
    let mut clients: Vec<Client> = (0..conns).map(|_| connect(server.port)).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        poll.registry().register(&mut c.stream, Token(i), Interest::READABLE).unwrap();
        flush(c);
    }
    while clients.iter().any(|c| !c.open) {
        poll.poll(&mut events, Some(Duration::from_secs(5))).unwrap();
        for e in events.iter() {
            pump(&mut clients[e.token().0]);
        }
    }
    let payload = vec![b'x'; size];
    let send = |c: &mut Client, n: usize| {
        for _ in 0..n {
            c.conn.send(true, &payload).unwrap();
        }
        c.in_flight += n;
        flush(c);
    };
    for c in clients.iter_mut() {
        send(c, in_flight);
    }
    // Warm up, then measure.
    let warm = Instant::now() + Duration::from_millis(300);
    let mut counting = false;
    let (mut messages, mut start, mut ns0, mut ticks0) = (0u64, Instant::now(), 0, 0);
    let end_at = |start: Instant| start + Duration::from_secs(seconds);
    loop {
        if !counting && Instant::now() >= warm {
            counting = true;
            start = Instant::now();
            ns0 = server.loop_cpu_ns();
            ticks0 = server.process_ticks();
            messages = 0;
        }
        if counting && Instant::now() >= end_at(start) {
            break;
        }
        poll.poll(&mut events, Some(Duration::from_millis(100))).unwrap();
        for e in events.iter() {
            let c = &mut clients[e.token().0];
            let got = pump(c);
            c.in_flight -= got;
            messages += got as u64;
            send(c, got);
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    Outcome { messages, seconds: elapsed, loop_ns: server.loop_cpu_ns() - ns0, ticks: server.process_ticks() - ticks0 }
}

fn idle_memory(server: &Server, count: usize) -> (u64, u64, Vec<Client>) {
    let before = server.rss_kib();
    let mut clients = Vec::with_capacity(count);
    for _ in 0..count {
        let mut c = connect(server.port);
        flush(&mut c);
        while !c.open {
            std::thread::sleep(Duration::from_micros(50));
            pump(&mut c);
        }
        clients.push(c);
    }
    std::thread::sleep(Duration::from_millis(300));
    (before, server.rss_kib(), clients)
}

fn main() {
    let seconds = env_or("EWS_LOAD_SECONDS", 3);
    let idle = env_or("EWS_LOAD_IDLE", 10_000) as usize;
    let size = env_or("EWS_LOAD_SIZE", 32) as usize;
    let server = Server::start();
    let hz = 100.0; // USER_HZ on Linux
    println!("echo of {size}-byte text messages, {seconds} s per scenario, server pid {}", server.pid());
    println!("{:>5} {:>9} {:>12} {:>14} {:>16}", "conns", "in flight", "messages/s", "loop CPU/msg", "process CPU/msg");
    let only = std::env::var("EWS_LOAD_ONLY").unwrap_or_default();
    for (conns, in_flight) in [(1, 1), (1, 16), (64, 1), (64, 16)] {
        if !only.is_empty() && only != format!("{conns}x{in_flight}") {
            continue;
        }
        let o = echo(&server, conns, in_flight, size, seconds);
        let per_msg_ns = o.loop_ns as f64 / o.messages as f64;
        let process_ns = o.ticks as f64 / hz * 1e9 / o.messages as f64;
        println!(
            "{conns:>5} {in_flight:>9} {:>12.0} {:>11.3} µs {:>13.3} µs",
            o.messages as f64 / o.seconds,
            per_msg_ns / 1000.0,
            process_ns / 1000.0
        );
    }
    let fd_limit = {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes one rlimit into the struct we own.
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
        lim.rlim_cur as usize
    };
    let idle = idle.min(fd_limit.saturating_sub(100));
    let (before, after, clients) = idle_memory(&server, idle);
    println!(
        "{idle} idle connections: server RSS {before} KiB -> {after} KiB, {:.0} bytes per connection",
        (after.saturating_sub(before)) as f64 * 1024.0 / idle as f64
    );
    drop(clients);
}
