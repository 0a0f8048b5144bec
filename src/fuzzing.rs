//! The bodies of the fuzz targets (`fuzz/`), kept in the library so the same code runs
//! under libFuzzer and, on a stable toolchain, as property tests over random input
//! (`tests/hostile/`). Each takes arbitrary bytes and must neither panic nor hang; each
//! runs the whole pipeline and every renderer on what it read, so a bad fact that reaches a
//! rule or a report is caught too.

use crate::bundle::{self, Bundle, Entry, Limits};
use crate::ingest::kube::{describe, events, table};
use crate::ingest::text::{Command, Source};
use crate::ingest::{self, vault, Out};
use crate::report::{self, Format};
use std::sync::Arc;

/// Small limits: a fuzzer's input is small, and a limit hit is a path worth exercising.
pub fn limits() -> Limits {
    Limits {
        max_total_bytes: 1 << 20,
        max_entry_bytes: 256 << 10,
        max_entries: 512,
        max_depth: 64,
        max_line_length: 64 << 10,
    }
}

/// Commands a paste may be introduced by; the first input byte picks one.
const HINTS: &[Option<&str>] = &[
    None,
    Some("kubectl get pods -n prod -o wide"),
    Some("kubectl get externalsecrets -A"),
    Some("kubectl get events -n prod"),
    Some("kubectl describe pod web-1 -n prod"),
    Some("kubectl describe externalsecret es -n prod"),
    Some("kubectl get secret s -n prod -o yaml"),
    Some("kubectl get pod p -n prod -o jsonpath={.spec.imagePullSecrets[*].name}"),
    Some("vault read sys/mounts/registry-creds/tune"),
    Some("vault read auth/kubernetes/role/eso"),
    Some("vault token lookup"),
    Some("vault lease lookup registry-creds/creds/x/abc"),
    Some("vault policy read p"),
    Some("vault policy list"),
    Some("vault list auth/kubernetes/role"),
    Some("vault secrets list -detailed"),
    Some("vault kv get secret/app"),
];

/// File names whose suffix or folder is a hint; the second input byte picks one.
const NAMES: &[&str] = &[
    "paste.txt",
    "kubernetes/pods.yaml",
    "kubernetes/pods.json",
    "vault/audit.log",
    "vault/policy.hcl",
    "cluster-resources/pods/prod.json",
    "credtrace.yaml",
];

/// Runs the pipeline on a bundle and renders every format; the renderers must not panic.
fn analyze_and_render(b: &Bundle) {
    let a = crate::analyze(b, &crate::Options::default());
    let _ = report::render(&a, Format::Table, true);
    let _ = report::render(&a, Format::Json, false);
    let _ = report::ingest::render(&a, true);
    let _ = report::ingest::render(&a, false);
}

/// The bundle reader on arbitrary bytes (tar, gzip, anything), then the pipeline.
pub fn bundle_reader(data: &[u8]) {
    if let Ok(b) = bundle::from_bytes("fuzz", "fuzz.tgz", data.to_vec(), limits()) {
        analyze_and_render(&b);
    }
}

fn pick<T: Copy>(items: &[T], b: Option<&u8>) -> T {
    items[usize::from(b.copied().unwrap_or(0)) % items.len()]
}

/// `ingest_file`, the one entry for every text format: the first byte picks a command hint,
/// the second a file name, the rest is the file. Then the file alone as a bundle.
pub fn ingest_file(data: &[u8]) {
    let hint = pick(HINTS, data.first()).map(Command::parse);
    let name = pick(NAMES, data.get(1));
    let body = data.get(2..).unwrap_or(&[]);
    let path: Arc<str> = Arc::from(name);
    let _ = ingest::ingest_file_with(&path, body, hint, &limits());
    let b = Bundle {
        source: "fuzz".into(),
        entries: vec![Entry {
            path,
            data: body.to_vec(),
        }],
        limits: limits(),
        ..Default::default()
    };
    analyze_and_render(&b);
}

fn text_of(data: &[u8]) -> String {
    ingest::text::decode(data).0
}

/// Vault error blocks (`Error making API request`, `Code: 403`, `No policy named`) at every
/// line of the input.
pub fn vault_error(data: &[u8]) {
    let text = text_of(data);
    let path: Arc<str> = Arc::from("vault/error.txt");
    let src = Source::new(&path, &text);
    let mut out = Out::default();
    for i in 0..src.lines().len() {
        if let Some(next) = vault::error_block(&src, i, &mut out) {
            assert!(next > i, "error_block must advance");
        }
    }
}

/// The HCL/JSON policy parser, directly and as `vault policy read` output.
pub fn policy_hcl(data: &[u8]) {
    let text = text_of(data);
    let _ = vault::policy_hcl::parse_policy(&text);
    let path: Arc<str> = Arc::from("vault/policy.hcl");
    let src = Source::new(&path, &text);
    let mut out = Out::default();
    vault::policy(&src, "fuzz", 0, src.lines().len(), &mut out);
}

/// `kubectl describe` blocks, `kubectl get` tables, Events rows and `secret/NAME created=`
/// loop lines, at every line, with and without a command.
pub fn kubectl_text(data: &[u8]) {
    let cmd = pick(HINTS, data.first()).map(Command::parse);
    let text = text_of(data.get(1..).unwrap_or(&[]));
    let path: Arc<str> = Arc::from("kubernetes/paste.txt");
    let src = Source::new(&path, &text);
    let mut out = Out::default();
    for i in 0..src.lines().len() {
        for c in [cmd.as_ref(), None] {
            if let Some(next) = describe::block(&src, i, c, &mut out) {
                assert!(next > i, "describe::block must advance");
            }
            if let Some(next) = table::block(&src, i, c, &mut out) {
                assert!(next > i, "table::block must advance");
            }
            let _ = table::loop_line(&src, i, c, &mut out);
        }
        let _ = events::describe_row(src.lines()[i]);
        let _ = events::get_event_row(src.lines()[i]);
    }
}

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// Every target, by name, for the property tests.
pub const TARGETS: &[(&str, Target)] = &[
    ("bundle_reader", bundle_reader),
    ("ingest_file", ingest_file),
    ("vault_error", vault_error),
    ("policy_hcl", policy_hcl),
    ("kubectl_text", kubectl_text),
];
