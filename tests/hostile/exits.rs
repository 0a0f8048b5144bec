//! Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 unusable input
//! or usage. A closed stdout is a quiet exit.

use super::util::*;
use std::process::{Command, Stdio};

fn code(args: &[&str]) -> i32 {
    run(args, None).status.code().unwrap()
}

#[test]
fn exit_codes_are_0_1_2() {
    let incident = sample("order-service-imagepull");
    let healthy = sample("healthy");
    let (i, h) = (incident.to_str().unwrap(), healthy.to_str().unwrap());
    assert_eq!(code(&["analyze", i]), 1);
    assert_eq!(code(&["analyze", i, "--format", "json"]), 1);
    assert_eq!(code(&["analyze", h]), 0);
    assert_eq!(code(&["analyze", h, "--fail-on", "info"]), 0);
    assert_eq!(code(&["ingest", i]), 0, "ingest lists, it does not judge");
    assert_eq!(code(&["rules"]), 0);
    assert_eq!(code(&["--help"]), 0);
    assert_eq!(code(&["--version"]), 0);
    // usage
    assert_eq!(code(&[]), 2);
    assert_eq!(code(&["analyze"]), 2);
    assert_eq!(code(&["analyze", h, "--format", "xml"]), 2);
    assert_eq!(code(&["frobnicate"]), 2);
    // unusable input
    assert_eq!(code(&["analyze", "/nonexistent/bundle"]), 2);
    let dir = tempdir("exits");
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = run(&["analyze", empty.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("the bundle holds no file"),
        "{}",
        stderr(&o)
    );
    let junk = dir.join("junk.bin");
    std::fs::write(&junk, b"\0\x01\x02binary").unwrap();
    let o = run(&["ingest", junk.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nothing in the bundle could be read"));
    assert!(stderr(&o).contains("junk.bin: binary file"));
    let o = run(&["analyze", "-"], Some(b""));
    assert_eq!(o.status.code(), Some(2), "empty stdin: {}", stderr(&o));
}

#[test]
fn fail_on_threshold() {
    // the incident has errors and warnings: any threshold trips
    let i = sample("order-service-imagepull");
    for level in ["error", "warning", "info"] {
        assert_eq!(
            code(&["analyze", i.to_str().unwrap(), "--fail-on", level]),
            1
        );
    }
}

#[test]
fn a_closed_stdout_is_a_quiet_exit() {
    for args in [
        vec!["analyze", "samples/order-service-imagepull"],
        vec![
            "ingest",
            "samples/order-service-imagepull",
            "--format",
            "json",
        ],
        vec!["rules"],
    ] {
        let mut child = Command::new(bin())
            .current_dir(root())
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // like `| head -0`
        let o = child.wait_with_output().unwrap();
        assert!(o.stderr.is_empty(), "{args:?}: {}", stderr(&o));
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{args:?}: {:?}",
            o.status
        );
    }
}
