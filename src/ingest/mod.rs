//! Ingest: every file of the bundle becomes typed facts with provenance, or a reported
//! reason why it could not be read.
//!
//! A file's format comes from its content; its name and folder are only hints. Pastes may
//! hold several outputs one after another, each introduced by the command that produced it
//! (`$ kubectl get ...`, `root@host:/# vault read ...`); the command tells what a table means.
//! Ingest never aborts: a bad file is a note in the report, and the rest is still read.

pub mod eso;
pub mod kube;
pub mod manifest;
mod paste;
pub mod text;
pub mod troubleshoot;
pub mod vault;

/// Every file under the repository's `dirs` (test data: samples, fixtures), in no order.
#[cfg(test)]
pub(crate) fn repo_files(dirs: &[&str]) -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stack: Vec<_> = dirs.iter().map(|d| root.join(d)).collect();
    let mut files = Vec::new();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for p in entries.flatten().map(|e| e.path()) {
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files
}

use crate::bundle::stream::Opened;
use crate::bundle::{Bundle, BundleError, Entry, Limits, Skipped};
use crate::model::{Fact, Kind};
use serde::Serialize;
use std::collections::BTreeMap;
use text::{Command, Source};

/// What one file contributed, for `credtrace ingest` and the JSON report.
#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    pub path: String,
    /// `kubernetes-yaml`, `kubernetes-json`, `text`, `vault-audit`, `manifest`, ...
    pub format: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    /// Objects read, by kind (`other:<Kind>` for kinds credtrace does not model).
    pub kinds: BTreeMap<String, usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Why nothing could be read from the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// What the file says was collected, or could not be (`Pod in prod`, `not collected: ...`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub coverage: Vec<String>,
}

impl FileReport {
    fn new(path: &str, format: &str, out: &Out, skipped: Option<String>) -> FileReport {
        let mut coverage: Vec<String> = out
            .facts
            .iter()
            .filter_map(|f| match f {
                Fact::Covered { kind, namespace } => Some(covered(*kind, namespace.as_deref())),
                Fact::NotCollected {
                    kind, namespace, ..
                } => Some(format!(
                    "not collected: {} in {}",
                    kind.as_str(),
                    namespace.as_deref().unwrap_or("all namespaces")
                )),
                _ => None,
            })
            .collect();
        coverage.sort();
        coverage.dedup();
        FileReport {
            path: path.to_string(),
            format: format.to_string(),
            commands: out.commands.clone(),
            kinds: out.kinds.clone(),
            notes: out.notes.clone(),
            skipped,
            coverage,
        }
    }
}

/// A file report's line for what a listing covered.
fn covered(kind: Kind, namespace: Option<&str>) -> String {
    format!(
        "{} in {}",
        kind.as_str(),
        namespace.unwrap_or("all namespaces")
    )
}

/// The result of ingesting a bundle.
#[derive(Debug, Default)]
pub struct Ingested {
    pub facts: Vec<Fact>,
    pub files: Vec<FileReport>,
}

/// Facts and notes gathered from one file.
#[derive(Debug, Default)]
pub struct Out {
    pub facts: Vec<Fact>,
    pub kinds: BTreeMap<String, usize>,
    pub notes: Vec<String>,
    pub commands: Vec<String>,
    pub was_list: bool,
    pub list_kind: Option<Kind>,
    /// The content was recognised even if it held no object (an empty list, an errors file,
    /// a fragment that could not be joined): the file is not reported as skipped.
    pub recognised: bool,
    /// The bundle's limits: parsers refuse documents nested deeper than `max_depth`.
    pub limits: Limits,
    /// The file begins with the command that wrote it, which overrides the manifest's.
    pub own_command: bool,
}

impl Out {
    /// The Events read so far (tests look at them).
    #[cfg(test)]
    pub fn events(&self) -> Vec<&crate::model::Event> {
        self.facts
            .iter()
            .filter_map(|f| match f {
                Fact::Event(e) => Some(e.as_ref()),
                _ => None,
            })
            .collect()
    }

    pub fn push(&mut self, label: &str, fact: Fact) {
        *self.kinds.entry(label.to_string()).or_default() += 1;
        self.facts.push(fact);
    }

    /// A fact that is not an object (coverage, markers): not counted as a kind.
    pub fn push_marker(&mut self, fact: Fact) {
        self.facts.push(fact);
    }

