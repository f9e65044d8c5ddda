//! A C server program running as a child process: started (under valgrind
//! when asked), waited for until it accepts connections, and always stopped
//! with SIGTERM, also when a test fails.
//!
//! The programs print `... listening on port N` once they listen (port 0
//! lets the system pick a free port, so tests never race for one). A test
//! crate using this module also declares `mod cbuild;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::cbuild;

/// Whether the server runs under valgrind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Valgrind {
    /// When the C tests use it (see `cbuild::use_valgrind`).
    Auto,
    /// Never (cases too slow under valgrind).
    Never,
}

/// How a stopped server ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub valgrind: bool,
}

impl Finished {
    /// Panics unless the program exited with status 0 (valgrind's error
    /// status 97 is named as such).
    pub fn assert_clean(&self, what: &str) {
        assert!(
            self.status.code() == Some(0),
            "{what} exited with {:?}{}\nstdout:\n{}\nstderr:\n{}",
            self.status,
            if self.status.code() == Some(cbuild::VALGRIND_ERROR) && self.valgrind {
                " (valgrind found memory errors or leaks)"
            } else {
                ""
            },
            self.stdout,
            self.stderr
        );
    }
}

/// A running server; dropping it stops it (SIGTERM, then SIGKILL if it
/// does not end in time).
pub struct ServerProcess {
    name: String,
    child: Option<Child>,
    port: u16,
    valgrind: bool,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

/// Collects a child's output in the background; sends each line on `lines`.
fn collect(
    stream: impl Read + Send + 'static,
    into: Arc<Mutex<String>>,
    lines: Option<mpsc::Sender<String>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    into.lock().unwrap().push_str(&line);
                    if let Some(tx) = &lines {
                        let _ = tx.send(line.trim_end().to_owned());
                    }
                }
            }
        }
    })
}

fn wait_for_port(lines: &Receiver<String>, deadline: Instant) -> Result<u16, String> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                if let Some((_, port)) = line.split_once("listening on port ") {
                    return port.trim().parse().map_err(|_| format!("bad port in {line:?}"));
                }
            }
            Err(RecvTimeoutError::Timeout) => return Err("it did not say it listens in time".into()),
            Err(RecvTimeoutError::Disconnected) => return Err("it ended before listening".into()),
        }
    }
}

