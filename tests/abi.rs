//! The C ABI changed only by additions since the committed baseline
//! (`abi/check.sh`: libabigail's abidiff on the header's types, the
//! library's exports, the constants). Skipped with a message when
//! abigail-tools is not installed, unless `EWS_REQUIRE_PEERS=1`.

mod cbuild;

use std::process::Command;

#[test]
fn abi_changed_only_by_additions_since_the_baseline() {
    let installed = Command::new("abidiff").arg("--version").output().is_ok_and(|o| o.status.success());
    if !installed {
        let how = "apt-get install abigail-tools";
        if std::env::var("EWS_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("abidiff is missing (EWS_REQUIRE_PEERS=1): {how}");
        }
        eprintln!("skipped: abidiff is not installed ({how})");
        return;
    }
    let lib = cbuild::lib_dir().join("libews.so");
    let out = Command::new(cbuild::root().join("abi/check.sh")).arg(&lib).output().expect("run abi/check.sh");
    assert!(
        out.status.success(),
        "abi/check.sh failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
