//! `credtrace ingest`: what each file became, what the bundle covers, and the capture time.

use crate::model::time::fmt_time;
use crate::Analysis;
use serde_json::json;
use std::fmt::Write;

pub fn render(a: &Analysis, as_json: bool) -> String {
    let snap = &a.snapshot;
    let coverage: Vec<String> = snap
        .coverage
        .collected
        .iter()
        .map(|(k, ns)| {
            format!(
                "{} in {}",
                k.as_str(),
                ns.as_deref().unwrap_or("all namespaces")
            )
        })
        .collect();
    let not_collected: Vec<String> = snap
        .coverage
        .not_collected
        .iter()
        .map(|((k, ns), why)| {
            format!(
                "{} in {}: {why}",
                k.as_str(),
                ns.as_deref().unwrap_or("all namespaces")
            )
        })
        .collect();
    let layout = a
        .files
        .iter()
        .find(|f| f.format == "troubleshoot-version")
        .map(|f| {
            let root = f
                .path
                .trim_end_matches("version.yaml")
                .trim_end_matches('/');
            format!(
                "troubleshoot support bundle (root: {})",
                if root.is_empty() { "." } else { root }
            )
        })
        .unwrap_or_else(|| {
            if a.files.iter().any(|f| f.format == "manifest") {
                "credtrace collection (credtrace.yaml)".to_string()
            } else {
                "files (no manifest)".to_string()
            }
        });
    let parsed = a.files.iter().filter(|f| f.skipped.is_none()).count();
    if as_json {
        let v = json!({
            "schema_version": 1,
            "source": a.source,
            "layout": layout,
            "files_total": a.files.len(),
            "files_parsed": parsed,
            "conflicts": snap.conflicts,
            "captured_at": fmt_time(snap.captured_at),
            "captured_at_source": snap.capture_source,
            "captured_at_evidence": snap.capture_loc.as_ref().map(|l| l.cite()),
            "files": a.files,
            "coverage": coverage,
            "not_collected": not_collected,
        });
        let mut s = serde_json::to_string_pretty(&v).expect("serialises");
        s.push('\n');
        return s;
    }
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}: {layout}; {} file(s), {parsed} read, {} skipped",
        a.source,
        a.files.len(),
        a.files.len() - parsed
    );
    let _ = writeln!(
        o,
        "{}: captured {} ({:?}{})",
        a.source,
        fmt_time(snap.captured_at),
        snap.capture_source,
        snap.capture_loc
            .as_ref()
            .map(|l| format!(", {}", l.cite()))
            .unwrap_or_default()
    );
    for f in &a.files {
        let what = match &f.skipped {
            Some(r) => format!("SKIPPED: {r}"),
            None => f
                .kinds
                .iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let _ = writeln!(o, "  {:<60} {:<16} {what}", f.path, f.format);
        for c in &f.commands {
            let _ = writeln!(o, "      command: {c}");
        }
        for n in &f.notes {
            let _ = writeln!(o, "      note: {n}");
        }
        for c in &f.coverage {
            let _ = writeln!(o, "      covers: {c}");
        }
    }
    let _ = writeln!(
        o,
        "coverage: {}",
        if coverage.is_empty() {
            "none recorded".into()
        } else {
            coverage.join("; ")
        }
    );
    if !not_collected.is_empty() {
        let _ = writeln!(o, "not collected: {}", not_collected.join("; "));
    }
    for c in &snap.conflicts {
        let _ = writeln!(o, "conflict: {c}");
    }
    o
}
