//! The chat example in a real browser: `c-examples/chat_server` serves its
//! page, headless Chromium opens it in two tabs, two people join and talk,
//! one leaves, and both tabs show the whole conversation.
//!
//! The server runs under valgrind when it is installed (see `cbuild`), and
//! is stopped with SIGTERM, which it must survive cleanly. Chromium is
//! driven by `tests/browser/chat.js` (Node, DevTools protocol over a pipe);
//! without Chromium the browser test is skipped, unless
//! `EWS_REQUIRE_PEERS=1`.

mod cbuild;
mod peers;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use peers::Peer;

/// The whole browser conversation must be over by then.
const BROWSER_TIME_LIMIT: Duration = Duration::from_secs(40);
/// Time for the server to start (valgrind takes a moment) and to stop.
const SERVER_TIME_LIMIT: Duration = Duration::from_secs(20);

/// A child process that is killed and reaped when dropped, and whose
/// stdout lines arrive on a channel.
struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Running {
    fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        let lines = read_lines(child.stdout.take().expect("stdout"));
        let mut err = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        Running { child, lines, seen: Vec::new(), stderr: Some(stderr) }
    }

    /// The next stdout line, or None at the end of output or at `deadline`.
    fn next_line(&mut self, deadline: Instant) -> Option<String> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => {
                self.seen.push(line.clone());
                Some(line)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Reads stdout to its end (or `deadline`), then waits for the exit.
    fn finish(&mut self, deadline: Instant) -> Option<ExitStatus> {
        while self.next_line(deadline).is_some() {}
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, sig: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        // SAFETY: kill() has no memory effects; the pid is our own child,
        // not yet reaped (reaping happens in finish() or drop()).
        unsafe { libc::kill(pid, sig) };
    }

    /// Everything it printed so far, for failure messages.
    fn output(&mut self) -> String {
        let stderr = match self.stderr.take() {
            Some(h) if self.child.try_wait().is_ok_and(|s| s.is_some()) => h.join().unwrap_or_default(),
            other => {
                self.stderr = other;
                "(still running)".into()
            }
        };
        format!("stdout:\n{}\nstderr:\n{stderr}", self.seen.join("\n"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_lines(stdout: ChildStdout) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Kills a process group (Chromium and its helpers) when dropped.
struct ProcessGroup(libc::pid_t);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        // SAFETY: kill() has no memory effects; a group that is gone
        // already just gives ESRCH.
        unsafe { libc::kill(-self.0, libc::SIGKILL) };
    }
}

fn chat_server() -> PathBuf {
    let src = cbuild::root().join("c-examples/chat_server.c");
    cbuild::compile("example_chat_server", &[&src], &["-pthread"])
}

/// Starts chat_server on a free port of 127.0.0.1; returns it and the port.
fn start_server(exe: &std::path::Path) -> (Running, u16) {
    let mut cmd = cbuild::command(exe);
    cmd.args(["0", "127.0.0.1"]);
    let mut server = Running::spawn(cmd);
    let deadline = Instant::now() + SERVER_TIME_LIMIT;
    let first = server.next_line(deadline);
    let port = first
        .as_deref()
        .and_then(|l| l.strip_prefix("chat_server: open http://127.0.0.1:"))
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse::<u16>().ok());
    match port {
        Some(port) => (server, port),
        None => {
            server.signal(libc::SIGKILL);
            let _ = server.finish(Instant::now() + Duration::from_secs(5));
            panic!("chat_server did not say where it listens:\n{}", server.output());
        }
    }
}

/// Stops the server with SIGTERM and checks that it ended cleanly (and,
/// under valgrind, without memory errors or leaks); returns its stdout.
fn stop_server(mut server: Running) -> String {
    server.signal(libc::SIGTERM);
    let status = server.finish(Instant::now() + SERVER_TIME_LIMIT);
    let ok = status.is_some_and(|s| s.success());
    let out = server.output();
    assert!(
        ok,
        "chat_server did not stop cleanly on SIGTERM ({status:?}{}):\n{out}",
        if status.and_then(|s| s.code()) == Some(cbuild::VALGRIND_ERROR) { ", valgrind found errors" } else { "" },
    );
    assert!(out.contains("chat_server: stopped"), "{out}");
    out
}

fn http_get(port: u16, target: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to chat_server");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    write!(s, "GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").expect("send request");
    let mut response = String::new();
    s.read_to_string(&mut response).expect("read response");
    response
}

#[test]
fn chat_server_serves_its_page_and_stops_cleanly_on_sigterm() {
    let exe = chat_server();
    let (server, port) = start_server(&exe);
    let page = http_get(port, "/");
    let chat = http_get(port, "/chat");
    let other = http_get(port, "/other");
    let out = stop_server(server);

    assert!(page.starts_with("HTTP/1.1 200 "), "{page}");
    assert!(page.contains("Content-Type: text/html; charset=utf-8\r\n"), "{page}");
    assert!(page.contains("<title>ews chat</title>") && page.contains("/chat\""), "{page}");
    assert!(!page.contains("src=\"http") && !page.contains("href=\"http"), "the page loads nothing from elsewhere");
    // A plain GET of the WebSocket resource is no handshake.
    assert!(chat.starts_with("HTTP/1.1 400 "), "{chat}");
    assert!(other.starts_with("HTTP/1.1 404 "), "{other}");
    assert!(!out.contains("joined"), "{out}");
}

#[test]
fn two_chromium_tabs_join_chat_and_leave_through_chat_server() {
    let exe = chat_server();
    if !peers::require(Peer::Chromium) {
        return;
    }
    let started = Instant::now();
    let (server, port) = start_server(&exe);

    let mut cmd = peers::command(Peer::Chromium, "chat.js");
    cmd.arg(format!("http://127.0.0.1:{port}/"))
        .env("EWS_BROWSER_TIMEOUT_MS", (BROWSER_TIME_LIMIT.as_millis() - 5000).to_string());
    let mut browser = Running::spawn(cmd);
    let deadline = Instant::now() + BROWSER_TIME_LIMIT;
    let chromium = browser
        .next_line(deadline)
        .and_then(|l| l.strip_prefix("chromium pid ").and_then(|p| p.parse().ok()))
        .map(ProcessGroup);
    let status = browser.finish(deadline);
    let transcript = browser.output();
    drop(chromium);
    drop(browser);
    let server_out = stop_server(server);
    eprintln!("browser test took {:.1} s", started.elapsed().as_secs_f64());

    assert!(
        status.is_some_and(|s| s.success()),
        "the browser conversation failed ({}):\n{transcript}\n\nchat_server:\n{server_out}",
        status.map_or("time limit".to_string(), |s| s.to_string()),
    );
    let shown = |who: &str| -> Vec<String> {
        let prefix = format!("{who}| ");
        transcript.lines().filter_map(|l| l.strip_prefix(&prefix)).map(str::to_owned).collect()
    };
    let (alice, bob) = (shown("alice"), shown("bob"));
    for line in [
        "* Welcome, alice. You are the first one here.",
        "* alice joined",
        "* bob joined",
        "alice: Hello from alice",
        "bob: Hi alice, bob here \u{1F44B}",
        "* bob left",
    ] {
        assert!(alice.iter().any(|l| l == line), "alice's tab lacks {line:?}:\n{transcript}");
    }
    for line in
        ["* Welcome, bob. Here: alice.", "* bob joined", "alice: Hello from alice", "bob: Hi alice, bob here \u{1F44B}"]
    {
        assert!(bob.iter().any(|l| l == line), "bob's tab lacks {line:?}:\n{transcript}");
    }
    // The join announcements came before the messages.
    let at = |lines: &[String], line: &str| lines.iter().position(|l| l == line);
    assert!(at(&alice, "* bob joined") < at(&alice, "alice: Hello from alice"), "{transcript}");
    for line in ["chat_server: alice joined", "chat_server: bob joined", "chat_server: bob left (close code 1001)"] {
        assert!(server_out.contains(line), "chat_server's log lacks {line:?}:\n{server_out}");
    }
}
