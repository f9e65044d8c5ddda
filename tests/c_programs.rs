//! C programs built against `ews.h` and `libews.a` with strict flags and
//! run (under valgrind when it is installed).

mod cbuild;
mod peers;

fn run_test_program(name: &str) {
    let src = cbuild::root().join("tests/c").join(format!("{name}.c"));
    let exe = cbuild::compile(name, &[&src], &[]);
    cbuild::run_ok(&exe, &[]);
}

#[test]
fn c_client_and_server_connections_agree_at_every_chunk_size() {
    run_test_program("conn_loopback");
}

#[test]
fn c_connection_events_follow_the_header_contract() {
    run_test_program("conn_events");
}

#[test]
fn c_null_pointers_and_zero_lengths_get_documented_answers() {
    run_test_program("null_args");
}

#[test]
fn c_stateless_helpers_follow_the_rfc() {
    run_test_program("helpers");
}

#[test]
fn c_structs_of_older_and_newer_headers_follow_the_abi_growth_rule() {
    let src = cbuild::root().join("tests/c/abi_growth.c");
    let exe = cbuild::compile("abi_growth", &[&src], &["-pthread"]);
    let out = cbuild::run_ok(&exe, &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("abi_growth: all checks passed"));
}

#[test]
fn c_attach_api_handshakes_exchanges_and_detaches_with_deadlines() {
    let src = cbuild::root().join("tests/c/attach.c");
    let exe = cbuild::compile("attach", &[&src], &[]);
    let out = cbuild::run_ok(&exe, &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("attach: all checks passed"));
}

fn run_example(name: &str) -> String {
    let src = cbuild::root().join("c-examples").join(format!("{name}.c"));
    let exe = cbuild::compile(&format!("example_{name}"), &[&src], &[]);
    String::from_utf8(cbuild::run_ok(&exe, &[]).stdout).expect("UTF-8 output")
}

#[test]
fn c_example_demo_shows_the_whole_conversation() {
    let out = run_example("demo");
    for line in [
        "server: open (subprotocol chat)",
        "client: open (subprotocol chat)",
        "server: text message, 14 bytes: \"Hello, server!\"",
        "server: binary message, 4 bytes: de ad be ef",
        "client: text message, 14 bytes: \"Hello, client!\"",
        "server: ping \"are you there?\" (pong sent automatically)",
        "server: text message, 10 bytes: \"fragmented\"",
        "client: pong \"are you there?\"",
        "server: close frame, code 1000, reason \"done\"",
        "client: close frame, code 1000, reason \"\"",
        "server state closed, client state closed",
    ] {
        assert!(out.contains(line), "demo output lacks {line:?}:\n{out}");
    }
}

#[test]
fn c_example_custom_transport_echoes_and_closes() {
    let out = run_example("custom_transport");
    assert!(out.contains("custom_transport: all echoes received, closed cleanly"), "{out}");
}

fn run_server_test(name: &str) {
    let c = cbuild::root().join("tests/c").join(format!("{name}.c"));
    let src = if c.exists() { c } else { cbuild::root().join("tests/c").join(format!("{name}.cpp")) };
    let exe = cbuild::compile(name, &[&src], &["-D_POSIX_C_SOURCE=200809L", "-pthread"]);
    cbuild::run_ok(&exe, &[]);
}

#[test]
fn c_server_drain_callback_runs_with_room_and_its_writes_go_out_at_once() {
    run_server_test("server_drain");
}

#[test]
fn c_server_callbacks_may_write_close_and_free_their_connection() {
    run_server_test("server_callbacks");
}

#[test]
fn c_server_close_from_another_thread_while_eight_threads_write() {
    run_server_test("server_threads");
}

#[test]
fn c_server_send_queue_bounds_a_slow_reader() {
    run_server_test("server_slow_reader");
}

#[test]
fn c_server_runs_a_thousand_concurrent_connections() {
    run_server_test("server_many");
}

#[test]
fn c_server_takes_over_sockets_from_the_hosts_http_server() {
    run_server_test("server_adopt");
}

#[test]
fn cxx_barracuda_style_class_echoes_and_deletes_itself() {
    run_server_test("bas_compat");
}

#[test]
fn c_barracuda_names_map_onto_the_server() {
    run_server_test("bas_compat_c");
}

#[test]
fn cxx_example_bas_echo_server_compiles() {
    let src = cbuild::root().join("c-examples/bas_echo_server.cpp");
    cbuild::compile("example_bas_echo_server", &[&src], &[]);
}

#[test]
fn c_example_echo_server_compiles() {
    let src = cbuild::root().join("c-examples/echo_server.c");
    cbuild::compile("example_echo_server", &[&src], &[]);
}

/// A C program running in the background.
struct Running {
    child: std::process::Child,
    stdout: std::thread::JoinHandle<String>,
}

/// Starts a C program that prints "listening on port N" first; returns it
/// and the port. The program must exit by itself.
fn spawn_listening(exe: &std::path::Path, args: &[&str]) -> (Running, u16) {
    use std::io::BufRead;
    let mut child = cbuild::command(exe)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start C program");
    let mut line = String::new();
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    out.read_line(&mut line).expect("read the port line");
    let port = line.trim().strip_prefix("listening on port ").and_then(|p| p.parse().ok());
    let port = port.unwrap_or_else(|| panic!("no port line: {line:?}"));
    // Keep reading in the background so the program never blocks on stdout.
    let stdout = std::thread::spawn(move || std::io::read_to_string(out).unwrap_or_default());
    (Running { child, stdout }, port)
}

