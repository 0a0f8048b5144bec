//! Provenance: where in the bundle a fact came from.
//!
//! Every fact a rule may cite carries a [`Loc`]: the display path inside the bundle, the
//! 1-based line and a short excerpt of that line (already redacted). Rules copy these; they
//! never invent them, so every claim in a report can be checked with `file:line`.

use serde::Serialize;
use std::cell::RefCell;
use std::collections::HashSet;
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
            excerpt: shared_excerpt(path, crate::model::redact::redact_line(excerpt)),
        }
    }

    /// The redacted excerpt of `line`, made for a caller that keeps its own table of them
    /// ([`crate::ingest::text::Source`], by line text): not looked up among this thread's.
    pub fn excerpt(line: &str) -> Arc<str> {
        Arc::from(crate::model::redact::redact_line(line))
    }

    /// A location known only by its file.
    pub fn file(path: &Arc<str>) -> Loc {
        Loc {
            path: path.clone(),
            line: 0,
            excerpt: empty(),
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
            path: empty(),
            line: 0,
            excerpt: empty(),
        }
    }
}

thread_local! {
    /// The empty text, shared: every fact starts with unknown locations (`Default`), which
    /// were two allocations each, a few per object on a fleet.
    static EMPTY: Arc<str> = Arc::from("");
}

/// An empty path or excerpt, without an allocation of its own.
fn empty() -> Arc<str> {
    EMPTY.with(Arc::clone)
}

thread_local! {
    /// The excerpts made on this thread for the file it is reading (by path), so that a line
    /// many objects cite alike (`"type": "Ready",` in every ExternalSecret of a list, the
    /// same `time:` in every managedFields entry) is stored once: a fleet cites hundreds of
    /// thousands of lines, and about half of them are such repeats.
    static EXCERPTS: RefCell<(Arc<str>, Excerpts)> =
        RefCell::new((Arc::from(""), Excerpts::default()));
}

/// Excerpts by their text.
type Excerpts = HashSet<Arc<str>, foldhash::fast::RandomState>;

/// `text` as an excerpt of `path`, shared with an equal excerpt of the same file made on
/// this thread. Which copy a `Loc` holds is never seen: excerpts compare by content.
fn shared_excerpt(path: &Arc<str>, text: String) -> Arc<str> {
    EXCERPTS.with(|cell| {
        let (file, seen) = &mut *cell.borrow_mut();
        if !Arc::ptr_eq(file, path) {
            *file = path.clone();
            seen.clear();
        }
        if let Some(e) = seen.get(text.as_str()) {
            return e.clone();
        }
        let e: Arc<str> = Arc::from(text);
        seen.insert(e.clone());
        e
    })
}
