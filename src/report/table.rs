//! The human view: the diagnosis first (what broke, since when, what to do), then the
//! evidence, the timeline, every finding, and what could not be read or checked.

use crate::model::time::{fmt_time, human};
use crate::model::{CaptureSource, ObjRef};
use crate::rules::Severity;
use crate::Analysis;
use std::fmt::Write;
use tabled::settings::{object::Columns, Modify, Style, Width};
use tabled::{Table, Tabled};

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn red(&self, s: &str) -> String {
        self.wrap("31;1", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    fn sev(&self, s: Severity) -> String {
        match s {
            Severity::Error => self.red("error"),
            Severity::Warning => self.yellow("warning"),
            Severity::Info => "info".to_string(),
        }
    }
}

fn name(o: &ObjRef) -> String {
    o.display()
}

#[derive(Tabled)]
struct Row {
    #[tabled(rename = "SEVERITY")]
    severity: String,
    #[tabled(rename = "RULE")]
    rule: String,
    #[tabled(rename = "SUBJECT")]
    subject: String,
    #[tabled(rename = "MESSAGE")]
    message: String,
}

pub fn render(a: &Analysis, color: bool) -> String {
    let p = Paint(color);
    let snap = &a.snapshot;
    let mut o = String::new();
    let errors = a
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = a
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    let capture = match snap.capture_source {
        CaptureSource::Manifest => "from credtrace.yaml".to_string(),
        CaptureSource::AsOf => "from --as-of".to_string(),
        CaptureSource::ArchiveName => "inferred from the archive name".to_string(),
        CaptureSource::Inferred => format!(
            "inferred from the newest timestamp{}",
            snap.capture_loc
                .as_ref()
                .map(|l| format!(", {}", l.cite()))
                .unwrap_or_default()
        ),
        CaptureSource::None => {
            "unknown: no timestamp in the bundle, ages are unreliable".to_string()
        }
    };
    let _ = writeln!(
        o,
        "{} {}{}: {} diagnosis(es), {} error(s), {} warning(s); captured {} ({capture})",
        p.bold("credtrace"),
        a.source,
        snap.cluster
            .as_deref()
            .map(|c| format!(" [{c}]"))
            .unwrap_or_default(),
        a.diagnoses.len(),
        errors,
        warnings,
        fmt_time(snap.captured_at),
    );
    if let Some(notice) = super::limit_notice(a) {
        let _ = writeln!(o, "{} {notice}", p.yellow("PARTIAL:"));
    }
    if a.diagnoses.is_empty() && a.findings.is_empty() {
        let _ = writeln!(
            o,
            "\nNo broken or stale link found in what the bundle holds."
        );
    }
    for (i, d) in a.diagnoses.iter().enumerate() {
        let _ = writeln!(o);
        let since = d
            .since
            .map(|t| {
                // with no capture time in the bundle only the age is meaningful, not the date
                if snap.capture_source == CaptureSource::None {
                    format!(" since {} before capture", human(snap.captured_at - t))
                } else {
                    format!(
                        " since {} ({} before capture)",
                        fmt_time(t),
                        human(snap.captured_at - t)
                    )
                }
            })
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "{} {}{} [{:?} confidence, {}]",
            p.red(&format!("DIAGNOSIS {}", i + 1)),
            p.bold(&name(&d.symptom.subject)),
            since,
            d.confidence,
            d.domains.join(" -> ")
        );
        let _ = writeln!(o, "  symptom:    {}", d.symptom.message);
        if d.symptoms.len() > 1 {
            let others: Vec<String> = d
                .symptoms
                .iter()
                .skip(1)
                .map(|s| name(&s.subject))
                .collect();
            let _ = writeln!(
                o,
                "              and {} more: {}",
                others.len(),
                others.join(", ")
            );
        }
        let _ = writeln!(
            o,
            "  root cause: {} [{}]",
            d.root_cause.message, d.root_cause.rule
        );
        let _ = writeln!(o, "  chain:");
        for (k, l) in d.chain.iter().enumerate() {
            let marker = if k == d.chain.len() - 1 { "x" } else { "<-" };
            let head = if k == 0 { "  " } else { marker };
            let _ = writeln!(
                o,
                "    {head} {}{}",
                p.bold(&name(&l.subject)),
                l.edge
                    .map(|e| p.dim(&format!("  --{e}-->")))
                    .unwrap_or_default()
            );
            if let Some(s) = &l.state {
                if k > 0 {
                    let _ = writeln!(o, "         {s}");
                }
            }
            for e in l.evidence.iter().take(4) {
                let _ = writeln!(o, "         {} {}", p.dim(&e.cite()), p.dim(&e.excerpt));
            }
        }
        if !d.remediation.is_empty() {
            let _ = writeln!(o, "  fix:");
            for (k, r) in d.remediation.iter().enumerate() {
                let _ = writeln!(o, "    {}. {r}", k + 1);
            }
        }
    }
    if !a.latent.is_empty() {
        let _ = writeln!(o, "\n{}", p.yellow("LATENT RISKS (no symptom yet)"));
        for l in &a.latent {
            let _ = writeln!(
                o,
                "  {} (in {})  {}  [{}]",
                fmt_time(l.predicted_at),
                human(l.predicted_at - snap.captured_at),
                l.message,
                l.rule
            );
        }
    }
    if !a.timeline.is_empty() {
        let _ = writeln!(o, "\n{}", p.bold("TIMELINE"));
        for t in &a.timeline {
            let _ = writeln!(
                o,
                "  {}  {:<48} {}",
                fmt_time(t.at),
                name(&t.subject),
                t.event
            );
        }
    }
    if !a.findings.is_empty() {
        let _ = writeln!(o, "\n{}", p.bold("FINDINGS"));
        let rows: Vec<Row> = a
            .findings
            .iter()
            .map(|f| Row {
                severity: p.sev(f.severity),
                rule: format!("{} {}", f.rule, f.name),
                subject: name(&f.subject),
                message: format!(
                    "{}\n{}",
                    f.message,
                    f.evidence
                        .iter()
                        .take(4)
                        .map(|e| e.cite())
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
            })
            .collect();
        let mut t = Table::new(rows);
        t.with(Style::sharp())
            .with(Modify::new(Columns::single(3)).with(Width::wrap(90).keep_words(true)));
        let _ = writeln!(o, "{t}");
    }
    if !a.skipped_rules.is_empty() {
        let _ = writeln!(
            o,
            "\n{}",
            p.bold("NOT CHECKED (evidence missing from the bundle)")
        );
        for s in &a.skipped_rules {
            let _ = writeln!(o, "  {}: {}", s.rule, s.missing);
        }
    }
    let skipped: Vec<_> = a.files.iter().filter(|f| f.skipped.is_some()).collect();
    let _ = writeln!(
        o,
        "\n{} file(s) read, {} skipped{}",
        a.files.len() - skipped.len(),
        skipped.len(),
        if skipped.is_empty() {
            String::new()
        } else {
            " (credtrace ingest lists why)".into()
        }
    );
    if !a.suppressed.is_empty() {
        let _ = writeln!(
            o,
            "{} finding(s) suppressed by the ignore file",
            a.suppressed.len()
        );
    }
    for e in &a.expired_suppressions {
        let _ = writeln!(
            o,
            "  {} suppression of {} on {} expired {} ({}): it no longer applies",
            p.yellow("expired"),
            e.rule,
            e.subject,
            e.expired,
            e.origin
        );
    }
    for c in &snap.conflicts {
        let _ = writeln!(o, "  conflict: {c}");
    }
    o
}
