//! Controller log lines.
//!
//! JSON lines (`{"level":"error","ts":...,"msg":"...","ExternalSecret":{"name":..,"namespace":..},"error":"..."}`,
//! older ESO: `"ExternalSecret":"ns/name"`; controller-runtime: `"controllerKind":"ExternalSecret","name":..,"namespace":..`)
//! and zap console lines (`2024-05-07T18:33:41Z  DEBUG  events  Failed to read Vault secret: ...  {"type": "Warning", "object": {...}, "reason": "..."}`)
//! whose message may run over several lines before the JSON tail. Repeated errors about the
//! same object (one per reconcile) are folded into one Event with a count, as the API does.

use crate::ingest::text::{command_in, Source};
use crate::ingest::Out;
use crate::model::time::parse_rfc3339;
use crate::model::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// Keys under which controllers log the object a line is about.
const OBJECT_KEYS: &[(&str, &str)] = &[
    ("ExternalSecret", "ExternalSecret"),
    ("externalsecret", "ExternalSecret"),
    ("externalSecret", "ExternalSecret"),
    ("SecretStore", "SecretStore"),
    ("secretstore", "SecretStore"),
    ("ClusterSecretStore", "ClusterSecretStore"),
    ("clustersecretstore", "ClusterSecretStore"),
    ("ClusterExternalSecret", "ClusterExternalSecret"),
    ("PushSecret", "PushSecret"),
    ("VaultStaticSecret", "VaultStaticSecret"),
    ("VaultDynamicSecret", "VaultDynamicSecret"),
    ("VaultAuth", "VaultAuth"),
];

fn time_of(v: &Value) -> Option<Time> {
    for k in ["ts", "time", "timestamp", "T"] {
        match v.get(k) {
            Some(Value::Number(n)) => {
                let secs = n.as_f64()?;
                let t = chrono::DateTime::from_timestamp(
                    secs.trunc() as i64,
                    ((secs.fract()) * 1e9) as u32,
                )?;
                return Some(t);
            }
            Some(Value::String(s)) => {
                if let Some(t) = parse_rfc3339(s) {
                    return Some(t);
                }
            }
            _ => {}
        }
    }
    None
}

/// The object a log entry is about: (kind, namespace, name).
fn object_of(v: &Value) -> Option<(String, Option<String>, String)> {
    for (key, kind) in OBJECT_KEYS {
        match v.get(*key) {
            Some(Value::Object(o)) => {
                let name = o.get("name").and_then(Value::as_str)?;
                let ns = o.get("namespace").and_then(Value::as_str);
                return Some((kind.to_string(), ns.map(str::to_string), name.to_string()));
            }
            Some(Value::String(s)) if !s.is_empty() => {
                let (ns, name) = match s.split_once('/') {
                    Some((a, b)) => (Some(a.to_string()), b.to_string()),
                    None => (
                        v.get("namespace")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        s.clone(),
                    ),
                };
                return Some((kind.to_string(), ns, name));
            }
            _ => {}
        }
    }
    // zap's event recorder and VSO: {"object": {"kind","namespace","name"}}
    if let Some(o) = v.get("object").or_else(|| v.get("involvedObject")) {
        let kind = o.get("kind").and_then(Value::as_str)?;
        let name = o.get("name").and_then(Value::as_str)?;
        let ns = o
            .get("namespace")
            .and_then(Value::as_str)
            .map(str::to_string);
        return Some((kind.to_string(), ns, name.to_string()));
    }
    // controller-runtime: controllerKind + name + namespace
    let kind = v.get("controllerKind").and_then(Value::as_str)?;
    let name = v.get("name").and_then(Value::as_str)?;
    let ns = v
        .get("namespace")
        .and_then(Value::as_str)
        .map(str::to_string);
    Some((kind.to_string(), ns, name.to_string()))
}

