//! Reading one text file: whole-file JSON/YAML documents, or a paste scanned line by line
//! for the outputs credtrace knows, each read with the command that introduced it.

use super::eso::logs;
use super::kube::{describe, docs, events, table};
use super::text::{command_in, kube_kind, Command, Source};
use super::Out;
use super::{troubleshoot, vault};
use crate::model::*;
use serde_json::Value;

/// Reads `text`; returns the format label.
pub fn read(src: &Source, text: &str, hint: Option<Command>, out: &mut Out) -> &'static str {
    // leading comments (`# source: ...`) and command lines
    let mut first = 0;
    let mut cmd = hint;
    // most files start with their content: their lines are then not split here (a JSON
    // document's are found by its parser)
    let opening = text.split('\n').next().unwrap_or_default().trim();
    let plain = !(opening.is_empty() || opening.starts_with("# ") || opening == "#")
        && command_in(opening).is_none();
    while !plain && first < src.lines().len() {
        let l = src.lines()[first].trim();
        if l.is_empty() || l.starts_with("# ") || l == "#" {
            first += 1;
        } else if let Some(c) = command_in(l) {
            let (full, next) = whole_command(src, first, c);
            out.commands.push(full.clone());
            out.own_command = true;
            cmd = Some(Command::parse(&full));
            first = next;
        } else {
            break;
        }
    }
    if let Some((ns, pod)) = vault::agent_log::agent_log_of(&src.path, cmd.as_ref()) {
        if vault::agent_log::read(src, first, ns, &pod, out) {
            return "vault-agent-log";
        }
    }
    let body_offset: usize = match first {
        0 => 0,
        _ => src.lines()[..first]
            .iter()
            .map(|l| l.len() + 1)
            .sum::<usize>()
            .min(text.len()),
    };
    let body = &text[body_offset..];
    let trimmed = body.trim_start();

    // whole-document JSON
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        match docs::parse_json(src, &body_with_offset(text, body_offset), out) {
            Ok(docs::Doc::Objects) => {
                listing_coverage(cmd.as_ref(), out);
                return "kubernetes-json";
            }
            Ok(docs::Doc::Other(v)) => {
                // Vault reads and troubleshoot's secret collector carry values: withhold
                // every line holding one before anything cites it
                let mut values = Vec::new();
                for key in ["data", "value", "auth"] {
                    if let Some(d) = v.get(key) {
                        super::kube::objects::string_leaves(d, &mut values);
                    }
                }
                src.withhold_values(0, src.lines().len(), values);
                if vault_json(src, first, &v, cmd.as_ref(), out) {
                    return "vault-json";
                }
                if let Some(f) = troubleshoot::sniff(src, &v, out) {
                    return f;
                }
                if docs::take_fragment(src, first, src.lines().len(), &v, cmd.as_ref(), out) {
                    return "kubernetes-fragment";
                }
                if v.is_object() && v.get("request").is_some() {
                    // one pretty-printed audit entry
                    vault::audit::take(src, first, &v, out);
                    return "vault-audit";
                }
                if let Value::Array(items) = &v {
                    if items.iter().all(|i| i.get("request").is_some()) && !items.is_empty() {
                        for i in items {
                            vault::audit::take(src, first, i, out);
                        }
                        return "vault-audit";
                    }
                }
                out.notes
                    .push("valid JSON, but neither Kubernetes objects nor Vault output".into());
                return "json";
            }
            Err(e) => {
                // JSON lines (audit log), or a broken document
                if audit_lines(src, out) {
                    return "vault-audit";
                }
                if audit_stream(src, text, out) {
                    return "vault-audit";
                }
                if logs::json_lines(src, out) {
                    return "controller-log";
                }
                if !text.contains("\n\n") && !body.lines().any(|l| command_in(l).is_some()) {
                    out.notes.push(e);
                    return "json";
                }
            }
        }
    }

    // whole-document YAML with Kubernetes objects
    if looks_like_kube_yaml(body) || looks_like_fragment(body) {
        match docs::parse_yaml(src, &body_with_offset(text, body_offset), out) {
            Ok(d) if d.iter().any(|d| matches!(d, docs::Doc::Objects)) => {
                listing_coverage(cmd.as_ref(), out);
                return "kubernetes-yaml";
            }
            Ok(d) => {
                for doc in d {
                    if let docs::Doc::Other(v) = doc {
                        if let Some(f) = troubleshoot::sniff(src, &v, out) {
                            return f;
                        }
                        if docs::take_fragment(src, first, src.lines().len(), &v, cmd.as_ref(), out)
                        {
                            return "kubernetes-fragment";
                        }
                    }
                }
            }
            Err(e) => {
                out.notes.push(e);
                return "yaml";
            }
        }
    }

    // a policy body
    let policy_name = vault::policy_name(cmd.as_ref()).or_else(|| {
        let p = &*src.path;
        (p.ends_with(".hcl")).then(|| {
            p.rsplit('/')
                .next()
                .unwrap_or(p)
                .trim_end_matches(".hcl")
                .to_string()
        })
    });
    if let Some(name) = &policy_name {
        if body.lines().any(|l| l.trim_start().starts_with("path ")) || trimmed.starts_with('{') {
            vault::policy(src, name, first, src.lines().len(), out);
            return "vault-policy";
        }
    }

    scan(src, first, cmd, out);
    "text"
}

