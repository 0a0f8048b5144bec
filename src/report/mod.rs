//! Rendering: the human table view and the JSON contract (`schema_version: 1`). Only this
//! module decides how things look; it writes to a `String`, the caller prints it.

pub mod ingest;
pub mod json;
pub mod rules;
pub mod table;
pub mod timeline;

use crate::Analysis;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

pub fn render(a: &Analysis, format: Format, color: bool) -> String {
    match format {
        Format::Table => table::render(a, color),
        Format::Json => json::render(a),
    }
}
