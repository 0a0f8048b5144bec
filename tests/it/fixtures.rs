//! Data-driven rule fixtures.
//!
//! `tests/fixtures/<RULE-ID>/<case>/` holds a small bundle and an `expect.yaml`:
//!
//! ```yaml
//! fires: true                 # does the rule report at least one finding?
//! subject: VaultPolicy/name   # optional: kind/name or kind/namespace/name of a finding
//! severity: error             # optional
//! message_contains: [text]    # optional: every text appears in some finding's message
//! skipped: true               # optional: the rule reports itself skipped (evidence missing)
//! root_cause: VaultPolicy/x   # optional: the first diagnosis names this root cause
//! ingest_note_contains: [text] # optional: every text appears in some `<file>: <note>` of ingest
//! ```
//!
//! Adding a rule means adding its fixture folders; this runner finds them.

use super::util::{analyze_path, json, root};
use serde_json::Value;
use std::path::Path;

fn subject_id(v: &Value) -> String {
    let kind = v["kind"].as_str().unwrap_or("");
    let name = v["name"].as_str().unwrap_or("");
    match v["namespace"].as_str() {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

fn check_case(rule: &str, case: &Path) -> Result<(), String> {
    let expect: Value = serde_yaml::from_str(
        &std::fs::read_to_string(case.join("expect.yaml")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("expect.yaml: {e}"))?;
    let a = analyze_path(&case.join("bundle"));
    let out = json(&a);
    let findings: Vec<&Value> = out["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect();
    let fires = expect["fires"]
        .as_bool()
        .ok_or("expect.yaml needs `fires`")?;
    if fires == findings.is_empty() {
        return Err(format!(
            "expected fires={fires}, got {} finding(s): {:?}",
            findings.len(),
            findings
                .iter()
                .map(|f| f["message"].as_str().unwrap_or(""))
                .collect::<Vec<_>>()
        ));
    }
    if let Some(s) = expect["subject"].as_str() {
        if !findings.iter().any(|f| subject_id(&f["subject"]) == s) {
            return Err(format!(
                "no finding about {s}; subjects: {:?}",
                findings
                    .iter()
                    .map(|f| subject_id(&f["subject"]))
                    .collect::<Vec<_>>()
            ));
        }
    }
    if let Some(sev) = expect["severity"].as_str() {
        if !findings.iter().any(|f| f["severity"] == sev) {
            return Err(format!("no finding with severity {sev}"));
        }
    }
    for text in expect["message_contains"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let t = text.as_str().unwrap_or("");
        if !findings
            .iter()
            .any(|f| f["message"].as_str().unwrap_or("").contains(t))
        {
            return Err(format!(
                "no message contains {t:?}: {:?}",
                findings
                    .iter()
                    .map(|f| f["message"].as_str().unwrap_or(""))
                    .collect::<Vec<_>>()
            ));
        }
    }
    if let Some(sk) = expect["skipped"].as_bool() {
        let is = out["rules_skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["rule"] == rule);
        if is != sk {
            return Err(format!("expected skipped={sk}, got {is}"));
        }
    }
    if let Some(rc) = expect["root_cause"].as_str() {
        let got = out["diagnoses"][0]["root_cause"].clone();
        if got.is_null() || subject_id(&got) != rc {
            return Err(format!(
                "first diagnosis root cause: expected {rc}, got {}",
                if got.is_null() {
                    "none".into()
                } else {
                    subject_id(&got)
                }
            ));
        }
    }
    let notes: Vec<String> = a
        .files
        .iter()
        .flat_map(|f| f.notes.iter().map(move |n| format!("{}: {n}", f.path)))
        .collect();
    for text in expect["ingest_note_contains"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let t = text.as_str().unwrap_or("");
        if !notes.iter().any(|n| n.contains(t)) {
            return Err(format!("no ingest note contains {t:?}: {notes:?}"));
        }
    }
    // every finding cites evidence inside the bundle
    for f in &findings {
        let ev = f["evidence"].as_array().unwrap();
        if ev.is_empty() {
            return Err(format!("finding without evidence: {}", f["message"]));
        }
        for e in ev {
            let p = case.join("bundle").join(e["path"].as_str().unwrap());
            if !p.exists() {
                return Err(format!("evidence path {} is not in the bundle", e["path"]));
            }
        }
    }
    Ok(())
}

#[test]
fn every_rule_fixture() {
    let dir = root().join("tests").join("fixtures");
    let mut failures = Vec::new();
    let mut ran = 0;
    let mut rules_with_fire = std::collections::BTreeSet::new();
    let mut rules_with_quiet = std::collections::BTreeSet::new();
    let mut rule_dirs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    rule_dirs.sort();
    for rd in rule_dirs {
        let rule = rd.file_name().unwrap().to_string_lossy().into_owned();
        let mut cases: Vec<_> = std::fs::read_dir(&rd)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        cases.sort();
        for case in cases {
            ran += 1;
            let fires = std::fs::read_to_string(case.join("expect.yaml"))
                .unwrap_or_default()
                .contains("fires: true");
            if fires {
                rules_with_fire.insert(rule.clone());
            } else {
                rules_with_quiet.insert(rule.clone());
            }
            if let Err(e) = check_case(&rule, &case) {
                failures.push(format!(
                    "{}: {e}",
                    case.strip_prefix(&dir).unwrap().display()
                ));
            }
        }
    }
    assert!(ran > 0, "no fixtures found");
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // every registered rule has a case that fires and one that stays quiet
    for r in credtrace::rules::registry() {
        let id = r.meta().id;
        assert!(
            rules_with_fire.contains(id),
            "rule {id} has no fixture that fires"
        );
        assert!(
            rules_with_quiet.contains(id),
            "rule {id} has no fixture that stays quiet"
        );
    }
}