/// A command starting at line `i`, joined with its `\\` continuations and, for a shell
/// loop (`... | while read s; do`), with its body up to `done`. Returns it and the next line.
fn whole_command(src: &Source, i: usize, first: String) -> (String, usize) {
    let mut full = first;
    let mut j = i + 1;
    while full.trim_end().ends_with('\\') && j < src.lines().len() {
        full = format!(
            "{} {}",
            full.trim_end().trim_end_matches('\\').trim_end(),
            src.lines()[j].trim()
        );
        j += 1;
    }
    let opens_loop = |s: &str| s.trim_end().ends_with("do") || s.trim_end().ends_with("; do");
    if opens_loop(&full) {
        let end = src.find(j, (j + 20).min(src.lines().len()), |l| {
            l.trim() == "done" || l.trim().starts_with("done ")
        });
        if let Some(e) = end {
            j = e + 1;
        }
    }
    (full, j)
}

/// The one-line output of `kubectl get KIND NAME -o jsonpath='{...}'` for the fields rules
/// read. Secret data is never read this way.
fn jsonpath_output(src: &Source, i: usize, cmd: Option<&Command>, out: &mut Out) -> bool {
    let Some(c) = cmd.filter(|c| c.program == "kubectl" && c.verb() == "get") else {
        return false;
    };
    let Some(expr) = c.output.as_deref().filter(|o| o.starts_with("jsonpath")) else {
        return false;
    };
    let (Some(kind), Some(name)) = (c.arg(1).and_then(super::text::kube_kind), c.arg(2)) else {
        return false;
    };
    let expr = expr
        .split('{')
        .nth(1)
        .and_then(|e| e.split('}').next())
        .unwrap_or("");
    let value = src.lines()[i].trim();
    let meta = Meta {
        namespace: c.namespace.as_deref().map(Into::into),
        name: name.into(),
        loc: src.loc(i),
        ..Default::default()
    };
    let fact = match (kind, expr) {
        ("Pod", ".spec.imagePullSecrets[*].name") => Fact::Pod(Box::new(Pod {
            image_pull_secrets: value
                .split_whitespace()
                .map(|s| (s.into(), src.loc(i)))
                .collect(),
            meta,
            ..Default::default()
        })),
        ("Pod", ".spec.serviceAccountName") => Fact::Pod(Box::new(Pod {
            service_account: Some(value.into()),
            meta,
            ..Default::default()
        })),
        (_, ".metadata.creationTimestamp") => {
            let Some(t) = crate::model::time::parse_rfc3339(value) else {
                return false;
            };
            let meta = Meta {
                created: Some(When::At(t)),
                ..meta
            };
            match kind {
                "Pod" => Fact::Pod(Box::new(Pod {
                    meta,
                    ..Default::default()
                })),
                "Secret" => Fact::Secret(Box::new(Secret {
                    meta,
                    ..Default::default()
                })),
                _ => return false,
            }
        }
        ("Secret", ".type") => Fact::Secret(Box::new(Secret {
            type_: Some(value.into()),
            meta,
            ..Default::default()
        })),
        _ => return false,
    };
    out.push(kind, fact);
    true
}