    pub fn cover(&mut self, kind: Kind, namespace: Option<String>) {
        self.facts.push(Fact::Covered { kind, namespace });
    }
}

/// Reads every entry of the bundle.
pub fn ingest(bundle: &Bundle) -> Ingested {
    use rayon::prelude::*;
    let (mut ing, ctx) = prepare(bundle);
    let results: Vec<(FileReport, Vec<Fact>)> = bundle
        .entries
        .par_iter()
        .filter(|e| !manifest::is_manifest(&e.path))
        .map(|e| {
            let (report, facts, _) = ingest_entry(e, notes_of(bundle, e), &bundle.limits, &ctx);
            (report, facts)
        })
        .collect();
    merge(&mut ing, results);
    ing
}

/// [`ingest`], freeing each file's bytes as soon as it is read: on a fleet the bundle
/// is then gone by the time the model is built, and the two are never held at once.
pub fn ingest_owned(mut bundle: Bundle) -> Ingested {
    use rayon::prelude::*;
    let (mut ing, ctx) = prepare(&bundle);
    let entries = std::mem::take(&mut bundle.entries);
    let results: Vec<(FileReport, Vec<Fact>)> = entries
        .into_par_iter()
        .filter(|e| !manifest::is_manifest(&e.path))
        .map(|e| {
            let (report, facts, _) = ingest_entry(&e, notes_of(&bundle, &e), &bundle.limits, &ctx);
            (report, facts)
        })
        .collect();
    merge(&mut ing, results);
    ing
}

/// The files [`ingest_stream`] needs before any other is parsed, by path in the bundle
/// (before a shared top folder is stripped): the manifest, at the root or under the top
/// folder, and troubleshoot's `version.yaml`, which tells the troubleshoot root.
pub fn wanted_upfront(raw: &str) -> bool {
    let file = raw.rsplit('/').next().unwrap_or(raw);
    file == "version.yaml" || raw.matches('/').count() <= 1 && manifest::is_manifest(file)
}

/// [`ingest_owned`] on a bundle streamed from disk (opened with [`wanted_upfront`]): each
/// file is parsed as it is read, so the bundle is never held whole, and the result is the
/// same as reading it into memory first.
pub fn ingest_stream(mut opened: Opened) -> Result<Ingested, BundleError> {
    if opened.needs_scan() {
        if let Some(ing) = ingest_once(&mut opened)? {
            return Ok(ing);
        }
        opened.scan(&wanted_upfront)?;
    }
    let (mut ing, ctx) = prepare_with(opened.name_hint.clone(), &opened.upfront, &[]);
    let limits = opened.limits;
    let (results, skipped) = opened.run(|e, notes| {
        (!manifest::is_manifest(&e.path)).then(|| {
            let (report, facts, _) = ingest_entry(e, notes, &limits, &ctx);
            (report, facts)
        })
    })?;
    let mut results: Vec<(FileReport, Vec<Fact>)> = results.into_iter().flatten().collect();
    // paths are unique among files read: sorted, they are in the order of a bundle in memory
    results.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    push_skipped(&mut ing, &skipped);
    merge(&mut ing, results);
    Ok(ing)
}