/// Is this a structured log record (not a Kubernetes object, not an audit entry)?
fn is_log_record(v: &Value) -> bool {
    v.is_object()
        && (v.get("msg").is_some() || v.get("message").is_some())
        && (v.get("level").is_some() || v.get("severity").is_some() || v.get("ts").is_some())
        && v.get("kind").is_none()
        && v.get("request").is_none()
}

/// One log entry, before folding.
struct Entry {
    kind: String,
    namespace: Option<String>,
    name: String,
    type_: String,
    reason: String,
    message: String,
    time: Option<Time>,
    source: String,
    line: usize,
}

fn entry_from(v: &Value, message: Option<String>, line: usize) -> Option<Entry> {
    let (kind, namespace, name) = object_of(v)?;
    let level = v
        .get("level")
        .or_else(|| v.get("severity"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    let msg = v
        .get("msg")
        .or_else(|| v.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let err = v.get("error").and_then(Value::as_str);
    // an event recorded through the logger: its type and reason are in the fields
    let ev_type = v.get("type").and_then(Value::as_str);
    let ev_reason = v.get("reason").and_then(Value::as_str);
    let is_error = matches!(
        level.as_str(),
        "error" | "err" | "warn" | "warning" | "fatal"
    ) || ev_type == Some("Warning");
    if !is_error {
        return None;
    }
    let message = message.unwrap_or_else(|| match err {
        Some(e) if !msg.is_empty() && !e.contains(msg) => format!("{msg}: {e}"),
        Some(e) => e.to_string(),
        None => msg.to_string(),
    });
    // ESO logs and records `UpdateFailed` for the same failures (markAsFailed)
    let reason = ev_reason.map(str::to_string).unwrap_or_else(|| {
        if kind == "ExternalSecret" {
            "UpdateFailed".into()
        } else {
            "ControllerError".into()
        }
    });
    Some(Entry {
        kind,
        namespace,
        name,
        type_: "Warning".into(),
        reason,
        message,
        time: time_of(v),
        source: v
            .get("logger")
            .and_then(Value::as_str)
            .map(|l| format!("{l} (controller log)"))
            .unwrap_or_else(|| "controller log".into()),
        line,
    })
}

/// Folds entries into Events (one per object and message) and pushes them.
fn flush(src: &Source, entries: Vec<Entry>, out: &mut Out) {
    let mut folded: BTreeMap<(String, Option<String>, String, String, String), Event> =
        BTreeMap::new();
    for e in entries {
        let k = (
            e.kind.clone(),
            e.namespace.clone(),
            e.name.clone(),
            e.reason.clone(),
            e.message.clone(),
        );
        let at = e.time.map(When::At);
        match folded.get_mut(&k) {
            Some(ev) => {
                ev.count += 1;
                if at.is_some() {
                    ev.last = at;
                    ev.loc = src.loc(e.line);
                }
            }
            None => {
                folded.insert(
                    k,
                    Event {
                        namespace: e.namespace.map(Into::into),
                        object_kind: e.kind.into(),
                        object_name: e.name.into(),
                        type_: e.type_.into(),
                        reason: e.reason.into(),
                        message: e.message,
                        count: 1,
                        first: at,
                        last: at,
                        source: e.source,
                        loc: src.loc(e.line),
                    },
                );
            }
        }
    }
    let mut events: Vec<Event> = folded.into_values().collect();
    events.sort_by_key(|e| e.loc.line);
    for e in events {
        out.push("Event", Fact::Event(Box::new(e)));
    }
}

/// A file of JSON log lines. Returns false when fewer than half of its non-empty lines are
/// log records (it is something else).
pub fn json_lines(src: &Source, out: &mut Out) -> bool {
    let mut records = 0usize;
    let mut other = 0usize;
    let mut entries = Vec::new();
    for (i, l) in src.lines().iter().enumerate() {
        let t = l.trim();
        if t.is_empty() || t.starts_with("# ") {
            continue;
        }
        match serde_json::from_str::<Value>(t) {
            Ok(v) if is_log_record(&v) => {
                records += 1;
                if let Some(e) = entry_from(&v, None, i) {
                    entries.push(e);
                }
            }
            _ => other += 1,
        }
    }
    if records == 0 || other > records {
        return false;
    }
    let n = entries.len();
    flush(src, entries, out);
    out.recognised = true;
    out.notes.push(format!(
        "controller log: {records} record(s), {n} error(s) about an object"
    ));
    if other > 0 {
        out.notes
            .push(format!("{other} line(s) are not JSON log records"));
    }
    true
}

/// `2024-05-07T18:33:41Z  DEBUG  events  message`: zap's console encoder.
pub fn zap_header(line: &str) -> Option<(Option<Time>, String)> {
    let mut parts = line.splitn(4, '\t');
    let ts = parts.next()?.trim();
    let level = parts.next()?.trim();
    if !matches!(
        level,
        "DEBUG" | "INFO" | "WARN" | "ERROR" | "DPANIC" | "PANIC" | "FATAL"
    ) {
        return None;
    }
    let t = parse_rfc3339(ts);
    let numeric = ts.parse::<f64>().is_ok();
    if t.is_none() && !numeric {
        return None;
    }
    let logger = parts.next().unwrap_or("").trim();
    let msg = parts.next().unwrap_or("").trim();
    let msg = if msg.is_empty() { logger } else { msg };
    Some((t, msg.to_string()))
}

/// The JSON fields at the end of a zap console entry (`\t{"type": ..., "object": {...}}`).
fn json_tail(line: &str) -> Option<Value> {
    let t = line.trim();
    let start = t.find('{')?;
    let v: Value = serde_json::from_str(&t[start..]).ok()?;
    v.is_object().then_some(v)
}

/// A zap console entry, or a JSON tail whose header was cut from the paste, at line `i`.
/// Returns the next line.
pub fn console_entry(src: &Source, i: usize, out: &mut Out) -> Option<usize> {
    let line = src.lines()[i];
    if let Some((t, msg)) = zap_header(line) {
        // the entry's own fields may be on the same line after the message
        let mut message = msg;
        let mut j = i + 1;
        let mut fields = None;
        if let Some(p) = message.find("\t{") {
            fields = json_tail(&message[p..]);
            message.truncate(p);
        }
        while fields.is_none() && j < src.lines().len() {
            let l = src.lines()[j];
            if zap_header(l).is_some() || command_in(l).is_some() {
                break;
            }
            if l.trim_start().starts_with('{') {
                if let Some(v) = json_tail(l) {
                    fields = Some(v);
                    j += 1;
                    break;
                }
            }
            message.push('\n');
            message.push_str(l.trim_end());
            j += 1;
        }
        out.recognised = true;
        match fields.as_ref().and_then(|v| {
            let mut v = v.clone();
            if let (Some(o), Some(t)) = (v.as_object_mut(), t) {
                o.entry("ts")
                    .or_insert(Value::String(crate::model::time::fmt_time(t)));
            }
            entry_from(&v, Some(message.trim().to_string()), i)
        }) {
            Some(e) => flush(src, vec![e], out),
            None => {
                if fields.is_none() {
                    out.notes.push(format!(
                        "line {}: a log entry cut before its fields; its object is unknown",
                        i + 1
                    ));
                }
            }
        }
        return Some(j.max(i + 1));
    }
    // a JSON tail whose header was cut: the message is the text above it
    let t = line.trim_start();
    if !t.starts_with('{') {
        return None;
    }
    let v = json_tail(line)?;
    if object_of(&v).is_none() || (v.get("reason").is_none() && v.get("error").is_none()) {
        return None;
    }
    let mut from = i;
    while from > 0 {
        let prev = src.lines()[from - 1].trim();
        if prev.starts_with("# ") || zap_header(src.lines()[from - 1]).is_some() {
            break;
        }
        if prev.is_empty() && from >= 2 && src.lines()[from - 2].trim().is_empty() {
            break;
        }
        from -= 1;
    }
    let message: String = src.lines()[from..i]
        .iter()
        .map(|l| l.trim_end())
        .collect::<Vec<_>>()
        .join("\n");
    let mut v = v;
    if let Some(o) = v.as_object_mut() {
        o.entry("level").or_insert(Value::String("warn".into()));
    }
    let e = entry_from(&v, Some(message.trim().to_string()), i)?;
    out.notes.push(format!(
        "line {}: an event logged by a controller, its first line cut from the paste",
        i + 1
    ));
    flush(src, vec![e], out);
    Some(i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn json_log_layouts_fold_into_events() {
        let text = [
            r#"{"level":"info","ts":1710000000.5,"logger":"controllers.ExternalSecret","msg":"reconciled secret","ExternalSecret":{"name":"a","namespace":"prod"}}"#,
            r#"{"level":"error","ts":1710000060.5,"logger":"controllers.ExternalSecret","msg":"could not get secret data from provider","ExternalSecret":{"name":"a","namespace":"prod"},"error":"cannot read secret data from Vault: Error making API request.\n\nURL: GET https://v/v1/kv/data/a\nCode: 403. Errors:\n\n* permission denied"}"#,
            r#"{"level":"error","ts":1710000120.5,"logger":"controllers.ExternalSecret","msg":"could not get secret data from provider","ExternalSecret":{"name":"a","namespace":"prod"},"error":"cannot read secret data from Vault: Error making API request.\n\nURL: GET https://v/v1/kv/data/a\nCode: 403. Errors:\n\n* permission denied"}"#,
            r#"{"level":"error","ts":"2024-03-09T16:00:00Z","msg":"Reconciler error","controller":"externalsecret","controllerKind":"ExternalSecret","name":"b","namespace":"dev","error":"x"}"#,
            r#"{"level":"error","ts":1710000000,"msg":"could not validate store","SecretStore":"dev/vault"}"#,
        ]
        .join("\n");
        let p: Arc<str> = Arc::from("eso.log");
        let src = Source::new(&p, &text);
        let mut out = Out::default();
        assert!(json_lines(&src, &mut out));
        let ev = out.events();
        assert_eq!(ev.len(), 3);
        let a = ev.iter().find(|e| e.object_name == "a").unwrap();
        assert_eq!(
            (a.object_kind.as_str(), a.namespace.as_deref(), a.count),
            ("ExternalSecret", Some("prod"), 2)
        );
        assert_eq!(a.reason, "UpdateFailed");
        assert!(VaultError::parse(&a.message)
            .unwrap()
            .is_permission_denied());
        assert!(matches!(a.first, Some(When::At(_))));
        let s = ev.iter().find(|e| e.object_kind == "SecretStore").unwrap();
        assert_eq!(
            (s.namespace.as_deref(), s.object_name.as_str()),
            (Some("dev"), "vault")
        );
    }

    #[test]
    fn zap_console_entry_with_multi_line_message() {
        let text = "2024-05-07T18:33:41Z\tDEBUG\tevents\tFailed to read Vault secret: Error making API request.\n\nURL: GET https://v/v1/kv-v2/data/ns/app\nCode: 403. Errors:\n\n* 1 error occurred:\n\t* permission denied\n\n\t{\"type\": \"Warning\", \"object\": {\"kind\":\"VaultStaticSecret\",\"namespace\":\"ns\",\"name\":\"vss\"}, \"reason\": \"VaultClientError\"}\n";
        let p: Arc<str> = Arc::from("vso.log");
        let src = Source::new(&p, text);
        let mut out = Out::default();
        assert_eq!(console_entry(&src, 0, &mut out), Some(9));
        let ev = out.events();
        assert_eq!(ev.len(), 1);
        assert_eq!(
            (ev[0].object_kind.as_str(), ev[0].reason.as_str()),
            ("VaultStaticSecret", "VaultClientError")
        );
        let e = VaultError::parse(&ev[0].message).unwrap();
        assert_eq!(e.path.as_deref(), Some("kv-v2/data/ns/app"));
    }
}