/// The text with everything before `offset` blanked to newlines, so line numbers stay true.
fn body_with_offset(text: &str, offset: usize) -> std::borrow::Cow<'_, str> {
    if offset == 0 {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut s: String = text[..offset].chars().filter(|c| *c == '\n').collect();
    s.push_str(&text[offset..]);
    std::borrow::Cow::Owned(s)
}

/// A whole listing (`kubectl get pods -n prod -o yaml`, no name, no filter) covers its kind
/// and namespace, even when it came back empty. Without `-n` or `-A` the namespace is the
/// context's, which the bundle does not say: no coverage is claimed.
fn listing_coverage(cmd: Option<&Command>, out: &mut Out) {
    if let Some((kind, ns)) = listing(cmd) {
        out.cover(kind, ns);
    }
}

/// The kind and namespace (`None`: all) a `kubectl get` listing covers, if it is one.
pub(super) fn listing(cmd: Option<&Command>) -> Option<(Kind, Option<String>)> {
    let c = cmd.filter(|c| c.program == "kubectl" && c.verb() == "get")?;
    let kind = c.arg(1).and_then(kube_kind).and_then(Kind::parse)?;
    if c.arg(2).is_some() || c.filtered {
        return None;
    }
    if kind == Kind::ClusterSecretStore || kind == Kind::Namespace || c.all_namespaces {
        Some((kind, None))
    } else {
        c.namespace.clone().map(|ns| (kind, Some(ns)))
    }
}

/// YAML whose top-level keys are only `spec`/`status`/`metadata`: a fragment of an object.
fn looks_like_fragment(body: &str) -> bool {
    let keys: Vec<&str> = body
        .lines()
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with(char::is_whitespace)
                && !l.starts_with('#')
                && !l.starts_with('-')
        })
        .map(|l| l.split(':').next().unwrap_or(""))
        .collect();
    !keys.is_empty()
        && keys
            .iter()
            .all(|k| matches!(*k, "spec" | "status" | "metadata"))
        && keys.iter().any(|k| *k == "spec" || *k == "status")
}

fn looks_like_kube_yaml(body: &str) -> bool {
    body.lines().take(400).any(|l| {
        l.starts_with("apiVersion:") || l.starts_with("kind:") || l.starts_with("- apiVersion:")
    })
}

fn audit_lines(src: &Source, out: &mut Out) -> bool {
    let mut n = 0;
    for (i, l) in src.lines().iter().enumerate() {
        if let Some(v) = vault::audit::entry(l) {
            vault::audit::take(src, i, &v, out);
            n += 1;
        } else if !l.trim().is_empty() && n == 0 && i > 5 {
            return false;
        }
    }
    n > 0
}

/// Pretty-printed audit entries one after another (`jq . audit.log`): a stream of JSON
/// values, each cited at the line where it starts.
fn audit_stream(src: &Source, text: &str, out: &mut Out) -> bool {
    let mut entries = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut start = 0usize;
    while let Some(item) = stream.next() {
        let Ok(v) = item else {
            return false;
        };
        if v.get("request").is_none() || v.get("type").is_none() {
            return false;
        }
        let begin = text[start..].find('{').map(|p| start + p).unwrap_or(start);
        let line = text[..begin].matches('\n').count();
        entries.push((line, v));
        start = stream.byte_offset();
    }
    if entries.len() < 2 {
        return false;
    }
    for (line, v) in &entries {
        vault::audit::take(src, *line, v, out);
    }
    true
}

