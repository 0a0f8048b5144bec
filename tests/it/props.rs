//! Properties: generated Vault and kubectl tables round-trip through their parsers, and no
//! input, however broken, makes any parser panic.

use credtrace::ingest::text::Source;
use credtrace::ingest::{ingest_file, vault};
use credtrace::model::Fact;
use proptest::prelude::*;
use std::sync::Arc;

fn vault_rows() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::btree_map(
        "[a-z][a-z_]{0,15}".prop_filter("HCL-holding keys read differently", |k| {
            k != "rules" && k != "policy"
        }),
        "[A-Za-z0-9/:._\\[\\]-]{1,18}( [A-Za-z0-9_]{1,6}){0,2}"
            .prop_filter("not a PEM block", |v| !v.starts_with("-----")),
        1..12,
    )
    .prop_map(|m| m.into_iter().collect())
}

/// Renders rows as `vault read` does: `Key`/`Value`, dashes, columns padded by spaces
/// (`tabs`: legacy TAB-separated pastes).
fn render_vault(rows: &[(String, String)], tabs: bool) -> String {
    if tabs {
        let mut s = "Key\tValue\n---\t-----\n".to_string();
        for (k, v) in rows {
            s.push_str(&format!("{k}\t{v}\n"));
        }
        return s;
    }
    let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(3) + 4;
    let mut s = format!("{:<w$}Value\n{:<w$}-----\n", "Key", "---");
    for (k, v) in rows {
        s.push_str(&format!("{k:<w$}{v}\n"));
    }
    s
}

const ES_LAYOUTS: &[&[&str]] = &[
    &["NAME", "STORE", "REFRESH INTERVAL", "STATUS"],
    &["NAME", "STORE", "REFRESH INTERVAL", "STATUS", "READY"],
    &[
        "NAME",
        "STORETYPE",
        "STORE",
        "REFRESH INTERVAL",
        "STATUS",
        "READY",
    ],
    &[
        "NAME",
        "STORETYPE",
        "STORE",
        "REFRESH INTERVAL",
        "STATUS",
        "READY",
        "LAST SYNC",
    ],
];

#[derive(Clone, Debug)]
struct EsRow {
    name: String,
    store: String,
    interval: &'static str,
    status: &'static str,
    ready: &'static str,
}

fn es_rows() -> impl Strategy<Value = Vec<EsRow>> {
    proptest::collection::vec(
        (
            "[a-z][a-z0-9-]{0,24}",
            "[a-z][a-z0-9-]{0,12}",
            prop::sample::select(vec!["1h", "15s", "30m", "1h0m0s"]),
            prop::sample::select(vec!["SecretSynced", "SecretSyncedError"]),
            prop::sample::select(vec!["True", "False"]),
        )
            .prop_map(|(name, store, interval, status, ready)| EsRow {
                name,
                store,
                interval,
                status,
                ready,
            }),
        1..8,
    )
}

