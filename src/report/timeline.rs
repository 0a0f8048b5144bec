//! `credtrace timeline`: every timed event of the diagnosed chains, in order.

use crate::model::time::fmt_time;
use crate::Analysis;
use serde_json::json;
use std::fmt::Write;

pub fn render(a: &Analysis, as_json: bool) -> String {
    if as_json {
        let events: Vec<_> = a
            .timeline
            .iter()
            .map(|t| {
                let mut s = json!({"kind": t.subject.kind.as_str(), "name": t.subject.name});
                if let Some(ns) = &t.subject.namespace {
                    s["namespace"] = json!(ns);
                }
                json!({"at": fmt_time(t.at), "subject": s, "event": t.event})
            })
            .collect();
        let v = json!({"schema_version": 1, "captured_at": fmt_time(a.snapshot.captured_at), "timeline": events});
        let mut s = serde_json::to_string_pretty(&v).expect("serialises");
        s.push('\n');
        return s;
    }
    let mut o = String::new();
    if a.timeline.is_empty() {
        let _ = writeln!(o, "no timed events: nothing is diagnosed in this bundle");
        return o;
    }
    for t in &a.timeline {
        let _ = writeln!(
            o,
            "{}  {:<50} {}",
            fmt_time(t.at),
            t.subject.display(),
            t.event
        );
    }
    o
}
