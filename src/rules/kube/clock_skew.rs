//! CT-K8S-008 bundle-times-inconsistent.

use crate::model::time::{fmt_time, human};
use crate::model::{CaptureSource, Kind, Loc, ObjRef, Time, When};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};
use chrono::Duration;

pub struct ClockSkew;
pub static RULE: ClockSkew = ClockSkew;

static META: RuleMeta = RuleMeta {
    id: "CT-K8S-008",
    name: "bundle-times-inconsistent",
    severity: Severity::Warning,
    covers: &[],
    summary: "the bundle holds times later than its capture time (clock skew, or dumps taken at different times)",
    docs: "## What it checks\n\
Observed timestamps (writes, condition transitions, events, audit entries, pod starts) later than the capture \
time by more than five minutes.\n\n\
## Why it matters\n\
Every age credtrace computes is relative to the capture time. When parts of a bundle were collected later than \
the manifest says, or clocks disagree, ages and expiries may be off by that much; the findings say so rather than \
pretending to be exact.\n\n\
## Example\n\
`credtrace.yaml` says 10:30, an event's `lastTimestamp` says 12:05 the same day.\n\n\
## How to fix\n\
Re-run the analysis with `--as-of` set to when the newest part was collected, or recollect the bundle in one go.",
};

impl Rule for ClockSkew {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        if !matches!(
            snap.capture_source,
            CaptureSource::Manifest | CaptureSource::AsOf | CaptureSource::ArchiveName
        ) {
            return; // an inferred capture time is the newest timestamp: nothing can be later
        }
        let cap = snap.captured_at;
        let limit = cap + Duration::minutes(5);
        let mut late: Vec<(Time, Loc)> = Vec::new();
        let mut see = |t: Option<Time>, l: &Loc| {
            if let Some(t) = t.filter(|t| *t > limit) {
                late.push((t, l.clone()));
            }
        };
        for m in snap
            .pods
            .iter()
            .map(|p| &p.meta)
            .chain(snap.secrets.iter().map(|s| &s.meta))
            .chain(snap.external_secrets.iter().map(|e| &e.meta))
        {
            if let Some(When::At(t)) = m.created {
                see(Some(t), &m.loc);
            }
            for f in &m.managed_fields {
                see(f.time, &f.loc);
            }
        }
        for e in &snap.external_secrets {
            for c in &e.conditions {
                see(c.last_transition, &c.loc);
            }
        }
        for p in &snap.pods {
            see(p.start_time, &p.meta.loc);
            for s in &p.statuses {
                see(s.started_at, &s.loc);
            }
        }
        for e in &snap.events {
            if let Some(When::At(t)) = e.last {
                see(Some(t), &e.loc);
            }
        }
        for a in &snap.vault.audit {
            see(a.time, &a.loc);
        }
        if late.is_empty() {
            return;
        }
        late.sort();
        let (newest, _) = late.last().cloned().expect("non-empty");
        let mut f = sink.finding(
            ObjRef::new(Kind::Cluster, None, snap.cluster.as_deref().unwrap_or("bundle")),
            format!(
                "{} timestamp(s) in the bundle are later than its capture time {}, the latest by {} ({}): ages and expiries may be off by that much",
                late.len(),
                fmt_time(cap),
                human(newest - cap),
                fmt_time(newest)
            ),
        );
        f.evidence = late.iter().rev().take(3).map(|(_, l)| l.clone()).collect();
        if let Some(l) = &snap.capture_loc {
            f.evidence.push(l.clone());
        }
        f.remediation.push(format!(
            "re-run with the later time: credtrace analyze BUNDLE --as-of {}",
            fmt_time(newest)
        ));
        sink.report(f);
    }
}