/// `vault ... -format=json` envelopes: the `data` map read as a table would be.
fn vault_json(src: &Source, at: usize, v: &Value, cmd: Option<&Command>, out: &mut Out) -> bool {
    let Some(obj) = v.as_object() else {
        // `vault list -format=json` / `vault policy list -format=json`: an array of strings
        if let (Some(items), Some(c)) = (v.as_array(), cmd.filter(|c| c.program == "vault")) {
            let names: Vec<String> = items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect();
            if names.len() == items.len() {
                match (c.verb(), c.arg(1)) {
                    ("policy", Some("list")) | ("policies", None) => {
                        out.push("VaultPolicyList", Fact::PolicyList(names, src.loc(at)))
                    }
                    ("list", Some(p)) => out.push(
                        "VaultList",
                        Fact::from(VaultList {
                            path: p.trim_matches('/').to_string(),
                            keys: names,
                            loc: src.loc(at),
                        }),
                    ),
                    _ => return false,
                }
                return true;
            }
        }
        return false;
    };
    if !obj.contains_key("request_id") && !obj.contains_key("lease_duration") {
        return false;
    }
    if kv_json(src, at, obj, cmd, out) {
        return true;
    }
    let mut rows = Vec::new();
    let line_of = |k: &str| {
        src.find(at, src.lines().len(), |l| {
            l.trim_start().starts_with(&format!("\"{k}\""))
        })
        .unwrap_or(at)
    };
    for k in ["lease_id", "lease_duration", "renewable"] {
        if let Some(val) = obj.get(k) {
            let key = if k == "renewable" {
                "lease_renewable"
            } else {
                k
            };
            if k == "lease_id" && val.as_str() == Some("") {
                continue;
            }
            rows.push((key.to_string(), scalar(val), line_of(k)));
        }
    }
    if let Some(data) = obj.get("data").and_then(Value::as_object) {
        for (k, val) in data {
            rows.push((k.clone(), scalar(val), line_of(k)));
        }
    }
    if let Some(keys) = obj
        .get("data")
        .and_then(|d| d.get("keys"))
        .and_then(Value::as_array)
    {
        if cmd.is_some_and(|c| c.verb() == "list") {
            let names = keys
                .iter()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect();
            let path = cmd
                .and_then(|c| c.arg(1))
                .unwrap_or("")
                .trim_matches('/')
                .to_string();
            out.push(
                "VaultList",
                Fact::from(VaultList {
                    path,
                    keys: names,
                    loc: src.loc(at),
                }),
            );
            return true;
        }
    }
    vault::table::interpret(src, at, &rows, cmd, out);
    true
}

/// `vault kv get -format=json` (`data.data` + `data.metadata`) and `vault kv metadata get
/// -format=json` (`data.versions`): metadata and key names only, never a value.
fn kv_json(
    src: &Source,
    at: usize,
    obj: &serde_json::Map<String, Value>,
    cmd: Option<&Command>,
    out: &mut Out,
) -> bool {
    let Some(data) = obj.get("data").and_then(Value::as_object) else {
        return false;
    };
    let t = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .and_then(crate::model::time::parse_rfc3339)
    };
    let path = cmd
        .filter(|c| c.program == "vault")
        .and_then(|c| if c.verb() == "kv" { c.arg(2) } else { c.arg(1) })
        .unwrap_or_default()
        .trim_matches('/')
        .to_string();
    let loc = src.loc(at);
    if let (Some(meta), Some(d)) = (
        data.get("metadata").and_then(Value::as_object),
        data.get("data"),
    ) {
        let mut keys: Vec<String> = d
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        out.push(
            "VaultSecret",
            Fact::VaultSecret(Box::new(VaultSecretMeta {
                path,
                kv_version: Some(2),
                keys,
                version: meta.get("version").and_then(Value::as_u64),
                created_time: t(meta.get("created_time")),
                deletion_time: t(meta.get("deletion_time")),
                destroyed: meta.get("destroyed").and_then(Value::as_bool),
                loc,
                ..Default::default()
            })),
        );
        return true;
    }
    if let Some(versions) = data.get("versions").and_then(Value::as_object) {
        let mut vs: Vec<VaultSecretVersion> = versions
            .iter()
            .map(|(n, v)| VaultSecretVersion {
                version: n.parse().unwrap_or(0),
                created_time: t(v.get("created_time")),
                deletion_time: t(v.get("deletion_time")),
                destroyed: v.get("destroyed").and_then(Value::as_bool).unwrap_or(false),
            })
            .collect();
        vs.sort_by_key(|v| v.version);
        out.push(
            "VaultSecret",
            Fact::VaultSecret(Box::new(VaultSecretMeta {
                path,
                kv_version: Some(2),
                version: data.get("current_version").and_then(Value::as_u64),
                created_time: t(data.get("created_time")),
                updated_time: t(data.get("updated_time")),
                versions: vs,
                loc,
                ..Default::default()
            })),
        );
        return true;
    }
    false
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(scalar).collect::<Vec<_>>().join(" ")),
        Value::Null => "<nil>".into(),
        other => other.to_string(),
    }
}

