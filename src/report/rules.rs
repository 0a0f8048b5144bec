//! `credtrace rules` and `credtrace explain`.

use crate::rules::{registry, RuleMeta};
use std::fmt::Write;

pub fn list(json: bool) -> String {
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
