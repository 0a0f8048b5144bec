//! Limits: bombs, huge files, many entries, deep nesting, alias bombs, long lines. Each
//! stops cleanly (named entry, named limit) with small limits, and what else the bundle
//! holds is still read.

use super::util::*;

fn zeros_gz(n: usize) -> Vec<u8> {
    gzip(&vec![0u8; n])
}

#[test]
fn gzip_bomb_single_file_is_refused_by_name() {
    let dir = tempdir("bomb");
    let p = dir.join("bomb.yaml.gz");
    std::fs::write(&p, zeros_gz(8 << 20)).unwrap();
    let o = run(
        &["analyze", p.to_str().unwrap(), "--max-entry-bytes", "1M"],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("bomb.yaml: larger than the 1 MiB per-file limit (--max-entry-bytes)"),
        "{err}"
    );
    // the same on stdin
    let o = run(
        &["analyze", "-", "--max-entry-bytes", "1M"],
        Some(&std::fs::read(&p).unwrap()),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--max-entry-bytes"), "{}", stderr(&o));
}

/// A tar.gz with a Pod, a member far over the limits, and another Pod after it.
fn bomb_tar() -> Vec<u8> {
    let big = vec![0u8; 16 << 20];
    gzip(&tar(&[
        file("b/a-pods.yaml", POD),
        file("b/huge.log", &big),
        file("b/z-pods.yaml", POD),
    ]))
}

#[test]
fn big_member_is_skipped_and_the_rest_is_read() {
    let dir = tempdir("bigmember");
    let p = dir.join("b.tgz");
    std::fs::write(&p, bomb_tar()).unwrap();
    let (v, code) = ingest_json(&p, &["--max-entry-bytes", "1M", "--max-total-bytes", "4M"]);
    assert_eq!(code, 0);
    let s = skipped(&v);
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(s[0].0, "huge.log");
    assert!(
        s[0].1
            .contains("16777216 bytes, over the 1 MiB per-file limit"),
        "{s:?}"
    );
    let read: Vec<String> = read_files(&v).into_iter().map(|(p, _)| p).collect();
    assert_eq!(read, ["a-pods.yaml", "z-pods.yaml"]);
}

#[test]
fn stream_budget_stops_a_bomb_and_keeps_what_came_before() {
    let dir = tempdir("stream");
    let p = dir.join("b.tgz");
    std::fs::write(&p, bomb_tar()).unwrap();
    // 1M total: the archive may stream 8M, the 16M member passes that
    let (v, code) = ingest_json(&p, &["--max-entry-bytes", "1M", "--max-total-bytes", "1M"]);
    assert_eq!(code, 0);
    let s = skipped(&v);
    assert!(
        s.iter().any(|(p, r)| p == "b.tgz"
            && r.contains("stopped reading the archive")
            && r.contains("--max-total-bytes")),
        "{s:?}"
    );
    let read: Vec<String> = read_files(&v).into_iter().map(|(p, _)| p).collect();
    assert_eq!(read, ["a-pods.yaml"]);
    // what follows the stop is not listed, and the report says reading stopped
    let o = run(
        &[
            "analyze",
            p.to_str().unwrap(),
            "--max-entry-bytes",
            "1M",
            "--max-total-bytes",
            "1M",
        ],
        None,
    );
    let second = stdout(&o).lines().nth(1).unwrap_or_default().to_string();
    assert!(
        second.starts_with(
            "PARTIAL: 2 of 3 files listed were not read and reading stopped before \
             the end of the bundle, because of reading limits (--max-total-bytes, \
             --max-entry-bytes)"
        ),
        "{second}"
    );
    // on stdin too, and bounded: the binary stops reading long before the end
    let o = run(
        &[
            "ingest",
            "-",
            "--format",
            "json",
            "--max-entry-bytes",
            "1M",
            "--max-total-bytes",
            "1M",
        ],
        Some(&std::fs::read(&p).unwrap()),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("stopped reading the archive"));
}

#[test]
fn endless_stdin_is_bounded() {
    // 64 MiB of text on stdin, 1 MiB allowed: refused by name, not read to the end
    let data = vec![b'a'; 64 << 20];
    let o = run(&["analyze", "-", "--max-entry-bytes", "1M"], Some(&data));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("stdin: larger than the 1 MiB per-file limit"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn too_many_entries_stop_with_the_limit_named() {
    let names: Vec<String> = (0..3000).map(|i| format!("b/f{i:05}.txt")).collect();
    let mut members = vec![file("b/a-pods.yaml", POD)];
    members.extend(names.iter().map(|n| file(n, b"")));
    let dir = tempdir("entries");
    let p = dir.join("many.tgz");
    std::fs::write(&p, gzip(&tar(&members))).unwrap();
    let (v, code) = ingest_json(&p, &["--max-entries", "1000"]);
    assert_eq!(code, 0);
    let s = skipped(&v);
    let stop: Vec<_> = s
        .iter()
        .filter(|(_, r)| r.contains("--max-entries"))
        .collect();
    assert_eq!(stop.len(), 1, "one line for the stop, not one per entry");
    assert!(stop[0].1.contains("more than 1000 entries"));
    assert!(v["files"].as_array().unwrap().len() <= 1002);
    assert!(read_files(&v).iter().any(|(p, _)| p == "a-pods.yaml"));
}

#[test]
fn huge_sparse_file_is_skipped_without_reading_it() {
    let dir = tempdir("sparse");
    let b = dir.join("bundle");
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(b.join("pods.yaml"), POD).unwrap();
    let f = std::fs::File::create(b.join("huge.log")).unwrap();
    f.set_len(5 << 30).unwrap(); // 5 GiB, sparse: no disk used
    let (v, code) = ingest_json(&b, &[]);
    assert_eq!(code, 0);
    assert_eq!(
        skipped(&v),
        [(
            "huge.log".to_string(),
            "5368709120 bytes, over the 32 MiB per-file limit (--max-entry-bytes), not read"
                .to_string()
        )]
    );
    // named as the bundle itself, it is streamed and stops at the limit
    let o = run(
        &[
            "analyze",
            b.join("huge.log").to_str().unwrap(),
            "--max-entry-bytes",
            "1M",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("huge.log: larger than the 1 MiB per-file limit"));
}

#[test]
fn total_limit_for_directories() {
    let dir = tempdir("dirtotal");
    let b = dir.join("bundle");
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(b.join("a-pods.yaml"), POD).unwrap();
    std::fs::write(b.join("b-big.txt"), vec![b'x'; 3000]).unwrap();
    std::fs::write(b.join("c-pods.yaml"), POD).unwrap();
    let (v, code) = ingest_json(&b, &["--max-total-bytes", "2K"]);
    assert_eq!(code, 0);
    let s = skipped(&v);
    assert_eq!(s.len(), 1);
    assert!(s[0].1.contains("--max-total-bytes"), "{s:?}");
    assert_eq!(read_files(&v).len(), 2);
    // a report on part of the bundle says so under its first line, in text and Markdown
    let analyze = |extra: &[&str]| {
        let mut args = vec!["analyze", b.to_str().unwrap()];
        args.extend_from_slice(extra);
        stdout(&run(&args, None))
    };
    let text = analyze(&["--max-total-bytes", "2K"]);
    let second = text.lines().nth(1).unwrap_or_default();
    assert!(
        second.starts_with(
            "PARTIAL: 1 of 3 files was not read because of a reading limit \
             (--max-total-bytes)"
        ),
        "{text}"
    );
    let md = analyze(&["--max-total-bytes", "2K", "--format", "markdown"]);
    assert!(
        md.contains("> **Partial:** 1 of 3 files was not read"),
        "{md}"
    );
    // read whole, or skipped for another reason than a limit: no such line
    assert!(!analyze(&[]).contains("PARTIAL"));
    std::fs::write(b.join("b-big.txt"), [0xff, 0xfe, 0x00]).unwrap();
    let s = skipped(&ingest_json(&b, &["--max-total-bytes", "2K"]).0);
    assert!(s.len() == 1 && !s[0].1.contains("--max"), "{s:?}");
    assert!(!analyze(&["--max-total-bytes", "2K"]).contains("PARTIAL"));
}

#[test]
fn deep_json_and_deep_directories_are_refused() {
    let dir = tempdir("deep");
    let b = dir.join("bundle");
    let mut deep = b.clone();
    for i in 0..8 {
        deep = deep.join(format!("d{i}"));
    }
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("x.yaml"), POD).unwrap();
    std::fs::write(b.join("pods.yaml"), POD).unwrap();
    let nested = "[".repeat(100_000) + &"]".repeat(100_000);
    std::fs::write(b.join("deep.json"), &nested).unwrap();
    let flow = "a: ".to_string() + &"[".repeat(100_000) + &"]".repeat(100_000);
    std::fs::write(
        b.join("deep.yaml"),
        format!("apiVersion: v1\nkind: Pod\n{flow}\n"),
    )
    .unwrap();
    let (v, code) = ingest_json(&b, &["--max-depth", "5"]);
    assert_eq!(code, 0);
    let s = skipped(&v);
    let reason = |p: &str| {
        s.iter()
            .find(|(q, _)| q == p)
            .map(|(_, r)| r.clone())
            .unwrap_or_default()
    };
    assert!(
        reason("deep.json").contains("nested deeper than 5 levels (--max-depth)"),
        "{s:?}"
    );
    assert!(
        reason("deep.yaml").contains("nested deeper than 5 levels (--max-depth)"),
        "{s:?}"
    );
    assert!(
        reason("d0/d1/d2/d3/d4/d5").contains("directory nested deeper than 5 levels"),
        "{s:?}"
    );
    assert!(read_files(&v).iter().any(|(p, _)| p == "pods.yaml"));
    // the default depth refuses 100,000 levels too, before serde sees them
    let (v, _) = ingest_json(&b.join("deep.json"), &[]);
    assert!(v.is_null(), "nothing readable: exit 2, no report");
}

#[test]
fn yaml_alias_bombs_are_refused() {
    let dir = tempdir("alias");
    let b = dir.join("bundle");
    std::fs::create_dir_all(&b).unwrap();
    // billion laughs: 9 levels of 9 aliases
    let mut laughs = vec!["apiVersion: v1".to_string(), "kind: ConfigMap".to_string()];
    laughs.push("l0: &l0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]".into());
    for i in 1..10 {
        let refs = vec![format!("*l{}", i - 1); 9].join(",");
        laughs.push(format!("l{i}: &l{i} [{refs}]"));
    }
    std::fs::write(b.join("laughs.yaml"), laughs.join("\n")).unwrap();
    // few jumps, each copying a large anchor: what serde_yaml's own jump limit lets through
    let wide = format!(
        "apiVersion: v1\nkind: Pod\na: &a [{}]\nb: [{}]\n",
        vec!["x"; 3000].join(","),
        vec!["*a"; 3000].join(",")
    );
    std::fs::write(b.join("wide.yaml"), wide).unwrap();
    std::fs::write(
        b.join("credtrace.yaml"),
        format!(
            "captured_at: 2026-03-19T10:30:00Z\n{}",
            laughs[2..].join("\n")
        ),
    )
    .unwrap();
    std::fs::write(b.join("pods.yaml"), POD).unwrap();
    let (v, code) = ingest_json(&b, &[]);
    assert_eq!(code, 0);
    let s = skipped(&v);
    for p in ["laughs.yaml", "wide.yaml", "credtrace.yaml"] {
        assert!(
            s.iter().any(|(q, r)| q == p && r.contains("aliases")),
            "{p}: {s:?}"
        );
    }
    assert!(read_files(&v).iter().any(|(p, _)| p == "pods.yaml"));
}

#[test]
fn long_lines_are_not_read_and_the_rest_of_the_file_is() {
    let dir = tempdir("long");
    let b = dir.join("bundle");
    std::fs::create_dir_all(&b).unwrap();
    let mut text = String::from_utf8(POD.to_vec()).unwrap();
    text.push_str(&format!("# {}\n", "z".repeat(3 << 20)));
    std::fs::write(b.join("pods.yaml"), &text).unwrap();
    std::fs::write(b.join("one-line.txt"), "q".repeat(2 << 20)).unwrap();
    let (v, code) = ingest_json(&b, &["--max-line-length", "1M"]);
    assert_eq!(code, 0);
    let pods = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "pods.yaml")
        .unwrap();
    assert_eq!(pods["kinds"]["Pod"], 1, "{pods}");
    assert!(pods["notes"][0].as_str().unwrap().contains(
        "line 10 not read: 3145730 bytes, over the 1048576 byte line limit (--max-line-length)"
    ));
    let s = skipped(&v);
    assert!(s[0].1.contains("--max-line-length"), "{s:?}");
}

#[test]
fn bad_limit_values_are_usage_errors() {
    for args in [
        ["--max-total-bytes", "0"],
        ["--max-entry-bytes", "lots"],
        ["--max-entries", "0"],
        ["--max-depth", "-1"],
        ["--max-line-length", "5Q"],
    ] {
        let mut a = vec!["analyze", "samples/healthy"];
        a.extend(args);
        let o = run(&a, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
}
