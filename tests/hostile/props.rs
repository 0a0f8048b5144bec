//! Properties over generated input: the fuzz targets' bodies never panic (on random bytes
//! and on pastes spliced from real sample lines), output is deterministic, and renaming
//! every object of a bundle renames the findings and changes nothing else.

use super::util::*;
use credtrace::bundle::{self, Bundle, Entry, Limits};
use credtrace::fuzzing;
use credtrace::report::{self, Format};
use proptest::prelude::*;
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// Every line of every sample file: the raw material of realistic pastes.
fn corpus() -> &'static Vec<String> {
    static LINES: OnceLock<Vec<String>> = OnceLock::new();
    LINES.get_or_init(|| {
        fn walk(p: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(p).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else if let Ok(t) = std::fs::read_to_string(&p) {
                    out.extend(t.lines().map(|l| l.chars().take(400).collect::<String>()));
                }
            }
        }
        let mut out = Vec::new();
        walk(&root().join("samples"), &mut out);
        walk(&root().join("tests/fixtures"), &mut out);
        out.sort();
        out.dedup();
        out
    })
}

/// A paste: sample lines in a random order, some cut or with bytes flipped.
fn paste() -> impl Strategy<Value = Vec<u8>> {
    let n = corpus().len();
    prop::collection::vec(
        (
            0..n,
            any::<u8>(),
            any::<u16>(),
            prop::option::of(any::<u8>()),
        ),
        0..40,
    )
    .prop_map(|picks| {
        let lines = corpus();
        let mut out = Vec::new();
        for (i, mode, at, byte) in picks {
            let l = lines[i].as_bytes();
            match mode % 8 {
                0 => out.extend_from_slice(&l[..usize::from(at) % (l.len() + 1)]),
                1 => {
                    let mut l = l.to_vec();
                    if !l.is_empty() {
                        let k = usize::from(at) % l.len();
                        l[k] = byte.unwrap_or(b'{');
                    }
                    out.extend(l);
                }
                _ => out.extend_from_slice(l),
            }
            out.push(b'\n');
        }
        out
    })
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..2048),
        paste(),
        // two selector bytes, then a paste (ingest_file and kubectl_text read them)
        (any::<u8>(), any::<u8>(), paste()).prop_map(|(a, b, p)| [vec![a, b], p].concat()),
    ]
}

/// Cases per property: a few by default, many more with CREDTRACE_PROPTEST_CASES set
/// (the long local runs the fuzzing notes describe).
fn cases(default: u32) -> u32 {
    std::env::var("CREDTRACE_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(48)))]

    #[test]
    fn fuzz_targets_never_panic(data in input()) {
        for (_, target) in fuzzing::TARGETS {
            target(&data);
        }
    }

    #[test]
    fn archives_of_pastes_never_panic(files in prop::collection::vec(paste(), 1..5), cut in any::<u16>(), gz in any::<bool>()) {
        let names: Vec<String> = (0..files.len()).map(|i| format!("b/f{i}.txt")).collect();
        let members: Vec<Member> = names.iter().zip(&files).map(|(n, f)| file(n, f)).collect();
        let mut t = tar(&members);
        if gz {
            t = gzip(&t);
        }
        // sometimes truncated
        let keep = if cut % 3 == 0 { usize::from(cut) % (t.len() + 1) } else { t.len() };
        fuzzing::bundle_reader(&t[..keep]);
    }
}

fn bundle_of(files: &[Vec<u8>]) -> Bundle {
    Bundle {
        source: "generated".into(),
        entries: files
            .iter()
            .enumerate()
            .map(|(i, f)| Entry {
                path: Arc::from(format!("f{i}.txt").as_str()),
                data: f.clone(),
            })
            .collect(),
        ..Default::default()
    }
}

fn render_all(b: &Bundle) -> Vec<String> {
    let a = credtrace::analyze(b, &credtrace::Options::default());
    vec![
        report::render(&a, Format::Table, false),
        report::render(&a, Format::Table, true),
        report::render(&a, Format::Json, false),
        report::ingest::render(&a, false),
        report::ingest::render(&a, true),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(24)))]

    #[test]
    fn same_input_same_bytes_in_every_format(files in prop::collection::vec(paste(), 1..6)) {
        let b = bundle_of(&files);
        prop_assert_eq!(render_all(&b), render_all(&b));
    }
}

/// The object names of the reference incident, longest first so none is a part of another
/// renamed before it.
const NAMES: &[&str] = &[
    "order-service-registry",
    "inventory-service",
    "payment-service",
    "order-service",
    "user-service",
    "registry-creds",
    "regcred",
    "eso-prod",
    "jane.doe",
    "prod",
];

fn rename_all(s: &str, to: &[String]) -> String {
    // two steps through placeholders, so a new name never gets renamed again
    let mut s = s.to_string();
    for (i, from) in NAMES.iter().enumerate() {
        s = s.replace(from, &format!("\u{1}{i}\u{1}"));
    }
    for (i, new) in to.iter().enumerate() {
        s = s.replace(&format!("\u{1}{i}\u{1}"), new);
    }
    s
}

fn sorted(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .map(|a| a.iter().map(Value::to_string).collect())
        .unwrap_or_default();
    out.sort();
    out
}

fn analyze_dir(p: &Path) -> Value {
    let b = bundle::open(p.to_str().unwrap(), Limits::default()).unwrap();
    let a = credtrace::analyze(&b, &credtrace::Options::default());
    let mut v: Value = serde_json::from_str(&report::render(&a, Format::Json, false)).unwrap();
    v["bundle"]["source"] = Value::Null;
    v
}

fn copy_renamed(src: &Path, dst: &Path, to: &[String]) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let p = e.unwrap().path();
        let name = rename_all(&p.file_name().unwrap().to_string_lossy(), to);
        if p.is_dir() {
            copy_renamed(&p, &dst.join(name), to);
        } else {
            let text = std::fs::read_to_string(&p).unwrap();
            std::fs::write(dst.join(name), rename_all(&text, to)).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(6)))]

    #[test]
    fn renaming_every_object_renames_the_findings_only(
        stems in prop::collection::btree_set("[a-z]{2,9}", NAMES.len())
    ) {
        // distinct, and marked so a new name is never a part of an unrelated word
        let to: Vec<String> = stems.into_iter().enumerate().map(|(i, s)| {
            // a policy name keeps its role in the text: it stays a name Vault accepts
            format!("zq{i}{s}")
        }).collect();
        let dir = sample("order-service-imagepull");
        let original = analyze_dir(&dir);
        let tmp = tempdir("rename");
        let copy = tmp.join(rename_all("order-service-imagepull", &to));
        copy_renamed(&dir, &copy, &to);
        let renamed = analyze_dir(&copy);
        let expected: Value = serde_json::from_str(&rename_all(&original.to_string(), &to)).unwrap();
        for key in ["findings", "diagnoses", "timeline", "rules_skipped"] {
            prop_assert_eq!(sorted(&renamed[key]), sorted(&expected[key]), "{}", key);
        }
        prop_assert_eq!(&renamed["bundle"], &expected["bundle"]);
        prop_assert!(!renamed["diagnoses"].as_array().unwrap().is_empty());
    }
}