/// [`ingest_stream`] on an archive read once: each file is parsed as it arrives, before the
/// manifest (often the last member) is known, then settled against it. A listing the
/// manifest names only gains what the command covered; a file whose reading the command
/// would change is parsed again (kept from the pass, or read again past the bound). `None`
/// when the archive's top folder was not what its first entry suggested.
fn ingest_once(opened: &mut Opened) -> Result<Option<Ingested>, BundleError> {
    let limits = opened.limits;
    let blind = Context::default();
    let once = opened.run_once(&wanted_upfront, |e, notes| {
        if manifest::is_manifest(&e.path) {
            return (None, false);
        }
        let (report, facts, own) = ingest_entry(e, notes, &limits, &blind);
        let settled = own || listing_only(&report.format, &report.path);
        (Some((report, facts, own)), !settled)
    })?;
    let Some(once) = once else {
        return Ok(None);
    };
    let (mut ing, ctx) = prepare_with(opened.name_hint.clone(), &opened.upfront, &[]);
    let mut results = Vec::new();
    let mut again: Vec<(Entry, Vec<String>)> = Vec::new();
    let mut missing = std::collections::BTreeSet::new();
    for (r, kept) in once.results {
        let Some((mut report, mut facts, own)) = r else {
            continue;
        };
        let cmd = ctx.hints.get(&report.path).map(|c| Command::parse(c));
        match cmd {
            Some(cmd) if !own => {
                let agent = vault::agent_log::agent_log_of(&report.path, Some(&cmd)).is_some();
                if listing_only(&report.format, &report.path) && !agent {
                    if let Some((kind, ns)) = paste::listing(Some(&cmd)) {
                        report.coverage.push(covered(kind, ns.as_deref()));
                        report.coverage.sort();
                        report.coverage.dedup();
                        facts.push(Fact::Covered {
                            kind,
                            namespace: ns,
                        });
                    }
                } else {
                    match kept {
                        Some(k) => again.push(k),
                        None => {
                            missing.insert(report.path.clone());
                        }
                    }
                    continue;
                }
            }
            _ => {}
        }
        if let Some(reason) = report.skipped.as_mut() {
            troubleshoot_reason(&ctx, &report.path, reason);
        }
        results.push((report, facts));
    }
    again.extend(opened.read_again(&missing)?);
    for (e, notes) in again {
        let (report, facts, _) = ingest_entry(&e, notes, &limits, &ctx);
        results.push((report, facts));
    }
    results.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    push_skipped(&mut ing, &once.skipped);
    merge(&mut ing, results);
    Ok(Some(ing))
}

/// Whether a manifest's command can change how a file read as `format` was read only by
/// what its listing covers: Kubernetes objects outside a troubleshoot bundle's layout (whose
/// paths add coverage of their own).
fn listing_only(format: &str, path: &str) -> bool {
    matches!(format, "kubernetes-json" | "kubernetes-yaml")
        && troubleshoot::classify(path).is_none()
}

fn notes_of(bundle: &Bundle, e: &Entry) -> Vec<String> {
    bundle
        .notes
        .iter()
        .filter(|n| *n.path == *e.path)
        .map(|n| n.reason.clone())
        .collect()
}

/// What every file is read with: the commands the manifest names, the troubleshoot root.
#[derive(Default)]
struct Context {
    hints: BTreeMap<String, String>,
    ts_root: Option<String>,
}

fn merge(ing: &mut Ingested, results: Vec<(FileReport, Vec<Fact>)>) {
    // sized once: grown by doubling, a fleet's facts were copied into a fresh, larger
    // vector (memory the kernel had to fault in) a dozen times on the way
    ing.files.reserve(results.len());
    ing.facts
        .reserve(results.iter().map(|(_, f)| f.len()).sum());
    for (report, facts) in results {
        ing.files.push(report);
        ing.facts.extend(facts);
    }
    ing.files.sort_by(|a, b| a.path.cmp(&b.path));
}

/// The manifest, skipped entries and the capture time in a name: read before the files.
fn prepare(bundle: &Bundle) -> (Ingested, Context) {
    prepare_with(bundle.name_hint.clone(), &bundle.entries, &bundle.skipped)
}

/// [`prepare`] from the bundle's name, the entries holding its manifest and troubleshoot
/// `version.yaml` (others are ignored), and what it skipped.
fn prepare_with(
    name_hint: Option<String>,
    entries: &[Entry],
    skipped: &[Skipped],
) -> (Ingested, Context) {
    let mut ing = Ingested::default();
    // the manifest first: it maps output files to the commands that wrote them
    let mut hints: BTreeMap<String, String> = BTreeMap::new();
    for e in entries {
        if manifest::is_manifest(&e.path) {
            let (facts, report, cmds) = manifest::parse(&e.path, &e.data);
            ing.facts.extend(facts);
            ing.files.push(report);
            hints.extend(cmds);
        }
    }
    push_skipped(&mut ing, skipped);
    // a troubleshoot bundle: its root, and a capture time in the archive or root folder name
    let ts_root = troubleshoot::root(entries.iter().map(|e| (&*e.path, e.data.as_slice())));
    let names = [
        name_hint,
        ts_root
            .as_deref()
            .map(|r| r.trim_end_matches('/').to_string()),
    ];
    for name in names.into_iter().flatten() {
        if let Some(t) = troubleshoot::time_in_name(&name) {
            let path: std::sync::Arc<str> = std::sync::Arc::from(name.as_str());
            let mut loc = crate::model::Loc::file(&path);
            loc.excerpt = std::sync::Arc::from(format!("archive name {name}").as_str());
            ing.facts.push(Fact::CaptureHint(t, loc));
            break;
        }
    }
    // files are independent: they are read in parallel, then merged in bundle order so the
    // result does not depend on scheduling
    (ing, Context { hints, ts_root })
}

