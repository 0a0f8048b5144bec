//! Builders for hostile archives and a runner for the binary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample(name: &str) -> PathBuf {
    root().join("samples").join(name)
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_credtrace"))
}

/// A fresh directory under the target dir.
pub fn tempdir(tag: &str) -> PathBuf {
    let d = root().join("target").join("test-tmp").join(
        format!(
            "hostile-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        )
        .replace(['(', ')'], ""),
    );
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// One member of a hand-made tar: the header fields are written raw, so names the `tar`
/// crate would refuse (`../x`, `/etc/x`) can be made.
pub struct Member<'a> {
    pub name: &'a str,
    pub kind: u8,
    pub link: &'a str,
    pub body: &'a [u8],
}

pub fn file<'a>(name: &'a str, body: &'a [u8]) -> Member<'a> {
    Member {
        name,
        kind: b'0',
        link: "",
        body,
    }
}

fn octal(field: &mut [u8], v: u64) {
    let s = format!("{:0w$o}\0", v, w = field.len() - 1);
    field.copy_from_slice(s.as_bytes());
}

/// A ustar archive of `members`, ending with the two zero blocks.
pub fn tar(members: &[Member]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in members {
        out.extend(header(m.name, m.kind, m.link, m.body.len() as u64));
        out.extend_from_slice(m.body);
        let pad = (512 - m.body.len() % 512) % 512;
        out.extend(std::iter::repeat_n(0u8, pad));
    }
    out.extend([0u8; 1024]);
    out
}

/// One raw ustar header.
pub fn header(name: &str, kind: u8, link: &str, size: u64) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut h[100..108], 0o644);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], 0);
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    h
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Runs the binary with `args`, feeding `stdin` when given.
pub fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(data) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let data = data.to_vec();
        // the binary may stop reading early (a limit): a broken pipe here is expected
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    child.wait_with_output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `credtrace ingest PATH --format json` as a value, with the exit code.
pub fn ingest_json(path: &Path, extra: &[&str]) -> (serde_json::Value, i32) {
    let mut args = vec!["ingest", path.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    let o = run(&args, None);
    let code = o.status.code().unwrap();
    let v = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (v, code)
}

/// path -> skip reason, for every skipped file of an ingest report.
pub fn skipped(v: &serde_json::Value) -> Vec<(String, String)> {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| {
            f["skipped"]
                .as_str()
                .map(|r| (f["path"].as_str().unwrap().to_string(), r.to_string()))
        })
        .collect()
}

/// path -> format, for every file read.
pub fn read_files(v: &serde_json::Value) -> Vec<(String, String)> {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["skipped"].is_null())
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["format"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

pub const POD: &[u8] =
    b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-1\n  namespace: shop\nspec:\n  containers:\n  - name: web\n    image: registry.example/web:1\n";
