//! Real WebSocket peers that nobody here wrote: Python `websockets` and
//! Node `ws` (versions pinned in `tests/interop/`, installed by `.ci/run`).
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
}

/// The interop directory (scripts and the peers' manifests).
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

fn available(peer: Peer) -> bool {
    match peer {
        Peer::Python => {
            Command::new("python3").args(["-c", "import websockets"]).output().is_ok_and(|o| o.status.success())
        }
        Peer::Node => {
            dir().join("node_modules/ws/package.json").exists()
                && Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success())
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
    };
    if std::env::var("EWS_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("{peer:?} peer is missing (EWS_REQUIRE_PEERS=1): {how}");
    }
    eprintln!("skipped: the {peer:?} peer is not installed ({how})");
    false
}

/// A command running `script` (a file in tests/interop) with the peer's
/// interpreter.
pub fn command(peer: Peer, script: &str) -> Command {
    let path = dir().join(script);
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
    }
}
