//! C programs built against `ews.h` and `libews.a` with strict flags and
//! run (under valgrind when it is installed).

mod cbuild;

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
fn c_null_pointers_and_zero_lengths_get_documented_answers() {
    run_test_program("null_args");
}

#[test]
fn c_stateless_helpers_follow_the_rfc() {
    run_test_program("helpers");
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
