//! Compiling and running C programs against the library from Rust tests.
//!
//! Programs are compiled with `-std=c99 -Wall -Wextra -Wpedantic -Werror`
//! against `include/` and the static library cargo built for this test
//! run, and run under valgrind when it is installed (`EWS_VALGRIND=0`
//! turns that off, `EWS_VALGRIND=1` makes a missing valgrind an error).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding `libews.a` / `libews.so` of this build
/// (`target/<profile>/deps`, where the test binary itself lives).
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().expect("deps directory").to_path_buf()
}

/// Where compiled C programs go.
pub fn out_dir() -> PathBuf {
    let dir = lib_dir().parent().expect("profile directory").join("c-programs");
    std::fs::create_dir_all(&dir).expect("create c-programs directory");
    dir
}

/// The strict C++ flags for the C++ examples and tests.
pub const CXX_FLAGS: &[&str] = &["-std=c++11", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-g", "-O1"];

/// The strict C flags every C file of the project compiles with.
pub const C_FLAGS: &[&str] = &["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-g", "-O1"];

/// The libraries a program linked with `libews.a` needs
/// (`rustc --print native-static-libs`).
pub const STATIC_LIBS: &[&str] = &["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl", "-lc"];

/// Compiles C `sources` into an executable `name` linked statically with
/// ews and returns its path; panics with the compiler's output on failure.
pub fn compile(name: &str, sources: &[&Path], extra: &[&str]) -> PathBuf {
    let cxx = sources.iter().any(|s| s.extension().is_some_and(|e| e == "cpp"));
    let exe = out_dir().join(name);
    let mut cmd = Command::new(if cxx { "c++" } else { "cc" });
    cmd.args(if cxx { CXX_FLAGS } else { C_FLAGS })
        .arg("-I")
        .arg(root().join("include"))
        .args(sources)
        .arg(lib_dir().join("libews.a"))
        .args(STATIC_LIBS)
        .args(extra)
        .arg("-o")
        .arg(&exe);
    let out = cmd.output().expect("run the C compiler (cc)");
    assert!(
        out.status.success(),
        "compiling {name} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Whether C programs run under valgrind.
pub fn use_valgrind() -> bool {
    let installed = Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success());
    match std::env::var("EWS_VALGRIND").as_deref() {
        Ok("0") => false,
        Ok("1") => {
            assert!(installed, "EWS_VALGRIND=1 but valgrind is not installed");
            true
        }
        _ => installed,
    }
}

/// The exit code valgrind uses when it found errors.
pub const VALGRIND_ERROR: i32 = 97;

/// A command that runs `exe` (under valgrind when enabled, failing on any
/// memory error or definite leak).
pub fn command(exe: &Path) -> Command {
    if use_valgrind() {
        let mut cmd = Command::new("valgrind");
        cmd.args([
            "--quiet",
            "--error-exitcode=97",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite",
        ])
        .arg(exe);
        cmd
    } else {
        Command::new(exe)
    }
}

/// Runs `exe` with `args` and asserts it exited with 0 (and, under
/// valgrind, with no memory errors); returns its output.
pub fn run_ok(exe: &Path, args: &[&str]) -> Output {
    let out = output_within(command(exe).args(args), RUN_LIMIT);
    assert!(
        out.status.success(),
        "{} {:?} exited with {:?}{}:\nstdout:\n{}\nstderr:\n{}",
        exe.display(),
        args,
        out.status.code(),
        if out.status.code() == Some(VALGRIND_ERROR) { " (valgrind found errors)" } else { "" },
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// How long a C program may run (under valgrind) before it counts as hung.
pub const RUN_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

/// Runs `cmd` to completion and collects its output; kills it and fails
/// the test if it runs longer than `limit`, so a hang cannot stall the
/// suite.
pub fn output_within(cmd: &mut Command, limit: std::time::Duration) -> Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run C program");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for C program") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still ran after {limit:?}; killed");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    Output { status, stdout: out_reader.join().unwrap_or_default(), stderr: err_reader.join().unwrap_or_default() }
}
