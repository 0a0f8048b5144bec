//! Archive tricks: escaping paths, links, devices, duplicates. Never followed, never
//! written, always reported, and the honest members are still read.

use super::util::*;

fn tricky_archive(tag: &str) -> (Vec<u8>, String, String) {
    let abs = format!(
        "/tmp/credtrace-hostile-abs-{tag}-{}.yaml",
        std::process::id()
    );
    let up = format!("../credtrace-hostile-up-{tag}-{}.yaml", std::process::id());
    let t = tar(&[
        file("b/pods.yaml", POD),
        file(&up, POD),
        file(&abs, POD),
        file("b/sub/../../../escape.yaml", POD),
        Member {
            name: "b/link.yaml",
            kind: b'2',
            link: "../../../../etc/passwd",
            body: b"",
        },
        Member {
            name: "b/hard.yaml",
            kind: b'1',
            link: "/etc/shadow",
            body: b"",
        },
        Member {
            name: "b/tty",
            kind: b'3',
            link: "",
            body: b"",
        },
        Member {
            name: "b/disk",
            kind: b'4',
            link: "",
            body: b"",
        },
        Member {
            name: "b/pipe",
            kind: b'6',
            link: "",
            body: b"",
        },
        file(
            "b/pods.yaml",
            b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: evil\n",
        ),
    ]);
    (gzip(&t), abs, up)
}

fn check_report(v: &serde_json::Value) {
    let read = read_files(v);
    assert!(
        read.iter()
            .any(|(p, f)| p == "pods.yaml" && f == "kubernetes-yaml"),
        "{read:?}"
    );
    let skipped = skipped(v);
    let reason = |needle: &str| {
        skipped
            .iter()
            .find(|(_, r)| r.contains(needle))
            .unwrap_or_else(|| panic!("no skip reason with {needle:?} in {skipped:#?}"))
            .clone()
    };
    reason("'..'");
    reason("absolute path");
    assert_eq!(
        reason("symbolic link").1,
        "symbolic link to ../../../../etc/passwd, not followed"
    );
    assert_eq!(
        reason("hard link").1,
        "hard link to /etc/shadow, not followed"
    );
    assert!(
        skipped
            .iter()
            .filter(|(_, r)| r.contains("device file"))
            .count()
            == 2
    );
    reason("FIFO");
    let dup = reason("duplicate");
    assert_eq!(dup.0, "pods.yaml");
    assert_eq!(read.iter().filter(|(p, _)| p == "pods.yaml").count(), 1);
}

#[test]
fn tricks_in_an_archive_are_reported_and_never_followed_or_written() {
    let dir = tempdir("tricks");
    let work = dir.join("cwd");
    std::fs::create_dir_all(&work).unwrap();
    let (tgz, abs, up) = tricky_archive("file");
    let path = work.join("bundle.tgz");
    std::fs::write(&path, &tgz).unwrap();
    let before: Vec<_> = std::fs::read_dir(&work).unwrap().collect();
    let o = std::process::Command::new(bin())
        .current_dir(&work)
        .args(["ingest", "bundle.tgz", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    check_report(&v);
    // nothing was written anywhere the members point
    assert!(!std::path::Path::new(&abs).exists());
    assert!(!work.join(&up).exists());
    assert!(!dir.join("escape.yaml").exists());
    let after: Vec<_> = std::fs::read_dir(&work).unwrap().collect();
    assert_eq!(before.len(), after.len(), "credtrace wrote a file");
    // the same archive on stdin gives the same report
    let o = run(&["ingest", "-", "--format", "json"], Some(&tgz));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let from_stdin: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    check_report(&from_stdin);
    assert_eq!(v["files"], from_stdin["files"]);
}

#[test]
fn hostile_names_cannot_reach_the_terminal() {
    let t = tar(&[
        file("b/pods.yaml", POD),
        file("b/\x1b]0;owned\x07\x1b[2J.yaml", POD),
    ]);
    let dir = tempdir("names");
    let p = dir.join("b.tar");
    std::fs::write(&p, t).unwrap();
    for args in [vec!["ingest"], vec!["analyze", "--color", "never"]] {
        let mut a = args.clone();
        a.push(p.to_str().unwrap());
        let o = run(&a, None);
        let text = stdout(&o) + &stderr(&o);
        assert!(
            !text.contains('\x1b'),
            "an escape reached the output: {text:?}"
        );
        assert!(!text.contains('\x07'));
    }
}

#[cfg(unix)]
#[test]
fn directory_links_fifos_are_not_followed() {
    let dir = tempdir("dirtricks");
    let b = dir.join("bundle");
    std::fs::create_dir_all(b.join("sub")).unwrap();
    std::fs::write(b.join("pods.yaml"), POD).unwrap();
    let outside = dir.join("outside.yaml");
    std::fs::write(&outside, POD).unwrap();
    std::os::unix::fs::symlink(&outside, b.join("link.yaml")).unwrap();
    std::os::unix::fs::symlink("/", b.join("sub/root")).unwrap();
    // a FIFO would block a naive reader forever
    let made = std::process::Command::new("mkfifo")
        .arg(b.join("pipe"))
        .status()
        .is_ok_and(|s| s.success());
    let (v, code) = ingest_json(&b, &[]);
    assert_eq!(code, 0);
    let skipped = skipped(&v);
    let find = |p: &str| skipped.iter().find(|(q, _)| q == p).map(|(_, r)| r.clone());
    assert!(find("link.yaml").unwrap().starts_with("symbolic link to "));
    assert_eq!(
        find("sub/root").unwrap(),
        "symbolic link to /, not followed"
    );
    if made {
        assert!(find("pipe").unwrap().contains("not a regular file"));
    }
    assert_eq!(
        read_files(&v),
        [("pods.yaml".to_string(), "kubernetes-yaml".to_string())]
    );
}

#[test]
fn truncated_archive_keeps_what_was_there() {
    let big_pod = {
        let mut p = POD.to_vec();
        p.extend(b"  # padding\n".repeat(200));
        p
    };
    let t = tar(&[
        file("b/a.yaml", POD),
        file("b/b.yaml", &big_pod),
        file("b/c.yaml", POD),
    ]);
    // cut in the middle of b.yaml's data
    let cut = 512 + 512 + 512 + 600;
    for (name, data) in [
        ("cut.tar", t[..cut].to_vec()),
        ("cut.tgz", {
            let gz = gzip(&t);
            gz[..gz.len() * 2 / 3].to_vec()
        }),
    ] {
        let dir = tempdir("trunc");
        let p = dir.join(name);
        std::fs::write(&p, data).unwrap();
        let (v, code) = ingest_json(&p, &[]);
        assert_eq!(code, 0, "{name}");
        let read = read_files(&v);
        assert!(read.iter().any(|(p, _)| p == "a.yaml"), "{name}: {read:?}");
        let text = v.to_string();
        assert!(text.contains("truncated"), "{name}: {text}");
    }
}

#[test]
fn garbage_that_looks_like_an_archive_is_an_error_not_a_panic() {
    let dir = tempdir("garbage");
    for (name, data) in [
        (
            "gz-header-only.tgz",
            vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3],
        ),
        ("bad-gzip.tgz", vec![0x1f, 0x8b, 0xff, 0xff, 1, 2, 3]),
        (
            "tar-header-only.tar",
            header("x.yaml", b'0', "", 99999).to_vec(),
        ),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, &data).unwrap();
        let o = run(&["analyze", p.to_str().unwrap()], None);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        assert!(
            stderr(&o).starts_with("credtrace: "),
            "{name}: {}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"));
    }
}
