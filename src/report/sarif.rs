//! `--format sarif`: SARIF 2.1.0 for code-scanning dashboards and CI gates.
//!
//! The rules come from the registry (id, name, summary, docs as help text); each finding is
//! a result whose locations are the bundle files and lines it cites, relative to the bundle
//! root (`uriBaseId: BUNDLE_ROOT`), and whose logical location is its subject.

use crate::model::time::fmt_time;
use crate::model::{Loc, ObjRef};
use crate::rules::{registry, Finding, Severity};
use crate::Analysis;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A relative URI reference for a bundle path: unreserved characters and `/` stay, the rest
/// is percent-encoded.
fn uri(path: &str) -> String {
    let mut o = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

fn location(l: &Loc) -> Value {
    let mut phys = json!({
        "artifactLocation": {"uri": uri(&l.path), "uriBaseId": "BUNDLE_ROOT"},
    });
    if l.line > 0 {
        let mut region = json!({"startLine": l.line});
        if !l.excerpt.trim().is_empty() {
            region["snippet"] = json!({"text": &*l.excerpt});
        }
        phys["region"] = region;
    }
    json!({"physicalLocation": phys})
}

fn logical(o: &ObjRef) -> Value {
    let fq = match &o.namespace {
        Some(ns) => format!("{}/{}/{}", o.kind.as_str(), ns, o.name),
        None => format!("{}/{}", o.kind.as_str(), o.name),
    };
    json!({"name": o.name, "fullyQualifiedName": fq, "kind": "resource"})
}

/// A fingerprint stable across captures: the rule and the subject, not the message.
fn fingerprint(f: &Finding) -> String {
    let mut h = Sha256::new();
    h.update(f.rule.as_bytes());
    h.update([0]);
    h.update(f.subject.display().as_bytes());
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn result(f: &Finding, index: Option<usize>, suppression: Option<&str>) -> Value {
    let mut locs: Vec<Value> = f.evidence.iter().map(location).collect();
    if locs.is_empty() {
        locs.push(json!({}));
    }
    locs[0]["logicalLocations"] = json!([logical(&f.subject)]);
    let mut r = json!({
        "ruleId": f.rule,
        "level": level(f.severity),
        "message": {"text": f.message},
        "locations": locs,
        "partialFingerprints": {"credtraceSubject/v1": fingerprint(f)},
        "properties": {
            "subject": f.subject.display(),
            "since": f.since.map(fmt_time),
            "remediation": f.remediation,
        },
    });
    if let Some(i) = index {
        r["ruleIndex"] = json!(i);
    }
    if let Some(why) = suppression {
        r["suppressions"] = json!([{"kind": "external", "justification": why}]);
    }
    r
}

pub fn to_value(a: &Analysis) -> Value {
    let metas: Vec<_> = registry().iter().map(|r| r.meta()).collect();
    let rules: Vec<Value> = metas
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "name": m.name,
                "shortDescription": {"text": m.summary},
                "fullDescription": {"text": m.summary},
                "help": {"text": m.docs, "markdown": m.docs},
                "defaultConfiguration": {"level": level(m.severity)},
                "properties": {"tags": m.covers},
            })
        })
        .collect();
    let index = |id: &str| metas.iter().position(|m| m.id == id);
    let mut results: Vec<Value> = a
        .findings
        .iter()
        .map(|f| result(f, index(f.rule), None))
        .collect();
    for s in &a.suppressed {
        results.push(result(&s.finding, index(s.finding.rule), Some(&s.reason)));
    }
    let notifications: Vec<Value> = a
        .skipped_rules
        .iter()
        .map(|s| {
            json!({
                "level": "note",
                "message": {"text": format!("{} not checked: {}", s.rule, s.missing)},
                "descriptor": {"id": s.rule},
            })
        })
        .collect();
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "credtrace",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "originalUriBaseIds": {
                "BUNDLE_ROOT": {"description": {"text": "the root of the support bundle"}},
            },
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
            "properties": {
                "bundle": a.source,
                "cluster": a.snapshot.cluster,
                "capturedAt": fmt_time(a.snapshot.captured_at),
            },
        }],
    })
}

pub fn render(a: &Analysis) -> String {
    let mut s = serde_json::to_string_pretty(&to_value(a)).expect("a JSON value always serialises");
    s.push('\n');
    s
}
