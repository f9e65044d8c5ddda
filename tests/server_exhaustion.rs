//! The built-in server when the machine runs short of descriptors: it
//! stops accepting without spinning, the connections already open keep
//! working, and the connections waiting in the listen backlog are taken
//! once descriptors are freed, with no new connection needed to wake it.
//!
//! The server is `tests/c/counting_server.c`, started under `prlimit` with
//! a small descriptor limit (not under valgrind, which needs descriptors of
//! its own).

mod cbuild;
mod rawws;
mod serverproc;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use rawws::{CLOSE, TEXT};
use serverproc::{ServerProcess, Valgrind};

/// The descriptor limit of the server process.
const NOFILE: usize = 32;

fn start_limited() -> ServerProcess {
    let exe = cbuild::compile("counting_server", &[&cbuild::root().join("tests/c/counting_server.c")], &[]);
    let prlimit = Path::new("/usr/bin/prlimit");
    assert!(prlimit.exists(), "prlimit (util-linux) is needed for this test");
    let limit = format!("--nofile={NOFILE}:{NOFILE}");
    ServerProcess::start(prlimit, &[&limit, exe.to_str().unwrap(), "30000"], Valgrind::Never)
}

/// Sends the opening handshake; true once the `101` arrived within
/// `wait`, false if nothing did (the connection is still in the backlog).
fn handshake_within(s: &mut TcpStream, wait: Duration) -> bool {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(0) => panic!("closed inside the handshake: {:?}", String::from_utf8_lossy(&head)),
            Ok(_) => head.push(byte[0]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if head.is_empty() && matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(e) => panic!("reading the handshake answer: {e}"),
        }
    }
    s.set_read_timeout(Some(rawws::TIMEOUT)).unwrap();
    assert!(head.starts_with(b"HTTP/1.1 101 "), "{:?}", String::from_utf8_lossy(&head));
    true
}

fn echo(s: &mut TcpStream, text: &str) {
    s.write_all(&rawws::frame(true, TEXT, text.as_bytes(), true)).unwrap();
    let f = rawws::read_frame(s);
    assert_eq!((f.opcode, f.payload.as_slice()), (TEXT, text.as_bytes()));
}

fn close(s: &mut TcpStream) {
    s.write_all(&rawws::frame(true, CLOSE, &1000u16.to_be_bytes(), true)).unwrap();
    rawws::expect_close(s, 1000);
}

#[test]
fn at_the_descriptor_limit_the_server_waits_without_spinning_and_recovers() {
    let server = start_limited();
    let addr = server.addr();

    // Open connections until one is not accepted.
    let mut open = Vec::new();
    let mut waiting = None;
    for _ in 0..NOFILE * 2 {
        let mut s = rawws::connect(addr);
        s.write_all(rawws::request("/echo").as_bytes()).unwrap();
        if handshake_within(&mut s, Duration::from_millis(1500)) {
            open.push(s);
        } else {
            waiting = Some(s);
            break;
        }
    }
    let mut waiting = waiting.expect("the server ran out of descriptors");
    assert!(open.len() >= NOFILE / 2, "only {} connections before the limit", open.len());

    // The connections already open keep working.
    echo(&mut open[0], "first");
    echo(open.last_mut().unwrap(), "last");

    // Waiting for descriptors costs no CPU: nothing spins.
    let before = server.cpu_time().expect("/proc tells the CPU time");
    std::thread::sleep(Duration::from_secs(1));
    let spent = server.cpu_time().unwrap() - before;
    assert!(spent < Duration::from_millis(300), "the server spent {spent:?} of CPU in 1 s at the limit");

    // Descriptors free up: the waiting connection is taken without any
    // new connection arriving.
    for mut s in open.drain(..4) {
        close(&mut s);
    }
    let freed = Instant::now();
    assert!(handshake_within(&mut waiting, Duration::from_secs(10)), "not accepted after descriptors were freed");
    assert!(freed.elapsed() < Duration::from_secs(10));
    echo(&mut waiting, "after");
    close(&mut waiting);
    for mut s in open {
        close(&mut s);
    }
    let finished = server.stop();
    assert!(finished.status.success(), "{finished:?}");
}
