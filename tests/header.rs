//! The committed header matches the sources, carries the crate version
//! and compiles cleanly as C99 and as C++.

mod cbuild;

use std::process::Command;

fn committed() -> String {
    std::fs::read_to_string(cbuild::root().join("include/ews.h")).expect("read include/ews.h")
}

#[test]
fn committed_header_matches_what_build_rs_generates() {
    let generated = std::fs::read_to_string(concat!(env!("OUT_DIR"), "/ews.h")).expect("read generated header");
    assert!(generated == committed(), "include/ews.h is stale: run `EWS_UPDATE_HEADER=1 cargo build` and commit it");
}

fn macro_value(header: &str, name: &str) -> String {
    let prefix = format!("#define {name} ");
    header
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{name} is not defined in ews.h"))
        .trim()
        .to_owned()
}

#[test]
fn version_macros_match_cargo_toml() {
    let manifest = std::fs::read_to_string(cbuild::root().join("Cargo.toml")).unwrap();
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("version in Cargo.toml");
    let header = committed();
    assert_eq!(macro_value(&header, "EWS_VERSION_STRING"), format!("\"{version}\""));
    let parts: Vec<&str> = version.split('.').collect();
    assert_eq!(macro_value(&header, "EWS_VERSION_MAJOR"), parts[0]);
    assert_eq!(macro_value(&header, "EWS_VERSION_MINOR"), parts[1]);
    assert_eq!(macro_value(&header, "EWS_VERSION_PATCH"), parts[2]);
    // SAFETY: ews_version() returns a pointer to a static NUL-terminated string.
    let lib = unsafe { std::ffi::CStr::from_ptr(ews::ffi::version::ews_version()) };
    assert_eq!(lib.to_str().unwrap(), version);
}

fn syntax_check(compiler: &str, lang: &str, flags: &[&str]) {
    let dir = cbuild::out_dir();
    let src = dir.join(format!("header_check.{lang}"));
    std::fs::write(
        &src,
        "#include \"ews.h\"\n#include \"ews.h\"\n#include \"ews_bas.h\"\n#include \"ews_bas.h\"\n\
         int main(void) { return ews_version() ? 0 : 1; }\n",
    )
    .unwrap();
    let out = Command::new(compiler)
        .args(flags)
        .arg("-fsyntax-only")
        .arg("-I")
        .arg(cbuild::root().join("include"))
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("run {compiler}: {e}"));
    assert!(out.status.success(), "{compiler} rejects ews.h:\n{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn headers_compile_as_pedantic_c99() {
    syntax_check("cc", "c", cbuild::C_FLAGS);
}

#[test]
fn headers_compile_as_cxx() {
    syntax_check("c++", "cpp", &["-std=c++11", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]);
}

#[test]
fn every_function_and_type_in_the_header_is_documented() {
    let header = committed();
    let lines: Vec<&str> = header.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let declares = line.starts_with("typedef struct")
            || line.starts_with("#define EWS_")
            || (line.contains("ews_") && line.contains('(') && !line.starts_with(' ') && !line.starts_with("/*"));
        if !declares || line.starts_with("#define EWS_H") {
            continue;
        }
        let before = lines[..i].iter().rev().find(|l| !l.trim().is_empty()).copied().unwrap_or("");
        assert!(before.trim_end().ends_with("*/"), "line {} of ews.h has no doc comment: {line}", i + 1);
    }
}

#[test]
fn barracuda_names_in_cxx_define_no_symbol_outside_namespace_ews_bas() {
    let dir = cbuild::out_dir();
    let src = dir.join("bas_symbols.cpp");
    let obj = dir.join("bas_symbols.o");
    std::fs::write(
        &src,
        "#include \"ews_bas.h\"\n\
         static void on_frame(WSSCB *, WSS *, void *, int, int) {}\n\
         static void on_close(WSSCB *, WSS *, int) {}\n\
         struct Conn : WSSCB, WSS {\n\
             Conn(SoDisp *d) : WSSCB(on_frame, on_close), WSS(this, d, 0, 0) {}\n\
         };\n\
         int use(SoDisp *d, HttpRequest *r, HttpConnection *c) {\n\
             Conn *x = new Conn(d);\n\
             int n = x->upgrade(r) + x->connect(c) + x->write(\"x\", 1, true) + x->close() + x->isValid();\n\
             delete x;\n\
             return n;\n\
         }\n",
    )
    .unwrap();
    // -O0: the inline methods are emitted (as weak symbols), as in a debug build.
    let out = Command::new("c++")
        .args(["-std=c++11", "-O0", "-c", "-o"])
        .arg(&obj)
        .arg("-I")
        .arg(cbuild::root().join("include"))
        .arg(&src)
        .output()
        .expect("run c++");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let nm = Command::new("nm").args(["-C", "--defined-only"]).arg(&obj).output().expect("run nm");
    let symbols = String::from_utf8(nm.stdout).unwrap();
    let emitted: Vec<&str> = symbols.lines().filter(|l| l.contains("WSS")).collect();
    assert!(emitted.iter().any(|l| l.contains("ews_bas::WSS::write")), "{symbols}");
    for line in emitted {
        let kind = line.split_whitespace().nth(1).unwrap_or("");
        let external = kind.chars().all(|c| c.is_ascii_uppercase());
        assert!(
            !external || line.contains("ews_bas::") || line.contains("Conn::"),
            "a Barracuda name is defined outside namespace ews_bas: {line}"
        );
    }
}