/// The line scanner for pastes.
fn scan(src: &Source, from: usize, mut cmd: Option<Command>, out: &mut Out) {
    let n = src.lines().len();
    let mut i = from;
    let mut unrecognised = Vec::new();
    while i < n {
        let line = src.lines()[i];
        let t = line.trim();
        if t.is_empty() || t.starts_with("# source:") {
            i += 1;
            continue;
        }
        if let Some(c) = command_in(line) {
            let (full, next) = whole_command(src, i, c);
            out.commands.push(full.clone());
            i = next;
            let parsed = Command::parse(&full);
            if parsed.program == "vault"
                && matches!(
                    (parsed.verb(), parsed.arg(1)),
                    ("policy", Some("list")) | ("policies", None)
                )
            {
                i = vault::list::policy_names(src, i, out);
            }
            cmd = Some(parsed);
            continue;
        }
        let c = cmd.as_ref();
        if jsonpath_output(src, i, c, out) {
            i += 1;
            continue;
        }
        if let Some(next) = logs::console_entry(src, i, out) {
            i = next;
            continue;
        }
        if let Some(next) = vault::kv::block(src, i, c, out) {
            i = next;
            continue;
        }
        if let Some((rows, next)) = vault::table::read(src, i) {
            vault::table::interpret(src, i, &rows, c, out);
            i = next;
            continue;
        }
        if let Some(next) = vault::list::keys(src, i, c, out)
            .or_else(|| vault::list::mounts(src, i, c, out))
            .or_else(|| vault::error_block(src, i, out))
            .or_else(|| describe::block(src, i, c, out))
        {
            i = next;
            continue;
        }
        if let Some(v) = vault::audit::entry(line) {
            vault::audit::take(src, i, &v, out);
            i += 1;
            continue;
        }
        if vault::audit::fragment(src, i, out) {
            i += 1;
            continue;
        }
        if events::describe_row(line).is_some() {
            let subj = describe::Subject::from_command(c);
            let kind = subj.kind.clone();
            i = describe::events(src, i, &subj, kind.as_deref(), out);
            continue;
        }
        if events::get_event_row(line).is_some() {
            let r = events::get_event_row(line).expect("checked");
            out.push(
                "Event",
                Fact::Event(Box::new(Event {
                    namespace: r
                        .namespace
                        .or_else(|| c.and_then(|c| c.namespace.clone()))
                        .map(Into::into),
                    object_kind: r.kind.into(),
                    object_name: r.name.into(),
                    type_: r.type_.into(),
                    reason: r.reason.into(),
                    message: r.message,
                    count: 1,
                    first: events::ago(r.last),
                    last: events::ago(r.last),
                    source: String::new(),
                    loc: src.loc(i),
                })),
            );
            i += 1;
            continue;
        }
        if let Some(next) = table::block(src, i, c, out) {
            i = next;
            continue;
        }
        if table::loop_line(src, i, c, out) {
            i += 1;
            continue;
        }
        if vault::list::looks_like_policy_list(src, i) {
            i = vault::list::policy_names(src, i, out);
            continue;
        }
        unrecognised.push(i + 1);
        i += 1;
    }
    if !unrecognised.is_empty() && !out.kinds.is_empty() {
        let shown: Vec<String> = unrecognised.iter().take(5).map(|l| l.to_string()).collect();
        out.notes.push(format!(
            "{} line(s) not recognised (line {}{})",
            unrecognised.len(),
            shown.join(", "),
            if unrecognised.len() > 5 { ", ..." } else { "" }
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn pretty_printed_audit_entries_one_after_another() {
        let text = "{\n  \"time\": \"2026-03-02T09:41:17Z\",\n  \"type\": \"request\",\n  \"auth\": {\"display_name\": \"oidc-a\"},\n  \"request\": {\"operation\": \"delete\", \"path\": \"sys/policies/acl/p\"}\n}\n{\n  \"time\": \"2026-03-02T09:41:17Z\",\n  \"type\": \"response\",\n  \"request\": {\"operation\": \"delete\", \"path\": \"sys/policies/acl/p\"}\n}\n";
        let p: Arc<str> = Arc::from("audit.json");
        let src = Source::new(&p, text);
        let mut out = Out::default();
        assert_eq!(read(&src, text, None, &mut out), "vault-audit");
        let lines: Vec<u32> = out
            .facts
            .iter()
            .filter_map(|f| {
                if let Fact::Audit(a) = f {
                    Some(a.loc.line)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(lines, [1, 7]);
    }
}
