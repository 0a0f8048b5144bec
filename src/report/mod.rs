//! Rendering: the human table view, the JSON contract (`schema_version: 1`), the Markdown
//! postmortem, SARIF, the dependency graph pictures, diffs between captures and the
//! collection script. Only this module decides how things look; it writes to a `String`,
//! the caller prints it or writes it where it was asked to.

pub mod collect;
pub mod diff;
pub mod graph;
pub mod ingest;
pub mod json;
pub mod markdown;
pub mod rules;
pub mod sarif;
pub mod table;
pub mod timeline;

use crate::Analysis;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Markdown,
    Sarif,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "table" => Some(Format::Table),
            "json" => Some(Format::Json),
            "markdown" | "md" => Some(Format::Markdown),
            "sarif" => Some(Format::Sarif),
            _ => None,
        }
    }
}

pub fn render(a: &Analysis, format: Format, color: bool) -> String {
    match format {
        Format::Table => table::render(a, color),
        Format::Json => json::render(a),
        Format::Markdown => markdown::render(a),
        Format::Sarif => sarif::render(a),
    }
}

/// One sentence saying that part of the bundle was not read because of a reading limit, or
/// `None` when nothing was. A fleet-sized bundle is over the default limits, and a report on
/// the part that was read looks complete unless it says so before its diagnoses.
pub fn limit_notice(a: &Analysis) -> Option<String> {
    let mut named: Vec<&str> = Vec::new();
    let mut files = 0;
    // an archive's stream budget or the entry count stops reading: what follows is not listed
    let mut stopped = false;
    for reason in a.files.iter().filter_map(|f| f.skipped.as_deref()) {
        let (flags, stop) = crate::bundle::limits_named(reason);
        stopped |= stop;
        if !flags.is_empty() {
            files += 1;
            named.extend(flags);
        }
    }
    if files == 0 {
        return None;
    }
    let flags: Vec<&str> = crate::bundle::LIMIT_FLAGS
        .into_iter()
        .filter(|f| named.contains(f))
        .collect();
    let verb = if files == 1 { "was" } else { "were" };
    let (over, it) = if flags.len() == 1 {
        ("a reading limit", "it")
    } else {
        ("reading limits", "them")
    };
    let listed = if stopped { " listed" } else { "" };
    let stop = if stopped {
        " and reading stopped before the end of the bundle,"
    } else {
        ""
    };
    Some(format!(
        "{files} of {} files{listed} {verb} not read{stop} because of {over} ({}), so this covers \
         only part of the bundle: raise {it} to read it all (`credtrace ingest` lists each file \
         and why).",
        a.files.len(),
        flags.join(", "),
    ))
}