/// Entries the bundle reader did not read, reported with the reason.
fn push_skipped(ing: &mut Ingested, skipped: &[Skipped]) {
    for s in skipped {
        ing.files.push(FileReport {
            path: s.path.clone(),
            format: "unread".into(),
            commands: vec![],
            kinds: BTreeMap::new(),
            notes: vec![],
            skipped: Some(s.reason.clone()),
            coverage: vec![],
        });
    }
}

/// Reads one file of the bundle; `notes` are what the bundle reader knows about it.
fn ingest_entry(
    e: &Entry,
    mut notes: Vec<String>,
    limits: &Limits,
    ctx: &Context,
) -> (FileReport, Vec<Fact>, bool) {
    let hint = ctx.hints.get(&*e.path).map(|c| Command::parse(c));
    let (out, format, mut skipped) = ingest_file_with(&e.path, &e.data, hint, limits);
    if let Some(reason) = skipped.as_mut() {
        troubleshoot_reason(ctx, &e.path, reason);
    }
    let mut report = FileReport::new(&e.path, format, &out, skipped);
    // what the bundle reader knows (a truncated archive) comes first
    notes.append(&mut report.notes);
    report.notes = notes;
    // a command line may carry a secret (`vault login TOKEN`)
    report.commands = report
        .commands
        .iter()
        .map(|c| crate::model::redact::redact_command(c))
        .collect();
    (report, out.facts, out.own_command)
}

/// Inside a troubleshoot bundle, says which collector wrote a file credtrace does not read.
fn troubleshoot_reason(ctx: &Context, path: &str, reason: &mut String) {
    let Some(root) = &ctx.ts_root else {
        return;
    };
    if let Some(rel) = path.strip_prefix(root.as_str()) {
        let collector = rel.split('/').next().unwrap_or(rel);
        if rel.contains('/') && troubleshoot::classify(rel).is_none()
            || collector.ends_with(".json")
        {
            *reason = format!("troubleshoot {collector} output, not used by credtrace ({reason})");
        }
    }
}

fn is_binary(data: &[u8]) -> bool {
    let head = &data[..data.len().min(8192)];
    let utf16 = head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]);
    !utf16 && head.contains(&0)
}

/// Reads one file; returns its facts, the format it was read as, and a skip reason when
/// nothing could be read.
pub fn ingest_file(
    path: &std::sync::Arc<str>,
    data: &[u8],
    hint: Option<Command>,
) -> (Out, &'static str, Option<String>) {
    ingest_file_with(path, data, hint, &Limits::default())
}

/// [`ingest_file`] with the bundle's limits (nesting depth, line length).
pub fn ingest_file_with(
    path: &std::sync::Arc<str>,
    data: &[u8],
    hint: Option<Command>,
    limits: &Limits,
) -> (Out, &'static str, Option<String>) {
    let mut out = Out {
        limits: *limits,
        ..Out::default()
    };
    let lower = path.to_ascii_lowercase();
    if [".tar", ".tar.gz", ".tgz", ".zip", ".gz"]
        .iter()
        .any(|x| lower.ends_with(x))
    {
        return (out, "archive", Some("nested archive, not read".into()));
    }
    if is_binary(data) {
        return (out, "binary", Some("binary file".into()));
    }
    let (text, note) = text::decode_borrowed(data);
    out.notes.extend(note);
    let (text, long) = text::drop_long_lines(text, limits.max_line_length);
    if let Some(long) = &long {
        out.notes.push(long.clone());
    }
    if text.trim().is_empty() {
        let why = long.unwrap_or_else(|| "empty file".into());
        return (out, "empty", Some(why));
    }
    let src = Source::new(path, &text);
    let format = paste::read(&src, &text, hint, &mut out);
    troubleshoot::after_read(path, &mut out);
    let skipped = if out.kinds.is_empty()
        && !out.was_list
        && !out.recognised
        && !out
            .facts
            .iter()
            .any(|f| matches!(f, Fact::MountsListed { .. }))
    {
        Some(out.notes.first().cloned().unwrap_or_else(|| {
            "no Kubernetes object, kubectl output or Vault output recognised".into()
        }))
    } else {
        None
    };
    (out, format, skipped)
}
