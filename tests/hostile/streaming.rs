//! Streaming a bundle from disk into ingest gives the same analysis as reading it into
//! memory first, whatever the order of its members: a manifest that comes last, a top
//! folder the first member suggests and a later one disproves, truncated, duplicate,
//! linked, binary and unsafe members, and limits that stop the reading.

use crate::util::*;
use credtrace::bundle::{self, Limits};
use credtrace::ingest;
use credtrace::{analyze, analyze_source, Options};
use std::path::Path;

const PODS: &[u8] = b"NAME    READY   STATUS                       RESTARTS   AGE\n\
web-1   0/1     CreateContainerConfigError   0          5m\n";

const EVENTS: &[u8] = b"LAST SEEN   TYPE      REASON   OBJECT      MESSAGE\n\
2m          Warning   Failed   pod/web-1   Error: secret \"db\" not found\n";

fn manifest() -> Vec<u8> {
    b"captured_at: \"2026-03-19T10:30:00Z\"\ncluster: c\ncommands:\n  - command: \"kubectl get pods -n shop\"\n    output: get-pods.txt\n    exit_code: 0\n  - command: \"kubectl get events -n shop\"\n    output: sub/events.txt\n    exit_code: 0\n"
        .to_vec()
}

/// A manifest naming listings, an agent log and a Vault read, for files before it.
fn listings_manifest() -> Vec<u8> {
    let cmds = [
        ("kubectl get pods -n shop -o json", "pods.json"),
        ("kubectl get secrets -n shop -o json", "secrets.json"),
        ("kubectl get serviceaccounts -A -o yaml", "sas.yaml"),
        ("kubectl logs web-1 -n shop -c vault-agent", "agent.json"),
        ("vault policy read app", "policy.txt"),
        ("kubectl get pods -n shop", "own.json"),
    ];
    let mut m = String::from("captured_at: \"2026-03-19T10:30:00Z\"\ncommands:\n");
    for (c, o) in cmds {
        m.push_str(&format!(
            "  - command: \"{c}\"\n    output: {o}\n    exit_code: 0\n"
        ));
    }
    m.into_bytes()
}

const EMPTY_LIST: &[u8] = b"{\"apiVersion\": \"v1\", \"items\": [], \"kind\": \"List\"}\n";
const SECRETS: &[u8] = b"{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"db\", \"namespace\": \"shop\"}, \"data\": {\"password\": \"aHVudGVyMg==\"}}]}\n";
const SAS: &[u8] = b"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ServiceAccount\n  metadata:\n    name: web\n    namespace: shop\n";
const AGENT: &[u8] = b"{\"@level\":\"error\",\"@message\":\"error authenticating\",\"@timestamp\":\"2026-03-19T10:00:00Z\"}\n";
const POLICY: &[u8] = b"path \"secret/data/app/*\" {\n  capabilities = [\"read\"]\n}\n";
const OWN: &[u8] = b"$ kubectl get pods -n other -o json\n{\"apiVersion\": \"v1\", \"items\": [], \"kind\": \"List\"}\n";

/// The JSON report of `path` streamed, and read into memory first.
fn both(path: &Path, limits: Limits) -> (String, String) {
    let opts = Options {
        limits,
        ..Options::default()
    };
    let src = path.to_str().unwrap();
    let streamed = analyze_source(src, &opts).expect("streamed");
    let b = bundle::open(src, limits).expect("in memory");
    let in_memory = analyze(&b, &opts);
    (
        credtrace::report::json::render(&streamed),
        credtrace::report::json::render(&in_memory),
    )
}

fn same(path: &Path, limits: Limits) {
    let (s, m) = both(path, limits);
    assert_eq!(s, m, "{}", path.display());
    // what ingest gives (file reports with their coverage, facts) is the same too
    let src = path.to_str().unwrap();
    let opened = bundle::stream::open(src, limits, &ingest::wanted_upfront)
        .expect("opened")
        .expect("streamable");
    let streamed = ingest::ingest_stream(opened).expect("streamed");
    let in_memory = ingest::ingest(&bundle::open(src, limits).expect("in memory"));
    assert_eq!(
        format!("{streamed:?}"),
        format!("{in_memory:?}"),
        "{}",
        path.display()
    );
}

