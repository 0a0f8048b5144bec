//! The graph an analysis builds for its diagnosis alone (`GraphScope::Diagnosis`, what
//! `credtrace analyze` builds) leaves out the edges of the pods no finding is about. These
//! tests hold it to its promise on every bundle the tests have: the same report as with the
//! whole graph, the same edges out of every pod a finding is about, and none out of the rest.

use super::util::{json, root};
use credtrace::bundle::{self, Limits};
use credtrace::model::{Kind, ObjRef};
use credtrace::{analyze, Analysis, GraphScope, Options};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every bundle of the tests: the samples, each rule fixture's and the real bundles.
fn bundles() -> Vec<PathBuf> {
    let r = root();
    let mut out: Vec<PathBuf> = ["healthy", "order-service-imagepull"]
        .iter()
        .map(|s| r.join("samples").join(s))
        .collect();
    let dirs = |p: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        v.sort();
        v
    };
    for rule in dirs(&r.join("tests").join("fixtures")) {
        out.extend(dirs(&rule).into_iter().map(|c| c.join("bundle")));
    }
    for b in ["troubleshoot-baseline.tar.gz", "troubleshoot-k3s.tar.gz"] {
        out.push(r.join("tests").join("real-bundles").join(b));
    }
    out
}

fn analysis(p: &Path, graph: GraphScope) -> Analysis {
    let b = bundle::open(p.to_str().unwrap(), Limits::default()).expect("bundle opens");
    analyze(
        &b,
        &Options {
            graph,
            ..Options::default()
        },
    )
}

/// The edges out of `o`, as text (edges hold evidence, which has no equality of its own).
fn out_edges(a: &Analysis, o: &ObjRef) -> Vec<String> {
    (a.graph.out_edges(o).iter())
        .map(|e| format!("{:?} {:?}", e.to, e.edge))
        .collect()
}

#[test]
fn a_diagnosis_graph_walks_as_the_whole_graph_does() {
    let (mut kept, mut left_out) = (0, 0);
    for p in bundles() {
        let whole = analysis(&p, GraphScope::Whole);
        let scoped = analysis(&p, GraphScope::Diagnosis);
        assert_eq!(
            json(&whole),
            json(&scoped),
            "{}: the report differs",
            p.display()
        );
        // what makes it safe: no edge leads to a pod, so a walk sees no pod but the one it
        // starts from, and walks start from the findings' subjects
        for e in whole.graph.edges() {
            assert!(
                e.to.kind != Kind::Pod,
                "{}: an edge leads to {}: the diagnosis graph leaves out edges a walk takes",
                p.display(),
                e.to.display()
            );
        }
        let subjects: BTreeSet<&ObjRef> = whole.findings.iter().map(|f| &f.subject).collect();
        for n in whole.graph.nodes() {
            let (all, some) = (out_edges(&whole, &n.obj), out_edges(&scoped, &n.obj));
            if n.obj.kind != Kind::Pod || subjects.contains(&n.obj) {
                kept += usize::from(n.obj.kind == Kind::Pod);
                assert_eq!(all, some, "{}: {}", p.display(), n.obj.display());
            } else if some.len() < all.len() {
                // a pod no finding is about: its own edges are left out (an injected pod
                // keeps those its sync object adds)
                left_out += 1;
                assert!(some.iter().all(|e| all.contains(e)), "{}", p.display());
            }
        }
    }
    // the bundles hold both kinds of pod: the test looks at each
    assert!(kept > 0 && left_out > 0, "kept {kept}, left out {left_out}");
}