/// Renders a table as kubectl's tabwriter does: each column as wide as its widest cell, 3
/// spaces between columns.
fn render_kubectl(header: &[&str], rows: &[Vec<String>]) -> String {
    let n = header.len();
    let widths: Vec<usize> = (0..n)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len())
                .chain([header[c].len()])
                .max()
                .unwrap()
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == n {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}   ", w = widths[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut s = line(header.to_vec());
    for r in rows {
        s.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn vault_tables_round_trip(rows in vault_rows(), tabs in any::<bool>()) {
        let text = render_vault(&rows, tabs);
        let p: Arc<str> = Arc::from("t.txt");
        let src = Source::new(&p, &text);
        let (got, next) = vault::table::read(&src, 0).expect("a table");
        let got: Vec<(String, String)> = got.into_iter().map(|(k, v, _)| (k, v)).collect();
        prop_assert_eq!(got, rows.clone());
        prop_assert_eq!(next, rows.len() + 2);
    }

    #[test]
    fn eso_tables_round_trip(rows in es_rows(), layout in 0..ES_LAYOUTS.len(), ns in "[a-z]{1,8}") {
        let header = ES_LAYOUTS[layout];
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                header
                    .iter()
                    .map(|h| match *h {
                        "NAME" => r.name.clone(),
                        "STORETYPE" => "SecretStore".into(),
                        "STORE" => r.store.clone(),
                        "REFRESH INTERVAL" => r.interval.into(),
                        "STATUS" => r.status.into(),
                        "READY" => r.ready.into(),
                        _ => "5m".into(),
                    })
                    .collect()
            })
            .collect();
        let text = format!(
            "$ kubectl get externalsecrets -n {ns}\n{}",
            render_kubectl(header, &cells)
        );
        let p: Arc<str> = Arc::from("es.txt");
        let (out, _, skipped) = ingest_file(&p, text.as_bytes(), None);
        prop_assert!(skipped.is_none());
        let es: Vec<_> = out
            .facts
            .iter()
            .filter_map(|f| if let Fact::ExternalSecret(e) = f { Some(e) } else { None })
            .collect();
        prop_assert_eq!(es.len(), rows.len());
        for (e, r) in es.iter().zip(&rows) {
            prop_assert_eq!(&e.meta.name, &r.name);
            prop_assert_eq!(e.meta.namespace.as_deref(), Some(ns.as_str()));
            prop_assert_eq!(&e.store.name, &r.store);
            let (status, ready, _) = e.table_status.as_deref().unwrap();
            prop_assert_eq!(status.as_str(), r.status);
            if header.contains(&"READY") {
                prop_assert_eq!(ready.as_deref(), Some(r.ready));
            }
            let secs = credtrace::model::time::parse_duration(r.interval).unwrap().num_seconds();
            prop_assert_eq!(e.refresh_interval.map(|d| d.num_seconds()), Some(secs));
        }
    }

    #[test]
    fn pod_tables_round_trip(
        pods in proptest::collection::vec(("[a-z][a-z0-9-]{0,30}", prop::sample::select(vec!["Running", "ImagePullBackOff", "Init:CreateContainerConfigError", "Pending"]), 0u32..20), 1..8),
        wide in any::<bool>(),
    ) {
        let mut header = vec!["NAME", "READY", "STATUS", "RESTARTS", "AGE"];
        if wide {
            header.extend(["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]);
        }
        let cells: Vec<Vec<String>> = pods
            .iter()
            .map(|(n, s, r)| {
                let mut c = vec![n.clone(), "0/1".into(), s.to_string(), r.to_string(), "4m1s".into()];
                if wide {
                    c.extend(["10.0.0.1".into(), "node-a".into(), "<none>".into(), "<none>".into()]);
                }
                c
            })
            .collect();
        let text = format!("$ kubectl get pods -n prod{}\n{}", if wide { " -o wide" } else { "" }, render_kubectl(&header, &cells));
        let p: Arc<str> = Arc::from("pods.txt");
        let (out, _, _) = ingest_file(&p, text.as_bytes(), None);
        let got: Vec<_> = out
            .facts
            .iter()
            .filter_map(|f| if let Fact::Pod(p) = f { Some(p) } else { None })
            .collect();
        prop_assert_eq!(got.len(), pods.len());
        for (g, (n, s, _)) in got.iter().zip(&pods) {
            prop_assert_eq!(&g.meta.name, n);
            prop_assert_eq!(g.table_status.as_ref().map(|t| t.0.as_str()), Some(*s));
            if wide {
                prop_assert_eq!(g.node.as_deref(), Some("node-a"));
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        data in proptest::collection::vec(any::<u8>(), 0..1536),
        name in prop::sample::select(vec![
            "x.txt", "a.yaml", "b.json", "audit.log", "version.yaml",
            "cluster-resources/pods/prod.json", "cluster-resources/auth-cani-list/prod.json",
            "cluster-resources/pods-errors.json", "secrets/prod/s.json",
            "cluster-resources/image-pull-secrets/prod/r.json", "policy.hcl",
        ]),
    ) {
        let p: Arc<str> = Arc::from(name);
        let _ = ingest_file(&p, &data, None);
    }

    #[test]
    fn shuffled_fragments_of_real_formats_never_panic(
        parts in proptest::collection::vec(prop::sample::select(FRAGMENTS.to_vec()), 0..40),
        cut in 0usize..400,
    ) {
        let text = parts.concat();
        let cut = text.char_indices().map(|(i, _)| i).find(|&i| i >= cut).unwrap_or(text.len());
        for t in [&text[..], &text[..cut], &text[cut..]] {
            let p: Arc<str> = Arc::from("paste.txt");
            let _ = ingest_file(&p, t.as_bytes(), None);
            let p: Arc<str> = Arc::from("cluster-resources/pods/prod.json");
            let _ = ingest_file(&p, t.as_bytes(), None);
        }
    }
}

/// Pieces of every format credtrace reads, to be recombined at random.
const FRAGMENTS: &[&str] = &[
    "$ kubectl get pods -n prod\n",
    "+ vault read sys/mounts/x/tune\n",
    "root@h:/# vault read secret/foo\n",
    "kubectl describe pod p -n prod | grep -A10 Events\n",
    "NAME READY STATUS RESTARTS AGE\n",
    "p-1   0/1   ImagePullBackOff   0   4m\n",
    "NAME  STORE  REFRESH INTERVAL  STATUS  READY\n",
    "Key                 Value\n",
    "---                 -----\n",
    "default_lease_ttl   768h\n",
    "kubernetes_ca_cert  -----BEGIN CERTIFICATE-----\n",
    "-----END CERTIFICATE-----\n",
    "rules   path \"a/*\" {\n",
    "  capabilities = [\"read\"]\n}\n",
    "Events:\n",
    "  Type     Reason   Age                From     Message\n",
    "  Warning  Failed   3m (x3 over 4m)    kubelet  Failed to pull image\n",
    "Error making API request.\n\nURL: GET https://v/v1/kv/data/a\nCode: 403. Errors:\n\n* permission denied\n",
    "Code: 403. Raw Message:\n\n<html>\n",
    "{\"time\":\"2026-01-01T00:00:00Z\",\"type\":\"request\",\"request\":{\"path\":\"sys/policies/acl/x\",\"operation\":\"delete\"}}\n",
    "\"path\":\"a/b\",\"error\":\"permission denied\"}\n",
    "{\"level\":\"error\",\"ts\":1.5,\"msg\":\"m\",\"ExternalSecret\":{\"name\":\"a\",\"namespace\":\"b\"},\"error\":\"e\"}\n",
    "2024-05-07T18:33:41Z\tDEBUG\tevents\tFailed: x\n",
    "\t{\"type\": \"Warning\", \"object\": {\"kind\":\"VaultStaticSecret\",\"name\":\"n\"}, \"reason\": \"R\"}\n",
    "======= Metadata =======\n",
    "====== Data ======\n",
    "apiVersion: v1\nkind: List\nitems:\n",
    "- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: p\n",
    "spec:\n  provider:\n    vault:\n      server: x\n",
    "status:\n  conditions:\n  - reason: SecretSyncedError\n",
    "{\"kind\":\"PodList\",\"items\":null}",
    "[{\"verbs\":[\"list\"],\"resources\":[\"*\"],\"apiGroups\":[\"*\"]}]",
    "{\"secretExists\":true,\"name\":\"s\",\"namespace\":\"n\"}",
    "Path      Type     Accessor   Description\n",
    "secret/   kv       kv_1       n/a\n",
    "Keys\n----\n",
    "secret/x created=2026-01-01T00:00:00Z\n",
    "No policy named: x\n",
    "[\n", "{\n", "}\n", "]\n", "\n", "\t", "  ", "---\n", "é", "\u{feff}", "\x1b[31m",
];
