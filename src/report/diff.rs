//! `credtrace diff OLD NEW`: what changed between two captures of the same cluster.
//!
//! Objects and edges that appeared or vanished, edges whose state changed, findings that are
//! new and findings that were fixed. A Vault policy that vanished is the headline: it is the
//! change that silently breaks every ExternalSecret whose role still lists it.

use crate::graph::EdgeStatus;
use crate::model::time::fmt_time;
use crate::model::{Kind, ObjRef, Presence};
use crate::report::json::subject;
use crate::rules::Finding;
use crate::Analysis;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// One edge, by its ends and kind.
type EdgeKey = (ObjRef, &'static str, ObjRef);

pub struct Diff<'a> {
    /// Caveats about the comparison itself (different clusters, captures out of order).
    pub notes: Vec<String>,
    pub headline: Vec<String>,
    pub objects_appeared: Vec<ObjRef>,
    pub objects_vanished: Vec<ObjRef>,
    pub edges_appeared: Vec<(EdgeKey, String)>,
    pub edges_vanished: Vec<(EdgeKey, String)>,
    /// (edge, old state, new state)
    pub edges_changed: Vec<(EdgeKey, String, String)>,
    pub findings_new: Vec<&'a Finding>,
    pub findings_fixed: Vec<&'a Finding>,
    pub findings_still: usize,
    pub old: &'a Analysis,
    pub new: &'a Analysis,
}

/// The objects a capture shows to exist: present graph nodes and every listed policy.
fn objects(a: &Analysis) -> BTreeSet<ObjRef> {
    let mut s: BTreeSet<ObjRef> = a
        .graph
        .nodes()
        .filter(|n| n.presence == Presence::Present)
        .map(|n| n.obj.clone())
        .collect();
    for p in a.snapshot.vault.policies.keys() {
        s.insert(ObjRef::new(Kind::VaultPolicy, None, p));
    }
    if let Some((names, _)) = &a.snapshot.vault.policy_list {
        for p in names {
            if p != "root" {
                s.insert(ObjRef::new(Kind::VaultPolicy, None, p));
            }
        }
    }
    s
}

fn state(s: &EdgeStatus) -> String {
    match s {
        EdgeStatus::Ok => "ok".into(),
        EdgeStatus::Broken(r) => format!("broken: {r}"),
        EdgeStatus::Stale(r) => format!("stale: {r}"),
        EdgeStatus::Unknown => "unknown".into(),
    }
}

fn edges(a: &Analysis) -> BTreeMap<EdgeKey, String> {
    a.graph
        .edges()
        .map(|e| {
            (
                (e.from.clone(), e.edge.kind.as_str(), e.to.clone()),
                state(&e.edge.status),
            )
        })
        .collect()
}

fn key(f: &Finding) -> (&'static str, &ObjRef) {
    (f.rule, &f.subject)
}

pub fn diff<'a>(old: &'a Analysis, new: &'a Analysis) -> Diff<'a> {
    let (o_obj, n_obj) = (objects(old), objects(new));
    let objects_appeared: Vec<ObjRef> = n_obj.difference(&o_obj).cloned().collect();
    let objects_vanished: Vec<ObjRef> = o_obj.difference(&n_obj).cloned().collect();
    let (o_e, n_e) = (edges(old), edges(new));
    let mut edges_appeared = Vec::new();
    let mut edges_changed = Vec::new();
    for (k, s) in &n_e {
        match o_e.get(k) {
            None => edges_appeared.push((k.clone(), s.clone())),
            Some(os) if os != s => edges_changed.push((k.clone(), os.clone(), s.clone())),
            _ => {}
        }
    }
    let edges_vanished: Vec<(EdgeKey, String)> = o_e
        .iter()
        .filter(|(k, _)| !n_e.contains_key(*k))
        .map(|(k, s)| (k.clone(), s.clone()))
        .collect();
    let o_f: BTreeSet<_> = old.findings.iter().map(key).collect();
    let n_f: BTreeSet<_> = new.findings.iter().map(key).collect();
    let findings_new: Vec<&Finding> = new
        .findings
        .iter()
        .filter(|f| !o_f.contains(&key(f)))
        .collect();
    let findings_fixed: Vec<&Finding> = old
        .findings
        .iter()
        .filter(|f| !n_f.contains(&key(f)))
        .collect();
    let findings_still = new.findings.len() - findings_new.len();

    let mut headline = Vec::new();
    for o in objects_vanished
        .iter()
        .filter(|o| o.kind == Kind::VaultPolicy)
    {
        let dependents: Vec<String> = new
            .graph
            .in_edges(o)
            .iter()
            .map(|e| e.from.display())
            .collect();
        headline.push(format!(
            "Vault policy {} vanished{}",
            o.name,
            if dependents.is_empty() {
                String::new()
            } else {
                format!("; still referenced by {}", dependents.join(", "))
            }
        ));
    }
    for ((from, kind, to), _, s) in edges_changed
        .iter()
        .filter(|(_, o, n)| !o.starts_with("broken") && n.starts_with("broken"))
    {
        headline.push(format!(
            "{} --{kind}--> {} broke: {}",
            from.display(),
            to.display(),
            s.trim_start_matches("broken: ")
        ));
    }
    if headline.is_empty() && !findings_new.is_empty() {
        headline.push(format!("{} new finding(s)", findings_new.len()));
    }
    if headline.is_empty() && !findings_fixed.is_empty() {
        headline.push(format!("{} finding(s) fixed", findings_fixed.len()));
    }
    let mut notes = Vec::new();
    if let (Some(a), Some(b)) = (&old.snapshot.cluster, &new.snapshot.cluster) {
        if a != b {
            notes.push(format!(
                "the captures come from different clusters ({a}, {b}): most changes below are that difference"
            ));
        }
    }
    if new.snapshot.captured_at < old.snapshot.captured_at {
        notes.push("NEW was captured before OLD: appeared and vanished are swapped in time".into());
    }
    Diff {
        notes,
        headline,
        objects_appeared,
        objects_vanished,
        edges_appeared,
        edges_vanished,
        edges_changed,
        findings_new,
        findings_fixed,
        findings_still,
        old,
        new,
    }
}