#[test]
fn archives_stream_to_the_same_analysis() {
    let man = manifest();
    let zeros = [0u8; 64];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // the manifest last, every entry under one top folder
        (
            "late-manifest.tar",
            tar(&[
                file("b/get-pods.txt", PODS),
                file("b/sub/events.txt", EVENTS),
                file("b/pod.yaml", POD),
                file("b/credtrace.yaml", &man),
            ]),
        ),
        // files read before the manifest that names them: listings gain their coverage, an
        // agent log and a Vault read are read again with the command
        (
            "late-listings.tar",
            tar(&[
                file("l/pods.json", EMPTY_LIST),
                file("l/secrets.json", SECRETS),
                file("l/sas.yaml", SAS),
                file("l/agent.json", AGENT),
                file("l/policy.txt", POLICY),
                file("l/own.json", OWN),
                file("l/credtrace.yaml", &listings_manifest()),
            ]),
        ),
        // the first member suggests a top folder that a later one disproves
        (
            "two-tops.tar",
            tar(&[
                file("a/get-pods.txt", PODS),
                file("a/credtrace.yaml", &man),
                file("b/sub/events.txt", EVENTS),
            ]),
        ),
        // a member at the root: no top folder
        (
            "root.tar",
            tar(&[
                file("get-pods.txt", PODS),
                file("credtrace.yaml", &man),
                file("x/pod.yaml", POD),
            ]),
        ),
        // tricks: a duplicate, links, a device, a binary file, unsafe paths
        (
            "tricks.tar",
            tar(&[
                file("t/get-pods.txt", PODS),
                file("t/get-pods.txt", EVENTS),
                Member {
                    name: "t/link",
                    kind: b'2',
                    link: "/etc/passwd",
                    body: b"",
                },
                Member {
                    name: "t/dev",
                    kind: b'3',
                    link: "",
                    body: b"",
                },
                file("t/bin.dat", &zeros),
                file("../escape.yaml", POD),
                file("t/credtrace.yaml", &man),
            ]),
        ),
    ];
    let dir = tempdir("stream");
    for (name, t) in &cases {
        let p = dir.join(name);
        std::fs::write(&p, t).unwrap();
        same(&p, Limits::default());
        let gz = dir.join(format!("{name}.gz"));
        std::fs::write(&gz, gzip(t)).unwrap();
        same(&gz, Limits::default());
        // truncated in the middle of a member
        let cut = dir.join(format!("cut-{name}"));
        std::fs::write(&cut, &t[..t.len().min(512 * 3 + 40)]).unwrap();
        same(&cut, Limits::default());
        // limits that stop the reading
        for limits in [
            Limits {
                max_entries: 2,
                ..Limits::default()
            },
            Limits {
                max_total_bytes: 200,
                ..Limits::default()
            },
            Limits {
                max_entry_bytes: 100,
                ..Limits::default()
            },
        ] {
            same(&p, limits);
            same(&gz, limits);
        }
    }
}

#[test]
fn directories_and_single_files_stream_to_the_same_analysis() {
    let dir = tempdir("stream-dir");
    let root = dir.join("bundle");
    std::fs::create_dir_all(root.join("top/sub")).unwrap();
    std::fs::write(root.join("top/get-pods.txt"), PODS).unwrap();
    std::fs::write(root.join("top/sub/events.txt"), EVENTS).unwrap();
    std::fs::write(root.join("top/credtrace.yaml"), manifest()).unwrap();
    std::fs::write(root.join("top/bin.dat"), [0u8; 64]).unwrap();
    // one top folder: stripped
    same(&root, Limits::default());
    // a second entry at the root: not stripped
    std::fs::write(root.join("pod.yaml"), POD).unwrap();
    same(&root, Limits::default());
    same(
        &root,
        Limits {
            max_entries: 3,
            ..Limits::default()
        },
    );
    same(
        &root,
        Limits {
            max_total_bytes: 150,
            ..Limits::default()
        },
    );
    // a single file, plain and gzip'd
    same(&root.join("pod.yaml"), Limits::default());
    let gz = dir.join("pod.yaml.gz");
    std::fs::write(&gz, gzip(POD)).unwrap();
    same(&gz, Limits::default());
}
