//! Provenance: where in the bundle a fact came from.
//!
//! Every fact a rule may cite carries a [`Loc`]: the display path inside the bundle, the
//! 1-based line and a short excerpt of that line (already redacted). Rules copy these; they
//! never invent them, so every claim in a report can be checked with `file:line`.

use serde::Serialize;
use std::sync::Arc;

/// A place in the bundle: file (relative to the bundle root), line (1-based, 0 when unknown)
/// and the redacted text of that line.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Loc {
    pub path: Arc<str>,
    pub line: u32,
    pub excerpt: Arc<str>,
}

impl Loc {
    pub fn new(path: &Arc<str>, line: u32, excerpt: &str) -> Loc {
        Loc {
            path: path.clone(),
            line,
            excerpt: Loc::redacted(excerpt),
        }
    }

    /// The excerpt a line gives: its redacted text.
    pub fn redacted(line: &str) -> Arc<str> {
        Arc::from(crate::model::redact::redact_line(line).as_str())
    }

    /// A location known only by its file.
    pub fn file(path: &Arc<str>) -> Loc {
        Loc {
            path: path.clone(),
            line: 0,
            excerpt: Arc::from(""),
        }
    }

    pub fn is_known(&self) -> bool {
        !self.path.is_empty()
    }

    /// `path:line`, or `path` when the line is unknown.
    pub fn cite(&self) -> String {
        if self.line > 0 {
            format!("{}:{}", self.path, self.line)
        } else {
            self.path.to_string()
        }
    }
}

impl Default for Loc {
    fn default() -> Self {
        Loc {
            path: Arc::from(""),
            line: 0,
            excerpt: Arc::from(""),
        }
    }
}
