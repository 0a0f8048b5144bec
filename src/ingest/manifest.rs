//! The `credtrace.yaml` manifest written by the collection script at the bundle root:
//! capture time, cluster name, and the command (with exit code) behind each output file.

use super::{FileReport, Out};
use crate::ingest::text::Source;
use crate::model::time::parse_rfc3339;
use crate::model::{Fact, Loc};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

pub fn is_manifest(path: &str) -> bool {
    path == "credtrace.yaml" || path == "credtrace.yml"
}

/// Returns the facts, the file report, and the map output file -> command.
pub fn parse(path: &Arc<str>, data: &[u8]) -> (Vec<Fact>, FileReport, BTreeMap<String, String>) {
    let (text, _) = super::text::decode(data);
    let src = Source::new(path, &text);
    let mut out = Out::default();
    let mut cmds = BTreeMap::new();
    let mut skipped = None;
    match super::kube::docs::yaml_value(&text) {
        Ok(v) => {
            let captured_raw = v.get("captured_at").and_then(Value::as_str).unwrap_or("");
            let captured_at = parse_rfc3339(captured_raw);
            if !captured_raw.is_empty() && captured_at.is_none() {
                out.notes.push(format!(
                    "captured_at {captured_raw:?} is not an RFC 3339 time"
                ));
            }
            let line = src
                .find(0, src.lines().len(), |l| l.starts_with("captured_at"))
                .unwrap_or(0);
            out.push(
                "Manifest",
                Fact::Manifest {
                    captured_at,
                    cluster: v.get("cluster").and_then(Value::as_str).map(str::to_string),
                    loc: if captured_at.is_some() {
                        src.loc(line)
                    } else {
                        Loc::file(path)
                    },
                },
            );
            for c in v
                .get("commands")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                if let (Some(cmd), Some(file)) = (
                    c.get("command").and_then(Value::as_str),
                    c.get("output").and_then(Value::as_str),
                ) {
                    cmds.insert(file.trim_start_matches("./").to_string(), cmd.to_string());
                }
            }
        }
        Err(super::kube::docs::YamlError::Syntax(e)) => {
            skipped = Some(format!("invalid manifest: {e}"))
        }
        Err(super::kube::docs::YamlError::Expands) => {
            skipped = Some("invalid manifest: its aliases expand to too many values".into())
        }
    }
    let report = FileReport {
        path: path.to_string(),
        format: "manifest".into(),
        commands: vec![],
        kinds: out.kinds,
        notes: out.notes,
        skipped,
        coverage: vec![],
    };
    (out.facts, report, cmds)
}
