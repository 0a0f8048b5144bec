//! Helpers shared by the integration tests.

use credtrace::bundle::{self, Limits};
use credtrace::report::{self, Format};
use credtrace::{analyze, Analysis, Options};
use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample(name: &str) -> PathBuf {
    root().join("samples").join(name)
}

pub fn analyze_path(p: &Path) -> Analysis {
    let b = bundle::open(p.to_str().expect("utf-8 path"), Limits::default()).expect("bundle opens");
    analyze(&b, &Options::default())
}

pub fn json(a: &Analysis) -> serde_json::Value {
    serde_json::from_str(&report::render(a, Format::Json, false)).expect("valid JSON")
}

/// The path of the `credtrace` binary built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_credtrace"))
}

/// Copies a directory tree into `dst`, rewriting every file's text with `f`.
pub fn copy_tree(src: &Path, dst: &Path, f: &dyn Fn(&str) -> String) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let name = f(&e.file_name().to_string_lossy());
        if p.is_dir() {
            copy_tree(&p, &dst.join(name), f);
        } else {
            let data = std::fs::read(&p).unwrap();
            let out = match String::from_utf8(data.clone()) {
                Ok(s) => f(&s).into_bytes(),
                Err(_) => data,
            };
            std::fs::write(dst.join(name), out).unwrap();
        }
    }
}

/// A fresh temporary directory under the target dir (no extra crate needed).
pub fn tempdir(tag: &str) -> PathBuf {
    let d = root().join("target").join("test-tmp").join(
        format!(
            "{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        )
        .replace(['(', ')'], ""),
    );
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// RFC 3339 as credtrace prints it.
pub fn fmt(t: credtrace::model::Time) -> String {
    credtrace::model::time::fmt_time(t)
}
