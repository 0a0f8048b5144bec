//! The one entry point that runs the pipeline on an opened bundle.

use crate::bundle::{Bundle, BundleError, Limits};
use crate::diagnose::{self, Diagnosis, LatentRisk, TimelineEvent};
use crate::graph::Graph;
use crate::ingest::{self, FileReport};
use crate::model::build::ClockPolicy;
use crate::model::{Snapshot, Time};
use crate::rules::{self, Finding, SkippedRule};
use crate::suppress::{Expired, Policy, Suppressed};

/// Settings for an analysis, already validated (no clap types here).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Overrides the capture time.
    pub as_of: Option<Time>,
    pub limits: Limits,
    /// Severity overrides and suppressions, applied once, before diagnosis.
    pub policy: Policy,
    /// How much of the dependency graph [`Analysis::graph`] holds.
    pub graph: GraphScope,
}

/// How much of the dependency graph an analysis builds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GraphScope {
    /// Every object's edges: for pictures of the graph and diffs between captures.
    #[default]
    Whole,
    /// What the diagnosis walks: every edge but those of the pods no finding is about
    /// ([`Graph::for_diagnosis`]). The findings, diagnoses and timeline are those of
    /// [`GraphScope::Whole`]; a fleet's graph is built in about half the time.
    Diagnosis,
}

/// Everything one run produced; renderers read it.
pub struct Analysis {
    pub source: String,
    pub files: Vec<FileReport>,
    pub snapshot: Snapshot,
    /// The dependency graph, whole or as much as the diagnosis walks ([`Options::graph`]).
    pub graph: Graph,
    pub findings: Vec<Finding>,
    pub skipped_rules: Vec<SkippedRule>,
    pub diagnoses: Vec<Diagnosis>,
    pub timeline: Vec<TimelineEvent>,
    /// Root causes with no symptom yet, with when they will bite.
    pub latent: Vec<LatentRisk>,
    /// Findings an ignore entry silenced, with its reason.
    pub suppressed: Vec<Suppressed>,
    /// Ignore entries past their expiry at the capture time (they no longer suppress).
    pub expired_suppressions: Vec<Expired>,
}

/// Runs ingest, model, graph, rules and diagnosis. Does no I/O.
pub fn analyze(bundle: &Bundle, opts: &Options) -> Analysis {
    finish(bundle.source.clone(), ingest::ingest(bundle), opts)
}

/// [`analyze`], freeing each file of the bundle as soon as it is read.
pub fn analyze_owned(bundle: Bundle, opts: &Options) -> Analysis {
    let source = bundle.source.clone();
    let ingested = stage("ingest", || ingest::ingest_owned(bundle));
    finish(source, ingested, opts)
}

/// Opens `source` (a path, or `-` for stdin) and analyses it. A directory or a file is
/// streamed: each file is parsed as it is read and the bundle is never held whole. Stdin and
/// FIFOs, which cannot be read twice, are read into memory first. Both give the same result.
pub fn analyze_source(source: &str, opts: &Options) -> Result<Analysis, BundleError> {
    enum Read {
        Streamed(crate::bundle::stream::Opened),
        InMemory(Bundle),
    }
    let read = stage("read", || {
        match crate::bundle::stream::open(source, opts.limits, &ingest::wanted_upfront)? {
            Some(o) => Ok::<_, BundleError>(Read::Streamed(o)),
            None => Ok(Read::InMemory(crate::bundle::open(source, opts.limits)?)),
        }
    })?;
    match read {
        Read::Streamed(o) => {
            let src = o.source.clone();
            let ingested = stage("ingest", || ingest::ingest_stream(o))?;
            Ok(finish(src, ingested, opts))
        }
        Read::InMemory(b) => Ok(analyze_owned(b, opts)),
    }
}

/// Runs one stage of the pipeline; with `CREDTRACE_TIMINGS` set, prints how long it took to
/// stderr (for benchmarks: where the time of a run goes, without a profiler).
pub fn stage<T>(name: &str, f: impl FnOnce() -> T) -> T {
    if std::env::var_os("CREDTRACE_TIMINGS").is_none() {
        return f();
    }
    let (t, cpu, faults) = (
        std::time::Instant::now(),
        cpu_seconds(),
        stat_field(MINOR_FAULTS),
    );
    let out = f();
    // resident memory after the stage (Linux), to see what each stage keeps
    let rss = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|pages| format!(", {} MB resident", (pages * 4096) >> 20))
        .unwrap_or_default();
    // and the processor time of all threads in it: below the wall time times the cores, the
    // stage left cores idle
    let cpu = cpu_seconds()
        .zip(cpu)
        .map(|(after, before)| format!(", {:.2} s of processor time", after - before))
        .unwrap_or_default();
    // and the pages the kernel had to fault in (fresh memory: each is zeroed first)
    let faults = stat_field(MINOR_FAULTS)
        .zip(faults)
        .map(|(after, before)| format!(", {} page faults", after - before))
        .unwrap_or_default();
    eprintln!(
        "timing {name}: {:.3} s{rss}{cpu}{faults}",
        t.elapsed().as_secs_f64()
    );
    out
}

/// Minor page faults of the process so far: field 10 of `/proc/self/stat`.
const MINOR_FAULTS: usize = 10;
/// User time, in clock ticks: field 14 (system time is the next).
const USER_TIME: usize = 14;

/// Field `n` (1-based, as proc(5) numbers them) of `/proc/self/stat` (Linux), from field 3 on.
fn stat_field(n: usize) -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // the fields after the command name, which is in parentheses and may hold spaces
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    fields.nth(n - 3)?.parse().ok()
}

/// User and system time of the process so far (Linux; in clock ticks of 10 ms).
fn cpu_seconds() -> Option<f64> {
    let user = stat_field(USER_TIME)?;
    let system = stat_field(USER_TIME + 1)?;
    Some((user + system) as f64 / 100.0)
}

fn finish(source: String, ingested: ingest::Ingested, opts: &Options) -> Analysis {
    let snapshot = stage("model", || {
        Snapshot::build(ingested.facts, ClockPolicy { as_of: opts.as_of })
    });
    // the rules read the snapshot: they run while the graph is built (for a diagnosis, all
    // of it but the pods, whose edges are only walked from the pods the findings are about)
    let scope = match opts.graph {
        GraphScope::Diagnosis if rules::registry().iter().all(|r| !r.uses_graph()) => {
            GraphScope::Diagnosis
        }
        _ => GraphScope::Whole,
    };
    let (graph, findings, skipped_rules) = stage("graph and rules", || {
        crate::graph::derive::prepare_sync_states(&snapshot);
        match scope {
            GraphScope::Whole => rules::run_with_graph(&snapshot, || Graph::build(&snapshot)),
            GraphScope::Diagnosis => {
                let (without_pods, findings, skipped) =
                    rules::run_with_graph(&snapshot, || Graph::build_without_pods(&snapshot));
                let subjects = findings.iter().map(|f| &f.subject);
                let graph = Graph::for_diagnosis(&snapshot, without_pods, subjects);
                (graph, findings, skipped)
            }
        }
    });
    let (findings, suppressed, expired_suppressions) =
        opts.policy.apply(findings, snapshot.captured_at);
    let (diagnoses, timeline) = stage("diagnose", || {
        diagnose::diagnose(&snapshot, &graph, &findings)
    });
    let latent = diagnose::latent_risks(&findings, &diagnoses);
    Analysis {
        source,
        files: ingested.files,
        snapshot,
        graph,
        findings,
        skipped_rules,
        diagnoses,
        timeline,
        latent,
        suppressed,
        expired_suppressions,
    }
}
