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