/// Waits (bounded) for a program started by [`spawn_listening`] and returns
/// the rest of its stdout; fails when it exits with an error.
fn finish(mut running: Running, secs: u64) -> String {
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = running.child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > std::time::Duration::from_secs(secs) {
            let _ = running.child.kill();
            panic!("C program did not exit within {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let out = running.stdout.join().unwrap_or_default();
    let err = running.child.stderr.take().map(|e| std::io::read_to_string(e).unwrap_or_default()).unwrap_or_default();
    assert!(status.success(), "exited with {status} (97: valgrind errors):\n{out}\n{err}");
    out
}

#[test]
fn c_examples_attach_client_and_server_echo_and_close_cleanly() {
    let server = cbuild::compile("example_attach_server", &[&cbuild::root().join("c-examples/attach_server.c")], &[]);
    let client = cbuild::compile("example_attach_client", &[&cbuild::root().join("c-examples/attach_client.c")], &[]);
    let (child, port) = spawn_listening(&server, &["0", "1"]);
    let out = cbuild::run_ok(&client, &[&port.to_string(), "hello", "wörld", ""]);
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.contains("echo: hello\necho: wörld\necho: \nclosed cleanly"), "{out}");
    let served = finish(child, 60);
    assert!(served.contains("client connected: resource /echo, host 127.0.0.1:"), "{served}");
    assert!(served.contains("echoed a text message of 6 bytes"), "{served}");
    assert!(served.contains("client closed: 1000 \"bye\""), "{served}");
}

/// The lines a child writes to stdout, read on a thread.
struct Lines {
    rx: std::sync::mpsc::Receiver<String>,
    seen: String,
}

impl Lines {
    fn of(out: std::process::ChildStdout) -> Lines {
        use std::io::BufRead;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines { rx, seen: String::new() }
    }

    /// Waits up to 30 s for a line containing `want`.
    fn until(&mut self, want: &str, child: &mut std::process::Child) {
        let limit = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let left = limit.saturating_duration_since(std::time::Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                    if line.contains(want) {
                        return;
                    }
                }
                Err(e) => {
                    let _ = child.kill();
                    let status = child.wait();
                    let err = child.stderr.take().map(|e| std::io::read_to_string(e).unwrap_or_default());
                    panic!("no line with {want:?} ({e}; {status:?}):\n{}\n{}", self.seen, err.unwrap_or_default());
                }
            }
        }
    }
}

fn example_client_talks_to(peer: peers::Peer, script: &str) {
    use std::io::Write;
    if !peers::require(peer) {
        return;
    }
    let server = peers::PeerServer::start(peer, script, &["--lifetime", "60"]);
    // One executable per test: the tests run in parallel.
    let name = format!("example_client_{peer:?}");
    let exe = cbuild::compile(&name, &[&cbuild::root().join("c-examples/client.c")], &[]);
    let mut child = cbuild::command(&exe)
        .arg(server.url("/echo"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the client example");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = Lines::of(child.stdout.take().expect("stdout"));
    lines.until("connected", &mut child);
    for line in ["hello", "gr\u{fc}\u{df}e aus K\u{f6}ln", "a third line"] {
        writeln!(stdin, "{line}").unwrap();
        lines.until(&format!("< {line}"), &mut child);
    }
    drop(stdin); // end of input: the client closes
    lines.until("closed: 1000", &mut child);
    let status = child.wait().expect("wait for the client");
    let err = std::io::read_to_string(child.stderr.take().unwrap()).unwrap_or_default();
    assert!(status.success(), "client exited with {status} (97: valgrind errors):\n{}\n{err}", lines.seen);
    assert!(lines.seen.contains("(clean)"), "{}", lines.seen);
}

#[test]
fn c_example_client_sends_stdin_lines_to_python_and_closes_cleanly() {
    example_client_talks_to(peers::Peer::Python, "py_echo_server.py");
}

#[test]
fn c_example_client_sends_stdin_lines_to_node_and_closes_cleanly() {
    example_client_talks_to(peers::Peer::Node, "node_echo_server.js");
}

#[test]
fn c_client_api_runs_standalone_and_host_driven_and_names_every_failure() {
    if !peers::require(peers::Peer::Python) {
        return;
    }
    let echo = peers::PeerServer::start(peers::Peer::Python, "py_echo_server.py", &["--lifetime", "120"]);
    let raw = peers::PeerServer::start(peers::Peer::Python, "raw_server.py", &["--lifetime", "120"]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let src = cbuild::root().join("tests/c/client_api.c");
    let exe = cbuild::compile("client_api", &[&src], &["-pthread"]);
    let out = cbuild::run_ok(&exe, &[&echo.port.to_string(), &raw.port.to_string(), &closed.to_string()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("client_api: all checks passed"));
}

#[test]
fn c_server_api_streams_frames_reports_requests_picks_subprotocols_logs_and_frees_as_documented() {
    run_server_test("server_api");
}
