//! `--format markdown`: a postmortem draft someone can paste into a ticket and sign after
//! checking it. Every claim cites the bundle as `file:line`; excerpts are the redacted lines
//! the model kept, so no secret value can reach the page.
//!
//! Order follows the postmortem habit: summary (symptom, root cause, since when, blast
//! radius), impact, timeline, the root-cause chain with evidence, contributing factors,
//! remediation, latent risks, and what the bundle could not tell.

use crate::diagnose::Diagnosis;
use crate::model::time::{fmt_time, human};
use crate::model::{CaptureSource, Kind, Loc, ObjRef, Snapshot};
use crate::rules::{Finding, Severity};
use crate::Analysis;
use std::collections::BTreeSet;
use std::fmt::Write;

/// Inline code that survives backticks inside `s`.
pub(crate) fn code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ");
    let mut run = 0;
    let mut longest = 0;
    for c in s.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// Text for a table cell or a list item: no line breaks, pipes escaped, no raw HTML.
pub(crate) fn text(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn subject(o: &ObjRef) -> String {
    format!("**{}**", text(&o.display()))
}

/// A remediation step: commands in code, prose as prose.
fn step(s: &str) -> String {
    let is_cmd = |t: &str| {
        let t = t.trim_start();
        t.starts_with("kubectl ") || t.starts_with("vault ")
    };
    if is_cmd(s) {
        return code(s);
    }
    if let Some((prose, cmd)) = s.split_once(": ") {
        if is_cmd(cmd) {
            return format!("{}: {}", text(prose), code(cmd));
        }
    }
    text(s)
}

fn cite(l: &Loc) -> String {
    if l.excerpt.trim().is_empty() {
        code(&l.cite())
    } else {
        format!("{} {}", code(&l.cite()), code(l.excerpt.trim()))
    }
}

/// The workload that owns a Pod (ReplicaSet -> Deployment), as the bundle states it.
pub(crate) fn workload_of(snap: &Snapshot, pod: &ObjRef) -> Option<ObjRef> {
    let p = snap
        .pods
        .iter()
        .find(|p| p.meta.name == pod.name && p.meta.namespace == pod.namespace)?;
    let owner = p.meta.owners.first()?;
    let ns = pod.namespace.as_deref();
    if owner.kind == "ReplicaSet" {
        let rs = snap.workloads.iter().find(|w| {
            w.kind == "ReplicaSet" && w.meta.name == owner.name && w.meta.namespace == pod.namespace
        });
        if let Some(dep) = rs.and_then(|r| r.meta.owners.first()) {
            if let Some(k) = Kind::parse(&dep.kind) {
                return Some(ObjRef::new(k, ns, &dep.name));
            }
        }
    }
    Kind::parse(&owner.kind).map(|k| ObjRef::new(k, ns, &owner.name))
}

fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn title(a: &Analysis) -> String {
    let cluster = a
        .snapshot
        .cluster
        .as_deref()
        .map(|c| format!(" on {c}"))
        .unwrap_or_default();
    match a.diagnoses.first() {
        Some(d) => {
            let what = match d.symptom.subject.kind {
                Kind::Pod => match workload_of(&a.snapshot, &d.symptom.subject) {
                    Some(w) => format!("{} cannot start", w.display()),
                    None => format!("{} cannot start", d.symptom.subject.display()),
                },
                _ => format!("{} is broken", d.symptom.subject.display()),
            };
            let root = &d.root_cause.subject;
            let cause = match root.kind {
                Kind::VaultPolicy => format!("Vault policy {} missing", root.name),
                Kind::VaultRole => format!("Vault role {} broken", root.name),
                _ => format!("{} at fault", root.display()),
            };
            format!("{what}{cluster}: {cause}")
        }
        None => format!("credential supply chain review{cluster}"),
    }
}

pub fn render(a: &Analysis) -> String {
    let snap = &a.snapshot;
    let cap = snap.captured_at;
    let mut o = String::new();
    let _ = writeln!(o, "# Postmortem draft: {}\n", text(&title(a)));
    let capture = match snap.capture_source {
        CaptureSource::Manifest => "from its credtrace.yaml",
        CaptureSource::AsOf => "as set by --as-of",
        CaptureSource::ArchiveName => "inferred from the archive name",
        CaptureSource::Inferred => "inferred from its newest timestamp",
        CaptureSource::None => "unknown: ages below are unreliable",
    };
    let _ = writeln!(
        o,
        "> Drafted by credtrace from the support bundle {} captured {} ({capture}). \
         Every statement below cites the bundle as `file:line`; check the citations before you sign. \
         Secret values are never quoted.\n",
        code(&a.source),
        fmt_time(cap)
    );
    if let Some(notice) = super::limit_notice(a) {
        let _ = writeln!(o, "> **Partial:** {}\n", text(&notice));
    }

    // summary
    let _ = writeln!(o, "## Summary\n");
    if a.diagnoses.is_empty() {
        let _ = writeln!(
            o,
            "No broken or stale link of the secret supply chain was found in what the bundle holds \
             ({}, {}).\n",
            count(a.findings.len(), "finding", "findings"),
            count(a.skipped_rules.len(), "rule not checked", "rules not checked"),
        );
    }
    for (i, d) in a.diagnoses.iter().enumerate() {
        if a.diagnoses.len() > 1 {
            let _ = writeln!(o, "### {}. {}\n", i + 1, text(&d.symptom.subject.display()));
        }
        let _ = writeln!(o, "| | |\n| --- | --- |");
        let _ = writeln!(o, "| Symptom | {} |", text(&d.symptom.message));
        let _ = writeln!(
            o,
            "| Root cause | {} ({}) |",
            text(&d.root_cause.message),
            code(&d.root_cause.rule)
        );
        let since = d
            .since
            .map(|t| format!("{} ({} before capture)", fmt_time(t), human(cap - t)))
            .unwrap_or_else(|| "unknown: the bundle holds no time for the first failure".into());
        let _ = writeln!(o, "| Since | {} |", text(&since));
        let _ = writeln!(o, "| Blast radius | {} |", text(&blast_radius(snap, d)));
        let _ = writeln!(o, "| Domains | {} |", text(&d.domains.join(" → ")));
        let _ = writeln!(o, "| Confidence | {:?} |\n", d.confidence);
    }

    // impact
    if !a.diagnoses.is_empty() {
        let _ = writeln!(o, "## Impact\n");
        let mut pods: BTreeSet<&ObjRef> = BTreeSet::new();
        let mut workloads: BTreeSet<ObjRef> = BTreeSet::new();
        let mut others: BTreeSet<&ObjRef> = BTreeSet::new();
        for d in &a.diagnoses {
            for s in &d.symptoms {
                if s.subject.kind == Kind::Pod {
                    pods.insert(&s.subject);
                    if let Some(w) = workload_of(snap, &s.subject) {
                        workloads.insert(w);
                    }
                } else {
                    others.insert(&s.subject);
                }
            }
        }
        for w in &workloads {
            let _ = writeln!(o, "- Workload {}", subject(w));
        }
        for d in &a.diagnoses {
            for s in &d.symptoms {
                if s.subject.kind == Kind::Pod {
                    let _ = writeln!(o, "- {}", text(&s.message));
                }
            }
        }
        for s in others {
            let _ = writeln!(o, "- {} cannot sync", subject(s));
        }
        if pods.is_empty() {
            let _ = writeln!(
                o,
                "- No Pod fails yet; the broken links below will surface when the current credentials expire or a Pod restarts"
            );
        }
        let _ = writeln!(o);
    }

    // timeline
    if !a.timeline.is_empty() {
        let _ = writeln!(o, "## Timeline (UTC)\n");
        let _ = writeln!(o, "| Time | Subject | Event |\n| --- | --- | --- |");
        for t in &a.timeline {
            let _ = writeln!(
                o,
                "| {} | {} | {} |",
                fmt_time(t.at),
                text(&t.subject.display()),
                text(&t.event)
            );
        }
        let _ = writeln!(o);
    }

    // the chain
    for (i, d) in a.diagnoses.iter().enumerate() {
        let head = if a.diagnoses.len() > 1 {
            format!("## Root-cause chain {}\n", i + 1)
        } else {
            "## Root-cause chain\n".to_string()
        };
        let _ = writeln!(o, "{head}");
        let _ = writeln!(
            o,
            "From the symptom to the broken link; each step names the dependency it follows.\n"
        );
        for (k, l) in d.chain.iter().enumerate() {
            let edge = l
                .edge
                .map(|e| format!(" — {} →", code(e)))
                .unwrap_or_else(|| " — **root cause**".into());
            let _ = writeln!(o, "{}. {}{edge}", k + 1, subject(&l.subject));
            if let Some(s) = &l.state {
                let _ = writeln!(o, "   - {}", text(s));
            }
            for e in &l.evidence {
                let _ = writeln!(o, "   - {}", cite(e));
            }
        }
        let _ = writeln!(o);
    }

    // contributing factors: other findings on a chain
    let on_chain: BTreeSet<&ObjRef> = a
        .diagnoses
        .iter()
        .flat_map(|d| d.chain.iter().map(|l| &l.subject))
        .collect();
    let is_root = |f: &Finding| {
        a.diagnoses
            .iter()
            .any(|d| d.root_cause.rule == f.rule && d.root_cause.subject == f.subject)
    };
    let is_symptom = |f: &Finding| {
        a.diagnoses.iter().any(|d| {
            d.symptoms.iter().any(|s| s.subject == f.subject) && f.subject.kind == Kind::Pod
        })
    };
    let contributing: Vec<&Finding> = a
        .findings
        .iter()
        .filter(|f| on_chain.contains(&f.subject) && !is_root(f) && !is_symptom(f))
        .collect();
    if !contributing.is_empty() {
        let _ = writeln!(o, "## Contributing factors\n");
        for f in &contributing {
            finding_item(&mut o, f);
        }
        let _ = writeln!(o);
    }

    // remediation
    let steps: Vec<&String> = {
        let mut v: Vec<&String> = Vec::new();
        for d in &a.diagnoses {
            for r in &d.remediation {
                if !v.contains(&r) {
                    v.push(r);
                }
            }
        }
        v
    };
    if !steps.is_empty() {
        let _ = writeln!(o, "## Remediation\n");
        for (k, s) in steps.iter().enumerate() {
            let _ = writeln!(o, "{}. {}", k + 1, step(s));
        }
        let kinds: BTreeSet<Kind> = a
            .diagnoses
            .iter()
            .flat_map(|d| d.chain.iter().map(|l| l.subject.kind))
            .collect();
        let _ = writeln!(
            o,
            "\nFollow-up, so the next one pages before a Pod fails:\n"
        );
        if kinds.contains(&Kind::VaultPolicy) {
            let _ = writeln!(
                o,
                "- keep Vault policies in version control and alert on deletes of `sys/policies/acl/*` in the audit log"
            );
        }
        if kinds.contains(&Kind::ExternalSecret) {
            let _ = writeln!(
                o,
                "- alert on ExternalSecrets whose `Ready` condition stays `False` longer than their refresh interval"
            );
        }
        let _ = writeln!(
            o,
            "- run `credtrace analyze --fail-on warning` on a scheduled bundle to catch links going stale\n"
        );
    }

    // latent risks: findings off every chain, and predicted failures
    let latent: Vec<&Finding> = a
        .findings
        .iter()
        .filter(|f| (!on_chain.contains(&f.subject) || f.predicted.is_some()) && !is_root(f))
        .filter(|f| !contributing.iter().any(|c| std::ptr::eq(*c, *f)))
        .collect();
    if !latent.is_empty() {
        let _ = writeln!(o, "## Latent risks\n");
        let _ = writeln!(
            o,
            "Not part of this incident, but found in the same bundle:\n"
        );
        for f in latent {
            finding_item(&mut o, f);
            if let Some(t) = f.predicted {
                let _ = writeln!(o, "   - expected to fail at {}", fmt_time(t));
            }
        }
        let _ = writeln!(o);
    }

    if !a.suppressed.is_empty() || !a.expired_suppressions.is_empty() {
        let _ = writeln!(o, "## Suppressed\n");
        for s in &a.suppressed {
            let _ = writeln!(
                o,
                "- {} on {}: {} ({})",
                code(s.finding.rule),
                subject(&s.finding.subject),
                text(&s.reason),
                text(&s.origin)
            );
        }
        for e in &a.expired_suppressions {
            let _ = writeln!(
                o,
                "- expired {}: {} on {} ({}); it no longer applies",
                text(&e.expired),
                code(&e.rule),
                text(&e.subject),
                text(&e.origin)
            );
        }
        let _ = writeln!(o);
    }

    // limits of the evidence
    let skipped_files: Vec<_> = a.files.iter().filter(|f| f.skipped.is_some()).collect();
    let _ = writeln!(o, "## What the bundle could not tell\n");
    if a.skipped_rules.is_empty() && skipped_files.is_empty() {
        let _ = writeln!(
            o,
            "Every rule ran and every one of the {} files was read.",
            a.files.len()
        );
    }
    for s in &a.skipped_rules {
        let _ = writeln!(o, "- {} not checked: {}", code(s.rule), text(&s.missing));
    }
    for f in skipped_files {
        let _ = writeln!(
            o,
            "- {} skipped: {}",
            code(&f.path),
            text(f.skipped.as_deref().unwrap_or(""))
        );
    }
    o
}

fn finding_item(o: &mut String, f: &Finding) {
    let sev = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    };
    let _ = writeln!(
        o,
        "- {} {} ({sev}) on {}: {}",
        code(f.rule),
        text(f.name),
        subject(&f.subject),
        text(&f.message)
    );
    for e in f.evidence.iter().take(3) {
        let _ = writeln!(o, "   - {}", cite(e));
    }
}

