//! Real WebSocket peers that nobody here wrote: Python `websockets` and
//! Node `ws` (versions pinned in `tests/interop/`, installed by `.ci/run`),
//! and a real browser: Debian's headless Chromium, driven by a Node script
//! in `tests/browser/`.
//!
//! A test that needs a peer calls [`require`]: when the peer is missing the
//! test is skipped with a message, unless `EWS_REQUIRE_PEERS=1` (set by CI)
//! makes that a failure.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// A peer implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// Python `websockets` (tests/interop/requirements.txt).
    Python,
    /// Node `ws` (tests/interop/package.json).
    Node,
    /// Headless Chromium (Debian's `chromium`, or the binary named by
    /// `EWS_CHROMIUM`), driven by Node scripts in tests/browser.
    Chromium,
}

/// The interop directory (scripts and the peers' manifests).
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// The directory of the browser scripts.
pub fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// The Chromium binary: `EWS_CHROMIUM`, else `/usr/bin/chromium`.
pub fn chromium() -> PathBuf {
    std::env::var_os("EWS_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

fn node_runs() -> bool {
    Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success())
}

fn available(peer: Peer) -> bool {
    match peer {
        Peer::Python => {
            Command::new("python3").args(["-c", "import websockets"]).output().is_ok_and(|o| o.status.success())
        }
        Peer::Node => dir().join("node_modules/ws/package.json").exists() && node_runs(),
        Peer::Chromium => {
            Command::new(chromium()).arg("--version").output().is_ok_and(|o| o.status.success()) && node_runs()
        }
    }
}

/// Whether `peer` can be used. Missing: `false` after printing why, or a
/// panic when `EWS_REQUIRE_PEERS=1`.
pub fn require(peer: Peer) -> bool {
    if available(peer) {
        return true;
    }
    let how = match peer {
        Peer::Python => "pip install -r tests/interop/requirements.txt",
        Peer::Node => "npm ci --prefix tests/interop",
        Peer::Chromium => "apt-get install chromium, and have node on the PATH",
    };
    if std::env::var("EWS_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("{peer:?} peer is missing (EWS_REQUIRE_PEERS=1): {how}");
    }
    eprintln!("skipped: the {peer:?} peer is not installed ({how})");
    false
}

/// A command running `script` (a file in tests/interop, or in
/// tests/browser for Chromium) with the peer's interpreter.
pub fn command(peer: Peer, script: &str) -> Command {
    let path = match peer {
        Peer::Chromium => browser_dir().join(script),
        _ => dir().join(script),
    };
    match peer {
        Peer::Python => {
            let mut c = Command::new("python3");
            c.arg("-u").arg(path);
            c
        }
        Peer::Node => {
            let mut c = Command::new("node");
            c.arg(path).env("NODE_PATH", dir().join("node_modules"));
            c
        }
        Peer::Chromium => {
            let mut c = Command::new("node");
            c.arg(path).env("EWS_CHROMIUM", chromium());
            c
        }
    }
}
