//! The JSON output contract (DESIGN.md, `schema_version: 1`).

use crate::model::time::fmt_time;
use crate::model::{CaptureSource, Loc, ObjRef};
use crate::Analysis;
use serde_json::{json, Value};

pub fn subject(o: &ObjRef) -> Value {
    let mut v = json!({"kind": o.kind.as_str(), "name": o.name});
    if let Some(ns) = &o.namespace {
        v["namespace"] = json!(ns);
    }
    v
}

pub fn evidence(l: &Loc) -> Value {
    let mut v = json!({"path": &*l.path, "excerpt": &*l.excerpt});
    v["line"] = if l.line > 0 {
        json!(l.line)
    } else {
        Value::Null
    };
    v
}

pub fn to_value(a: &Analysis) -> Value {
    let snap = &a.snapshot;
    let skipped: Vec<Value> = a
        .files
        .iter()
        .filter_map(|f| {
            f.skipped
                .as_ref()
                .map(|r| json!({"path": f.path, "reason": r}))
        })
        .collect();
    let findings: Vec<Value> = a
        .findings
        .iter()
        .map(|f| {
            json!({
                "rule": f.rule,
                "name": f.name,
                "severity": f.severity.as_str(),
                "subject": subject(&f.subject),
                "message": f.message,
                "evidence": f.evidence.iter().map(evidence).collect::<Vec<_>>(),
                "since": f.since.map(fmt_time),
                "remediation": f.remediation,
            })
        })
        .collect();
    let diagnoses: Vec<Value> = a
        .diagnoses
        .iter()
        .map(|d| {
            let mut root = subject(&d.root_cause.subject);
            root["rule"] = json!(d.root_cause.rule);
            root["message"] = json!(d.root_cause.message);
            let mut sym = subject(&d.symptom.subject);
            sym["message"] = json!(d.symptom.message);
            json!({
                "symptom": sym,
                "symptoms": d.symptoms.iter().map(|s| { let mut v = subject(&s.subject); v["message"] = json!(s.message); v }).collect::<Vec<_>>(),
                "root_cause": root,
                "chain": d.chain.iter().map(|l| {
                    let mut v = subject(&l.subject);
                    v["edge"] = json!(l.edge);
                    if let Some(s) = &l.state { v["state"] = json!(s); }
                    v["evidence"] = json!(l.evidence.iter().map(evidence).collect::<Vec<_>>());
                    v
                }).collect::<Vec<_>>(),
                "domains": d.domains,
                "confidence": d.confidence,
                "since": d.since.map(fmt_time),
                "remediation": d.remediation,
            })
        })
        .collect();
    let timeline: Vec<Value> = a
        .timeline
        .iter()
        .map(|t| json!({"at": fmt_time(t.at), "subject": subject(&t.subject), "event": t.event}))
        .collect();
    json!({
        "schema_version": 1,
        "bundle": {
            "source": a.source,
            "cluster": snap.cluster,
            "captured_at": fmt_time(snap.captured_at),
            "captured_at_inferred": !matches!(snap.capture_source, CaptureSource::Manifest | CaptureSource::AsOf),
            "captured_at_source": snap.capture_source,
            "files": {
                "total": a.files.len(),
                "parsed": a.files.len() - skipped.len(),
                "skipped": skipped,
            },
        },
        "findings": findings,
        "diagnoses": diagnoses,
        "timeline": timeline,
        "latent_risks": a.latent.iter().map(|l| {
            let mut v = subject(&l.subject);
            v["rule"] = json!(l.rule);
            v["message"] = json!(l.message);
            v["predicted_at"] = json!(fmt_time(l.predicted_at));
            v
        }).collect::<Vec<_>>(),
        "rules_skipped": a.skipped_rules,
        "conflicts": snap.conflicts,
        "suppressed": a.suppressed.iter().map(|s| json!({
            "rule": s.finding.rule,
            "subject": subject(&s.finding.subject),
            "message": s.finding.message,
            "reason": s.reason,
            "origin": s.origin,
        })).collect::<Vec<_>>(),
        "suppressions_expired": a.expired_suppressions,
    })
}

pub fn render(a: &Analysis) -> String {
    let mut s = serde_json::to_string_pretty(&to_value(a)).expect("a JSON value always serialises");
    s.push('\n');
    s
}
