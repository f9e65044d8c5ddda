//! Generates the C header with cbindgen.
//!
//! The header is written to `$OUT_DIR/ews.h`. The reviewed copy lives in
//! `include/ews.h`; a test fails when the two differ. Set
//! `EWS_UPDATE_HEADER=1` to rewrite `include/ews.h` from the sources.

use std::env;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=EWS_UPDATE_HEADER");

    let version = format!(
        "\n/** The major version of the ews this header belongs to. */\n#define EWS_VERSION_MAJOR {}\n\
         /** The minor version of the ews this header belongs to. */\n#define EWS_VERSION_MINOR {}\n\
         /** The patch version of the ews this header belongs to. */\n#define EWS_VERSION_PATCH {}\n\
         /** The version of the ews this header belongs to, as a string; ews_version() returns the library's. */\n\
         #define EWS_VERSION_STRING \"{}\"\n\n\
         /* The callback struct is named by its own callback types. */\nstruct ews_wsscb;\n",
        env::var("CARGO_PKG_VERSION_MAJOR").unwrap(),
        env::var("CARGO_PKG_VERSION_MINOR").unwrap(),
        env::var("CARGO_PKG_VERSION_PATCH").unwrap(),
        env::var("CARGO_PKG_VERSION").unwrap(),
    );

    let mut config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml is readable and valid");
    config.after_includes = Some(version);

    // Only the C boundary is parsed: the C structs live in src/ffi and are
    // converted into the core's types there, so nothing of the core is
    // part of the ABI.
    let mut builder = cbindgen::Builder::new().with_config(config);
    let mut ffi_files: Vec<PathBuf> = std::fs::read_dir(crate_dir.join("src/ffi"))
        .expect("src/ffi is readable")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs") && !p.ends_with("mod.rs"))
        .collect();
    ffi_files.sort();
    for file in ffi_files {
        builder = builder.with_src(file);
    }
    let header = builder.generate().expect("cbindgen generates include/ews.h");
    let generated = out_dir.join("ews.h");
    header.write_to_file(&generated);

    if env::var_os("EWS_UPDATE_HEADER").is_some_and(|v| v == "1") {
        std::fs::copy(&generated, crate_dir.join("include/ews.h")).expect("write include/ews.h");
    }
}
