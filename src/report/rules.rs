//! `credtrace rules` and `credtrace explain`.

use crate::rules::{registry, RuleMeta};
use std::fmt::Write;

pub fn list(json: bool) -> String {
    list_as(if json { "json" } else { "table" })
}

/// `credtrace rules --format table|json|markdown`.
pub fn list_as(format: &str) -> String {
    let json = format == "json";
    if format == "markdown" {
        return markdown();
    }
    let metas: Vec<&RuleMeta> = registry().iter().map(|r| r.meta()).collect();
    if json {
        let mut s = serde_json::to_string_pretty(&metas).expect("rule metadata serialises");
        s.push('\n');
        return s;
    }
    let mut o = String::new();
    for m in metas {
        let _ = writeln!(
            o,
            "{:<13} {:<34} {:<8} {}",
            m.id,
            m.name,
            m.severity.as_str(),
            m.summary
        );
    }
    o
}

pub fn explain(m: &RuleMeta) -> String {
    let covers = if m.covers.is_empty() {
        String::new()
    } else {
        format!("\nCovers: {}\n", m.covers.join(", "))
    };
    format!(
        "# {} {}\n\nDefault severity: {}. {}.\n{covers}\n{}\n",
        m.id,
        m.name,
        m.severity.as_str(),
        m.summary,
        m.docs
    )
}

/// The rule list as a Markdown table: the body of the README's rules block.
pub fn markdown() -> String {
    let mut o =
        String::from("| id | name | severity | what it finds |\n| --- | --- | --- | --- |\n");
    for r in registry() {
        let m = r.meta();
        let _ = writeln!(
            o,
            "| `{}` | `{}` | {} | {} |",
            m.id,
            m.name,
            m.severity.as_str(),
            m.summary.replace('|', "\\|")
        );
    }
    o
}

pub const README_BEGIN: &str = "<!-- rules:begin -->";
pub const README_END: &str = "<!-- rules:end -->";

/// `readme` with the block between the rules markers replaced by the current registry, or
/// `None` when the markers are missing.
pub fn update_readme(readme: &str) -> Option<String> {
    let start = readme.find(README_BEGIN)? + README_BEGIN.len();
    let end = readme[start..].find(README_END)? + start;
    Some(format!(
        "{}\n{}{}",
        &readme[..start],
        markdown(),
        &readme[end..]
    ))
}