fn edge_text((from, kind, to): &EdgeKey) -> String {
    format!("{} --{kind}--> {}", from.display(), to.display())
}

pub fn render_text(d: &Diff, color: bool) -> String {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut o = String::new();
    let _ = writeln!(
        o,
        "credtrace diff: {} (captured {}) -> {} (captured {})",
        d.old.source,
        fmt_time(d.old.snapshot.captured_at),
        d.new.source,
        fmt_time(d.new.snapshot.captured_at)
    );
    for n in &d.notes {
        let _ = writeln!(o, "note: {n}");
    }
    if d.headline.is_empty() {
        let _ = writeln!(o, "\nNo change in objects, edges or findings.");
    }
    for h in &d.headline {
        let _ = writeln!(o, "\n{}", paint("31;1", &format!("! {h}")));
    }
    let section = |o: &mut String, title: &str, items: Vec<String>| {
        if !items.is_empty() {
            let _ = writeln!(o, "\n{title} ({})", items.len());
            for i in items {
                let _ = writeln!(o, "  {i}");
            }
        }
    };
    section(
        &mut o,
        "OBJECTS VANISHED",
        d.objects_vanished
            .iter()
            .map(|x| format!("- {}", x.display()))
            .collect(),
    );
    section(
        &mut o,
        "OBJECTS APPEARED",
        d.objects_appeared
            .iter()
            .map(|x| format!("+ {}", x.display()))
            .collect(),
    );
    section(
        &mut o,
        "EDGES CHANGED",
        d.edges_changed
            .iter()
            .map(|(k, a, b)| format!("~ {}: {a} -> {b}", edge_text(k)))
            .collect(),
    );
    section(
        &mut o,
        "EDGES VANISHED",
        d.edges_vanished
            .iter()
            .map(|(k, _)| format!("- {}", edge_text(k)))
            .collect(),
    );
    section(
        &mut o,
        "EDGES APPEARED",
        d.edges_appeared
            .iter()
            .map(|(k, s)| format!("+ {} ({s})", edge_text(k)))
            .collect(),
    );
    section(
        &mut o,
        "FINDINGS NEW",
        d.findings_new
            .iter()
            .map(|f| {
                format!(
                    "+ {} {} {}: {}",
                    f.severity.as_str(),
                    f.rule,
                    f.subject.display(),
                    f.message
                )
            })
            .collect(),
    );
    section(
        &mut o,
        "FINDINGS FIXED",
        d.findings_fixed
            .iter()
            .map(|f| format!("- {} {}: {}", f.rule, f.subject.display(), f.message))
            .collect(),
    );
    let _ = writeln!(
        o,
        "\n{} new, {} fixed, {} unchanged finding(s)",
        d.findings_new.len(),
        d.findings_fixed.len(),
        d.findings_still
    );
    o
}

pub fn to_json(d: &Diff) -> Value {
    let edge = |k: &EdgeKey| json!({"from": subject(&k.0), "kind": k.1, "to": subject(&k.2)});
    let finding = |f: &&Finding| {
        json!({
            "rule": f.rule,
            "severity": f.severity.as_str(),
            "subject": subject(&f.subject),
            "message": f.message,
        })
    };
    json!({
        "schema_version": 1,
        "old": {"source": d.old.source, "captured_at": fmt_time(d.old.snapshot.captured_at)},
        "new": {"source": d.new.source, "captured_at": fmt_time(d.new.snapshot.captured_at)},
        "notes": d.notes,
        "headline": d.headline,
        "objects": {
            "appeared": d.objects_appeared.iter().map(subject).collect::<Vec<_>>(),
            "vanished": d.objects_vanished.iter().map(subject).collect::<Vec<_>>(),
        },
        "edges": {
            "appeared": d.edges_appeared.iter().map(|(k, s)| { let mut v = edge(k); v["state"] = json!(s); v }).collect::<Vec<_>>(),
            "vanished": d.edges_vanished.iter().map(|(k, s)| { let mut v = edge(k); v["state"] = json!(s); v }).collect::<Vec<_>>(),
            "changed": d.edges_changed.iter().map(|(k, a, b)| { let mut v = edge(k); v["old_state"] = json!(a); v["new_state"] = json!(b); v }).collect::<Vec<_>>(),
        },
        "findings": {
            "new": d.findings_new.iter().map(finding).collect::<Vec<_>>(),
            "fixed": d.findings_fixed.iter().map(finding).collect::<Vec<_>>(),
            "unchanged": d.findings_still,
        },
    })
}

pub fn render_json(d: &Diff) -> String {
    let mut s = serde_json::to_string_pretty(&to_json(d)).expect("serialises");
    s.push('\n');
    s
}
