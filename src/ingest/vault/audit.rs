//! Vault audit log entries (file device): one JSON object per line, request and response
//! types, the 2016/2017 layouts and the 2021+ one. Most strings are HMAC'd; paths,
//! operations, display names and policies are in clear, which is all the rules need.

use crate::ingest::text::Source;
use crate::ingest::Out;
use crate::model::time::parse_rfc3339;
use crate::model::*;
use serde_json::Value;

/// Is this line an audit entry? Accepts a line whose opening brace was lost in a paste.
pub fn entry(line: &str) -> Option<Value> {
    let t = line.trim();
    let owned;
    let text = if t.starts_with('{') {
        t
    } else if t.starts_with("\"time\":") {
        owned = format!("{{{t}");
        &owned
    } else {
        return None;
    };
    if !text.contains("\"request\"") || !text.contains("\"type\"") {
        return None;
    }
    let v: Value = serde_json::from_str(text).ok()?;
    v.get("request")?.as_object()?;
    Some(v)
}

pub fn take(src: &Source, i: usize, v: &Value, out: &mut Out) {
    let s = |path: &[&str]| -> Option<String> {
        let mut cur = v;
        for p in path {
            cur = cur.get(p)?;
        }
        cur.as_str().filter(|s| !s.is_empty()).map(str::to_string)
    };
    let policies = v
        .get("auth")
        .and_then(|a| a.get("policies"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let error = s(&["error"]);
    let operation = s(&["request", "operation"]).unwrap_or_default();
    let path = s(&["request", "path"]).unwrap_or_default();
    let display_name = s(&["auth", "display_name"]);
    let time = s(&["time"]).and_then(|t| parse_rfc3339(&t));
    // the raw line carries HMACs and tokens: cite it with a summary instead
    let excerpt = format!(
        "{} {} {} {}{}",
        s(&["time"]).unwrap_or_default(),
        s(&["type"]).unwrap_or_default(),
        operation,
        path,
        display_name
            .as_deref()
            .map(|d| format!(" by {d}"))
            .unwrap_or_default()
    );
    let mut loc = src.loc(i);
    loc.excerpt =
        std::sync::Arc::from(crate::model::redact::redact_tokens(excerpt.trim()).as_str());
    out.push(
        "VaultAudit",
        Fact::Audit(Box::new(AuditEvent {
            time,
            type_: s(&["type"]).unwrap_or_default(),
            operation,
            path,
            display_name,
            policies,
            remote_address: s(&["request", "remote_address"]),
            error,
            namespace: s(&["request", "namespace", "path"]),
            loc,
        })),
    );
}