fn blast_radius(snap: &Snapshot, d: &Diagnosis) -> String {
    let pods: Vec<&ObjRef> = d
        .symptoms
        .iter()
        .map(|s| &s.subject)
        .filter(|s| s.kind == Kind::Pod)
        .collect();
    let workloads: BTreeSet<ObjRef> = pods.iter().filter_map(|p| workload_of(snap, p)).collect();
    let mut parts: Vec<String> = Vec::new();
    if !pods.is_empty() {
        parts.push(count(pods.len(), "Pod", "Pods"));
    }
    if !workloads.is_empty() {
        parts.push(format!(
            "{} ({})",
            count(workloads.len(), "workload", "workloads"),
            workloads
                .iter()
                .map(|w| w.display())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for (kind, one, many) in [
        (Kind::Secret, "Secret", "Secrets"),
        (Kind::ExternalSecret, "ExternalSecret", "ExternalSecrets"),
        (
            Kind::VaultStaticSecret,
            "VaultStaticSecret",
            "VaultStaticSecrets",
        ),
        (
            Kind::VaultDynamicSecret,
            "VaultDynamicSecret",
            "VaultDynamicSecrets",
        ),
        (
            Kind::SecretProviderClass,
            "SecretProviderClass",
            "SecretProviderClasses",
        ),
        (Kind::Certificate, "Certificate", "Certificates"),
    ] {
        let n = d.chain.iter().filter(|l| l.subject.kind == kind).count();
        if n > 0 {
            parts.push(count(n, one, many));
        }
    }
    if parts.is_empty() {
        "nothing fails yet".into()
    } else {
        parts.join(", ")
    }
}