impl ServerProcess {
    /// Starts `exe` with `args`, waits until it listens and accepts a TCP
    /// connection on 127.0.0.1, and returns it.
    pub fn start(exe: &Path, args: &[&str], valgrind: Valgrind) -> ServerProcess {
        let valgrind = valgrind == Valgrind::Auto && cbuild::use_valgrind();
        let mut cmd = if valgrind { cbuild::command(exe) } else { Command::new(exe) };
        let mut child = cmd
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        let (tx, rx) = mpsc::channel();
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(child.stdout.take().expect("stdout"), stdout.clone(), Some(tx)),
            collect(child.stderr.take().expect("stderr"), stderr.clone(), None),
        ];
        let name = exe.file_name().map_or_else(|| "server".into(), |n| n.to_string_lossy().into_owned());
        let mut server = ServerProcess { name, child: Some(child), port: 0, valgrind, stdout, stderr, readers };
        let startup = Duration::from_secs(if valgrind { 30 } else { 10 });
        let deadline = Instant::now() + startup;
        match wait_for_port(&rx, deadline) {
            Ok(port) => server.port = port,
            Err(why) => {
                let f = server.finish(Duration::from_secs(5));
                panic!("{}: {why}\nstdout:\n{}\nstderr:\n{}", server.name, f.stdout, f.stderr);
            }
        }
        // It listens before it says so; still, wait until it accepts.
        loop {
            if TcpStream::connect_timeout(&server.addr(), Duration::from_secs(1)).is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "{} does not accept connections on port {}", server.name, server.port);
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its address on the loopback interface.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Whether it runs under valgrind.
    pub fn under_valgrind(&self) -> bool {
        self.valgrind
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    fn proc_dir(&self) -> Option<PathBuf> {
        let dir = PathBuf::from(format!("/proc/{}", self.child.as_ref()?.id()));
        dir.exists().then_some(dir)
    }

    /// How many file descriptors it has open (None where `/proc` does not
    /// tell).
    pub fn open_fds(&self) -> Option<usize> {
        Some(std::fs::read_dir(self.proc_dir()?.join("fd")).ok()?.count())
    }

    /// What its file descriptors refer to (`socket:[...]`, `pipe:[...]`, paths).
    pub fn fd_targets(&self) -> Vec<String> {
        let Some(dir) = self.proc_dir() else { return Vec::new() };
        let Ok(entries) = std::fs::read_dir(dir.join("fd")) else { return Vec::new() };
        let mut out: Vec<String> = entries
            .flatten()
            .map(|e| {
                let target = std::fs::read_link(e.path()).map(|t| t.display().to_string()).unwrap_or_default();
                format!("{} -> {target}", e.file_name().to_string_lossy())
            })
            .collect();
        out.sort();
        out
    }

    /// Waits up to `limit` until it has at most `max` descriptors open;
    /// returns the last count (None where `/proc` does not tell).
    pub fn settle_fds(&self, max: usize, limit: Duration) -> Option<usize> {
        let deadline = Instant::now() + limit;
        loop {
            let n = self.open_fds()?;
            if n <= max || Instant::now() >= deadline {
                return Some(n);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The CPU time (user and system) it used so far (None where `/proc`
    /// does not tell).
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(self.proc_dir()?.join("stat")).ok()?;
        // The fields after the command name, which is in parentheses.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        (hz > 0).then(|| Duration::from_millis(ticks * 1000 / hz as u64))
    }

    fn signal(&self, signal: libc::c_int) {
        let child = self.child.as_ref().expect("the server runs");
        // SAFETY: kill(2) on the pid of our own child, which has not been
        // waited for yet (so the pid was not reused).
        unsafe {
            libc::kill(child.id() as libc::pid_t, signal);
        }
    }

    /// Stops it (SIGSTOP) until [`resume`](ServerProcess::resume), so that
    /// several things arrive before it looks again.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Continues it after [`pause`](ServerProcess::pause).
    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    /// What it printed so far.
    pub fn output(&self) -> (String, String) {
        (self.stdout.lock().unwrap().clone(), self.stderr.lock().unwrap().clone())
    }

    /// Stops it with SIGTERM and returns how it ended (after SIGKILL, with a
    /// panic, when it does not end within the time allowed).
    pub fn stop(mut self) -> Finished {
        let limit = Duration::from_secs(if self.valgrind { 30 } else { 10 });
        let f = self.finish(limit);
        assert!(
            f.status.code().is_some(),
            "{} did not stop on SIGTERM in {limit:?}:\n{}{}",
            self.name,
            f.stdout,
            f.stderr
        );
        f
    }

    /// Stops it and asserts a clean exit (status 0, no valgrind errors).
    pub fn stop_clean(self) -> Finished {
        let name = self.name.clone();
        let f = self.stop();
        f.assert_clean(&name);
        f
    }

    fn finish(&mut self, limit: Duration) -> Finished {
        // A paused server would not see SIGTERM.
        self.resume();
        self.signal(libc::SIGTERM);
        let mut child = self.child.take().expect("the server runs");
        let deadline = Instant::now() + limit;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                _ => {
                    let _ = child.kill();
                    break child.wait().expect("wait for the killed server");
                }
            }
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        let (stdout, stderr) = self.output();
        Finished { status, stdout, stderr, valgrind: self.valgrind }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.finish(Duration::from_secs(if self.valgrind { 30 } else { 10 }));
        }
    }
}

/// Runs `cmd` to its end or until `limit` passes (then kills it and
/// panics); returns its status and output.
pub fn run_with_timeout(mut cmd: Command, limit: Duration) -> (ExitStatus, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let stdout = Arc::new(Mutex::new(String::new()));
    let stderr = Arc::new(Mutex::new(String::new()));
    let readers = [
        collect(child.stdout.take().expect("stdout"), stdout.clone(), None),
        collect(child.stderr.take().expect("stderr"), stderr.clone(), None),
    ];
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait().expect("wait for the child") {
            Some(status) => break status,
            None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                for r in readers {
                    let _ = r.join();
                }
                panic!(
                    "{cmd:?} did not end within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                    stdout.lock().unwrap(),
                    stderr.lock().unwrap()
                );
            }
        }
    };
    for r in readers {
        let _ = r.join();
    }
    let out = stdout.lock().unwrap().clone();
    let err = stderr.lock().unwrap().clone();
    (status, out, err)
}
