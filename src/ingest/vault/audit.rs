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

/// The value of `"key":"..."` in a piece of JSON text (unescaped `\n` and `\t` kept as is).
fn string_field(text: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\":\"");
    let start = text.find(&pat)? + pat.len();
    let mut end = start;
    let b = text.as_bytes();
    while end < b.len() {
        if b[end] == b'\\' {
            end += 2;
            continue;
        }
        if b[end] == b'"' {
            break;
        }
        end += 1;
    }
    text.get(start..end.min(b.len()))
        .map(|s| s.replace("\\n", "\n").replace("\\t", "\t"))
}

/// An audit entry cut by a paste (its start lost, so not valid JSON) that still shows a path
/// and an error or operation: the fields that survive are kept.
pub fn fragment(src: &Source, i: usize, out: &mut Out) -> bool {
    let l = src.lines()[i];
    if !l.contains("\"path\":\"") || !(l.contains("\"error\":") || l.contains("\"operation\":")) {
        return false;
    }
    let Some(path) = string_field(l, "path") else {
        return false;
    };
    let time = string_field(l, "time");
    let operation = string_field(l, "operation").unwrap_or_default();
    let error = string_field(l, "error").filter(|e| !e.is_empty());
    let mut loc = src.loc(i);
    let excerpt = format!(
        "(cut audit entry) {operation} {path}{}",
        error
            .as_deref()
            .map(|e| format!(" error: {}", e.replace(['\n', '\t'], " ")))
            .unwrap_or_default()
    );
    loc.excerpt =
        std::sync::Arc::from(crate::model::redact::redact_tokens(excerpt.trim()).as_str());
    out.notes.push(format!(
        "line {}: an audit entry cut by the paste; its path and error kept",
        i + 1
    ));
    out.push(
        "VaultAudit",
        Fact::Audit(Box::new(AuditEvent {
            time: time.as_deref().and_then(parse_rfc3339),
            type_: string_field(l, "type").unwrap_or_default(),
            operation,
            path,
            remote_address: string_field(l, "remote_address"),
            error,
            loc,
            ..Default::default()
        })),
    );
    true
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn audit_layouts() {
        let lines = [
            // 2021+ layout
            r#"{"time":"2026-03-02T09:41:17.5Z","type":"request","auth":{"display_name":"oidc-a.b","policies":["admin"],"client_token":"hmac-sha256:ab"},"request":{"id":"1","operation":"delete","path":"sys/policies/acl/p1","remote_address":"10.0.0.1","namespace":{"id":"root"}}}"#,
            // 2017 layout (real output 31)
            r#"{"time":"2017-07-26T11:51:02Z","type":"request","auth":{"client_token":"","accessor":"","display_name":"","policies":null,"metadata":null},"request":{"id":"20ee","operation":"read","client_token":"hmac-sha256:2f","path":"secret/production/databases/pg-01","data":null,"remote_address":"127.0.0.1","wrap_ttl":0,"headers":{}},"error":"permission denied"}"#,
            // 2016 layout, its opening brace lost in a paste (real output 32)
            r#""time":"2016-09-08T15:00:13.62508392Z","type":"response","error":"1 error(s) occurred:\n\n* permission denied","auth":{"display_name":"","policies":["root"],"metadata":null},"request":{"id":"4b42","operation":"read","path":"auth/token/lookup/x","data":null,"remote_address":"127.0.0.1","wrap_ttl":0},"response":{"secret":null}}"#,
        ];
        let text = lines.join("\n");
        let p: Arc<str> = Arc::from("audit.log");
        let src = Source::new(&p, &text);
        let mut out = Out::default();
        for (i, l) in src.lines().iter().enumerate() {
            let v = entry(l).expect("an audit entry");
            take(&src, i, &v, &mut out);
        }
        let ev: Vec<&AuditEvent> = out
            .facts
            .iter()
            .filter_map(|f| {
                if let Fact::Audit(a) = f {
                    Some(a.as_ref())
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(ev.len(), 3);
        assert_eq!(
            (
                ev[0].operation.as_str(),
                ev[0].path.as_str(),
                ev[0].display_name.as_deref()
            ),
            ("delete", "sys/policies/acl/p1", Some("oidc-a.b"))
        );
        assert_eq!(ev[1].error.as_deref(), Some("permission denied"));
        assert_eq!(ev[2].type_, "response");
        assert!(ev.iter().all(|e| e.time.is_some()));
        assert!(
            !ev[0].loc.excerpt.contains("hmac"),
            "excerpts are summaries, not raw lines"
        );
        assert!(entry("{\"kind\":\"Pod\"}").is_none());
    }
}
